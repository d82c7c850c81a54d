"""Lecture 05's trainings, recorded: ``python scripts/record_domains.py`` (about 15 minutes on 2 CPU cores).

Where to learn (Ye's slides 27-35): the same encoder-decoder (:class:`~course_lib.domains.EncoderDecoder`, 16
channels, no biases) reconstructs 64 x 64 images from a quarter of their Fourier coefficients
(:func:`~course_lib.domains.variable_density_mask`), working in the image domain, in k-space or on Haar wavelet
subbands (:class:`~course_lib.domains.Reconstructor`). For each domain:

* the learning rate is tuned on the validation images (:func:`validation_images`: lecture 04's validation image,
  never trained on), by a short run of the first seed at each rate of ``lrs``;
* every seed is then trained at that rate for ``n_iter`` Adam steps on random patches of the other training images,
  keeping the weights of the best validation loss (checked every ``eval_every`` steps: the curves show the plateau);
* the held-out images are reconstructed by every seed's network.

The classical baseline is compressed sensing with total variation (:func:`course_lib.domains.tv_reconstruct`: the
least TV among the images that fit the noise-free data, nothing to tune), on the validation and the held-out images.
The record keeps the first seed's weights of each domain (:func:`pretrained_reconstructor`), every seed's figures
and the baseline's reconstructions (:func:`results`).
"""
from __future__ import annotations

import torch

from ..data import HELD_OUT_IMAGES, TRAINING_IMAGES, random_patches, test_image
from ..domains import DOMAINS, Reconstructor, tv_reconstruct, variable_density_mask
from ..metrics import psnr
from ..operators import SubsampledFourier
from ..training import train
from .lifting_network import VALIDATION_IMAGE
from .recorded import Record

__all__ = ["RECIPE", "problem", "validation_images", "held_out_images", "train_reconstructor", "run", "RECORD",
           "pretrained_reconstructor", "results", "mean_psnr"]

#: How the reconstructors are trained and the baseline is tuned.
RECIPE = {"size": 64, "acceleration": 4.0, "center_radius": 3.0, "mask_seed": 0, "width": 16, "batch": 8,
          "patch_sources": [96, 128, 256], "lrs": [3e-4, 1e-3, 3e-3, 1e-2], "tune_iter": 300, "n_iter": 1000,
          "eval_every": 50, "seeds": [0, 1, 2], "tv": {"n_iter": 10_000, "tol": 1e-6}}


def problem(recipe: dict = RECIPE) -> SubsampledFourier:
    """The measurement operator: the unitary 2-D FFT of ``size`` x ``size`` images sampled on the recipe's mask."""
    size = recipe["size"]
    mask = variable_density_mask((size, size), recipe["acceleration"], recipe["center_radius"], recipe["mask_seed"])
    return SubsampledFourier(mask)


def validation_images(recipe: dict = RECIPE) -> torch.Tensor:
    """``(5, size, size)``: :data:`VALIDATION_IMAGE` whole at ``size``, and the four quadrants of it at twice that."""
    size = recipe["size"]
    large = test_image(VALIDATION_IMAGE, 2 * size)
    quadrants = [large[r:r + size, c:c + size] for r in (0, size) for c in (0, size)]
    return torch.stack([test_image(VALIDATION_IMAGE, size), *quadrants])


def held_out_images(recipe: dict = RECIPE, dtype=torch.float32) -> dict:
    """The held-out test images at ``size``, by name."""
    return {name: test_image(name, recipe["size"], dtype=dtype) for name in HELD_OUT_IMAGES}


def mean_psnr(estimates: torch.Tensor, truths: torch.Tensor) -> float:
    """The mean PSNR (dB, peak 1) of a stack of estimates against their truths."""
    return sum(psnr(e, t) for e, t in zip(estimates, truths)) / len(truths)


