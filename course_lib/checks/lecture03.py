"""Checks of lecture 03 (deep unfolding): LISTA's initialisation, one layer, the network (untied and tied), a LISTA-CP
layer, the trained networks."""
from __future__ import annotations

import torch

from .core import CheckFailed, check_close, passed
from .own_work import check_own_work

__all__ = ["check_lista_init", "check_lista_layer", "check_layers_match_ista", "check_lista_network",
           "check_lista_probe", "check_lista_cp_layer", "check_nmse_below"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("unfolding.lista_layer", "unfolding.LISTA", "unfolding.LISTA_CP", "ista", "fista")


def _ista_reference(A, y, lam, n_layers):
    from ..operators import MatrixOperator
    from ..solvers import ista
    op = MatrixOperator(A)
    step = 1.0 / torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2
    iterates = []
    ista(op, y, lam, n_iter=n_layers, step=step, callback=lambda k, x: iterates.append(x))
    return step, iterates


def check_lista_init(lista_init) -> None:
    """``lista_init(A, lam) -> (W_e, W_x, theta)`` must be ISTA's weights: A^T/L, I - A^T A/L, lam/L."""
    check_own_work(lista_init, *OWN_WORK)
    from ..data import gaussian_matrix
    A = gaussian_matrix(12, 20, seed=3, dtype=torch.float64)
    lam = 0.1
    result = lista_init(A, lam)
    if not (isinstance(result, tuple) and len(result) == 3):
        raise CheckFailed(f"lista_init(A, lam) returned {type(result).__name__}; expected a triple (W_e, W_x, theta)")
    W_e, W_x, theta = result
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    check_close(W_e, A.T / L, "lista_init(A of shape (12, 20), 0.1)[0] (W_e)",
                "W_e = A^T / L with L = ||A||_2^2, the largest eigenvalue of A^T A (shape (n, m) = (20, 12))",
                atol=1e-10)
    check_close(W_x, torch.eye(20, dtype=torch.float64) - A.T @ A / L, "lista_init(A, 0.1)[1] (W_x)",
                "W_x = I - A^T A / L, shape (n, n)", atol=1e-10)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if abs(theta.item() - lam / L) > 1e-10 * max(1.0, lam / L):
        raise CheckFailed(f"lista_init(A, 0.1)[2] (theta) is {theta.item():.6g}; expected lam / L = {lam / L:.6g}: "
                          "ISTA thresholds at step * lam with step = 1/L")
    passed("lista_init returns ISTA's weights W_e = A^T/L, W_x = I - A^T A/L and threshold lam/L")


def check_lista_layer(lista_layer) -> None:
    """``lista_layer(x, y, W_e, W_x, theta)`` on a batch must be one ISTA step when given ISTA's weights."""
    check_own_work(lista_layer, *OWN_WORK)
    from ..data import gaussian_matrix, sparse_signals
    from ..unfolding import lista_layer as reference_layer
    A = gaussian_matrix(12, 20, seed=4, dtype=torch.float64)
    x_true = sparse_signals(5, 20, 0.2, seed=5, dtype=torch.float64)
    y = x_true @ A.T
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    W_e, W_x = A.T / L, torch.eye(20, dtype=torch.float64) - A.T @ A / L
    theta = torch.tensor(0.05 / L, dtype=torch.float64)
    step, iterates = _ista_reference(A, y, 0.05, 2)
    x1 = lista_layer(torch.zeros_like(x_true), y, W_e, W_x, theta)
    check_close(x1, iterates[0], "lista_layer(x=0, y of shape (5, 12), W_e, W_x, theta)",
                "From x = 0 one layer is eta_theta(W_e y); the batch is the first dimension", atol=1e-10)
    check_close(lista_layer(x1, y, W_e, W_x, theta), iterates[1], "lista_layer(x_1, y, W_e, W_x, theta)",
                "A layer is eta_theta(W_e y + W_x x) for every signal (row) of the batch", atol=1e-10)
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(7, 9, generator=g, dtype=torch.float64), torch.randn(7, 4, generator=g, dtype=torch.float64)
    W_e, W_x = torch.randn(9, 4, generator=g, dtype=torch.float64), torch.randn(9, 9, generator=g, dtype=torch.float64)
    check_close(lista_layer(x, y, W_e, W_x, torch.tensor(0.5, dtype=torch.float64)),
                reference_layer(x, y, W_e, W_x, torch.tensor(0.5, dtype=torch.float64)),
                "lista_layer(x, y, W_e, W_x, 0.5) with random weights (7 signals)",
                "A learned layer has any weights, not only ISTA's (W_x not symmetric): use W_e and W_x as given",
                atol=1e-10)
    passed("lista_layer computes eta_theta(W_e y + W_x x) on a batch: with ISTA's weights it is an ISTA step")


def check_layers_match_ista(outputs, A, y, lam) -> None:
    """The untrained network's layer outputs ``[x_0, ..., x_T]`` must be ISTA's iterates."""
    if not isinstance(outputs, (list, tuple)) or len(outputs) < 2:
        raise CheckFailed("the network must return the list [x_0, x_1, ..., x_T] when called with all_layers=True")
    _, iterates = _ista_reference(A, y, lam, len(outputs) - 1)
    for k, (out, ref) in enumerate(zip(outputs[1:], iterates), start=1):
        diff = (out.detach().to(ref) - ref).abs().max().item()
        if diff > 1e-5 * max(1.0, ref.abs().max().item()):
            raise CheckFailed(f"untrained layer {k} differs from ISTA iteration {k} by {diff:.2e}: the network must "
                              "start exactly at ISTA (every layer starts from ISTA's weights, and x_0 = 0)")
    passed(f"untrained network = ISTA, layer by layer ({len(outputs) - 1} layers)")


def check_lista_probe(probe, A, y, lam, n_layers: int, tied: bool) -> None:
    """What :func:`~course_lib.checks.drivers.parameter_probe` returned for ``StudentLISTA(A, n_layers, lam, tied)``:
    the layers are ISTA's iterates, the default call returns the last one, and the weights are one copy per layer
    (untied) or one shared copy (tied), every one of them reached by the loss."""
    name = f"StudentLISTA(A of shape {tuple(A.shape)}, {n_layers}, {lam}, tied={tied})"
    outputs = probe["outputs"]
    if not isinstance(outputs, (list, tuple)) or len(outputs) != n_layers + 1:
        got = f"a list of {len(outputs)}" if isinstance(outputs, (list, tuple)) else type(outputs).__name__
        raise CheckFailed(f"{name}(y, all_layers=True) returned {got}; expected the list [x_0, x_1, ..., x_{n_layers}] "
                          f"of {n_layers + 1} tensors, x_0 = 0 included")
    if not all(isinstance(o, torch.Tensor) for o in outputs):
        kinds = ", ".join(sorted({type(o).__name__ for o in outputs}))
        raise CheckFailed(f"{name}(y, all_layers=True) returned a list of {kinds}; "
                          "expected tensors of shape (batch, n)")
    x0 = outputs[0]
    if tuple(x0.shape) != (y.shape[0], A.shape[1]) or x0.abs().max().item() != 0:
        raise CheckFailed(f"{name}: x_0 has shape {tuple(x0.shape)} and largest entry {x0.abs().max().item():.3g}; "
                          f"expected zeros of shape (batch, n) = {(y.shape[0], A.shape[1])}")
    check_layers_match_ista(outputs, A, y, lam)
    last = probe["last"]
    if not isinstance(last, torch.Tensor) or last.shape != outputs[-1].shape or not torch.allclose(last, outputs[-1]):
        raise CheckFailed(f"{name}(y) must return x_{n_layers} (the last layer), not the list: all_layers=False is the "
                          "default")
    m, n = A.shape
    one_copy = m * n + n * n
    expected = one_copy + n_layers if tied else n_layers * one_copy + n_layers
    total = sum(probe["sizes"].values())
    if total != expected:
        if tied and total == n_layers * one_copy + n_layers:
            why = "tied=True keeps one W_e and one W_x that every layer uses, not a copy per layer"
        elif not tied and total == one_copy + n_layers:
            why = "untied, every layer has its own copy of W_e and W_x (nn.ParameterList), not one shared"
        else:
            why = (f"expected {'' if tied else f'{n_layers} x '}(m n + n^2) + {n_layers} (thresholds) with "
                   f"(m, n) = {(m, n)}; keep every weight as an nn.Parameter, and nothing else")
        raise CheckFailed(f"{name} has {total:,} learnable numbers; {why} ({expected:,})")
    unreached = [k for k, hit in probe["reached"].items() if not hit]
    if sum(probe["sizes"][k] for k in unreached) > n * n:       # layer 1's W_x meets x_0 = 0, and may be skipped
        raise CheckFailed(f"{name}: a loss on every layer never reaches the weights {', '.join(unreached)}: layer k "
                          "must compute with its own weights (self.layer(k, x, y) for k = 0, ..., T-1)")
    passed(f"{name}: the untrained layers are ISTA's iterates, with {total:,} learnable numbers "
           f"({'one shared copy' if tied else 'a copy per layer'}), every one reached by the loss")


def check_lista_network(cls, tied: bool = False) -> None:
    """``cls(A, n_layers, lam, tied)``: untrained it is ISTA, layer by layer; its weights are untied or tied."""
    from ..data import gaussian_matrix, sparse_signals
    from .drivers import parameter_probe
    A = gaussian_matrix(10, 16, seed=12)
    y = sparse_signals(6, 16, 0.2, seed=13) @ A.T
    check_lista_probe(parameter_probe(cls, (A, 4, 0.1, tied), y), A, y, 0.1, 4, tied)


def check_lista_cp_layer(lista_cp_layer) -> None:
    """``lista_cp_layer(x, y, A, W, theta)`` = eta_theta(x + W^T (y - A x)) on a batch: an ISTA step at W = A/L, and
    LISTA's layer with the coupled weights W_e = W^T, W_x = I - W^T A."""
    check_own_work(lista_cp_layer, *OWN_WORK)
    from ..data import gaussian_matrix, sparse_signals
    from ..unfolding import lista_layer as reference_layer
    A = gaussian_matrix(12, 20, seed=14, dtype=torch.float64)
    y = sparse_signals(5, 20, 0.2, seed=15, dtype=torch.float64) @ A.T
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    _, iterates = _ista_reference(A, y, 0.05, 2)
    theta = torch.tensor(0.05 / L, dtype=torch.float64)
    x1 = lista_cp_layer(torch.zeros(5, 20, dtype=torch.float64), y, A, A / L, theta)
    check_close(x1, iterates[0], "lista_cp_layer(x=0, y of shape (5, 12), A, W=A/L, theta)",
                "With W = A/L the layer is an ISTA step: from x = 0 it is eta_theta(W^T y)", atol=1e-10)
    check_close(lista_cp_layer(x1, y, A, A / L, theta), iterates[1], "lista_cp_layer(x_1, y, A, W=A/L, theta)",
                "The layer adds W^T (y - A x) to x, then applies eta_theta, for every signal (row) of the batch",
                atol=1e-10)
    g = torch.Generator().manual_seed(16)
    x, W = torch.randn(5, 20, generator=g, dtype=torch.float64), torch.randn(12, 20, generator=g, dtype=torch.float64)
    coupled = reference_layer(x, y, W.T, torch.eye(20, dtype=torch.float64) - W.T @ A, torch.tensor(0.3).double())
    check_close(lista_cp_layer(x, y, A, W, torch.tensor(0.3, dtype=torch.float64)), coupled,
                "lista_cp_layer(x, y, A, W, 0.3) with a random W (shape (m, n), like A)",
                "A learned W is not A/L: the residual y - A x uses the model A, and W^T brings it back", atol=1e-10)
    passed("lista_cp_layer is LISTA's layer with coupled weights W_e = W^T, W_x = I - W^T A: an ISTA step at W = A/L")


def check_nmse_below(x_hat, x_true, bar_db: float, what: str) -> None:
    """``x_hat`` must reach an NMSE of at most ``bar_db`` dB against ``x_true``."""
    from ..metrics import nmse_db
    value = nmse_db(x_hat.detach(), x_true)
    if not value <= bar_db:
        raise CheckFailed(f"{what} reaches {value:.1f} dB NMSE; at most {bar_db:.1f} dB is expected. "
                          "The training given reaches it when every layer's weights are nn.Parameters that the "
                          "forward pass uses and the network returns every layer with all_layers=True "
                          "(the loss reaches each of them)")
    passed(f"{what}: {value:.1f} dB NMSE (bar: {bar_db:.1f} dB)")
