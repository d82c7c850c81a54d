"""Checks of lecture 07 (the analytic deep prior): the proximal-gradient network, the gradient of F, one training
step and the α threshold."""
from __future__ import annotations

import math

import torch

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_pg_network", "check_gradient_F", "check_adp_step", "check_alpha_threshold"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("adp.prox_gradient_layers", "adp.ProxGradientNetwork", "adp.gradient_F", "adp.adp_step", "adp.train_adp")


def _adp_problem(n=30, seed=2):
    from ..adp import integration_example
    A, x_true, y, delta = integration_example(n=n, index=3, noise=0.1, seed=seed)
    return A, x_true, y, delta


def check_pg_network(pg_network) -> None:
    """``pg_network(B, y, alpha, step, n_layers, x0=None)`` must be the proximal-gradient layers for R = ½‖x‖²."""
    check_own_work(pg_network, *OWN_WORK)
    from ..adp import prox_gradient_layers
    from ..solvers import tikhonov
    A, _, y, _ = _adp_problem()
    step = 1 / torch.linalg.matrix_norm(A, ord=2).item() ** 2
    one = pg_network(A, y, 0.01, step, 1)
    check_tensor_result(one, "pg_network(A, y, 0.01, step, 1)", shape=(30,), dtype=torch.float64)
    check_close(one, prox_gradient_layers(A, y, 0.01, step, 1), "pg_network(A, y, 0.01, step, n_layers=1) from x0 = 0",
                "one layer from 0 is prox(b) = λB*y / (1 + λα): W x0 vanishes", atol=1e-12)
    x0 = torch.linspace(-1, 1, 30, dtype=torch.float64)
    check_close(pg_network(A, y, 0.01, step, 3, x0), prox_gradient_layers(A, y, 0.01, step, 3, x0=x0),
                "pg_network(A, y, 0.01, step, 3, x0)", "start from x0 (the warm start) and apply the same layer 3 "
                "times: x <- prox((I - λB*B) x + λB*y), prox(v) = v / (1 + λα)", atol=1e-12)
    many = pg_network(A, y, 0.05, step, 3000)
    check_close(many, tikhonov(A, y, 0.05), "pg_network(A, y, 0.05, step, 3000 layers)",
                "with many layers the network converges to Tikhonov's (B*B + αI)^(-1) B*y", atol=1e-9, rtol=1e-6)
    passed("pg_network is the proximal-gradient method: one layer, a warm start, and Tikhonov's solution in the limit")


