"""Checks of lecture 01 (inverse problems): soft-thresholding, ISTA and FISTA, Tikhonov through the SVD and the
discrepancy principle."""
from __future__ import annotations

import math

import torch

from .core import CheckFailed, check_close, check_tensor_result, describe, passed
from .own_work import check_own_work

__all__ = ["check_soft_threshold", "check_ista", "check_fista", "check_tikhonov_svd", "check_discrepancy_alpha",
           "blur_problem", "blur_answers"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("soft_threshold", "ista", "fista", "IntegrationOperator", "tikhonov", "discrepancy_principle")


def check_soft_threshold(soft_threshold) -> None:
    """Cases that each test one rule of :math:`S_\\lambda(x) = \\mathrm{sign}(x)\\max(|x| - \\lambda, 0)`."""
    check_own_work(soft_threshold, *OWN_WORK)
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
        call = f"soft_threshold({describe(x)}, lam={lam})"
        check_close(soft_threshold(x.clone(), lam), expected, call, rule, atol=1e-12)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    out = check_tensor_result(soft_threshold(x, 0.3), "soft_threshold(x of shape (4, 6), lam=0.3)",
                              shape=(4, 6), dtype=torch.float32)
    if not torch.all(out.abs() <= x.abs() + 1e-7):
        raise CheckFailed("soft_threshold must never increase |x|: it shrinks every entry towards 0")
    passed(f"soft_threshold passes {len(cases) + 1} checks (zeroing, shrinking, signs, λ = 0, shapes)")


def _lasso_problem(seed=0, m=15, n=30):
    g = torch.Generator().manual_seed(seed)
    from ..operators import MatrixOperator
    M = torch.randn(m, n, generator=g, dtype=torch.float64) / math.sqrt(m)
    x = torch.zeros(n, dtype=torch.float64)
    x[torch.randperm(n, generator=g)[:3]] = torch.randn(3, generator=g, dtype=torch.float64)
    A = MatrixOperator(M)
    y = A(x) + 0.01 * torch.randn(m, generator=g, dtype=torch.float64)
    return A, y, 1.0 / A.norm() ** 2


def _check_solver(student, reference, name: str, rate_text: str) -> None:
    from ..solvers import ista_step

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
        raise CheckFailed(f"{call}: objective[0] = {objective[0]:.6g}, expected {history.objective[0]:.6g}, F at the "
                          "start x_0 = 0. F is the whole LASSO objective: half the squared norm of the residual plus "
                          "lam times the l1 norm of x")
    first_call = f"{name}(A, y, lam={lam}, n_iter=1, step={step:.4f})[0]"
    first = student(A, y, lam, 1, step)[0]
    x_1 = ista_step(torch.zeros_like(x_ref), A, y, lam, step)       # x_0 = z_0 = 0: ISTA and FISTA agree here
    if not torch.allclose(first.to(x_1), x_1, atol=1e-10):
        from ..prox import soft_threshold as shrink

        back = A.A_adjoint(y)                                      # from x_0 = 0 the gradient of the data term is -A*y
        mistakes = {"the threshold is lam: the prox of a step of length step on lam ||x||_1 thresholds at step * lam":
                    shrink(step * back, lam),
                    "the gradient step goes uphill: the gradient of the data term at x is A*(A x - y), and a step "
                    "moves against it": shrink(-step * back, step * lam),
                    "the gradient step has length 1, not step": shrink(back, step * lam),
                    "x_1 is the gradient step alone: it must then be soft-thresholded": step * back}
        for why, wrong in mistakes.items():
            if torch.allclose(first.to(wrong), wrong, atol=1e-10):
                raise CheckFailed(f"{first_call}: {why}")
    check_close(first, x_1, first_call, "the first iterate from x_0 = 0 is one proximal-gradient step: a gradient "
                "step on the data term, then soft-thresholding", atol=1e-10)
    for k, (mine, ref) in enumerate(zip(objective, history.objective)):
        if abs(mine - ref) > 1e-6 * max(1.0, abs(ref)):
            raise CheckFailed(f"{call}: objective[{k}] = {mine:.8g}, expected {ref:.8g}; the iterates first differ at "
                              f"iteration {k}. {rate_text}")
    check_close(x, x_ref, f"{call}[0]", "the final iterate differs although the objectives agree", atol=1e-6)
    passed(f"{name} matches the reference on a 15x30 LASSO problem for {n_iter} iterations")


def check_ista(ista) -> None:
    """Student's ``ista(A, y, lam, n_iter, step) -> (x, objective)`` against :func:`course_lib.solvers.ista`."""
    check_own_work(ista, *OWN_WORK)
    from ..solvers import ista as reference
    _check_solver(ista, reference, "ista",
                  "Each iterate is one proximal-gradient step from the previous iterate (the first one is right), "
                  "and each objective value is F at the iterate of that index.")


def check_fista(fista) -> None:
    """Student's ``fista(A, y, lam, n_iter, step) -> (x, objective)`` against :func:`course_lib.solvers.fista`."""
    check_own_work(fista, *OWN_WORK)
    from ..solvers import fista as reference
    _check_solver(fista, reference, "fista",
                  "FISTA takes its gradient step at the extrapolated point z_k, not at x_k; compare your start "
                  "(t_0, z_0) and the momentum weight with the markdown's, and record F at x_k, not at z_k.")


def _integration_svd(n=40):
    """The integration matrix h * (lower triangle of ones), its SVD, a smooth truth and noisy data."""
    from ..operators import IntegrationOperator
    M = IntegrationOperator(n).to_matrix()
    U, s, Vh = torch.linalg.svd(M)
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    x = torch.sin(2 * math.pi * t) + 0.5 * (t > 0.5).double()
    y = M @ x + 0.005 * torch.randn(n, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    return M, U, s, Vh.T, y


def check_tikhonov_svd(tikhonov_svd) -> None:
    """``tikhonov_svd(U, s, V, y, alpha)`` = Σ σ_k/(σ_k² + α) ⟨u_k, y⟩ v_k, against the normal equations."""
    check_own_work(tikhonov_svd, *OWN_WORK)
    M, U, s, V, y = _integration_svd()
    for alpha in (1e-3, 1e-5, 0.0):
        call = f"tikhonov_svd(U, s, V, y, alpha={alpha:g})"
        got = check_tensor_result(tikhonov_svd(U, s, V, y, alpha), call, shape=(40,), dtype=torch.float64)
        expected = torch.linalg.solve(M.T @ M + alpha * torch.eye(40, dtype=torch.float64), M.T @ y)
        coefficients = U.T @ y
        if alpha and torch.allclose(got, V @ (coefficients / s), rtol=1e-8):
            raise CheckFailed(f"{call} is the naive inverse Σ ⟨u_k, y⟩/σ_k v_k: α must damp the small σ_k, with the "
                              "filter σ_k/(σ_k² + α)")
        if alpha and torch.allclose(got, V @ (coefficients / (s + alpha)), rtol=1e-8):
            raise CheckFailed(f"{call} uses 1/(σ_k + α); Tikhonov's filter is σ_k/(σ_k² + α), from (AᵀA + αI)x = Aᵀy")
        if torch.allclose(got, U @ (s / (s ** 2 + alpha) * (V.T @ y)), rtol=1e-8) or \
                torch.allclose(got, V.T @ (s / (s ** 2 + alpha) * coefficients), rtol=1e-8):
            raise CheckFailed(f"{call}: the singular vectors are swapped or transposed; x lives in the span of the "
                              "right singular vectors (the columns of V), "
                              "y is expanded in the left ones (columns of U)")
        check_close(got, expected, call, "x_α = Σ_k σ_k/(σ_k² + α) ⟨u_k, y⟩ v_k, which solves (AᵀA + αI)x = Aᵀy",
                    atol=1e-8, rtol=1e-8)
    passed("tikhonov_svd solves the normal equations through the SVD, for α > 0 and α = 0")


def check_discrepancy_alpha(discrepancy_alpha) -> None:
    """``discrepancy_alpha(U, s, V, y, delta, alphas, tau)``: the largest α of the grid with ‖Ax_α − y‖ ≤ τδ."""
    check_own_work(discrepancy_alpha, *OWN_WORK)
    M, U, s, V, y = _integration_svd()
    alphas = [10.0 ** (e / 5) for e in range(-40, 1)]
    residual = lambda a: (M @ torch.linalg.solve(M.T @ M + a * torch.eye(40, dtype=torch.float64),
                                                 M.T @ y) - y).norm().item()
    residuals = [residual(a) for a in alphas]
    delta = 0.005 * math.sqrt(40)
    for tau in (1.1, 2.0):
        call = f"discrepancy_alpha(U, s, V, y, delta={delta:.4f}, alphas=1e-8..1 (41 values), tau={tau})"
        got = discrepancy_alpha(U, s, V, y, delta, alphas, tau)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise CheckFailed(f"{call} returned {type(got).__name__}; expected one α of the grid, as a float")
        admissible = [a for a, r in zip(alphas, residuals) if r <= tau * delta]
        expected = max(admissible)
        if math.isclose(got, min(admissible)):
            raise CheckFailed(f"{call} is {got:g}, the smallest admissible α; the principle takes the largest α whose "
                              "residual is still at most τδ (the most regularisation the noise allows)")
        loose = [a for a, r in zip(alphas, residuals) if r <= delta]
        if tau != 1.0 and loose and math.isclose(got, max(loose)) and not math.isclose(got, expected):
            raise CheckFailed(f"{call} is {got:g}: you compare the residual with δ; the rule is ‖Ax_α − y‖ ≤ τδ")
        if not math.isclose(got, expected):
            raise CheckFailed(f"{call} is {got:g}; expected {expected:g}, the largest α of the grid with "
                              f"‖Ax_α − y‖ ≤ τδ = {tau * delta:.4f}")
    passed("discrepancy_alpha takes the largest α whose residual is at most τδ")


def blur_problem(n: int = 100, width: float = 3.0, noise: float = 0.01, seed: int = 3) -> dict:
    """Exercise 01's new operator: a Gaussian blur of ``width`` samples on ``n`` points (each row sums to 1), a
    piecewise-smooth signal ``x``, its data ``y`` with white noise of standard deviation ``noise``, the noise level
    ``delta`` = noise * sqrt(n) and the grid of α, ``alphas`` (41 values from 1e-8 to 1)."""
    i = torch.arange(n, dtype=torch.float64)
    K = torch.exp(-0.5 * ((i[:, None] - i[None, :]) / width) ** 2)
    K = K / K.sum(1, keepdim=True)
    t = (i + 0.5) / n
    x = (t > 0.3).double() - 0.6 * (t > 0.7).double() + 0.3 * torch.sin(6 * t)
    y = K @ x + noise * torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return {"A": K, "x": x, "y": y, "delta": noise * math.sqrt(n), "alphas": torch.logspace(-8, 0, 41).tolist()}


def blur_answers(problem: dict, tau: float = 1.1) -> dict:
    """The answers of exercise 01's derived questions on :func:`blur_problem`, computed from the normal equations:
    the α the discrepancy principle picks (the largest of the grid whose residual is at most tau * delta) and the α of
    the grid with the least error to the truth."""
    A, x, y = problem["A"], problem["x"], problem["y"]
    eye = torch.eye(A.shape[1], dtype=A.dtype)
    solutions = {a: torch.linalg.solve(A.T @ A + a * eye, A.T @ y) for a in problem["alphas"]}
    admissible = [a for a, x_a in solutions.items() if (A @ x_a - y).norm().item() <= tau * problem["delta"]]
    return {"alpha_dp": max(admissible),
            "alpha_best": min(solutions, key=lambda a: (solutions[a] - x).norm().item())}
