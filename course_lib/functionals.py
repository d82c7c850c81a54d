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
* :class:`TotalVariation`: :math:`\lambda\|Dx\|_1` (anisotropic, 1-D or 2-D). It has no closed-form
  prox: the prox is computed by an inner solver (fast projected gradient on the dual, Beck &
  Teboulle 2009).

Scaling a functional scales its weight: ``0.01 * L1()`` is ``L1(0.01)``. Values are summed over
every entry of the tensor (a batch sums); solvers divide by the batch size.
"""
from __future__ import annotations

import copy
import math

import torch

from .prox import project_box, prox_squared_l2, soft_threshold, soft_threshold_nonnegative
from .utils import check_int, check_number, check_tensor

__all__ = ["Functional", "L1", "NonnegativeL1", "SquaredL2", "Box", "TotalVariation", "as_functional", "differences"]


class Functional:
    r"""A regulariser :math:`g = \lambda R` with ``weight`` :math:`\lambda`: ``g(x)`` its value, ``g.prox(v, t)`` its prox.

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
    r""":math:`\lambda\|x\|_1 + \iota_{\{x \ge 0\}}`; its prox is :math:`\mathrm{ReLU}(v - t\lambda)` (emitters are bright)."""

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
    r"""The indicator of the box :math:`\{\ell \le x \le u\}` (0 inside, :math:`\infty` outside); its prox is the projection."""

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
    """Forward differences along each of the last ``ndim`` axes (no wrap-around)."""
    return [torch.diff(x, dim=-axis) for axis in range(1, ndim + 1)]


def _differences_adjoint(parts: list, ndim: int) -> torch.Tensor:
    r""":math:`D^\top p`: for each axis, :math:`(D^\top p)_j = p_{j-1} - p_j` with :math:`p_{-1} = p_{n-1} = 0`."""
    total = 0
    for axis, p in zip(range(1, ndim + 1), parts):
        zero = torch.zeros_like(p.narrow(-axis, 0, 1))
        total = total + torch.cat([zero, p], dim=-axis) - torch.cat([p, zero], dim=-axis)
    return total


class TotalVariation(Functional):
    r"""Anisotropic total variation :math:`\lambda\|Dx\|_1 = \lambda\sum|x_{i+1} - x_i|` over the last ``ndim`` axes.

    Its prox has no closed form; it is computed by an **inner solver**: ``n_inner`` steps of fast
    projected gradient on the dual problem (Beck & Teboulle, IEEE TIP 2009),

    .. math:: \min_{\|p\|_\infty \le t\lambda} \tfrac12\|v - D^\top p\|^2,\qquad
              \mathrm{prox}_{tg}(v) = v - D^\top p^\star,

    with step :math:`1/\|D\|^2 \ge 1/(4\,\mathrm{ndim})`. More inner steps, a more exact prox. For
    1-D signals lecture 01 shows the other route: write :math:`x = Bz` with :math:`B` the
    integration operator, so that TV becomes :math:`\ell_1` of the jumps :math:`z` and the solver runs
    on :math:`A B` with :class:`L1`, whose prox is exact.
    """

    def __init__(self, weight: float = 1.0, ndim: int = 1, n_inner: int = 100):
        super().__init__(weight)
        self.ndim = check_int(ndim, "ndim", "TotalVariation")
        if self.ndim not in (1, 2):
            raise ValueError(f"ndim is {ndim}; TotalVariation expects 1 (signals) or 2 (images)")
        self.n_inner = check_int(n_inner, "n_inner", "TotalVariation")

    def _value(self, x):
        return sum(d.abs().sum() for d in differences(x, self.ndim))

    def _prox(self, v, s):
        if v.is_complex():
            raise TypeError("v is complex; TotalVariation.prox expects a real tensor")
        step = 1.0 / (4 * self.ndim)
        p = [torch.zeros_like(d) for d in differences(v, self.ndim)]
        q, t_k = p, 1.0
        for _ in range(self.n_inner):
            x = v - _differences_adjoint(q, self.ndim)
            p_new = [torch.clamp(qi + step * di, -s, s) for qi, di in zip(q, differences(x, self.ndim))]
            t_next = (1 + math.sqrt(1 + 4 * t_k * t_k)) / 2
            q = [pn + (t_k - 1) / t_next * (pn - po) for pn, po in zip(p_new, p)]
            p, t_k = p_new, t_next
        return v - _differences_adjoint(p, self.ndim)

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
