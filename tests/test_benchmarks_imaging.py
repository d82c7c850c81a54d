"""benchmarks/unfolding_imaging.py runs with --quick and writes a sane JSON report (correctness only: no timing
thresholds)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, quick_report  # noqa: E402

report = quick_report("unfolding_imaging", "--threads", "1")


def positive(*values):
    return finite(*values) and min(values) > 0


def spread_ok(median, spread, rounds=2):
    """A median and its spread over the interleaved rounds (--quick: 2)."""
    return spread["n"] == rounds and spread["min"] <= spread["q1"] <= median <= spread["q3"] <= spread["max"]


def reach_ok(row):
    return row["reach_k"] is None or 1 <= row["reach_k"] <= row["reach_limit"]


def test_reports_every_part_and_target(report):
    assert list(report["figures"]) == ["rpca", "lightfield", "superres"]
    names = [t["name"] for t in report["targets"]]
    for name, wanted in zip(names, ("Unfolded RPCA-10 >= 6 dB better than FISTA-RPCA-10",
                                    "Unfolded ISTA-5 NMSE <= ISTA-20 NMSE",
                                    "ISTA-20 latency >= 20x unfolded ISTA-5",
                                    "Learned conv. ISTA-10 NMSE <= ISTA-100 NMSE (best lam)")):
        assert name.startswith(wanted), names
    assert report["targets_run"] == 4


def test_rpca_rows_are_finite(report):
    rpca = report["figures"]["rpca"]
    assert list(rpca["methods"]) == ["FISTA-RPCA-10", "ISTA-RPCA-10", "FISTA-RPCA-30"]   # --quick: the long run has 30
    for name, row in rpca["methods"].items():
        assert row["lam_L"] in (1, 2, 5) and row["lam_S"] in (0.2, 0.5, 1), name
        assert finite(row["nmse_db"]) and positive(row["latency_ms"]), name
        assert (spread_ok(row["latency_ms"], row["latency_ms_spread"])
                and spread_ok(row["times_network"], row["times_network_spread"]))
    network = rpca["network"]
    assert len(network["nmse_db"]) == 10 and finite(*network["nmse_db"], network["untrained_nmse_db"])
    assert positive(network["latency_ms"], network["train_seconds"])


def test_lightfield_rows_are_finite(report):
    lightfield = report["figures"]["lightfield"]
    assert list(lightfield["ista"]) == ["lam of the network", "tuned at 20", "best lam per K"]
    for name, row in lightfield["ista"].items():
        assert list(row["nmse_db"]) == ["5", "10", "20", "50"] and finite(*row["nmse_db"].values()), name   # --quick
        assert reach_ok(row), row
    network = lightfield["network"]
    for curve in (network["untrained_nmse_db"], network["nmse_db"]):
        assert len(curve) == 5 and finite(*curve) and max(curve) < 0, curve
    assert (list(lightfield["latency_ms"]) == ["network", "ISTA-20", "ISTA-K"]
            and positive(*lightfield["latency_ms"].values()))
    for name, ms in lightfield["latency_ms"].items():
        assert spread_ok(ms, lightfield["latency_ms_spread"][name]), name
        assert spread_ok(lightfield["times_network"][name], lightfield["times_network_spread"][name]), name
    assert lightfield["times_network"]["network"] == 1
    [speed] = [t for t in report["targets"] if "latency" in t["name"]]
    assert speed["value"] == lightfield["times_network"]["ISTA-20"] and "IQR" in speed["detail"]   # per-round ratio


def test_superres_rows_are_finite(report):
    superres = report["figures"]["superres"]
    assert list(superres["solvers"]) == ["ISTA", "ISTA, best per K", "FISTA", "FISTA, best per K"]
    for name, row in superres["solvers"].items():
        nmse = row["nmse_db"]
        assert list(nmse) == ["10", "20", "50", "100"] and finite(*nmse.values()) and max(nmse.values()) < 0, name
        assert reach_ok(row), row
    untrained, trained = superres["network"]["untrained_nmse_db"], superres["network"]["nmse_db"]
    assert (len(untrained) == 10
            and abs(untrained[-1] - superres["solvers"]["ISTA"]["nmse_db"]["10"]) < 0.02)  # = ISTA-10
    assert len(trained) == 10 and finite(*trained) and superres["kernel"] == 9
    assert list(superres["latency_ms"]) == ["network", "ISTA-100"] and positive(*superres["latency_ms"].values())
    assert all(spread_ok(ms, superres["latency_ms_spread"][name]) for name, ms in superres["latency_ms"].items())
