r"""Regularisers as objects: a value :math:`g(x)` and a proximal map :math:`\mathrm{prox}_{tg}(v)`.

The common thread of the course is :math:`\hat x = \arg\min_x \tfrac12\|Ax - y\|^2 + g(x)`. A
proximal-gradient method needs two things of :math:`g`: its value (for the objective) and

.. math:: \mathrm{prox}_{tg}(v) = \arg\min_x \tfrac12\|x - v\|^2 + t\,g(x).

Each :class:`Functional` here has both, as SCICO's ``Functional`` and deepinv's priors do, so a
solver (:func:`~course_lib.solvers.ista`, :func:`~course_lib.solvers.fista`), an unfolded network
or the analytic deep prior takes *any* of them, and a new prior is one new class:

* :class:`L1`: :math:`\lambda\|x\|_1`, prox = soft-thresholding;
* :class:`NonnegativeL1`: :math:`\lambda\|x\|_1 + \iota_{x\ge 0}`, prox = :math:`\mathrm{ReLU}(v - t\lambda)`;
* :class:`SquaredL2`: :math:`\tfrac\lambda2\|x\|^2` (Tikhonov), prox = :math:`v/(1 + t\lambda)`;
* :class:`Box`: the indicator of :math:`\{\ell \le x \le u\}`, prox = projection;
* :class:`TotalVariation`: :math:`\lambda\sum_i\|(Dx)_i\|_2` (isotropic, 1-D or 2-D). It has no closed-form
  prox: the prox is computed by an inner solver (fast projected gradient on the dual, Beck &
  Teboulle 2009) that reports how accurately it ended.

Scaling a functional scales its weight: ``0.01 * L1()`` is ``L1(0.01)``. Values are summed over
every entry of the tensor (a batch sums); solvers divide by the batch size.
"""
from __future__ import annotations

import copy
import math

import torch

from .prox import project_box, prox_squared_l2, soft_threshold, soft_threshold_nonnegative
from .utils import check_int, check_number, check_tensor

__all__ = ["Functional", "L1", "NonnegativeL1", "SquaredL2", "Box", "TotalVariation", "as_functional", "differences",
           "gradient", "gradient_adjoint", "total_variation"]


