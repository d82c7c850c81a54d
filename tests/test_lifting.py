"""Wavelets by lifting: perfect reconstruction, adjoints, PyWavelets as the independent reference."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import course_lib as cl
from course_lib import data
from course_lib.lifting import (
    HAAR,
    LEGALL_53,
    LiftingNetwork,
    WaveletTransform,
    detail_mask,
    keep_largest,
    lift,
    max_levels,
    merge,
    split,
    subband_denoise,
    subband_noise_levels,
    subband_thresholds,
    subbands,
    universal_threshold,
    unlift,
    wavelet_denoise,
)
from course_lib.metrics import psnr

pywt = pytest.importorskip("pywt")
WAVELET_NAMES = ["haar", "legall53"]


@pytest.mark.parametrize("wavelet", WAVELET_NAMES)
@given(shape=st.one_of(st.tuples(st.integers(2, 70)), st.tuples(st.integers(2, 40), st.integers(2, 40))),
       seed=st.integers(0, 10**6))
def test_perfect_reconstruction_for_any_size(wavelet, shape, seed):
    W = WaveletTransform(shape, wavelet, levels=max_levels(shape))
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    c = W(x)
    assert c.shape == x.shape
    assert (W.inverse(c) - x).abs().max() <= 1e-12
    assert (W.synthesis()(c) - x).abs().max() <= 1e-12


@pytest.mark.parametrize("wavelet", WAVELET_NAMES)
@pytest.mark.parametrize("shape", [(17,), (64,), (16, 16), (13, 22)])
def test_adjoints_pass_the_dot_test(wavelet, shape):
    W = WaveletTransform(shape, wavelet)
    assert W.adjointness_test() < 1e-13
    assert W.synthesis().adjointness_test() < 1e-13


def test_haar_is_orthonormal_and_legall_is_not():
    c = torch.randn(3, 16, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    haar, legall = WaveletTransform((16, 24), "haar", levels=3), WaveletTransform((16, 24), "legall53", levels=3)
    assert torch.allclose(haar.inverse(c), haar.A_adjoint(c), atol=1e-13)        # W^-1 = W^*
    assert not torch.allclose(legall.inverse(c), legall.A_adjoint(c), atol=1e-3)  # biorthogonal


def test_haar_matches_pywavelets_multilevel_1d_and_2d():
    x = np.random.default_rng(0).standard_normal(64)
    ours = WaveletTransform((64,), "haar", levels=3)(torch.from_numpy(x)).numpy()
    cA, cD3, cD2, cD1 = pywt.wavedec(x, "haar", level=3)
    reference = np.concatenate([cA, -cD3, -cD2, -cD1])        # pywt's detail is (even - odd)/√2
    assert np.allclose(ours, reference, atol=1e-12)
    image = np.random.default_rng(1).standard_normal((16, 16))
    ours = WaveletTransform((16, 16), "haar", levels=1)(torch.from_numpy(image)).numpy()
    cA, details = pywt.dwt2(image, "haar")
    assert np.allclose(ours[:8, :8], cA, atol=1e-12)
    ours_details = sorted(np.abs(b).sum() for b in (ours[:8, 8:], ours[8:, :8], ours[8:, 8:]))
    assert np.allclose(ours_details, sorted(np.abs(d).sum() for d in details))


def test_legall_53_matches_pywavelets_bior22_inside():
    """pywt's symmetric mode pads and gives two more coefficients; inside, the 5/3 lifting is bior2.2."""
    x = np.random.default_rng(2).standard_normal(32)
    c = lift(torch.from_numpy(x), LEGALL_53).numpy()
    a, d = pywt.dwt(x, "bior2.2", mode="symmetric")
    assert np.allclose(c[1:15], a[2:16], atol=1e-12)
    assert np.allclose(c[16:31], -d[1:16], atol=1e-12)


