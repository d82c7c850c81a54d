"""Measurements shared by the benchmarks: timings that agree with themselves (:func:`interleaved_timings`, a median
and its spread, :func:`with_spread`), and for the unfolding benchmarks NMSE curves of a solver and the first
iteration at a level."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import statistics
import sys
import time

try:
    import resource  # Unix: minor page faults of the process
except ImportError:                      # pragma: no cover (Windows)
    resource = None

import _report  # noqa: F401  (puts the repository on sys.path, for course_lib)

from course_lib.metrics import nmse_db


def nmse_curve(solver, A, y, x, regulariser, n_iter: int, step=None, stop=None) -> list:
    """NMSE (dB) against ``x`` of iterates 1..n_iter of ``solver(A, y, regulariser, ...)`` (``ista``, ``fista``).

    ``stop(curve) -> bool``, asked after every iterate, ends the run early (the curve is then shorter).
    """
    curve = []

    def record(k, xk):
        curve.append(nmse_db(xk, x))
        return stop is not None and stop(curve)

    solver(A, y, regulariser, n_iter=n_iter, step=step, callback=record)
    return curve


def first_k(curve, level):
    """The first iteration k (curve[k - 1], k >= 1) at or below ``level``; None if the curve never gets there."""
    return next((k for k, v in enumerate(curve, start=1) if v <= level), None)


def k_text(k, limit: int) -> str:
    """``k`` as the tables print it: the number, or "> limit" when it was not reached (None)."""
    return f"> {limit}" if k is None else str(k)


def progress(text: str, start: float) -> None:
    """A progress line on stderr (the tables go to stdout): what is done, seconds since ``start``."""
    print(f"  [{text}: done at {time.perf_counter() - start:.0f} s]", file=sys.stderr, flush=True)


# -- timing ---------------------------------------------------------------------------------------------------
def steady_allocator() -> bool:
    """Keep glibc's allocator from handing freed memory back to the kernel, so that a timed loop does not page-fault.

    Whether glibc trims its heap (or maps a large block afresh) after a free depends on the allocation history
    of the process, so it differs from one process to the next: measured on the sparse-coding problem, in some
    processes (5 of 14) FISTA or ISTA ran slower for the whole run, re-faulting megabytes of fresh pages every
    iteration (14,000-60,000 minor page faults per run of 50 iterations), FISTA at 1.9-2.0x the floor instead
    of 1.3-1.4x. A
    fixed trim threshold (1 GiB) and mmap threshold (32 MiB, glibc's largest; a fixed value also stops its
    sliding) keep freed blocks in the heap. Returns whether it could (False where the C library has no
    ``mallopt``, e.g. macOS: nothing is changed there).
    """
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(mallopt(M_MMAP_THRESHOLD, 32 << 20))


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is missing)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def round_order(names, r: int) -> list:
    """The order of round ``r`` (from 0): ``names`` rotated by r, every other cycle of len(names) rounds reversed.

    For A, B, C: ABC, BCA, CAB, then CBA, ACB, BAC (all six orders), and again. Every method is timed in every
    position, and after each of the others, equally often over 2 len(names) rounds.
    """
    names = list(names)
    n = len(names)
    order = names[r % n:] + names[:r % n]
    return order[::-1] if (r // n) % 2 else order


def summary(values) -> dict:
    """The median and the spread of ``values``: quartiles q1, q3 (linear interpolation, as NumPy's percentile and
    ``torch.utils.benchmark``), min, max and the count n."""
    values = sorted(values)
    if not values:
        raise ValueError("summary of no values")
    q1, median, q3 = (statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3)
    return dict(median=median, q1=q1, q3=q3, min=values[0], max=values[-1], n=len(values))


def scaled(s: dict, factor: float) -> dict:
    """A :func:`summary` with its numbers multiplied by ``factor`` (seconds to ms: 1e3)."""
    return {key: value if key == "n" else value * factor for key, value in s.items()}


def spread(s: dict) -> dict:
    """The spread of a :func:`summary` for a JSON report (its median is stored under the figure's own key)."""
    return {key: s[key] for key in ("q1", "q3", "min", "max", "n")}


def interleaved_timings(fns: dict, repeats: int, warmup: int = 1, reference: str | None = None,
                        synchronize=None, no_grad: bool = True, clock=time.perf_counter) -> dict:
    """Time the zero-argument callables ``fns`` (``{name: fn}``) interleaved, so that the machine's load hits all alike.

    First ``warmup`` untimed calls of each; then ``repeats`` rounds, in each of which every fn is called and
    timed once, in the order :func:`round_order` (rotated from round to round, every order of three methods
    over six rounds). A slow phase of a shared machine then lands on every method, and the *ratio* of two
    methods taken within a round (a few seconds apart at most) hardly moves with the load: with
    ``reference``, each method's seconds are divided by the reference's seconds *of the same round*, and
    the median and spread are those of these per-round ratios (not the ratio of two medians).
    ``synchronize`` (default: ``torch.cuda.synchronize`` where CUDA is available) runs before and after
    each timed call, so that a GPU's queued work is counted; with ``no_grad`` all runs under ``torch.no_grad()``.

    Returns ``{"rounds": repeats, "order": [names of round 0, ...], "seconds": {name: summary},
    "ratio": {name: summary}, "page_faults": {name: median minor page faults of a call}}`` (``ratio`` only
    with ``reference``; the reference's ratio is 1 in every round). A :func:`summary` is the median,
    quartiles, min, max and count of the rounds' values. Page faults in a timed loop mean that the
    allocator hands memory back and forth to the kernel: see :func:`steady_allocator`.
    """
    import torch

    if not fns:
        raise ValueError("interleaved_timings: no functions to time")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"interleaved_timings: repeats is {repeats}, warmup {warmup}; "
                         "expected repeats >= 1, warmup >= 0")
    if reference is not None and reference not in fns:
        raise ValueError(f"interleaved_timings: reference {reference!r} is not one of {list(fns)}")
    if synchronize is None:
        synchronize = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = {name: [] for name in fns}
    faults = {name: [] for name in fns}
    orders = []
    with torch.no_grad() if no_grad else contextlib.nullcontext():
        for _ in range(warmup):
            for fn in fns.values():
                fn()
        synchronize()
        for r in range(repeats):
            orders.append(round_order(fns, r))
            for name in orders[-1]:
                synchronize()
                before, start = minor_faults(), clock()
                fns[name]()
                synchronize()
                times[name].append(clock() - start)
                faults[name].append(minor_faults() - before)
    out = dict(rounds=repeats, order=orders, seconds={name: summary(t) for name, t in times.items()},
               page_faults={name: statistics.median(f) for name, f in faults.items()})
    if reference is not None:
        out["ratio"] = {name: summary([a / b for a, b in zip(t, times[reference])]) for name, t in times.items()}
    return out


def with_spread(s: dict, fmt: str = "{:.2f}", unit: str = "", what: str = "rounds") -> str:
    """A :func:`summary` as the tables print it: ``1.21x (IQR 1.17-1.26, 15 rounds)`` for fmt ``{:.2f}``, unit ``x``."""
    low, high = fmt.format(s["q1"]), fmt.format(s["q3"])
    return f"{fmt.format(s['median'])}{unit} (IQR {low}-{high}, {s['n']} {what})"


def spread_against(s: dict, relation: str, threshold: float, what: str = "IQR") -> str:
    """Where the interquartile range ``s["q1"]``..``s["q3"]`` lies against a bound: ``whole IQR <= 1.3``,
    ``IQR straddles 1.3`` or ``whole IQR misses <= 1.3`` (the verdict itself is the median's)."""
    inside = [_report.RELATIONS[relation](s[key], threshold) for key in ("q1", "q3")]
    if all(inside) or not any(inside):
        return f"whole {what}{'' if all(inside) else ' misses'} {relation} {threshold:g}"
    return f"{what} straddles {threshold:g}"
