r"""Solvers for :math:`\hat x = \arg\min_x \tfrac12\|Ax - y\|^2 + \alpha R(x)`.

* :func:`gradient_descent` / :func:`landweber`: :math:`R = \tfrac12\|x\|^2` (or none), gradient steps.
* :func:`tikhonov`: the closed form :math:`(A^*A + \alpha I)^{-1}A^*y`.
* :func:`ista`, :func:`fista`: any regulariser with a prox (a :class:`~course_lib.functionals.Functional`;
  a number λ means :math:`\lambda\|x\|_1`) by proximal gradient (Beck & Teboulle 2009); one step of it is
  :func:`ista_step`.
* :func:`discrepancy_principle`, :func:`l_curve`: choosing :math:`\alpha`.
* :func:`robust_pca`: low-rank + sparse, :math:`D = L + S`, by ISTA or FISTA on the pair.

Every iterative solver returns ``(x, history)`` (a :class:`~course_lib.history.History`):
``history.objective[k]`` is the objective at :math:`x_k` (k = 0 is the start), ``history.error[k]``
the relative error :math:`\|x_k - x^\dagger\|/\|x^\dagger\|` when ``x_true`` is given (so the NMSE in dB
of iterate k is ``20 * log10(history.error[k])``). Objectives are averaged over the batch.
``callback(k, x)`` is called after iteration k; returning ``True`` stops the solver.
"""
from __future__ import annotations

import math
import warnings

import torch

from .functionals import Functional, as_functional
from .history import History
from .operators import LinearOperator
from .prox import singular_value_threshold, soft_threshold
from .utils import batch_size, check_int, check_number, check_tensor

__all__ = ["gradient_descent", "landweber", "tikhonov", "ista_step", "ista", "fista",
           "discrepancy_principle", "l_curve", "casorati", "robust_pca", "lasso_duality_gap", "lasso_admm"]


def _log(history: History, objective: float, x: torch.Tensor, x_true, g=None) -> None:
    """Record the objective at x, with a truth the relative error, and how an inexact prox ended (its inner solver's
    steps and certified relative error, e.g. :class:`~course_lib.functionals.TotalVariation`)."""
    history.log(objective=objective)
    inner = getattr(g, "last_inner", None)
    if inner is not None:
        history.log(inner_steps=inner["steps"], inner_error=inner["error_bound"])
    if x_true is not None:
        history.log(error=((x - x_true).norm() / x_true.norm()).item())


def _check_problem(A, y, x0, x_true, n_iter, owner):
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; {owner} expects a course_lib LinearOperator "
                        "(wrap a matrix with MatrixOperator(matrix))")
    check_tensor(y, "y", f"{owner} with {A!r}", A.out_shape, finite=True)
    batch = y.shape[: y.ndim - len(A.out_shape)]
    for name, t in (("x0", x0), ("x_true", x_true)):
        if t is not None:
            check_tensor(t, name, f"{owner} with {A!r}", A.in_shape, finite=True)
            if t.shape[: t.ndim - len(A.in_shape)] != batch:
                raise ValueError(f"{name} has shape {tuple(t.shape)}; {owner} expects the batch "
                                 f"dimensions of y, {tuple(batch)}, followed by {A.in_shape}")
    check_int(n_iter, "n_iter", owner, minimum=0)


def _start(A, y, x0):
    """x0, or zeros in the domain of A with y's batch shape (real when A's domain is real)."""
    if x0 is not None:
        return x0.clone()
    return torch.zeros_like(A.A_adjoint(y))


def _step(A, y, step, extra=0.0):
    """Default step 1/L with L = ||A||^2 (+ extra), measured by power iteration."""
    if step is None:
        dtype = y.real.dtype if y.is_complex() else y.dtype
        return 1.0 / (A.norm(dtype=torch.float64 if dtype == torch.float64 else torch.float32) ** 2 + extra)
    return check_number(step, "step", "the solver (at most 1/||A||^2 for convergence)", strict=True)


def _sq(t: torch.Tensor) -> torch.Tensor:
    return t.real.square().sum() + t.imag.square().sum() if t.is_complex() else t.square().sum()


