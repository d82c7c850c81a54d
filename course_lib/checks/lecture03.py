"""Checks of lecture 03 (deep unfolding): LISTA's initialisation, one layer, the untrained network, the trained one."""
from __future__ import annotations

import torch

from .core import CheckFailed, check_close, passed
from .own_work import check_own_work

__all__ = ["check_lista_init", "check_lista_layer", "check_layers_match_ista", "check_nmse_below"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("unfolding.lista_layer", "unfolding.LISTA", "ista", "fista")


def _ista_reference(A, y, lam, n_layers):
    from ..operators import MatrixOperator
    from ..solvers import ista
    op = MatrixOperator(A)
    step = 1.0 / torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2
    iterates = []
    ista(op, y, lam, n_iter=n_layers, step=step, callback=lambda k, x: iterates.append(x))
    return step, iterates


def check_lista_init(lista_init) -> None:
    """``lista_init(A, lam) -> (W_e, S, theta)`` must be ISTA's weights: A^T/L, I - A^T A/L, lam/L."""
    check_own_work(lista_init, *OWN_WORK)
    from ..data import gaussian_matrix
    A = gaussian_matrix(12, 20, seed=3, dtype=torch.float64)
    lam = 0.1
    result = lista_init(A, lam)
    if not (isinstance(result, tuple) and len(result) == 3):
        raise CheckFailed(f"lista_init(A, lam) returned {type(result).__name__}; expected a triple (W_e, S, theta)")
    W_e, S, theta = result
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    check_close(W_e, A.T / L, "lista_init(A of shape (12, 20), 0.1)[0] (W_e)",
                "W_e = A^T / L with L = ||A||_2^2, the largest eigenvalue of A^T A (shape (n, m) = (20, 12))", atol=1e-10)
    check_close(S, torch.eye(20, dtype=torch.float64) - A.T @ A / L, "lista_init(A, 0.1)[1] (S)",
                "S = I - A^T A / L, shape (n, n)", atol=1e-10)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if abs(theta.item() - lam / L) > 1e-10 * max(1.0, lam / L):
        raise CheckFailed(f"lista_init(A, 0.1)[2] (theta) is {theta.item():.6g}; expected lam / L = {lam / L:.6g}: "
                          "ISTA thresholds at step * lam with step = 1/L")
    passed("lista_init returns ISTA's weights W_e = A^T/L, S = I - A^T A/L and threshold lam/L")


def check_lista_layer(lista_layer) -> None:
    """``lista_layer(x, y, W_e, S, theta)`` on a batch must be one ISTA step when given ISTA's weights."""
    check_own_work(lista_layer, *OWN_WORK)
    from ..data import gaussian_matrix, sparse_signals
    from ..unfolding import lista_layer as reference_layer
    A = gaussian_matrix(12, 20, seed=4, dtype=torch.float64)
    x_true = sparse_signals(5, 20, 0.2, seed=5, dtype=torch.float64)
    y = x_true @ A.T
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    W_e, S, theta = A.T / L, torch.eye(20, dtype=torch.float64) - A.T @ A / L, torch.tensor(0.05 / L, dtype=torch.float64)
    step, iterates = _ista_reference(A, y, 0.05, 2)
    x1 = lista_layer(torch.zeros_like(x_true), y, W_e, S, theta)
    check_close(x1, iterates[0], "lista_layer(x=0, y of shape (5, 12), W_e, S, theta)",
                "From x = 0 one layer is soft_threshold(y @ W_e.T, theta); the batch is the first dimension", atol=1e-10)
    check_close(lista_layer(x1, y, W_e, S, theta), iterates[1], "lista_layer(x_1, y, W_e, S, theta)",
                "A layer is soft_threshold(y @ W_e.T + x @ S.T, theta) (rows of x and y are signals)", atol=1e-10)
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(7, 9, generator=g, dtype=torch.float64), torch.randn(7, 4, generator=g, dtype=torch.float64)
    W_e, S = torch.randn(9, 4, generator=g, dtype=torch.float64), torch.randn(9, 9, generator=g, dtype=torch.float64)
    check_close(lista_layer(x, y, W_e, S, torch.tensor(0.5, dtype=torch.float64)),
                reference_layer(x, y, W_e, S, torch.tensor(0.5, dtype=torch.float64)),
                "lista_layer(x, y, W_e, S, 0.5) with random weights (7 signals)",
                "A learned layer has any weights, not only ISTA's: use W_e and S as given", atol=1e-10)
    passed("lista_layer computes S_theta(W_e y + S x) on a batch: with ISTA's weights it is an ISTA step")


def check_layers_match_ista(outputs, A, y, lam) -> None:
    """The untrained network's layer outputs ``[x_0, ..., x_T]`` must be ISTA's iterates."""
    if not isinstance(outputs, (list, tuple)) or len(outputs) < 2:
        raise CheckFailed("the network must return the list [x_0, x_1, ..., x_T] when called with all_layers=True")
    _, iterates = _ista_reference(A, y, lam, len(outputs) - 1)
    for k, (out, ref) in enumerate(zip(outputs[1:], iterates), start=1):
        diff = (out.detach().to(ref) - ref).abs().max().item()
        if diff > 1e-5 * max(1.0, ref.abs().max().item()):
            raise CheckFailed(f"untrained layer {k} differs from ISTA iteration {k} by {diff:.2e}: the network must "
                              "start exactly at ISTA (check lista_init and that every layer uses its own copy of the weights)")
    passed(f"untrained network = ISTA, layer by layer ({len(outputs) - 1} layers)")


def check_nmse_below(x_hat, x_true, bar_db: float, what: str) -> None:
    """``x_hat`` must reach an NMSE of at most ``bar_db`` dB against ``x_true``."""
    from ..metrics import nmse_db
    value = nmse_db(x_hat.detach(), x_true)
    if not value <= bar_db:
        raise CheckFailed(f"{what} reaches {value:.1f} dB NMSE; at most {bar_db:.1f} dB is expected. Train longer, or check "
                          "that the loss reaches every layer and that the learning rate is not too large")
    passed(f"{what}: {value:.1f} dB NMSE (bar: {bar_db:.1f} dB)")
