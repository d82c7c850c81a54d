r"""Plug-and-play: split :math:`x = z`, alternate a data step and a *denoiser* in place of a prox.

Half-quadratic splitting (HQS) of :math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda R(x)` alternates

.. math::
    x_k = \arg\min_x \tfrac12\|Ax - y\|^2 + \tfrac{\mu_k}2\|x - z_{k-1}\|^2
        = (A^*A + \mu_k I)^{-1}(A^*y + \mu_k z_{k-1}),
    \qquad z_k = \mathrm{prox}_{(\lambda/\mu_k) R}(x_k),

and the second step is a denoising problem at noise level :math:`\sigma_k = \sqrt{\lambda/\mu_k}`: plug in any
denoiser ``denoiser(v, sigma)`` there (Venkatakrishnan, Bouman & Wohlberg 2013; Zhang et al., DPIR
2021) -- wavelet soft-thresholding, the learned lifting network, scikit-image's TV. ADMM adds a
running sum of the splitting residual. :func:`data_step` solves the quadratic step in closed form in
the Fourier domain for a circular convolution (and the identity), by conjugate gradients for any
other :class:`~course_lib.operators.LinearOperator`; :func:`penalty_schedule` lets :math:`\sigma_k`
decrease geometrically, large first (the denoiser shapes the image), the noise level last. :func:`tv_deblur` is the
model-based reference PnP is measured against: TV-regularised least squares, solved to convergence.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .history import History
from .operators import Convolution2D, Identity, LinearOperator
from .utils import check_int, check_number, check_tensor

__all__ = ["conjugate_gradient", "data_step", "penalty_schedule", "hqs", "admm", "tv_denoiser", "wavelet_denoiser",
           "tv_deblur"]


def conjugate_gradient(apply, b: torch.Tensor, x0: torch.Tensor | None = None, n_iter: int = 100,
                       tol: float = 1e-10, item_ndim: int | None = None) -> tuple:
    r"""Solve :math:`Mx = b` for a symmetric positive definite :math:`M` given as ``apply(x)`` (Hestenes & Stiefel
    1952).

    Stops after ``n_iter`` iterations or when :math:`\|r\| \le` ``tol`` :math:`\|b\|`. By default a batch is one
    big system (one step size and one stopping test for all its entries, on purpose: ``M`` may couple them); with
    ``item_ndim`` the last ``item_ndim`` axes are one system and every leading axis a batch of independent ones (each
    with its own steps; all stop when every one has converged). Returns ``(x, history)``: ``history.residual`` holds
    :math:`\|r_k\|/\|b\|` (the largest over the batch), ``history.converged`` whether ``tol`` was reached.
    """
    check_tensor(b, "b", "conjugate_gradient")
    check_int(n_iter, "n_iter", "conjugate_gradient", minimum=0)
    tol = check_number(tol, "tol", "conjugate_gradient")
    if item_ndim is not None:
        item_ndim = check_int(item_ndim, "item_ndim", "conjugate_gradient")
        if item_ndim > b.ndim:
            raise ValueError(f"item_ndim is {item_ndim} but b has shape {tuple(b.shape)}; conjugate_gradient expects "
                             "item_ndim <= b.ndim")
    dims = tuple(range(b.ndim - item_ndim, b.ndim)) if item_ndim is not None else tuple(range(b.ndim))

    def dot(u, v):
        return (u.conj() * v).real.sum(dim=dims, keepdim=True)

    def ratio(u, v):                    # u / v, and 0 where v is 0 (a system already solved exactly)
        return torch.where(v > 0, u / v.clamp(min=tiny), torch.zeros_like(u))

    tiny = torch.finfo(b.real.dtype).tiny
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x)
    p, rr = r.clone(), dot(r, r)
    bb = dot(b, b).clamp(min=tiny)
    history = History(converged=False)
    for _ in range(n_iter + 1):
        relative = (rr / bb).sqrt()
        history.log(residual=relative.max())
        if bool((relative <= tol).all()):
            history.converged = True
            break
        if len(history.residual) > n_iter:
            break
        Mp = apply(p)
        step = ratio(rr, dot(p, Mp))
        x, r = x + step * p, r - step * Mp
        rr_new = dot(r, r)
        p, rr = r + ratio(rr_new, rr) * p, rr_new
    return x, history


def _fourier_symbol(A: LinearOperator, like: torch.Tensor):
    """The transfer function of a circular convolution (or the identity), or None for other operators."""
    if isinstance(A, Identity):
        return torch.ones(A.in_shape, dtype=like.dtype, device=like.device)
    if isinstance(A, Convolution2D) and A.padding == "circular":
        impulse = torch.zeros(A.in_shape, dtype=like.dtype, device=like.device)
        impulse[0, 0] = 1
        return torch.fft.fft2(A(impulse))
    return None


def data_step(A: LinearOperator, y: torch.Tensor, v: torch.Tensor, mu: float, cg_iter: int = 50) -> torch.Tensor:
    r""":math:`\arg\min_x \tfrac12\|Ax - y\|^2 + \tfrac\mu2\|x - v\|^2 = (A^*A + \mu I)^{-1}(A^*y + \mu v)`.

    In closed form in the Fourier domain for a circular :class:`~course_lib.operators.Convolution2D`
    (:math:`\hat x = (\bar{\hat h}\hat y + \mu\hat v)/(|\hat h|^2 + \mu)`) or the identity; otherwise by
    ``cg_iter`` conjugate-gradient iterations started at ``v`` (an inexact inner solve, warm-started: each item of a
    batch ``(..., *A.in_shape)`` its own system).
    """
    check_number(mu, "mu", "data_step", strict=True)
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; data_step expects a course_lib LinearOperator")
    check_tensor(y, "y", f"data_step with {A!r}", A.out_shape)
    check_tensor(v, "v", f"data_step with {A!r}", A.in_shape)
    check_int(cg_iter, "cg_iter", "data_step", minimum=0)
    symbol = _fourier_symbol(A, v)
    if symbol is not None:
        numerator = symbol.conj() * torch.fft.fft2(y) + mu * torch.fft.fft2(v)
        return torch.fft.ifft2(numerator / (symbol.abs() ** 2 + mu)).real
    rhs = A.A_adjoint(y) + mu * v
    x, _ = conjugate_gradient(lambda x: A.A_adjoint_A(x) + mu * x, rhs, x0=v, n_iter=cg_iter, item_ndim=len(A.in_shape))
    return x


def penalty_schedule(sigma_noise: float, n_iter: int, sigma_start: float = 0.2, sigma_end: float | None = None,
                     lam: float = 1.0) -> list:
    r"""``n_iter`` pairs :math:`(\mu_k, \sigma_k)`: :math:`\sigma_k` log-spaced from ``sigma_start`` down to
    ``sigma_end``
    (the noise level by default), :math:`\mu_k = \lambda\,\sigma_{noise}^2/\sigma_k^2` (DPIR's schedule: the denoiser
    works hard first, then the data term takes over)."""
    check_number(sigma_noise, "sigma_noise", "penalty_schedule", strict=True)
    check_int(n_iter, "n_iter", "penalty_schedule")
    sigma_end = sigma_noise if sigma_end is None else sigma_end
    if not sigma_start >= sigma_end > 0:
        raise ValueError(f"sigma_start is {sigma_start}, sigma_end {sigma_end}; penalty_schedule expects "
                         "sigma_start >= sigma_end > 0")
    ratios = [k / max(n_iter - 1, 1) for k in range(n_iter)]
    sigmas = [math.exp(math.log(sigma_start) * (1 - t) + math.log(sigma_end) * t) for t in ratios]
    return [(lam * sigma_noise ** 2 / s ** 2, s) for s in sigmas]


def _check(A, y, denoiser, schedule, x0, owner):
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; {owner} expects a course_lib LinearOperator")
    check_tensor(y, "y", f"{owner} with {A!r}", A.out_shape, finite=True)
    if not callable(denoiser):
        raise TypeError(f"denoiser is a {type(denoiser).__name__}; {owner} expects a function denoiser(v, sigma)")
    if not schedule:
        raise ValueError(f"{owner} needs a schedule of at least one (mu, sigma) pair (see penalty_schedule)")
    for k, pair in enumerate(schedule):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"schedule[{k}] is {pair!r}; {owner} expects (mu, sigma) pairs (see penalty_schedule)")
        check_number(pair[0], f"mu of schedule[{k}]", owner, strict=True)
        check_number(pair[1], f"sigma of schedule[{k}]", owner)
    if x0 is not None:
        check_tensor(x0, "x0", f"{owner} with {A!r}", A.in_shape, finite=True)


def _log(history, x, x_true, metric):
    if x_true is not None:
        history.log(psnr=metric(x, x_true))


def hqs(A: LinearOperator, y: torch.Tensor, denoiser, schedule, x0=None, x_true=None, callback=None):
    r"""Plug-and-play half-quadratic splitting: ``x = data_step(A, y, z, mu_k)``, ``z = denoiser(x, sigma_k)``.

    ``schedule`` is a list of :math:`(\mu_k, \sigma_k)` (:func:`penalty_schedule`); ``x0`` starts ``z``
    (:math:`A^*y` by default). Returns ``(z, history)``; with ``x_true`` the history holds the PSNR of
    every iterate (for teaching; data range 1). ``callback(k, z)`` returning True stops.
    """
    from .metrics import psnr

    _check(A, y, denoiser, schedule, x0, "hqs")
    z = A.A_adjoint(y).real if x0 is None else x0
    history = History()
    for k, (mu, sigma) in enumerate(schedule):
        x = data_step(A, y, z, mu)
        z = denoiser(x, sigma)
        _log(history, z, x_true, psnr)
        if callback is not None and callback(k, z) is True:
            break
    return z, history


def admm(A: LinearOperator, y: torch.Tensor, denoiser, schedule, x0=None, x_true=None, callback=None):
    r"""Plug-and-play ADMM: ``x = data_step(A, y, z - u, mu_k)``, ``z = denoiser(x + u, sigma_k)``, ``u += x - z``.

    As :func:`hqs`, with the scaled dual variable :math:`u` accumulating the splitting residual
    :math:`x - z`, so that the data term and the prior agree at convergence (for a fixed penalty).
    """
    from .metrics import psnr

    _check(A, y, denoiser, schedule, x0, "admm")
    z = A.A_adjoint(y).real if x0 is None else x0
    u, history = torch.zeros_like(z), History()
    for k, (mu, sigma) in enumerate(schedule):
        x = data_step(A, y, z - u, mu)
        z = denoiser(x + u, sigma)
        u = u + x - z
        _log(history, z, x_true, psnr)
        if callback is not None and callback(k, z) is True:
            break
    return z, history


def wavelet_denoiser(W, factor: float = 1.0):
    """``denoiser(v, sigma)``: soft-thresholding of ``W``'s details at ``factor * sigma`` (see
    :mod:`course_lib.lifting`)."""
    from .lifting import WaveletTransform, wavelet_denoise

    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; wavelet_denoiser expects a course_lib.lifting.WaveletTransform")
    factor = check_number(factor, "factor", "wavelet_denoiser", strict=True)
    return lambda v, sigma: wavelet_denoise(v, W, factor * check_number(sigma, "sigma", "wavelet_denoiser's denoiser"))


def tv_denoiser(factor: float = 1.0):
    """``denoiser(v, sigma)``: scikit-image's TV denoising (Chambolle's algorithm, isotropic TV) with weight
    ``factor * sigma``, image by image: ``v`` is ``(..., H, W)``, every leading axis a batch axis."""
    from skimage.restoration import denoise_tv_chambolle

    factor = check_number(factor, "factor", "tv_denoiser", strict=True)

    def denoise(v, sigma):
        check_tensor(v, "v", "tv_denoiser", allow_complex=False)
        if v.ndim < 2:
            raise ValueError(f"v has shape {tuple(v.shape)}; tv_denoiser expects images (..., H, W)")
        sigma = check_number(sigma, "sigma", "tv_denoiser's denoiser")
        images = v.detach().cpu().double().reshape(-1, *v.shape[-2:]).numpy()
        out = [denoise_tv_chambolle(image, weight=factor * sigma) for image in images]
        return torch.as_tensor(np.stack(out), dtype=v.dtype, device=v.device).reshape(v.shape)

    return denoise


def tv_deblur(A: LinearOperator, y: torch.Tensor, lam: float, n_iter: int = 3000, tol: float = 1e-7, x0=None,
              ratio: float = 30.0):
    r"""TV-regularised least squares :math:`\min_x \tfrac12\|Ax - y\|^2 + \lambda\,\mathrm{TV}(x)` for images, solved
    by Chambolle & Pock's primal-dual algorithm (J. Math. Imaging Vis. 2011) with the TV of
    :class:`~course_lib.functionals.TotalVariation` (isotropic, Neumann boundary):

    .. math::
        p \leftarrow \Pi_{\|p_i\| \le \lambda}(p + s\,D\bar x),\quad
        x^+ = (A^*A + \tfrac1\tau I)^{-1}(A^*y + \tfrac1\tau(x - \tau D^\top p)),\quad \bar x = 2x^+ - x,

    with :math:`\tau s\|D\|^2 \le 1` (:math:`\|D\|^2 \le 8`, :math:`\tau/s` = ``ratio``), the quadratic step by
    :func:`data_step` (exact for a circular blur). No inner solver, so it is cheap to run to convergence: it stops
    when the objective has changed by less than ``tol`` (relative) over the last 50 iterations, or after ``n_iter``.
    Returns ``(x, history)``: ``history.objective`` every 10 iterations, ``history.converged``."""
    from .functionals import gradient, gradient_adjoint, magnitude, total_variation

    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; tv_deblur expects a course_lib LinearOperator")
    check_tensor(y, "y", f"tv_deblur with {A!r}", A.out_shape, finite=True)
    if len(A.in_shape) != 2:
        raise ValueError(f"A acts on shape {A.in_shape}; tv_deblur expects an operator on images (H, W)")
    lam = check_number(lam, "lam", "tv_deblur", strict=True)
    n_iter = check_int(n_iter, "n_iter", "tv_deblur")
    tol = check_number(tol, "tol", "tv_deblur")
    ratio = check_number(ratio, "ratio", "tv_deblur", strict=True)
    if x0 is not None:
        check_tensor(x0, "x0", f"tv_deblur with {A!r}", A.in_shape, finite=True)
    tau, s = math.sqrt(ratio / 8), 1 / math.sqrt(8 * ratio)
    x = A.A_adjoint(y).real if x0 is None else x0.clone()
    x_bar, p = x, torch.zeros((2, *x.shape), dtype=x.dtype, device=x.device)

    def objective(v):
        return (0.5 * (A(v) - y).abs().square().sum() + lam * total_variation(v, 2).sum()).item()

    symbol = _fourier_symbol(A, x)                   # a circular blur: the quadratic step is a division, once set up
    if symbol is not None:
        numerator, denominator = tau * symbol.conj() * torch.fft.fft2(y), tau * symbol.abs() ** 2 + 1

    def quadratic_step(v):
        if symbol is None:
            return data_step(A, y, v, 1 / tau)
        return torch.fft.ifft2((numerator + torch.fft.fft2(v)) / denominator).real

    history = History(converged=False)
    for k in range(1, n_iter + 1):
        p = p + s * gradient(x_bar, 2)
        p = p / (magnitude(p) / lam).clamp_min(1.0)
        x_new = quadratic_step(x - tau * gradient_adjoint(p, 2))
        x_bar, x = 2 * x_new - x, x_new
        if k % 10 == 0:
            history.log(objective=objective(x), iteration=k)
            if k >= 60 and abs(history.objective[-6] - history.objective[-1]) <= tol * abs(history.objective[-1]):
                history.converged = True
                break
    return x, history
