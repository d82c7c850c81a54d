"""benchmarks/lifting.py runs with --quick and writes a sane JSON report (correctness only: no timing thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_lifting_benchmark_reports_its_tables_and_targets(tmp_path):
    report = run_quick("lifting", tmp_path)
    figures = report["figures"]
    assert [r["image"] for r in figures["denoising"]] == ["camera", "astronaut", "coins"]
    for r in figures["denoising"]:
        assert finite(r["noisy"], r["bayes_shrink"], r["wavelet_best"], r["tv_best"], r["learned"]), r
        assert r["learned"] > r["noisy"] and r["inverse_error"] <= 1e-5, r
    deblur = figures["deblurring"]
    assert finite(deblur["tikhonov_best"], deblur["tv_best"], deblur["pnp_learned"]) and len(deblur["pnp_curve"]) == 5
    panels = figures["separation"]
    assert [(r["front"], r["back"]) for r in panels] == [("chelsea", "coffee"), ("coffee", "astronaut"),
                                                          ("astronaut", "chelsea")]
    for r in panels:
        with_side, blind = r["side information + exclusion"], r["no side information"]
        assert finite(with_side["front"], with_side["back"], blind["front"], blind["back"]), r
        assert with_side["parameters"]["mu"] > 0 and r["side information, no exclusion"]["parameters"]["mu"] == 0
    assert report["targets_run"] == 9 and all(t["met"] is not None for t in report["targets"])
