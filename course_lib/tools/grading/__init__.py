"""Autograding: a submission's solution cells, the instructor's tests, a fresh limited kernel.

For each submitted notebook the grader

1. finds its exercise (``metadata.course.generated_from``, else the file name, else ``--assignment``);
2. takes **only the student's solution cells** (matched by nbgrader ``grade_id``, else by cell id)
   into a copy of the instructor's ``solutions/NN_name.ipynb``: edited, deleted or reordered test
   and other cells of the submission change nothing (:mod:`.assembly`);
3. runs that copy, each test cell's visible part only, in a **fresh kernel process** in a bubblewrap
   sandbox (:mod:`.sandbox`: read-only file system, a private ``/tmp``, the course's solutions, the
   home folder, the submissions and the output folder out of sight, no network, its own PID namespace),
   with a per-cell timeout, a memory limit (``RLIMIT_AS``) and a total time limit (:mod:`.kernel`); the
   library names the exercise asks the student to write are guarded there
   (:mod:`course_lib.checks.own_work`);
4. runs the **hidden tests in its own process**: they reach the student's code only through plain data
   (:mod:`course_lib.checks.boundary`, :mod:`.remote`), and are judged with the reference here
   (:mod:`.running`);
5. commits the results to the journal ``out/journal.sqlite`` at once, writes a Markdown feedback file per
   student and assignment, and at the end the CSV gradebook, the class summary and the journal as a CSV
   (:mod:`.reports`). Feedback shows each test's status and the course's message; for an error of the
   student's code in a hidden test only the name of a built-in exception and the line of the student's
   cell; never a traceback, never the source of a hidden test (any line of it in a message is replaced
   by ``[hidden]``).

Before a class is graded, the instructor's own solution notebook is graded as a submission: if
it does not score full marks (a missing package, a broken environment), the run stops with a
non-zero exit and says why, instead of giving everybody zeros. Without bubblewrap the grader
refuses, unless ``--no-sandbox`` (then each feedback file says so). Submitted files are only read.

Command line (also ``python course.py grade ...``, which passes ``--root``)::

    python -m course_lib.tools.grading [--root DIR] SUBMISSIONS... [--out DIR/grades] [--jobs 2]
        [--assignment NAME] [--cell-timeout 120] [--timeout 900] [--memory-mb 4096] [--solutions DIR/solutions]
        [--no-sandbox]

``--root`` is the course folder (default: the current folder). ``SUBMISSIONS`` are notebooks or
folders: ``folder/<student>/<NN_name>.ipynb`` (one folder per student, as nbgrader collects them)
or ``folder/<student>.ipynb`` (with ``--assignment``).

The names below are imported from their modules when first used, so that the kernel process
(``python -m course_lib.tools.grading.kernel``) starts without the rest.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "kernel": ["Limits", "LimitedKernel", "CellRun", "GradingEnvironmentError"],
    "sandbox": ["Sandbox", "SandboxUnavailable", "check_sandbox"],
    "assembly": ["read_notebook", "split_test", "student_cells", "assemble", "hidden_fragments", "redact"],
    "running": ["grade_notebook", "grade_submission", "check_environment", "grade", "find_submissions",
                "open_submission", "solution_names"],
    "reports": ["TestResult", "Submission", "write_gradebook", "feedback_markdown", "write_reports",
                "PASSED", "FAILED", "ERROR", "NOT_IMPLEMENTED", "TIMEOUT", "KERNEL_DIED", "NOT_RUN", "UNREADABLE"],
    "__main__": ["main"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
