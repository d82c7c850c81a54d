"""Train the lifting network that lecture 04 and benchmarks/lifting.py load, and record how it was made.

    python scripts/train_lifting.py          # about two minutes on 2 CPU cores

Writes ``course_lib/pretrained/lifting_sigma25.pt`` (the weights) and ``lifting_sigma25.json`` (the recipe,
the hash of the recipe and of the code that trains with it, the weights' sha256, the training loss and
seconds). ``tests/test_pretrained.py`` checks, without training, that the file still matches the code.
"""
from __future__ import annotations

import hashlib
import io
import json
import time

import torch

from course_lib.lifting import LIFTING_RECIPE, PRETRAINED, recipe_hash, train_lifting_denoiser


def main() -> None:
    torch.set_num_threads(2)
    start = time.perf_counter()
    net, history = train_lifting_denoiser(**LIFTING_RECIPE)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    weights = buffer.getvalue()
    PRETRAINED.mkdir(exist_ok=True)
    (PRETRAINED / "lifting_sigma25.pt").write_bytes(weights)
    manifest = {"recipe": LIFTING_RECIPE, "recipe_hash": recipe_hash(LIFTING_RECIPE),
                "weights_sha256": hashlib.sha256(weights).hexdigest(), "parameters": net.n_parameters,
                "loss_first_20": sum(history.loss[:20]) / 20, "loss_last_20": sum(history.loss[-20:]) / 20,
                "seconds": round(time.perf_counter() - start, 1), "torch": torch.__version__}
    (PRETRAINED / "lifting_sigma25.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {PRETRAINED / 'lifting_sigma25.pt'} ({len(weights) // 1024} KiB, {net.n_parameters} parameters) "
          f"in {manifest['seconds']} s; loss {manifest['loss_first_20']:.4g} -> {manifest['loss_last_20']:.4g}")


if __name__ == "__main__":
    main()