class Functional:
    r"""A regulariser :math:`g = \lambda R` with ``weight`` :math:`\lambda`: ``g(x)`` its value, ``g.prox(v, t)`` its
    prox.

    Subclasses implement ``_value(x)`` (of :math:`R`) and ``_prox(v, s)`` (:math:`\mathrm{prox}_{sR}`); the
    weight is applied here, so ``prox(v, t)`` is :math:`\mathrm{prox}_{sR}(v)` with :math:`s = t\lambda`.
    ``t`` may be a float or a tensor (a learned step, or a differentiable :math:`\alpha`).
    """

    def __init__(self, weight: float = 1.0):
        self.weight = check_number(weight, "weight", type(self).__name__)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The value :math:`g(x) = \\lambda R(x)`, summed over all entries (a 0-dim tensor)."""
        check_tensor(x, "x", self)
        value = self._value(x)
        return value if bool(torch.isinf(value)) else self.weight * value      # an indicator's ∞ stays ∞ (0·∞)

    def prox(self, v: torch.Tensor, t=1.0) -> torch.Tensor:
        r""":math:`\mathrm{prox}_{tg}(v) = \arg\min_x \tfrac12\|x - v\|^2 + t\,g(x)`, entrywise on any shape."""
        check_tensor(v, "v", f"{self!r}.prox")
        if isinstance(t, torch.Tensor):
            if not bool((t >= 0).all()):              # also catches NaN
                raise ValueError(f"t holds {t.detach().flatten()[:4].tolist()}...; {self!r}.prox expects steps >= 0")
            return self._prox(v, t * self.weight)
        return self._prox(v, check_number(t, "t", f"{self!r}.prox") * self.weight)

    def _value(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prox(self, v, s):  # pragma: no cover - abstract
        raise NotImplementedError

    def __mul__(self, scalar):
        scaled = copy.copy(self)
        scaled.weight = self.weight * check_number(scalar, "scalar", f"{type(self).__name__} scaling")
        return scaled

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.weight:g})"


class L1(Functional):
    r""":math:`\lambda\|x\|_1`; its prox is soft-thresholding :math:`S_{t\lambda}(v)` (complex: the modulus shrinks)."""

    def _value(self, x):
        return x.abs().sum()

    def _prox(self, v, s):
        return soft_threshold(v, s)


class NonnegativeL1(Functional):
    r""":math:`\lambda\|x\|_1 + \iota_{\{x \ge 0\}}`; its prox is :math:`\mathrm{ReLU}(v - t\lambda)` (emitters are
    bright)."""

    def _value(self, x):
        return x.sum() if bool((x >= 0).all()) else x.new_tensor(math.inf)

    def _prox(self, v, s):
        return soft_threshold_nonnegative(v, s)


class SquaredL2(Functional):
    r""":math:`\tfrac\lambda2\|x\|^2` (Tikhonov); its prox is the shrinkage :math:`v / (1 + t\lambda)`."""

    def _value(self, x):
        return 0.5 * (x.abs() ** 2).sum()

    def _prox(self, v, s):
        return prox_squared_l2(v, s)


class Box(Functional):
    r"""The indicator of the box :math:`\{\ell \le x \le u\}` (0 inside, :math:`\infty` outside); its prox is the
    projection."""

    def __init__(self, lower: float = 0.0, upper: float = 1.0):
        super().__init__(1.0)
        if not lower <= upper:
            raise ValueError(f"lower is {lower!r} and upper {upper!r}; Box expects lower <= upper")
        self.lower, self.upper = float(lower), float(upper)

    def _value(self, x):
        inside = bool(((x >= self.lower) & (x <= self.upper)).all())
        return x.new_tensor(0.0 if inside else math.inf)

    def _prox(self, v, s):
        return project_box(v, self.lower, self.upper)

    def __repr__(self):
        return f"Box({self.lower:g}, {self.upper:g})"


def differences(x: torch.Tensor, ndim: int) -> list:
    """Forward differences along each of the last ``ndim`` axes (no wrap-around; one entry shorter along that axis)."""
    return [torch.diff(x, dim=-axis) for axis in range(1, ndim + 1)]


def gradient(x: torch.Tensor, ndim: int) -> torch.Tensor:
    r"""The discrete gradient :math:`Dx`, shape ``(ndim, *x.shape)``: forward differences along each of the last
    ``ndim`` axes, 0 at the far edge (Neumann boundary, as in Chambolle 2004 and scikit-image)."""
    parts = []
    for axis in range(1, ndim + 1):
        edge = torch.zeros_like(x.narrow(-axis, 0, 1))
        parts.append(torch.cat([torch.diff(x, dim=-axis), edge], dim=-axis))
    return torch.stack(parts)


def gradient_adjoint(p: torch.Tensor, ndim: int) -> torch.Tensor:
    r""":math:`D^\top p` (minus the divergence) for ``p`` of shape ``(ndim, ...)``, the adjoint of :func:`gradient`."""
    total = 0
    for axis, part in zip(range(1, ndim + 1), p):
        inner = part.narrow(-axis, 0, part.shape[-axis] - 1)           # the edge entries meet a zero row of D
        zero = torch.zeros_like(part.narrow(-axis, 0, 1))
        total = total + torch.cat([zero, inner], dim=-axis) - torch.cat([inner, zero], dim=-axis)
    return total


def magnitude(g: torch.Tensor) -> torch.Tensor:
    r"""The Euclidean norm over the first axis, :math:`\|g_i\|_2` per pixel for ``g`` of shape ``(ndim, ...)``; its
    gradient at 0 is 0 (a subgradient), not NaN. (``torch.linalg.vector_norm(g, dim=0)`` computes the same, but its
    CPU kernel for a reduction over the first axis is 30-60x slower than this sum of squares.)"""
    squared = (g * g).sum(0)
    if not (g.requires_grad and torch.is_grad_enabled()):
        return squared.sqrt()
    positive = squared > 0
    return torch.where(positive, torch.where(positive, squared, 1.0).sqrt(), 0.0)


def total_variation(x: torch.Tensor, ndim: int) -> torch.Tensor:
    r"""Isotropic total variation :math:`\sum_i \|(Dx)_i\|_2` of each item (the last ``ndim`` axes), shape
    ``x.shape[:-ndim]``: the gradient's magnitude summed over pixels (for signals, :math:`\sum|x_{i+1} - x_i|`)."""
    return magnitude(gradient(x, ndim)).sum(dim=tuple(range(-ndim, 0)))


