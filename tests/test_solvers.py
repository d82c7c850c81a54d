"""Solvers: optimality conditions, independent references (SciPy, NumPy), rates, errors."""
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given
from hypothesis import strategies as st

import course_lib as cl
from course_lib import solvers
from course_lib.data import gaussian_matrix, sparse_signals
from course_lib.operators import IntegrationOperator, MatrixOperator, SubsampledFourier, random_cartesian_mask
from course_lib.solvers import (
    discrepancy_principle,
    fista,
    gradient_descent,
    ista,
    l_curve,
    landweber,
    robust_pca,
    tikhonov,
)


def lasso_problem(m=20, n=40, seed=0, noise=0.01):
    g = torch.Generator().manual_seed(seed)
    A = MatrixOperator(torch.randn(m, n, generator=g, dtype=torch.float64) / math.sqrt(m))
    x = sparse_signals(1, n, 0.15, seed=seed + 1, dtype=torch.float64)[0]
    y = A(x) + noise * torch.randn(m, generator=g, dtype=torch.float64)
    return A, x, y


def assert_lasso_optimal(A, x, y, lam, tol):
    """0 in A*(Ax - y) + lam * d||x||_1 (the deepinv-style optimality check)."""
    grad = A.A_adjoint(A(x) - y)
    active = x.abs() > 1e-10
    assert torch.allclose(grad[active], -lam * torch.sign(x[active]), atol=tol)
    assert torch.all(grad[~active].abs() <= lam + tol)


def scipy_lasso(A, y, lam):
    """Independent reference: L-BFGS-B on x = u - v with u, v >= 0."""
    M, yv = A.matrix.numpy(), y.numpy()
    n = M.shape[1]

    def f(w):
        u, v = w[:n], w[n:]
        r = M @ (u - v) - yv
        g = M.T @ r
        return 0.5 * r @ r + lam * w.sum(), np.concatenate([g + lam, -g + lam])

    res = scipy.optimize.minimize(f, np.zeros(2 * n), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * n),
                                  options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12})
    return torch.from_numpy(res.x[:n] - res.x[n:]), res.fun


@pytest.mark.parametrize("solver, n_iter", [(ista, 20000), (fista, 3000)])
def test_lasso_solution_is_optimal_and_matches_scipy(solver, n_iter):
    A, _, y = lasso_problem()
    lam = 0.05
    x, history = solver(A, y, lam, n_iter=n_iter)
    assert_lasso_optimal(A, x, y, lam, tol=1e-6)
    x_ref, f_ref = scipy_lasso(A, y, lam)
    assert history.objective[-1] == pytest.approx(f_ref, rel=1e-7)
    assert torch.allclose(x, x_ref, atol=1e-4)


@given(st.integers(0, 10_000), st.integers(3, 15), st.floats(0.01, 0.5))
def test_fista_reaches_lasso_optimality(seed, m, lam):
    A, _, y = lasso_problem(m=m, n=2 * m, seed=seed)
    x, history = fista(A, y, lam, n_iter=4000)
    assert_lasso_optimal(A, x, y, lam, tol=1e-5)
    # ISTA is monotone: the objective never increases
    _, h_ista = ista(A, y, lam, n_iter=50)
    assert all(b <= a + 1e-12 for a, b in zip(h_ista.objective, h_ista.objective[1:]))


