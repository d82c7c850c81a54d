"""Checks of lecture 04 (wavelets by lifting, plug-and-play): one lifting step and its inverse, the wavelet
denoiser, the HQS loop. Each recognises the typical mistakes (even and odd swapped, predict and update in the
wrong order, the prediction added instead of subtracted) and says which one it saw."""
from __future__ import annotations

import torch

from .core import CheckFailed, call_student, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_lifting_step", "check_wavelet_denoiser", "check_hqs", "threshold_problem", "threshold_answers"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("lifting.lift", "lifting.unlift", "lifting.wavelet_denoise", "pnp.hqs")


def _legall(x: torch.Tensor, even_first: bool = True, predict_first: bool = True, sign: float = -1.0):
    """One of the usual mistakes in a LeGall 5/3 step (unscaled), as (s, d); the defaults give the right step."""
    from ..lifting import LEGALL_53

    predict, update = (step.stencil for step in LEGALL_53.steps)
    even, odd = (x[..., 0::2], x[..., 1::2]) if even_first else (x[..., 1::2], x[..., 0::2])
    if predict_first:
        d = odd + sign * predict.apply(even, odd.shape[-1])
        return even + update.apply(d, even.shape[-1]), d
    s = even + update.apply(odd, even.shape[-1])
    return s, odd + sign * predict.apply(s, odd.shape[-1])


def _neighbours(v: torch.Tensor, count: int, offset: int, ends: str) -> torch.Tensor:
    """``v`` at the positions ``i + offset`` for ``i < count``, a position outside ``v`` replaced by the nearest one
    inside (``ends="clamp"``, the exercise's rule), wrapped around (``"periodic"``) or by 0 (``"zero"``)."""
    n = v.shape[-1]
    index = torch.arange(count) + offset
    if ends == "periodic":
        return v[..., index % n]
    inside = v[..., index.clamp(0, n - 1)]
    return inside if ends == "clamp" else torch.where((index >= 0) & (index < n), inside, torch.zeros_like(inside))


def _with_ends(x: torch.Tensor, ends: str):
    """The unscaled LeGall 5/3 step with the ends handled as ``ends`` says (see :func:`_neighbours`), as (s, d)."""
    even, odd = x[..., 0::2], x[..., 1::2]
    d = odd - 0.5 * (_neighbours(even, odd.shape[-1], 0, ends) + _neighbours(even, odd.shape[-1], 1, ends))
    return even + 0.25 * (_neighbours(d, even.shape[-1], -1, ends) + _neighbours(d, even.shape[-1], 0, ends)), d


def _library_step(x: torch.Tensor):
    """The library's LeGall 5/3 level, without its scaling (s * √2, d / √2): the reference."""
    from ..lifting import LEGALL_53, lift

    c, n_even = lift(x, LEGALL_53), (x.shape[-1] + 1) // 2
    return c[..., :n_even] / LEGALL_53.scale_even, c[..., n_even:] / LEGALL_53.scale_odd


def _pair(result, call: str, shapes):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed(f"{call} returned {type(result).__name__}; expected a pair (s, d): the approximation "
                          "(even samples, updated) and the details (odd samples, predicted)")
    for name, value, shape in zip(("s", "d"), result, shapes):
        check_tensor_result(value, f"{call}[{'0' if name == 's' else '1'}] ({name})", shape=shape)
    return result


