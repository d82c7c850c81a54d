"""Train lecture 04's lifting network and its ablation, tune plug-and-play on the validation image, and record it:
python scripts/train_lifting.py   (about 10 minutes on 2 CPU cores)

What it runs and writes: course_lib/lectures/lifting_network.py (RECORD).
"""
from course_lib.lectures import lifting_network

if __name__ == "__main__":
    lifting_network.RECORD.make()
