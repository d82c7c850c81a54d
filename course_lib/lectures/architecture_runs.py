"""Lecture 02's trainings, recorded: ``python scripts/record_architectures.py`` (about ten minutes on 2 CPU cores).

Three studies, each over several seeds:

* ``equivariance``: a p4 group CNN, a plain CNN and the plain CNN with rotation augmentation on
  :func:`~course_lib.architectures.rotated_patterns`, per training-set size and seed (Adam, to the plateau);
* ``arms``: the 20-layer :class:`~course_lib.architectures.DeepNet` in four arms, {skip, no skip} x {batch norm,
  none}; each arm's SGD step size tuned on a validation split of the training digits (the first seed), then every
  seed trained with it for the same number of steps; per seed the loss curve, the test accuracy, the extreme
  Hessian eigenvalues (Lanczos) and a 1-D slice of the loss along a filter-normalised direction;
* ``landscapes``: Li et al.'s picture, a deep narrow network (56 layers) with and without skips, trained alike,
  and the loss on a 2-D filter-normalised plane around each.

:data:`RECORD` loads it, checked against the recipe and the code.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ..architectures import (
    P4CNN,
    DeepNet,
    PlainCNN,
    accuracy,
    filter_normalised_direction,
    hessian_extreme_eigenvalues,
    landscape,
    rotated_patterns,
    train_classifier,
)
from ..data import digits
from .recorded import Record

__all__ = ["RECIPE", "ARMS", "run", "RECORD", "recorded", "validation_split"]

#: The four arms of the residual study: name -> (skip, batch norm).
ARMS = {"skip + BN": (True, True), "no skip + BN": (False, True), "skip, no BN": (True, False),
        "no skip, no BN": (False, False)}

RECIPE = {
    "equivariance": {"sizes": [32, 64, 128, 256], "seeds": [0, 1, 2, 3, 4], "n_classes": 8, "noise": 0.3,
                     "n_test": 1000, "test_seed": 10_000, "n_iter": 300, "lr": 1e-2},
    "arms": {"n_blocks": 9, "width": 16, "n_iter": 400, "batch": 64, "lrs": [0.001, 0.003, 0.01, 0.03, 0.1],
             "seeds": [0, 1, 2], "validation_fraction": 0.2, "loss_batch": 256, "hessian_tol": 1e-3,
             "hessian_restarts": 30, "slice": 41, "curve_every": 5},
    "landscapes": {"n_blocks": 27, "width": 8, "n_iter": 400, "batch": 64, "lr": 0.03, "seed": 0, "grid": 25,
                   "loss_batch": 512},
}


def validation_split(x, y, fraction: float):
    """The training digits split into ``(x_fit, y_fit, x_val, y_val)``: the last ``fraction`` held out."""
    n_val = round(fraction * len(x))
    return x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]


def _equivariance(c: dict, progress: bool) -> dict:
    x_test, y_test = rotated_patterns(c["n_test"], n_classes=c["n_classes"], noise=c["noise"], seed=c["test_seed"])
    models = {"P4CNN": (lambda: P4CNN(c["n_classes"]), False), "CNN": (lambda: PlainCNN(c["n_classes"]), False),
              "CNN + rotations": (lambda: PlainCNN(c["n_classes"]), True)}
    table = {name: torch.zeros(len(c["sizes"]), len(c["seeds"])) for name in models}
    for i, n in enumerate(c["sizes"]):
        for j, seed in enumerate(c["seeds"]):
            x, y = rotated_patterns(n, n_classes=c["n_classes"], noise=c["noise"], seed=seed + 1)
            for name, (make, augment) in models.items():
                with torch.random.fork_rng():
                    torch.manual_seed(seed)
                    model = make()
                train_classifier(model, x, y, n_iter=c["n_iter"], lr=c["lr"], seed=seed, optimizer=torch.optim.Adam,
                                 rotate=augment, progress=progress)
                table[name][i, j] = accuracy(model, x_test, y_test)
    weights = {name: sum(p.numel() for p in make().parameters()) for name, (make, _) in models.items()}
    return {"accuracy": table, "weights": weights}


def _train_arm(skip: bool, norm: bool, c: dict, x, y, lr: float, seed: int, progress: bool):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = DeepNet(n_blocks=c["n_blocks"], width=c["width"], skip=skip, batchnorm=norm)
    _, history = train_classifier(net, x, y, n_iter=c["n_iter"], lr=lr, batch=c["batch"], seed=seed, progress=progress)
    return net, torch.tensor(history.loss)


def _arms(c: dict, progress: bool) -> dict:
    x_train, y_train, x_test, y_test = digits()
    x_fit, y_fit, x_val, y_val = validation_split(x_train, y_train, c["validation_fraction"])
    batch = x_fit[:c["loss_batch"]], y_fit[:c["loss_batch"]]

    def loss_fn(f):
        return F.cross_entropy(f(batch[0]), batch[1])

    def loss_value(f):
        with torch.no_grad():
            return loss_fn(f).item()

    alphas = torch.linspace(-1, 1, c["slice"])
    result = {}
    for name, (skip, norm) in ARMS.items():
        tuning = {}
        for lr in c["lrs"]:
            net, loss = _train_arm(skip, norm, c, x_fit, y_fit, lr, c["seeds"][0], progress)
            finite = bool(torch.isfinite(loss).all()) and all(torch.isfinite(p).all() for p in net.parameters())
            tuning[lr] = accuracy(net, x_val, y_val) if finite else 0.0
        best = max(c["lrs"], key=lambda lr: tuning[lr])
        runs = {"test_accuracy": [], "final_loss": [], "top": [], "bottom": [], "curve": [], "slice": []}
        for seed in c["seeds"]:
            net, loss = _train_arm(skip, norm, c, x_fit, y_fit, best, seed, progress)
            runs["test_accuracy"].append(accuracy(net, x_test, y_test))
            runs["final_loss"].append(float(loss[-20:].mean()))
            runs["curve"].append(loss.reshape(-1, c["curve_every"]).mean(1))
            top, bottom, slice_ = math.nan, math.nan, torch.full((c["slice"],), math.nan)   # a diverged network
            if all(torch.isfinite(p).all() for p in net.parameters()):
                direction = filter_normalised_direction(net, seed=seed)
                slice_ = landscape(net, loss_value, [direction], alphas.tolist())
                try:
                    top, bottom = hessian_extreme_eigenvalues(net, loss_fn, n_iter=c["hessian_restarts"],
                                                              tol=c["hessian_tol"], seed=seed)
                except RuntimeError:            # Lanczos did not reach the tolerance: recorded as NaN
                    pass
            runs["top"].append(top)
            runs["bottom"].append(bottom)
            runs["slice"].append(torch.as_tensor(slice_, dtype=torch.float32))
        result[name] = {"lr": best, "validation": torch.tensor([tuning[lr] for lr in c["lrs"]]),
                        "test_accuracy": torch.tensor(runs["test_accuracy"]),
                        "final_loss": torch.tensor(runs["final_loss"]), "top": torch.tensor(runs["top"]),
                        "bottom": torch.tensor(runs["bottom"]), "curve": torch.stack(runs["curve"]),
                        "slice": torch.stack(runs["slice"])}
    result["alphas"] = alphas
    return result


def _landscapes(c: dict, progress: bool) -> dict:
    x_train, y_train, _, _ = digits()
    batch = x_train[:c["loss_batch"]], y_train[:c["loss_batch"]]

    def loss_value(f):
        with torch.no_grad():
            return F.cross_entropy(f(batch[0]), batch[1]).item()

    grid = torch.linspace(-1, 1, c["grid"])
    result = {"grid": grid}
    for name, skip in (("residual", True), ("plain", False)):
        with torch.random.fork_rng():
            torch.manual_seed(c["seed"])
            net = DeepNet(n_blocks=c["n_blocks"], width=c["width"], skip=skip)
        _, history = train_classifier(net, x_train, y_train, n_iter=c["n_iter"], lr=c["lr"], batch=c["batch"],
                                      seed=c["seed"], progress=progress)
        d1, d2 = (filter_normalised_direction(net, seed=c["seed"] + k) for k in (1, 2))
        result[name] = {"surface": torch.as_tensor(landscape(net, loss_value, [d1, d2], grid.tolist(), grid.tolist()),
                                                   dtype=torch.float32),
                        "loss": torch.tensor(history.loss), "depth": net.depth}
    return result


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Run the three studies of lecture 02 (about ten minutes): see the module's docstring."""
    return {"equivariance": _equivariance(recipe["equivariance"], progress),
            "arms": _arms(recipe["arms"], progress),
            "landscapes": _landscapes(recipe["landscapes"], progress)}


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("architecture_runs", RECIPE, run, __name__, "python scripts/record_architectures.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_architectures.py`` (checked against the
    code)."""
    return RECORD.load()