def check_gradient_F(gradient_F) -> None:
    """``gradient_F(B, A, y, alpha)``: ∇_B F in closed form, against autograd, without autograd."""
    check_own_work(gradient_F, *OWN_WORK)
    from ..adp import adp_step as reference_step
    from ..adp import gradient_F as reference

    A, _, y, _ = _adp_problem()
    B = A + 0.01 * torch.randn(A.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    try:
        with torch.inference_mode():                          # the closed form, not autograd
            G = gradient_F(B.clone(), A, y, 0.01)
    except NotImplementedError:
        raise
    except RuntimeError as error:
        raise CheckFailed(f"gradient_F(B, A, y, 0.01) raised RuntimeError ({str(error)[:100]}); the check runs it in "
                          "torch.inference_mode(), where autograd sees nothing: "
                          "the exercise asks for the closed form") from None
    G = check_tensor_result(G, "gradient_F(B, A, y, 0.01) for B (30, 30)", shape=A.shape, dtype=torch.float64)
    B_after, _ = reference_step(B, A, y, 0.01, 1.0)
    expected = B - B_after                                    # autograd's gradient, by the library's step
    if not G.any():
        raise CheckFailed("gradient_F returned zeros: the check runs it in torch.inference_mode(), where autograd "
                          "sees nothing; derive the gradient and compute it with two solves")
    if torch.allclose(G, -expected, rtol=1e-8, atol=1e-14):
        raise CheckFailed("gradient_F has the wrong sign: it points downhill; "
                          "the gradient points uphill (F grows along it)")
    if torch.allclose(G, expected.T, rtol=1e-8, atol=1e-14):
        raise CheckFailed("gradient_F is the transpose of the gradient: dF = <G, dB> pairs G's entry (i, j) with B's "
                          "entry (i, j); check which vector forms the rows of each outer product")
    check_close(G, expected, "gradient_F(B, A, y, 0.01)", "∇_B F from the normal equations (BᵀB + αI)x = Bᵀy: "
                "differentiate them, insert dx into dF = (Ax − y)ᵀA dx, and read off G with dF = Σ G_ij dB_ij; two "
                "outer products, one for each place B appears", atol=1e-14, rtol=1e-8)
    wide = torch.randn(12, 20, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    y12 = torch.randn(12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    with torch.inference_mode():
        G12 = gradient_F(wide.clone(), wide, y12, 0.1)
    check_close(check_tensor_result(G12, "gradient_F for B and A of shape (12, 20)", shape=(12, 20)),
                reference(wide, wide, y12, 0.1), "gradient_F for a wide B (12, 20)", "B need not be square: "
                "x and the solve's vectors live in R^20, y and Bx in R^12", atol=1e-12, rtol=1e-8)
    passed("gradient_F is autograd's gradient, in closed form, for square and wide B")


def check_adp_step(adp_step) -> None:
    """``adp_step(B, A, y, alpha, lr) -> (B_new, loss)``: one gradient step on F(B) = ½‖A x(B) − y‖²."""
    check_own_work(adp_step, *OWN_WORK)
    from ..adp import adp_step as reference_step
    A, _, y, _ = _adp_problem()
    B = A.clone()
    result = adp_step(B, A, y, 0.01, 0.3)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed(f"adp_step(B, A, y, 0.01, 0.3) returned {type(result).__name__}; "
                          "expected a pair (B_new, loss)")
    B_new, loss = result
    check_tensor_result(B_new, "adp_step(...)[0] (B_new)", shape=A.shape, dtype=torch.float64)
    if not torch.equal(B, A):
        raise CheckFailed("adp_step changed its argument B in place; return a new tensor and leave B as it was")
    B_ref, F = reference_step(A, A, y, 0.01, 0.3)
    if abs(float(loss) - F) > 1e-10 * max(1.0, F):
        raise CheckFailed(f"adp_step(...)[1] (loss) is {float(loss):.6g}; expected F(B) = ½‖A x(B) − y‖² = {F:.6g} "
                          "at the B you were given (before the step), with x(B) = (BᵀB + αI)⁻¹Bᵀy")
    check_close(B_new, B_ref, "adp_step(A, A, y, 0.01, lr=0.3)[0]",
                "B_new = B − lr · ∇F(B), with the gradient of the loss with respect to B",
                atol=1e-12, rtol=1e-8)
    passed("adp_step takes one gradient step on F(B) = ½‖A x(B) − y‖² and returns the loss before it")


def check_alpha_threshold(alpha_threshold) -> None:
    """``alpha_threshold(A, k)``: the largest α for which some B reaches the data's coefficient along u_k, σ_k²/4."""
    check_own_work(alpha_threshold, *OWN_WORK)
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(8), dtype=torch.float64))
    values = torch.tensor([0.5, 3.0, 1.0, 2.0, 0.2], dtype=torch.float64)      # sorted: 3, 2, 1, 0.5, 0.2
    A = Q @ torch.diag(values) @ Q.T
    for k, sigma in ((2, 2.0), (1, 3.0), (5, 0.2)):
        try:
            got = float(alpha_threshold(A, k))
        except NotImplementedError:
            raise
        except (TypeError, ValueError, RuntimeError) as error:
            raise CheckFailed(f"alpha_threshold(A, {k}) must return a number; it raised {type(error).__name__}: "
                              f"{str(error)[:80]}") from None
        wrong = {sigma / 4: "σ_k / 4: the threshold is squared in σ_k (solve 2√α ≤ σ_k for α)",
                 sigma ** 2 / 2: "σ_k² / 2: check the maximum of b / (b² + α) over b again",
                 sigma ** 2: "σ_k²: the maximum of b / (b² + α) is 1 / (2√α), not 1 / √α"}
        for value, why in wrong.items():
            if math.isclose(got, value, rel_tol=1e-9) and not math.isclose(value, sigma ** 2 / 4, rel_tol=1e-9):
                raise CheckFailed(f"alpha_threshold(A, {k}) is {got:.6g} = {why}")
        others = sorted(values.tolist(), reverse=True)
        for j, other in enumerate(others, 1):
            if j != k and math.isclose(got, other ** 2 / 4, rel_tol=1e-9):
                raise CheckFailed(f"alpha_threshold(A, {k}) is σ_{j}²/4; expected σ_{k}²/4: singular values are "
                                  "counted from 1, largest first (and A need not be diagonal or sorted)")
        if not math.isclose(got, sigma ** 2 / 4, rel_tol=1e-9):
            raise CheckFailed(f"alpha_threshold(A, {k}) is {got:.6g}; expected {sigma ** 2 / 4:.6g}, for a matrix "
                              f"whose singular values are {others}")
    passed("alpha_threshold is σ_k²/4: below it some B undoes Tikhonov's damping along u_k")
