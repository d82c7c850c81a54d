r"""The grader's cost: seconds per submission against the floor, executing the solution notebook in a fresh kernel.

A class of synthetic submissions -- ``--first`` of exercise 01 and ``--others`` of each other exercise, a
mix of correct ones (the solution cells), wrong ones (the last solution cell left as the exercise's stub)
and hostile ones (a solution cell that also starts 41 background processes, tries to rewrite the course,
kills its parent, fills its temporary folder or reads its classmates through ``/proc``) -- is graded with
``--jobs`` parallel submissions, sandboxed, as ``python3 course.py grade`` does. Each submission's
wall-clock seconds (from its kernel's start to its last hidden test) are compared with the floor of its
exercise: the seconds of executing the same solution notebook top to bottom in a fresh kernel (nbclient),
measured first in the same run, one at a time: ``--floor-rounds`` rounds (3) in which every solution notebook
runs once, in an order rotated from round to round (``_common.interleaved_timings``, no warm-up: the cold
first round is one of three), so that the floor is the median over the rounds, with its interquartile range
(IQR). The class itself is graded once (one run, not repeated); the ratios are taken against the median
floors, and the class median is also given with every floor at the ends of its IQR (the range the floor's
spread allows; the target is met or not by the median).

Target (issue 15): the median over the class of (seconds of a submission / floor of its exercise) <= 1.5.
The 95th percentile and the class's wall-clock time (the instructor's wait, the environment check
included) are printed too.

Run on an otherwise idle machine::

    .venv/bin/python benchmarks/grading.py            # 88 submissions: about 10 minutes on 2 cores
    .venv/bin/python benchmarks/grading.py --quick    # smoke test: 4 + 1 submissions of two exercises

The figures, the target and the verdict are also written as JSON, to benchmarks/results/grading.json
(grading-quick.json with --quick) or to ``--json PATH`` (see benchmarks/README.md).
"""
from __future__ import annotations

import time

START = time.perf_counter()

import statistics
import sys
import tempfile
from pathlib import Path

import nbformat
from _common import interleaved_timings, spread, spread_against
from _report import ROOT, BenchmarkParser, report, target  # (importing _report puts the repository on sys.path)
from nbclient import NotebookClient

from course_lib.tools.grading import grade, solution_names
from course_lib.tools.notebooks import nbgrader_metadata

RATIO = 1.5
FIRST = "01_inverse_problems"
COUNTS = """
first    40   4   submissions of exercise 01
others    8   1   submissions of each other exercise
jobs      2   2   submissions graded at once
floor-rounds 3 1  rounds of the floor (every solution notebook once per round; median and IQR)
"""
HOSTILE = {
    "spawner": ("import subprocess\nfor _ in range(41):\n"
                "    subprocess.Popen(['sleep', '3609'], start_new_session=True)\n"),
    "rewriter": ("import pathlib, course_lib\nfor _p in pathlib.Path(course_lib.__file__).parent.rglob('*.py'):\n"
                 "    try:\n        _p.write_text('broken')\n    except OSError:\n        pass\n"),
    "killer": "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n",
    "fills_tmp": ("import tempfile\ntry:\n    with open(tempfile.gettempdir() + '/fill', 'wb') as _f:\n"
                  "        while True:\n            _f.write(bytes(2**24))\n"
                  "except OSError:\n    pass\n"),
    "classmates": ("import glob, os\ntry:\n"
                   "    _args = open(f'/proc/{os.getppid()}/cmdline', 'rb').read().split(b'\\0')\n"
                   "except OSError:\n    _args = []\n_found = [open(p).read() for a in _args if os.path.isdir(a)\n"
                   "          for p in glob.glob(os.path.join(a.decode(), '**', '*.ipynb'), recursive=True)]\n"),
}


def execute_solution(path: Path) -> None:
    """Execute the solution notebook top to bottom in a fresh kernel (kernel start included): the floor's run."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()


def floor_seconds(names, rounds: int) -> dict:
    """{exercise: summary of its floor's seconds}: every solution notebook executed once per round, interleaved."""
    runs = {name: (lambda name=name: execute_solution(ROOT / "solutions" / f"{name}.ipynb")) for name in names}
    return interleaved_timings(runs, rounds, warmup=0, no_grad=False)["seconds"]


def make_submission(name: str, kind: str, hostile: str | None):
    """The exercise notebook filled with the solution's cells: correct, wrong (last cell a stub) or hostile."""
    solution = {nbgrader_metadata(c).get("grade_id"): c.source
                for c in nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4).cells}
    nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if nbgrader_metadata(c).get("solution")]
    for i, cell in enumerate(cells):
        if not (kind == "wrong" and i == len(cells) - 1):
            cell.source = solution[nbgrader_metadata(cell)["grade_id"]]
    if kind == "hostile":
        cells[0].source = HOSTILE[hostile] + cells[0].source
    return nb


