"""course_lib.geometry: Hankel matrices and convolution framelets, ReLU networks as local linear maps."""
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from course_lib import geometry as geo

F64 = torch.float64


@given(n=st.integers(2, 40), data=st.data(), seed=st.integers(0, 2**16))
def test_hankel_rows_are_the_windows_and_unhankel_inverts(n, data, seed):
    d = data.draw(st.integers(1, n))
    x = torch.randn(3, n, generator=torch.Generator().manual_seed(seed), dtype=F64)
    H = geo.hankel(x, d)
    assert H.shape == (3, n, d)
    assert torch.equal(H[1, 0], x[1, :d]) and torch.equal(H[2, n - 1, :1], x[2, -1:])
    assert torch.allclose(geo.unhankel(H), x, atol=1e-12)


@given(n=st.integers(2, 30), data=st.data(), seed=st.integers(0, 2**16))
def test_hankel_adjoint_passes_the_dot_test(n, data, seed):
    d = data.draw(st.integers(1, n))
    g = torch.Generator().manual_seed(seed)
    x, M = torch.randn(n, generator=g, dtype=F64), torch.randn(n, d, generator=g, dtype=F64)
    assert math.isclose((geo.hankel(x, d) * M).sum().item(), (x * geo.hankel_adjoint(M)).sum().item(),
                        rel_tol=1e-10, abs_tol=1e-10)


@given(n1=st.integers(2, 9), n2=st.integers(2, 9), data=st.data(), seed=st.integers(0, 2**16))
def test_block_hankel_rows_are_the_patches_and_its_average_inverts(n1, n2, data, seed):
    d1, d2 = data.draw(st.integers(1, n1)), data.draw(st.integers(1, n2))
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(2, n1, n2, generator=g, dtype=F64)
    H = geo.hankel_2d(X, d1, d2)
    assert H.shape == (2, n1 * n2, d1 * d2)
    assert torch.equal(H[1, 0], X[1, :d1, :d2].reshape(-1))
    i, j = n1 - 1, n2 - 1                                   # the last corner wraps around both axes
    assert torch.equal(H[0, i * n2 + j],
                       X[0][[[(i + a) % n1] for a in range(d1)], [(j + b) % n2 for b in range(d2)]].reshape(-1))
    assert torch.allclose(geo.unhankel_2d(H, (n1, n2, d1, d2)), X, atol=1e-12)
    M = torch.randn(n1 * n2, d1 * d2, generator=g, dtype=F64)  # unhankel_2d is the adjoint, divided by d1 d2
    lhs = (geo.hankel_2d(X[0], d1, d2) * M).sum().item()
    rhs = d1 * d2 * (X[0] * geo.unhankel_2d(M, (n1, n2, d1, d2))).sum().item()
    assert math.isclose(lhs, rhs, rel_tol=1e-10, abs_tol=1e-10)


def test_a_few_oscillations_have_a_hankel_matrix_of_low_rank():
    n, k = 128, torch.arange(128, dtype=F64)
    x = sum(a * torch.cos(2 * math.pi * f * k / n + p) for a, f, p in [(1.0, 3, 0.2), (0.5, 11, 1.0), (0.3, 25, 2.0)])
    _, sigma, _ = geo.hankel_svd(x, 16)
    assert sigma[5] > 1e-3 * sigma[0] and sigma[6] < 1e-10 * sigma[0]       # three cosines: six exponentials
    noisy = x + 0.3 * torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=F64)
    errors = [(geo.low_rank_denoise(noisy, d, 6) - x).norm() / (noisy - x).norm() for d in (16, 64)]
    assert errors[1] < errors[0] < 0.6 and errors[1] < 0.3      # a longer window averages more: 0.54, then 0.27