def gradient_descent(A: LinearOperator, y: torch.Tensor, alpha: float = 0.0, n_iter: int = 100,
                     step: float | None = None, x0=None, x_true=None, callback=None):
    r"""Gradient descent on :math:`\tfrac12\|Ax - y\|^2 + \tfrac{\alpha}{2}\|x\|^2`.

    :math:`x_{k+1} = x_k - \tau\,(A^*(Ax_k - y) + \alpha x_k)` with :math:`\tau` = ``step``, default
    :math:`1/(\|A\|^2+\alpha)`.
    With :math:`\alpha = 0` this is the Landweber iteration, whose iteration count
    regularises (early stopping); with :math:`\alpha > 0` it converges to :func:`tikhonov`.

    Returns
    -------
    x : Tensor
        The last iterate.
    history : History
        Objective (and relative error to ``x_true``) at every iterate.
    """
    _check_problem(A, y, x0, x_true, n_iter, "gradient_descent")
    check_number(alpha, "alpha", "gradient_descent")
    step = _step(A, y, step, alpha)
    x, history = _start(A, y, x0), History()
    batch = batch_size(y, A.out_shape)
    for k in range(n_iter + 1):
        residual = A(x) - y
        _log(history, ((0.5 * _sq(residual) + 0.5 * alpha * _sq(x)) / batch).item(), x, x_true)
        if k == n_iter:
            break
        x = x - step * (A.A_adjoint(residual) + alpha * x)
        if callback is not None and callback(k, x) is True:
            residual = A(x) - y
            _log(history, ((0.5 * _sq(residual) + 0.5 * alpha * _sq(x)) / batch).item(), x, x_true)
            break
    return x, history


def landweber(A: LinearOperator, y: torch.Tensor, n_iter: int = 100, step: float | None = None,
              x0=None, x_true=None, callback=None):
    r"""The Landweber iteration :math:`x_{k+1} = x_k - \tau A^*(Ax_k - y)`: :func:`gradient_descent` with
    :math:`\alpha=0`."""
    return gradient_descent(A, y, 0.0, n_iter, step, x0, x_true, callback)


def tikhonov(A, y: torch.Tensor, alpha) -> torch.Tensor:
    r"""Tikhonov's closed form :math:`x_\alpha = (A^*A + \alpha I)^{-1} A^* y`, the minimiser of
    :math:`\tfrac12\|Ax - y\|^2 + \tfrac\alpha2\|x\|^2`.

    ``A`` is a :class:`~course_lib.operators.LinearOperator` (its matrix is built with
    ``A.to_matrix()``, so up to a few thousand unknowns; use :func:`gradient_descent` beyond that)
    or a matrix tensor ``(m, n)``. With a matrix the result is differentiable in it and in ``alpha``
    when that is a tensor: the analytic deep prior trains :math:`B` through :math:`x(B)` = ``tikhonov(B, y, alpha)``.
    ``y`` may be a batch ``(..., *out_shape)``. The normal equations square the condition number, so they are
    solved in double precision whatever the input's precision (float32 input gives a float32 result, accurate to
    float32 instead of to float32 times :math:`\kappa(A)^2`).
    """
    if not isinstance(alpha, torch.Tensor):
        alpha = check_number(alpha, "alpha", "tikhonov")
    if isinstance(A, torch.Tensor):
        return _tikhonov_matrix(A, y, alpha)
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; tikhonov expects a course_lib LinearOperator or a matrix tensor")
    check_tensor(y, "y", f"tikhonov with {A!r}", A.out_shape, finite=True)
    _check_size(math.prod(A.in_shape), repr(A))
    dtype = y.dtype if (y.is_complex() and A.complex_domain) else (y.real.dtype if y.is_complex() else y.dtype)
    if A.complex_domain and not dtype.is_complex:
        dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    wide = _double(dtype)
    M = A.to_matrix(dtype=wide, device=y.device)
    normal = M.mH @ M
    if not A.complex_domain and normal.is_complex():
        normal = normal.real
    complex_data = y.is_complex() or M.is_complex()
    y_wide = y.to(torch.complex128 if complex_data else torch.float64).reshape(-1, M.shape[0])
    rhs = (M.to(y_wide.dtype).mH @ y_wide.T)                    # A* y, as the columns of the batch
    if not A.complex_domain and rhs.is_complex():
        rhs = rhs.real
    x = _solve_normal(normal, alpha, rhs).T
    return x.reshape(*y.shape[: y.ndim - len(A.out_shape)], *A.in_shape).to(dtype)


