"""Record the educated DIP of lecture 06: pretraining on dead leaves (the weights ship with the record), then DIP,
fine-tuning with and without TV, and TV deblurring on three test images.

    python scripts/record_edip.py          # about ten minutes on 2 CPU cores

Writes ``course_lib/pretrained/edip_runs.pt`` and ``.json`` (the recipe ``dip.EDUCATED_RUNS``, the hash of the
recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks, without
re-running, that the record is still the one the current code and recipe make.
"""
from course_lib import dip, recorded

if __name__ == "__main__":
    recorded.record("edip_runs", dip.educated_runs, dip.EDUCATED_RUNS, dip._educated_record_code(),
                    "python scripts/record_edip.py")
