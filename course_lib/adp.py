r"""The analytic deep prior (Dittmer, Kluth, Maass, Otero Baguer, JMIV 2020): training a network on a
single datum is choosing the operator of a Tikhonov functional.

A deep image prior trains a network :math:`\varphi_W(z)` on one measurement :math:`y^\delta` by
minimising :math:`\|A\varphi_W(z) - y^\delta\|^2`. Two networks make this analytic:

* the trivial network :math:`\varphi_W(z) = W`: gradient descent on :math:`\tfrac12\|AW - y\|^2`
  *is* the Landweber iteration (:func:`trivial_network_descent`);
* the proximal-gradient network :math:`x^{k+1} = \varphi(Wx^k + b)` with :math:`W = I - \lambda B^*B`,
  :math:`b = \lambda B^*y`, :math:`\varphi = \mathrm{prox}_{\lambda\alpha R}`
  (:class:`ProxGradientNetwork`): with enough layers its output is the minimiser :math:`x(B)` of
  :math:`J_B(x) = \tfrac12\|Bx - y\|^2 + \alpha R(x)`. Training the weights :math:`B` on
  :math:`F(B) = \tfrac12\|Ax(B) - y\|^2` (:func:`train_adp`) changes the *discrepancy term* of a
  Tikhonov functional, starting from :math:`B = A`.

The regulariser :math:`R` is any :class:`~course_lib.functionals.Functional` (weight 1; :math:`\alpha`
is separate, it may be trained). For :math:`R = \tfrac12\|\cdot\|^2` (``SquaredL2()``),
:math:`x(B) = (B^*B + \alpha I)^{-1}B^*y` is :func:`course_lib.solvers.tikhonov` with the matrix
:math:`B`. Otherwise (e.g. ``L1()``), or to watch the layers at work, the network has
``n_layers`` layers and is *warm-started*: its input at training step k is its output at step
k-1, so that over the steps it runs the proximal-gradient method to convergence ("network
convergence", :math:`\|x(B_k) - x_k\|`). One training step is :func:`adp_step`.

Everything here is **float64 by default**: the integration operator's singular values decay like
1/k, and the gradients with respect to B are tiny; single precision loses them.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import torch
from torch import nn

from .functionals import Functional, SquaredL2
from .history import History
from .operators import IntegrationOperator, MatrixOperator
from .solvers import fista, tikhonov
from .utils import as_generator, check_int, check_number, check_positive_int, check_tensor

__all__ = ["integration_example", "sparse_integration_example", "trivial_network_descent", "ProxGradientNetwork",
           "prox_gradient_layers", "gradient_F", "adp_step", "ADPStep", "TinyEpsAdam", "train_adp"]

DTYPE = torch.float64


def _check_regulariser(regulariser, owner):
    if not isinstance(regulariser, Functional):
        raise TypeError(f"regulariser is a {type(regulariser).__name__}; {owner} expects a course_lib Functional "
                        "such as SquaredL2() (R = ½‖x‖²) or L1() (R = ‖x‖₁)")
    return regulariser


def _check_positive(value, name, owner):
    return check_number(value, name, owner, strict=True)


def _check_problem(A, y, owner):
    check_tensor(A, "A", owner, allow_complex=False)
    if A.ndim != 2:
        raise ValueError(f"A has shape {tuple(A.shape)}; {owner} expects a matrix (m, n)")
    check_tensor(y, "y", owner, (A.shape[0],), allow_complex=False)
    if y.ndim != 1:
        raise ValueError(f"y has shape {tuple(y.shape)}; {owner} expects one datum of shape ({A.shape[0]},)")
    return A.to(DTYPE), y.to(DTYPE)


def _noisy(clean: torch.Tensor, noise: float, seed, owner: str) -> tuple:
    """``clean`` plus Gaussian noise of norm ``noise * ||clean||``; returns (y, delta)."""
    noise = check_number(noise, "noise", owner)
    e = torch.randn(clean.shape, generator=as_generator(seed), dtype=DTYPE)
    e *= noise * clean.norm() / e.norm()
    return clean + e, e.norm().item()


def integration_example(n: int = 200, index=5, noise: float = 0.1, seed=0, device=None) -> tuple:
    r"""The academic example of Dittmer, Kluth, Maass & Otero Baguer (JMIV 2020): ``(A, x_true, y, delta)``.

    ``A`` is the integration operator's ``n x n`` matrix, ``x_true`` its ``index``-th right
    singular vector :math:`v_{index}` (1-based, unit norm, sign fixed by its largest entry); with
    ``index`` a dict ``{i: c_i}``, the unit vector along :math:`\sum_i c_i v_i`. The course's convention
    (lecture 01): :math:`A = \sum_i \sigma_i u_i v_i^\top`, :math:`u_i` in the data space (the columns of
    ``torch.linalg.svd``'s ``U``), :math:`v_i` in the signal space (the rows of ``Vh``); Dittmer et al. write
    :math:`u_i` for the latter. ``y = A x_true + e``
    with :math:`\|e\| = ` ``noise`` :math:`\cdot\|Ax^\dagger\|` (seeded), and ``delta`` :math:`= \|e\|`.
    """
    A = IntegrationOperator(n).to_matrix(dtype=DTYPE)
    weights = index if isinstance(index, dict) else {index: 1.0}
    for i in weights:
        if check_int(i, "index", "integration_example") > n:
            raise ValueError(f"index is {i!r}; integration_example expects 1 <= index <= n = {n}")
    V = torch.linalg.svd(A).Vh
    V = V * torch.sign(V.gather(1, V.abs().argmax(dim=1, keepdim=True)))      # a fixed sign per vector
    x_true = sum(c * V[i - 1] for i, c in weights.items())
    x_true = x_true / x_true.norm()
    y, delta = _noisy(A @ x_true, noise, seed, "integration_example")
    return A.to(device), x_true.to(device), y.to(device), delta


def sparse_integration_example(n: int = 200, n_spikes: int = 6, amplitude: float = 50.0, noise: float = 0.1,
                               seed=0, device=None) -> tuple:
    """A sparse ``x_true`` (``n_spikes`` spikes of height ±``amplitude``·U[0.5, 1]) seen through the
    integration operator with relative noise ``noise``: ``(A, x_true, y, delta)``."""
    check_int(n_spikes, "n_spikes", "sparse_integration_example")
    if n_spikes > n - 20:
        raise ValueError(f"n_spikes is {n_spikes}; sparse_integration_example places them in the n - 20 = {n - 20} "
                         "inner points, one per point")
    amplitude = check_number(amplitude, "amplitude", "sparse_integration_example", strict=True)
    A = IntegrationOperator(n).to_matrix(dtype=DTYPE)
    gen = as_generator(seed)
    where = torch.randperm(n - 20, generator=gen)[:n_spikes] + 10
    x_true = torch.zeros(n, dtype=DTYPE)
    signs = torch.where(torch.rand(n_spikes, generator=gen) < 0.5, -1.0, 1.0).to(DTYPE)
    x_true[where] = amplitude * signs * (0.5 + 0.5 * torch.rand(n_spikes, generator=gen, dtype=DTYPE))
    y, delta = _noisy(A @ x_true, noise, gen, "sparse_integration_example")
    return A.to(device), x_true.to(device), y.to(device), delta


def trivial_network_descent(A: torch.Tensor, y: torch.Tensor, n_iter: int, step: float, callback=None):
    r"""Train the trivial network :math:`\varphi_W(z) = W` (W starts at 0) by gradient descent on
    :math:`\tfrac12\|AW - y\|^2`, with autograd; returns ``(W, history)`` (``history.loss`` per step).

    ``callback(k, W)`` sees every iterate. These are the Landweber iterates
    :math:`x_{k+1} = x_k - \tau A^*(Ax_k - y)` with :math:`\tau` = ``step``: a deep image prior with the
    simplest network is a classical iteration.
    """
    A, y = _check_problem(A, y, "trivial_network_descent")
    _check_positive(step, "step", "trivial_network_descent")
    check_positive_int(n_iter, "n_iter", "trivial_network_descent")
    W = torch.zeros(A.shape[1], dtype=DTYPE, device=A.device, requires_grad=True)
    history = History()
    for k in range(n_iter):
        loss = 0.5 * ((A @ W - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W -= step * grad
        history.log(loss=loss.item())
        if callback is not None:
            callback(k, W.detach().clone())
    return W.detach(), history


class ProxGradientNetwork(nn.Module):
    r""":math:`L` identical layers :math:`x^{k+1} = \mathrm{prox}_{\lambda\alpha R}(Wx^k + b)`,
    :math:`W = I - \lambda B^*B`, :math:`b = \lambda B^*y`: the proximal-gradient method for
    :math:`J_B(x) = \tfrac12\|Bx - y\|^2 + \alpha R(x)`, with the weight :math:`B` a parameter.

    ``regulariser`` is :math:`R` (a :class:`~course_lib.functionals.Functional`, ``SquaredL2()`` by
    default); ``step`` (:math:`\lambda`) defaults to :math:`1/\|B_0\|^2`; ``forward(x0)`` returns
    :math:`x^L` (``x0 = 0`` when None). With ``B = A`` and enough layers, the output is Tikhonov's
    (``SquaredL2()``) or the LASSO's (``L1()``) solution.
    """

    def __init__(self, B: torch.Tensor, y: torch.Tensor, alpha: float, n_layers: int = 10,
                 regulariser: Functional | None = None, step: float | None = None):
        super().__init__()
        B, y = _check_problem(B, y, "ProxGradientNetwork")
        self.regulariser = _check_regulariser(SquaredL2() if regulariser is None else regulariser,
                                              "ProxGradientNetwork")
        _check_positive(alpha, "alpha", "ProxGradientNetwork")
        check_positive_int(n_layers, "n_layers", "ProxGradientNetwork")
        self.B = nn.Parameter(B.clone())
        self.register_buffer("y", y.clone())
        self.alpha, self.n_layers = float(alpha), n_layers
        self.step = float(step) if step is not None else 1.0 / torch.linalg.matrix_norm(B, ord=2).item() ** 2
        _check_positive(self.step, "step", "ProxGradientNetwork")

    def forward(self, x0: torch.Tensor | None = None, alpha=None, step: float | None = None) -> torch.Tensor:
        """:math:`x^L` from :math:`x^0` = ``x0`` (0 if None); ``alpha`` and ``step`` override the stored ones."""
        return prox_gradient_layers(self.B, self.y, self.alpha if alpha is None else alpha,
                                    self.step if step is None else step, self.n_layers, self.regulariser, x0)


def prox_gradient_layers(B, y, alpha, step, n_layers: int, regulariser: Functional | None = None,
                         x0=None) -> torch.Tensor:
    r"""``n_layers`` layers :math:`x \mapsto \mathrm{prox}_{\lambda\alpha R}((I - \lambda B^*B)x + \lambda B^*y)`
    from ``x0`` (0 if None), :math:`\lambda` = ``step``, :math:`R` = ``regulariser`` (``SquaredL2()`` if None);
    differentiable in ``B`` and ``alpha`` (the network's forward, and the unit of the lecture 07 exercise)."""
    regulariser = SquaredL2() if regulariser is None else regulariser
    b = step * B.T @ y
    x = torch.zeros_like(b) if x0 is None else x0.to(b)
    for _ in range(n_layers):
        v = x - step * (B.T @ (B @ x)) + b          # W x + b, W = I - λB*B, without forming B*B
        x = regulariser.prox(v, step * alpha)
    return x


class ADPStep(NamedTuple):
    """What :func:`adp_step` returns with ``full=True``."""

    B: torch.Tensor                 # B after the step
    loss: float                     # F(B) before it
    x: torch.Tensor                 # x(B), detached
    residual: float                 # ||A x(B) - y||
    alpha_grad: torch.Tensor | None  # dF/dalpha, when alpha is a tensor that requires grad


def adp_step(B: torch.Tensor, A: torch.Tensor, y: torch.Tensor, alpha, lr: float = 0.3, *, reconstruction=None,
             optimizer: torch.optim.Optimizer | None = None, full: bool = False):
    r"""One gradient step on :math:`F(B) = \tfrac12\|A\,x(B) - y\|^2` with :math:`x(B) = (B^*B + \alpha I)^{-1}B^*y`.

    Returns ``(B_new, loss)``: :math:`B - \eta\nabla F(B)` (``lr`` = :math:`\eta`, the gradient by autograd
    through :func:`~course_lib.solvers.tikhonov`) and :math:`F(B)` before the step; ``B`` is left as it was.
    The unit of the lecture 07 exercise; :func:`train_adp` is built on it, with its keyword arguments:

    * ``reconstruction``: :math:`x(B)` as a function of ``B`` (default: the closed form above; :func:`train_adp`
      passes the unrolled proximal-gradient layers);
    * ``optimizer``: a ``torch.optim`` optimizer over one tensor of ``B``'s shape, which the caller keeps from step
      to step (Adam's running moments); the step is then the optimizer's, from ``B`` and :math:`\nabla F(B)`;
    * ``full``: return an :class:`ADPStep` (``B``, ``loss``, ``x``, ``residual``, ``alpha_grad``: :math:`\partial
      F/\partial\alpha` when ``alpha`` is a tensor that requires grad).
    """
    B, A, y = B.to(DTYPE), A.to(DTYPE), y.to(DTYPE)
    x_of = reconstruction if reconstruction is not None else (lambda B_: tikhonov(B_, y, alpha))
    leaf = B.detach().requires_grad_(True)
    x = x_of(leaf)
    residual = A @ x - y
    loss = 0.5 * (residual ** 2).sum()
    with_alpha = isinstance(alpha, torch.Tensor) and alpha.requires_grad
    grads = torch.autograd.grad(loss, [leaf] + ([alpha] if with_alpha else []))
    if optimizer is None:
        B_new = B.detach() - lr * grads[0]
    else:
        parameter = optimizer.param_groups[0]["params"][0]
        with torch.no_grad():
            parameter.copy_(B)
        parameter.grad = grads[0].to(parameter.dtype)
        optimizer.step()
        B_new = parameter.detach().clone()
    if not full:
        return B_new, loss.item()
    return ADPStep(B_new, loss.item(), x.detach(), residual.norm().item(), grads[1].detach() if with_alpha else None)


def gradient_F(B: torch.Tensor, A: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    r"""The gradient of :math:`F(B) = \tfrac12\|A\,x(B) - y\|^2`, :math:`x(B) = (B^*B + \alpha I)^{-1}B^*y`, in closed
    form:

    .. math::
        \nabla_B F = (y - Bx)\,p^\top - (Bp)\,x^\top, \qquad p = (B^*B + \alpha I)^{-1}A^*(Ax - y),

    from differentiating the normal equations :math:`(B^*B + \alpha I)x = B^*y` (one more solve gives
    :math:`p`). No autograd; the lecture 07 exercise asks for it, and :func:`adp_step` agrees with it.
    """
    A, y = _check_problem(A, y, "gradient_F")
    B = B.to(DTYPE)
    if B.shape != A.shape:
        raise ValueError(f"B has shape {tuple(B.shape)}; gradient_F expects A's shape {tuple(A.shape)}")
    M = B.T @ B + alpha * torch.eye(B.shape[1], dtype=DTYPE, device=B.device)
    x = torch.linalg.solve(M, B.T @ y)
    p = torch.linalg.solve(M, A.T @ (A @ x - y))
    return torch.outer(y - B @ x, p) - torch.outer(B @ p, x)


def _reconstruction(y, regulariser, n_layers):
    """x(B, alpha, x_prev): the closed form (``n_layers`` None, R = ½‖x‖²) or ``n_layers`` warm-started layers."""
    if n_layers is None:
        if not isinstance(regulariser, SquaredL2):
            raise ValueError(f"{regulariser!r} has no closed-form x(B); give n_layers (e.g. 10) to unroll the "
                             "proximal-gradient network")
        return lambda B, alpha, x_prev, step: tikhonov(B, y, alpha * regulariser.weight)
    check_positive_int(n_layers, "n_layers", "train_adp")
    return lambda B, alpha, x_prev, step: prox_gradient_layers(B, y, alpha, step, n_layers, regulariser, x_prev)


def _network_gap(B, y, alpha, x, regulariser, reference_iters) -> float:
    r"""Network convergence :math:`\|x(B_k) - x_k\|`: the exact minimiser by Tikhonov's closed form or FISTA."""
    with torch.no_grad():
        if isinstance(regulariser, SquaredL2):
            exact = tikhonov(B, y, alpha * regulariser.weight)
        else:
            exact = fista(MatrixOperator(B.detach()), y, float(alpha) * regulariser, n_iter=reference_iters, x0=x)[0]
    return (exact - x).norm().item()


def train_adp(A: torch.Tensor, y: torch.Tensor, alpha: float, regulariser: Functional | None = None,
              n_iter: int = 1000, lr: float = 0.3, n_layers: int | None = None, x0=None, x_true=None, delta=None,
              tau: float = 1.1, adaptive_alpha: bool = False, alpha_lr: float = 0.05, track_every: int | None = 1,
              progress: bool = False, optimizer=torch.optim.SGD):
    r"""Train the analytic deep prior on one datum: :func:`adp_step` s on :math:`F(B) = \tfrac12\|Ax(B) - y\|^2` from
    :math:`B = A`.

    Parameters
    ----------
    A, y : tensors
        The forward matrix ``(m, n)`` and the datum ``(m,)`` (converted to float64).
    alpha : float
        The regularisation weight (the initial one when ``adaptive_alpha``).
    regulariser : Functional, optional
        :math:`R`: ``SquaredL2()`` (default) or ``L1()``, any functional with a prox.
    n_iter, lr : int, float
        Training steps and the step size :math:`\eta` of :math:`B_{k+1} = B_k - \eta\nabla F(B_k)`.
    optimizer : torch.optim class or factory
        ``torch.optim.SGD`` (the default: gradient descent with step ``lr``, as in Dittmer et al.) or
        ``torch.optim.Adam`` (a step per entry of B scaled by the running size of its gradients: for problems whose
        gradient entries differ by orders of magnitude), called as ``optimizer([B], lr=lr)``; or a factory
        ``params -> Optimizer`` that sets its own step (e.g. Adam with ``eps=1e-12``: the gradients here are tiny).
    n_layers : int, optional
        None: :math:`x(B)` exactly (Tikhonov's closed form, only for ``SquaredL2``). A number: that many
        layers of :class:`ProxGradientNetwork`, warm-started from the previous step's output (from ``x0``,
        or 0, at the first), the gradient taken through the layers.
    x_true : tensor, optional
        Records the relative true error per step (not used by the training).
    delta, tau : float, optional
        With the noise level ``delta``, training stops at the first step whose residual
        :math:`\|Ax_k - y\|` is at most ``tau * delta`` (the discrepancy principle: early stopping
        without the ground truth; ``tau`` > 1 as in :func:`~course_lib.solvers.discrepancy_principle`, default 1.1).
        Without it, all ``n_iter`` steps run.
    adaptive_alpha, alpha_lr : bool, float
        Also train :math:`\log\alpha`, by gradient descent (step ``alpha_lr``) on :math:`\log F`
        (scale-free: F is tiny on this problem).
    track_every : int or None
        Every that many steps record the network convergence :math:`\|x(B_k) - x_k\|` (the exact
        minimiser: closed form for ``SquaredL2``, 3000 FISTA iterations otherwise).

    Returns
    -------
    (x, B), history
        The reconstruction :math:`x_k` and the operator :math:`B_k` it came from (the last step's, or the
        step the discrepancy principle chose); the :class:`~course_lib.history.History` holds per
        step ``loss``, ``residual`` (:math:`\|Ax_k - y\|`), ``error`` (with ``x_true``), ``step_norm``
        (:math:`\|B_k - B_{k-1}\|_F`), ``alpha``, at the tracked steps ``gap_iteration`` and ``gap``, and the
        facts ``stopped`` (by the discrepancy principle), ``iterations``, ``seconds``.
    """
    A, y = _check_problem(A, y, "train_adp")
    regulariser = _check_regulariser(SquaredL2() if regulariser is None else regulariser, "train_adp")
    _check_positive(alpha, "alpha", "train_adp")
    _check_positive(lr, "lr", "train_adp")
    check_positive_int(n_iter, "n_iter", "train_adp")
    from .training import make_optimizer

    opt = make_optimizer(optimizer, [A.clone().requires_grad_(True)], lr, "train_adp")
    if x_true is not None:
        check_tensor(x_true, "x_true", "train_adp", (A.shape[1],), allow_complex=False)
        x_true = x_true.to(A)
    reconstruct = _reconstruction(y, regulariser, n_layers)
    log_alpha = torch.tensor(math.log(alpha), dtype=DTYPE, device=A.device, requires_grad=adaptive_alpha)
    from tqdm.auto import tqdm

    history = History(stopped=False, iterations=0, seconds=0.0)
    start, B, x, x_prev, step = time.perf_counter(), A.clone(), None, (None if x0 is None else x0.to(A)), None
    for k in tqdm(range(n_iter), desc=f"ADP ({regulariser!r}, α={alpha:g})", disable=not progress, leave=False):
        a = log_alpha.exp()
        # the layers' step follows ‖B_k‖ (every 25 steps): a convergent proximal-gradient method
        if n_layers is not None and k % 25 == 0:
            step = 0.95 / torch.linalg.matrix_norm(B, ord=2).item() ** 2
        taken = adp_step(B, A, y, a, lr, reconstruction=lambda B_: reconstruct(B_, a, x_prev, step),  # noqa: B023 (used now)
                         optimizer=opt,
                         full=True)
        x, loss = taken.x, taken.loss
        _record(history, k, loss, taken.residual, a.item(), x, x_true)
        if track_every and k % track_every == 0:
            history.log(gap_iteration=k, gap=_network_gap(B, y, a.item(), x, regulariser, 3000))
        if delta is not None and taken.residual <= tau * delta:    # the discrepancy principle: x_k is the answer
            history.stopped = True
            break
        if k + 1 < n_iter:                                      # the last x_k is returned with the B_k it came from
            history.log(step_norm=(taken.B - B).norm().item())
            B, x_prev = taken.B, x
            if adaptive_alpha:
                with torch.no_grad():                           # descent on log F in log α: dF/dlog α = α dF/dα
                    log_alpha -= alpha_lr * (taken.alpha_grad * a) / max(loss, 1e-300)
    history.seconds = time.perf_counter() - start
    return (x, B.detach().clone()), history


def _record(history: History, k: int, loss: float, residual: float, alpha: float, x, x_true) -> None:
    """What one ADP training step logs: loss, residual, α, and the true error when the truth is known."""
    history.log(loss=loss, residual=residual, alpha=alpha)
    history.iterations = k + 1
    if x_true is not None:
        history.log(error=((x - x_true).norm() / x_true.norm()).item())


class TinyEpsAdam(torch.optim.Adam):
    """Adam with ``eps=1e-12``: the gradients of F are tiny on these problems, and the default 1e-8 would swamp them."""

    def __init__(self, params, lr: float = 1e-3):
        super().__init__(params, lr=lr, eps=1e-12)
