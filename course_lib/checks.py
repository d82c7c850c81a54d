"""Feedback checks for the exercises: each one tells the student what was wrong, not just *that*.

A check either prints a short success line or raises :class:`CheckFailed` (an AssertionError)
whose message names the input, what came back, what was expected and the rule behind it.
A ``NotImplementedError`` from an unfinished exercise is passed through untouched, so the
student sees which function still needs writing.
"""
from __future__ import annotations

import math

import torch

__all__ = ["CheckFailed", "check_tensor_result", "check_close", "check_adjoint", "check_soft_threshold",
           "check_ista", "check_fista", "passed", "check_lista_init", "check_lista_layer",
           "check_layers_match_ista", "check_nmse_below", "check_pg_network", "check_adp_step", "check_variance_detector", "check_dip_step"]


class CheckFailed(AssertionError):
    """A failed exercise check; the message is the feedback."""


def passed(message: str) -> None:
    print(f"✔ {message}")


def _fmt(t) -> str:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        if t.numel() <= 8:
            return "tensor(" + str([round(v, 4) for v in t.reshape(-1).tolist()]) + (
                f", shape {tuple(t.shape)})" if t.ndim != 1 else ")")
        return f"tensor of shape {tuple(t.shape)}"
    return repr(t)


def check_tensor_result(result, call: str, shape=None, dtype=None) -> torch.Tensor:
    """``result`` must be a tensor (of ``shape`` and ``dtype`` when given)."""
    if not isinstance(result, torch.Tensor):
        raise CheckFailed(f"{call} returned {type(result).__name__} ({result!r:.60}); expected a torch.Tensor"
                          + (". Did you forget the `return` statement?" if result is None else ""))
    if shape is not None and tuple(result.shape) != tuple(shape):
        raise CheckFailed(f"{call} returned a tensor of shape {tuple(result.shape)}; expected {tuple(shape)} "
                          "(the output must have the shape of the input)")
    if dtype is not None and result.dtype != dtype:
        raise CheckFailed(f"{call} returned dtype {result.dtype}; expected {dtype} (keep the input's dtype)")
    return result