class TotalVariation(Functional):
    r"""Isotropic total variation :math:`\lambda\,\mathrm{TV}(x) = \lambda\sum_i\|(Dx)_i\|_2` over the last ``ndim``
    axes
    (the gradient's magnitude summed over pixels; for 1-D signals :math:`\lambda\sum|x_{i+1} - x_i|`), with forward
    differences and a Neumann boundary: the definition of Rudin, Osher & Fatemi (1992) and Chambolle (2004), which
    scikit-image's ``denoise_tv_chambolle`` computes. The course has one TV: this functional, the DIP's TV loss
    (:func:`course_lib.dip.tv_loss`, its mean per pixel) and the plug-and-play denoiser
    (:func:`course_lib.pnp.tv_denoiser`, scikit-image's solver of this prox) use this definition.

    Its prox has no closed form; it is computed by an **inner solver**: fast projected gradient on the dual problem
    (Beck & Teboulle, IEEE TIP 2009),

    .. math:: \min_{\|p_i\|_2 \le t\lambda} \tfrac12\|v - D^\top p\|^2,\qquad
              \mathrm{prox}_{tg}(v) = v - D^\top p^\star,

    with step :math:`1/(4\,\mathrm{ndim}) \le 1/\|D\|^2`, for at most ``n_inner`` steps, each item of a batch until
    its iterate :math:`x_k = v - D^\top p_k` is certified within ``tol`` (relative) of the exact prox: the duality gap
    :math:`\sum_i t\lambda\|(Dx_k)_i\| - \langle (Dx_k)_i, p_{k,i}\rangle \ge \tfrac12\|x_k - \mathrm{prox}\|^2` bounds
    the distance. After every prox, :attr:`last_inner` says how it ended (``steps``, the certified relative
    ``error_bound``, ``converged``), and ISTA/FISTA log it in their history (``inner_steps``, ``inner_error``): an
    inexact prox is visible, not silent. For 1-D signals lecture 01 shows the
    other route: write :math:`x = Bz` with :math:`B` the integration operator, so that TV becomes :math:`\ell_1` of
    the jumps :math:`z` and the solver runs on :math:`A B` with :class:`L1`, whose prox is exact.
    """

    def __init__(self, weight: float = 1.0, ndim: int = 1, n_inner: int = 100, tol: float = 1e-4):
        super().__init__(weight)
        self.ndim = check_int(ndim, "ndim", "TotalVariation")
        if self.ndim not in (1, 2):
            raise ValueError(f"ndim is {ndim}; TotalVariation expects 1 (signals) or 2 (images)")
        self.n_inner = check_int(n_inner, "n_inner", "TotalVariation")
        self.tol = check_number(tol, "tol", "TotalVariation")
        self.last_inner = None

    def _value(self, x):
        if x.ndim < self.ndim:
            raise ValueError(f"x has shape {tuple(x.shape)}; {self!r} expects at least {self.ndim} axes")
        return total_variation(x, self.ndim).sum()

    def _prox(self, v, s):
        if v.is_complex():
            raise TypeError("v is complex; TotalVariation.prox expects a real tensor")
        if v.ndim < self.ndim:
            raise ValueError(f"v has shape {tuple(v.shape)}; {self!r}.prox expects at least {self.ndim} axes")
        axes = tuple(range(-self.ndim, 0))
        step, tiny = 1.0 / (4 * self.ndim), torch.finfo(v.dtype).tiny
        p = torch.zeros((self.ndim, *v.shape), dtype=v.dtype, device=v.device)
        q, t_k, x = p, 1.0, v
        active = torch.ones(v.shape[: v.ndim - self.ndim], dtype=torch.bool, device=v.device)
        bound, steps = torch.full(active.shape, math.inf, dtype=v.dtype, device=v.device), 0
        while steps < self.n_inner:
            steps += 1
            p_new = q + step * gradient(v - gradient_adjoint(q, self.ndim), self.ndim)
            norm = magnitude(p_new).clamp(min=tiny)
            p_new = p_new * torch.clamp(s / norm, max=1.0)       # onto the balls ||p_i|| <= s
            t_next = (1 + math.sqrt(1 + 4 * t_k * t_k)) / 2
            q_new = p_new + (t_k - 1) / t_next * (p_new - p)
            x_new = v - gradient_adjoint(p_new, self.ndim)
            # the duality gap sum_i s||(Dx)_i|| - <(Dx)_i, p_i> >= 1/2 ||x - prox||^2 certifies the distance to the prox
            Dx = gradient(x_new, self.ndim)
            gap = (s * magnitude(Dx) - (Dx * p_new).sum(0)).sum(dim=axes).clamp(min=0)
            new_bound = (2 * gap).sqrt() / (x_new * x_new).sum(dim=axes).sqrt().clamp(min=tiny)
            bound = torch.where(active, new_bound, bound)
            if bool(active.all()):
                p, q, x = p_new, q_new, x_new
            else:                                                           # a converged item stays where it stopped
                keep = active.reshape(*active.shape, *([1] * self.ndim))
                p, q, x = torch.where(keep, p_new, p), torch.where(keep, q_new, q), torch.where(keep, x_new, x)
            t_k = t_next
            active = active & (bound > self.tol)
            if not bool(active.any()):
                break
        self.last_inner = {"steps": steps, "error_bound": float(bound.max()) if bound.numel() else 0.0,
                           "converged": not bool(active.any())}
        return x

    def __repr__(self):
        return f"TotalVariation({self.weight:g}, ndim={self.ndim})"


def as_functional(regulariser, owner: str) -> Functional:
    """A :class:`Functional` as it is; a number λ as ``L1(λ)`` (the LASSO of the lectures)."""
    if isinstance(regulariser, Functional):
        return regulariser
    if isinstance(regulariser, (int, float)) and not isinstance(regulariser, bool):
        return L1(check_number(regulariser, "lam", owner))
    raise TypeError(f"the regulariser is a {type(regulariser).__name__}; {owner} expects a course_lib Functional "
                    "(L1(lam), NonnegativeL1(lam), SquaredL2(alpha), Box(), TotalVariation(lam)) or a number lam "
                    "for lam * ||x||_1")
