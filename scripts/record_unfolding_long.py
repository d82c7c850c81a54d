"""Record lecture 03's long trainings: python scripts/record_unfolding_long.py   (about 45 minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/unfolding_long_runs.py (RECORD).
"""
from course_lib.lectures import unfolding_long_runs

if __name__ == "__main__":
    unfolding_long_runs.RECORD.make()
