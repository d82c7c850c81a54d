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

For :math:`R = \tfrac12\|\cdot\|^2`, :math:`x(B) = (B^*B + \alpha I)^{-1}B^*y` (:func:`tikhonov_solution`).
Otherwise (e.g. :math:`R = \|\cdot\|_1`) the network has ``n_layers`` (10) layers and is
*warm-started*: its input at training step k is its output at step k-1, so that over the steps it
runs the proximal-gradient method to convergence ("network convergence", :math:`\|x(B_k) - x_k\|`).

Everything here is **float64 by default**: the integration operator's singular values decay like
1/k, and the gradients with respect to B are tiny; single precision loses them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .operators import IntegrationOperator
from .prox import prox_squared_l2, soft_threshold
from .utils import as_generator, check_positive_int, check_tensor

__all__ = ["integration_example", "sparse_integration_example", "trivial_network_descent", "tikhonov_solution",
           "ProxGradientNetwork", "prox_gradient_layers", "ADPResult", "train_adp", "lasso_solution", "REGULARISERS"]

DTYPE = torch.float64
REGULARISERS = ("l2", "l1")


def _check_regulariser(regulariser, owner):
    if regulariser not in REGULARISERS:
        raise ValueError(f"regulariser is {regulariser!r}; {owner} expects one of {REGULARISERS} "
                         "(R = ½‖x‖² or R = ‖x‖₁)")


def _check_positive(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} is {value!r}; {owner} expects a positive number")


def _check_problem(A, y, owner):
    check_tensor(A, "A", owner, allow_complex=False)
    if A.ndim != 2:
        raise ValueError(f"A has shape {tuple(A.shape)}; {owner} expects a matrix (m, n)")
    check_tensor(y, "y", owner, (A.shape[0],), allow_complex=False)
    if y.ndim != 1:
        raise ValueError(f"y has shape {tuple(y.shape)}; {owner} expects one datum of shape ({A.shape[0]},)")
    return A.to(DTYPE), y.to(DTYPE)


def _noisy(clean: torch.Tensor, noise: float, seed) -> tuple:
    """``clean`` plus Gaussian noise of norm ``noise * ||clean||``; returns (y, delta)."""
    e = torch.randn(clean.shape, generator=as_generator(seed), dtype=DTYPE)
    e *= noise * clean.norm() / e.norm()
    return clean + e, e.norm().item()


def integration_example(n: int = 200, index=5, noise: float = 0.1, seed=0) -> tuple:
    r"""The academic example of the seed: ``(A, x_true, y, delta)``.

    ``A`` is the integration operator's ``n x n`` matrix, ``x_true`` its ``index``-th right
    singular vector :math:`u_{index}` (1-based, unit norm, sign fixed by its largest entry); with
    ``index`` a dict ``{i: c_i}``, the unit vector along :math:`\sum_i c_i u_i`. ``y = A x_true + e``
    with :math:`\|e\| = ` ``noise`` :math:`\cdot\|Ax^\dagger\|` (seeded), and ``delta`` :math:`= \|e\|`.
    """
    A = IntegrationOperator(n).to_matrix(dtype=DTYPE)
    weights = index if isinstance(index, dict) else {index: 1.0}
    for i in weights:
        if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= n:
            raise ValueError(f"index is {i!r}; integration_example expects 1 <= index <= n = {n}")
    V = torch.linalg.svd(A).Vh
    V = V * torch.sign(V.gather(1, V.abs().argmax(dim=1, keepdim=True)))      # a fixed sign per vector
    x_true = sum(c * V[i - 1] for i, c in weights.items())
    x_true = x_true / x_true.norm()
    y, delta = _noisy(A @ x_true, noise, seed)
    return A, x_true, y, delta