def _tikhonov_matrix(M: torch.Tensor, y: torch.Tensor, alpha) -> torch.Tensor:
    """Tikhonov for a real matrix ``(m, n)``, differentiable; ``y`` is ``(m,)`` or a batch ``(..., m)``."""
    check_tensor(M, "A", "tikhonov", allow_complex=False, finite=True)
    if M.ndim != 2:
        raise ValueError(f"A has shape {tuple(M.shape)}; tikhonov expects a LinearOperator or a matrix (m, n)")
    check_tensor(y, "y", "tikhonov", (M.shape[0],), allow_complex=False, finite=True)
    dtype = torch.promote_types(M.dtype, y.dtype)
    M, y = M.to(torch.float64), y.to(torch.float64)          # differentiable casts: gradients reach M and y
    _check_size(M.shape[1], f"the matrix {tuple(M.shape)}")
    if y.ndim == 1:
        return _solve_normal(M.T @ M, alpha, M.T @ y).to(dtype)
    x = _solve_normal(M.T @ M, alpha, (y.reshape(-1, M.shape[0]) @ M).T).T
    return x.reshape(*y.shape[:-1], M.shape[1]).to(dtype)


def _double(dtype: torch.dtype) -> torch.dtype:
    """The double-precision dtype of the same kind (complex128 for a complex dtype)."""
    return torch.complex128 if dtype.is_complex else torch.float64


def _check_size(n: int, what: str) -> int:
    if n > 4096:
        raise ValueError(f"{what} has {n} unknowns; tikhonov builds the {n}x{n} normal matrix, which is "
                         "too large: use gradient_descent(A, y, alpha) instead")
    return n


def _solve_normal(normal: torch.Tensor, alpha, rhs: torch.Tensor) -> torch.Tensor:
    """Solve :math:`(N + \alpha I) x = b` for the normal matrix N; alpha = 0 needs N invertible."""
    n = normal.shape[0]
    normal = normal + alpha * torch.eye(n, dtype=normal.dtype, device=normal.device)
    if bool(alpha == 0) and torch.linalg.matrix_rank(normal) < n:
        raise ValueError("alpha = 0 and A*A is singular: the unregularised problem has no unique solution; "
                         "use alpha > 0")
    return torch.linalg.solve(normal, rhs.to(normal.dtype))


def ista_step(x: torch.Tensor, A: LinearOperator, y: torch.Tensor, regulariser, step: float,
              Ax: torch.Tensor | None = None) -> torch.Tensor:
    r"""One proximal-gradient (ISTA) step :math:`x^+ = \mathrm{prox}_{\tau g}\big(x - \tau A^*(Ax - y)\big)`.

    ``regulariser`` is a :class:`~course_lib.functionals.Functional` :math:`g`, or a number λ for
    :math:`\lambda\|x\|_1`, whose step reads as on the board:
    ``x = soft_threshold(x - step * A.A_adjoint(A(x) - y), step * lam)``. ``Ax`` (= ``A(x)``, when
    the caller already has it) saves one operator product. This is the unit that :func:`ista`,
    :func:`fista` (at the extrapolated point) and the exercise of lecture 01 share.
    """
    g = as_functional(regulariser, "ista_step")
    Ax = A(x) if Ax is None else Ax
    return g.prox(x - step * A.A_adjoint(Ax - y), step)


def _proximal_setup(A, y, regulariser, n_iter, step, x0, x_true, owner):
    """Checks and start of ISTA/FISTA: (g, step, x_0, empty history, batch size)."""
    _check_problem(A, y, x0, x_true, n_iter, owner)
    g = as_functional(regulariser, owner)
    if getattr(g, "last_inner", None) is not None:
        g.last_inner = None                 # an inexact prox reports this run's inner solves, not an earlier one's
    return g, _step(A, y, step), _start(A, y, x0), History(), batch_size(y, A.out_shape)


