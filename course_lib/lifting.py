r"""Wavelets by the lifting scheme (Sweldens 1996): split, predict, update.

A signal is **split** into its even and odd samples; the odd ones are **predicted** from their even
neighbours and replaced by the prediction error (the *details*, small where the signal is smooth);
the even ones are **updated** from the details so that they keep the signal's average (the
*approximation*). Each step is a shear, invertible whatever the predictor and the updater are:

.. math::
    d = o - P(e),\quad s = e + U(d)
    \qquad\Longleftrightarrow\qquad
    e = s - U(d),\quad o = d + P(e).

With fixed linear :math:`P, U` this gives the classical wavelets (:data:`HAAR`, :data:`LEGALL_53`,
the JPEG 2000 lossless wavelet); with small CNNs it gives an invertible network
(Huang & Dragotti, LINN, EUSIPCO 2021; WINNet, IEEE TIP 2022).

Here the fixed wavelets act along the last axis (1-D) or on the rows then the columns (2-D) of a
tensor, over several **levels** (each transforms the approximation of the one before), for any
size: an axis of length n gives :math:`\lceil n/2\rceil` approximation and :math:`\lfloor n/2\rfloor` detail
coefficients, stored in place (approximation first), so the coefficients have the signal's shape.
Boundaries use the whole-sample symmetric extension. :class:`WaveletTransform` is the transform as
a :class:`~course_lib.operators.LinearOperator` (forward ``W(x)``, its adjoint ``W.A_adjoint(c)``,
``W.inverse(c)``), and :meth:`WaveletTransform.synthesis` the operator :math:`c \mapsto W^{-1}c`, so
that ``ista(A @ W.synthesis(), y, lam)`` solves the wavelet :math:`\ell_1` problem of lecture 01.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .operators import LinearOperator
from .utils import check_int, check_number, check_tensor

__all__ = ["Stencil", "LiftingStep", "Wavelet", "HAAR", "LEGALL_53", "WAVELETS", "split", "merge", "lift", "unlift",
           "max_levels", "WaveletTransform", "detail_mask", "universal_threshold", "keep_largest", "wavelet_denoise",
           "subbands", "subband_noise_levels", "subband_thresholds", "subband_denoise", "LiftingNetwork"]


class Stencil:
    r"""A linear filter from one phase of a signal to the other: :math:`(Pv)_i = \sum_t c_t\,v_{i + o_t}`.

    Indices outside ``v`` are clamped to its ends (the whole-sample symmetric extension of the
    signal, seen from one phase). ``offsets`` and ``coefficients`` are the taps; :meth:`apply` and
    its adjoint :meth:`transpose` act along the last axis.
    """

    def __init__(self, offsets, coefficients):
        self.offsets, self.coefficients = tuple(int(o) for o in offsets), tuple(float(c) for c in coefficients)
        if len(self.offsets) != len(self.coefficients) or not self.offsets:
            raise ValueError("a Stencil needs as many offsets as coefficients, at least one")

    def _index(self, n_in: int, n_out: int, device) -> torch.Tensor:
        i = torch.arange(n_out, device=device)[:, None] + torch.tensor(self.offsets, device=device)
        return i.clamp(0, n_in - 1)                                     # (n_out, taps)

    def apply(self, v: torch.Tensor, n_out: int) -> torch.Tensor:
        """The filter's output at ``n_out`` positions, from ``v`` along the last axis."""
        index = self._index(v.shape[-1], n_out, v.device)
        return sum(c * v[..., index[:, t]] for t, c in enumerate(self.coefficients))

    def transpose(self, w: torch.Tensor, n_in: int) -> torch.Tensor:
        """The adjoint: what each input position receives from ``w`` (a scatter of the taps)."""
        index = self._index(n_in, w.shape[-1], w.device)
        out = w.new_zeros((*w.shape[:-1], n_in))
        for t, c in enumerate(self.coefficients):
            out = out.index_add(-1, index[:, t], c * w)
        return out

    def __repr__(self):
        return f"Stencil(offsets={self.offsets}, coefficients={self.coefficients})"


@dataclass(frozen=True)
class LiftingStep:
    """``kind`` "predict": odd += weight * P(even); "update": even += weight * U(odd) (forward direction)."""

    kind: str
    stencil: Stencil
    weight: float = 1.0


