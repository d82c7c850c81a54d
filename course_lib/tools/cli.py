"""The course's command line, defined once: ``course.py`` and the tools parse their arguments with it.

``course.py`` runs under any ``python3`` before the course's environment exists, so this module needs
the standard library only, and ``course.py`` reads it by its path (without importing ``course_lib``,
which needs torch). It parses a command line *before* anything is set up: ``--help`` and a wrong
argument print the usage and change nothing (no virtual environment is built, no file is written).
The tools (``course_lib.tools.notebooks``, ``.grading``, ``.release``, ``.site``) add the same
arguments to their own parsers, so an option exists in one place.
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["GRADING_LIMITS", "COMMANDS", "build_parser", "add_exercises_arguments", "add_execute_arguments",
           "add_grade_arguments", "add_release_arguments", "add_site_arguments"]

#: The grader's default limits per submission (``course_lib.tools.grading.kernel.Limits`` takes them from here).
GRADING_LIMITS = {"cell_timeout": 120.0, "total_timeout": 900.0, "memory_mb": 4096}


def add_open_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="JupyterLab's port (default: JupyterLab's, 8888 or the next free)")
    parser.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")


def add_exercises_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="write nothing; report what is out of date")
    parser.add_argument("--force", action="store_true", help="overwrite edited exercises (after a backup)")
    parser.add_argument("--merge", type=Path, metavar="OLD_NOTEBOOK",
                        help="carry a student's answers from OLD_NOTEBOOK (an earlier version) into the current "
                             "exercise")
    parser.add_argument("--out", type=Path, help="with --merge: where to write (default: OLD_NOTEBOOK.merged.ipynb)")
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")


def add_execute_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="notebooks (default: lectures/*.ipynb and solutions/*.ipynb)")


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", help="notebooks or folders of submissions")
    parser.add_argument("--out", type=Path, help="output folder (default: grades/ in the course folder)")
    parser.add_argument("--solutions", type=Path,
                        help="the instructor's notebooks (default: solutions/ in the course folder)")
    parser.add_argument("--assignment", help="the exercise (e.g. 01_inverse_problems) when file names do not say")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument("--cell-timeout", type=float, default=GRADING_LIMITS["cell_timeout"],
                        help=f"seconds per cell (default {GRADING_LIMITS['cell_timeout']:g})")
    parser.add_argument("--timeout", type=float, default=GRADING_LIMITS["total_timeout"],
                        help=f"seconds per notebook (default {GRADING_LIMITS['total_timeout']:g})")
    parser.add_argument("--memory-mb", type=int, default=GRADING_LIMITS["memory_mb"],
                        help=f"memory per notebook in MB (default {GRADING_LIMITS['memory_mb']})")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the students' code without bubblewrap's isolation (every feedback file then says so)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_release_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dest", type=Path, help="a new or empty folder for the student edition")


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: site/ in the course folder)")


def add_lock_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--write", action="store_true",
                        help="rewrite requirements-lock.txt and environment.yml (without it: only say what would "
                             "change)")


def _nothing(parser: argparse.ArgumentParser) -> None:
    pass


#: ``name: (one-line help, what it adds to a parser)``, in the order ``--help`` lists them.
COMMANDS = {
    "open": ("set up, then open the course in JupyterLab at index.ipynb", add_open_arguments),
    "test": ("set up, then run every test (unit, property, all notebooks); further arguments go to pytest "
             "(`test tests/test_prox.py -x`; `test -- --help` for pytest's options)", _nothing),
    "exercises": ("regenerate exercises/ from solutions/ (--merge OLD: a student's answers into a revised one)",
                  add_exercises_arguments),
    "execute": ("re-run lectures/ and solutions/ in place, then regenerate exercises", add_execute_arguments),
    "grade": ("autograde submissions against solutions/ (see README: Collect and grade)", add_grade_arguments),
    "release": ("write the student edition into DEST: no solutions, hidden tests or grader", add_release_arguments),
    "site": ("build the course as an offline website with slides, in site/", add_site_arguments),
    "setup": ("only the set-up step: .venv/ with the pinned environment", _nothing),
    "lock": ("re-resolve requirements.in; say what would change in requirements-lock.txt and environment.yml "
             "(--write: rewrite them)", add_lock_arguments),
}


def build_parser(prog: str = "python3 course.py") -> argparse.ArgumentParser:
    """The parser of ``course.py``: one sub-command per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog=prog, description="One entry point for the course: set up, open, test, "
                                     "regenerate exercises, grade, release, build the site.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}
    for name, (summary, add_arguments) in COMMANDS.items():
        sub = parser.commands[name] = commands.add_parser(name, help=summary, description=summary)
        if name == "test":
            sub.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
        add_arguments(sub)
    return parser


def parse(argv: list, prog: str = "python3 course.py") -> argparse.Namespace:
    """``argv`` parsed; ``--help`` or a wrong argument prints the usage and exits (argparse's status 0 or 2)."""
    parser = build_parser(prog)
    if not argv:
        parser.print_help()
        parser.exit(0)
    if argv[:1] == ["test"]:                    # pytest's arguments pass through untouched; only `test -h` is ours
        if argv[1:2] in (["-h"], ["--help"]):
            parser.parse_args(argv[:2])
        rest = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        return argparse.Namespace(command="test", pytest_args=rest)
    options, unknown = parser.parse_known_args(argv)
    if unknown:                                  # the usage of the sub-command, not of course.py as a whole
        parser.commands[options.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return options