def _objective(residual, x, g: Functional, batch):
    return ((0.5 * _sq(residual) + g(x)) / batch).item()


def ista(A: LinearOperator, y: torch.Tensor, regulariser, n_iter: int = 100, step: float | None = None,
         x0=None, x_true=None, callback=None):
    r"""ISTA for :math:`\min_x \tfrac12\|Ax - y\|^2 + g(x)`; with a number λ, the LASSO :math:`g = \lambda\|x\|_1`.

    .. math:: x_{k+1} = \mathrm{prox}_{\tau g}\big(x_k - \tau A^*(Ax_k - y)\big),\qquad \tau = 1/\|A\|^2

    (:func:`ista_step`). The objective gap decays like :math:`O(1/k)`. ``regulariser`` is any
    :class:`~course_lib.functionals.Functional`: ``NonnegativeL1(lam)`` for :math:`x \ge 0`,
    ``TotalVariation(lam)``, ... Each iteration costs one product with :math:`A` and one with
    :math:`A^*`; the recorded objective reuses them.

    Examples
    --------
    >>> A = MatrixOperator(torch.eye(3))
    >>> x, history = ista(A, torch.tensor([3.0, 0.5, -2.0]), 1.0, n_iter=5, step=1.0)
    >>> x
    tensor([ 2.,  0., -1.])
    """
    g, step, x, history, batch = _proximal_setup(A, y, regulariser, n_iter, step, x0, x_true, "ista")
    Ax = A(x)
    for k in range(n_iter):
        _log(history, _objective(Ax - y, x, g, batch), x, x_true, g)
        x = ista_step(x, A, y, g, step, Ax=Ax)
        Ax = A(x)
        if callback is not None and callback(k, x) is True:
            break
    _log(history, _objective(Ax - y, x, g, batch), x, x_true, g)
    return x, history


def fista(A: LinearOperator, y: torch.Tensor, regulariser, n_iter: int = 100, step: float | None = None,
          x0=None, x_true=None, callback=None):
    r"""FISTA (Beck & Teboulle 2009): ISTA with Nesterov momentum, objective gap :math:`O(1/k^2)`.

    .. math::
        x_{k+1} = \mathrm{prox}_{\tau g}\big(z_k - \tau A^*(Az_k - y)\big),\quad
        t_{k+1} = \tfrac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
        z_{k+1} = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(x_{k+1} - x_k)

    for :math:`k = 0, 1, 2, \dots` from :math:`x_0` (``x0``, default 0) with :math:`z_0 = x_0` and :math:`t_0 = 1` (the
    first step is an ISTA step); ``history.objective[k]`` is :math:`F(x_k)`, and Beck & Teboulle's bound reads
    :math:`F(x_k) - F^* \le 2L\|x_0 - x^*\|^2/(k+1)^2`, the indices of lecture 01 and exercise 01.
    ``regulariser`` as in :func:`ista`. Two operator products per iteration: :math:`Az_{k+1}`
    follows from :math:`Ax_{k+1}` and :math:`Ax_k` by linearity.
    """
    g, step, x, history, batch = _proximal_setup(A, y, regulariser, n_iter, step, x0, x_true, "fista")
    Ax = A(x)
    z, Az, t = x, Ax, 1.0
    for k in range(n_iter):
        _log(history, _objective(Ax - y, x, g, batch), x, x_true, g)
        x_new = ista_step(z, A, y, g, step, Ax=Az)
        Ax_new = A(x_new)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        beta = (t - 1) / t_new
        z, Az = x_new + beta * (x_new - x), Ax_new + beta * (Ax_new - Ax)
        x, Ax, t = x_new, Ax_new, t_new
        if callback is not None and callback(k, x) is True:
            break
    _log(history, _objective(Ax - y, x, g, batch), x, x_true, g)
    return x, history


def _norm(t: torch.Tensor) -> float:
    return math.sqrt(_sq(t).item())


