"""benchmarks/unfolding_lista.py runs and prints a sane table (correctness only: no timing thresholds)."""
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)"
METHODS = ("ISTA", "FISTA", "LISTA", "LISTA-CP", "LISTA-CPSS", "ALISTA")


@pytest.fixture(scope="module")
def output():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "unfolding_lista.py"), "--quick",
                           "--threads", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def row(output, name):
    rows = [line for line in output.splitlines() if re.match(rf"{re.escape(name)}\s+\d", line)]
    assert len(rows) == 1, f"expected one row for {name!r} in:\n{output}"
    return rows[0].split()


def test_prints_headers_and_verdict(output):
    for header in ("Deep unfolding:", "Setting: noiseless", "NMSE dB at layer", "method", "lam",
                   "train s", "params", "FISTA K", "FISTA, best lam of", "Targets:", "Total:"):
        assert header in output, f"{header!r} missing from:\n{output}"
    for target in ("ALISTA-4 <= -40 dB", "ALISTA training <= 60 s", "better than FISTA-4", "LISTA-CPSS-4 <= -30 dB"):
        assert re.search(rf"{re.escape(target)}.*: (PASS|FAIL) \(", output), f"{target!r} line missing:\n{output}"
    last = output.strip().splitlines()[-1]
    assert re.match(r"VERDICT: (PASS|FAIL): \d/4 targets met, total \d+\.\d s \[--quick", last), last


def test_rows_are_finite(output):
    for name in METHODS:
        cells = row(output, name)
        lam, nmse = float(cells[1]), [float(v) for v in cells[2:5]]  # --quick: T = 4, layers 1, 2, 4
        seconds, params, worth = cells[5], int(cells[6]), " ".join(cells[7:])
        assert lam > 0 and all(math.isfinite(v) and v < 0 for v in nmse), cells
        assert re.fullmatch(r"\d+|> \d+", worth), cells
        if name in ("ISTA", "FISTA"):
            assert seconds == "-" and params == 0
        else:
            assert math.isfinite(float(seconds)) and float(seconds) > 0 and params > 0
    assert int(row(output, "ALISTA")[6]) == 2 * 4  # a step and a threshold per layer


def test_fista_envelope_is_finite(output):
    line = next(line for line in output.splitlines() if line.startswith("FISTA, best lam of"))
    values = [float(v) for v in re.findall(rf"({NUMBER}) dB", line)]
    assert values and all(math.isfinite(v) for v in values)