def test_fista_objective_below_ista_at_equal_iterations():
    """On an ill-conditioned convex problem FISTA is ahead at every checkpoint, with O(1/k^2) vs O(1/k)."""
    A = MatrixOperator(IntegrationOperator(100).to_matrix())
    x_true = torch.zeros(100, dtype=torch.float64)
    x_true[[20, 50, 70]] = torch.tensor([1.0, -2.0, 1.5], dtype=torch.float64)
    y = A(x_true)
    lam = 1e-4
    _, h_ref = fista(A, y, lam, n_iter=20000)
    f_star = h_ref.objective[-1]
    _, h_i = ista(A, y, lam, n_iter=400)
    _, h_f = fista(A, y, lam, n_iter=400)
    for k in (25, 50, 100, 200, 400):
        assert h_f.objective[k] - f_star < h_i.objective[k] - f_star
    # FISTA's guarantee: F(x_k) - F* <= 2 L ||x0 - x*||^2 / (k+1)^2
    L = A.norm() ** 2
    x_star, _ = fista(A, y, lam, n_iter=20000)
    for k in (10, 100, 400):
        assert h_f.objective[k] - f_star <= 2 * L * x_star.norm().item() ** 2 / (k + 1) ** 2 + 1e-12


def test_ista_step_matches_the_board_formula():
    A, _, y = lasso_problem()
    step, lam = 0.1, 0.05
    x, _ = ista(A, y, lam, n_iter=1, step=step)
    z = -step * A.A_adjoint(-y)
    assert torch.allclose(x, torch.sign(z) * torch.clamp(z.abs() - step * lam, min=0))


def test_tikhonov_matches_numpy_least_squares():
    A = IntegrationOperator(50)
    g = torch.Generator().manual_seed(0)
    y = torch.randn(3, 50, generator=g, dtype=torch.float64)
    alpha = 1e-3
    x = tikhonov(A, y, alpha)
    M = A.to_matrix().numpy()
    stacked = np.vstack([M, math.sqrt(alpha) * np.eye(50)])
    for i in range(3):
        ref = np.linalg.lstsq(stacked, np.concatenate([y[i].numpy(), np.zeros(50)]), rcond=None)[0]
        assert np.allclose(x[i].numpy(), ref, atol=1e-10)


def test_gradient_descent_converges_to_tikhonov_and_landweber_to_least_squares():
    A = IntegrationOperator(30)
    y = A(torch.linspace(-1, 1, 30, dtype=torch.float64))
    x_gd, h = gradient_descent(A, y, alpha=1e-2, n_iter=3000)
    assert torch.allclose(x_gd, tikhonov(A, y, 1e-2), atol=1e-8)
    assert all(b <= a + 1e-15 for a, b in zip(h.objective, h.objective[1:]))
    x_lw, h_lw = landweber(A, y, n_iter=5)
    tau = 1 / A.norm() ** 2
    x = torch.zeros_like(y)
    for _ in range(5):
        x = x - tau * A.A_adjoint(A(x) - y)
    assert torch.allclose(x_lw, x)
    assert len(h_lw.objective) == 6


def test_history_error_callback_and_batch():
    A = MatrixOperator(gaussian_matrix(30, 60, seed=0, dtype=torch.float64))
    x_true = sparse_signals(8, 60, 0.1, seed=1, dtype=torch.float64)
    y = A(x_true)
    seen = []
    x, h = fista(A, y, 0.01, n_iter=300, x_true=x_true, callback=lambda k, x: seen.append(k))
    assert x.shape == x_true.shape and len(h.objective) == len(h.error) == 301 and seen == list(range(300))
    assert h.error[-1] < 0.2 * h.error[0]
    x, h = ista(A, y, 0.01, n_iter=50, callback=lambda k, x: k == 9)
    assert len(h.objective) == 11  # stopped after iteration 9
    # batch objective is the mean of per-sample objectives
    _, h_one = ista(A, y[:1], 0.01, n_iter=0)
    _, h_all = ista(A, y[:1].expand(4, 30).clone(), 0.01, n_iter=0)
    assert h_one.objective[0] == pytest.approx(h_all.objective[0])


def test_ista_on_fourier_measurements_returns_real_images():
    F = SubsampledFourier(random_cartesian_mask((16, 16), acceleration=2, seed=0))
    x_true = torch.zeros(16, 16)
    x_true[4, 5], x_true[10, 12] = 1.0, -1.0
    x, h = fista(F, F(x_true), 0.01, n_iter=200)
    assert not x.is_complex() and x.shape == (16, 16)
    assert (x - x_true).norm() < 0.1 * x_true.norm()


