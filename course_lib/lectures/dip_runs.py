"""Lecture 06's long runs, recorded: ``python scripts/record_dip.py`` (about seven minutes on 2 CPU cores).

DIP denoising for 6000 iterations (PSNR, loss, the windowed variance, ES-WMV's choice, snapshots), the same with TV,
Ulyanov et al.'s fitting-speed experiment, inpainting, and the deep decoder. :data:`RECORD` loads it, checked
against the recipe and the code.
"""
from __future__ import annotations

import torch

from .. import data
from ..dip import (
    DeepDecoder,
    EarlyStopping,
    Metrics,
    SkipNet,
    Snapshots,
    WindowedVarianceDetector,
    fit,
    generator_input,
)
from ..functionals import TotalVariation
from ..operators import Identity, Inpainting
from .recorded import Record

__all__ = ["RECIPE", "fitting_targets", "run", "RECORD", "recorded"]

#: The long runs of lecture 06 (minutes on a CPU).
RECIPE = {
    "image": "camera", "size": 64, "sigma": 25 / 255, "seed": 0, "channels": 16, "depth": 4, "lr": 0.01, "ema": 0.99,
    "n_iter": 6000, "tv_weight": 0.03, "window": 200, "patience": 300,
    "snapshots": [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900, 950,
                  1000, 2000, 4000, 6000],
    "fitting_iter": 2400,
    "inpaint_image": "astronaut", "inpaint_keep": 0.5, "inpaint_seed": 1, "inpaint_iter": 600,
    "inpaint_snapshots": [0, 50, 200, 600], "decoder_channels": 16, "decoder_layers": 3,
}


def fitting_targets(x: torch.Tensor, sigma: float, seed: int) -> dict:
    """Ulyanov et al.'s four targets: an image, the image plus noise, its pixels shuffled, and uniform noise."""
    g = torch.Generator().manual_seed(seed)
    return {"image": x, "image + noise": (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1),
            "shuffled pixels": x.flatten()[torch.randperm(x.numel(), generator=g)].reshape(x.shape),
            "uniform noise": torch.rand(x.shape, generator=g)}


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Run what lecture 06 shows from a record: DIP denoising for ``n_iter`` iterations (PSNR, loss, the windowed
    variance over the whole run, ES-WMV's choice and stop, snapshots), the same with TV, and the loss of fitting
    Ulyanov et al.'s four targets (image, image + noise, shuffled pixels, uniform noise) for ``fitting_iter``, with the
    SkipNet (``"fitting"``) and with the same hourglass without its skip connections (``"fitting_no_skip"``)."""
    r = recipe
    x = data.test_image(r["image"], r["size"])
    y = data.add_noise(x, sigma=r["sigma"], seed=r["seed"])
    A = Identity(x.shape)

    def skipnet(in_channels=32, skip=4):
        torch.manual_seed(r["seed"])
        return SkipNet(in_channels=in_channels, channels=r["channels"], depth=r["depth"], skip=skip)

    watched = EarlyStopping(WindowedVarianceDetector(r["window"], r["patience"]), stop=False)
    everywhere = WindowedVarianceDetector(r["window"], 10 ** 9)              # the variance over the whole run
    snaps = Snapshots(r["snapshots"])
    _, run = fit(skipnet(), A, y, n_iter=r["n_iter"], lr=r["lr"], ema=r["ema"], seed=r["seed"], progress=progress,
                 observers=[Metrics(x), snaps, watched, EarlyStopping(everywhere, stop=False)])
    f32 = lambda values: torch.tensor(values, dtype=torch.float32)
    denoise = {"psnr": f32(run.psnr), "loss": f32(run.loss), "variance": f32(everywhere.variances),
               "es_iteration": watched.iteration, "es_stopped_at": watched.stopped_at, "es_output": watched.output,
               "snapshot_iterations": sorted(snaps.images), "snapshots": torch.stack([snaps.images[k] for k in
                                                                                    sorted(snaps.images)])}
    _, tv = fit(skipnet(), A, y, n_iter=r["n_iter"], lr=r["lr"], ema=r["ema"],
                regulariser=TotalVariation(r["tv_weight"], ndim=2), seed=r["seed"],
                progress=progress, observers=[Metrics(x)])
    fitting, fitting_no_skip = {}, {}
    for name, target in fitting_targets(x, r["sigma"], r["seed"]).items():
        for skip, curves in ((4, fitting), (0, fitting_no_skip)):       # the SkipNet, and the hourglass without skips
            _, h = fit(skipnet(skip=skip), A, target, n_iter=r["fitting_iter"], lr=r["lr"], input_noise=0,
                       seed=r["seed"], progress=progress)
            curves[name] = f32(h.loss)
    x2 = data.test_image(r["inpaint_image"], r["size"])
    mask = (torch.rand(x2.shape, generator=torch.Generator().manual_seed(r["inpaint_seed"]))
            < r["inpaint_keep"]).float()
    inpaint_snaps = Snapshots(r["inpaint_snapshots"])
    _, inp = fit(skipnet(), Inpainting(mask), Inpainting(mask)(x2), n_iter=r["inpaint_iter"], lr=r["lr"], ema=r["ema"],
                 seed=r["seed"], progress=progress, observers=[Metrics(x2), inpaint_snaps])
    inpainting = {"psnr": f32(inp.psnr), "snapshot_iterations": sorted(inpaint_snaps.images),
                  "snapshots": torch.stack([inpaint_snaps.images[k] for k in sorted(inpaint_snaps.images)])}
    torch.manual_seed(r["seed"])
    decoder = DeepDecoder(channels=r["decoder_channels"], n_layers=r["decoder_layers"])
    z = generator_input(decoder.channels, decoder.input_shape(x.shape), seed=r["seed"])
    x_dd, dd = fit(decoder, A, y, n_iter=r["n_iter"], lr=r["lr"], ema=r["ema"], input_noise=0, z=z, seed=r["seed"],
                   progress=progress, observers=[Metrics(x)])
    return {"denoise": denoise, "tv": {"psnr": f32(tv.psnr)}, "fitting": fitting, "fitting_no_skip": fitting_no_skip,
            "inpainting": inpainting,
            "deep_decoder": {"psnr": f32(dd.psnr), "output": x_dd,
                             "weights": sum(p.numel() for p in decoder.parameters())}}


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("dip_long_runs", RECIPE, run, __name__, "python scripts/record_dip.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_dip.py`` (checked against the code)."""
    return RECORD.load()
