"""Record lecture 06's educated DIP (pretrained weights and runs): python scripts/record_edip.py   (about ten minutes
on 2 CPU cores)

What it runs and writes: course_lib/lectures/edip_runs.py (RECORD).
"""
from course_lib.lectures import edip_runs

if __name__ == "__main__":
    edip_runs.RECORD.make()
