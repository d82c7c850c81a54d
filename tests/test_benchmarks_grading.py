"""benchmarks/grading.py runs with --quick and writes a sane JSON report (correctness only: no timing thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_grading_benchmark_reports_seconds_against_the_floor(tmp_path, sandbox_here):
    report = run_quick("grading", tmp_path)
    rows = report["figures"]["exercises"]
    assert [r["exercise"] for r in rows] == ["01_inverse_problems", "07_analytic_deep_prior"]
    assert [r["submissions"] for r in rows] == [4, 1]
    for r in rows:
        assert finite(r["floor"], r["median"], r["p95"], r["ratio_median"]) and r["floor"] > 0, r
        assert r["correct_full_marks"] == r["correct"], r        # the correct submissions score full marks
        # --quick: 1 round
        assert r["floor_spread"]["n"] == 1 and r["floor_spread"]["q1"] == r["floor"] == r["floor_spread"]["q3"]
    overall = report["figures"]["overall"]
    assert overall["submissions"] == 5 and finite(overall["ratio_median"], overall["wall_seconds"])
    low, high = overall["ratio_median_with_floor_iqr"]
    assert low == overall["ratio_median"] == high                   # one round: no spread of the floors
    assert report["targets_run"] == 1
