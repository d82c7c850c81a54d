"""benchmarks/adp.py runs with --quick and writes a sane JSON report (correctness only: no timing thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_adp_benchmark_reports_its_table_and_targets(tmp_path):
    report = run_quick("adp", tmp_path)
    rows = report["figures"]["rows"]
    assert len(rows) == 14                           # 2 examples x 3 alphas x (fixed, adaptive) + 2 sparse rows
    assert [r["variant"] for r in rows].count("unrolled") == 2 and sum(r["in_targets"] for r in rows) == 6
    for r in rows:
        assert finite(r["reference_error"], r["adp_error"], r["ratio"], r["alpha_end"]), r
        assert r["reference_error"] > 0 and r["adp_error"] > 0 and 1 <= r["steps"] <= 20, r   # --quick: 20 steps
        assert abs(r["ratio"] - r["reference_error"] / r["adp_error"]) < 1e-9 * r["ratio"], r
    names = [t["name"] for t in report["targets"]]
    for name, wanted in zip(names, ("ADP error below Tikhonov's at the same alpha in every case",
                                    "at the smallest alpha of each example", "whole table in <= 20 s")):
        assert wanted in name, names
    assert report["targets_run"] == 3
