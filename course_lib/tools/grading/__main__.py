"""The grader's command line: ``python -m course_lib.tools.grading --root DIR SUBMISSIONS... --out DIR``.

See :mod:`course_lib.tools.grading` for what it does; ``python3 course.py grade ...`` runs it with
``--root`` set to the course folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import add_grade_arguments
from . import __doc__ as _PACKAGE_DOC
from .kernel import GradingEnvironmentError, Limits
from .running import grade


def main(argv=None) -> int:
    """Grade the submissions named in ``argv``; returns the exit status (2 when grading cannot work)."""
    parser = argparse.ArgumentParser(prog="python course.py grade", description=_PACKAGE_DOC.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder)")
    add_grade_arguments(parser)
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
