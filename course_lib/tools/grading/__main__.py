"""The grader's command line: ``python -m course_lib.tools.grading --root DIR SUBMISSIONS... --out DIR``.

See :mod:`course_lib.tools.grading` for what it does; ``python3 course.py grade ...`` runs it with
``--root`` set to the course folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as _PACKAGE_DOC
from .kernel import GradingEnvironmentError, Limits
from .running import grade


def main(argv=None) -> int:
    """Grade the submissions named in ``argv``; returns the exit status (2 when grading cannot work)."""
    parser = argparse.ArgumentParser(prog="python course.py grade", description=_PACKAGE_DOC.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="+", help="notebooks or folders of submissions")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder)")
    parser.add_argument("--out", type=Path, help="output folder (default: grades/ in the course folder)")
    parser.add_argument("--solutions", type=Path,
                        help="the instructor's notebooks (default: solutions/ in the course folder)")
    parser.add_argument("--assignment", help="the exercise (e.g. 01_inverse_problems) when file names do not say")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout, help="seconds per cell")
    parser.add_argument("--timeout", type=float, default=Limits.total_timeout, help="seconds per notebook")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per notebook (MB)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the students' code without bubblewrap's isolation (every feedback file then says so)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    out = args.root / "grades" if args.out is None else args.out
    try:
        limits = Limits(args.cell_timeout, args.timeout, args.memory_mb)
        subs = grade(args.submissions, out, root=args.root, solutions=args.solutions, limits=limits,
                     jobs=args.jobs, assignment=args.assignment, progress=not args.quiet,
                     sandboxed=not args.no_sandbox)
    except (GradingEnvironmentError, ValueError, FileNotFoundError) as error:
        print(f"grading failed: {error}", file=sys.stderr)
        return 2
    for sub in subs:
        print(f"{sub.student:<20} {sub.assignment:<24} {sub.score:>5g} / {sub.max_score:<5g} {sub.seconds:5.1f} s"
              + ("" if not sub.notes else f"  ({len(sub.notes)} note{'s' * (len(sub.notes) > 1)})"))
    print(f"gradebook: {out / 'gradebook.csv'}; feedback: {out / 'feedback'}/<student>/<assignment>.md; "
          f"what the class got wrong: {out / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