def sparse_integration_example(n: int = 200, n_spikes: int = 6, amplitude: float = 50.0, noise: float = 0.1,
                               seed=0) -> tuple:
    """A sparse ``x_true`` (``n_spikes`` spikes of height ±``amplitude``·U[0.5, 1]) seen through the
    integration operator with relative noise ``noise``: ``(A, x_true, y, delta)``."""
    A = IntegrationOperator(n).to_matrix(dtype=DTYPE)
    gen = as_generator(seed)
    where = torch.randperm(n - 20, generator=gen)[:n_spikes] + 10
    x_true = torch.zeros(n, dtype=DTYPE)
    signs = torch.where(torch.rand(n_spikes, generator=gen) < 0.5, -1.0, 1.0).to(DTYPE)
    x_true[where] = amplitude * signs * (0.5 + 0.5 * torch.rand(n_spikes, generator=gen, dtype=DTYPE))
    y, delta = _noisy(A @ x_true, noise, gen)
    return A, x_true, y, delta


def trivial_network_descent(A: torch.Tensor, y: torch.Tensor, n_iter: int, step: float) -> list:
    r"""Train the trivial network :math:`\varphi_W(z) = W` (W starts at 0) by gradient descent on
    :math:`\tfrac12\|AW - y\|^2`, with autograd; returns :math:`[W_1, \dots, W_{n\_iter}]`.

    These are the Landweber iterates :math:`x_{k+1} = x_k - \tau A^*(Ax_k - y)` with :math:`\tau` = ``step``:
    a deep image prior with the simplest network is a classical iteration.
    """
    A, y = _check_problem(A, y, "trivial_network_descent")
    _check_positive(step, "step", "trivial_network_descent")
    W = torch.zeros(A.shape[1], dtype=DTYPE, requires_grad=True)
    iterates = []
    for _ in range(n_iter):
        loss = 0.5 * ((A @ W - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W -= step * grad
        iterates.append(W.detach().clone())
    return iterates


def tikhonov_solution(B: torch.Tensor, y: torch.Tensor, alpha) -> torch.Tensor:
    r""":math:`x(B) = (B^*B + \alpha I)^{-1}B^*y`, the minimiser of :math:`\tfrac12\|Bx - y\|^2 + \tfrac\alpha2\|x\|^2`,
    differentiable in ``B`` (and in ``alpha`` when it is a tensor)."""
    check_tensor(B, "B", "tikhonov_solution", allow_complex=False)
    n = B.shape[1]
    eye = torch.eye(n, dtype=B.dtype, device=B.device)
    return torch.linalg.solve(B.T @ B + alpha * eye, B.T @ y.to(B))


def lasso_solution(B: torch.Tensor, y: torch.Tensor, alpha: float, n_iter: int = 3000, x0=None) -> torch.Tensor:
    r"""The minimiser of :math:`\tfrac12\|Bx - y\|^2 + \alpha\|x\|_1` by FISTA (``n_iter`` iterations, from ``x0``)."""
    from .operators import MatrixOperator
    from .solvers import fista

    return fista(MatrixOperator(B.detach()), y.to(B), alpha, n_iter=n_iter, x0=x0)[0]


class ProxGradientNetwork(nn.Module):
    r""":math:`L` identical layers :math:`x^{k+1} = \mathrm{prox}_{\lambda\alpha R}(Wx^k + b)`,
    :math:`W = I - \lambda B^*B`, :math:`b = \lambda B^*y`: the proximal-gradient method for
    :math:`J_B(x) = \tfrac12\|Bx - y\|^2 + \alpha R(x)`, with the weight :math:`B` a parameter.

    ``step`` (:math:`\lambda`) defaults to :math:`1/\|B_0\|^2`; ``forward(x0)`` returns :math:`x^L`
    (``x0 = 0`` when None). With ``B = A`` and enough layers, the output is Tikhonov's
    (``regulariser="l2"``) or the LASSO's (``"l1"``) solution.
    """

    def __init__(self, B: torch.Tensor, y: torch.Tensor, alpha: float, n_layers: int = 10, regulariser: str = "l2",
                 step: float | None = None):
        super().__init__()
        B, y = _check_problem(B, y, "ProxGradientNetwork")
        _check_regulariser(regulariser, "ProxGradientNetwork")
        _check_positive(alpha, "alpha", "ProxGradientNetwork")
        check_positive_int(n_layers, "n_layers", "ProxGradientNetwork")
        self.B = nn.Parameter(B.clone())
        self.register_buffer("y", y.clone())
        self.alpha, self.n_layers, self.regulariser = float(alpha), n_layers, regulariser
        self.step = float(step) if step is not None else 1.0 / torch.linalg.matrix_norm(B, ord=2).item() ** 2
        _check_positive(self.step, "step", "ProxGradientNetwork")

    def forward(self, x0: torch.Tensor | None = None, alpha=None, step: float | None = None) -> torch.Tensor:
        """:math:`x^L` from :math:`x^0` = ``x0`` (0 if None); ``alpha`` and ``step`` override the stored ones."""
        return prox_gradient_layers(self.B, self.y, self.alpha if alpha is None else alpha,
                                    self.step if step is None else step, self.n_layers, self.regulariser, x0)


def prox_gradient_layers(B, y, alpha, step, n_layers: int, regulariser: str = "l2", x0=None) -> torch.Tensor:
    r"""``n_layers`` layers :math:`x \mapsto \mathrm{prox}_{\lambda\alpha R}((I - \lambda B^*B)x + \lambda B^*y)`
    from ``x0`` (0 if None), :math:`\lambda` = ``step``; differentiable in ``B`` (the network's forward)."""
    b = step * B.T @ y
    x = torch.zeros_like(b) if x0 is None else x0.to(b)
    for _ in range(n_layers):
        v = x - step * (B.T @ (B @ x)) + b          # W x + b, W = I - λB*B, without forming B*B
        x = prox_squared_l2(v, step * alpha) if regulariser == "l2" else soft_threshold(v, step * alpha)
    return x


@dataclass
class ADPResult:
    """What :func:`train_adp` returns: the reconstruction, the trained operator and the history."""

    x: torch.Tensor
    B: torch.Tensor
    alpha: float
    iterations: int
    stopped_by_discrepancy: bool
    seconds: float
    history: dict = field(default_factory=dict)   # per training step: see train_adp


def train_adp(A: torch.Tensor, y: torch.Tensor, alpha: float, regulariser: str = "l2", n_iter: int = 1000,
              lr: float = 0.3, method: str | None = None, n_layers: int = 10, x_true=None, delta=None,
              tau: float = 1.0, adaptive_alpha: bool = False, alpha_lr: float = 0.05, track_every: int | None = 1,
              reference_iters: int = 3000, x0=None, progress: bool = False) -> ADPResult:
    r"""Train the analytic deep prior on one datum: gradient descent on :math:`F(B) = \tfrac12\|Ax(B) - y\|^2`.

    Parameters
    ----------
    A, y : tensors
        The forward matrix ``(m, n)`` and the datum ``(m,)`` (converted to float64).
    alpha : float
        The regularisation weight (the initial one when ``adaptive_alpha``).
    regulariser : "l2" or "l1"
        :math:`R = \tfrac12\|x\|^2` or :math:`R = \|x\|_1`.
    method : "closed" or "unrolled"
        ``"closed"`` (only for ``"l2"``, the default there): :math:`x(B)` exactly; ``"unrolled"``
        (the default for ``"l1"``): ``n_layers`` layers of :class:`ProxGradientNetwork`, warm-started
        from the previous step's output, the gradient taken through those layers.
    lr : float
        The step size :math:`\eta` of :math:`B_{k+1} = B_k - \eta\nabla F(B_k)`.
    x_true : tensor, optional
        Records the relative true error per step (not used by the training).
    delta, tau : float, optional
        With the noise level ``delta``, training stops at the first step whose residual
        :math:`\|Ax_k - y\|` is at most ``tau * delta`` (the discrepancy principle: early stopping
        without the ground truth). Without it, all ``n_iter`` steps run.
    adaptive_alpha : bool
        Also train :math:`\log\alpha`, by gradient descent (step ``alpha_lr``) on :math:`\log F`
        (scale-free: F is tiny on this problem).
    x0 : tensor, optional
        The input of the unrolled network at the first step (0 by default); later steps start
        from the previous output.
    track_every : int or None
        Every that many steps record the network convergence :math:`\|x(B_k) - x_k\|` (the exact
        minimiser: closed form for ``"l2"``, ``reference_iters`` FISTA iterations for ``"l1"``).

    Returns
    -------
    ADPResult
        ``history`` holds per step ``loss``, ``residual`` (:math:`\|Ax_k - y\|`), ``error`` (relative,
        with ``x_true``), ``step_norm`` (:math:`\|B_k - B_{k-1}\|_F`), ``alpha``, and ``gap_steps`` /
        ``gap`` (network convergence at the tracked steps).
    """
    A, y = _check_problem(A, y, "train_adp")
    _check_regulariser(regulariser, "train_adp")
    _check_positive(alpha, "alpha", "train_adp")
    _check_positive(lr, "lr", "train_adp")
    method = method or ("closed" if regulariser == "l2" else "unrolled")
    if method not in ("closed", "unrolled"):
        raise ValueError(f"method is {method!r}; train_adp expects 'closed' or 'unrolled'")
    if method == "closed" and regulariser != "l2":
        raise ValueError("method='closed' needs regulariser='l2' (x(B) in closed form); use method='unrolled'")
    check_positive_int(n_iter, "n_iter", "train_adp")
    if x_true is not None:
        check_tensor(x_true, "x_true", "train_adp", (A.shape[1],), allow_complex=False)
        x_true = x_true.to(DTYPE)
    net = ProxGradientNetwork(A, y, alpha, n_layers, regulariser)
    log_alpha = torch.tensor(math.log(alpha), dtype=DTYPE, requires_grad=adaptive_alpha)
    history = {k: [] for k in ("loss", "residual", "error", "step_norm", "alpha", "gap_steps", "gap")}
    from tqdm.auto import tqdm

    start, x_prev, stopped = time.perf_counter(), (None if x0 is None else x0.to(DTYPE)), False
    bar = tqdm(range(n_iter), desc=f"ADP ({regulariser}, α={alpha:g})", disable=not progress, leave=False)
    for k in bar:
        a = log_alpha.exp()
        if method == "closed":
            x = tikhonov_solution(net.B, y, a)
        else:   # the step follows ‖B_k‖ (every 25 steps) so that the layers stay a convergent PG method
            if k % 25 == 0:
                step = 0.95 / torch.linalg.matrix_norm(net.B.detach(), ord=2).item() ** 2
            x = net(x_prev, alpha=a, step=step)
        residual = A @ x - y
        loss = 0.5 * (residual ** 2).sum()
        params = [net.B] + ([log_alpha] if adaptive_alpha else [])
        grads = torch.autograd.grad(loss, params)
        x = x.detach()
        history["loss"].append(loss.item())
        history["residual"].append(residual.norm().item())
        history["alpha"].append(a.item())
        if x_true is not None:
            history["error"].append(((x - x_true).norm() / x_true.norm()).item())
        if track_every and k % track_every == 0:
            with torch.no_grad():
                exact = (tikhonov_solution(net.B, y, a) if regulariser == "l2"
                         else lasso_solution(net.B, y, a.item(), reference_iters, x0=x))
            history["gap_steps"].append(k)
            history["gap"].append((exact - x).norm().item())
        if delta is not None and history["residual"][-1] <= tau * delta:
            stopped = True
            break
        with torch.no_grad():
            net.B -= lr * grads[0]
            if adaptive_alpha:
                log_alpha -= alpha_lr * grads[1] / max(loss.item(), 1e-300)   # descent on log F in log α
        history["step_norm"].append((lr * grads[0]).norm().item())
        x_prev = x
    return ADPResult(x=x, B=net.B.detach().clone(), alpha=log_alpha.exp().item(), iterations=k + 1,
                     stopped_by_discrepancy=stopped, seconds=time.perf_counter() - start, history=history)
