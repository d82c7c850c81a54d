"""Lecture 07's long runs, recorded: ``python scripts/record_adp.py`` (about six minutes on 2 CPU cores).

Per α of ``RECIPE["convergence"]``, the analytic deep prior on Dittmer et al.'s integration example for 6000 steps
(the exact x(B), and 10 warm-started layers started at 0 and at Tikhonov's x(A)), and where the exact x(B) stands
after ``snapshot`` steps; per α of ``RECIPE["sparse"]`` and per optimiser, ADP with ℓ1 from the LASSO's solution.
:data:`RECORD` loads it, checked against the recipe and the code.
"""
from __future__ import annotations

import torch

from ..adp import DTYPE, TinyEpsAdam, integration_example, sparse_integration_example, train_adp
from ..functionals import L1
from ..history import History
from ..metrics import relative_error
from ..operators import MatrixOperator
from ..solvers import fista, tikhonov
from .recorded import Record

__all__ = ["RECIPE", "OPTIMIZERS", "run", "RECORD", "recorded"]

#: The long runs of lecture 07, too slow for the lecture itself.
RECIPE = {
    "convergence": {"n": 200, "index": 5, "noise": 0.1, "seed": 0, "alphas": [0.02, 0.0015, 0.0011],
                    "n_iter": 6000, "lr": 0.3, "n_layers": 10, "track_every": 10, "snapshot": 1500,
                    "warm_steps": 1000},
    "sparse": {"n": 200, "n_spikes": 6, "seed": 0, "alphas": [0.005, 0.001], "lasso_iter": 20000, "n_iter": 400,
               "n_layers": 10, "optimizers": {"gd": 3e-4, "adam": 1e-4}},
}


#: The optimizers of the sparse study by their names in :data:`RECIPE`.
OPTIMIZERS = {"gd": torch.optim.SGD, "adam": TinyEpsAdam}


def _curves(history: History, keys) -> dict:
    """The recorded curves, in float32: for plots and for reading off a step (half the file of float64)."""
    return {key: torch.tensor(getattr(history, key), dtype=torch.float32) for key in keys}


def _first_steps(curves: dict, steps: int) -> dict:
    """The error and residual of the first ``steps`` steps only (the record stays under 1 MiB), with the smallest
    residual of the whole run: whether the discrepancy principle would stop it at all."""
    return {**curves, "residual_min": curves["residual"].min(), "error": curves["error"][:steps].clone(),
            "residual": curves["residual"][:steps].clone()}          # clones: a view would save all 6000


def run(recipe: dict = RECIPE, progress: bool = False) -> dict:
    """Run what lecture 07 shows from a record (minutes): per α of ``recipe["convergence"]``, ADP on Dittmer et al.'s
    example for ``n_iter`` steps without stopping, with the exact x(B) and with ``n_layers`` warm-started layers, their
    first input 0 (``"layers"``) or Tikhonov's x(A), the exact x(B) at B = A (``"layers_from_x_A"``: its error and
    residual for the first ``warm_steps`` steps and its smallest residual) (curves of error, residual,
    ‖B_k - B_{k-1}‖ and, for the layers, the gap ‖x(B_k) - x_k‖), and the exact x(B)'s
    reconstruction and B - A after ``snapshot`` steps (section 3 shows them); per α of
    ``recipe["sparse"]`` and per optimiser, ADP with R = ‖·‖₁ from the LASSO solution (error, residual, and the
    length of B's path over ‖A‖_F), with the LASSO's error and residual and the least-squares error on the true
    support."""
    c, sp = recipe["convergence"], recipe["sparse"]
    A, x_true, y, delta = integration_example(n=c["n"], index=c["index"], noise=c["noise"], seed=c["seed"])
    convergence = {"delta": torch.tensor(delta, dtype=DTYPE)}
    for alpha in c["alphas"]:
        _, exact = train_adp(A, y, alpha, n_iter=c["n_iter"], lr=c["lr"], x_true=x_true, track_every=None,
                             progress=progress)
        _, layers = train_adp(A, y, alpha, n_iter=c["n_iter"], lr=c["lr"], n_layers=c["n_layers"], x_true=x_true,
                              track_every=c["track_every"], progress=progress)
        _, warm = train_adp(A, y, alpha, n_iter=c["n_iter"], lr=c["lr"], n_layers=c["n_layers"], x_true=x_true,
                            x0=tikhonov(A, y, alpha), track_every=c["track_every"], progress=progress)
        (x_snapshot, B_snapshot), _ = train_adp(A, y, alpha, n_iter=c["snapshot"], lr=c["lr"], track_every=None,
                                                progress=progress)
        convergence[str(alpha)] = {"exact": _curves(exact, ("error", "residual", "step_norm")),
                                   "layers": _curves(layers, ("error", "residual", "step_norm", "gap",
                                                              "gap_iteration")),
                                   "layers_from_x_A": _first_steps(_curves(warm, ("error", "residual", "gap",
                                                                                  "gap_iteration")), c["warm_steps"]),
                                   "x_snapshot": x_snapshot.detach().clone(),
                                   "B_change_snapshot": (B_snapshot - A).to(torch.float32)}
    A3, x3, y3, delta3 = sparse_integration_example(n=sp["n"], n_spikes=sp["n_spikes"], seed=sp["seed"])
    support = (x3 != 0).nonzero().flatten()
    oracle = torch.zeros_like(x3)
    oracle[support] = torch.linalg.lstsq(A3[:, support], y3[:, None]).solution.flatten()
    sparse = {"delta": torch.tensor(delta3, dtype=DTYPE),
              "oracle_error": torch.tensor(relative_error(oracle, x3), dtype=DTYPE)}
    for alpha in sp["alphas"]:
        lasso, _ = fista(MatrixOperator(A3), y3, alpha, n_iter=sp["lasso_iter"])
        runs = {"lasso_error": torch.tensor(relative_error(lasso, x3), dtype=DTYPE),
                "lasso_residual": torch.tensor((A3 @ lasso - y3).norm().item(), dtype=DTYPE)}
        for name, lr in sp["optimizers"].items():
            _, h = train_adp(A3, y3, alpha, L1(), n_iter=sp["n_iter"], lr=lr, n_layers=sp["n_layers"], x_true=x3,
                             x0=lasso, track_every=None, optimizer=OPTIMIZERS[name], progress=progress)
            runs[name] = _curves(h, ("error", "residual", "step_norm"))
            runs[name]["path_length"] = torch.tensor(sum(h.step_norm) / A3.norm().item(), dtype=DTYPE)
        sparse[str(alpha)] = runs
    return {"convergence": convergence, "sparse": sparse}


#: The record: ``RECORD.load()`` gives :func:`run`'s payload, ``RECORD.make()`` regenerates it.
RECORD = Record("adp_long_runs", RECIPE, run, __name__, "python scripts/record_adp.py")


def recorded() -> dict:
    """The payload of :func:`run` as recorded by ``python scripts/record_adp.py`` (checked against the code)."""
    return RECORD.load()