def discrepancy_principle(A: LinearOperator, y: torch.Tensor, noise_norm: float, alphas,
                          tau: float = 1.1):
    r"""Morozov's discrepancy principle: the largest :math:`\alpha` with :math:`\|Ax_\alpha - y\| \le \tau\delta`.

    ``noise_norm`` is :math:`\delta = \|n\|` (for white noise of level σ, about σ√m). ``tau`` is Morozov's safety
    factor: the theory asks for :math:`\tau > 1` (then :math:`x_\alpha \to x^\dagger` as :math:`\delta \to 0`); the
    course's default 1.1 is used by every discrepancy rule of the library (:class:`~course_lib.dip.DiscrepancyDetector`,
    :func:`~course_lib.adp.train_adp`).
    Tikhonov solutions are computed in closed form for every α in ``alphas``.

    Returns
    -------
    alpha : float
        The chosen α (the smallest α of the grid, with a warning, if none satisfies the rule).
    residuals : Tensor
        :math:`\|Ax_\alpha - y\|` for every α of the grid, in the grid's order.
    """
    if not noise_norm > 0:
        raise ValueError(f"noise_norm is {noise_norm}; the discrepancy principle needs the noise level delta > 0")
    check_number(tau, "tau", "discrepancy_principle", strict=True)
    alphas = [float(a) for a in alphas]
    residuals = torch.tensor([_norm(A(tikhonov(A, y, a)) - y) for a in alphas], dtype=torch.float64)
    admissible = [a for a, r in zip(alphas, residuals.tolist()) if r <= tau * noise_norm]
    if not admissible:
        warnings.warn("no alpha in the grid meets ||A x - y|| <= tau * delta; returning the smallest alpha",
                      stacklevel=2)
        return min(alphas), residuals
    return max(admissible), residuals


def l_curve(A: LinearOperator, y: torch.Tensor, alphas):
    r"""The L-curve of Tikhonov regularisation: :math:`\|Ax_\alpha - y\|` and :math:`\|x_\alpha\|` over ``alphas``.

    Plotted on log-log axes, it shows the trade-off that every choice of α makes: as α grows
    the residual grows and the solution norm shrinks (both monotonically). Its "corner" is a
    classic heuristic for α; on mildly ill-posed problems such as integration the corner is
    often not pronounced, which is why the course chooses α by :func:`discrepancy_principle`.

    Returns
    -------
    residual_norms, solution_norms : Tensor
        float64 tensors in the order of ``alphas``.
    """
    alphas = [float(a) for a in alphas]
    if len(alphas) < 2:
        raise ValueError(f"l_curve needs at least 2 alphas (a log grid); got {len(alphas)}")
    solutions = [tikhonov(A, y, a) for a in alphas]
    residual_norms = torch.tensor([_norm(A(x) - y) for x in solutions], dtype=torch.float64)
    solution_norms = torch.tensor([_norm(x) for x in solutions], dtype=torch.float64)
    return residual_norms, solution_norms


def casorati(video: torch.Tensor) -> torch.Tensor:
    """The Casorati matrix of a video ``(..., T, H, W)``: one column per frame, ``(..., H*W, T)``.

    A static background is then a low-rank matrix and moving points a sparse one (robust PCA).
    ``casorati(video).transpose(-1, -2).reshape(video.shape)`` gives the video back.
    """
    check_tensor(video, "video", "casorati")
    if video.ndim < 3:
        raise ValueError(f"video has shape {tuple(video.shape)}; casorati expects (..., T, H, W)")
    return video.reshape(*video.shape[:-2], -1).transpose(-1, -2)


