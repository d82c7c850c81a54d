"""benchmarks/adp.py runs and prints a sane table (correctness only: no timing thresholds)."""
import math
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_adp_benchmark_prints_its_table_and_targets():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "adp.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    rows = [line for line in out.splitlines() if re.match(r"(u5|u2\+0\.6u5-0\.4u9|sparse) ", line)]
    assert len(rows) == 14, out                      # 2 examples x 3 alphas x (fixed, adaptive) + 2 sparse rows
    for line in rows:
        tikhonov, adp_error, ratio = (float(v) for v in line.split()[4:7])
        assert math.isfinite(tikhonov) and math.isfinite(adp_error) and tikhonov > 0 and adp_error > 0, line
        assert abs(ratio - tikhonov / adp_error) < 0.01 * ratio + 0.01, line
    for target in ("ADP error below Tikhonov's at the same alpha in every case", "at the smallest alpha of each example",
                   "whole table in <= 20 s"):
        assert re.search(re.escape(target) + r".*: (PASS|FAIL) \(", out), target
    assert re.search(r"VERDICT: (PASS|FAIL): \d/3 targets met, total \d+\.\d s \[--quick", out.strip().splitlines()[-1])