def test_lifting_steps_see_smoothness():
    """Constant signals have no details (both wavelets); LeGall's predictor is exact on straight lines."""
    ones = torch.ones(15, dtype=torch.float64)
    for wavelet in (HAAR, LEGALL_53):
        assert lift(ones, wavelet)[8:].abs().max() < 1e-15
    ramp = torch.arange(16, dtype=torch.float64)
    assert lift(ramp, LEGALL_53)[8:15].abs().max() < 1e-12          # all but the last (the boundary)
    assert torch.equal(merge(*split(ramp)), ramp)
    x = torch.randn(5, 11, dtype=torch.float64)
    assert torch.allclose(unlift(lift(x, LEGALL_53), LEGALL_53), x, atol=1e-14)


def test_sparse_approximation_and_denoising():
    x = data.test_image("camera", 64, dtype=torch.float64)
    W = WaveletTransform(x.shape, "legall53")
    c = W(x)
    kept = keep_largest(c, 0.08)
    assert int((kept != 0).sum()) == round(0.08 * x.numel())
    assert psnr(W.inverse(kept), x) > 25                     # 8 % of the coefficients keep the image
    sigma = 0.1
    y = data.add_noise(x, sigma=sigma, seed=0)
    universal = psnr(wavelet_denoise(y, W, universal_threshold(sigma, x.numel())), x)
    best = max(psnr(wavelet_denoise(y, W, t), x) for t in np.linspace(0.02, 0.4, 20))
    assert best >= universal > psnr(y, x) + 2          # the universal threshold is safe, and too large
    assert detail_mask(W).sum() == x.numel() - 4 * 4        # 64 -> 32 -> 16 -> 8 -> 4: the coarsest 4 x 4 stays


def test_the_wavelet_l1_prior_in_the_solvers_of_lecture_01():
    """FISTA on A @ W^-1 solves min 1/2||A W^-1 c - y||^2 + lam ||c||_1: the optimality condition holds."""
    W = WaveletTransform((32,), "haar")
    A = cl.Convolution1D(cl.gaussian_kernel(1.5, ndim=1, dtype=torch.float64), 32)
    x = torch.repeat_interleave(torch.tensor([0.0, 1.0, 0.5, -0.5], dtype=torch.float64), 8)
    y = A(x)
    B = A @ W.synthesis()
    c, _ = cl.fista(B, y, 1e-3, n_iter=3000)
    gradient = B.A_adjoint(B(c) - y)
    active = c.abs() > 1e-9
    assert torch.allclose(gradient[active], -1e-3 * torch.sign(c[active]), atol=1e-7)
    assert torch.all(gradient[~active].abs() <= 1e-3 + 1e-7)


