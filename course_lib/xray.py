r"""X-ray separation of a panel painted on both sides (Pu, Huang et al., IEEE TIP 2022; Dragotti's lecture).

The X-ray of a double-sided panel shows both paintings at once: :math:`x = x_1 + x_2 + n`. The visible
(RGB) image :math:`r` of the front is known; the back's is not. Dragotti's model asks three things of the
two parts: both are sparse in a dictionary, the front's X-ray is coupled to its visible image, and their
edges exclude each other (an edge of the mixture belongs to one side, not to both). Here the dictionary
is the orthonormal Haar wavelet :math:`W` of lecture 04 (its detail channels are multi-scale edge maps,
the :math:`W_i` of the lecture's exclusion term), the back is what the front leaves, :math:`y_2 = x - y_1`,
and the coupling is to a prediction :math:`p = \Phi r` of the front's X-ray from its colours:

.. math::
    \min_{y_1}\ \tfrac\gamma2\|y_1 - p\|^2 + \lambda\big(\|w\odot Wy_1\|_1 + \|W(x - y_1)\|_1\big)
    + \mu\,\|(Wy_1)\odot(W(x - y_1))\|_1 \qquad(\text{the norms over the detail coefficients}).

The visible image is used twice, as the lecture's model asks ("the RGB image and the visible X-ray
share the same sparse representation"): through the prediction :math:`p` (intensities) and through the
weights :math:`w = e^{-\kappa e}`, where :math:`e` is the visible image's edge strength at each coefficient
(the sum of its channels' :math:`|Wr_s|`, over its mean): a coefficient where the front's colours have an
edge is cheap for the front (shared support).

Because :math:`W` is orthonormal, the problem splits into one scalar problem per coefficient,
:math:`\min_a \tfrac\gamma2(a - q)^2 + \lambda(|a| + |c - a|) + \mu|a|\,|c - a|` with :math:`c, q` the
coefficients of :math:`x, p` (and :math:`\lambda_1 = \lambda w` on the front's term): piecewise quadratic, so
:func:`separate` solves it exactly by comparing its few candidates (the breakpoints and each piece's stationary
point). The exclusion term is a threshold that grows with the other side's coefficient: where one side has an
edge, the other must pay to have one too.

:func:`double_sided_panel` makes the synthetic panel. Each side is painted with a few pigments
(its colours clustered by k-means); the X-ray sees each pigment's density (lead white and vermilion
absorb, ochres do not: random here), which a linear map of the colours cannot predict, plus a part
that follows the lightness. Both sides are given the same mean, since a constant is the one thing
an X-ray cannot attribute: :func:`separate` splits it equally.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from .lifting import WaveletTransform, detail_mask
from .utils import as_generator, check_int, check_number, check_tensor

__all__ = ["Panel", "pigment_xray", "double_sided_panel", "side_prediction", "exclusion_loss", "separate",
           "edge_strength", "VARIANTS", "best_separations"]


@dataclass
class Panel:
    """A synthetic double-sided panel: what is measured (``xray``, ``visible``) and the truth."""

    xray: torch.Tensor          # (H, W): the measured X-ray, front + back + noise
    visible: torch.Tensor       # (3, H, W): the front's visible RGB image (the side information)
    front: torch.Tensor         # (H, W): the front's X-ray (the truth)
    back: torch.Tensor          # (H, W): the back's X-ray, mirrored as seen from the front (the truth)
    back_visible: torch.Tensor  # (3, H, W): the back's RGB image, mirrored (for display only)


def _check_dtype(dtype, owner: str) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype is {dtype!r}; {owner} expects a real floating-point torch dtype (e.g. torch.float64)")


def pigment_xray(rgb: torch.Tensor, n_pigments: int = 8, seed=0) -> tuple:
    """Paint ``rgb`` ``(3, H, W)`` with ``n_pigments`` pigments; return ``(painting, xray)``.

    The pigments are the k-means centres of the colours (Lloyd's algorithm, 20 rounds); each has a random
    X-ray density in [0, 1]. The X-ray is 0.3 density + 0.4 lightness, shifted to mean 0.5. ``seed``: an int or a
    ``torch.Generator``.
    """
    check_tensor(rgb, "rgb", "pigment_xray", allow_complex=False, finite=True)
    if rgb.ndim != 3 or rgb.shape[0] != 3:
        raise ValueError(f"rgb has shape {tuple(rgb.shape)}; pigment_xray expects an RGB image (3, H, W)")
    n_pigments = check_int(n_pigments, "n_pigments", "pigment_xray")
    generator = as_generator(seed)
    colours = rgb.reshape(3, -1).T.double()
    if not 1 <= n_pigments <= len(colours):
        raise ValueError(f"n_pigments is {n_pigments}; pigment_xray expects 1 to {len(colours)} (the pixels)")
    centres = colours[torch.randperm(len(colours), generator=generator)[:n_pigments]]
    for _ in range(20):
        label = torch.cdist(colours, centres).argmin(1)
        centres = torch.stack([colours[label == j].mean(0) if (label == j).any() else centres[j]
                               for j in range(n_pigments)])
    density = torch.rand(n_pigments, generator=generator, dtype=torch.float64)
    painting = centres[label].T.reshape(rgb.shape)
    lightness = (torch.tensor([0.3, 0.5, 0.2], dtype=torch.float64)[:, None, None] * painting).sum(0)
    xray = 0.3 * density[label].reshape(rgb.shape[1:]) + 0.4 * lightness
    return painting.to(rgb.dtype), (xray - xray.mean() + 0.5).to(rgb.dtype)


def double_sided_panel(front: str = "chelsea", back: str = "coffee", size: int = 128, n_pigments: int = 8,
                       noise: float = 0.01, seed=0, dtype=torch.float64, device=None) -> Panel:
    """A panel with scikit-image's colour image ``front`` on one side and ``back`` on the other.

    The back is seen mirrored through the panel. The X-ray is the sum of both sides' pigment X-rays
    (:func:`pigment_xray`) plus Gaussian noise of standard deviation ``noise``. An int ``seed`` >= 0 paints the
    front with ``seed + 1``, the back with ``seed + 2`` and draws the noise with ``seed``; a ``torch.Generator``
    draws all three from its one stream (in that order). Drawn on the CPU, then moved to ``device``.
    """
    from .data import test_image

    noise = check_number(noise, "noise", "double_sided_panel")
    size = check_int(size, "size", "double_sided_panel")
    _check_dtype(dtype, "double_sided_panel")
    if isinstance(seed, torch.Generator):                   # one stream: the front, the back, then the noise
        seeds = (seed, seed, seed)
    else:
        seed = check_int(seed, "seed", "double_sided_panel", minimum=0)
        seeds = (seed + 1, seed + 2, seed)
    visible, x1 = pigment_xray(test_image(front, size, dtype=torch.float64, color=True), n_pigments, seed=seeds[0])
    back_visible, x2 = pigment_xray(test_image(back, size, dtype=torch.float64, color=True).flip(-1), n_pigments,
                                    seed=seeds[1])
    xray = x1 + x2 + noise * torch.randn(x1.shape, generator=as_generator(seeds[2]), dtype=torch.float64)
    return Panel(*(t.to(dtype=dtype, device=device) for t in (xray, visible, x1, x2, back_visible)))


def _haar(shape, levels: int, owner: str) -> WaveletTransform:
    levels = check_int(levels, "levels", owner)
    if levels < 1 or any(s % 2 ** levels for s in shape):
        raise ValueError(f"the image has shape {tuple(shape)}; {owner} with levels={levels} needs both sides divisible "
                         f"by 2**levels = {2 ** levels} (then the Haar transform is orthonormal)")
    return WaveletTransform(shape, "haar", levels=levels)


def _check_image(x, name, owner):
    check_tensor(x, name, owner, allow_complex=False, finite=True)
    if x.ndim != 2:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; {owner} expects one image (H, W)")


def _check_visible(visible, shape, owner):
    check_tensor(visible, "visible", owner, allow_complex=False, finite=True)
    if visible.shape != (3, *shape):
        raise ValueError(f"visible has shape {tuple(visible.shape)}; {owner} expects an RGB image "
                         f"{(3, *shape)} of the X-ray's size")


def side_prediction(xray: torch.Tensor, visible: torch.Tensor, levels: int = 4) -> torch.Tensor:
    r"""The front's X-ray predicted from its colours, :math:`p = \sum_s \phi_s r_s + b`.

    :math:`\phi` is the least-squares fit of the X-ray's Haar *detail* coefficients by the visible
    channels' (at fine scales the back is nearly uncorrelated with the front's colours, while a fit of
    the pixels would be led astray by the two images' shared low frequencies); :math:`b` gives the
    prediction half the X-ray's mean.
    """
    _check_image(xray, "xray", "side_prediction")
    _check_visible(visible, xray.shape, "side_prediction")
    W = _haar(xray.shape, levels, "side_prediction")
    mask = detail_mask(W).to(xray.device)
    channels = torch.stack([W(v) for v in visible.to(xray.dtype)])[:, mask].T
    phi = torch.linalg.lstsq(channels, W(xray)[mask][:, None]).solution[:, 0]
    p = (phi[:, None, None] * visible.to(xray.dtype)).sum(0)
    return p - p.mean() + xray.mean() / 2


def exclusion_loss(y1: torch.Tensor, y2: torch.Tensor, levels: int = 4) -> float:
    r""":math:`\|(Wy_1)\odot(Wy_2)\|_1` over the Haar detail coefficients, divided by the number of pixels:
    0 when no edge of one image falls where the other has one."""
    _check_image(y1, "y1", "exclusion_loss")
    check_tensor(y2, "y2", "exclusion_loss", allow_complex=False, finite=True)
    if y2.shape != y1.shape:
        raise ValueError(f"y2 has shape {tuple(y2.shape)}; exclusion_loss expects the shape of y1, {tuple(y1.shape)}")
    W = _haar(y1.shape, levels, "exclusion_loss")
    mask = detail_mask(W).to(y1.device)
    return float((W(y1) * W(y2))[mask].abs().mean())


def _scalar_objective(a, q, c, gamma, lam_front, lam_back, mu):
    return 0.5 * gamma * (a - q) ** 2 + lam_front * a.abs() + lam_back * (c - a).abs() + mu * (a * (c - a)).abs()


def _solve_coefficients(q, c, gamma: float, lam_front, lam_back, mu: float) -> torch.Tensor:
    r"""Entrywise :math:`\arg\min_a \tfrac\gamma2(a-q)^2 + \lambda_1|a| + \lambda_2|c-a| + \mu|a(c-a)|`, exactly
    (the thresholds :math:`\lambda_1, \lambda_2` are numbers or tensors of the coefficients' shape).

    On each piece where the signs :math:`s_1` of :math:`a` and :math:`s_2` of :math:`c - a` are fixed, the
    objective is a quadratic with curvature :math:`\gamma - 2\mu s_1s_2`; the minimum is at a breakpoint
    (0 or c) or at a convex piece's stationary point, so the best of these candidates is the answer.
    """
    candidates = [torch.zeros_like(c), c, q]
    for s1 in (-1, 1):
        for s2 in (-1, 1):
            curvature = gamma - 2 * mu * s1 * s2
            if curvature > 0:
                candidates.append((gamma * q - lam_front * s1 + lam_back * s2 - mu * s1 * s2 * c) / curvature)
    a = torch.stack(candidates)
    best = _scalar_objective(a, q, c, gamma, lam_front, lam_back, mu).argmin(0, keepdim=True)
    return a.gather(0, best)[0]


def edge_strength(visible: torch.Tensor, W: WaveletTransform) -> torch.Tensor:
    """The visible image's edge strength at each coefficient: the sum over channels of ``|W r_s|``, over its mean
    on the details (so 1 is an average edge)."""
    if not isinstance(W, WaveletTransform):
        raise TypeError(f"W is a {type(W).__name__}; edge_strength expects a lifting.WaveletTransform of the "
                        "image's size")
    check_tensor(visible, "visible", "edge_strength", allow_complex=False, finite=True)
    if visible.ndim != 1 + len(W.in_shape) or tuple(visible.shape[1:]) != tuple(W.in_shape):
        raise ValueError(f"visible has shape {tuple(visible.shape)}; edge_strength expects channels of W's shape "
                         f"(C, {', '.join(str(s) for s in W.in_shape)})")
    mask = detail_mask(W).to(visible.device)
    e = torch.stack([W(v) for v in visible]).abs().sum(0)
    return e / e[mask].mean().clamp_min(torch.finfo(e.dtype).tiny)


def separate(xray: torch.Tensor, visible: torch.Tensor | None = None, lam: float = 0.03, gamma: float = 1.0,
             mu: float = 0.0, levels: int = 4, kappa: float = 1.0) -> tuple:
    r"""Split ``xray`` into ``(front, back)`` with ``front + back == xray`` (the model of the module's docstring).

    ``visible`` ``(3, H, W)`` is the front's RGB image (:func:`side_prediction` turns it into the
    coupling target :math:`p`); without it, :math:`p = x/2` and nothing tells the sides apart. ``lam``
    weighs the sparsity of both sides, ``gamma`` the coupling, ``mu`` the exclusion (0: none), ``kappa`` how much
    cheaper the visible image's edges make the front's coefficients (0: not at all).
    Both sides of the image must be divisible by ``2**levels``.
    """
    _check_image(xray, "xray", "separate")
    if visible is not None:
        _check_visible(visible, xray.shape, "separate")
    lam = check_number(lam, "lam", "separate")
    gamma = check_number(gamma, "gamma", "separate", strict=True)   # the pull towards the side information
    mu = check_number(mu, "mu", "separate")
    kappa = check_number(kappa, "kappa", "separate")
    return _split(_prepare(xray, visible, levels), lam, gamma, mu, kappa)


def _prepare(xray: torch.Tensor, visible, levels: int) -> dict:
    """What :func:`separate` needs that does not depend on its weights: the transform, the coefficients of the
    X-ray and of the prediction, the visible image's edge strength (None without it)."""
    W = _haar(xray.shape, levels, "separate")
    p = xray / 2 if visible is None else side_prediction(xray, visible, levels)
    edges = None if visible is None else edge_strength(visible.to(xray.dtype), W)
    return dict(W=W, xray=xray, mask=detail_mask(W).to(xray.device), c=W(xray), q=W(p), edges=edges)


def _split(prepared: dict, lam: float, gamma: float, mu: float, kappa: float) -> tuple:
    W, xray, edges, q = prepared["W"], prepared["xray"], prepared["edges"], prepared["q"]
    lam_front = lam if edges is None else lam * torch.exp(-kappa * edges)
    a = torch.where(prepared["mask"], _solve_coefficients(q, prepared["c"], gamma, lam_front, lam, mu), q)
    front = W.A_adjoint(a)                       # orthonormal: the inverse is the adjoint
    return front, xray - front


#: The three variants that lecture 04 and ``benchmarks/lifting.py`` compare: (visible image used, exclusion weights).
VARIANTS = {"side information + exclusion": (True, (0.01, 0.03, 0.1, 0.3, 1.0)),
            "side information, no exclusion": (True, (0.0,)),
            "no side information": (False, (0.0, 0.01, 0.03, 0.1, 0.3, 1.0))}


def _grid(values, name: str, check) -> tuple:
    """One axis of :func:`best_separations`' grid as a tuple, each value checked by ``check(value, name, owner)``."""
    if isinstance(values, (str, bytes, torch.Tensor)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} is {values!r}; best_separations expects a sequence (a tuple or a list)")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} is empty; best_separations expects at least one value")
    for value in values:
        check(value, name, "best_separations")
    return values


def best_separations(panel: Panel, lams=(0.01, 0.03, 0.1), gammas=(0.3, 1.0, 3.0), kappas=(0.0, 1.0, 3.0),
                     levels=(3, 4)) -> dict:
    """Each of :data:`VARIANTS` at its best ``(lam, gamma, kappa, mu, levels)`` on one grid, by the mean PSNR of both
    sides.

    The grid sees the truth (an oracle), the same for all variants, so that the comparison is fair.
    Returns ``{variant: dict(front=, back=, psnr_front=, psnr_back=, parameters=)}``.
    """
    from .metrics import psnr

    if not isinstance(panel, Panel):
        raise TypeError(f"panel is a {type(panel).__name__}; best_separations expects a Panel (double_sided_panel)")
    _check_image(panel.xray, "panel.xray", "best_separations")
    lams, gammas, kappas, levels = (_grid(values, name, check) for values, name, check in (
        (lams, "lams", check_number), (gammas, "gammas", lambda *a: check_number(*a, strict=True)),
        (kappas, "kappas", check_number), (levels, "levels", check_int)))
    results, prepared = {}, {}                   # one _prepare per (side information used, levels): the grid reuses it
    for name, (use_visible, mus) in VARIANTS.items():
        best = None
        for lam in lams:
            for gamma, kappa, level, mu in itertools.product(gammas, kappas if use_visible else (0.0,), levels, mus):
                if any(s % 2 ** level for s in panel.xray.shape):
                    continue
                key = (use_visible, level)
                if key not in prepared:
                    prepared[key] = _prepare(panel.xray, panel.visible if use_visible else None, level)
                front, back = _split(prepared[key], lam, gamma, mu, kappa)
                scores = psnr(front, panel.front), psnr(back, panel.back)
                if best is None or sum(scores) > best["psnr_front"] + best["psnr_back"]:
                    best = dict(front=front, back=back, psnr_front=scores[0], psnr_back=scores[1],
                                parameters=dict(lam=lam, gamma=gamma, kappa=kappa, mu=mu, levels=level))
        if best is None:
            raise ValueError(f"the panel has shape {tuple(panel.xray.shape)}; no level in {levels} divides it")
        results[name] = best
    return results
