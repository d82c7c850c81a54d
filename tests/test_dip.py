"""Deep image prior: generator shapes, truth-free stopping rules on curves with a known answer, fitting."""
import math

import pytest
import torch

import course_lib as cl
from course_lib import data, dip
from course_lib.metrics import psnr


@pytest.mark.parametrize("make, z_shape, out_shape", [
    (lambda: dip.SkipNet(in_channels=8, channels=16, depth=3), (1, 8, 32, 32), (1, 1, 32, 32)),
    (lambda: dip.SkipNet(in_channels=8, channels=16, depth=2, skip=0), (2, 8, 16, 24), (2, 1, 16, 24)),
    (lambda: dip.DeepDecoder(channels=16, n_layers=3), (1, 16, 4, 4), (1, 1, 32, 32)),
])
def test_generators_shapes(make, z_shape, out_shape):
    torch.manual_seed(0)
    out = make()(torch.rand(z_shape))
    assert out.shape == out_shape


def test_conv_generator_is_relu_of_a_circular_convolution_times_v():
    for shape in [(40,), (12, 16)]:
        g = dip.ConvGenerator(shape, channels=6, width=1.5, seed=0)
        assert g().shape == (1, 1, *shape) and not g.takes_input
        assert sum(p.numel() for p in g.parameters()) == 6 * math.prod(shape)     # only C is trained
    # 1-D against NumPy: U as a dense circulant matrix, G(C) = ReLU(U C) v
    np = pytest.importorskip("numpy")
    g = dip.ConvGenerator(40, channels=6, width=1.5, seed=1)
    d = np.minimum(np.arange(40), 40 - np.arange(40))
    u = np.exp(-0.5 * (d / 1.5) ** 2)
    u /= u.sum()
    U = np.stack([np.roll(u, i) for i in range(40)], axis=1)           # column i: kernel centred at i
    C = g.C.detach().double().numpy().T                                 # (n, k)
    v = np.array([1, 1, 1, -1, -1, -1]) / np.sqrt(6)
    assert np.allclose(g()[0, 0].detach().numpy(), np.maximum(U @ C, 0) @ v, atol=1e-6)


