"""Lecture 03's networks that are still improving when :mod:`~course_lib.lectures.unfolding_runs`' budgets end,
trained six times as long: ``python scripts/record_unfolding_long.py`` (about 45 minutes on 2 CPU cores).

LISTA, tied LISTA and LISTA with support selection, trained exactly as in
:func:`~course_lib.lectures.unfolding_runs.sparse_runs` (same problem, signals, learning rate, cosine schedule to the
end of the budget, validation set and kept checkpoint), with budgets six times theirs there, so that lecture 03 can
compare them with LISTA-CP, LISTA-CPSS and ALISTA at a plateau
(:func:`~course_lib.lectures.unfolding_runs.plateau_change` says whether they get there).
The payload has the same fields per network as ``unfolding_runs.recorded()["sparse"]``.
"""
from __future__ import annotations

from .recorded import Record
from .unfolding_runs import RECIPE as SHORT
from .unfolding_runs import sparse_runs

__all__ = ["RECIPE", "run", "RECORD", "recorded"]

#: ``unfolding_runs.RECIPE["sparse"]`` with the three networks that do not plateau there, at six times their budget
#: (the learning rate unchanged), and no FISTA grid (the lecture reads FISTA from ``unfolding_runs``).
RECIPE = {"sparse": {**SHORT["sparse"], "networks": {"LISTA": [48000, 1e-3], "LISTA, tied": [30000, 1e-3],
                                                     "LISTA-SS": [48000, 1e-3]}, "lams": []}}


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """The three networks trained with the long budgets: per network, what ``unfolding_runs.sparse_runs`` records."""
    return sparse_runs(recipe, progress)[0]


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("unfolding_long_runs", RECIPE, run, __name__, "python scripts/record_unfolding_long.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_unfolding_long.py`` (checked against the
    code)."""
    return RECORD.load()