def test_framelets_reconstruct_perfectly_with_dual_bases():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, generator=g, dtype=F64)
    Psi, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=F64))    # orthonormal local basis: 5 filters
    eye = torch.eye(32, dtype=F64)                                          # Phi = I: a convolution layer
    C = geo.framelet_coefficients(x, eye, Psi)
    assert torch.allclose(C, geo.hankel(x, 5) @ Psi) and torch.allclose(geo.framelet_reconstruct(C, eye, Psi), x)
    U, sigma, V = geo.hankel_svd(x, 5)                                      # the data-driven pair
    assert torch.allclose(geo.framelet_coefficients(x, U, V), torch.diag(sigma), atol=1e-10)
    assert torch.allclose(geo.framelet_reconstruct(torch.diag(sigma), U, V), x, atol=1e-12)
    lost = geo.framelet_reconstruct(geo.framelet_coefficients(x, eye, Psi[:, :3]), eye, Psi[:, :3])
    assert (lost - x).norm() > 1e-3 * x.norm()                              # Psi Psi~^T != I: information is lost


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_haar_encoder_decoders_as_frames(levels):
    eye = torch.eye(32, dtype=F64)
    cases = {(True, False): (1.0, 1.0), (False, False): (0.0, 1.0), (False, True): (1.0, 2.0), (True, True): (2.0, 2.0)}
    for (highpass, skip), bounds in cases.items():
        B = geo.haar_frame(32, levels, highpass, skip)
        assert B.shape == (32, (32 if highpass else 32 // 2 ** levels) + (32 if skip else 0))
        assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(geo.frame_bounds(B), bounds)), (highpass, skip)
        M = geo.encoder_decoder(B)
        if highpass or skip:                                   # a frame: the canonical dual gives x back exactly
            assert (M - eye).abs().max() < 1e-10
        else:                                                  # pooling alone: a projection onto the coarse signals
            assert torch.allclose(M @ M, M, atol=1e-12) and torch.linalg.matrix_rank(M) == 32 // 2 ** levels


def test_the_haar_encoder_decoder_loses_exactly_the_high_pass_energy():
    from course_lib.data import test_image
    from course_lib.lifting import WaveletTransform, detail_mask

    x = test_image("camera", 64, dtype=F64)
    assert (geo.haar_encoder_decoder(x, 2, highpass=True) - x).abs().max() < 1e-10
    assert (geo.haar_encoder_decoder(x, 2, highpass=False, skip=True) - x).abs().max() < 1e-10
    lost = x - geo.haar_encoder_decoder(x, 2, highpass=False)
    W = WaveletTransform((64, 64), "haar", levels=2)
    high = (W(x) * detail_mask(W)).pow(2).sum()
    assert math.isclose(lost.pow(2).sum().item(), high.item(), rel_tol=1e-10)


@given(seed=st.integers(0, 2**16))
def test_crelu_keeps_everything(seed):
    x = torch.randn(4, 7, generator=torch.Generator().manual_seed(seed), dtype=F64)
    h = geo.crelu(x)
    assert h.shape == (4, 14) and (h >= 0).all() and torch.equal(geo.crelu_inverse(h), x)
    assert torch.equal(torch.relu(x) - torch.relu(-x), x)


def small_net(widths, seed=0, dtype=F64):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(dtype)


@given(seed=st.integers(0, 2**16), depth=st.integers(1, 4))
def test_the_local_linear_map_is_the_jacobian_and_gives_the_output(seed, depth):
    net = small_net([3] + [6] * depth + [2], seed % 100)
    x = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=F64)
    W, b = geo.local_linear_map(net, x)
    assert torch.allclose(W, torch.autograd.functional.jacobian(net, x), atol=1e-12)
    assert torch.allclose(W @ x + b, net(x).detach(), atol=1e-12)
    pattern = geo.activation_pattern(net, x)
    assert len(pattern) == depth and all(p.dtype == torch.bool for p in pattern)


@given(seed=st.integers(0, 2**16), depth=st.integers(1, 4), skip=st.booleans())
def test_relu_network_with_and_without_skips_is_locally_its_jacobian(seed, depth, skip):
    net = geo.relu_network(3, 5, depth, outputs=2, skip=skip, seed=seed % 50)
    assert sum(isinstance(layer, geo.Residual) for layer in net) == (depth - 1 if skip else 0)
    x = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=F64)
    W, b = geo.local_linear_map(net, x)
    assert torch.allclose(W, torch.autograd.functional.jacobian(net, x), atol=1e-12)
    assert torch.allclose(W @ x + b, net(x).detach(), atol=1e-12)
    assert len(geo.activation_pattern(net, x)) == depth


