"""Record the long runs of lecture 06 (6000 DIP iterations with and without TV, the deep decoder, inpainting, the fitting-speed curves) that the lecture loads.

    python scripts/record_dip.py          # about eight minutes on 2 CPU cores

Writes ``course_lib/pretrained/dip_long_runs.pt`` and ``.json`` (the recipe ``dip.LONG_RUNS``, the hash of the
recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks, without
re-running, that the record is still the one the current code and recipe make.
"""
from course_lib import dip, recorded

if __name__ == "__main__":
    recorded.record("dip_long_runs", dip.long_runs, dip.LONG_RUNS, dip._record_code(), "python scripts/record_dip.py")
