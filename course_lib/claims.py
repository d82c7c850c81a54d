"""Checked statements: the comparisons a lecture's prose makes, measured and shown as a table.

A lecture collects, next to the figure that supports them, the comparisons its sentences make::

    claims = cl.Claims("residual against plain networks")
    claims.less("residual net's top Hessian eigenvalue", top_res, "plain net's", top_plain)
    claims.greater("accuracy with skips", acc_skip, "without", acc_plain)          # one value per seed
    claims.close("p4 CNN's accuracy", a, "augmented CNN's", b, atol=0.02)
    claims.show()

``show()`` prints one row per statement (the statement, the measured values, whether it holds). A value
may be one number or one number per seed (a list, a tuple, a 1-D tensor or array): then the comparison is
made seed by seed (the two sides pair up), the table shows mean ± standard deviation, and the statement
says for how many seeds it must hold (``at_least``, all of them unless given) and for how many it did.

Where the course is tested (``COURSE_STRICT_CLAIMS=1``, which ``python3 course.py test`` and ``execute`` set;
also with ``CI`` set or under pytest) a statement that does not hold raises :class:`ClaimFailed` naming it,
so that a change to the code that breaks a sentence fails the tests. Elsewhere (a student's machine, another
device or library build) it warns instead: the numbers may differ a little there, and the lecture goes on.
"""
from __future__ import annotations

import math
import os
import statistics
import warnings
from dataclasses import dataclass, field

__all__ = ["ClaimFailed", "ClaimWarning", "Claims", "strict_by_default"]


class ClaimFailed(AssertionError):
    """A checked statement of a lecture does not hold."""


class ClaimWarning(UserWarning):
    """A checked statement does not hold on this machine (outside the course's tests)."""


def strict_by_default() -> bool:
    """Whether a statement that does not hold raises: ``COURSE_STRICT_CLAIMS`` (``1``/``0``) decides when set;
    else strict under CI (``CI``) and pytest (``PYTEST_CURRENT_TEST``, which nbval's kernels inherit)."""
    chosen = os.environ.get("COURSE_STRICT_CLAIMS", "").strip()
    if chosen in ("0", "1"):
        return chosen == "1"
    return bool(os.environ.get("CI")) or "PYTEST_CURRENT_TEST" in os.environ


def _values(value, what: str) -> list[float]:
    """One float, or one per seed: a list, a tuple or a 1-D tensor/array of real numbers."""
    if hasattr(value, "detach"):                       # a torch tensor
        value = value.detach().cpu().reshape(-1).tolist() if value.ndim <= 1 else value
    elif hasattr(value, "tolist") and getattr(value, "ndim", 0) <= 1:    # a NumPy array or scalar
        value = value.tolist()
    if isinstance(value, bool):
        raise TypeError(f"Claims: {what} must be a number or one number per seed, got a bool")
    if isinstance(value, (int, float)):
        values = [float(value)]
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in value):
        values = [float(v) for v in value]
    else:
        raise TypeError(f"Claims: {what} must be a number or a non-empty 1-D sequence of numbers (one per seed), "
                        f"got {type(value).__name__}" + (f" of shape {tuple(value.shape)}" if hasattr(value, "shape")
                                                          else ""))
    if any(math.isnan(v) for v in values):
        raise ValueError(f"Claims: {what} contains NaN; a statement about it can be neither true nor false")
    return values


