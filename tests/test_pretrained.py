"""The shipped lifting network is the one the current code and recipe make (by hash, without retraining)."""
import hashlib
import json

import torch

from course_lib import data
from course_lib.lifting import LIFTING_RECIPE, PRETRAINED, pretrained_lifting_network, recipe_hash
from course_lib.metrics import psnr


def test_the_shipped_weights_match_the_code_and_the_recipe():
    manifest = json.loads((PRETRAINED / "lifting_sigma25.json").read_text())
    assert manifest["recipe"] == LIFTING_RECIPE, "the recipe changed: run python scripts/train_lifting.py"
    assert manifest["recipe_hash"] == recipe_hash(LIFTING_RECIPE), \
        "the code that trains the network changed: run python scripts/train_lifting.py"
    weights = (PRETRAINED / "lifting_sigma25.pt").read_bytes()
    assert hashlib.sha256(weights).hexdigest() == manifest["weights_sha256"]
    assert manifest["parameters"] <= 100_000 and manifest["seconds"] <= 180


def test_the_shipped_network_denoises_and_inverts():
    net = pretrained_lifting_network()
    sigma = LIFTING_RECIPE["sigma"]
    x = data.test_image("camera", 128)[None, None]                   # held out: never seen in training
    y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert psnr(net.denoise(y, sigma), x) > psnr(y, x) + 6
        approximation, details = net(y)
        assert (net.inverse(approximation, details) - y).abs().max() <= 1e-5      # float32
