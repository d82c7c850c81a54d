"""Lecture 03's trainings, recorded: ``python scripts/record_unfolding.py`` (about 45 minutes on 2 CPU cores).

Sparse coding (:func:`sparse_runs`): LISTA (untied and tied), the ablation arms LISTA with support selection and
LISTA-CP without it, LISTA-CPSS, ALISTA and two black-box MLPs, each with its own budget of steps towards a plateau
(:func:`plateau_change` says whether it got there: untied and tied LISTA and LISTA-SS do not), their per-layer NMSE
before and after training and their validation curves, and FISTA at every λ of a grid. Imaging: the
convolutional LISTA (:func:`conv_run`), the light-field networks, supervised, semi-supervised and self-supervised
(:func:`light_field_runs`), the unfolded RPCA (:func:`rpca_run`) and the neural proximal gradient (:func:`npg_run`),
whose weights the lecture loads. :func:`run` is all of them; :data:`RECORD` loads the record, checked against the
recipe and the code. Lecture 03's problems are here too: :func:`sparse_problem`, :func:`sparse_networks`,
:func:`light_field_operator`, :func:`rpca_videos`.
"""
from __future__ import annotations

import torch

from .. import data
from ..functionals import NonnegativeL1
from ..metrics import nmse_db
from ..operators import (
    AveragePooling2D,
    Convolution2D,
    MatrixOperator,
    MultiChannelConvolution2D,
    SubsampledFourier,
    gaussian_kernel,
    random_cartesian_mask,
)
from ..solvers import casorati, fista, ista, robust_pca
from ..training import train
from ..unfolding import (
    ALISTA,
    LISTA,
    LISTA_CP,
    BlackBoxMLP,
    ConvLISTA,
    NeuralProximalGradient,
    NonnegativeUnfoldedISTA,
    UnfoldedRPCA,
    all_layer_log_loss,
    every_layer,
    layer_nmse_db,
    resynthesis_log_loss,
)
from .recorded import Record

__all__ = ["RECIPE", "sparse_problem", "sparse_networks", "plateau_change", "sr_problem", "light_field_test",
           "baseline_runs", "light_field_operator", "rpca_videos", "sparse_runs",
           "conv_run", "light_field_runs", "rpca_run", "npg_run", "run", "RECORD", "recorded"]

#: The trainings of lecture 03 (about 45 minutes on 2 CPU cores). Sparse coding: each network gets its own budget
#: towards a plateau, one learning rate for every network that learns matrices (Adam steps of ``batch`` fresh signals,
#: cosine-annealed, best validation checkpoint); FISTA runs ``fista_iter`` iterations at each λ of ``lams`` (the best λ
#: differs with the iteration count). ``baselines``: the λ grid of the non-negative ISTA/FISTA of sections 2 and 3.
RECIPE = {
    "sparse": {"m": 125, "n": 250, "T": 16, "lam": 0.1, "p": 0.1, "n_test": 1000, "n_val": 500, "batch": 128,
               "seed": 1, "networks": {"LISTA": [8000, 1e-3], "LISTA, tied": [5000, 1e-3], "LISTA-SS": [8000, 1e-3],
                                       "LISTA-CP": [5000, 1e-3], "LISTA-CPSS": [5000, 1e-3], "ALISTA": [3000, 1e-2],
                                       "MLP, 0.1 M": [12000, 1e-3], "MLP, 1.4 M": [6000, 1e-3]},
               "mlp_hidden": {"MLP, 0.1 M": [200, 200], "MLP, 1.4 M": [1000, 1000]},
               "lams": [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2], "fista_iter": 2000},
    "conv": {"size": 32, "factor": 2, "blur": 1.0, "p": 0.005, "lam": 1e-3, "layers": 10, "steps": 200, "lr": 3e-3,
             "batch": 16, "seed": 7, "test": {"count": 64, "seed": 21}},
    "light_field": {"views": 5, "depths": 4, "psf": 9, "size": 24, "p": 0.005, "n_train": 16, "train_seed": 10,
                    "layers": 5, "lam": 1e-3, "steps": 150, "lr": 5e-3, "seed": 3,
                    "semi": {"unlabelled": 16, "weight": 0.3, "steps": 600}, "test": {"count": 100, "seed": 11}},
    "rpca": {"frames": 12, "size": 16, "rank": 2, "bubbles": 5, "layers": 10, "lam_low_rank": 2.0, "lam_sparse": 0.2,
             "steps": 200, "lr": 3e-3, "batch": 2, "seed": 4, "test": {"count": 8, "seed": 1},
             "grid": {"lam_low_rank": [0.5, 1.0, 2.0, 5.0], "lam_sparse": [0.05, 0.1, 0.2, 0.5], "n_iter": 300}},
    "baselines": {"lams": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], "ista_iter": 600, "fista_iter": 300},
    "npg": {"size": 32, "acceleration": 4, "layers": 5, "channels": 16, "steps": 200, "lr": 2e-3, "batch": 16,
            "seed": 5},
}


