"""Record lecture 05's trainings: python scripts/record_domains.py   (about 15 minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/domain_runs.py (RECORD).
"""
from course_lib.lectures import domain_runs

if __name__ == "__main__":
    domain_runs.RECORD.make()
