"""Measurements shared by the unfolding benchmarks: NMSE curves of a solver, the first iteration at a level."""
from __future__ import annotations

import sys
import time

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