def test_discrepancy_principle_and_l_curve():
    A = IntegrationOperator(100)
    x_true = torch.sin(2 * math.pi * A.grid)
    g = torch.Generator().manual_seed(0)
    noise = 1e-3 * torch.randn(100, generator=g, dtype=torch.float64)
    y = A(x_true) + noise
    alphas = torch.logspace(-9, 0, 37).tolist()
    alpha, residuals = discrepancy_principle(A, y, noise.norm().item(), alphas)
    i = alphas.index(alpha)
    assert residuals[i] <= noise.norm() < residuals[i + 1]
    assert torch.all(residuals[1:] >= residuals[:-1] - 1e-12)  # residual grows with alpha
    err = lambda a: (tikhonov(A, y, a) - x_true).norm() / x_true.norm()
    assert err(alpha) < 0.1
    assert err(alpha) < 0.5 * err(alphas[0]) and err(alpha) < 0.1 * err(alphas[-1])
    rho, eta = l_curve(A, y, alphas)
    assert torch.all(rho[1:] >= rho[:-1] - 1e-12) and torch.all(eta[1:] <= eta[:-1] + 1e-12)
    assert torch.allclose(rho, residuals)


@pytest.mark.parametrize("call, error, message", [
    (lambda A, y: ista(A.matrix, y, 0.1), TypeError, "LinearOperator"),
    (lambda A, y: ista(A, y[:5], 0.1), ValueError, r"y has shape \(5,\)"),
    (lambda A, y: ista(A, y, -0.1), ValueError, "lam is -0.1"),
    (lambda A, y: fista(A, y, 0.1, n_iter=-1), ValueError, "non-negative integer"),
    (lambda A, y: fista(A, y, 0.1, step=0.0), ValueError, "step is 0.0"),
    (lambda A, y: fista(A, y, 0.1, x0=torch.zeros(3, 40)), ValueError, "batch dimensions of y"),
    (lambda A, y: tikhonov(A, y, -1.0), ValueError, "alpha is -1.0"),
    (lambda A, y: discrepancy_principle(A, y, 0.0, [1.0]), ValueError, "delta > 0"),
    (lambda A, y: l_curve(A, y, [1.0]), ValueError, "at least 2"),
])
def test_bad_inputs_say_what_was_expected(call, error, message):
    A, _, y = lasso_problem()
    with pytest.raises(error, match=message):
        call(A, y)


def test_tikhonov_refuses_large_problems():
    with pytest.raises(ValueError, match="gradient_descent"):
        tikhonov(IntegrationOperator(5000), torch.zeros(5000), 1.0)


def test_nonnegative_lasso_kkt():
    """NonnegativeL1(lam) solves min 1/2||Ax-y||^2 + lam||x||_1 s.t. x >= 0: g_i = -lam where x_i > 0,
    g_i >= -lam where x_i = 0."""
    A, _, y = lasso_problem(seed=4)
    lam = 0.02
    for solver in (ista, fista):
        x, _ = solver(A, y, cl.NonnegativeL1(lam), n_iter=20000 if solver is ista else 3000)
        assert torch.all(x >= 0)
        grad = A.A_adjoint(A(x) - y)
        active = x > 1e-10
        assert torch.allclose(grad[active], torch.full_like(grad[active], -lam), atol=1e-6)
        assert torch.all(grad[~active] >= -lam - 1e-6)