@dataclass(frozen=True)
class Wavelet:
    """A wavelet as lifting steps, then a scaling of the approximation (``scale_even``) and details (``scale_odd``)."""

    name: str
    steps: tuple
    scale_even: float = 1.0
    scale_odd: float = 1.0


#: Haar: d = o - e, s = e + d/2 (the pair's mean), scaled to be orthonormal: s = (e + o)/√2, d = (o - e)/√2.
HAAR = Wavelet("haar", (LiftingStep("predict", Stencil([0], [1.0]), -1.0),
                        LiftingStep("update", Stencil([0], [0.5]))), math.sqrt(2), 1 / math.sqrt(2))
#: LeGall 5/3 (JPEG 2000 lossless): d_i = o_i - (e_i + e_{i+1})/2, s_i = e_i + (d_{i-1} + d_i)/4; scaled by √2, 1/√2.
LEGALL_53 = Wavelet("legall53", (LiftingStep("predict", Stencil([0, 1], [0.5, 0.5]), -1.0),
                                 LiftingStep("update", Stencil([-1, 0], [0.25, 0.25]))), math.sqrt(2), 1 / math.sqrt(2))
WAVELETS = {w.name: w for w in (HAAR, LEGALL_53)}


def as_wavelet(wavelet, owner: str) -> Wavelet:
    """A :class:`Wavelet` as it is, or one of :data:`WAVELETS` by name (``"haar"``, ``"legall53"``)."""
    if isinstance(wavelet, Wavelet):
        return wavelet
    if isinstance(wavelet, str) and wavelet in WAVELETS:
        return WAVELETS[wavelet]
    raise (ValueError if isinstance(wavelet, str) else TypeError)(
        f"wavelet is {wavelet!r}; {owner} expects a Wavelet (HAAR, LEGALL_53) or one of the names {sorted(WAVELETS)}")


def split(x: torch.Tensor) -> tuple:
    """The even and odd samples of ``x`` along the last axis (``ceil(n/2)`` and ``floor(n/2)`` of them)."""
    return x[..., 0::2], x[..., 1::2]


def merge(even: torch.Tensor, odd: torch.Tensor) -> torch.Tensor:
    """Interleave even and odd samples back into one signal: the inverse of :func:`split`."""
    out = even.new_empty((*even.shape[:-1], even.shape[-1] + odd.shape[-1]))
    out[..., 0::2], out[..., 1::2] = even, odd
    return out


def _lifting_chain(even, odd, wavelet: Wavelet, transpose: bool, invert: bool):
    """Run the wavelet's elementary maps on the pair (even, odd), forward or inverted, or their adjoints."""
    steps = list(wavelet.steps)
    scale = (wavelet.scale_even, wavelet.scale_odd)
    if invert:
        scale = (1 / scale[0], 1 / scale[1])
    if invert != transpose:                    # the inverse and the adjoint run the chain backwards, scaling first
        even, odd = even * scale[0], odd * scale[1]
        steps = steps[::-1]
    sign = -1.0 if invert else 1.0
    for step in steps:
        c = sign * step.weight
        if step.kind == "predict":             # odd += c P(even); its adjoint: even += c P^T(odd)
            if transpose:
                even = even + c * step.stencil.transpose(odd, even.shape[-1])
            else:
                odd = odd + c * step.stencil.apply(even, odd.shape[-1])
        else:                                  # even += c U(odd); its adjoint: odd += c U^T(even)
            if transpose:
                odd = odd + c * step.stencil.transpose(even, odd.shape[-1])
            else:
                even = even + c * step.stencil.apply(odd, even.shape[-1])
    if invert == transpose:
        even, odd = even * scale[0], odd * scale[1]
    return even, odd


def lift(x: torch.Tensor, wavelet: Wavelet = HAAR) -> torch.Tensor:
    """One level along the last axis of ``(..., n)``: split, predict, update, scale; returns ``[approximation,
    details]`` concatenated. ``wavelet``: a :class:`Wavelet` or its name."""
    check_tensor(x, "x", "lift", allow_complex=False)
    if x.ndim == 0 or x.shape[-1] < 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; lift expects signals (..., n) with n >= 2")
    return _axis_map(x, as_wavelet(wavelet, "lift"), transpose=False, invert=False)


