"""benchmarks/sparse_coding.py runs with --quick and writes a sane JSON report (correctness only: no timing
thresholds)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, quick_report  # noqa: E402

report = quick_report("sparse_coding")
FLOOR = "floor (2 matmuls)"


def test_reports_timing_quality_and_its_target(report):
    assert set(report["figures"]) == {"timing", "quality"}
    ms = report["figures"]["timing"]["ms_per_iteration"]
    assert list(ms) == [FLOOR, "ISTA", "FISTA"]
    [target] = report["targets"]
    assert target["name"] == "ISTA <= 1.3x floor" and target["relation"] == "<=" and target["threshold"] == 1.3
    # the verdict is the median over the rounds of the per-round ratio ISTA / floor (not a ratio of two medians)
    assert target["value"] == report["figures"]["timing"]["times_floor"]["ISTA"] and target["met"] is not None
    assert "IQR" in target["detail"] and "3 rounds" in target["detail"]      # --quick: 3 rounds


def test_timing_rows_are_finite_and_positive(report):
    timing = report["figures"]["timing"]
    for name, ms in timing["ms_per_iteration"].items():
        ratio = timing["times_floor"][name]
        assert finite(ms, ratio) and ms > 0 and ratio > 0, name
        for median, spread in ((ms, timing["ms_per_iteration_spread"][name]),
                               (ratio, timing["times_floor_spread"][name])):
            assert (set(spread) == {"q1", "q3", "min", "max", "n"}
                    and spread["n"] == timing["repeats"] == 3), (name, spread)
            assert spread["min"] <= spread["q1"] <= median <= spread["q3"] <= spread["max"], (name, median, spread)
    assert timing["times_floor"][FLOOR] == 1 and timing["times_floor_spread"][FLOOR]["max"] == 1


def test_quality_table_is_finite_and_consistent(report):
    q = report["figures"]["quality"]
    assert finite(q["f_star"]) and q["f_star"] > 0
    assert q["lbfgs_max_relative_difference"] < 1e-6   # the reference optimum agrees with an independent solver
    gaps = {}
    for name in ("ISTA", "FISTA"):
        table = q["table"][name]
        assert list(table) == ["10", "50"]              # the rows present with --quick
        for k, row in table.items():
            assert finite(*row.values()) and row["gap"] > 0 and row["nmse_db"] < 0, (name, k, row)   # F* is the optimum
            assert row["relative_gap"] == pytest.approx(row["gap"] / q["f_star"])
        gaps[name] = [table[k]["gap"] for k in ("10", "50")]
        assert gaps[name][1] < gaps[name][0]            # progress
    assert finite(*q["rate"].values(), *q["gap_ratio_per_iteration"].values())
