"""Lecture 04's record is the one the current code and recipe make (by hash, without retraining; the hash itself is
checked with every record in tests/test_recorded.py), and what it holds works."""
import pytest
import torch

from course_lib import data
from course_lib.lectures.lifting_network import (
    NETWORK_KEYS,
    RECIPE,
    RECORD,
    VALIDATION_IMAGE,
    pnp_tuning,
    pretrained_lifting_network,
)
from course_lib.lectures.recorded import manifest
from course_lib.lifting import WaveletTransform
from course_lib.metrics import psnr


def test_the_record_is_small_and_remade_in_15_minutes():
    facts = manifest(RECORD.name)
    assert facts["recipe"] == RECIPE and facts["seconds"] <= 900
    payload = RECORD.load()
    assert all(payload[key]["parameters"] <= 300_000 for key in NETWORK_KEYS)
    assert payload["fixed wavelet"]["parameters"] < payload["learned"]["parameters"]


def test_the_validation_image_is_a_training_image_and_not_a_test_image():
    assert VALIDATION_IMAGE in data.TRAINING_IMAGES and VALIDATION_IMAGE not in data.HELD_OUT_IMAGES


@pytest.mark.parametrize("key", NETWORK_KEYS)
def test_the_shipped_networks_denoise_at_every_level_and_invert(key):
    net = pretrained_lifting_network(key)
    x = data.test_image("camera", 128)[None, None]                   # held out: never seen in training
    for level in (10 / 255, 25 / 255, 40 / 255):
        y = x + level * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert psnr(net.denoise(y, level), x) > psnr(y, x) + 5
    with torch.no_grad():
        approximation, details = net(y)
        assert (net.inverse(approximation, details) - y).abs().max() <= 1e-5      # float32


def test_the_ablation_keeps_the_wavelet_fixed():
    net = pretrained_lifting_network("fixed wavelet").double()
    x = data.test_image("coins", 64, dtype=torch.float64)
    approximation, details = net(x[None, None])
    W = WaveletTransform((64, 64), "legall53", levels=RECIPE["levels"])
    assert torch.allclose(approximation[0, 0], W(x)[:8, :8], atol=1e-12)      # the 5/3 wavelet's approximation


def test_the_pnp_tuning_is_on_its_grids():
    tuning = pnp_tuning()
    setting = RECIPE["pnp"]
    assert set(tuning["best"]) == set(tuning["pnp"]) and len(tuning["pnp"]) == 2 + len(NETWORK_KEYS)
    for name, scores in tuning["pnp"].items():
        assert scores.shape == (len(setting["factors"]),) and tuning["best"][name] in setting["factors"]
    assert tuning["tv_deblur"].shape == (len(setting["tv_lams"]),) and tuning["tv_lam"] in setting["tv_lams"]
    with pytest.raises(ValueError, match="key is 'other'"):
        pretrained_lifting_network("other")
