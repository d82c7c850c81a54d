"""Lecture 04's trained lifting network, recorded: ``python scripts/train_lifting.py`` (about two minutes on 2 CPU
cores).

A :class:`~course_lib.lifting.LiftingNetwork` trained to denoise at σ = 25/255 on random patches of
:data:`~course_lib.data.TRAINING_IMAGES` (the held-out test images are never seen). :func:`pretrained_lifting_network`
builds it from the record, checked against the recipe and the code.
"""
from __future__ import annotations

import torch

from ..data import TRAINING_IMAGES, random_patches, test_image
from ..lifting import LiftingNetwork
from ..training import train
from .recorded import Record

__all__ = ["RECIPE", "train_lifting_denoiser", "run", "RECORD", "pretrained_lifting_network"]

#: How the shipped network is trained.
RECIPE = {"sigma": 25 / 255, "levels": 3, "hidden": 16, "shrinkage_hidden": 32, "n_iter": 700, "lr": 3e-3,
          "batch": 16, "patch": 64, "seed": 0}


def train_lifting_denoiser(sigma: float, levels: int, hidden: int, shrinkage_hidden: int, n_iter: int, lr: float,
                           batch: int, patch: int, seed: int, progress: bool = True):
    """Train a :class:`~course_lib.lifting.LiftingNetwork` to denoise at ``sigma`` on random patches of
    :data:`~course_lib.data.TRAINING_IMAGES`. Returns ``(net, history)`` (:func:`course_lib.training.train`)."""
    with torch.random.fork_rng():            # the initial weights from the seed, the caller's global RNG untouched
        torch.manual_seed(seed)
        net = LiftingNetwork(levels, hidden, shrinkage_hidden=shrinkage_hidden)
    images = [test_image(name, None) for name in TRAINING_IMAGES]

    def noisy_patches(gen):
        x = random_patches(images, batch, patch, seed=gen)
        return x + sigma * torch.randn(x.shape, generator=gen), x

    return train(net, noisy_patches, n_iter=n_iter, lr=lr, predict=lambda model, y: model.denoise(y, sigma),
                 seed=seed, progress=progress, description="lifting network")


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Train with ``recipe``: the weights, the loss per step and the number of parameters."""
    net, history = train_lifting_denoiser(**recipe, progress=progress)
    return {"weights": {k: v.detach().clone() for k, v in net.state_dict().items()},
            "loss": torch.tensor(history.loss, dtype=torch.float32), "parameters": net.n_parameters}


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("lifting_sigma25", RECIPE, run, __name__, "python scripts/train_lifting.py")


def pretrained_lifting_network(record: Record = RECORD) -> LiftingNetwork:
    """The shipped :class:`~course_lib.lifting.LiftingNetwork` (eval mode, float32), trained by :func:`run` with
    :data:`RECIPE`; an error says how to regenerate it if the code or the recipe has changed since."""
    payload, recipe = record.load(), record.recipe
    net = LiftingNetwork(recipe["levels"], recipe["hidden"], shrinkage_hidden=recipe["shrinkage_hidden"])
    net.load_state_dict(payload["weights"])
    return net.eval()
