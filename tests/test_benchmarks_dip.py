"""benchmarks/dip.py runs and prints its table and targets (correctness only: no timing thresholds)."""
import math
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dip_benchmark_prints_its_table_and_targets():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dip.py"), "--quick", "--threads", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    rows = [line for line in out.splitlines() if re.match(r"(camera|astronaut|coins) ", line)]
    assert len(rows) == 6, out                       # the denoising table, then the deblurring (EDIP) table
    for line in rows[:3]:
        values = line.split()
        noisy, peak = float(values[2]), float(values[3])
        assert math.isfinite(noisy) and math.isfinite(peak) and 15 < noisy < 25, line
    for line in rows[3:]:
        blurred, dip_peak, edip_start = (float(v) for v in line.split()[2:5])
        assert all(math.isfinite(v) for v in (blurred, dip_peak, edip_start)) and 10 < blurred < 25, line
    for target in ("DIP peak >= noisy + 6 dB within 60 s", "detected stop <= 1 dB below the peak",
                   "deep decoder ends within 0.3 dB of its peak", "EDIP reaches DIP's peak"):
        assert re.search(re.escape(target) + r".*: (PASS|FAIL) \(", out), target
    assert re.search(r"VERDICT: (PASS|FAIL): \d/4 targets met, total \d+\.\d s \[--quick", out.strip().splitlines()[-1])