def unlift(c: torch.Tensor, wavelet: Wavelet = HAAR) -> torch.Tensor:
    """The inverse of :func:`lift`: undo the scaling, the update and the prediction (in that order), then merge."""
    check_tensor(c, "c", "unlift", allow_complex=False)
    if c.ndim == 0 or c.shape[-1] < 2:
        raise ValueError(f"c has shape {tuple(c.shape)}; unlift expects coefficients (..., n) with n >= 2")
    return _axis_map(c, as_wavelet(wavelet, "unlift"), transpose=False, invert=True)


def _axis_map(x, wavelet, transpose: bool, invert: bool):
    """One level along the last axis: the forward map, its inverse, its adjoint, or the adjoint's inverse."""
    n = x.shape[-1]
    if invert == transpose:                    # forward, or the adjoint's inverse: from samples to coefficients
        even, odd = split(x)
    else:
        even, odd = x[..., : (n + 1) // 2], x[..., (n + 1) // 2:]
    even, odd = _lifting_chain(even, odd, wavelet, transpose, invert)
    return torch.cat([even, odd], dim=-1) if invert == transpose else merge(even, odd)


def max_levels(shape) -> int:
    """How many levels fit: each halves every axis (rounding up) and needs at least 2 samples along it."""
    levels, sizes = 0, list(shape)
    while all(s >= 2 for s in sizes):
        levels, sizes = levels + 1, [(s + 1) // 2 for s in sizes]
    return levels


class WaveletTransform(LinearOperator):
    r"""The wavelet transform :math:`W` of signals ``(..., n)`` or images ``(..., H, W)`` by lifting, as an operator.

    ``wavelet`` is a :class:`Wavelet` or its name: :data:`HAAR` / "haar" (orthonormal, :math:`W^{-1} = W^*`, when every
    level halves even lengths,
    e.g. powers of two; an odd length's unpaired sample is lifted too, which keeps the transform
    invertible but not orthonormal) or :data:`LEGALL_53` / "legall53" (biorthogonal: the inverse is not the adjoint);
    ``levels`` (default: as many as fit, at most 4) transform the
    approximation again and again. An image's rows are transformed, then its columns, at every
    level. Coefficients are stored in place, approximation first, so they have the signal's shape;
    :func:`detail_mask` tells approximation from details.

    Examples
    --------
    >>> W = WaveletTransform((8,), "haar", levels=1)
    >>> W(torch.tensor([1.0, 1, 2, 2, 3, 3, 4, 4])) * 2 ** -0.5
    tensor([1., 2., 3., 4., 0., 0., 0., 0.])
    """

    def __init__(self, shape, wavelet: Wavelet | str = "haar", levels: int | None = None):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) not in (1, 2):
            raise ValueError(f"shape is {shape}; WaveletTransform expects (n,) for signals or (H, W) for images")
        shape = tuple(check_int(s, "shape", "WaveletTransform") for s in shape)
        wavelet = as_wavelet(wavelet, "WaveletTransform")
        fit = max_levels(shape)
        levels = min(fit, 4) if levels is None else check_int(levels, "levels", "WaveletTransform")
        if not 1 <= levels <= fit:
            raise ValueError(f"levels is {levels}; a signal of shape {shape} allows at most {fit} (each level halves "
                             "every axis, rounding up, and needs at least 2 samples along it)")
        super().__init__(shape, shape)
        self.wavelet, self.levels = wavelet, levels

    def _regions(self) -> list:
        sizes, regions = list(self.in_shape), []
        for _ in range(self.levels):
            regions.append(tuple(sizes))
            sizes = [(s + 1) // 2 for s in sizes]
        return regions

    def _run(self, x: torch.Tensor, transpose: bool, invert: bool) -> torch.Tensor:
        coarse_last = invert != transpose      # the inverse and the adjoint start at the coarsest level
        regions = self._regions()[::-1] if coarse_last else self._regions()
        axes = [-1, -2][: len(self.in_shape)]  # rows (the last axis), then columns
        axes = axes[::-1] if coarse_last else axes
        x = x.clone()
        for region in regions:
            block = x[(..., *[slice(0, s) for s in region])]
            for axis in axes:
                block = _axis_map(block.transpose(axis, -1), self.wavelet, transpose, invert).transpose(axis, -1)
            x[(..., *[slice(0, s) for s in region])] = block
        return x

    def _forward(self, x):
        return self._run(x, transpose=False, invert=False)

    def _adjoint(self, c):
        return self._run(c, transpose=True, invert=False)

    def inverse(self, c: torch.Tensor) -> torch.Tensor:
        """The signal from its coefficients, :math:`W^{-1}c` (perfect reconstruction)."""
        check_tensor(c, "c", f"{self!r}.inverse", self.out_shape)
        return self._run(c, transpose=False, invert=True)

    def synthesis(self) -> LinearOperator:
        r"""The operator :math:`c \mapsto W^{-1}c` with its adjoint :math:`(W^{-1})^* = (W^*)^{-1}`: for a synthesis
        prior
        :math:`x = W^{-1}c`, e.g. ``fista(A @ W.synthesis(), y, lam)``."""
        return _Synthesis(self)

    def __repr__(self):
        return f"WaveletTransform(shape={self.in_shape}, {self.wavelet.name!r}, levels={self.levels})"


class _Synthesis(LinearOperator):
    def __init__(self, transform: WaveletTransform):
        super().__init__(transform.out_shape, transform.in_shape)
        self.transform = transform

    def _forward(self, c):
        return self.transform._run(c, transpose=False, invert=True)

    def _adjoint(self, x):
        return self.transform._run(x, transpose=True, invert=True)

    def __repr__(self):
        return f"{self.transform!r}.synthesis()"


def detail_mask(W: WaveletTransform) -> torch.Tensor:
    """A boolean tensor of the coefficients' shape: True on the details, False on the coarsest approximation."""
    mask = torch.ones(W.in_shape, dtype=torch.bool)
    coarse = [s for s in W.in_shape]
    for _ in range(W.levels):
        coarse = [(s + 1) // 2 for s in coarse]
    mask[tuple(slice(0, s) for s in coarse)] = False
    return mask


def universal_threshold(sigma: float, n: int) -> float:
    r"""Donoho & Johnstone's universal threshold :math:`\sigma\sqrt{2\log n}`: above the largest of n noise
    coefficients."""
    sigma = check_number(sigma, "sigma", "universal_threshold")
    n = check_int(n, "n", "universal_threshold")
    return sigma * math.sqrt(2 * math.log(n))


def keep_largest(c: torch.Tensor, fraction: float, ndim: int = 2) -> torch.Tensor:
    """``c`` with all but the largest ``fraction`` of each item's entries (by magnitude) set to 0: a sparse
    approximation.

    Batch-first: the last ``ndim`` axes are one item (2: an image's coefficients ``(..., H, W)``; 1: a signal's
    ``(..., n)``), and each item keeps its own largest entries (ties at the cut are kept).
    """
    check_tensor(c, "c", "keep_largest", allow_complex=False)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"fraction is {fraction!r}; keep_largest expects a number in (0, 1]")
    ndim = check_int(ndim, "ndim", "keep_largest")
    if c.ndim < ndim:
        raise ValueError(f"c has shape {tuple(c.shape)}; keep_largest(ndim={ndim}) expects at least {ndim} axes, the "
                         "last of them one item")
    items = c.abs().reshape(*c.shape[: c.ndim - ndim], -1)
    k = max(1, round(fraction * items.shape[-1]))
    kth = items.topk(k, dim=-1).values[..., -1:]
    kth = kth.reshape(*kth.shape[:-1], *([1] * ndim))
    return torch.where(c.abs() >= kth, c, torch.zeros_like(c))


def wavelet_denoise(y: torch.Tensor, W: WaveletTransform, threshold: float) -> torch.Tensor:
    r"""Soft-threshold the detail coefficients of ``y`` at ``threshold`` and transform back:
    :math:`\hat x = W^{-1} S_\tau(W y)` (the approximation is kept as it is)."""
    from .prox import soft_threshold

    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; wavelet_denoise expects a WaveletTransform")
    check_tensor(y, "y", f"wavelet_denoise with {W!r}", W.in_shape, allow_complex=False)
    threshold = check_number(threshold, "threshold", "wavelet_denoise")
    c = W(y)
    mask = detail_mask(W).to(c.device)
    return W.inverse(torch.where(mask, soft_threshold(c, threshold), c))


def subbands(W: WaveletTransform) -> list:
    """The subbands of ``W``'s coefficients, finest level first, the coarsest approximation last: a list of
    ``(name, index)`` with ``c[(..., *index)]`` the subband (a tuple of slices). Names: "level 2, detail" for a signal;
    "level 2, HL" for an image (H: details along the rows' axis, i.e. across the width; then the columns'), and
    "approximation"."""
    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; subbands expects a WaveletTransform")
    found = []
    for level, region in enumerate(W._regions(), start=1):
        halves = [(s + 1) // 2 for s in region]
        if len(region) == 1:
            found.append((f"level {level}, detail", (slice(halves[0], region[0]),)))
            continue
        for name, rows, cols in (("HL", (0, halves[0]), (halves[1], region[1])),
                                 ("LH", (halves[0], region[0]), (0, halves[1])),
                                 ("HH", (halves[0], region[0]), (halves[1], region[1]))):
            found.append((f"level {level}, {name}", (slice(*rows), slice(*cols))))
    coarse = [s for s in W.in_shape]
    for _ in range(W.levels):
        coarse = [(s + 1) // 2 for s in coarse]
    found.append(("approximation", tuple(slice(0, s) for s in coarse)))
    return found


def subband_noise_levels(W: WaveletTransform, dtype=torch.float64) -> torch.Tensor:
    r"""The noise level of each subband of ``W`` for white noise of level 1, as a tensor of the coefficients' shape.

    A coefficient :math:`c_i = \langle w_i, x\rangle` of white noise of level :math:`\sigma` has level
    :math:`\sigma\|w_i\|`, and :math:`w_i = W^* e_i`. Each subband is filled with the value at its central coefficient
    (the same at every coefficient away from the boundary). 1 everywhere for an orthonormal wavelet (Haar on even
    sizes); for LeGall 5/3, which is biorthogonal, it differs per level (in 1-D, 0.87 at level 1 to 1.47 at level
    5), so one threshold for all details is too small on some and too large on others."""
    found = subbands(W)
    levels = torch.ones(W.in_shape, dtype=dtype)
    for _, index in found:
        delta = torch.zeros(W.in_shape, dtype=dtype)
        delta[tuple((s.start + s.stop - 1) // 2 for s in index)] = 1.0
        levels[index] = W.A_adjoint(delta).norm()
    return levels


def subband_thresholds(c: torch.Tensor, W: WaveletTransform, sigma: float, rule="sure") -> torch.Tensor:
    r"""One soft threshold per detail subband of the coefficients ``c = W(y)`` (``(..., *W.in_shape)``, one set per
    item), chosen by ``rule`` from the subband's noise level :math:`\sigma_b` (:func:`subband_noise_levels` times
    ``sigma``), as a tensor of ``c``'s shape (0 on the approximation):

    - ``"sure"``: SureShrink (Donoho & Johnstone, JASA 1995, without its sparsity test), the threshold that minimises
      Stein's unbiased estimate of the risk, :math:`m\sigma_b^2 - 2\sigma_b^2\#\{|c_i| \le \tau\} + \sum_i
      \min(c_i^2, \tau^2)` over the subband's :math:`m` coefficients;
    - ``"bayes"``: BayesShrink (Chang, Yu & Vetterli, IEEE TIP 2000), :math:`\tau = \sigma_b^2 / \hat\sigma_x` with
      :math:`\hat\sigma_x^2 = \max(\overline{c^2} - \sigma_b^2, 0)` (every coefficient when :math:`\hat\sigma_x = 0`);
    - a number ``k``: :math:`\tau = k\,\sigma_b` (one factor for all subbands, each at its own noise level)."""
    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; subband_thresholds expects a WaveletTransform")
    check_tensor(c, "c", f"subband_thresholds with {W!r}", W.in_shape, allow_complex=False)
    sigma = check_number(sigma, "sigma", "subband_thresholds", strict=True)
    if isinstance(rule, str):
        if rule not in ("sure", "bayes"):
            raise ValueError(f"rule is {rule!r}; subband_thresholds expects 'sure', 'bayes' or a factor (a number "
                             ">= 0)")
    else:
        rule = check_number(rule, "rule", "subband_thresholds")
    noise = subband_noise_levels(W, c.dtype).to(c.device) * sigma
    tau = torch.zeros_like(c)
    for _, index in subbands(W)[:-1]:
        block = c[(..., *index)]
        flat = block.reshape(*block.shape[: block.ndim - len(index)], -1)   # (..., m)
        s = noise[index].reshape(-1)[0]
        if rule == "sure":
            a = flat.abs().sort(dim=-1).values
            m = a.shape[-1]
            k = torch.arange(1, m + 1, dtype=c.dtype, device=c.device)
            risk = m * s**2 - 2 * s**2 * k + a.square().cumsum(-1) + (m - k) * a.square()
            risk = torch.cat([torch.full_like(a[..., :1], m * s.item() ** 2), risk], dim=-1)   # tau = 0 too
            candidates = torch.cat([torch.zeros_like(a[..., :1]), a], dim=-1)
            best = candidates.gather(-1, risk.argmin(dim=-1, keepdim=True))[..., 0]
        elif rule == "bayes":
            signal = (flat.square().mean(-1) - s**2).clamp_min(0).sqrt()
            best = torch.where(signal > 0, s**2 / signal.clamp_min(torch.finfo(c.dtype).tiny), flat.abs().amax(-1))
        else:
            best = torch.full(flat.shape[:-1], rule * s.item(), dtype=c.dtype, device=c.device)
        tau[(..., *index)] = best[(..., *[None] * len(index))].expand_as(block)
    return tau


def subband_denoise(y: torch.Tensor, W: WaveletTransform, sigma: float, rule="sure") -> torch.Tensor:
    r"""Soft-threshold each detail subband of ``W(y)`` at its own threshold (:func:`subband_thresholds` with ``rule``:
    "sure", "bayes" or a factor of the subband's noise level) and transform back; ``y`` is ``(..., *W.in_shape)``."""
    from .prox import soft_threshold

    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; subband_denoise expects a WaveletTransform")
    check_tensor(y, "y", f"subband_denoise with {W!r}", W.in_shape, allow_complex=False)
    c = W(y)
    return W.inverse(soft_threshold(c, subband_thresholds(c, W, sigma, rule)))


# --------------------------------------------------------------------------- a lifting network


class _Residual(nn.Module):
    """A small CNN ``C -> C`` (3x3 convolutions, reflect padding); its last layer starts at zero."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.1),
                                 nn.Conv2d(hidden, hidden, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.1),
                                 nn.Conv2d(hidden, channels, 3, padding=1, padding_mode="reflect"))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, v):
        return self.net(v)


class _LearnedStep(nn.Module):
    """One lifting step along an axis of an image batch ``(N, C, H, W)``: a classical stencil plus a CNN."""

    def __init__(self, step: LiftingStep, channels: int, hidden: int, axis: int):
        super().__init__()
        self.step, self.axis = step, axis
        self.cnn = _Residual(channels, hidden) if hidden else None      # hidden = 0: the wavelet's stencil alone

    def forward(self, v: torch.Tensor, n_out: int) -> torch.Tensor:
        along = v.transpose(self.axis, -1)
        fixed = self.step.weight * self.step.stencil.apply(along, n_out).transpose(self.axis, -1)
        return fixed if self.cnn is None else fixed + self.cnn(v)    # n_out = the other phase's length (even: equal)


class _Shrinkage(nn.Module):
    r"""A learned denoiser of a level's details, by ``depth`` 3x3 convolutions of ``hidden`` channels that see the
    details (in units of sigma), the level's approximation and sigma itself: each coefficient is shrunk by a gain in
    (0, 1) and corrected by an estimate in units of sigma, :math:`\hat d = g \odot d + \sigma r`. Its last layer
    starts at zero (a gain of sigmoid(4) ~ 0.98, no correction)."""

    def __init__(self, hidden: int, depth: int = 3):
        super().__init__()
        layers, channels = [], 5
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, hidden, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.1)]
            channels = hidden
        layers.append(nn.Conv2d(channels, 6, 3, padding=1, padding_mode="reflect"))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)

    def forward(self, details, approximation, sigma):
        sigma = _per_image(sigma, approximation)                     # (N, 1, 1, 1)
        features = torch.cat([details / sigma, approximation, sigma.expand_as(approximation)], dim=1)
        gain, correction = self.net(features).split(3, dim=1)
        return details * torch.sigmoid(gain + 4.0) + sigma * correction


def _per_image(sigma, like: torch.Tensor) -> torch.Tensor:
    """``sigma`` (a number, or a tensor of one value or one per image) as a tensor ``(N, 1, 1, 1)`` like ``like``."""
    sigma = torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    if sigma.numel() == 1:
        return sigma.reshape(1, 1, 1, 1).expand(like.shape[0], 1, 1, 1)
    return sigma.reshape(-1, 1, 1, 1)


class LiftingNetwork(nn.Module):
    r"""A lifting invertible network in the spirit of LINN / WINNet (Huang & Dragotti, EUSIPCO 2021; IEEE TIP 2022).

    Every level lifts the image along its width, then along its height (the approximation and the
    details of the first pass together), with predictors and updaters :math:`P = P_0 + \mathrm{CNN}_P`,
    :math:`U = U_0 + \mathrm{CNN}_U`: a classical wavelet's stencil (``wavelet``, LeGall 5/3 by default)
    plus a small CNN of ``hidden`` channels whose last layer starts at zero, so the untrained network *is* that
    wavelet (``hidden=0``: no CNN, the wavelet itself, fixed; only the denoiser below learns). Whatever the
    weights, each step is a shear, :math:`d = o - P(e)`, :math:`s = e + U(d)`, and
    :meth:`inverse` undoes it exactly (:math:`e = s - U(d)`, :math:`o = d + P(e)`): invertible by
    construction, to rounding error. A level turns ``(N, 1, H, W)`` into an approximation
    ``(N, 1, H/2, W/2)`` and three detail channels ``(N, 3, H/2, W/2)``; the next level lifts the
    approximation again.

    :meth:`denoise` soft-thresholds the detail channels with a learned threshold per level and
    channel, in units of the noise level :math:`\sigma`, and inverts: sparsity imposed on the details.
    With ``shrinkage_hidden`` > 0 a CNN per level (``shrinkage_depth`` convolutions) then shrinks each detail
    coefficient by a learned gain in (0, 1), seeing the details, the level's approximation and :math:`\sigma` (the
    role of WINNet's detail denoiser); 0 keeps the thresholds alone. :math:`\sigma` is one noise level or one per
    image, so one network can learn a range of noise levels.
    """

    def __init__(self, levels: int = 2, hidden: int = 16, wavelet: Wavelet | str = "legall53",
                 shrinkage_hidden: int = 0, shrinkage_depth: int = 3):
        super().__init__()
        self.levels = check_int(levels, "levels", "LiftingNetwork")
        check_int(hidden, "hidden", "LiftingNetwork", minimum=0)
        self.wavelet = as_wavelet(wavelet, "LiftingNetwork")
        self.steps = nn.ModuleList()
        for _ in range(self.levels):
            for axis, channels in ((-1, 1), (-2, 2)):         # along the width (1 channel), then the height (2)
                self.steps.append(nn.ModuleList([_LearnedStep(s, channels, hidden, axis) for s in self.wavelet.steps]))
        self.log_threshold = nn.Parameter(torch.full((self.levels, 3), math.log(1.5)))
        check_int(shrinkage_hidden, "shrinkage_hidden", "LiftingNetwork", minimum=0)
        check_int(shrinkage_depth, "shrinkage_depth", "LiftingNetwork", minimum=1)
        self.shrinkage = nn.ModuleList([_Shrinkage(shrinkage_hidden, shrinkage_depth) for _ in range(self.levels)
                                        ]) if shrinkage_hidden else None

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check(self, x: torch.Tensor, name: str) -> None:
        check_tensor(x, name, "LiftingNetwork", allow_complex=False)
        dtype = self.log_threshold.dtype
        if x.dtype != dtype:
            raise TypeError(f"{name} has dtype {x.dtype}; this LiftingNetwork computes in {dtype} (its weights): "
                            f"pass {name}.to({dtype}) or convert the network with net.to({x.dtype})")
        factor = 2 ** self.levels
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"{name} has shape {tuple(x.shape)}; LiftingNetwork({self.levels} levels) expects "
                             f"(N, 1, H, W) with H and W divisible by {factor}")

    def _axis(self, x, steps, axis, invert: bool):
        scale_e, scale_o = self.wavelet.scale_even, self.wavelet.scale_odd
        if not invert:
            even, odd = split(x.transpose(axis, -1))
            even, odd = even.transpose(axis, -1), odd.transpose(axis, -1)
            for learned in steps:
                if learned.step.kind == "predict":
                    odd = odd + learned(even, odd.shape[axis])
                else:
                    even = even + learned(odd, even.shape[axis])
            return even * scale_e, odd * scale_o
        even, odd = x
        even, odd = even / scale_e, odd / scale_o
        for learned in reversed(steps):
            if learned.step.kind == "predict":
                odd = odd - learned(even, odd.shape[axis])
            else:
                even = even - learned(odd, even.shape[axis])
        return merge(even.transpose(axis, -1), odd.transpose(axis, -1)).transpose(axis, -1)

    def forward(self, x: torch.Tensor):
        """``(approximation, [details of level 1, level 2, ...])`` of images ``(N, 1, H, W)``."""
        approximations, details = self._decompose(x)
        return approximations[-1], details

    def _decompose(self, x: torch.Tensor):
        """Every level's approximation (``[level 1, level 2, ...]``) and details."""
        self._check(x, "x")
        approximations, details = [], []
        for level in range(self.levels):
            s, d = self._axis(x, self.steps[2 * level], -1, invert=False)
            low, high = self._axis(torch.cat([s, d], dim=1), self.steps[2 * level + 1], -2, invert=False)
            x = low[:, :1]
            approximations.append(x)
            details.append(torch.cat([low[:, 1:], high], dim=1))      # (N, 3, H/2, W/2)
        return approximations, details

    def inverse(self, approximation: torch.Tensor, details: list) -> torch.Tensor:
        """The image from its coefficients: the lifting steps undone, coarsest level first."""
        if not isinstance(details, (list, tuple)):
            raise TypeError(f"details is a {type(details).__name__}; LiftingNetwork.inverse expects a list of "
                            f"{self.levels} tensors, one per level, as forward() gives them")
        if len(details) != self.levels:
            raise ValueError(f"details has {len(details)} levels; this LiftingNetwork has {self.levels}")
        check_tensor(approximation, "approximation", "LiftingNetwork.inverse", allow_complex=False)
        for level, d in enumerate(details):
            check_tensor(d, f"details[{level}]", "LiftingNetwork.inverse", allow_complex=False)
            if d.ndim != 4 or d.shape[1] != 3:
                raise ValueError(f"details[{level}] has shape {tuple(d.shape)}; LiftingNetwork.inverse expects "
                                 "(N, 3, H, W) per level, as forward() gives them")
        x = approximation
        for level in reversed(range(self.levels)):
            d = details[level]
            low = torch.cat([x, d[:, :1]], dim=1)
            sd = self._axis((low, d[:, 1:]), self.steps[2 * level + 1], -2, invert=True)
            x = self._axis((sd[:, :1], sd[:, 1:]), self.steps[2 * level], -1, invert=True)
        return x

    def thresholds(self, sigma) -> torch.Tensor:
        """The soft thresholds, one per level and detail channel, in units of ``sigma`` (> 0): ``(levels, 3)`` for one
        noise level, ``(N, levels, 3)`` for a tensor of ``N`` noise levels, one per image."""
        if not isinstance(sigma, torch.Tensor):
            sigma = check_number(sigma, "sigma", "LiftingNetwork", strict=True)
        else:
            if sigma.ndim > 1 or sigma.is_complex() or not sigma.is_floating_point():
                raise ValueError(f"sigma is a tensor of shape {tuple(sigma.shape)} and dtype {sigma.dtype}; "
                                 "LiftingNetwork expects one noise level or a 1-D float tensor of one per image")
            if not bool((sigma > 0).all()):
                raise ValueError("sigma holds a value <= 0; LiftingNetwork expects noise levels > 0 (its thresholds "
                                 "and shrinkage are in units of sigma)")
            if sigma.ndim == 1:
                return sigma[:, None, None] * self.log_threshold.exp()
        return sigma * self.log_threshold.exp()

    def denoise(self, y: torch.Tensor, sigma) -> torch.Tensor:
        r"""Transform, soft-threshold every detail channel at its learned threshold (:math:`\propto\sigma`), shrink
        (with ``shrinkage_hidden``), invert. ``sigma`` is one noise level or a 1-D tensor of one per image."""
        from .prox import soft_threshold

        theta = self.thresholds(sigma)
        if theta.ndim == 3 and theta.shape[0] != y.shape[0]:
            raise ValueError(f"sigma holds {theta.shape[0]} noise levels and y {y.shape[0]} images; LiftingNetwork "
                             "expects one noise level, or one per image")
        theta = theta.reshape(-1, self.levels, 3)
        approximations, details = self._decompose(y)
        details = [soft_threshold(d, theta[:, level, :, None, None]) for level, d in enumerate(details)]
        if self.shrinkage is not None:
            details = [shrink(d, a, sigma) for shrink, d, a in zip(self.shrinkage, details, approximations)]
        return self.inverse(approximations[-1], details)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, wavelet={self.wavelet.name!r}, {self.n_parameters:,} parameters"
