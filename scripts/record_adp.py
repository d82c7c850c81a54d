"""Record the long runs of lecture 07 (6000 ADP training steps per alpha, the sparse study) that the lecture loads.

    python scripts/record_adp.py          # about two minutes on 2 CPU cores

Writes ``course_lib/pretrained/adp_long_runs.pt`` and ``adp_long_runs.json`` (the recipe ``adp.LONG_RUNS``, the hash
of the recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks,
without re-running, that the record is still the one the current code and recipe make.
"""
from __future__ import annotations

import torch

from course_lib import adp, recorded


def main() -> None:
    torch.set_num_threads(2)
    payload, seconds = recorded.timed(adp.long_runs, adp.LONG_RUNS, progress=True)
    path = recorded.save("adp_long_runs", payload, adp.LONG_RUNS, adp._record_code(), "python scripts/record_adp.py",
                         seconds)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) in {seconds:.0f} s")


if __name__ == "__main__":
    main()
