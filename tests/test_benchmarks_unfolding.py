"""benchmarks/unfolding_lista.py runs with --quick and writes a sane JSON report (correctness only: no timing
thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, quick_report  # noqa: E402

report = quick_report("unfolding_lista", "--threads", "1")
METHODS = ["ISTA", "FISTA", "LISTA", "LISTA-CP", "LISTA-CPSS", "ALISTA"]


def methods(report):
    assert list(report["figures"]["settings"]) == ["noiseless"]     # --quick: the noiseless setting
    return report["figures"]["settings"]["noiseless"]["methods"]


def test_reports_every_method_and_target(report):
    assert list(methods(report)) == METHODS and report["figures"]["layers"] == 4
    names = [t["name"] for t in report["targets"]]
    for name, wanted in zip(names, ("ALISTA-4 <= -40 dB", "ALISTA training <= 60 s", "better than FISTA-4",
                                    "LISTA-CPSS-4 <= -30 dB")):
        assert wanted in name, names
    assert report["targets_run"] == 4


def test_rows_are_finite(report):
    for name, row in methods(report).items():
        assert row["lam"] > 0 and len(row["nmse_db"]) == 4, name               # --quick: T = 4
        assert finite(*row["nmse_db"]) and max(row["nmse_db"]) < 0, name
        assert row["fista_k"] is None or 1 <= row["fista_k"] <= report["figures"]["fista_max"], name
        if name in ("ISTA", "FISTA"):
            assert row["train_seconds"] is None and row["params"] == 0 and row["best_iteration"] is None
        else:
            assert finite(row["train_seconds"]) and row["train_seconds"] > 0 and row["params"] > 0
            assert 1 <= row["best_iteration"] <= 20                           # --quick: 20 steps
    assert methods(report)["ALISTA"]["params"] == 2 * 4                       # a step and a threshold per layer


def test_fista_envelope_is_finite(report):
    envelope = report["figures"]["settings"]["noiseless"]["fista_best_lam_nmse_db"]
    assert list(envelope) == ["16", "100"] and finite(*envelope.values())    # --quick: FISTA to 100