def robust_pca(D: torch.Tensor, lam_low_rank: float, lam_sparse: float, n_iter: int = 100,
               accelerate: bool = True, S_true=None, callback=None):
    r"""Robust PCA by proximal gradient:
    :math:`\min_{L,S} \tfrac12\|D - L - S\|_F^2 + \lambda_L\|L\|_* + \lambda_S\|S\|_1`.

    The gradient of the data term is :math:`L + S - D` in both blocks, with Lipschitz constant 2,
    so with step 1/2 (Cohen et al. 2019, the iteration CORONA unfolds):

    .. math::
        L_{k+1} = \mathrm{SVT}_{\lambda_L/2}\big(L_k - \tfrac12(L_k + S_k - D)\big),\quad
        S_{k+1} = S_{\lambda_S/2}\big(S_k - \tfrac12(L_k + S_k - D)\big).

    ``accelerate=True`` adds FISTA's momentum. ``D`` is a matrix ``(..., pixels, frames)``
    (a Casorati matrix: one column per video frame). Returns ``((L, S), history)``; with
    ``S_true`` the history's error is the relative error of ``S``.
    """
    check_tensor(D, "D", "robust_pca", allow_complex=False, finite=True)
    if D.ndim < 2:
        raise ValueError(f"D has shape {tuple(D.shape)}; robust_pca expects a matrix (..., pixels, frames)")
    check_number(lam_low_rank, "lam_low_rank", "robust_pca")
    check_number(lam_sparse, "lam_sparse", "robust_pca")
    check_int(n_iter, "n_iter", "robust_pca", minimum=0)

    def objective(L, S):
        nuclear = torch.linalg.svdvals(L).sum()
        return (0.5 * _sq(D - L - S) + lam_low_rank * nuclear + lam_sparse * S.abs().sum()).item()

    L, S = torch.zeros_like(D), torch.zeros_like(D)
    L_z, S_z, t = L, S, 1.0
    history = History()
    for k in range(n_iter):
        _log(history, objective(L, S), S, S_true)
        grad = 0.5 * (L_z + S_z - D)
        L_new = singular_value_threshold(L_z - grad, lam_low_rank / 2)
        S_new = soft_threshold(S_z - grad, lam_sparse / 2)
        if accelerate:
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            beta = (t - 1) / t_new
            L_z, S_z, t = L_new + beta * (L_new - L), S_new + beta * (S_new - S), t_new
        else:
            L_z, S_z = L_new, S_new
        L, S = L_new, S_new
        if callback is not None and callback(k, (L, S)) is True:
            break
    _log(history, objective(L, S), S, S_true)
    return (L, S), history


