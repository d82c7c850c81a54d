"""Record lecture 02's trainings: python scripts/record_architectures.py   (about ten minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/architecture_runs.py (RECORD).
"""
from course_lib.lectures import architecture_runs

if __name__ == "__main__":
    architecture_runs.RECORD.make()
