"""What every benchmark script shares: its command line and its report (printed, and written as JSON).

* :class:`BenchmarkParser`: the options of every script (``--threads``, ``--seed``, ``--device``,
  ``--quick``, ``--json``) and its *counts*: integer options (>= 1) with a full and a ``--quick`` value,
  given as a text table (:func:`counts`).
* :func:`target`: one target of a script: the measured value, the relation, the threshold, met or not.
* :func:`report`: prints the targets block, the total and the verdict, and writes the JSON report.
* For the tests: :func:`run_quick` runs a script with ``--quick`` and reads its JSON report back,
  :func:`quick_report` makes that a module-scoped fixture, :func:`check_report` checks the structure
  common to every report, :func:`finite` the numbers.

The JSON report (``schema`` 1) of a script ``NAME.py``, by default ``benchmarks/results/NAME.json``
(``NAME-quick.json`` with ``--quick``; ``benchmarks/results/`` is ignored by git) or ``--json PATH``::

    {"schema": 1, "benchmark": NAME, "quick": bool,
     "options": {the parsed command line}, "environment": {"torch", "python", "platform", "threads", "date"},
     "figures": {the measured numbers, as the script's tables print them: see benchmarks/README.md},
     "targets": [{"name", "value", "relation" ("<=", ">=" or ">"), "threshold", "met" (null: not run), "detail"}],
     "targets_met": int, "targets_run": int, "verdict": "PASS" | "FAIL" | "n/a", "total_seconds": float}

Numbers that are not finite (nan, inf) are written as ``null``.

Importing this module puts the repository root on ``sys.path``: the scripts then import ``course_lib``
from this checkout wherever they are run from.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
SCHEMA = 1
RELATIONS = {"<=": lambda value, threshold: value <= threshold, ">=": lambda value, threshold: value >= threshold,
             ">": lambda value, threshold: value > threshold}

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def counts(table: str) -> dict:
    """A table of count options, one a line: name, default, ``--quick`` value, help; ``-``: None (a default of
    None lets the script choose; a quick value of None leaves the option as it is). Returns
    ``{name: (default, quick, help)}`` with ``_`` for ``-`` in the names (``args.name``)."""
    out = {}
    for line in table.strip().splitlines():
        name, default, quick, text = line.split(None, 3)
        out[name.replace("-", "_")] = tuple(None if v == "-" else int(v) for v in (default, quick)) + (text,)
    return out


class BenchmarkParser(argparse.ArgumentParser):
    """The command line of a benchmark script.

    ``table``: a :func:`counts` table of integer options ``--name`` that must be >= 1; ``--quick`` sets
    each to its quick value. ``quick`` describes what else ``--quick`` changes. ``device``: add
    ``--device``; ``seed``: add ``--seed``. :meth:`parse` parses, applies ``--quick`` and sets the torch threads.
    """

    def __init__(self, doc: str, table: str, quick: str = "", threads: int = 1, device: bool = False,
                 seed: bool = True):
        super().__init__(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
        self.counts = counts(table)
        for name, (default, _, text) in self.counts.items():
            self.add_argument("--" + name.replace("_", "-"), type=int, default=default, help=text)
        self.add_argument("--threads", type=int, default=threads, help="torch CPU threads")
        if device:
            self.add_argument("--device", default="cpu", help="cpu or cuda")
        if seed:
            self.add_argument("--seed", type=int, default=0)
        changes = [f"{name.replace('_', '-')} {q}" for name, (_, q, _) in self.counts.items() if q is not None]
        self.add_argument("--quick", action="store_true",
                          help="smoke test, not the benchmark: " + ", ".join(changes + ([quick] if quick else [])))
        self.add_argument("--json", type=Path, default=None, metavar="PATH",
                          help="where to write the JSON report (default: benchmarks/results/<script>.json, "
                               "<script>-quick.json with --quick)")

    def parse(self, argv=None) -> argparse.Namespace:
        """Parse ``argv``; apply ``--quick``, check the counts and the device, set the torch threads."""
        import torch

        args = self.parse_args(argv)
        for name, (_, quick, _) in self.counts.items():
            if args.quick and quick is not None:
                setattr(args, name, quick)
            if getattr(args, name) is not None and getattr(args, name) < 1:
                self.error(f"--{name.replace('_', '-')} must be >= 1")
        if getattr(args, "device", "cpu").startswith("cuda") and not torch.cuda.is_available():
            self.error("--device cuda: CUDA is not available here")
        if args.threads < 1:
            self.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
        return args


def target(name: str, value, relation: str, threshold: float, fmt: str = "{:g}", detail: str | None = None) -> dict:
    """One target: ``value`` (None: not run) against ``threshold``; ``detail`` (default ``fmt`` of the value)
    is printed."""
    if relation not in RELATIONS:
        raise ValueError(f"relation is {relation!r}; expected one of {sorted(RELATIONS)}")
    met = None if value is None else bool(RELATIONS[relation](value, threshold))
    if detail is None and value is not None:
        detail = fmt.format(value)
    return dict(name=name, value=value, relation=relation, threshold=threshold, met=met, detail=detail)


def _plain(value):
    """``value`` as JSON data: tuples as lists, keys as strings, paths as strings, non-finite numbers as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if hasattr(value, "item"):                       # numpy / torch scalars
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def default_json_path(name: str, quick: bool) -> Path:
    return RESULTS / f"{name}{'-quick' if quick else ''}.json"