def test_robust_pca_separates_low_rank_and_sparse():
    from course_lib.data import rpca_video
    L0, S0 = rpca_video(20, (16, 16), rank=2, n_bubbles=4, seed=1, bubble_intensity=3.0, dtype=torch.float64)
    D = (L0 + S0).reshape(20, -1).T
    S_true = S0.reshape(20, -1).T
    (L, S), h = robust_pca(D, 2.0, 0.3, n_iter=500, S_true=S_true)
    assert h.error[-1] < 0.2
    assert torch.linalg.matrix_rank(L, atol=1e-6 * L.norm()) <= 4
    _, h_ista = robust_pca(D, 2.0, 0.3, n_iter=10, accelerate=False)
    assert all(b <= a + 1e-9 for a, b in zip(h_ista.objective, h_ista.objective[1:]))
    _, h_fista = robust_pca(D, 2.0, 0.3, n_iter=10)
    assert h_fista.objective[10] < h_ista.objective[10]
    with pytest.raises(ValueError, match="matrix"):
        robust_pca(torch.zeros(5), 1.0, 1.0)


def test_lasso_admm_meets_the_kkt_conditions_its_gap_certifies_it_and_scipy_agrees():
    g = torch.Generator().manual_seed(0)
    M = (torch.randn(30, 50, generator=g, dtype=torch.float64)
         @ torch.diag(torch.logspace(0, -3, 50, dtype=torch.float64)))
    y = torch.randn(30, generator=g, dtype=torch.float64)
    lam = 0.05
    w, history = cl.lasso_admm(M, y, lam, n_iter=50000, tol=1e-10)
    gaps = history.gap
    assert history.converged and history.iteration[-1] % 10 == 0 and len(history.iteration) == len(gaps)
    grad = M.T @ (M @ w - y)
    on = w != 0
    assert on.any() and (~on).any()
    assert torch.allclose(grad[on], -lam * torch.sign(w[on]), atol=1e-6)        # KKT on the support
    assert (grad[~on].abs() <= lam * (1 + 1e-6)).all()                          # and off it
    assert gaps[-1] <= 1e-10 and min(gaps) >= -1e-12

    # an independent solver: z = p - q with p, q >= 0 makes the LASSO a smooth bound-constrained problem
    Mn, yn = M.numpy(), y.numpy()

    def objective(pq):
        r = Mn @ (pq[:50] - pq[50:]) - yn
        grad_z = Mn.T @ r
        return 0.5 * r @ r + lam * pq.sum(), np.concatenate([grad_z + lam, -grad_z + lam])
    ref = scipy.optimize.minimize(objective, np.zeros(100), jac=True, method="L-BFGS-B", bounds=[(0, None)] * 100,
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 50000})
    primal = lambda z: 0.5 * ((M @ z - y) ** 2).sum().item() + lam * z.abs().sum().item()
    assert primal(w) <= ref.fun + 1e-10
    x_fista, _ = cl.fista(MatrixOperator(M), y, lam, n_iter=300)
    assert cl.lasso_duality_gap(M, y, lam, x_fista) > gaps[-1]                  # a worse point has a larger gap
    with pytest.raises(ValueError, match=r"M \(m, n\), y \(m,\) and z \(n,\)"):
        cl.lasso_duality_gap(M, y, lam, w[:10])


@pytest.mark.parametrize("solve", [
    lambda A, y: solvers.ista(A, y, 0.1, n_iter=3), lambda A, y: solvers.fista(A, y, 0.1, n_iter=3),
    lambda A, y: solvers.landweber(A, y, 3), lambda A, y: solvers.gradient_descent(A, y, 0.1, 3),
    lambda A, y: solvers.tikhonov(A, y, 0.1), lambda A, y: solvers.tikhonov(A.to_matrix(), y, 0.1),
])
def test_a_non_finite_measurement_is_refused(solve):
    """A NaN in y used to come back as a NaN reconstruction, silently."""
    A = IntegrationOperator(20)
    y = torch.ones(2, 20)
    y[1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"y has 1 non-finite entry \(NaN or inf\) of 40; .* expects finite numbers"):
        solve(A, y)
    with pytest.raises(ValueError, match="non-finite"):
        solvers.ista(A, torch.ones(20), 0.1, x0=torch.full((20,), float("inf")))
    with pytest.raises(ValueError, match="non-finite"):
        solvers.robust_pca(torch.full((4, 3), float("nan")), 0.1, 0.1)


