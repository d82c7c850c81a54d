"""Record lecture 07's long runs: python scripts/record_adp.py   (about six minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/adp_runs.py (RECORD).
"""
from course_lib.lectures import adp_runs

if __name__ == "__main__":
    adp_runs.RECORD.make()
