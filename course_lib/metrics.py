"""Quality measures: MSE, PSNR, NMSE in dB, relative error, and measured convergence rates.

All measures are computed over every entry of the tensors given (a whole batch at once), the
convention of the sparse-coding literature for NMSE: :math:`\\sum\\|x - x^\\dagger\\|^2 / \\sum\\|x^\\dagger\\|^2`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .utils import check_tensor

__all__ = ["mse", "psnr", "ssim", "nmse_db", "nmse_db_curve", "relative_error", "convergence_rate"]


def _pair(x, ref, owner):
    check_tensor(x, "x", owner)
    check_tensor(ref, "ref", owner)
    if x.shape != ref.shape:
        raise ValueError(f"x has shape {tuple(x.shape)} and ref has shape {tuple(ref.shape)}; "
                         f"{owner} expects equal shapes")
    return x, ref.to(x)


def _sq(t):
    return (t.abs() ** 2).sum().item()


def mse(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean squared error :math:`\\frac1N\\sum_i |x_i - r_i|^2`."""
    x, ref = _pair(x, ref, "mse")
    return _sq(x - ref) / x.numel()


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio :math:`10\\log_{10}(R^2/\\mathrm{MSE})` in dB (R = ``data_range``)."""
    if not data_range > 0:
        raise ValueError(f"data_range is {data_range}; psnr expects a positive peak value")
    err = mse(x, ref)
    return math.inf if err == 0 else 10 * math.log10(data_range ** 2 / err)


def ssim(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> float:
    """Structural similarity of two images ``(H, W)`` (scikit-image's, Gaussian-free 7x7 windows); 1 is identical."""
    from skimage.metrics import structural_similarity

    x, ref = _pair(x, ref, "ssim")
    if x.ndim != 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; ssim expects one image (H, W)")
    return float(structural_similarity(x.detach().cpu().double().numpy(), ref.detach().cpu().double().numpy(),
                                       data_range=data_range))


def nmse_db(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Normalised MSE in dB, :math:`10\\log_{10}(\\|x - r\\|^2/\\|r\\|^2)`; -40 dB is a 1% error."""
    x, ref = _pair(x, ref, "nmse_db")
    energy = _sq(ref)
    if energy == 0:
        raise ValueError("ref is all zeros; the normalised MSE is undefined")
    err = _sq(x - ref)
    return -math.inf if err == 0 else 10 * math.log10(err / energy)


def nmse_db_curve(history) -> list:
    r"""NMSE in dB of iterates 1, 2, ... from a solver's history (run with ``x_true``): :math:`20\log_{10}` of
    ``history.error[k]``, the relative error, for k >= 1 (the start :math:`x_0 = 0` is left out, as a
    network's input layer is by :func:`course_lib.unfolding.layer_nmse_db`)."""
    return [20 * math.log10(e) if e > 0 else -math.inf for e in history.error[1:]]


def relative_error(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Relative error :math:`\\|x - r\\| / \\|r\\|`."""
    x, ref = _pair(x, ref, "relative_error")
    return math.sqrt(_sq(x - ref) / max(_sq(ref), 1e-300))


def convergence_rate(values, start: int = 1, stop: int | None = None) -> float:
    """Measured rate p of a sequence decaying like :math:`C k^{-p}`: minus the slope in log-log.

    ``values[k]`` is the quantity at iteration k (e.g. the objective gap :math:`F(x_k) - F^*`);
    the fit uses iterations ``start .. stop-1`` where the values are positive. ISTA's gap gives
    p close to 1 (or faster once it enters a linear regime), FISTA's close to 2.
    """
    v = np.asarray(values, dtype=float)
    k = np.arange(len(v))
    sel = slice(start, stop)
    k, v = k[sel], v[sel]
    keep = (v > 0) & (k > 0)
    if keep.sum() < 2:
        raise ValueError("convergence_rate needs at least two positive values at iterations k >= 1")
    slope = np.polyfit(np.log(k[keep]), np.log(v[keep]), 1)[0]
    return float(-slope)
