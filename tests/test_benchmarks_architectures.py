"""benchmarks/architectures.py runs with --quick and writes its tables and targets as JSON (correctness only)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import finite, run_quick  # noqa: E402


def test_architectures_benchmark_reports_its_tables_and_targets(tmp_path):
    report = run_quick("architectures", tmp_path, "--threads", "1")
    figures = report["figures"]
    assert figures["evidence"]["draws"] == 10 and 0 <= figures["evidence"]["right"] <= 10
    assert [d["layers"] for d in figures["deep"]] == [6, 4]                  # --quick: 2 and 1 blocks
    for d in figures["deep"]:
        assert len(d["runs"]) == 1 and 0 < d["median_steps_to_match"] <= 1
        for name in ("residual", "plain"):
            assert finite(d[name + "_final_loss"], d[name + "_top_eigenvalue"], d[name + "_bottom_eigenvalue"])
            assert d[name + "_top_eigenvalue"] >= d[name + "_bottom_eigenvalue"]
    assert finite(figures["plain_without_normalisation_loss"])
    eq = figures["equivariance"]
    assert eq["sizes"] == [32, 64] and set(eq["accuracy"]) == {"P4CNN", "CNN", "CNN + rotations"}
    assert all(0 <= a <= 1 for row in eq["accuracy"].values() for a in row)
    assert report["targets_run"] == 5
