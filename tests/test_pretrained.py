"""The shipped lifting network is the one the current code and recipe make (by hash, without retraining; the hash
itself is checked with every record in tests/test_recorded.py), and it works."""
import torch

from course_lib import data
from course_lib.lectures.lifting_network import RECIPE, RECORD, pretrained_lifting_network
from course_lib.lectures.recorded import manifest
from course_lib.metrics import psnr


def test_the_shipped_network_is_small_and_quick_to_remake():
    facts = manifest(RECORD.name)
    assert facts["recipe"] == RECIPE and facts["seconds"] <= 180
    assert RECORD.load()["parameters"] <= 100_000


def test_the_shipped_network_denoises_and_inverts():
    net = pretrained_lifting_network()
    sigma = RECIPE["sigma"]
    x = data.test_image("camera", 128)[None, None]                   # held out: never seen in training
    y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert psnr(net.denoise(y, sigma), x) > psnr(y, x) + 6
        approximation, details = net(y)
        assert (net.inverse(approximation, details) - y).abs().max() <= 1e-5      # float32
