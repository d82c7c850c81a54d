"""The lectures' recorded runs: what is too long to run in a lecture (a training of minutes, a pretrained network),
recorded as a small file in ``course_lib/pretrained/`` by a script in ``scripts/``, with its recipe and a hash of the
code that makes it (:mod:`course_lib.lectures.recorded`).

One module per record: :mod:`~course_lib.lectures.unfolding_runs` (lecture 03),
:mod:`~course_lib.lectures.lifting_network`
(lecture 04), :mod:`~course_lib.lectures.dip_runs` and :mod:`~course_lib.lectures.edip_runs` (lecture 06),
:mod:`~course_lib.lectures.adp_runs` (lecture 07). Each has a ``RECIPE``, a ``run(recipe, progress)``, a ``RECORD``
(``RECORD.load()``, ``RECORD.make()``) and the loaders a lecture calls. The mathematics of ``course_lib`` never
imports this package; it imports the mathematics.
"""
from . import recorded

__all__ = ["recorded", "RECORDS", "all_records"]

#: The modules that hold a record, by the record's name.
RECORDS = {"unfolding_runs": "unfolding_runs", "lifting_sigma25": "lifting_network", "dip_long_runs": "dip_runs",
           "edip_runs": "edip_runs", "adp_long_runs": "adp_runs"}


def all_records() -> dict:
    """Every :class:`~course_lib.lectures.recorded.Record` of the course, by name."""
    import importlib

    return {name: importlib.import_module(f"{__name__}.{module}").RECORD for name, module in RECORDS.items()}
