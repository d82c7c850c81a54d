"""benchmarks/dip.py runs with --quick and writes its table and targets as JSON (correctness only: no timing
thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_dip_benchmark_reports_its_tables_and_targets(tmp_path):
    report = run_quick("dip", tmp_path, "--threads", "1")
    rows = report["figures"]["rows"]
    # --quick: 1 seed
    assert [(r["image"], r["seed"]) for r in rows] == [("camera", 0), ("astronaut", 0), ("coins", 0)]
    for r in rows:
        assert finite(r["noisy"], r["peak"], r["dd_peak"], r["dd_end"]) and 15 < r["noisy"] < 25, r    # denoising
        # deblurring
        assert finite(r["blurred"], r["b_peak"], r["ed_start"], r["ed_peak"]) and 10 < r["blurred"] < 25, r
        assert 1 <= r["k_peak"] <= 60 and 1 <= r["b_k_peak"] <= 60, r
    assert finite(report["figures"]["pretrain_seconds"])
    names = [t["name"] for t in report["targets"]]
    for name, wanted in zip(names, ("DIP peak >= noisy + 6 dB within 60 s", "detected stop <= 1 dB below the peak",
                                    "deep decoder ends within 0.3 dB of its peak", "EDIP reaches DIP's peak")):
        assert name.startswith(wanted), names
    assert report["targets_run"] == 4
