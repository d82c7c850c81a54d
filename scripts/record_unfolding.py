"""Record lecture 03's trainings: python scripts/record_unfolding.py   (about 45 minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/unfolding_runs.py (RECORD).
"""
from course_lib.lectures import unfolding_runs

if __name__ == "__main__":
    unfolding_runs.RECORD.make()