def check_lifting_step(lifting_step, inverse_lifting_step) -> None:
    """``lifting_step(x) -> (s, d)`` (LeGall 5/3, unscaled, along the last axis) and
    ``inverse_lifting_step(s, d) -> x``.

    ``d_i = o_i - (e_i + e_{i+1}) / 2`` and ``s_i = e_i + (d_{i-1} + d_i) / 4``, indices clamped at the ends.
    """
    check_own_work(lifting_step, *OWN_WORK)
    check_own_work(inverse_lifting_step, *OWN_WORK)
    from ..lifting import merge

    g = torch.Generator().manual_seed(4)
    for n in (10, 11):
        x = torch.randn(3, n, generator=g, dtype=torch.float64)
        shapes = ((3, (n + 1) // 2), (3, n // 2))
        call = f"lifting_step(x of shape (3, {n}))"
        parity = ("an odd length: one more even sample than odd ones, and the last even sample has no odd neighbour "
                  "on its right" if n % 2 else "an even length: the last odd sample has no even neighbour on its right")
        s, d = _pair(call_student(lifting_step, call, x.clone(), hint=f"It must work for every length; this is "
                                  f"{parity}"), call, shapes)
        s_ref, d_ref = _library_step(x)
        root2 = 2 ** 0.5
        for a, b in ((root2, 1 / root2), (1 / root2, root2)):
            if torch.allclose(s, a * s_ref, atol=1e-10) and torch.allclose(d, b * d_ref, atol=1e-10):
                raise CheckFailed(f"{call}: s and d are scaled by √2 and 1/√2 (or the reverse), as the library's "
                                  "transform scales them; the exercise asks for the two lifting steps alone, unscaled")
        for ends, why in (("periodic", "a neighbour past an end wraps around to the other end (periodic)"),
                          ("zero", "a neighbour past an end counts as 0 (zero padding)")):
            s_bad, d_bad = _with_ends(x, ends)
            if torch.allclose(s, s_bad, atol=1e-10) and torch.allclose(d, d_bad, atol=1e-10):
                raise CheckFailed(f"{call}: inside, your s and d are right, but at the ends {why}; the exercise "
                                  "replaces a missing neighbour by the nearest sample of the same kind that exists")
        mistakes = {"the even and odd samples are swapped: the even ones are x[..., 0::2]": dict(even_first=False),
                    "predict and update are in the wrong order: predict the odd samples first, then update the "
                    "even ones from the details": dict(predict_first=False),
                    "the prediction must be subtracted, d = o - P(e): the details are what the even samples "
                    "could not predict": dict(sign=1.0)}
        if not (torch.allclose(s, s_ref, atol=1e-10) and torch.allclose(d, d_ref, atol=1e-10)):
            for why, mistake in mistakes.items():
                s_bad, d_bad = _legall(x, **mistake)
                if (s_bad.shape == s.shape and torch.allclose(s, s_bad, atol=1e-10)
                        and torch.allclose(d, d_bad, atol=1e-10)):
                    raise CheckFailed(f"{call}: {why}")
        check_close(d, d_ref, f"{call}[1] (d)", "d_i = o_i - (e_i + e_{i+1}) / 2, with e_{i+1} = e_i past the end",
                    atol=1e-10)
        check_close(s, s_ref, f"{call}[0] (s)", "s_i = e_i + (d_{i-1} + d_i) / 4, with d_{-1} = d_0 and d_i = d_{i-1} "
                    "past the end", atol=1e-10)
        inverse_call = f"inverse_lifting_step(s, d) for x of shape (3, {n})"
        back = check_tensor_result(call_student(inverse_lifting_step, inverse_call, s_ref.clone(), d_ref.clone(),
                                                hint=f"It must work for every length; this is {parity}"),
                                   inverse_call, shape=x.shape)
        if not torch.allclose(back, x, atol=1e-10):
            undone_in_order = merge(*_undo_in_forward_order(s_ref, d_ref))
            why = ("undo the steps in reverse order: first e = s - U(d), then o = d + P(e)"
                   if torch.allclose(back, undone_in_order, atol=1e-10) else
                   "e = s - (d_{i-1} + d_i) / 4, then o = d + (e_i + e_{i+1}) / 2, then interleave even and odd")
            check_close(back, x, f"inverse_lifting_step(*lifting_step(x)) for x of shape (3, {n})", why, atol=1e-10)
    passed("lifting_step is LeGall 5/3 by lifting (even and odd lengths), and inverse_lifting_step undoes it exactly")


def _undo_in_forward_order(s, d):
    """The usual mistake in the inverse: undoing the prediction before the update."""
    from ..lifting import LEGALL_53

    predict, update = (step.stencil for step in LEGALL_53.steps)
    odd = d + predict.apply(s, d.shape[-1])
    return s - update.apply(odd, s.shape[-1]), odd


def check_wavelet_denoiser(wavelet_denoise) -> None:
    """``wavelet_denoise(y, W, threshold)``: soft-threshold the details of ``W(y)`` (not the approximation), invert."""
    check_own_work(wavelet_denoise, *OWN_WORK)
    from ..lifting import WaveletTransform, detail_mask
    from ..lifting import wavelet_denoise as reference
    from ..prox import soft_threshold

    g = torch.Generator().manual_seed(5)
    y = torch.rand(16, 16, generator=g, dtype=torch.float64)
    W = WaveletTransform((16, 16), "legall53", levels=2)
    call = "wavelet_denoise(y of shape (16, 16), W, threshold=0.1)"
    out = check_tensor_result(wavelet_denoise(y.clone(), W, 0.1), call, shape=(16, 16))
    expected = reference(y, W, 0.1)
    if not torch.allclose(out, expected, atol=1e-10):
        c = W(y)
        shrunk_all = soft_threshold(c, 0.1)
        everything = W.inverse(shrunk_all)
        hard = W.inverse(torch.where(detail_mask(W) & (c.abs() <= 0.1), torch.zeros_like(c), c))
        if torch.allclose(out, everything, atol=1e-10):
            raise CheckFailed(f"{call} also shrank the coarse approximation: threshold only the details "
                              "(detail_mask(W) is True on them) and keep the approximation as it is")
        if torch.allclose(out, hard, atol=1e-10):
            raise CheckFailed(f"{call} kept the large details unchanged (hard thresholding): soft-thresholding also "
                              "moves them towards 0 by the threshold")
        shrunk = torch.where(detail_mask(W), shrunk_all, c)
        if torch.allclose(out, W.A_adjoint(shrunk), atol=1e-10):
            raise CheckFailed(f"{call} went back to an image with the adjoint of W: LeGall 5/3 is not orthonormal, so "
                              "its adjoint does not undo it")
        check_close(out, expected, call, "the image whose coefficients in W are y's, with the details (only) shrunk "
                    "towards 0 by the threshold", atol=1e-10)
    passed("wavelet_denoise soft-thresholds the details only and transforms back")


def _hqs_variant(A, y, denoiser, schedule, start, swap=False, denoise_first=False, return_x=False):
    """Half-quadratic splitting from ``start``, or one of its usual mistakes: mu and sigma swapped, the denoiser
    before the data step, the last data step's image returned."""
    from .. import pnp

    z = x = start
    for mu, sigma in schedule:
        mu, sigma = (sigma, mu) if swap else (mu, sigma)
        if denoise_first:
            z = pnp.data_step(A, y, denoiser(z, sigma), mu)
            continue
        x = pnp.data_step(A, y, z, mu)
        z = denoiser(x, sigma)
    return x if return_x else z


def check_hqs(hqs) -> None:
    """``hqs(A, y, denoiser, schedule) -> x``: for each (mu, sigma), the data step, then the denoiser."""
    check_own_work(hqs, *OWN_WORK)
    from .. import pnp
    from ..operators import MatrixOperator

    g = torch.Generator().manual_seed(6)
    A = MatrixOperator(torch.randn(12, 8, generator=g, dtype=torch.float64))
    y = torch.randn(12, generator=g, dtype=torch.float64)
    shrink = lambda v, sigma: v / (1 + sigma)                      # a toy denoiser: its sigma must be used
    schedule = [(2.0, 0.5), (1.0, 0.3), (0.5, 0.1)]
    call = "hqs(A, y, denoiser, schedule of 3 steps)"
    out = check_tensor_result(call_student(hqs, call, A, y, shrink, schedule, hint="A maps an image of 8 entries to "
                                           "data of 12: every image of the loop, its start included, has 8 entries"),
                              call, shape=(8,))
    expected, _ = pnp.hqs(A, y, shrink, schedule)
    if not torch.allclose(out, expected, atol=1e-10):
        start = A.A_adjoint(y)
        variants = {"you denoise before the data step; the splitting starts each pair with the data step, which "
                    "pulls the image towards the data, and the denoiser then cleans the result":
                    _hqs_variant(A, y, shrink, schedule, start, denoise_first=True),
                    "you return the data step's image of the last pair; the splitting ends with the denoiser's":
                    _hqs_variant(A, y, shrink, schedule, start, return_x=True),
                    "mu and sigma are swapped: mu weighs the coupling in the data step, sigma is the noise level the "
                    "denoiser is told": _hqs_variant(A, y, shrink, schedule, start, swap=True),
                    "the loop starts from 0; start from the back-projection of the data":
                    _hqs_variant(A, y, shrink, schedule, torch.zeros_like(start))}
        for why, wrong in variants.items():
            if torch.allclose(out, wrong, atol=1e-10):
                raise CheckFailed(f"{call}: {why}")
        check_close(out, expected, call, "half-quadratic splitting alternates, for each (mu, sigma), the exact "
                    "minimisation over x of the data term plus the coupling mu/2 ||x - z||^2, and the denoiser at "
                    "noise level sigma in place of the minimisation over z", atol=1e-10)
    passed("hqs alternates the data step and the denoiser along the schedule")


def threshold_problem(size: int = 64, sigma: float = 0.1, seed: int = 4) -> dict:
    """Exercise 04's tuning study: the "astronaut" test image ``x`` (``size`` x ``size``, float64), its noisy copy
    ``y`` (white noise of standard deviation ``sigma``), the LeGall 5/3 transform ``W`` with 3 levels and a grid of
    40 ``thresholds`` from 0.01 to 0.4."""
    from .. import data
    from ..lifting import WaveletTransform

    x = data.test_image("astronaut", size, dtype=torch.float64)
    return {"x": x, "y": data.add_noise(x, sigma=sigma, seed=seed), "sigma": sigma,
            "W": WaveletTransform(x.shape, "legall53", levels=3),
            "thresholds": torch.linspace(0.01, 0.4, 40, dtype=torch.float64).tolist()}


def threshold_answers(problem: dict) -> dict:
    """The answers of exercise 04's derived questions on :func:`threshold_problem`, with the library's denoiser: the
    threshold of the grid with the highest PSNR, and how it compares with Donoho and Johnstone's universal threshold
    sigma sqrt(2 ln N) ("a": less than half of it, "b": within a factor of two, "c": more than twice)."""
    import math

    from ..lifting import wavelet_denoise
    from ..metrics import psnr

    x, y, W = problem["x"], problem["y"], problem["W"]
    best = max(problem["thresholds"], key=lambda t: psnr(wavelet_denoise(y, W, t), x))
    ratio = best / (problem["sigma"] * math.sqrt(2 * math.log(x.numel())))
    return {"best_threshold": best, "against_universal": "a" if ratio < 0.5 else "b" if ratio <= 2 else "c"}