@pytest.mark.parametrize("call, error, message", [
    (lambda: WaveletTransform((8, 8, 8)), ValueError, r"\(n,\) for signals or \(H, W\)"),
    (lambda: WaveletTransform((8,), "db4"), ValueError, "wavelet is 'db4'"),
    (lambda: WaveletTransform((20,), levels=6), ValueError, "allows at most 5"),
    (lambda: WaveletTransform((1,)), ValueError, "allows at most 0"),
    (lambda: WaveletTransform((8.0,)), TypeError, "expects an integer"),
    (lambda: WaveletTransform((8,)).inverse(torch.zeros(9)), ValueError, r"expects \(\.\.\., 8\)"),
    (lambda: keep_largest(torch.zeros(4), 0.0), ValueError, "fraction is 0.0"),
    (lambda: keep_largest(torch.zeros(4), 0.5), ValueError, r"keep_largest\(ndim=2\) expects at least 2 axes"),
    (lambda: keep_largest(torch.zeros(2, 4), 0.5, ndim=0), ValueError, "ndim is 0"),
    (lambda: universal_threshold(-0.1, 64), ValueError, "sigma is -0.1"),
    (lambda: universal_threshold(0.1, 0), ValueError, "n is 0"),
    (lambda: lift(torch.arange(8)), TypeError, "x has dtype torch.int64"),
    (lambda: lift(torch.zeros(8), "db4"), ValueError, "wavelet is 'db4'"),
    (lambda: lift(torch.zeros(8), 4), TypeError, "wavelet is 4"),
    (lambda: lift(torch.zeros(1)), ValueError, "n >= 2"),
    (lambda: unlift(torch.zeros(8, dtype=torch.complex64)), TypeError, "real floating-point"),
    (lambda: wavelet_denoise(torch.zeros(8), WaveletTransform((8,)), -1.0), ValueError, "threshold is -1.0"),
    (lambda: wavelet_denoise(torch.zeros(9), WaveletTransform((8,)), 1.0), ValueError, r"expects \(\.\.\., 8\)"),
    (lambda: wavelet_denoise(torch.zeros(8), "haar", 1.0), TypeError, "W is a str"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_universal_threshold():
    assert universal_threshold(0.1, 1000) == pytest.approx(0.1 * math.sqrt(2 * math.log(1000)))


def randomise(net, seed, std=0.05):
    """Random weights everywhere, the CNNs' last layers included (untrained they start at zero)."""
    gen = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d) and module.weight.shape[0] <= 2:
            with torch.no_grad():
                module.weight.copy_(std * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(std * torch.randn(module.bias.shape, generator=gen))
    return net


@given(seed=st.integers(0, 10**6), levels=st.integers(1, 3))
def test_lifting_network_is_invertible_for_any_weights(seed, levels):
    torch.manual_seed(seed)
    net = randomise(LiftingNetwork(levels=levels, hidden=8), seed)
    x = torch.rand(2, 1, 16, 24, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    net64 = net.double()
    approximation, details = net64(x)
    assert approximation.shape == (2, 1, 16 // 2 ** levels, 24 // 2 ** levels) and len(details) == levels
    assert (net64.inverse(approximation, details) - x).abs().max() <= 1e-12
    net32, x32 = net64.float(), x.float()
    assert (net32.inverse(*net32(x32)) - x32).abs().max() <= 1e-5


@pytest.mark.parametrize("hidden", [16, 0])
def test_untrained_lifting_network_is_the_legall_wavelet(hidden):
    """Untrained (its CNNs' last layers at zero), or without CNNs (hidden=0: nothing in P and U to learn)."""
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    net = LiftingNetwork(levels=2, hidden=hidden).double()
    assert (sum(p.numel() for p in net.steps.parameters()) == 0) == (hidden == 0)
    approximation, (level1, level2) = net(x)
    c = WaveletTransform((16, 16), "legall53", levels=2)(x[:, 0])
    assert torch.allclose(approximation[:, 0], c[:, :4, :4], atol=1e-14)
    assert torch.allclose(level1[:, 0], c[:, :8, 8:], atol=1e-14)          # rows' details, smoothed down the columns
    assert torch.allclose(level1[:, 1], c[:, 8:, :8], atol=1e-14)
    assert torch.allclose(level1[:, 2], c[:, 8:, 8:], atol=1e-14)
    assert torch.allclose(level2[:, 2], c[:, 4:8, 4:8], atol=1e-14)


def test_lifting_network_learns_to_denoise():
    """Untrained it is LeGall 5/3 thresholding at 1.5 sigma; a short training on patches of other images improves it."""
    torch.manual_seed(0)
    net = LiftingNetwork(levels=2, hidden=8)
    sigma = 0.1
    images = torch.stack([data.test_image(name, 64) for name in ("astronaut", "coins", "moon", "brick")])[:, None]
    test = data.test_image("camera", 64)[None, None]                       # never seen in training
    y = test + sigma * torch.randn(test.shape, generator=torch.Generator().manual_seed(9))

    def patches(g):
        pick, (r, c) = torch.randint(0, 4, (8,), generator=g), torch.randint(0, 33, (2,), generator=g).tolist()
        x = images[pick][..., r:r + 32, c:c + 32]
        return x + sigma * torch.randn(x.shape, generator=g), x

    with torch.no_grad():
        before = psnr(net.denoise(y, sigma), test)
    _, history = cl.training.train(net, patches, n_iter=60, lr=1e-2, predict=lambda model, v: model.denoise(v, sigma),
                                   progress=False)
    with torch.no_grad():
        after = psnr(net.denoise(y, sigma), test)
    assert after > before > psnr(y, test) + 4
    assert "parameters" in repr(net) and net.n_parameters < 100_000


def test_lifting_network_bad_inputs():
    with pytest.raises(ValueError, match="divisible by 4"):
        LiftingNetwork(levels=2)(torch.zeros(1, 1, 10, 16))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        LiftingNetwork(levels=1)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="details has 1 levels"):
        LiftingNetwork(levels=2).inverse(torch.zeros(1, 1, 2, 2), [torch.zeros(1, 3, 4, 4)])
    net = LiftingNetwork(levels=1, hidden=4)
    for sigma in (0.0, -0.1, float("nan"), torch.tensor([0.1, 0.0])):
        with pytest.raises(ValueError, match="sigma"):
            net.denoise(torch.zeros(1, 1, 8, 8), sigma)
    with pytest.raises(TypeError, match=r"computes in torch.float32 .*net.to\(torch.float64\)"):
        net.denoise(torch.zeros(1, 1, 8, 8, dtype=torch.float64), 0.1)
    assert net.double().denoise(torch.zeros(1, 1, 8, 8, dtype=torch.float64), 0.1).dtype == torch.float64
    assert LiftingNetwork(levels=1, hidden=4, wavelet=LEGALL_53).wavelet is LEGALL_53
    with pytest.raises(TypeError, match="details is a Tensor"):
        net.inverse(torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4, 4))


def dense_matrix(W):
    n = math.prod(W.in_shape)
    return W(torch.eye(n, dtype=torch.float64).reshape(n, *W.in_shape)).reshape(n, n).T   # row i: c_i = <w_i, x>


@pytest.mark.parametrize("shape, levels", [((64,), 3), ((32, 32), 3), ((30, 22), 2)])
def test_subband_noise_levels_are_the_rows_norms_of_the_dense_transform(shape, levels):
    W = WaveletTransform(shape, "legall53", levels=levels)
    norms = dense_matrix(W).norm(dim=1).reshape(shape)
    found = subbands(W)
    levels_ = subband_noise_levels(W)
    covered = torch.zeros(shape, dtype=torch.int64)
    for name, index in found:
        covered[index] += 1
        centre = tuple((s.start + s.stop - 1) // 2 for s in index)
        assert levels_[centre] == pytest.approx(norms[centre].item(), rel=1e-12), name
        assert torch.all(levels_[index] == levels_[centre])
    assert torch.all(covered == 1)                     # the subbands tile the coefficients
    assert [name for name, _ in found][-1] == "approximation"
    haar = WaveletTransform((32, 32), "haar", levels=3)
    assert torch.allclose(subband_noise_levels(haar), torch.ones(32, 32, dtype=torch.float64))


def test_legall_noise_levels_differ_per_level_as_white_noise_shows():
    W = WaveletTransform((1024,), "legall53", levels=5)
    levels = subband_noise_levels(W)
    noise = torch.randn(4000, 1024, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    c = W(noise)
    for _, index in subbands(W):
        inner = c[:, index[0]][:, 2:-2]                  # away from the boundary
        assert inner.std().item() == pytest.approx(levels[index][0].item(), rel=0.02)
    assert levels[600].item() == pytest.approx(math.sqrt(3) / 2, rel=1e-12)   # level 1: sqrt(1/4 + 1/4 + 1/4)
    assert levels[:64].min() > 1.4                      # level 5 and the approximation


def sure_by_brute_force(block, s):
    a = np.abs(block.ravel())
    candidates = np.concatenate([[0.0], a])
    risks = [a.size * s**2 - 2 * s**2 * np.sum(a <= t) + np.sum(np.minimum(a**2, t**2)) for t in candidates]
    return candidates[int(np.argmin(risks))]


@given(seed=st.integers(0, 10**6), sparse=st.booleans())
def test_sure_bayes_and_factor_thresholds_match_their_formulas(seed, sparse):
    gen = torch.Generator().manual_seed(seed)
    W = WaveletTransform((16, 16), "legall53", levels=2)
    x = torch.randn(16, 16, generator=gen, dtype=torch.float64) * (torch.rand(16, 16, generator=gen) < 0.1 if sparse
                                                                    else 1.0)
    c = W(x + 0.3 * torch.randn(16, 16, generator=gen, dtype=torch.float64))
    noise = subband_noise_levels(W) * 0.3
    sure, bayes, factor = (subband_thresholds(c, W, 0.3, rule) for rule in ("sure", "bayes", 2.5))
    for name, index in subbands(W):
        if name == "approximation":
            assert torch.all(sure[index] == 0) and torch.all(bayes[index] == 0) and torch.all(factor[index] == 0)
            continue
        block, s = c[index].numpy(), noise[index][0, 0].item()
        assert sure[index][0, 0].item() == pytest.approx(sure_by_brute_force(block, s), rel=1e-9, abs=1e-12)
        signal = math.sqrt(max(np.mean(block**2) - s**2, 0.0))
        expected = s**2 / signal if signal > 0 else np.abs(block).max()
        assert bayes[index][0, 0].item() == pytest.approx(expected, rel=1e-9)
        assert factor[index][0, 0].item() == pytest.approx(2.5 * s, rel=1e-12)
        assert torch.all(sure[index] == sure[index][0, 0])


def test_subband_denoise_is_per_item_and_denoises():
    sigma = 25 / 255
    x = torch.stack([data.test_image(name, 64, dtype=torch.float64) for name in ("camera", "coins")])
    y = data.add_noise(x, sigma=sigma, seed=4)
    W = WaveletTransform((64, 64), "legall53", levels=3)
    for rule in ("sure", "bayes", 1.0):
        together = subband_denoise(y, W, sigma, rule)
        assert torch.allclose(together[1], subband_denoise(y[1], W, sigma, rule), atol=1e-12)
    for rule in ("sure", "bayes", 1.0):
        assert psnr(subband_denoise(y, W, sigma, rule), x) > psnr(y, x) + 3, rule


@pytest.mark.parametrize("call, error, message", [
    (lambda: subbands("haar"), TypeError, "W is a str"),
    (lambda: subband_thresholds(torch.zeros(8), WaveletTransform((8,)), 0.1, "median"), ValueError, "rule is 'median'"),
    (lambda: subband_thresholds(torch.zeros(8), WaveletTransform((8,)), 0.0), ValueError, "sigma"),
    (lambda: subband_thresholds(torch.zeros(8), WaveletTransform((8,)), 0.1, -1.0), ValueError, "rule is -1.0"),
    (lambda: subband_denoise(torch.zeros(9), WaveletTransform((8,)), 0.1), ValueError, r"expects \(\.\.\., 8\)"),
])
def test_subband_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_lifting_network_takes_one_noise_level_per_image():
    net = randomise(LiftingNetwork(levels=2, hidden=4, shrinkage_hidden=4, shrinkage_depth=4), seed=3)
    y = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    sigmas = torch.tensor([0.05, 0.1, 0.2])
    with torch.no_grad():
        together = net.denoise(y, sigmas)
        for i in range(3):
            assert torch.allclose(together[i], net.denoise(y[i:i + 1], sigmas[i].item())[0], atol=1e-6)
    assert net.thresholds(sigmas).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="2 noise levels and y 3 images"):
        net.denoise(y, sigmas[:2])
    with pytest.raises(ValueError, match="1-D float tensor"):
        net.thresholds(torch.ones(2, 2))
