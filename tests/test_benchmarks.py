"""The benchmark scripts run and print sane tables (correctness only: no timing thresholds)."""
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)"


@pytest.fixture(scope="module")
def sparse_coding_output():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sparse_coding.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def numbers(line):
    return [float(s) for s in re.findall(NUMBER, line, flags=re.IGNORECASE)]


def table_row(output, prefix):
    rows = [line for line in output.splitlines() if re.match(prefix, line)]
    assert len(rows) == 1, f"expected one line starting with {prefix!r} in:\n{output}"
    return rows[0]


def test_prints_headers(sparse_coding_output):
    for header in ("Timing:", "method", "ms/iter", "x floor", "floor (2 matmuls)", "Quality:", "F* =",
                   "L-BFGS-B cross-check", "F-F*", "rel gap", "NMSE dB", "Measured rate p", "Total:"):
        assert header in sparse_coding_output, f"{header!r} missing from:\n{sparse_coding_output}"
    last = sparse_coding_output.strip().splitlines()[-1]
    assert re.match(r"VERDICT: (PASS|FAIL): ISTA \d+\.\d+x", last), last


def test_timing_rows_are_finite_and_positive(sparse_coding_output):
    for name in (r"floor \(2 matmuls\)", "ISTA", "FISTA"):
        ms, ratio = numbers(table_row(sparse_coding_output, rf"{name}\s+\d"))[-2:]
        assert math.isfinite(ms) and ms > 0 and math.isfinite(ratio) and ratio > 0
    assert re.search(r"ISTA <= [\d.]+x floor: (PASS|FAIL) \(\d+\.\d+x\)", sparse_coding_output)


def test_quality_table_is_finite_and_consistent(sparse_coding_output):
    f_star = numbers(table_row(sparse_coding_output, r"F\* = "))[0]
    assert math.isfinite(f_star) and f_star > 0
    # the reference optimum agrees with an independent solver (L-BFGS-B)
    assert numbers(table_row(sparse_coding_output, "L-BFGS-B"))[-1] < 1e-6
    gaps = {}
    for k in (10, 50):  # the table rows present with --quick
        row = numbers(table_row(sparse_coding_output, rf"\s*{k}\s"))
        assert len(row) == 7 and all(math.isfinite(v) for v in row), row
        _, ista_gap, ista_rel, ista_nmse, fista_gap, fista_rel, fista_nmse = row
        assert ista_gap > 0 and fista_gap > 0  # F* is the optimum
        assert ista_rel == pytest.approx(ista_gap / f_star, rel=0.01)
        assert fista_rel == pytest.approx(fista_gap / f_star, rel=0.01)
        assert ista_nmse < 0 and fista_nmse < 0
        gaps[k] = (ista_gap, fista_gap)
    assert gaps[50][0] < gaps[10][0] and gaps[50][1] < gaps[10][1]  # both methods make progress
    rates = numbers(table_row(sparse_coding_output, "Measured rate p").split(":", 1)[1])
    assert all(math.isfinite(r) for r in rates)