def test_conv_generator_is_seeded_and_leaves_the_global_rng_alone():
    """seed=s gives the weights that torch.manual_seed(s) before the call gave; a Generator carries on."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        expected = 0.3 * torch.randn(6, 20)
    state = torch.get_rng_state()
    g = dip.ConvGenerator(20, channels=6, init_scale=0.3, seed=4)
    assert torch.equal(g.C.detach(), expected) and torch.equal(torch.get_rng_state(), state)
    gen = torch.Generator().manual_seed(4)
    first, second = dip.ConvGenerator(20, channels=6, seed=gen), dip.ConvGenerator(20, channels=6, seed=gen)
    assert not torch.equal(first.C, second.C)
    with pytest.raises(TypeError, match="seed"):
        dip.ConvGenerator(20, channels=6, seed=1.5)


def test_deep_decoder_is_under_parameterised():
    net = dip.DeepDecoder(channels=32, n_layers=4)
    assert sum(p.numel() for p in net.parameters()) < 128 * 128 / 2
    assert net.input_shape((128, 128)) == (8, 8)


def test_generator_bad_inputs():
    with pytest.raises(ValueError, match=r"divisible by 8"):
        dip.SkipNet(in_channels=4, channels=8, depth=3)(torch.rand(1, 4, 20, 20))
    with pytest.raises(ValueError, match=r"expects \(N, 4, H, W\)"):
        dip.SkipNet(in_channels=4, channels=8, depth=3)(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="channels is 0"):
        dip.DeepDecoder(channels=0)
    with pytest.raises(ValueError, match="even number"):
        dip.ConvGenerator((8, 8), channels=5)
    with pytest.raises(ValueError, match=r"\(n,\) or \(H, W\)"):
        dip.ConvGenerator((2, 3, 4))
    with pytest.raises(TypeError, match="LinearOperator"):
        dip.fit(dip.SkipNet(channels=8, depth=2), torch.eye(4), torch.zeros(4, 4))
    with pytest.raises(ValueError, match=r"y has shape \(8, 8\)"):
        dip.fit(dip.SkipNet(channels=8, depth=2), cl.Identity((16, 16)), torch.zeros(8, 8))


def test_windowed_variance_detector_finds_the_settled_iterate():
    truth, path = dip.settling_path()
    detector = dip.WindowedVarianceDetector(window=20, patience=100)
    stopped_at = next(k for k, x in enumerate(path, 1) if detector.update(k, x))
    assert stopped_at == detector.best_iteration + 100
    assert abs(detector.best_iteration - 260) <= 15          # the window's newest iterate: ~best + window/2
    assert torch.equal(detector.best_output, path[detector.best_iteration - 1])
    assert math.isnan(detector.variances[0]) and len(detector.variances) == stopped_at


def test_discrepancy_detector_stops_at_the_noise_level():
    x = data.test_image("camera", 32)
    A = cl.Identity((32, 32))
    y = data.add_noise(x, sigma=0.1, seed=0)
    detector = dip.DiscrepancyDetector(A, y, sigma=0.1)
    # a path from 0 to y: the residual ||x_k - y|| shrinks linearly, the first below sqrt(m) sigma is known
    path = [y * k / 100 for k in range(1, 101)]
    stop = next(k for k, xk in enumerate(path, 1) if detector.update(k, xk))
    level = 1.1 * 32 * 0.1                                         # tau sqrt(m) sigma, Morozov's tau 1.1 by default
    expected = next(k for k in range(1, 101) if (1 - k / 100) * y.norm().item() <= level)
    assert stop == expected == detector.best_iteration
    with pytest.raises(ValueError, match="sigma is 0"):
        dip.DiscrepancyDetector(A, y, sigma=0)


def test_a_short_fit_raises_psnr_and_is_seeded():
    torch.set_num_threads(1)
    x = data.test_image("camera", 32)
    y = data.add_noise(x, sigma=0.1, seed=1)
    A = cl.Identity((32, 32))
    def run():
        torch.manual_seed(0)                     # the network's initialisation
        shots = dip.Snapshots((1, 150), x_true=x)
        x_hat, history = dip.fit(dip.SkipNet(in_channels=32, channels=16, depth=3), A, y, n_iter=150, lr=0.01,
                                 observers=[dip.Metrics(x), shots], progress=False, seed=3)
        return x_hat, history, shots

    runs = [run(), run()]
    x_hat, r, shots = runs[0]
    assert max(r.psnr) > psnr(y, x) + 1.0
    assert r.loss[-1] < r.loss[0] and set(shots.images) == set(shots.ssim) == {1, 150} and x_hat.shape == (32, 32)
    assert shots.ssim[150] > shots.ssim[1] and r.iterations == 150
    assert runs[0][1].loss == runs[1][1].loss


def test_fit_works_for_inpainting_with_tv_and_averaging():
    x = data.test_image("camera", 32)
    mask = (torch.rand(32, 32, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    A = cl.Inpainting(mask)
    _, r = dip.fit(dip.SkipNet(in_channels=32, channels=16, depth=3), A, A(x), n_iter=120, lr=0.01,
                   observers=[dip.Metrics(x)], regulariser=cl.TotalVariation(0.01, ndim=2), ema=0.9,
                   progress=False)
    assert r.psnr[-1] > psnr(A(x), x) + 3.0        # the holes are filled in


def test_tv_loss():
    flat = torch.ones(8, 8)
    assert dip.tv_loss(flat).item() == 0
    step = torch.zeros(8, 8)
    step[:, 4:] = 1
    assert dip.tv_loss(step).item() == pytest.approx(8 / 64)          # one jump of 1 in each of 8 rows, per pixel
    corner = torch.ones(2, 2)
    corner[0, 0] = 0
    assert dip.tv_loss(corner).item() == pytest.approx(2 ** 0.5 / 4)    # isotropic: |(1, 1)| at the corner
    # differentiable where the gradient's magnitude is 0 (every flat pixel, the far edges): a zero subgradient there,
    # not NaN, and elsewhere autograd's gradient matches finite differences
    flat = torch.ones(1, 1, 8, 8, requires_grad=True)
    dip.tv_loss(flat).backward()
    assert torch.equal(flat.grad, torch.zeros_like(flat))
    rough = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(dip.tv_loss, (rough,))


def test_fit_gives_the_detector_raw_outputs_and_keeps_the_averaged_choice():
    class StopAtFive:
        def __init__(self):
            self.seen, self.best_iteration = [], None

        def update(self, k, x):
            self.seen.append(x.clone())
            if k == 3:
                self.best_iteration = 3
            return k == 5

    x = data.test_image("camera", 16)
    torch.manual_seed(0)
    detector = StopAtFive()
    shots, stop = dip.Snapshots((3,)), dip.EarlyStopping(detector)
    _, r = dip.fit(dip.SkipNet(in_channels=32, channels=8, depth=2), cl.Identity((16, 16)), x, n_iter=50, ema=0.9,
                   observers=[shots, stop], progress=False)
    assert r.iterations == 5 and stop.iteration == 3 and stop.stopped_at == 5 and len(detector.seen) == 5
    assert torch.equal(stop.output, shots.images[3])            # the averaged output at the chosen iteration
    assert not torch.equal(detector.seen[2], shots.images[3])   # the detector saw the raw one


def test_pretraining_gives_a_warm_start():
    A = cl.Identity((32, 32))
    torch.manual_seed(0)
    net = dip.SkipNet(in_channels=1, channels=16, depth=3)
    _, history = dip.pretrain(net, A, sigma=0.1, n_iter=80, batch=4, phantoms="ellipses", progress=False, seed=1)
    losses = history.loss
    assert sum(losses[-10:]) < sum(losses[:10])
    x = data.random_ellipses(1, 32, seed=123)[0]
    y = data.add_noise(x, sigma=0.1, seed=4)
    net.eval()                                            # keep the BatchNorm statistics it learnt
    with torch.no_grad():
        warm = net(dip.educated_input(A, y))[0, 0]
    assert psnr(warm, x) > psnr(y, x) + 3                 # already a denoiser before any fitting
    _, r = dip.fit(net, A, y, n_iter=20, z=dip.educated_input(A, y), input_noise=0, observers=[dip.Metrics(x)],
                   progress=False)
    assert r.psnr[0] > psnr(y, x) + 3
    with pytest.raises(ValueError, match="square images"):
        dip.pretrain(net, cl.Identity((8, 16)), sigma=0.1)
    _, pooled = dip.pretrain(dip.SkipNet(in_channels=1, channels=4, depth=2), cl.Identity((16, 16)), sigma=0.1,
                             n_iter=5, batch=3, pool=6, progress=False)
    assert len(pooled.loss) == 5 and all(math.isfinite(v) for v in pooled.loss)
    with pytest.raises(ValueError, match="pool is 0"):
        dip.pretrain(net, A, sigma=0.1, pool=0)
    with pytest.raises(ValueError, match="phantoms is 'faces'"):
        dip.pretrain(net, A, sigma=0.1, phantoms="faces")


def test_fit_can_watch_a_detector_without_stopping():
    x = data.test_image("camera", 16)
    torch.manual_seed(0)
    detector = dip.WindowedVarianceDetector(window=5, patience=5)
    stop = dip.EarlyStopping(detector, stop=False)
    _, r = dip.fit(dip.SkipNet(in_channels=32, channels=8, depth=2), cl.Identity((16, 16)), x, n_iter=60,
                   observers=[stop], progress=False)
    assert r.iterations == 60 and stop.stopped_at is not None and stop.stopped_at < 60
    assert stop.iteration == detector.best_iteration == stop.stopped_at - 5
    assert len(detector.variances) == stop.stopped_at          # frozen once it said stop


def test_conv_generator_does_compressed_sensing_by_gradient_descent():
    """Heckel & Soltanolkotabi: m < n Gaussian measurements of a smooth signal, plain gradient descent on C,
    no regulariser: far better than the minimum-norm solution A^+ y (which knows nothing of smoothness)."""
    n, m = 128, 48
    t = torch.arange(n) / n
    x = torch.sin(2 * math.pi * t) + 0.5 * torch.cos(6 * math.pi * t)
    A = cl.MatrixOperator(torch.randn(m, n, generator=torch.Generator().manual_seed(0)) / m ** 0.5)
    y = A(x)
    min_norm = torch.linalg.pinv(A.matrix) @ y
    g = dip.ConvGenerator(n, channels=64, width=3.0, init_scale=y.norm().item() / n ** 0.5, seed=0)
    x_hat, r = dip.fit(g, A, y, n_iter=1500, lr=20.0, optimizer=torch.optim.SGD, progress=False)
    err = lambda v: ((v - x).norm() / x.norm()).item()
    assert r.loss[-1] < 1e-2 * r.loss[0]
    assert err(x_hat) < 0.2 < 0.5 < err(min_norm)
    with pytest.raises(TypeError, match="expects a torch.optim class"):
        dip.fit(g, A, y, n_iter=1, optimizer="sgd")
    with pytest.raises(TypeError, match="returned a float"):
        dip.fit(g, A, y, n_iter=1, optimizer=lambda params: 0.1)
    with pytest.raises(ValueError, match="for images"):
        dip.fit(g, A, y, n_iter=1, regulariser=cl.TotalVariation(0.1, ndim=2))
    with pytest.raises(TypeError, match="expects a course_lib Functional"):
        dip.fit(g, A, y, n_iter=1, regulariser=0.1)
    with pytest.raises(ValueError, match="signals \\(n,\\) for a generator without input"):
        dip.fit(dip.SkipNet(channels=8, depth=2), A, y, n_iter=1)


def test_the_generator_jacobian_is_the_derivative_of_the_output():
    net = dip.ConvGenerator(16, channels=4, width=1.5, init_scale=0.5, seed=0)
    J = dip.generator_jacobian(net)
    assert J.shape == (16, 4 * 16)
    direction = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = net().reshape(-1)
        net.C += 1e-3 * direction
        after = net().reshape(-1)
    assert torch.allclose((after - before) / 1e-3, J @ direction.reshape(-1), atol=2e-3)
    with pytest.raises(ValueError, match="without input"):
        dip.generator_jacobian(dip.SkipNet(in_channels=2, channels=4, depth=2))


def test_the_linear_generator_bound_factors_match_numpy():
    import numpy as np

    g = torch.Generator().manual_seed(0)
    J, x = torch.randn(12, 30, generator=g, dtype=torch.float64), torch.randn(12, generator=g, dtype=torch.float64)
    W, s, _ = np.linalg.svd(J.numpy(), full_matrices=False)
    for tail_from in (0, 5, 12):
        weighted, tail = dip.linear_generator_bound(J, x, tail_from)
        assert weighted == pytest.approx(float(np.sum((W.T @ x.numpy()) ** 2 / s ** 2)), rel=1e-10)
        assert tail == pytest.approx(float(np.sum(s[tail_from:] ** 2)), rel=1e-10, abs=0)
    # x along the first singular vector: the weighted norm is ||x||^2 / sigma_1^2
    assert dip.linear_generator_bound(J, torch.from_numpy(W[:, 0]), 3)[0] == pytest.approx(1 / s[0] ** 2, rel=1e-10)
    with pytest.raises(ValueError, match=r"J of shape \(n, N\) with N >= n"):
        dip.linear_generator_bound(J.T, x, 3)
    with pytest.raises(ValueError, match="from 0 to n = 12"):
        dip.linear_generator_bound(J, x, 13)
    with pytest.raises(ValueError, match="rank-deficient"):
        dip.linear_generator_bound(torch.cat([J[:11], J[:1]]), x, 3)


def test_the_linear_generator_has_the_cosine_basis_and_the_decay_it_says():
    J = dip.linear_generator(32, 80, decay=4.0, seed=3)
    W, s, _ = torch.linalg.svd(J, full_matrices=False)
    assert J.shape == (32, 80) and J.dtype == torch.float64
    assert torch.allclose(s, 1 / (1 + torch.arange(32, dtype=torch.float64) / 4), atol=1e-12)
    t = (torch.arange(32, dtype=torch.float64) + 0.5) / 32
    assert abs(W[:, 2] @ torch.cos(2 * torch.pi * t) / torch.cos(2 * torch.pi * t).norm()) > 1 - 1e-12   # frequency 2
    assert torch.equal(J, dip.linear_generator(32, 80, decay=4.0, seed=3))
    with pytest.raises(ValueError, match="at least n = 32 weights"):
        dip.linear_generator(32, 20)


@pytest.mark.parametrize("patience", [1, 20, 60, 150])
def test_variance_stop_replays_the_detector_on_a_recorded_curve(patience):
    truth, outputs = dip.settling_path(n=400, best=150, shape=(8, 8), seed=3)
    everywhere = dip.WindowedVarianceDetector(window=20, patience=10 ** 9)      # the variance over the whole path
    live = dip.WindowedVarianceDetector(window=20, patience=patience)
    stop = None
    for k, x in enumerate(outputs, 1):
        everywhere.update(k, x)
        if stop is None and live.update(k, x):
            stop = k
    assert dip.variance_stop(everywhere.variances, patience) == (live.best_iteration, stop)
    best, never = dip.variance_stop(everywhere.variances, 10 ** 6)
    assert never is None and everywhere.variances[best - 1] == min(v for v in everywhere.variances if v == v)
    with pytest.raises(ValueError, match="patience"):
        dip.variance_stop(everywhere.variances, 0)