def report(name: str, figures: dict, targets: list, total: float, quick: bool, json_path=None,
           options: dict | None = None) -> dict:
    """Print the targets, the total and the verdict; write the JSON report (see the module docstring).

    ``name``: the script's name; ``figures``: its measured numbers; ``targets``: :func:`target` s;
    ``total``: its seconds; ``json_path``: where to write (None: the default place). Returns the report.
    """
    import torch

    print("\nTargets:")
    for t in targets:
        print(f"{t['name']}: "
              + ("n/a (not run)" if t["met"] is None else f"{'PASS' if t['met'] else 'FAIL'} ({t['detail']})"))
    run = [t for t in targets if t["met"] is not None]
    met = sum(t["met"] for t in run)
    verdict = "n/a" if not run else ("PASS" if met == len(run) else "FAIL")
    print(f"\nTotal: {total:.1f} s")
    print(f"VERDICT: {verdict}: {met}/{len(run)} targets met, total {total:.1f} s"
          + (" [--quick: these numbers are not the benchmark]" if quick else ""))
    result = dict(schema=SCHEMA, benchmark=name, quick=bool(quick), options=options or {},
                  environment=dict(torch=torch.__version__, python=platform.python_version(),
                                   platform=platform.platform(), threads=torch.get_num_threads(),
                                   date=datetime.datetime.now().isoformat(timespec="seconds")),
                  figures=figures, targets=targets, targets_met=met, targets_run=len(run), verdict=verdict,
                  total_seconds=total)
    path = Path(json_path) if json_path is not None else default_json_path(name, quick)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(result), indent=1, allow_nan=False) + "\n")
    print(f"JSON report: {path}", file=sys.stderr)
    return result


# -- for the tests ----------------------------------------------------------------------------------------
def finite(*values) -> bool:
    """Whether every value is a finite number (a JSON report writes nan and inf as null)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def quick_report(name: str, *extra: str):
    """A module-scoped pytest fixture: the JSON report of ``NAME.py --quick *extra`` (:func:`run_quick`) in a
    tmp folder."""
    import pytest

    @pytest.fixture(scope="module")
    def report(tmp_path_factory):
        return run_quick(name, tmp_path_factory.mktemp(name), *extra)

    return report


def run_quick(name: str, folder, *extra: str, timeout: float = 600) -> dict:
    """Run ``benchmarks/NAME.py --quick --json FOLDER/NAME.json *extra``; its JSON report, checked by
    :func:`check_report`."""
    path = Path(folder) / f"{name}.json"
    proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--quick", "--json", str(path), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    data = json.loads(path.read_text())
    check_report(data, name)
    print(proc.stdout)                               # pytest shows it with -s or on a failure
    return data


def check_report(data: dict, name: str) -> None:
    """The structure every report has (module docstring), the flag of a ``--quick`` run, a consistent verdict."""
    keys = {"schema", "benchmark", "quick", "options", "environment", "figures", "targets", "targets_met",
            "targets_run", "verdict", "total_seconds"}
    assert keys <= set(data), f"missing {sorted(keys - set(data))}"
    assert data["schema"] == SCHEMA and data["benchmark"] == name and data["quick"] is True
    assert data["options"]["quick"] is True and isinstance(data["figures"], dict) and data["figures"]
    assert data["total_seconds"] > 0
    for t in data["targets"]:
        assert set(t) == {"name", "value", "relation", "threshold", "met", "detail"}, t
        assert t["relation"] in RELATIONS and isinstance(t["threshold"], (int, float)), t
        if t["met"] is not None and t["value"] is not None:
            assert t["met"] == RELATIONS[t["relation"]](t["value"], t["threshold"]), t
    run = [t for t in data["targets"] if t["met"] is not None]
    assert data["targets_run"] == len(run) and data["targets_met"] == sum(t["met"] for t in run)
    expected = "n/a" if not run else ("PASS" if data["targets_met"] == len(run) else "FAIL")
    assert data["verdict"] == expected
