"""Record the long runs of lecture 06 (6000 DIP iterations with and without TV, the fitting-speed curves) that the lecture loads.

    python scripts/record_dip.py          # about eight minutes on 2 CPU cores

Writes ``course_lib/pretrained/dip_long_runs.pt`` and ``dip_long_runs.json`` (the recipe ``dip.LONG_RUNS``, the hash
of the recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks,
without re-running, that the record is still the one the current code and recipe make.
"""
from __future__ import annotations

import torch

from course_lib import dip, recorded


def main() -> None:
    torch.set_num_threads(2)
    payload, seconds = recorded.timed(dip.long_runs, dip.LONG_RUNS, progress=True)
    path = recorded.save("dip_long_runs", payload, dip.LONG_RUNS, dip._record_code(), "python scripts/record_dip.py",
                         seconds)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) in {seconds:.0f} s")


if __name__ == "__main__":
    main()
