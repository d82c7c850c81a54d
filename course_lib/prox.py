r"""Proximal maps :math:`\mathrm{prox}_{\lambda g}(v) = \arg\min_x \tfrac12\|x - v\|^2 + \lambda g(x)`.

Each function works entrywise on tensors of any shape; thresholds may be floats or tensors
that broadcast against ``x``. dtype and device follow ``x``.
"""
from __future__ import annotations

import torch

from .utils import check_tensor

__all__ = ["soft_threshold", "soft_threshold_nonnegative", "project_nonnegative", "project_box",
           "prox_squared_l2", "singular_value_threshold"]


def _check_threshold(lam, name: str, owner: str):
    if isinstance(lam, torch.Tensor):
        if lam.is_complex():
            raise TypeError(f"{name} is complex; {owner} expects a real threshold")
        if bool((lam < 0).any()):
            raise ValueError(f"{name} has negative entries; {owner} expects {name} >= 0")
    elif not isinstance(lam, (int, float)) or isinstance(lam, bool):
        raise TypeError(f"{name} is a {type(lam).__name__}; {owner} expects a number or a tensor")
    elif lam < 0:
        raise ValueError(f"{name} = {lam}; {owner} expects {name} >= 0")


def soft_threshold(x: torch.Tensor, lam) -> torch.Tensor:
    r"""Soft-thresholding :math:`S_\lambda(x) = \mathrm{sign}(x)\max(|x| - \lambda, 0)`, the prox of
    :math:`\lambda\|\cdot\|_1`.

    Entries with :math:`|x_i| \le \lambda` become 0, the others move towards 0 by
    :math:`\lambda`. For real ``x`` it is computed as :math:`x - \mathrm{clip}(x, -\lambda, \lambda)`;
    for complex ``x`` the modulus is shrunk and the phase kept.

    Examples
    --------
    >>> soft_threshold(torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0]), 1.0)
    tensor([-1., -0., 0., 0., 1.])
    """
    check_tensor(x, "x", "soft_threshold")
    _check_threshold(lam, "lam", "soft_threshold")
    if x.is_complex():
        return torch.sgn(x) * torch.clamp(x.abs() - lam, min=0)
    if isinstance(lam, torch.Tensor):
        lam = lam.to(x)
    return x - torch.clamp(x, -lam, lam)


def soft_threshold_nonnegative(x: torch.Tensor, lam) -> torch.Tensor:
    r"""Prox of :math:`\lambda\|x\|_1 + \iota_{x \ge 0}`: :math:`\max(x - \lambda, 0) = \mathrm{ReLU}(x - \lambda)`."""
    check_tensor(x, "x", "soft_threshold_nonnegative", allow_complex=False)
    _check_threshold(lam, "lam", "soft_threshold_nonnegative")
    return torch.relu(x - lam)


def project_nonnegative(x: torch.Tensor) -> torch.Tensor:
    r"""Projection onto :math:`\{x \ge 0\}` (the prox of its indicator): :math:`\max(x, 0)`."""
    check_tensor(x, "x", "project_nonnegative", allow_complex=False)
    return torch.clamp(x, min=0)


def project_box(x: torch.Tensor, lower=0.0, upper=1.0) -> torch.Tensor:
    r"""Projection onto the box :math:`\{\ell \le x \le u\}`: :math:`\min(\max(x, \ell), u)`."""
    check_tensor(x, "x", "project_box", allow_complex=False)
    lo = torch.as_tensor(lower, dtype=x.dtype, device=x.device)
    hi = torch.as_tensor(upper, dtype=x.dtype, device=x.device)
    if bool((lo > hi).any()):
        raise ValueError(f"project_box expects lower <= upper; got lower={lower}, upper={upper}")
    return torch.minimum(torch.maximum(x, lo), hi)


def prox_squared_l2(x: torch.Tensor, lam) -> torch.Tensor:
    r"""Prox of :math:`\tfrac{\lambda}{2}\|x\|^2`: :math:`x / (1 + \lambda)` (Tikhonov's shrinkage)."""
    check_tensor(x, "x", "prox_squared_l2")
    _check_threshold(lam, "lam", "prox_squared_l2")
    return x / (1 + lam)


def singular_value_threshold(M: torch.Tensor, lam) -> torch.Tensor:
    r"""Singular value thresholding :math:`\mathrm{SVT}_\lambda(M) = U\,S_\lambda(\Sigma)\,V^\top`, the prox of
    :math:`\lambda\|M\|_*`.

    Acts on the last two dimensions (a batch of matrices is fine). The nuclear norm is the
    convex surrogate of the rank: SVT is to low rank what soft-thresholding is to sparsity.
    """
    check_tensor(M, "M", "singular_value_threshold", allow_complex=False)
    if M.ndim < 2:
        raise ValueError(f"M has shape {tuple(M.shape)}; singular_value_threshold expects (..., rows, cols)")
    if isinstance(lam, torch.Tensor):
        lam = lam.clamp(min=0)
    else:
        _check_threshold(lam, "lam", "singular_value_threshold")
    U, s, Vh = torch.linalg.svd(M, full_matrices=False)
    if isinstance(lam, torch.Tensor):
        lam = lam.to(s)[..., None] if lam.ndim else lam.to(s)
    return (U * torch.clamp(s - lam, min=0).unsqueeze(-2)) @ Vh
