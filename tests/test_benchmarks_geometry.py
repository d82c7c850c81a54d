"""benchmarks/geometry.py runs with --quick and writes a sane JSON report (correctness only: no timing thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_geometry_benchmark_reports_its_tables_and_targets(tmp_path):
    report = run_quick("geometry", tmp_path)
    figures = report["figures"]
    rec = figures["reconstruction"]
    assert ([(r["image"], r["levels"]) for r in rec][:3] == [("camera", 1), ("camera", 2), ("camera", 3)]
            and len(rec) == 9)
    for r in rec:
        assert r["with_highpass"] < 1e-10 and r["skip_without_highpass"] < 1e-10 and r["energy_gap"] < 1e-10, r
        assert 0 < r["without_highpass"] < 1, r
    regions = figures["regions"]
    assert list(regions["by_depth"]) == ["1", "2", "3"] and list(regions["by_width"]) == ["8", "16", "32"]
    assert all(v >= 1 for v in regions["by_depth"].values()) and finite(regions["width_exponent"])
    assert [r["signal"] for r in figures["denoising"]][0] == "3 cosines on the grid"
    assert all(finite(r["noisy"], r["denoised"]) for r in figures["denoising"])
    assert report["targets_run"] == 6
