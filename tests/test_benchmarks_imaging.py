"""benchmarks/unfolding_imaging.py runs and prints sane tables (correctness only: no timing thresholds)."""
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)"


@pytest.fixture(scope="module")
def output():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "unfolding_imaging.py"), "--quick",
                           "--threads", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def numbers(line):
    return [float(s) for s in re.findall(NUMBER, line, flags=re.IGNORECASE)]


def row(output, prefix):
    rows = [line for line in output.splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, f"expected one line starting with {prefix!r} in:\n{output}"
    return rows[0]


def test_prints_headers_and_verdict(output):
    for header in ("Deep unfolding for imaging:", "Part 1: unfolded RPCA", "S NMSE dB", "latency ms",
                   "Part 2: non-negative unfolded ISTA", "NMSE dB after K iterations", "reach K",
                   "Latency on the 10 test volumes", "Part 3: learned convolutional ISTA", "Latency on the 8 test images",
                   "Targets:", "Total:"):
        assert header in output, f"{header!r} missing from:\n{output}"
    for target in ("Unfolded RPCA-10 >= 6 dB better than FISTA-RPCA-10", "Unfolded ISTA-5 NMSE <= ISTA-20 NMSE",
                   "ISTA-20 latency >= 20x unfolded ISTA-5", "Learned conv. ISTA-10 NMSE <= ISTA-100 NMSE (best lam)"):
        assert re.search(rf"{re.escape(target)}.*: (PASS|FAIL) \(", output), f"{target!r} line missing:\n{output}"
    last = output.strip().splitlines()[-1]
    assert re.match(r"VERDICT: (PASS|FAIL): \d/4 targets met, total \d+\.\d s \[--quick", last), last


def test_rpca_rows_are_finite(output):
    for name in ("FISTA-RPCA-10", "ISTA-RPCA-10", "FISTA-RPCA-30"):  # --quick: the long run has 30 iterations
        lam_L, lam_S, nmse, ms = numbers(row(output, name + " "))[-4:]
        assert lam_L in (1, 2, 5) and lam_S in (0.2, 0.5, 1), name
        assert math.isfinite(nmse) and math.isfinite(ms) and ms > 0, name
    for k in (1, 2, 5, 10):
        nmse = numbers(row(output, f"unfolded RPCA layer {k} "))[-1 if k < 10 else -2]
        assert math.isfinite(nmse), k
    assert math.isfinite(numbers(row(output, "unfolded RPCA, untrained"))[-1])


def test_lightfield_rows_are_finite(output):
    for prefix in ("lam of the network", "tuned at 20", "best lam per K"):  # --quick: K = 5, 10, 20, 50
        line = row(output, prefix)
        nmse = [float(v) for v in line[26:26 + 4 * 8].split()]   # 19 + 7 characters of name and lam
        assert len(nmse) == 4 and all(math.isfinite(v) for v in nmse), line
        assert re.fullmatch(r"\d+|> \d+", line[26 + 4 * 8:].strip()), line
    for prefix in ("untrained", "trained"):
        line = row(output, prefix + " ")
        nmse = numbers(line.split("(")[0])[1:6]                     # lam, then layers 1..5
        assert len(nmse) == 5 and all(math.isfinite(v) and v < 0 for v in nmse), line
    part2 = output.split("Part 2:")[1].split("Part 3:")[0]
    latency = [line for line in part2.splitlines() if re.match(r"  (network \(5 layers\)|ISTA-\d+ \(lam)", line)]
    assert len(latency) == 3 and "ISTA-20 (lam" in latency[1], latency   # the network, ISTA-20, ISTA-K
    for line in latency:
        ms = float(re.search(rf"({NUMBER}) ms", line).group(1))
        assert math.isfinite(ms) and ms > 0, line


def test_superres_rows_are_finite(output):
    part3 = output.split("Part 3:")[1].split("Targets:")[0]
    for prefix in ("ISTA ", "ISTA, best per K", "FISTA ", "FISTA, best per K"):  # --quick: K = 10, 20, 50, 100
        line = row(part3, prefix)
        nmse = [float(v) for v in line[26:26 + 4 * 8].split()]
        assert len(nmse) == 4 and all(math.isfinite(v) and v < 0 for v in nmse), line
        assert re.fullmatch(r"\d+|> \d+", line[26 + 4 * 8:].strip()), line
    untrained = numbers(row(part3, "learned, untrained"))[1:11]
    ista_10 = float(row(part3, "ISTA ")[26:34])
    assert len(untrained) == 10 and abs(untrained[-1] - ista_10) < 0.02, (untrained, ista_10)  # layer 10 = ISTA-10
    trained = numbers(row(part3, "learned, trained").split("(")[0])[1:11]
    assert len(trained) == 10 and all(math.isfinite(v) for v in trained)
    assert re.search(r"filters 9x9 coarse pixels", part3)
    latency = [line for line in part3.splitlines() if re.match(r"  (network \(10 layers\)|ISTA-100 \(lam)", line)]
    assert len(latency) == 2, latency
