"""Architectural priors: the evidence, convolution and p4 group convolution, residual blocks, landscapes,
Hessians, RNNs."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import convolve1d
from scipy.stats import multivariate_normal
from torch import nn

import course_lib as cl
from course_lib import architectures as arch
from course_lib import data

seeds = st.integers(0, 2**31 - 1)


@pytest.mark.parametrize("n_rows, n_cols", [(30, 5), (12, 40)])      # both branches: weight space and data space
def test_log_evidence_is_the_gaussian_log_density(n_rows, n_cols):
    g = torch.Generator().manual_seed(0)
    Phi = torch.randn(n_rows, n_cols, generator=g, dtype=torch.float64)
    y = torch.randn(n_rows, generator=g, dtype=torch.float64)
    alpha, beta = 2.0, 5.0
    C = Phi.numpy() @ Phi.numpy().T / alpha + np.eye(n_rows) / beta
    reference = multivariate_normal(mean=np.zeros(n_rows), cov=C).logpdf(y.numpy())
    assert arch.log_evidence(Phi, y, alpha, beta) == pytest.approx(reference, rel=1e-10)


def test_design_matrices_reproduce_the_layers():
    X = torch.randn(6, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    W = torch.randn(10, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(arch.dense_design(X) @ W.reshape(-1), (X @ W.T).reshape(-1))
    k = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(arch.convolution_design(X, 3) @ k, arch.circular_convolution(X, k).reshape(-1))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 24), taps=st.sampled_from([1, 3, 5]), seed=seeds)
def test_convolution_matrix_against_scipy(n, taps, seed):
    g = torch.Generator().manual_seed(seed)
    k, x = torch.randn(taps, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    M = arch.convolution_matrix(k, n)
    reference = convolve1d(x.numpy(), k.numpy(), mode="wrap")       # scipy's convolution, centred, wrapped
    assert np.allclose(M.numpy() @ x.numpy(), reference) and np.allclose(arch.circular_convolution(x, k), reference)
    assert torch.count_nonzero(M[0]) <= taps                        # each row: the same few weights, shifted


def test_convolution_is_shift_equivariant_and_a_dense_layer_is_not():
    x = torch.randn(4, 32, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    k = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    dense = torch.randn(32, 32, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    assert arch.shift_equivariance_error(lambda v: arch.circular_convolution(v, k), x, 5) < 1e-14
    assert arch.shift_equivariance_error(lambda v: v @ dense.T, x, 5) > 0.5


def test_p4_layers_are_rotation_equivariant_to_float_precision():
    torch.manual_seed(0)
    lift, group = arch.P4LiftingConv(2, 3).double(), arch.P4GroupConv(3, 4, kernel_size=5).double()
    x = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    for r in range(1, 4):
        rotated = torch.rot90(x, r, dims=(-2, -1))
        assert torch.allclose(lift(rotated), arch.p4_rotate(lift(x), r), atol=1e-12)
        assert torch.allclose(group(lift(rotated)), arch.p4_rotate(group(lift(x)), r), atol=1e-12)
    net = arch.P4CNN(n_classes=5).double()
    assert torch.allclose(net(torch.rot90(x[:, :1], 1, dims=(-2, -1))), net(x[:, :1]), atol=1e-12)   # invariant
    plain = arch.PlainCNN(n_classes=5).double()
    assert not torch.allclose(plain(torch.rot90(x[:, :1], 1, dims=(-2, -1))), plain(x[:, :1]), atol=1e-6)


def test_the_evidence_picks_the_generating_model():
    for seed in range(5):
        for model, winner in (("convolution", "convolution, 3 taps"), ("dense", "dense")):
            X, Y = data_from(model, seed)
            evidence = arch.model_evidence(X, Y)
            assert max(evidence, key=lambda name: evidence[name][1]) == winner, (model, seed, evidence)


def data_from(model, seed):
    return arch.linear_data(model, n=12, n_samples=16, seed=seed)


def test_filter_normalised_direction():
    net = arch.DeepNet(n_blocks=1, width=4)
    direction = arch.filter_normalised_direction(net, seed=0)
    for p, d in zip(net.parameters(), direction):
        if p.ndim <= 1:
            assert torch.count_nonzero(d) == 0
        else:
            assert torch.allclose(d.reshape(len(d), -1).norm(dim=1), p.detach().reshape(len(p), -1).norm(dim=1))


def test_landscape_restores_the_weights_and_starts_at_the_loss():
    x, labels, _, _ = data.digits()
    net = arch.DeepNet(n_blocks=1, width=4).eval()
    before = [p.detach().clone() for p in net.parameters()]
    loss = lambda f: nn.functional.cross_entropy(f(x[:64]), labels[:64]).item()
    d1, d2 = (arch.filter_normalised_direction(net, seed=s) for s in (0, 1))
    line = arch.landscape(net, loss, [d1], [-0.5, 0.0, 0.5])
    plane = arch.landscape(net, loss, [d1, d2], [-0.5, 0.0], [0.0, 0.5])
    assert line.shape == (3,) and plane.shape == (2, 2)
    assert line[1].item() == pytest.approx(loss(net)) and plane[1, 0].item() == pytest.approx(loss(net))
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))


def test_hessian_extreme_eigenvalues_match_the_dense_hessian():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = torch.randn(10, 3, dtype=torch.float64)
    labels = torch.randint(2, (10,))
    loss = lambda f: nn.functional.cross_entropy(f(x), labels)
    top, bottom = arch.hessian_extreme_eigenvalues(net, loss, n_iter=500, tol=1e-10)
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def flat_loss(theta):
        parts, i = [], 0
        for s in shapes:
            parts.append(theta[i:i + s.numel()].reshape(s))
            i += s.numel()
        return loss(lambda v: torch.func.functional_call(net, dict(zip([n for n, _ in net.named_parameters()], parts)),
                                                          (v,)))

    eigenvalues = torch.linalg.eigvalsh(torch.autograd.functional.hessian(flat_loss, flat))
    assert top == pytest.approx(eigenvalues[-1].item(), rel=1e-6)
    assert bottom == pytest.approx(eigenvalues[0].item(), rel=1e-6, abs=1e-9)


def test_hessian_extreme_eigenvalues_of_a_quadratic_are_those_of_its_matrix():
    """0.5 ||W X||² has the Hessian I ⊗ X Xᵀ in the weights W: the extreme eigenvalues are X Xᵀ's (closed form)."""
    X = torch.randn(5, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    X[0] *= 3.0
    net = nn.Linear(5, 3, bias=False).double()
    top, bottom = arch.hessian_extreme_eigenvalues(net, lambda f: 0.5 * (f(X.T) ** 2).sum(), tol=1e-10)
    exact = torch.linalg.eigvalsh(X @ X.T)
    assert (top, bottom) == (pytest.approx(exact[-1].item(), rel=1e-8), pytest.approx(exact[0].item(), rel=1e-8))


def test_hessian_extreme_eigenvalues_say_when_they_cannot_reach_their_tolerance():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    x, labels = torch.randn(40, 6, dtype=torch.float64), torch.randint(3, (40,))
    with pytest.raises(RuntimeError, match="did not reach tol=1e-14 in n_iter=1 restarts"):
        arch.hessian_extreme_eigenvalues(net, lambda f: nn.functional.cross_entropy(f(x), labels), n_iter=1,
                                         tol=1e-14)


def test_ista_as_a_recurrent_network_is_ista():
    A = data.gaussian_matrix(20, 40, seed=0, dtype=torch.float64)
    y = torch.randn(3, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    cell = arch.IstaCell(A, lam=0.1)
    states = arch.unroll(cell, y.expand(25, 3, 20), torch.zeros(3, 40, dtype=torch.float64))
    x_ista, _ = cl.ista(cl.MatrixOperator(A), y, 0.1, n_iter=25)
    assert torch.allclose(states[-1], x_ista, atol=1e-12)


def test_gradient_through_time_is_the_product_of_jacobians():
    cell = arch.RNNCell(2, 5, spectral_radius=0.8, seed=0).double()
    inputs = torch.randn(4, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h0 = torch.zeros(1, 5, dtype=torch.float64)
    norms = arch.gradient_through_time(cell, inputs, h0)

    def last_from(t, h):
        for x in inputs[t:]:
            h = cell(h, x)
        return h

    states = [h0]
    for x in inputs:
        states.append(cell(states[-1], x).detach())
    for t in range(4):
        J = torch.autograd.functional.jacobian(lambda h, t=t: last_from(t, h), states[t])
        assert norms[t] == pytest.approx(J.norm().item(), rel=1e-10)
    vanishing = arch.gradient_through_time(arch.RNNCell(2, 16, 0.5, seed=1), torch.randn(30, 2, 2), torch.zeros(2, 16))
    assert vanishing[0] < 1e-3 * vanishing[-1]


def test_the_skip_is_added_before_the_activation():
    x = torch.randn(2, 3, 4, 4)
    residual, plain = arch.Block(3, skip=True).eval(), arch.Block(3, skip=False).eval()
    for block in (residual, plain):
        nn.init.zeros_(block.conv2.weight)
        nn.init.zeros_(block.conv2.bias)
    assert torch.allclose(residual(x), torch.relu(x)) and torch.count_nonzero(plain(x)) == 0
    assert arch.DeepNet(n_blocks=9).depth == 20


def test_rotated_patterns_and_digits():
    x, labels = arch.rotated_patterns(50, size=10, seed=0)
    assert x.shape == (50, 1, 10, 10) and set(labels.tolist()) <= {0, 1, 2, 3}
    x_tr, y_tr, x_te, y_te = data.digits()
    assert x_tr.shape[1:] == (1, 8, 8) and len(x_tr) + len(x_te) == 1797 and 0 <= x_tr.min() and x_tr.max() <= 1


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="design matrix \\(N, p\\) and data \\(N,\\)"):
        arch.log_evidence(torch.ones(3, 2), torch.ones(4), 1.0, 1.0)
    with pytest.raises(ValueError, match="odd size <= n = 4"):
        arch.convolution_design(torch.ones(2, 4), 2)
    with pytest.raises(ValueError, match="p4 feature maps \\(B, 3, 4, H, W\\)"):
        arch.P4GroupConv(3, 2)(torch.ones(1, 3, 5, 5))
    with pytest.raises(ValueError, match="square images"):
        arch.P4LiftingConv(1, 2)(torch.ones(1, 1, 5, 6))
    with pytest.raises(ValueError, match="'convolution' or 'dense'"):
        arch.linear_data("sparse")
    with pytest.raises(ValueError, match="sequence \\(T, B, n_in\\)"):
        arch.unroll(arch.RNNCell(2, 3), torch.ones(4, 2), torch.zeros(1, 3))