def train_reconstructor(A: SubsampledFourier, domain: str, lr: float, n_iter: int, seed: int, recipe: dict = RECIPE,
                        progress: bool = True):
    """A :class:`~course_lib.domains.Reconstructor` in ``domain`` trained from ``seed`` (initial weights and batches)
    on random ``size`` x ``size`` patches of the training images less :data:`VALIDATION_IMAGE`, each image taken at
    the sizes ``patch_sources``; the weights of the best validation loss are kept. Returns ``(model, history)``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Reconstructor(A, domain, recipe["width"])
    images = [test_image(name, s) for name in TRAINING_IMAGES if name != VALIDATION_IMAGE
              for s in recipe["patch_sources"]]

    def batch(gen):
        x = random_patches(images, recipe["batch"], recipe["size"], seed=gen)[:, 0]
        return A(x), x

    x_val = validation_images(recipe)
    return train(model, batch, n_iter=n_iter, lr=lr, validation=(A(x_val), x_val), eval_every=recipe["eval_every"],
                 seed=seed, progress=progress, description=f"{domain}, seed {seed}")


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Tune each domain's learning rate, train every seed, reconstruct the held-out images, run TV: see the module."""
    A, x_val = problem(recipe), validation_images(recipe)
    tests = torch.stack(list(held_out_images(recipe).values()))
    payload = {"lr_psnr": {}, "lr": {}, "held_out": {}, "curves": {}, "seconds": {}, "weights": {}}
    for domain in DOMAINS:
        scores = []
        for lr in recipe["lrs"]:
            model, _ = train_reconstructor(A, domain, lr, recipe["tune_iter"], recipe["seeds"][0], recipe, progress)
            with torch.no_grad():
                scores.append(mean_psnr(model(A(x_val)), x_val))
        payload["lr_psnr"][domain] = torch.tensor(scores)
        lr = recipe["lrs"][int(torch.tensor(scores).argmax())]
        payload["lr"][domain] = lr
        held_out, curves, seconds = [], [], []
        for seed in recipe["seeds"]:
            model, history = train_reconstructor(A, domain, lr, recipe["n_iter"], seed, recipe, progress)
            with torch.no_grad():
                held_out.append([psnr(model(A(x)), x) for x in tests])
            curves.append(history.val_loss)
            seconds.append(history.seconds)
            if seed == recipe["seeds"][0]:
                payload["weights"][domain] = {k: v.detach().clone() for k, v in model.net.state_dict().items()}
        payload["held_out"][domain] = torch.tensor(held_out)              # (seeds, images)
        payload["curves"][domain] = torch.tensor(curves)                  # (seeds, evaluations): validation MSE
        payload["seconds"][domain] = torch.tensor(seconds)
    tv = {"validation": [], "held_out": [], "iterations": [], "converged": []}
    for part, images in (("validation", x_val), ("held_out", tests)):
        for x in images.to(torch.float64):
            x_tv, history = tv_reconstruct(A, A(x), **recipe["tv"])
            tv[part].append(x_tv.to(torch.float32))
            tv["iterations"].append(history.iteration[-1])
            tv["converged"].append(history.converged)
    payload["tv_psnr"] = mean_psnr(torch.stack(tv["validation"]), x_val)
    payload["tv_held_out"] = torch.stack(tv["held_out"])
    payload["tv_iterations"] = torch.tensor(tv["iterations"])
    payload["tv_converged"] = torch.tensor(tv["converged"])
    return payload


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("domain_runs", RECIPE, run, __name__, "python scripts/record_domains.py")


def pretrained_reconstructor(domain: str, record: Record = RECORD) -> Reconstructor:
    """The first seed's trained :class:`~course_lib.domains.Reconstructor` in ``domain`` (eval mode, float32), from
    the record, checked against the recipe and the code."""
    if domain not in DOMAINS:
        raise ValueError(f"domain is {domain!r}; pretrained_reconstructor expects one of {', '.join(DOMAINS)}")
    payload = record.load()
    model = Reconstructor(problem(record.recipe), domain, record.recipe["width"])
    model.net.load_state_dict(payload["weights"][domain])
    return model.eval()


def results(record: Record = RECORD) -> dict:
    """What :func:`run` measured: ``{"lrs", "lr_psnr": {domain: validation PSNR per rate}, "lr": {domain: the rate
    chosen}, "held_out": {domain: PSNR (seeds, images)}, "images", "seeds", "curves": {domain: validation MSE (seeds,
    evaluations)}, "eval_every", "seconds", "tv_psnr" (its mean validation PSNR), "tv_held_out" (its reconstructions
    of the held-out images), "tv_iterations" and "tv_converged" (validation images first), "tv" (its settings)}``."""
    payload, recipe = record.load(), record.recipe
    keys = ("lr_psnr", "lr", "held_out", "curves", "seconds", "tv_psnr", "tv_held_out", "tv_iterations", "tv_converged")
    return {**{k: payload[k] for k in keys}, "lrs": recipe["lrs"], "images": HELD_OUT_IMAGES, "seeds": recipe["seeds"],
            "eval_every": recipe["eval_every"], "tv": recipe["tv"]}