def _lasso_gaps(M: torch.Tensor, y: torch.Tensor, lams: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """The duality gaps of :func:`lasso_duality_gap` for rows ``Z`` (K, n) and weights ``lams`` (K,) at once."""
    R = Z @ M.T - y                                                   # (K, m) residuals
    primal = 0.5 * (R * R).sum(1) + lams * Z.abs().sum(1)
    scale = torch.clamp(lams / torch.clamp((R @ M).abs().amax(1), min=1e-300), max=1.0)
    theta = R * scale[:, None]
    return primal + 0.5 * (theta * theta).sum(1) + theta @ y


def lasso_duality_gap(M: torch.Tensor, y: torch.Tensor, lam: float, z: torch.Tensor) -> float:
    r"""A certificate for the LASSO :math:`P(z) = \tfrac12\|Mz - y\|^2 + \lambda\|z\|_1`: the duality gap
    :math:`P(z) - D(\theta) \ge P(z) - P^*` with the dual point :math:`\theta = r\min(1, \lambda/\|M^\top r\|_\infty)`,
    :math:`r = Mz - y`, and :math:`D(\theta) = -\tfrac12\|\theta\|^2 - \langle\theta, y\rangle`. Zero exactly at a
    minimiser; no reference solution needed."""
    M = check_tensor(M, "M", "lasso_duality_gap", allow_complex=False)
    if M.ndim != 2 or y.shape != (M.shape[0],) or z.shape != (M.shape[1],):
        raise ValueError(f"M is {tuple(M.shape)}, y {tuple(y.shape)}, z {tuple(z.shape)}; lasso_duality_gap expects "
                         "M (m, n), y (m,) and z (n,)")
    lam = check_number(lam, "lam", "lasso_duality_gap", strict=True)
    return _lasso_gaps(M, y, torch.tensor([lam], dtype=M.dtype, device=M.device), z[None]).item()


def lasso_admm(M: torch.Tensor, y: torch.Tensor, lam, n_iter: int = 1000, rho=None, tol: float = 0.0):
    r"""The LASSO :math:`\min_z \tfrac12\|Mz - y\|^2 + \lambda\|z\|_1` for a small dense ``M`` by ADMM (Boyd et al.
    2011), splitting :math:`z = w`: a linear solve with :math:`M^\top M + \rho I`, a soft-threshold, a dual step.

    Unlike ISTA/FISTA, whose speed depends on the conditioning of :math:`M`, the linear solve absorbs it: an
    ill-conditioned problem converges in thousands of steps, not hundreds of thousands. The penalty :math:`\rho`
    defaults to :math:`10\lambda` (on lecture 01's TV problems, condition number 5e4, it reached a gap of 1e-11 in
    1200-18000 steps for 15 of 17 λ from 3.2e-5 to 3.2e-3; a gap of 1e-12 is close to rounding there). Returns
    ``(w, history)``: the sparse iterate, and :func:`lasso_duality_gap` every 10 steps (``history.gap``, at
    ``history.iteration``); stops early once the gap is at most ``tol`` (``history.converged``).

    ``lam`` may also be a list (or 1-D tensor) of K weights, a whole regularisation path: then ``rho`` is None (10λ
    each) or a list of K, and the result is a list of K pairs ``(w, history)``, each the one a call with that λ
    returns (up to rounding). The K problems share one eigendecomposition of :math:`M^\top M` and are iterated
    together, each until its own gap reaches ``tol``, so a path costs little more than its slowest λ."""
    M = check_tensor(M, "M", "lasso_admm", allow_complex=False, finite=True)
    check_tensor(y, "y", "lasso_admm", allow_complex=False, finite=True)
    if M.ndim != 2 or y.shape != (M.shape[0],):
        raise ValueError(f"M is {tuple(M.shape)} and y {tuple(y.shape)}; lasso_admm expects M (m, n) and y (m,)")
    check_int(n_iter, "n_iter", "lasso_admm")
    path = not isinstance(lam, (int, float))
    as_list = lambda values: torch.as_tensor(values, dtype=torch.float64).reshape(-1).tolist()  # noqa: E731
    lams = [check_number(v, "lam", "lasso_admm", strict=True) for v in (as_list(lam) if path else [lam])]
    if not lams:
        raise ValueError("lam is an empty list; lasso_admm expects a weight λ > 0 or a list of them")
    rhos = [10 * v for v in lams] if rho is None else (as_list(rho) if path else [rho])
    if len(rhos) != len(lams):
        raise ValueError(f"rho has {len(rhos)} values for {len(lams)} weights lam; lasso_admm expects one per λ")
    rhos = [check_number(v, "rho", "lasso_admm", strict=True) for v in rhos]
    as_tensor = lambda values: torch.tensor(values, dtype=M.dtype, device=M.device)  # noqa: E731
    lam_t, rho_t = as_tensor(lams), as_tensor(rhos)
    eigenvalues, Q = torch.linalg.eigh(M.T @ M)                      # (M^T M + rho I)^-1 = Q diag(1/(e + rho)) Q^T
    inverse = 1 / (eigenvalues + rho_t[:, None])
    Mty = M.T @ y
    W = U = torch.zeros(len(lams), M.shape[1], dtype=M.dtype, device=M.device)
    histories = [History(converged=False) for _ in lams]
    active = torch.ones(len(lams), dtype=torch.bool, device=M.device)
    for k in range(n_iter):
        Z = (((Mty + rho_t[:, None] * (W - U)) @ Q) * inverse) @ Q.T
        W_next = soft_threshold(Z + U, (lam_t / rho_t)[:, None])
        U_next = U + Z - W_next                                      # the scaled dual variable
        W, U = torch.where(active[:, None], W_next, W), torch.where(active[:, None], U_next, U)
        if k % 10 == 9:
            gaps = _lasso_gaps(M, y, lam_t, W).tolist()
            for i in active.nonzero()[:, 0].tolist():
                histories[i].log(gap=gaps[i], iteration=k + 1)
                if gaps[i] <= tol:
                    histories[i].converged = True
                    active[i] = False
            if not active.any():
                break
    results = list(zip(W.unbind(0), histories))
    return results if path else results[0]