def _f32(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def sparse_problem(recipe: dict = RECIPE) -> tuple:
    """``(A, x_test, x_val)`` of lecture 03's sparse coding: a Gaussian dictionary and Bernoulli-Gaussian signals."""
    r = recipe["sparse"]
    return (data.gaussian_matrix(r["m"], r["n"], seed=0), data.sparse_signals(r["n_test"], r["n"], r["p"], seed=1),
            data.sparse_signals(r["n_val"], r["n"], r["p"], seed=2))


def sparse_networks(A: torch.Tensor, recipe: dict = RECIPE) -> dict:
    """The untrained sparse-coding networks of lecture 03, by name, initialised at ISTA with
    ``recipe['sparse']['lam']``."""
    r = recipe["sparse"]
    make = {"LISTA": lambda: LISTA(A, r["T"], r["lam"]), "LISTA, tied": lambda: LISTA(A, r["T"], r["lam"], tied=True),
            "LISTA-SS": lambda: LISTA(A, r["T"], r["lam"], support_selection=True),
            "LISTA-CP": lambda: LISTA_CP(A, r["T"], r["lam"]),
            "LISTA-CPSS": lambda: LISTA_CP(A, r["T"], r["lam"], support_selection=True),
            "ALISTA": lambda: ALISTA(A, r["T"], r["lam"])}
    for name, hidden in r["mlp_hidden"].items():
        make[name] = lambda hidden=hidden: BlackBoxMLP(r["m"], r["n"], hidden).to(A)
    return {name: make[name]() for name in r["networks"]}


def light_field_operator(recipe: dict = RECIPE) -> MultiChannelConvolution2D:
    """Lecture 03's light-field microscope: ``views`` views of ``depths`` depth planes, ``size`` x ``size`` pixels."""
    c = recipe["light_field"]
    return MultiChannelConvolution2D(data.light_field_psfs(n_views=c["views"], n_depths=c["depths"], size=c["psf"]),
                                     (c["size"], c["size"]))


def rpca_videos(seed: int, count: int, recipe: dict = RECIPE) -> tuple:
    """``(D, L, S)``: ``count`` contrast-ultrasound videos (tissue + bubbles) of lecture 03, each ``(frames, size,
    size)``."""
    c = recipe["rpca"]
    pairs = [data.rpca_video(c["frames"], (c["size"], c["size"]), rank=c["rank"], n_bubbles=c["bubbles"],
                             seed=seed * 1000 + i, bubble_intensity=1.0) for i in range(count)]
    tissue, bubbles = (torch.stack(t) for t in zip(*pairs))
    return tissue + bubbles, tissue, bubbles


def plateau_change(val_iteration, val_loss, tenth: float = 0.1) -> float:
    r"""How much a training still gained over its last ``tenth`` of the steps: the relative fall of the best validation
    value, :math:`1 - V(N)/V((1 - \text{tenth})N)`, where :math:`V(t)` is the lowest validation value (the kept
    checkpoint) up to step ``t`` and ``val_loss`` is a log of it (:func:`~course_lib.unfolding.all_layer_log_loss`,
    so :math:`V` is the geometric mean over layers of the validation MSE). Below 0.01 the loss has plateaued."""
    steps = torch.as_tensor(val_iteration, dtype=torch.float64)
    loss = torch.as_tensor(val_loss, dtype=torch.float64)
    if steps.ndim != 1 or steps.shape != loss.shape or len(steps) < 2:
        raise ValueError(f"val_iteration and val_loss must be two 1-D sequences of equal length ≥ 2, got shapes "
                         f"{tuple(steps.shape)} and {tuple(loss.shape)}")
    if not 0 < tenth < 1:
        raise ValueError(f"tenth is {tenth}; plateau_change expects a fraction in (0, 1)")
    earlier = loss[steps <= (1 - tenth) * steps[-1]]
    if len(earlier) == 0:
        raise ValueError("no validation value lies before the last tenth: evaluate more often")
    return 1 - torch.exp(loss.min() - earlier.min()).item()


def sr_problem(recipe: dict = RECIPE) -> tuple:
    """``(A, x_test)`` of lecture 03's super-resolution localisation: blur then ``factor`` x ``factor`` pooling, and
    the test images of point emitters."""
    c = recipe["conv"]
    fine = (c["size"], c["size"])
    A = AveragePooling2D(fine, c["factor"]) @ Convolution2D(gaussian_kernel(c["blur"]), fine)
    return A, data.sparse_images(c["test"]["count"], fine, p=c["p"], seed=c["test"]["seed"])


def light_field_test(recipe: dict = RECIPE) -> torch.Tensor:
    """Lecture 03's test volumes of the light field, ``(count, depths, size, size)``."""
    c = recipe["light_field"]
    return data.sparse_images(c["test"]["count"], (c["depths"], c["size"], c["size"]), p=c["p"], seed=c["test"]["seed"])


def _nonnegative_paths(A, x, recipe: dict) -> dict:
    """Non-negative ISTA and FISTA from ``y = A x`` at every λ of ``recipe['baselines']``: the NMSE (dB) of every
    iterate, ``{"ISTA": {str(λ): curve}, "FISTA": {...}}``."""
    b, y = recipe["baselines"], A(x)
    paths = {"ISTA": {}, "FISTA": {}}
    for lam in b["lams"]:
        for name, solver, n_iter in (("ISTA", ista, b["ista_iter"]), ("FISTA", fista, b["fista_iter"])):
            curve = []
            solver(A, y, NonnegativeL1(lam), n_iter=n_iter, callback=lambda k, xk, c=curve: c.append(nmse_db(xk, x)))
            paths[name][str(lam)] = _f32(curve)
    return paths


def baseline_runs(recipe: dict = RECIPE) -> dict:
    """The tuned classical baselines of sections 2-4 on their test sets, each at every weight of a grid and every
    iteration (the best weight differs with the iteration count): non-negative ISTA/FISTA for the super-resolution and
    the light field (:func:`_nonnegative_paths`), and FISTA-RPCA's NMSE of the sparse part for each pair
    ``(λ_L, λ_S)``."""
    A_sr, x_sr = sr_problem(recipe)
    H = light_field_operator(recipe)
    g, t = recipe["rpca"]["grid"], recipe["rpca"]["test"]
    D, _, S = rpca_videos(t["seed"], t["count"], recipe)
    D_c, S_c = casorati(D), casorati(S)
    rpca = {}
    for lam_L in g["lam_low_rank"]:
        for lam_S in g["lam_sparse"]:
            path = []
            robust_pca(D_c, lam_L, lam_S, n_iter=g["n_iter"],
                       callback=lambda k, LS, p=path: p.append(nmse_db(LS[1], S_c)))
            rpca[f"{lam_L},{lam_S}"] = _f32(path)
    return {"conv": _nonnegative_paths(A_sr, x_sr, recipe),
            "light_field": _nonnegative_paths(H, light_field_test(recipe), recipe), "rpca": rpca}


def sparse_runs(recipe: dict = RECIPE, progress: bool = False) -> tuple:
    """``(networks, fista_curves)``: each sparse-coding network's per-layer test NMSE before and after training (weights
    only for ALISTA's 2T numbers), and FISTA's NMSE every 10 iterations at each λ of the grid."""
    r = recipe["sparse"]
    A, x_test, x_val = sparse_problem(recipe)
    op = MatrixOperator(A)
    y_test = op(x_test)
    networks = {}
    for name, net in sparse_networks(A, recipe).items():
        steps, lr = r["networks"][name]
        with torch.no_grad():
            before = layer_nmse_db(net(y_test, all_layers=True), x_test)

        def sample(g):
            x = data.sparse_signals(r["batch"], r["n"], r["p"], seed=g)
            return op(x), x

        _, history = train(net, sample, n_iter=steps, lr=lr, loss_fn=all_layer_log_loss, predict=every_layer,
                           validation=(op(x_val), x_val), eval_every=50, seed=r["seed"], progress=progress,
                           description=name)
        with torch.no_grad():
            after = layer_nmse_db(net(y_test, all_layers=True), x_test)
        networks[name] = {"untrained": _f32(before), "trained": _f32(after), "loss": _f32(history.loss),
                          "seconds": history.seconds, "params": sum(p.numel() for p in net.parameters()),
                          "best_iteration": history.best_iteration, "steps": steps, "val_loss": _f32(history.val_loss),
                          "val_iteration": torch.tensor(history.val_iteration)}
        if name == "ALISTA":
            networks[name]["state"] = {k: v.clone() for k, v in net.state_dict().items() if k != "A" and k != "W"}
    step = 1 / op.norm() ** 2
    fista_curves = {}
    for lam in r["lams"]:
        every10 = []
        fista(op, y_test, lam, n_iter=r["fista_iter"], step=step,
              callback=lambda k, x, every10=every10: every10.append(nmse_db(x, x_test)) if k % 10 == 9 else None)
        fista_curves[str(lam)] = _f32(every10)
    return networks, fista_curves


def _trained(net, sample, c: dict, progress: bool, loss_fn=all_layer_log_loss, predict=every_layer) -> dict:
    """Train ``net`` with the budget of the recipe's section ``c``; its weights, loss curve and seconds."""
    _, history = train(net, sample, n_iter=c["steps"], lr=c["lr"], loss_fn=loss_fn, predict=predict, seed=c["seed"],
                       progress=progress, description=type(net).__name__)
    return {"state": {k: v.clone() for k, v in net.state_dict().items()}, "loss": _f32(history.loss),
            "seconds": history.seconds}


def conv_run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """The convolutional LISTA for super-resolution localisation, trained."""
    c = recipe["conv"]
    fine = (c["size"], c["size"])
    A_sr = sr_problem(recipe)[0]
    conv = ConvLISTA(A_sr, n_layers=c["layers"], regulariser=NonnegativeL1(c["lam"]))

    def sample(g):
        x = data.sparse_images(c["batch"], fine, p=c["p"], seed=g)
        return A_sr(x), x

    return _trained(conv, sample, c, progress)


def light_field_runs(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """The non-negative unfolded ISTA for the light field: supervised on 16 volumes (``steps``, and as many steps
    as the two others: ``light_field_long``); semi-supervised (the same 16
    volumes and fresh measurements without ground truth that each layer must re-synthesise, Verinaz et al.);
    self-supervised (the re-synthesis loss alone, measurements only)."""
    c = recipe["light_field"]
    H = light_field_operator(recipe)
    x_train = data.sparse_images(c["n_train"], (c["depths"], c["size"], c["size"]), p=c["p"], seed=c["train_seed"])

    def network():
        return NonnegativeUnfoldedISTA(H, n_layers=c["layers"], regulariser=NonnegativeL1(c["lam"]))

    supervised = _trained(network(), lambda g: (H(x_train), x_train), c, progress)
    semi, n_gt = c["semi"], len(x_train)
    longer = {**c, "steps": semi["steps"]}
    supervised_long = _trained(network(), lambda g: (H(x_train), x_train), longer, progress)

    def semi_batch(g):
        unlabelled = H(data.sparse_images(semi["unlabelled"], x_train.shape[1:], p=c["p"], seed=g))
        return torch.cat([H(x_train), unlabelled]), unlabelled

    def semi_loss(outputs, unlabelled):
        return (all_layer_log_loss([o[:n_gt] for o in outputs], x_train)
                + semi["weight"] * resynthesis_log_loss([o[n_gt:] for o in outputs], unlabelled, H))

    semi_supervised = _trained(network(), semi_batch, longer, progress, loss_fn=semi_loss)
    self_supervised = _trained(network(), lambda g: (lambda u: (u, u))(semi_batch(g)[1]), longer, progress,
                               loss_fn=lambda outputs, unlabelled: resynthesis_log_loss(outputs, unlabelled, H))
    return {"light_field": supervised, "light_field_long": supervised_long, "light_field_semi": semi_supervised,
            "light_field_self": self_supervised}


def rpca_run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """The unfolded robust PCA (CORONA) on synthetic contrast-ultrasound videos, trained."""
    c = recipe["rpca"]
    rpca = UnfoldedRPCA(n_layers=c["layers"], lam_low_rank=c["lam_low_rank"], lam_sparse=c["lam_sparse"])

    def sample(g):
        return rpca_videos(int(torch.randint(10 ** 6, (1,), generator=g)), c["batch"], recipe)[::2]

    return _trained(rpca, sample, c, progress,
                    loss_fn=lambda outputs, S: all_layer_log_loss([o[1] for o in outputs], S))


def npg_run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """The neural proximal gradient for MRI-like undersampled Fourier measurements of random ellipses, trained."""
    c = recipe["npg"]
    F_op = SubsampledFourier(random_cartesian_mask((c["size"], c["size"]), acceleration=c["acceleration"], seed=0))
    npg = NeuralProximalGradient(F_op, n_layers=c["layers"], channels=c["channels"])

    def sample(g):
        x = data.random_ellipses(c["batch"], c["size"], seed=g)
        return F_op(x), x

    return _trained(npg, sample, c, progress, loss_fn=None, predict=None)


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Everything lecture 03 loads: :func:`sparse_runs`, :func:`conv_run`, :func:`light_field_runs`,
    :func:`rpca_run`, :func:`npg_run`."""
    networks, fista_curves = sparse_runs(recipe, progress)
    return {"sparse": networks, "fista": fista_curves, "baselines": baseline_runs(recipe),
            "conv": conv_run(recipe, progress),
            **light_field_runs(recipe, progress), "rpca": rpca_run(recipe, progress), "npg": npg_run(recipe, progress)}


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("unfolding_runs", RECIPE, run, __name__, "python scripts/record_unfolding.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_unfolding.py`` (checked against the code)."""
    return RECORD.load()
