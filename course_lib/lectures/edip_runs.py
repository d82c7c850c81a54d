"""Lecture 06's educated DIP, recorded: ``python scripts/record_edip.py`` (about ten minutes on 2 CPU cores).

A SkipNet pretrained on dead leaves for a deblurring operator (its weights ship with the record), then per test image
plain DIP, fine-tuning from the pretrained weights without and with TV, and TV deblurring at several weights.
:data:`RECORD` loads it, checked against the recipe and the code.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data
from ..dip import Metrics, SkipNet, educated_input, fit, pretrain
from ..functionals import TotalVariation
from ..metrics import psnr
from ..operators import Convolution2D, gaussian_kernel
from ..pnp import tv_denoiser
from ..solvers import fista
from .recorded import Record

__all__ = ["RECIPE", "ChambolleTV", "problem", "run", "RECORD", "recorded", "pretrained"]


class ChambolleTV(TotalVariation):
    """The course's isotropic :class:`~course_lib.functionals.TotalVariation`, its prox computed by scikit-image's
    Chambolle solver (:func:`~course_lib.pnp.tv_denoiser`, the same TV) instead of the inner dual solver: in FISTA on
    these 128 x 128 images about 4 times faster (an iteration 28 ms against 123 ms, where the inner solver runs to
    its cap of 100 steps), which the baseline's 5400 proxes per image need."""

    def _prox(self, v, s):
        return tv_denoiser(1.0)(v, float(s))


#: The educated DIP of lecture 06 (Barbano et al. 2022) on deblurring: the pretraining (its weights ship with the
#: record) and the runs the lecture plots.
RECIPE = {
    "images": ["camera", "astronaut", "coins"], "size": 128, "blur": 1.5, "sigma": 25 / 255, "seed": 0,
    "channels": 16, "depth": 4,
    "pretrain": {"n_iter": 1500, "size": 64, "batch": 8, "lr": 0.01, "phantoms": "dead_leaves"},
    "dip": {"n_iter": 1500, "lr": 0.01, "ema": 0.99},
    "finetune": {"n_iter": 600, "lr": 1e-3, "ema": 0.99, "tv_weight": 0.01},
    "tv_weights": [0.01, 0.02, 0.03, 0.04, 0.06, 0.08], "tv_iter": 300,
}


def problem(image: str, recipe: dict = RECIPE) -> tuple:
    """``(x, A, y)``: the deblurring problem of :data:`RECIPE` for one test image (Gaussian blur, circular,
    then noise)."""
    x = data.test_image(image, recipe["size"])
    A = Convolution2D(gaussian_kernel(recipe["blur"]), x.shape, padding="circular")
    return x, A, data.add_noise(A(x), sigma=recipe["sigma"], seed=recipe["seed"])


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Pretrain a :class:`SkipNet` (one input channel) on dead leaves for the deblurring operator, then, for each test
    image: the pretrained network's output (its PSNR and its residual), plain DIP, fine-tuning from the pretrained
    weights without and with TV (PSNR and loss per iteration), and TV deblurring at each of ``tv_weights`` (FISTA)."""
    r, f = recipe, recipe["finetune"]
    torch.manual_seed(r["seed"])
    net = SkipNet(in_channels=1, channels=r["channels"], depth=r["depth"])
    small = Convolution2D(gaussian_kernel(r["blur"]), (r["pretrain"]["size"],) * 2, padding="circular")
    _, pretraining = pretrain(net, small, r["sigma"], n_iter=r["pretrain"]["n_iter"], batch=r["pretrain"]["batch"],
                              lr=r["pretrain"]["lr"], phantoms=r["pretrain"]["phantoms"], seed=r["seed"],
                              progress=progress)
    weights = {name: value.detach().clone() for name, value in net.state_dict().items()}
    f32 = lambda values: torch.tensor(values, dtype=torch.float32)
    runs = {}
    for image in r["images"]:
        x, A, y = problem(image, r)
        with torch.no_grad():
            start = net.eval()(educated_input(A, y))[0, 0]
        torch.manual_seed(r["seed"])
        _, plain = fit(SkipNet(in_channels=32, channels=r["channels"], depth=r["depth"]), A, y,
                       n_iter=r["dip"]["n_iter"], lr=r["dip"]["lr"], ema=r["dip"]["ema"], seed=r["seed"],
                       progress=progress, observers=[Metrics(x)])
        tuned = {}
        for name, tv_weight in (("finetune", 0.0), ("finetune_tv", f["tv_weight"])):
            copy = SkipNet(in_channels=1, channels=r["channels"], depth=r["depth"])
            copy.load_state_dict(weights)
            _, run = fit(copy.eval(), A, y, n_iter=f["n_iter"], lr=f["lr"], ema=f["ema"], input_noise=0,
                         regulariser=TotalVariation(tv_weight, ndim=2) if tv_weight else None,
                         z=educated_input(A, y), seed=r["seed"], progress=progress,
                         observers=[Metrics(x)])
            tuned[name] = {"psnr": f32(run.psnr), "loss": f32(run.loss)}
        tv = [psnr(fista(A, y, ChambolleTV(w, ndim=2), n_iter=r["tv_iter"])[0], x) for w in r["tv_weights"]]
        runs[image] = {"blurred": psnr(y, x), "start_psnr": psnr(start, x),
                       "start_residual": ((A(start) - y) ** 2).mean().item(), "start": start.clone(),
                       "dip": {"psnr": f32(plain.psnr), "loss": f32(plain.loss)}, **tuned, "tv": f32(tv)}
    return {"weights": weights, "pretrain_loss": f32(pretraining.loss), "images": runs}


def pretrained(runs: dict | None = None, recipe: dict = RECIPE) -> nn.Module:
    """The recorded pretrained network of :func:`run` (``SkipNet``, one input channel), in eval mode.
    ``runs``: the payload of :func:`recorded` when the caller has it already (the record is then not
    read and checked a second time)."""
    net = SkipNet(in_channels=1, channels=recipe["channels"], depth=recipe["depth"])
    net.load_state_dict((runs if runs is not None else recorded())["weights"])
    return net.eval()


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("edip_runs", RECIPE, run, __name__, "python scripts/record_edip.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_edip.py`` (checked against the code)."""
    return RECORD.load()
