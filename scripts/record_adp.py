"""Record the long runs of lecture 07 (6000 ADP training steps per alpha, the sparse study) that the lecture loads.

    python scripts/record_adp.py          # about two minutes on 2 CPU cores

Writes ``course_lib/pretrained/adp_long_runs.pt`` and ``.json`` (the recipe ``adp.LONG_RUNS``, the hash of the
recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks, without
re-running, that the record is still the one the current code and recipe make.
"""
from course_lib import adp, recorded

if __name__ == "__main__":
    recorded.record("adp_long_runs", adp.long_runs, adp.LONG_RUNS, adp._record_code(), "python scripts/record_adp.py")