def _text(values: list[float], fmt: str) -> str:
    """One value as it is; several as mean ± sample standard deviation."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.fmean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


@dataclass
class Claim:
    """One row of the table: the statement as shown, the measured values as text, for how many of ``n``
    seeds (or other ``unit``) it held, and how many it needed."""
    statement: str
    measured: str
    held: int
    n: int
    needed: int
    unit: str = "seeds"

    @property
    def holds(self) -> bool:
        return self.held >= self.needed

    @property
    def verdict(self) -> str:
        mark = "✔" if self.holds else "✘"
        return mark if self.n == 1 else f"{mark} {self.held} of {self.n} {self.unit}"


@dataclass
class Claims:
    """A table of checked statements (see the module's docstring). ``title`` heads the table; ``strict``
    (default: :func:`strict_by_default`) makes :meth:`show` and :meth:`check` raise :class:`ClaimFailed`
    for a statement that does not hold, instead of warning; ``fmt`` formats the measured values; ``unit`` names what
    the per-seed values run over ("seeds", "noise draws", ...)."""
    title: str = ""
    strict: bool | None = None
    fmt: str = ".3g"
    unit: str = "seeds"
    rows: list = field(default_factory=list)

    # ----------------------------------------------------------------- statements
    def less(self, label_a: str, a, label_b: str, b, *, margin: float = 0.0, at_least: int | None = None,
             fmt: str | None = None) -> Claim:
        """``a < b - margin`` (seed by seed when the values are per seed)."""
        return self._compare(label_a, a, "<", label_b, b, lambda x, y: x < y - margin, margin, at_least, fmt)

    def greater(self, label_a: str, a, label_b: str, b, *, margin: float = 0.0, at_least: int | None = None,
                fmt: str | None = None) -> Claim:
        """``a > b + margin`` (seed by seed when the values are per seed)."""
        return self._compare(label_a, a, ">", label_b, b, lambda x, y: x > y + margin, margin, at_least, fmt)

    def close(self, label_a: str, a, label_b: str, b, *, atol: float, rtol: float = 0.0, at_least: int | None = None,
              fmt: str | None = None) -> Claim:
        """``|a - b| <= atol + rtol |b|``: the tolerance is part of the statement, so it must be given."""
        _check_tolerance(atol, "atol")
        _check_tolerance(rtol, "rtol")
        tolerance = format(atol, "g") + (f" + {rtol:g}·|{label_b}|" if rtol else "")
        a_values, b_values, measured = self._pair(a, b, label_a, label_b, fmt or self.fmt)
        held = sum(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a_values, b_values))
        return self._add(f"{label_a} ≈ {label_b} (within {tolerance})", measured, held, len(a_values), at_least)

    def within(self, label: str, value, low: float, high: float, *, at_least: int | None = None,
               fmt: str | None = None) -> Claim:
        """``low <= value <= high``."""
        if not low <= high:
            raise ValueError(f"Claims.within: low must be at most high, got low={low}, high={high}")
        values = _values(value, label)
        held = sum(low <= v <= high for v in values)
        fmt = fmt or self.fmt
        return self._add(f"{label} in [{format(low, fmt)}, {format(high, fmt)}]", _text(values, fmt), held,
                         len(values), at_least)

    def true(self, statement: str, condition, *, measured: str = "") -> Claim:
        """A statement checked by the caller: ``condition`` is a bool, or one bool per seed."""
        conditions = list(condition) if isinstance(condition, (list, tuple)) else [condition]
        if not conditions or not all(isinstance(c, bool) or type(c).__name__ in ("bool_", "bool") for c in conditions):
            raise TypeError(f"Claims.true: condition must be a bool or a non-empty list of bools (one per seed), "
                            f"got {condition!r}")
        return self._add(statement, measured, sum(bool(c) for c in conditions), len(conditions), None)

    # ----------------------------------------------------------------- the table
    @property
    def failed(self) -> list[Claim]:
        return [row for row in self.rows if not row.holds]

    def table(self) -> str:
        """The statements as a plain-text table."""
        if not self.rows:
            return f"{self.title}: no statements" if self.title else "no statements"
        width = max(len(r.statement) for r in self.rows)
        measured = max(len(r.measured) for r in self.rows)
        lines = [self.title] if self.title else []
        lines.append(f"{'statement':<{width}}  {'measured':<{measured}}  holds")
        lines += [f"{r.statement:<{width}}  {r.measured:<{measured}}  {r.verdict}" for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()

    def check(self) -> None:
        """Raise :class:`ClaimFailed` (strict) or warn (:class:`ClaimWarning`) naming every statement that
        does not hold."""
        if not self.failed:
            return
        names = "; ".join(f"'{r.statement}' ({r.measured}, held in {r.held} of {r.n})" if r.n > 1 else
                          f"'{r.statement}' ({r.measured})" for r in self.failed)
        message = (f"{len(self.failed)} of {len(self.rows)} statements of "
                   f"{repr(self.title) if self.title else 'the table'} do not hold: {names}. "
                   "The prose that rests on them is no longer true: rewrite the sentence, never the check.")
        strict = strict_by_default() if self.strict is None else self.strict
        if strict:
            raise ClaimFailed(message)
        warnings.warn(message + " (On this machine the numbers may differ from the course's; the lecture goes on.)",
                      ClaimWarning, stacklevel=3)

    def show(self) -> None:
        """Print the table, then :meth:`check` it."""
        print(self.table())
        self.check()

    # ----------------------------------------------------------------- helpers
    def _pair(self, a, b, label_a: str, label_b: str, fmt: str) -> tuple[list[float], list[float], str]:
        """The two sides paired seed by seed (one number stands against every seed) and the measured text."""
        a_values, b_values = _values(a, label_a), _values(b, label_b)
        if len(a_values) != len(b_values) and 1 not in (len(a_values), len(b_values)):
            raise ValueError(f"Claims: '{label_a}' has {len(a_values)} values and '{label_b}' {len(b_values)}; "
                             "per-seed values pair up seed by seed, so give as many of each (or one number)")
        n = max(len(a_values), len(b_values))
        measured = f"{_text(a_values, fmt)} vs {_text(b_values, fmt)}"
        return a_values * (n // len(a_values)), b_values * (n // len(b_values)), measured

    def _compare(self, label_a, a, sign, label_b, b, test, margin, at_least, fmt) -> Claim:
        _check_tolerance(margin, "margin")
        a_values, b_values, measured = self._pair(a, b, label_a, label_b, fmt or self.fmt)
        held = sum(bool(test(x, y)) for x, y in zip(a_values, b_values))
        statement = f"{label_a} {sign} {label_b}" + (f" by more than {margin:g}" if margin else "")
        return self._add(statement, measured, held, len(a_values), at_least)

    def _add(self, statement: str, measured: str, held: int, n: int, at_least: int | None) -> Claim:
        if at_least is None:
            at_least = n
        elif isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least <= n:
            raise ValueError(f"Claims: at_least must be an int from 1 to the number of seeds ({n}), got {at_least!r}")
        if n > 1:
            statement += f" in {'at least ' if at_least < n else ''}{at_least} of {n} {self.unit}"
        row = Claim(statement, measured, held, n, at_least, self.unit)
        self.rows.append(row)
        return row


def _check_tolerance(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Claims: {name} must be a finite number >= 0, got {value!r}")