def test_tikhonov_in_float32_is_accurate_to_float32():
    """The normal equations square the condition number; they are solved in double precision, so a float32 problem
    gets a float32 answer as accurate as float32 allows (the squared condition number times float32's epsilon was
    1e-3 here)."""
    A = IntegrationOperator(200)
    x = torch.sin(torch.linspace(0, 3, 200, dtype=torch.float64))
    y64 = A.double()(x)
    reference = solvers.tikhonov(A.double(), y64, 1e-6)
    single = solvers.tikhonov(IntegrationOperator(200), y64.float(), 1e-6)
    assert single.dtype == torch.float32
    assert ((single.double() - reference).norm() / reference.norm()).item() < 1e-5
    matrix = solvers.tikhonov(A.to_matrix().float(), y64.float(), 1e-6)
    assert matrix.dtype == torch.float32 and ((matrix.double() - reference).norm() / reference.norm()).item() < 1e-5


def test_lasso_admm_on_a_path_of_weights_equals_one_solve_per_weight():
    g = torch.Generator().manual_seed(1)
    scales = torch.diag(torch.logspace(0, -2, 30, dtype=torch.float64))
    M = torch.randn(20, 30, generator=g, dtype=torch.float64) @ scales
    y = torch.randn(20, generator=g, dtype=torch.float64)
    lams = [0.01, 0.05, 0.2]
    path = cl.lasso_admm(M, y, lams, n_iter=4000, tol=1e-9)
    assert isinstance(path, list) and len(path) == 3
    for lam, (w, history) in zip(lams, path):
        w_alone, history_alone = cl.lasso_admm(M, y, lam, n_iter=4000, tol=1e-9)
        assert w.shape == (30,) and torch.allclose(w, w_alone, atol=1e-8)
        assert history.converged == history_alone.converged
        assert history.gap[-1] <= 1e-9
        assert cl.lasso_duality_gap(M, y, lam, w) == pytest.approx(history.gap[-1], abs=1e-12)
    assert (path[0][0] != 0).sum() >= (path[2][0] != 0).sum()           # a larger weight, a sparser solution
    assert torch.allclose(cl.lasso_admm(M, y, torch.tensor(lams), n_iter=50, rho=[1.0, 1.0, 1.0])[1][0],
                          cl.lasso_admm(M, y, 0.05, n_iter=50, rho=1.0)[0], atol=1e-10)
    with pytest.raises(ValueError, match="one per λ"):
        cl.lasso_admm(M, y, lams, rho=[1.0])
    with pytest.raises(ValueError, match="empty"):
        cl.lasso_admm(M, y, [])
    with pytest.raises(ValueError, match="lam"):
        cl.lasso_admm(M, y, [0.1, -1.0])


def test_every_discrepancy_rule_of_the_library_defaults_to_tau_1_1():
    import inspect
    for rule in (cl.solvers.discrepancy_principle, cl.dip.DiscrepancyDetector, cl.adp.train_adp):
        assert inspect.signature(rule).parameters["tau"].default == 1.1, rule
    A = IntegrationOperator(50)
    y = A(torch.sin(2 * math.pi * A.grid)) + 1e-3 * torch.randn(50, generator=torch.Generator().manual_seed(0),
                                                                  dtype=torch.float64)
    alphas = torch.logspace(-8, 0, 33).tolist()
    default, explicit = discrepancy_principle(A, y, 0.007, alphas), discrepancy_principle(A, y, 0.007, alphas, tau=1.1)
    assert default[0] == explicit[0] and torch.equal(default[1], explicit[1])
    assert discrepancy_principle(A, y, 0.007, alphas)[0] >= discrepancy_principle(A, y, 0.007, alphas, tau=1.0)[0]
    with pytest.raises(ValueError, match="tau"):
        discrepancy_principle(A, y, 0.007, alphas, tau=0.0)
