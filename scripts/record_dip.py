"""Record lecture 06's long DIP runs: python scripts/record_dip.py   (about 15-30 minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/dip_runs.py (RECORD).
"""
from course_lib.lectures import dip_runs

if __name__ == "__main__":
    dip_runs.RECORD.make()
