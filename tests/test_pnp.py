"""Plug-and-play: the data step's closed form and CG agree, the identity denoiser gives least squares."""
import numpy as np
import pytest
import torch

import course_lib as cl
from course_lib import data, pnp
from course_lib.lifting import WaveletTransform
from course_lib.metrics import psnr


def blurred(sigma=0.02, size=32):
    x = data.test_image("camera", size, dtype=torch.float64)
    A = cl.Convolution2D(cl.gaussian_kernel(1.5, dtype=torch.float64), (size, size), padding="circular")
    return x, A, data.add_noise(A(x), sigma=sigma, seed=0)


def test_data_step_fourier_closed_form_equals_conjugate_gradient():
    x, A, y = blurred()
    v = torch.rand(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fourier = pnp.data_step(A, y, v, 0.05)
    assert torch.allclose(A.A_adjoint_A(fourier) + 0.05 * fourier, A.A_adjoint(y) + 0.05 * v, atol=1e-12)
    cg, history = pnp.conjugate_gradient(lambda u: A.A_adjoint_A(u) + 0.05 * u, A.A_adjoint(y) + 0.05 * v,
                                         n_iter=500, tol=1e-14)
    assert torch.allclose(fourier, cg, atol=1e-10)
    assert history.converged and history.residual[-1] <= 1e-14 < history.residual[0]
    zeros = cl.Convolution2D(cl.gaussian_kernel(1.5, dtype=torch.float64), x.shape, padding="zeros")
    step = pnp.data_step(zeros, zeros(x), v, 0.05, cg_iter=300)                   # no closed form: CG
    assert torch.allclose(zeros.A_adjoint_A(step) + 0.05 * step, zeros.A_adjoint(zeros(x)) + 0.05 * v, atol=1e-9)


@pytest.mark.parametrize("method", [pnp.hqs, pnp.admm])
def test_identity_denoiser_gives_least_squares(method):
    g = torch.Generator().manual_seed(0)
    M = torch.randn(20, 8, generator=g, dtype=torch.float64)
    y = torch.randn(20, generator=g, dtype=torch.float64)
    x, _ = method(cl.MatrixOperator(M), y, lambda v, sigma: v, [(0.5, 0.1)] * 200)
    least_squares = np.linalg.lstsq(M.numpy(), y.numpy(), rcond=None)[0]
    assert np.allclose(x.numpy(), least_squares, atol=1e-9)


def test_penalty_schedule():
    schedule = pnp.penalty_schedule(0.01, 5, sigma_start=0.16)
    sigmas = [s for _, s in schedule]
    assert sigmas[0] == pytest.approx(0.16) and sigmas[-1] == pytest.approx(0.01)
    assert np.allclose(np.diff(np.log(sigmas)), np.log(0.5))                     # geometric: 0.16, 0.08, ..., 0.01
    assert schedule[-1][0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sigma_start >= sigma_end"):
        pnp.penalty_schedule(0.1, 5, sigma_start=0.05)


def test_plug_and_play_beats_tikhonov_with_wavelet_and_tv_denoisers():
    x, A, y = blurred()
    schedule = pnp.penalty_schedule(0.02, 12, sigma_start=0.1)
    best_tikhonov = max(psnr(cl.tikhonov(A, y, alpha), x) for alpha in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2))
    for denoiser in (pnp.wavelet_denoiser(WaveletTransform(x.shape, "legall53", levels=3), 0.5), pnp.tv_denoiser(0.3)):
        for method in (pnp.hqs, pnp.admm):
            x_hat, history = method(A, y, denoiser, schedule, x_true=x)
            assert x_hat.shape == x.shape and len(history.psnr) == 12
            assert psnr(x_hat, x) > best_tikhonov + 0.5


def test_bad_inputs():
    x, A, y = blurred()
    with pytest.raises(TypeError, match="denoiser"):
        pnp.hqs(A, y, "bm3d", [(1.0, 0.1)])
    with pytest.raises(ValueError, match="schedule"):
        pnp.admm(A, y, lambda v, s: v, [])
    with pytest.raises(TypeError, match="LinearOperator"):
        pnp.hqs(torch.eye(3), y, lambda v, s: v, [(1.0, 0.1)])


def test_conjugate_gradient_says_its_residual_when_it_stops_early():
    M = torch.diag(torch.logspace(0, 4, 30, dtype=torch.float64))
    b = torch.ones(30, dtype=torch.float64)
    x, history = pnp.conjugate_gradient(lambda u: M @ u, b, n_iter=5, tol=1e-12)
    assert not history.converged and len(history.residual) == 6
    assert history.residual[-1] == pytest.approx(float((M @ x - b).norm() / b.norm()), rel=1e-6)
    x, history = pnp.conjugate_gradient(lambda u: M @ u, b, n_iter=100, tol=1e-12)
    assert history.converged and float((M @ x - b).norm() / b.norm()) <= 1e-11
    _, history = pnp.conjugate_gradient(lambda u: u, torch.zeros(3, dtype=torch.float64))
    assert history.converged                     # b = 0: x = 0 at once
    with pytest.raises(ValueError, match="n_iter is -1"):
        pnp.conjugate_gradient(lambda u: u, b, n_iter=-1)


def test_conjugate_gradient_item_by_item():
    """With item_ndim each item of a batch is its own system, with its own steps."""
    M = torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64))
    b = torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * torch.tensor(
        [[1.0], [1e-3], [1e3], [0.0]], dtype=torch.float64)
    x, history = pnp.conjugate_gradient(lambda u: u @ M, b, n_iter=5, tol=1e-13, item_ndim=1)
    assert history.converged
    torch.testing.assert_close(x @ M, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: pnp.tv_denoiser(-1.0), ValueError, "factor is -1.0"),
    (lambda: pnp.tv_denoiser(1.0)(torch.zeros(4, 4), -0.1), ValueError, "sigma is -0.1"),
    (lambda: pnp.tv_denoiser(1.0)(torch.zeros(4), 0.1), ValueError, r"images \(\.\.\., H, W\)"),
    (lambda: pnp.wavelet_denoiser(WaveletTransform((8, 8)), 0.0), ValueError, "factor is 0.0"),
    (lambda: pnp.wavelet_denoiser("haar"), TypeError, "W is a str"),
    (lambda: pnp.hqs(cl.Identity((4, 4)), torch.full((4, 4), float("nan")), lambda v, s: v, [(1.0, 0.1)]),
     ValueError, "y has 16 non-finite entries"),
    (lambda: pnp.admm(cl.Identity((4, 4)), torch.zeros(4, 4), lambda v, s: v, [(1.0, 0.1), (0.0, 0.1)]),
     ValueError, r"mu of schedule\[1\] is 0.0"),
    (lambda: pnp.hqs(cl.Identity((4, 4)), torch.zeros(4, 4), lambda v, s: v, [1.0]), TypeError, "pairs"),
    (lambda: pnp.hqs(cl.Identity((4, 4)), torch.zeros(4, 4), lambda v, s: v, [(1.0, 0.1)], x0=torch.zeros(5)),
     ValueError, "x0 has shape"),
    (lambda: pnp.data_step(cl.Identity((4, 4)), torch.zeros(4, 4), torch.zeros(4, 4), 0.1, cg_iter=-1),
     ValueError, "cg_iter is -1"),
    (lambda: pnp.tv_deblur(cl.Identity((4, 4)), torch.zeros(4, 4), 0.0), ValueError, "lam is 0.0"),
    (lambda: pnp.tv_deblur(cl.Identity((16,)), torch.zeros(16), 0.1), ValueError, "operator on images"),
    (lambda: pnp.tv_deblur(cl.Identity((4, 4)), torch.zeros(4, 5), 0.1), ValueError, "y has shape"),
    (lambda: pnp.tv_deblur("blur", torch.zeros(4, 4), 0.1), TypeError, "A is a str"),
])
def test_refusals(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_tv_deblur_with_the_identity_is_scikit_images_tv_denoising():
    from skimage.restoration import denoise_tv_chambolle

    x = data.test_image("camera", 32, dtype=torch.float64)
    y = data.add_noise(x, sigma=0.1, seed=2)
    ours, history = pnp.tv_deblur(cl.Identity((32, 32)), y, 0.08, tol=1e-8, n_iter=20000, ratio=1.0)
    theirs = denoise_tv_chambolle(y.numpy(), weight=0.08, eps=1e-10, max_num_iter=20000)
    assert history.converged
    assert np.abs(ours.numpy() - theirs).max() < 1e-3


def test_tv_deblur_reaches_a_lower_objective_than_long_fista():
    x, A, y = blurred(sigma=0.01)
    lam = 1e-3
    ours, history = pnp.tv_deblur(A, y, lam, tol=1e-9, n_iter=20000)
    fista, _ = cl.fista(A, y, cl.TotalVariation(lam, ndim=2, n_inner=50, tol=1e-6), n_iter=100)

    def objective(v):
        return (0.5 * (A(v) - y).square().sum() + lam * cl.functionals.total_variation(v, 2)).item()

    assert history.converged and history.objective[-1] == pytest.approx(objective(ours))
    assert objective(ours) <= objective(fista) + 1e-9
    assert objective(ours) < objective(y)                 # and it moved


def test_tv_deblur_takes_the_same_steps_by_conjugate_gradients_for_any_operator():
    x, A, y = blurred(sigma=0.01)
    fourier, _ = pnp.tv_deblur(A, y, 1e-3, tol=0.0, n_iter=100)
    cg_route, _ = pnp.tv_deblur(_non_circular(A), y, 1e-3, tol=0.0, n_iter=100)
    assert (cg_route - fourier).abs().max() < 1e-7


def _non_circular(A):
    """The same circular blur, hidden behind a composition so that tv_deblur cannot divide in the Fourier domain."""
    return cl.Identity(A.in_shape) @ A
