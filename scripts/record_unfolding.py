"""Record the trainings of lecture 03: the sparse-coding networks and two black-box MLPs with equal budgets (their
per-layer NMSE before and after training), FISTA at every λ of a grid for 2000 iterations, and the weights of the
convolutional LISTA, the light-field networks (supervised, semi-supervised, self-supervised), the unfolded RPCA and
the neural proximal gradient, which the lecture loads.

    python scripts/record_unfolding.py          # about 10 minutes on 2 CPU cores

Writes ``course_lib/pretrained/unfolding_runs.pt`` and ``.json`` (the recipe ``unfolding.LECTURE_RUNS``, the hash of
the recipe and of the code that runs it, the file's sha256, the seconds). ``tests/test_recorded.py`` checks, without
re-running, that the record is still the one the current code and recipe make.
"""
from course_lib import recorded, unfolding

if __name__ == "__main__":
    recorded.record("unfolding_runs", unfolding.lecture_runs, unfolding.LECTURE_RUNS, unfolding._record_code(),
                    "python scripts/record_unfolding.py")