def test_relu_network_is_seeded_and_he_initialised():
    a, b = geo.relu_network(4, 256, 2, seed=1), geo.relu_network(4, 256, 2, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, geo.relu_network(4, 256, 2, seed=2)[0].weight)
    assert math.isclose(a[2].weight.std().item(), math.sqrt(2 / 256), rel_tol=0.02)   # He: variance 2 / fan_in
    with pytest.raises(ValueError, match="width is 0"):
        geo.relu_network(2, 0, 1)
    assert math.isclose(a[0].bias.std().item(), 0.1, rel_tol=0.15)                       # biases: std bias_std
    wide = geo.relu_network(4, 256, 2, seed=1, bias_std=1.0)
    assert math.isclose(wide[0].bias.std().item(), 1.0, rel_tol=0.15)
    assert torch.equal(wide[0].weight, a[0].weight)                                     # the weights are the same draw
    with pytest.raises(ValueError, match="bias_std"):
        geo.relu_network(2, 4, 1, bias_std=-1.0)


def test_regions_along_a_line_count_the_hyperplanes_crossed():
    net = small_net([2, 12, 1], seed=3)
    g = torch.Generator().manual_seed(4)
    for _ in range(5):
        a, b = 3 * torch.randn(2, generator=g, dtype=F64), 3 * torch.randn(2, generator=g, dtype=F64)
        first = net[0]
        crossed = ((first(a) > 0) != (first(b) > 0)).sum().item()   # one hidden layer: each unit flips at most once
        assert geo.regions_along_line(net, a, b, samples=20_000) == 1 + crossed


def test_regions_of_one_hidden_layer_in_the_plane():
    """k lines in general position cut the plane into 1 + k + k(k-1)/2 regions; a box holding every crossing
    shows them all."""
    net = small_net([2, 4, 1], seed=5)
    W, c = net[0].weight.detach(), net[0].bias.detach()
    corners = [torch.linalg.solve(W[[i, j]], -c[[i, j]]) for i in range(4) for j in range(i + 1, 4)]
    reach = 1.5 * max(p.abs().max().item() for p in corners) + 1
    grid = torch.linspace(-reach, reach, 801, dtype=F64)
    labels, count = geo.regions_on_grid(net, grid, grid)
    assert count == 1 + 4 + 6 and labels.shape == (801, 801) and labels.max().item() == count - 1
    linear = nn.Sequential(net[0], net[2])                          # without its ReLU: one linear map everywhere
    assert geo.regions_on_grid(linear, grid[::100], grid[::100])[1] == 1
    assert geo.regions_along_line(linear, grid[:2], -grid[:2]) == 1


def test_local_lipschitz_is_the_norm_of_the_local_map():
    net = small_net([2, 8, 8, 1], seed=6)
    points = torch.randn(20, 2, generator=torch.Generator().manual_seed(7), dtype=F64)
    lip = geo.local_lipschitz(net, points)
    W, _ = geo.local_linear_map(net, points[0])
    assert lip.shape == (20,) and math.isclose(lip[0].item(), W.norm().item(), rel_tol=1e-12)   # one output: a row


def test_bad_inputs_say_what_was_expected():
    with pytest.raises(ValueError, match="no longer than the signal"):
        geo.hankel(torch.zeros(4), 5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        geo.hankel([1.0, 2.0], 1)
    with pytest.raises(ValueError, match="one signal"):
        geo.hankel_svd(torch.zeros(2, 8), 3)
    with pytest.raises(ValueError, match="at most d = 3"):
        geo.low_rank_denoise(torch.randn(8, dtype=F64), 3, 4)
    with pytest.raises(ValueError, match="layer 0 is Conv1d"):
        geo.local_linear_map(nn.Sequential(nn.Conv1d(1, 1, 3)), torch.zeros(4))
    with pytest.raises(ValueError, match="one input"):
        geo.local_linear_map(small_net([2, 3, 1]), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="no larger than the image"):
        geo.hankel_2d(torch.zeros(4, 4), 5, 2)
    with pytest.raises(ValueError, match=r"expects \(\.\.\., 16, 4\)"):
        geo.unhankel_2d(torch.zeros(16, 3), (4, 4, 2, 2))
    with pytest.raises(ValueError, match="divisible by 2"):
        geo.haar_frame(12, levels=3)
    with pytest.raises(ValueError, match="even number"):
        geo.crelu_inverse(torch.zeros(3))
    with pytest.raises(ValueError, match=r"expects \(8, m\)"):
        geo.framelet_coefficients(torch.zeros(8), torch.eye(4), torch.eye(2))