def kinds(count: int):
    """Half correct, a quarter wrong, a quarter hostile (cycling through the hostile behaviours)."""
    cycle, hostile = ["correct", "correct", "wrong", "hostile"], list(HOSTILE)
    return [(cycle[i % 4], hostile[(i // 4) % len(hostile)] if cycle[i % 4] == "hostile" else None)
            for i in range(count)]


def main(argv=None) -> int:
    args = BenchmarkParser(__doc__, COUNTS, quick="exercises 01 and 07 only").parse(argv)
    names = list(solution_names(ROOT / "solutions"))
    if args.quick:
        names = [FIRST, names[-1]]
    print(f"floor: each solution notebook executed in a fresh kernel ({', '.join(names)}), {args.floor_rounds} "
          "interleaved rounds", flush=True)
    floor_times = floor_seconds(names, args.floor_rounds)
    floors = {name: s["median"] for name, s in floor_times.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        planned = {}
        for name in names:
            for i, (kind, hostile) in enumerate(kinds(args.first if name == FIRST else args.others)):
                student = f"{name[:2]}_{kind}_{i:02d}" + (f"_{hostile}" if hostile else "")
                (folder / student).mkdir(parents=True)
                nbformat.write(make_submission(name, kind, hostile), folder / student / f"{name}.ipynb")
                planned[student] = kind
        print(f"grading {len(planned)} submissions with --jobs {args.jobs} (sandboxed) ...", flush=True)
        start = time.perf_counter()
        subs = grade([folder], Path(tmp) / "grades", root=ROOT, jobs=args.jobs, progress=False)
        wall = time.perf_counter() - start
    rows = []
    for name in names:
        mine = [s for s in subs if s.assignment == name]
        seconds = [s.seconds for s in mine]
        ratios = [s / floors[name] for s in seconds]
        full = [s for s in mine if planned[s.student] == "correct"]
        rows.append(dict(exercise=name, submissions=len(mine), floor=floors[name],
                         floor_spread=spread(floor_times[name]), median=statistics.median(seconds),
                         p95=_p95(seconds), ratio_median=statistics.median(ratios), ratio_p95=_p95(ratios),
                         correct_full_marks=sum(s.score == s.max_score for s in full), correct=len(full)))
    ratios = [s.seconds / floors[s.assignment] for s in subs]
    # the class median with every floor at the top / the bottom of its IQR: the range the floors' spread allows
    low, high = (statistics.median(s.seconds / floor_times[s.assignment][end] for s in subs) for end in ("q3", "q1"))
    print(f"\n{'exercise':<26}{'n':>4}{'floor s (IQR)':>20}{'median s':>10}{'p95 s':>8}{'median x':>10}{'p95 x':>8}"
          f"{'correct: full marks':>21}")
    for r in rows:
        floor = f"{r['floor']:.1f} ({r['floor_spread']['q1']:.1f}-{r['floor_spread']['q3']:.1f})"
        print(f"{r['exercise']:<26}{r['submissions']:>4}{floor:>20}{r['median']:>10.1f}{r['p95']:>8.1f}"
              f"{r['ratio_median']:>10.2f}{r['ratio_p95']:>8.2f}{r['correct_full_marks']:>15} of {r['correct']}")
    overall = dict(submissions=len(subs), ratio_median=statistics.median(ratios), ratio_p95=_p95(ratios),
                   ratio_median_with_floor_iqr=[low, high], floor_rounds=args.floor_rounds,
                   wall_seconds=wall, seconds_per_submission=wall / len(subs), jobs=args.jobs)
    print(f"{'class':<26}{len(subs):>4}{'':>38}{overall['ratio_median']:>10.2f}{overall['ratio_p95']:>8.2f}")
    print(f"floor: the solution notebook in a fresh kernel, median of {args.floor_rounds} interleaved rounds (IQR in "
          f"brackets); x: a submission's seconds / its exercise's median floor; "
          f"with every floor at the ends of its IQR the class median is {low:.2f}-{high:.2f} x. "
          "The class was graded once and took "
          f"{wall:.0f} s wall-clock with --jobs {args.jobs} ({wall / len(subs):.1f} s per submission), the check "
          "of the instructor's solutions included.")
    targets = [target(f"median seconds per submission <= {RATIO:g} x the floor", overall["ratio_median"], "<=", RATIO,
                      detail=f"{overall['ratio_median']:.2f} x ({low:.2f}-{high:.2f} with the floors' IQR, "
                             f"{args.floor_rounds} rounds; "
                             f"{spread_against(dict(q1=low, q3=high), '<=', RATIO, 'range')})")]
    report("grading", dict(exercises=rows, overall=overall), targets, time.perf_counter() - START, args.quick,
           args.json, vars(args))
    return 0


def _p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