def check_close(actual, expected, call: str, rule: str = "", atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """``actual`` must equal ``expected`` to tolerance; the message shows both and the ``rule``."""
    actual = check_tensor_result(actual, call, shape=expected.shape)
    if not torch.allclose(actual.to(expected), expected, atol=atol, rtol=rtol):
        worst = (actual.to(expected) - expected).abs().max().item()
        raise CheckFailed(f"{call} returned {_fmt(actual)}; expected {_fmt(expected)} "
                          f"(largest difference {worst:.3g})" + (f". {rule[:1].upper()}{rule[1:]}" if rule else ""))


def check_adjoint(forward, adjoint, in_shape, what: str = "adjoint", trials: int = 3, tol: float = 1e-10) -> None:
    r"""Dot-product test :math:`\langle Ax, y\rangle = \langle x, A^*y\rangle` on random float64 inputs.

    ``forward`` and ``adjoint`` are functions of tensors of shape ``(batch, *in_shape)`` /
    ``(batch, *out_shape)``.
    """
    g = torch.Generator().manual_seed(1234)
    for trial in range(trials):
        x = torch.randn((2, *in_shape), generator=g, dtype=torch.float64)
        Ax = forward(x)
        y = torch.randn(Ax.shape, generator=g, dtype=torch.float64)
        ATy = check_tensor_result(adjoint(y), f"{what}(y) for y of shape {tuple(y.shape)}", shape=x.shape)
        lhs, rhs = (Ax * y).sum().item(), (x * ATy).sum().item()
        rel = abs(lhs - rhs) / (Ax.norm().item() * y.norm().item() + 1e-300)
        if not rel < tol:
            raise CheckFailed(f"dot-product test failed: <A x, y> = {lhs:.6g} but <x, {what}(y)> = {rhs:.6g} "
                              f"(relative error {rel:.2e}) for random x, y. The adjoint must satisfy "
                              "<A x, y> = <x, A* y> for every x and y; check the direction of your sums/indices.")
    passed(f"{what} passes the dot-product test <Ax, y> = <x, A*y> ({trials} random pairs, float64)")


def check_soft_threshold(soft_threshold) -> None:
    """Cases that each test one rule of :math:`S_\\lambda(x) = \\mathrm{sign}(x)\\max(|x| - \\lambda, 0)`."""
    T = lambda *v: torch.tensor(v, dtype=torch.float64)
    cases = [
        (T(0.5), 1.0, T(0.0), "entries with |x| <= λ must become 0"),
        (T(-0.5), 1.0, T(0.0), "entries with |x| <= λ must become 0, negative ones too"),
        (T(1.0), 1.0, T(0.0), "|x| = λ is on the boundary and must give 0"),
        (T(3.0), 1.0, T(2.0), "entries with x > λ must move towards 0 by λ: x - λ"),
        (T(-3.0), 1.0, T(-2.0), "entries with x < -λ must move towards 0 by λ: x + λ (the sign is kept)"),
        (T(-2.0, -0.5, 0.0, 0.5, 2.0), 0.0, T(-2.0, -0.5, 0.0, 0.5, 2.0), "λ = 0 must leave x unchanged"),
        (T(-2.0, -0.5, 0.0, 0.5, 2.0), 1.0, T(-1.0, 0.0, 0.0, 0.0, 1.0), "apply the rule entrywise"),
    ]
    for x, lam, expected, rule in cases:
        call = f"soft_threshold({_fmt(x)}, lam={lam})"
        check_close(soft_threshold(x.clone(), lam), expected, call, rule, atol=1e-12)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    out = check_tensor_result(soft_threshold(x, 0.3), "soft_threshold(x of shape (4, 6), lam=0.3)",
                              shape=(4, 6), dtype=torch.float32)
    if not torch.all(out.abs() <= x.abs() + 1e-7):
        raise CheckFailed("soft_threshold must never increase |x|: it shrinks every entry towards 0")
    passed(f"soft_threshold passes {len(cases) + 1} checks (zeroing, shrinking, signs, λ = 0, shapes)")


def _lasso_problem(seed=0, m=15, n=30):
    g = torch.Generator().manual_seed(seed)
    from .operators import MatrixOperator
    M = torch.randn(m, n, generator=g, dtype=torch.float64) / math.sqrt(m)
    x = torch.zeros(n, dtype=torch.float64)
    x[torch.randperm(n, generator=g)[:3]] = torch.randn(3, generator=g, dtype=torch.float64)
    A = MatrixOperator(M)
    y = A(x) + 0.01 * torch.randn(m, generator=g, dtype=torch.float64)
    return A, y, 1.0 / A.norm() ** 2


def _check_solver(student, reference, name: str, rate_text: str) -> None:
    A, y, step = _lasso_problem()
    lam, n_iter = 0.05, 30
    call = f"{name}(A, y, lam={lam}, n_iter={n_iter}, step={step:.4f})"
    result = student(A, y, lam, n_iter, step)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed(f"{call} returned {type(result).__name__}; expected a pair (x, objective)")
    x, objective = result
    x_ref, history = reference(A, y, lam, n_iter=n_iter, step=step)
    check_tensor_result(x, f"{call}[0]", shape=x_ref.shape)
    objective = [float(v) for v in objective]
    if len(objective) != n_iter + 1:
        raise CheckFailed(f"{call} returned {len(objective)} objective values; expected n_iter + 1 = {n_iter + 1} "
                          "(the objective at x_0, x_1, ..., x_n_iter)")
    if abs(objective[0] - history.objective[0]) > 1e-8 * max(1.0, abs(history.objective[0])):
        raise CheckFailed(f"{call}: objective[0] = {objective[0]:.6g}, expected {history.objective[0]:.6g}. "
                          "Start from x_0 = 0 and use F(x) = 0.5 * ||A x - y||^2 + lam * ||x||_1.")
    for k, (mine, ref) in enumerate(zip(objective, history.objective)):
        if abs(mine - ref) > 1e-6 * max(1.0, abs(ref)):
            raise CheckFailed(f"{call}: objective[{k}] = {mine:.8g}, expected {ref:.8g}; the iterates first differ at "
                              f"iteration {k}. {rate_text}")
    check_close(x, x_ref, f"{call}[0]", "the final iterate differs although the objectives agree", atol=1e-6)
    passed(f"{name} matches the reference on a 15x30 LASSO problem for {n_iter} iterations")


def check_ista(ista) -> None:
    """Student's ``ista(A, y, lam, n_iter, step) -> (x, objective)`` against :func:`course_lib.solvers.ista`."""
    from .solvers import ista as reference
    _check_solver(ista, reference, "ista",
                  "One ISTA step is x = soft_threshold(x - step * A.A_adjoint(A(x) - y), step * lam).")


def check_fista(fista) -> None:
    """Student's ``fista(A, y, lam, n_iter, step) -> (x, objective)`` against :func:`course_lib.solvers.fista`."""
    from .solvers import fista as reference
    _check_solver(fista, reference, "fista",
                  "FISTA takes the gradient step at the extrapolated point z, starts with t = 1 and "
                  "z = x_0, and sets z = x_new + (t - 1) / t_new * (x_new - x).")


# ------------------------------------------------------------------ lecture 03: unfolding

def _ista_reference(A, y, lam, n_layers):
    from .operators import MatrixOperator
    from .solvers import ista
    op = MatrixOperator(A)
    step = 1.0 / torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2
    iterates = []
    ista(op, y, lam, n_iter=n_layers, step=step, callback=lambda k, x: iterates.append(x))
    return step, iterates


def check_lista_init(lista_init) -> None:
    """``lista_init(A, lam) -> (W_e, S, theta)`` must be ISTA's weights: A^T/L, I - A^T A/L, lam/L."""
    from .data import gaussian_matrix
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
    from .data import gaussian_matrix, sparse_signals
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
    from .metrics import nmse_db
    value = nmse_db(x_hat.detach(), x_true)
    if not value <= bar_db:
        raise CheckFailed(f"{what} reaches {value:.1f} dB NMSE; at most {bar_db:.1f} dB is expected. Train longer, or check "
                          "that the loss reaches every layer and that the learning rate is not too large")
    passed(f"{what}: {value:.1f} dB NMSE (bar: {bar_db:.1f} dB)")


def _adp_problem(n=30, seed=2):
    from .adp import integration_example
    A, x_true, y, delta = integration_example(n=n, index=3, noise=0.1, seed=seed)
    return A, x_true, y, delta


def check_pg_network(pg_network) -> None:
    """``pg_network(B, y, alpha, step, n_layers, x0=None)`` must be the proximal-gradient layers for R = ½‖x‖²."""
    from .adp import prox_gradient_layers, tikhonov_solution
    A, _, y, _ = _adp_problem()
    step = 1 / torch.linalg.matrix_norm(A, ord=2).item() ** 2
    one = pg_network(A, y, 0.01, step, 1)
    check_tensor_result(one, "pg_network(A, y, 0.01, step, 1)", shape=(30,), dtype=torch.float64)
    check_close(one, prox_gradient_layers(A, y, 0.01, step, 1), "pg_network(A, y, 0.01, step, n_layers=1) from x0 = 0",
                "one layer from 0 is prox(b) = λB*y / (1 + λα): W x0 vanishes", atol=1e-12)
    x0 = torch.linspace(-1, 1, 30, dtype=torch.float64)
    check_close(pg_network(A, y, 0.01, step, 3, x0), prox_gradient_layers(A, y, 0.01, step, 3, "l2", x0),
                "pg_network(A, y, 0.01, step, 3, x0)", "start from x0 (the warm start) and apply the same layer 3 "
                "times: x <- prox((I - λB*B) x + λB*y), prox(v) = v / (1 + λα)", atol=1e-12)
    many = pg_network(A, y, 0.05, step, 3000)
    check_close(many, tikhonov_solution(A, y, 0.05), "pg_network(A, y, 0.05, step, 3000 layers)",
                "with many layers the network converges to Tikhonov's (B*B + αI)^(-1) B*y", atol=1e-9, rtol=1e-6)
    passed("pg_network is the proximal-gradient method: one layer, a warm start, and Tikhonov's solution in the limit")


def check_adp_step(adp_step) -> None:
    """``adp_step(B, A, y, alpha, lr) -> (B_new, loss)``: one gradient step on F(B) = ½‖A x(B) − y‖²."""
    from .adp import tikhonov_solution
    A, _, y, _ = _adp_problem()
    B = A.clone()
    result = adp_step(B, A, y, 0.01, 0.3)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed(f"adp_step(B, A, y, 0.01, 0.3) returned {type(result).__name__}; expected a pair (B_new, loss)")
    B_new, loss = result
    check_tensor_result(B_new, "adp_step(...)[0] (B_new)", shape=A.shape, dtype=torch.float64)
    if not torch.equal(B, A):
        raise CheckFailed("adp_step changed its argument B in place; return a new tensor and leave B as it was")
    Bg = A.clone().requires_grad_(True)
    F = 0.5 * ((A @ tikhonov_solution(Bg, y, 0.01) - y) ** 2).sum()
    (grad,) = torch.autograd.grad(F, Bg)
    if abs(float(loss) - F.item()) > 1e-10 * max(1.0, F.item()):
        raise CheckFailed(f"adp_step(...)[1] (loss) is {float(loss):.6g}; expected F(B) = ½‖A x(B) − y‖² = {F.item():.6g} "
                          "at the B you were given (before the step), with x(B) = (BᵀB + αI)⁻¹Bᵀy")
    check_close(B_new, A - 0.3 * grad, "adp_step(A, A, y, 0.01, lr=0.3)[0]",
                "B_new = B − lr · ∇F(B): take the gradient of the loss with respect to B (torch.autograd.grad)",
                atol=1e-12, rtol=1e-8)
    passed("adp_step takes one gradient step on F(B) = ½‖A x(B) − y‖² and returns the loss before it")


def _settling_path(n=300, best=120, size=12, seed=0):
    """Outputs truth + s(k) noise with s smallest at ``best``: a path whose settled iterate is known."""
    g = torch.Generator().manual_seed(seed)
    truth = torch.rand(size, size, generator=g)
    return [truth + (0.02 + 0.5 * abs(k - best) / n) * torch.randn(size, size, generator=g) for k in range(1, n + 1)]


def check_variance_detector(Detector) -> None:
    """``Detector(window, patience)`` with ``update(k, x) -> bool``, ``variances``, ``best_iteration``,
    ``best_output``: the running variance of the last ``window`` outputs (ES-WMV)."""
    from .dip import WindowedVarianceDetector
    path = _settling_path()
    for window, patience in [(10, 40), (25, 60)]:
        mine, ref = Detector(window, patience), WindowedVarianceDetector(window, patience)
        for k, x in enumerate(path, 1):
            said = mine.update(k, x.clone())
            expected = ref.update(k, x)
            if not isinstance(said, bool):
                raise CheckFailed(f"update({k}, x) returned {type(said).__name__}; expected True (stop) or False")
            if len(mine.variances) != k:
                raise CheckFailed(f"after {k} updates, variances has {len(mine.variances)} entries; append one per "
                                  "update (math.nan while fewer than `window` outputs are stored)")
            v_mine, v_ref = float(mine.variances[-1]), ref.variances[-1]
            if math.isnan(v_ref) != math.isnan(v_mine) or (not math.isnan(v_ref) and abs(v_mine - v_ref) > 1e-5 * v_ref):
                raise CheckFailed(f"window {window}: the variance after update {k} is {v_mine:.6g}; expected "
                                  f"{v_ref:.6g}: the mean over the last {window} outputs of ||x_i - mean||^2 / "
                                  "#pixels (nan while fewer than `window` outputs are stored)")
            if said != expected:
                raise CheckFailed(f"window {window}, patience {patience}: update({k}, x) returned {said}; expected "
                                  f"{expected} (the lowest variance was at iteration {ref.best_iteration}: stop when it has "
                                  f"not improved for `patience` iterations, i.e. at k - best_iteration >= patience)")
            if expected:
                break
        if mine.best_iteration != ref.best_iteration:
            raise CheckFailed(f"best_iteration is {mine.best_iteration}; expected {ref.best_iteration} (the newest "
                              "iteration of the window with the lowest variance)")
        check_close(mine.best_output, ref.best_output, "best_output", "keep (a copy of) the output at best_iteration")
    passed("your detector tracks the windowed variance and stops `patience` iterations after its minimum")


def check_dip_step(dip_step) -> None:
    """``dip_step(net, optimizer, A, y, z, input_noise, generator) -> (loss, output)``."""
    import copy

    from .dip import SkipNet
    from .operators import Inpainting

    torch.manual_seed(3)
    net = SkipNet(in_channels=4, channels=8, depth=2)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 16, generator=g)
    A = Inpainting((torch.rand(16, 16, generator=g) < 0.6).float())
    y, z = A(x), 0.1 * torch.rand(1, 4, 16, 16, generator=g)
    ref = copy.deepcopy(net)
    opt, opt_ref = torch.optim.Adam(net.parameters(), lr=0.01), torch.optim.Adam(ref.parameters(), lr=0.01)
    gen, gen_ref = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for step in (1, 2):
        z_k = z + 0.05 * torch.randn(z.shape, generator=gen_ref)
        out_ref = ref(z_k)[0, 0]
        loss_ref = ((A(out_ref) - y) ** 2).mean()
        opt_ref.zero_grad()
        loss_ref.backward()
        opt_ref.step()
        result = dip_step(net, opt, A, y, z, 0.05, gen)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed(f"dip_step returned {type(result).__name__}; expected a pair (loss, output)")
        loss, out = result
        if not isinstance(loss, float):
            raise CheckFailed(f"the loss is a {type(loss).__name__}; return it as a Python float (loss.item())")
        if abs(loss - loss_ref.item()) > 1e-6 * max(1.0, loss_ref.item()):
            raise CheckFailed(f"step {step}: the loss is {loss:.6g}; expected {loss_ref.item():.6g} = mean |A G(z + e) - y|^2 "
                              "with e = input_noise * torch.randn(z.shape, generator=generator), drawn once per step")
        out = check_tensor_result(out, "dip_step(...)[1] (the output)", shape=(16, 16))
        if out.requires_grad:
            raise CheckFailed("the output still requires grad; return out.detach()")
        check_close(out, out_ref.detach(), f"step {step}: the output", "return the network's output before the update, "
                    "as an (H, W) image")
        for (name, p), p_ref in zip(net.named_parameters(), ref.parameters()):
            if not torch.allclose(p, p_ref, atol=1e-6):
                raise CheckFailed(f"step {step}: the weights {name} differ from one Adam step on the loss"
                                  + (" (did you zero the gradients before backward()?)" if step == 2 else ""))
    passed("dip_step draws the input noise, takes one optimizer step on mean |A G(z + e) - y|^2, returns (loss, output)")
