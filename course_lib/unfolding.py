r"""Deep unfolding: iterative algorithms turned into networks with learned parameters.

Each network starts *exactly* at the algorithm it unfolds: before training, layer k of the
network returns iterate k of that algorithm (a tested property), so training can only improve
on it. All networks act on batches ``y`` of shape ``(batch, m)`` and return ``(batch, n)``;
``forward(y, all_layers=True)`` returns the list :math:`[x_0, x_1, \dots, x_T]` for plots;
:func:`layer_nmse_db` turns it into a per-layer NMSE curve and :func:`all_layer_log_loss` is the
training loss that reaches every layer. The operators the networks unfold are submodules:
``net.to(device)`` moves them too, and they are in the ``state_dict``. A network computes in the
dtype of its weights; an input of another dtype is an error, not a silent cast.

Sparse coding, :math:`y = Ax + n` with sparse :math:`x` and ISTA
:math:`x_{k+1} = S_{\lambda/L}\big(x_k + \tfrac1L A^\top(y - Ax_k)\big)`:

* :class:`LISTA` (Gregor & LeCun 2010): :math:`x_{k+1} = S_{\theta_k}(W_e^k y + S^k x_k)`, tied or untied,
  optionally with support selection.
* :class:`LISTA_CP` (Chen, Liu, Wang, Yin 2018): coupled weights,
  :math:`x_{k+1} = \eta_{\theta_k}\big(x_k + W_k^\top(y - Ax_k)\big)`, optionally with support
  selection (LISTA-CPSS).
* :class:`ALISTA` (Liu, Chen, Wang, Yin 2019): the weight :math:`W` is computed analytically
  (:func:`analytic_weight`); only a step :math:`\gamma_k` and a threshold :math:`\theta_k` per layer are learned.

Imaging, with a known operator ``A`` from :mod:`course_lib.operators`:

* :class:`ConvLISTA`: learned convolutional ISTA on the coarse grid of a super-resolution problem
  (van Sloun et al. 2019), polyphase filters initialised at ISTA.
* :class:`NonnegativeUnfoldedISTA`: :math:`x_{k+1} = \mathrm{ReLU}(x_k - \tau_k H^\top(Hx_k - y) - \lambda_k)`,
  light-field microscopy (Verinaz et al. 2023).
* :class:`UnfoldedRPCA`: low-rank + sparse with convolutions, CORONA (Cohen et al. 2019).
* :class:`NeuralProximalGradient`: a gradient step on the known model, a small CNN as the prox.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .functionals import L1, Functional, NonnegativeL1
from .metrics import nmse_db
from .operators import LinearOperator, MultiChannelConvolution2D
from .prox import singular_value_threshold, soft_threshold
from .solvers import casorati
from .utils import check_positive_int, check_tensor, seed_from

__all__ = ["lista_layer", "LISTA", "LISTA_CP", "ALISTA", "analytic_weight", "support_selection_threshold",
           "support_fractions", "ConvLISTA", "NonnegativeUnfoldedISTA", "UnfoldedRPCA",
           "NeuralProximalGradient", "BlackBoxMLP", "resynthesis_log_loss", "layer_nmse_db", "all_layer_log_loss",
           "every_layer"]


def layer_nmse_db(outputs, truth) -> list:
    r"""NMSE in dB of each layer's output :math:`x_1, \dots, x_T` (``outputs[0]`` = :math:`x_0` is skipped)."""
    return [nmse_db(o.detach(), truth) for o in outputs[1:]]


def all_layer_log_loss(outputs, target) -> torch.Tensor:
    r"""The mean over layers k = 1..T of :math:`\log \mathrm{MSE}(x_k, x)`: every layer is pulled towards the
    truth, and the log weighs a 1 dB gain at -40 dB as much as one at -10 dB."""
    return torch.stack([((o - target) ** 2).mean().log() for o in outputs[1:]]).mean()


def every_layer(model, y):
    """``model(y, all_layers=True)``: for ``training.train(predict=every_layer)`` with :func:`all_layer_log_loss`."""
    return model(y, all_layers=True)


def _check_dictionary(A, owner):
    check_tensor(A, "A", owner, allow_complex=False)
    if A.ndim != 2:
        raise ValueError(f"A has shape {tuple(A.shape)}; {owner} expects a 2-D (m, n) matrix")
    return A.detach()


def _check_layers(n_layers, owner):
    check_positive_int(n_layers, "n_layers", owner)


def _lipschitz(A: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2


def lista_layer(x: torch.Tensor, y: torch.Tensor, W_e: torch.Tensor, S: torch.Tensor, theta) -> torch.Tensor:
    r"""One LISTA layer on a batch (signals are rows): :math:`x^+ = S_\theta(W_e y + S x)`.

    With ISTA's weights :math:`W_e = A^\top/L`, :math:`S = I - A^\top A/L`, :math:`\theta = \lambda/L` it is one
    ISTA step. A learned threshold is used as :math:`\max(\theta, 0)`; the layer is differentiable in
    all of its arguments. (The unit of the lecture 03 exercise; :class:`LISTA` is a stack of them.)
    """
    theta = theta.clamp(min=0) if isinstance(theta, torch.Tensor) else max(float(theta), 0.0)
    return soft_threshold(y @ W_e.T + x @ S.T, theta)


def support_selection_threshold(v: torch.Tensor, theta: torch.Tensor, fraction: float) -> torch.Tensor:
    r"""Soft-thresholding with support selection (Chen et al. 2018): the ``fraction`` of entries
    of each row with the largest magnitude, if above :math:`\theta`, pass unshrunk (they are
    trusted to be in the support); the rest are soft-thresholded. ``fraction = 0`` is plain
    soft-thresholding."""
    out = soft_threshold(v, theta.clamp(min=0))
    n_keep = int(fraction * v.shape[-1])
    if n_keep <= 0:
        return out
    kth = torch.topk(v.abs(), n_keep, dim=-1).values[..., -1:]
    trusted = (v.abs() >= kth) & (v.abs() > theta.clamp(min=0))
    return torch.where(trusted, v, out)


def support_fractions(n_layers: int, increment: float = 0.012, maximum: float = 0.13) -> list:
    """The support-selection schedule of Chen et al.: p_k = min((k+1) * 1.2%, 13%)."""
    return [min((k + 1) * increment, maximum) for k in range(n_layers)]


class _Described:
    """``Name(extra_repr)`` of a network, formatted only when an error message needs it."""

    def __init__(self, net):
        self.net = net

    def __str__(self) -> str:
        return f"{self.net._owner}({self.net.extra_repr()})"


class _UnfoldedNetwork(nn.Module):
    """Shared plumbing: input checks, x_0 = 0, the per-layer loop, all-layer outputs."""

    allow_complex = False

    def __init__(self, n_layers, y_shape, x_shape, owner):
        super().__init__()
        _check_layers(n_layers, owner)
        self.n_layers, self.y_shape, self.x_shape, self._owner = n_layers, tuple(y_shape), tuple(x_shape), owner

    def layer(self, k: int, x, y):  # pragma: no cover
        raise NotImplementedError

    def initial(self, y: torch.Tensor):
        real = y.real.dtype if y.is_complex() else y.dtype
        return torch.zeros(*y.shape[: y.ndim - len(self.y_shape)], *self.x_shape, dtype=real, device=y.device)

    def _check_dtype(self, y: torch.Tensor) -> None:
        weight = next((t for t in list(self.parameters()) + list(self.buffers()) if t.is_floating_point()), None)
        real = y.real.dtype if y.is_complex() else y.dtype
        if weight is not None and real != weight.dtype:
            raise TypeError(f"y has dtype {y.dtype}; this {self._owner} computes in {weight.dtype}: pass "
                            f"y.to({weight.dtype}) or convert the network with net.to({real})")

    def forward(self, y: torch.Tensor, all_layers: bool = False, n_layers: int | None = None):
        check_tensor(y, "y", _Described(self), self.y_shape, allow_complex=self.allow_complex)
        self._check_dtype(y)
        x = self.initial(y)
        outputs = [x]
        for k in range(self.n_layers if n_layers is None else n_layers):
            x = self.layer(k, x, y)
            outputs.append(x)
        return outputs if all_layers else x


class _Unfolded(_UnfoldedNetwork):
    """Unfolded sparse coding with a dictionary matrix A (m, n)."""

    def __init__(self, A, n_layers, owner):
        A = _check_dictionary(A, owner)
        super().__init__(n_layers, (A.shape[0],), (A.shape[1],), owner)
        self.register_buffer("A", A.clone())
        self.m, self.n = A.shape

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}"


class LISTA(_Unfolded):
    r"""Learned ISTA (Gregor & LeCun 2010): :math:`x_{k+1} = S_{\theta_k}(W_e^k y + S^k x_k)`, :math:`x_0 = 0`.

    Initialised at ISTA with step 1/L and ``regulariser`` :math:`\lambda\|x\|_1` (``L1(lam)``, or the number
    ``lam``, as for :func:`~course_lib.solvers.ista`): :math:`W_e = A^\top/L`,
    :math:`S = I - A^\top A/L`, :math:`\theta_k = \lambda/L`. ``tied=True`` shares
    :math:`W_e, S` across layers (thresholds stay per layer); untied has its own per layer.
    ``support_selection=True`` thresholds with :func:`support_selection_threshold` and the schedule of
    :class:`LISTA_CP` (an ablation: support selection without the coupling of LISTA-CPSS); the untrained
    network then differs from ISTA.
    """

    def __init__(self, A: torch.Tensor, n_layers: int = 16, regulariser: L1 | float = 0.1, tied: bool = False,
                 support_selection: bool = False):
        lam = _l1_weight(regulariser, "LISTA")
        super().__init__(A, n_layers, "LISTA")
        L = _lipschitz(self.A)
        W_e = self.A.T / L
        S = torch.eye(self.n, dtype=self.A.dtype, device=self.A.device) - self.A.T @ self.A / L
        copies = 1 if tied else n_layers
        self.W_e = nn.ParameterList([nn.Parameter(W_e.clone()) for _ in range(copies)])
        self.S = nn.ParameterList([nn.Parameter(S.clone()) for _ in range(copies)])
        self.theta = nn.Parameter(torch.full((n_layers,), lam / L, dtype=self.A.dtype, device=self.A.device))
        self.tied = tied
        self.fractions = support_fractions(n_layers) if support_selection else [0.0] * n_layers

    def layer(self, k, x, y):
        i = 0 if self.tied else k
        if self.fractions[k] == 0:
            return lista_layer(x, y, self.W_e[i], self.S[i], self.theta[k])
        return support_selection_threshold(y @ self.W_e[i].T + x @ self.S[i].T, self.theta[k], self.fractions[k])


class LISTA_CP(_Unfolded):
    r"""LISTA with coupled weights (Chen et al. 2018): :math:`x_{k+1} = \eta\big(x_k + W_k^\top(y - Ax_k)\big)`.

    Initialised at ISTA: :math:`W_k = A/L`, :math:`\theta_k = \lambda/L`. With
    ``support_selection=True`` (LISTA-CPSS) the layer-k threshold trusts the largest
    ``support_fractions(n_layers)[k]`` of the entries (see :func:`support_selection_threshold`);
    the untrained network then differs from ISTA.
    """

    def __init__(self, A: torch.Tensor, n_layers: int = 16, regulariser: L1 | float = 0.1,
                 support_selection: bool = False):
        lam = _l1_weight(regulariser, "LISTA_CP")
        super().__init__(A, n_layers, "LISTA_CP")
        L = _lipschitz(self.A)
        self.W = nn.ParameterList([nn.Parameter(self.A / L) for _ in range(n_layers)])
        self.theta = nn.Parameter(torch.full((n_layers,), lam / L, dtype=self.A.dtype, device=self.A.device))
        self.fractions = support_fractions(n_layers) if support_selection else [0.0] * n_layers

    def layer(self, k, x, y):
        v = x + (y - x @ self.A.T) @ self.W[k]
        return support_selection_threshold(v, self.theta[k], self.fractions[k])


def analytic_weight(A: torch.Tensor) -> torch.Tensor:
    r"""ALISTA's analytic weight: :math:`W = \arg\min \|W^\top A\|_F^2` s.t. :math:`\mathrm{diag}(W^\top A) = 1`.

    Column by column, :math:`w_i = (AA^\top)^{-1}a_i / (a_i^\top (AA^\top)^{-1} a_i)`: the
    weight that is least coherent with the dictionary (Liu et al. 2019, Frobenius form).
    """
    A = _check_dictionary(A, "analytic_weight")
    A64 = A.double()
    G = torch.linalg.solve(A64 @ A64.T, A64)        # (AA^T)^{-1} a_i, all columns at once
    return (G / (A64 * G).sum(dim=0, keepdim=True)).to(A.dtype)


class ALISTA(_Unfolded):
    r"""Analytic LISTA (Liu et al. 2019): :math:`x_{k+1} = \eta_{\theta_k}\big(x_k - \gamma_k W^\top(Ax_k - y)\big)`.

    :math:`W` is fixed (``analytic_weight(A)`` by default); only :math:`2T` numbers are learned.
    Initialised at the iteration :math:`x \mapsto \eta_{\gamma\lambda}\big(x - \gamma W^\top(Ax - y)\big)`
    with :math:`\gamma_k = \gamma = 1/\|W^\top A\|` (or ``step``) and :math:`\theta_k = \gamma\lambda`:
    with ``support_selection=False`` layer k is iterate k of it, and for ``W = A`` that is ISTA.
    """

    def __init__(self, A: torch.Tensor, n_layers: int = 16, regulariser: L1 | float = 0.1,
                 W: torch.Tensor | None = None, support_selection: bool = True, step: float | None = None):
        lam = _l1_weight(regulariser, "ALISTA")
        super().__init__(A, n_layers, "ALISTA")
        W = analytic_weight(self.A) if W is None else _check_dictionary(W, "ALISTA(W=...)")
        if W.shape != self.A.shape:
            raise ValueError(f"W has shape {tuple(W.shape)}; ALISTA expects the shape of A, {tuple(self.A.shape)}")
        self.register_buffer("W", W.to(self.A).clone())
        gamma = step if step is not None else 1.0 / torch.linalg.matrix_norm((self.W.T @ self.A).double(), ord=2).item()
        self.gamma = nn.Parameter(torch.full((n_layers,), gamma, dtype=self.A.dtype, device=self.A.device))
        self.theta = nn.Parameter(torch.full((n_layers,), gamma * lam, dtype=self.A.dtype, device=self.A.device))
        self.fractions = support_fractions(n_layers) if support_selection else [0.0] * n_layers

    def layer(self, k, x, y):
        v = x - self.gamma[k] * ((x @ self.A.T - y) @ self.W)
        return support_selection_threshold(v, self.theta[k], self.fractions[k])


def _l1_weight(regulariser, owner: str) -> float:
    """λ of the ℓ1 regulariser an unfolded network starts from: ``L1(lam)`` or the number ``lam``."""
    from .functionals import as_functional

    g = as_functional(regulariser, owner)
    if type(g) is not L1:
        raise TypeError(f"regulariser is {g!r}; {owner} expects L1(lam) or a number lam: its layers soft-threshold")
    return g.weight


def _operator_dtype(A: LinearOperator) -> torch.dtype:
    """The real dtype an operator computes in (its first floating buffer's; float32 for one without buffers)."""
    tensor = next((t for t in A.buffers() if t.is_floating_point() or t.is_complex()), None)
    if tensor is None:
        return torch.float32
    return tensor.real.dtype if tensor.is_complex() else tensor.dtype


def _check_operator(A, owner, ndim=None):
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; {owner} expects a course_lib LinearOperator")
    if ndim is not None and len(A.in_shape) != ndim:
        raise ValueError(f"{A!r} acts on signals of shape {A.in_shape}; {owner} expects {ndim}-D signals")
    return A


def _coarse_footprint(R: torch.Tensor, centre, tol: float = 1e-7) -> int:
    """Largest coarse offset from ``centre`` at which the polyphase response ``R (s², Hc, Wc)`` is non-zero."""
    mags = R.abs().amax(dim=0)
    rows, cols = torch.nonzero(mags > tol * mags.max(), as_tuple=True)
    return int(max((rows - centre[0]).abs().max(), (cols - centre[1]).abs().max()))


class ConvLISTA(_UnfoldedNetwork):
    r"""Learned convolutional ISTA for super-resolution localisation (van Sloun et al., Proc. IEEE 2019).

    ``A`` maps a fine image ``(H, W)`` to coarse pixels ``(H/s, W/s)``: a circular blur by a known
    PSF, then ``s x s`` pooling (``AveragePooling2D(fine, s) @ Convolution2D(psf, fine)``). One
    ISTA step :math:`x \mapsto \eta\big((I - \tau A^\top A)x + \tau A^\top y\big)` is then a
    convolution *on the coarse grid* once the fine image is split into its :math:`s^2` phases
    (pixel-unshuffle, :math:`P`):

    .. math:: x_{k+1} = \eta_{\theta_k}\Big(P^{-1}\big(S_k \star P x_k + W_k \star y\big)\Big),

    with :math:`S_k` an :math:`s^2 \to s^2` channel filter and :math:`W_k` a :math:`1 \to s^2` filter
    of ``kernel_size`` coarse pixels, and :math:`\eta_\theta` is the prox of the ``regulariser``'s shape
    with the learned threshold :math:`\theta_k`: :math:`\mathrm{ReLU}(\cdot - \theta_k)` for
    ``NonnegativeL1(lam)`` (the default: emitters are bright), soft-thresholding for ``L1(lam)``.
    The filters are initialised from ``A`` so that, untrained, layer k is iterate k of ISTA
    (:func:`~course_lib.solvers.ista` with that regulariser) with ``step`` :math:`\tau = 1/\|A\|^2`, i.e.
    threshold :math:`\tau\lambda`; the construction checks that the filters reproduce
    :math:`I - \tau A^\top A` and :math:`\tau A^\top` and raises if ``A`` is not of this form.
    ``kernel_size=None`` picks the smallest odd size that holds the footprint of :math:`A^\top A`.
    Each layer's filters are then trained freely: ten layers do the work of about a thousand
    ISTA iterations.
    """

    def __init__(self, A: LinearOperator, n_layers: int = 10, regulariser: Functional | None = None,
                 kernel_size: int | None = None, step: float | None = None):
        A = _check_operator(A, "ConvLISTA", ndim=2)
        super().__init__(n_layers, A.out_shape, A.in_shape, "ConvLISTA")
        (H, W), (Hc, Wc) = A.in_shape, A.out_shape
        s = H // Hc
        if s < 1 or (H, W) != (s * Hc, s * Wc):
            raise ValueError(f"A maps {A.in_shape} to {A.out_shape}; ConvLISTA expects coarse pixels of an integer "
                             "factor s of the fine grid, (s*Hc, s*Wc) -> (Hc, Wc)")
        if kernel_size is not None and check_positive_int(kernel_size, "kernel_size", "ConvLISTA") % 2 == 0:
            raise ValueError(f"kernel_size is {kernel_size!r}; ConvLISTA expects a positive odd integer or None")
        regulariser = NonnegativeL1(0.01) if regulariser is None else regulariser
        if not isinstance(regulariser, (L1, NonnegativeL1)):
            raise TypeError(f"regulariser is {regulariser!r}; ConvLISTA expects L1(lam) or NonnegativeL1(lam), whose "
                            "prox is a threshold it can learn")
        self.op, self.factor, self.threshold = A, s, type(regulariser)(1.0)   # the prox with threshold theta_k
        lam = regulariser.weight
        step = step if step is not None else 1.0 / A.norm() ** 2
        S, Wy = self._ista_filters(step, kernel_size)
        dtype = _operator_dtype(A)                   # the network computes in its operator's dtype
        self.S = nn.Parameter(S.to(dtype).expand(n_layers, *S.shape).clone())
        self.W = nn.Parameter(Wy.to(dtype).expand(n_layers, *Wy.shape).clone())
        self.theta = nn.Parameter(torch.full((n_layers,), step * lam, dtype=dtype, device=A.device))
        self._check_filters(step)

    def _ista_filters(self, step, kernel_size):
        """The coarse filters of one ISTA step, read off the responses to impulses on each phase."""
        A, s = self.op, self.factor
        (H, W), (Hc, Wc) = A.in_shape, A.out_shape
        c = (Hc // 2, Wc // 2)
        dtype, device = torch.float64, A.device
        impulses = torch.zeros(s * s, H, W, dtype=dtype, device=device)
        for j in range(s * s):
            impulses[j, c[0] * s + j // s, c[1] * s + j % s] = 1
        gram = F.pixel_unshuffle(A.A_adjoint(A(impulses))[:, None], s)         # (phase in, s², Hc, Wc)
        coarse = torch.zeros(1, Hc, Wc, dtype=dtype, device=device)
        coarse[0, c[0], c[1]] = 1
        back = F.pixel_unshuffle(step * A.A_adjoint(coarse)[:, None], s)        # (1, s², Hc, Wc)
        needed = 2 * max(_coarse_footprint(gram.reshape(-1, Hc, Wc), c), _coarse_footprint(back[0], c)) + 1
        size = needed if kernel_size is None else kernel_size
        if size < needed:
            raise ValueError(f"kernel_size is {kernel_size}; the footprint of A^T A on the coarse grid needs "
                             f"ConvLISTA filters of at least {needed} coarse pixels (or kernel_size=None)")
        if size > min(Hc, Wc):
            raise ValueError(f"ConvLISTA needs filters of {size} coarse pixels to hold the footprint of A^T A, more "
                             f"than the coarse grid {A.out_shape}; use a larger image or a narrower PSF")
        h = size // 2
        window = (slice(None), slice(None), slice(c[0] - h, c[0] + h + 1), slice(c[1] - h, c[1] + h + 1))
        identity = F.pixel_unshuffle(impulses[:, None], s)
        step_response = (identity - step * gram)[window]                        # (phase in, phase out, k, k)
        # F.conv2d is a cross-correlation: the filter is the response read backwards.
        S = step_response.transpose(0, 1).flip(-1, -2)                           # (phase out, phase in, k, k)
        Wy = back[window].transpose(0, 1).flip(-1, -2)                            # (phase out, 1, k, k)
        return S, Wy

    def _check_filters(self, step):
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(2, *self.x_shape, generator=gen, dtype=torch.float64).to(self.op.device)
        y = torch.rand(2, *self.y_shape, generator=gen, dtype=torch.float64).to(self.op.device)
        with torch.no_grad():
            got = self._linear(0, x, y)
            want = x - step * self.op.A_adjoint(self.op(x) - y)
        error = ((got - want).norm() / want.norm()).item()
        if error > 1e-5:
            raise ValueError(f"{self.op!r} is not a circular blur followed by {self.factor}x{self.factor} pooling "
                             f"(coarse filters miss one ISTA step by {error:.1e}); ConvLISTA expects "
                             "AveragePooling2D(shape, s) @ Convolution2D(psf, shape, padding='circular')")

    def _conv(self, v, kernel):
        h = kernel.shape[-1] // 2
        return F.conv2d(F.pad(v, [h, h, h, h], mode="circular"), kernel.to(v))

    def _linear(self, k, x, y):
        s, batch = self.factor, x.shape[:-2]
        phases = F.pixel_unshuffle(x.reshape(-1, 1, *self.x_shape), s)
        v = self._conv(phases, self.S[k]) + self._conv(y.reshape(-1, 1, *self.y_shape).to(x), self.W[k])
        return F.pixel_shuffle(v, s).reshape(*batch, *self.x_shape)

    def layer(self, k, x, y):
        v = self._linear(k, x, y)
        return self.threshold.prox(v, self.theta[k].clamp(min=0))

    def extra_repr(self):
        return f"factor={self.factor}, kernel_size={self.S.shape[-1]}"     # the operator is shown as the child (op)


class NonnegativeUnfoldedISTA(_UnfoldedNetwork):
    r"""Non-negative unfolded ISTA:
    :math:`x_{k+1} = \mathrm{ReLU}\big(x_k + \tau_k G_k^\top(y - Hx_k) - \lambda_k\big)`.

    ``H`` is a known :class:`~course_lib.operators.MultiChannelConvolution2D` (e.g. a light field:
    views of a stack of depth planes). Learned per layer: a step :math:`\tau_k`, a threshold per
    depth plane :math:`\lambda_k` (from ``regulariser``, ``NonnegativeL1(lam)`` or the number ``lam``), and the
    adjoint filter bank :math:`G_k` (initialised at ``H``'s
    own kernels). Untrained, layer k is iteration k of
    :math:`x \mapsto \mathrm{ReLU}(x - \tau H^\top(Hx - y) - \tau\lambda)` (Verinaz et al. 2023):
    with few layers and few training pairs it matches many iterations.
    """

    def __init__(self, H: MultiChannelConvolution2D, n_layers: int = 5, regulariser: NonnegativeL1 | float = 0.01,
                 step: float | None = None):
        if not isinstance(H, MultiChannelConvolution2D):
            raise TypeError(f"H is a {type(H).__name__}; NonnegativeUnfoldedISTA expects a MultiChannelConvolution2D")
        if isinstance(regulariser, (int, float)) and not isinstance(regulariser, bool):
            regulariser = NonnegativeL1(regulariser)
        if type(regulariser) is not NonnegativeL1:
            raise TypeError(f"regulariser is {regulariser!r}; NonnegativeUnfoldedISTA expects NonnegativeL1(lam) or a "
                            "number lam: its layers are ReLU(. - lam)")
        lam = regulariser.weight
        super().__init__(n_layers, H.out_shape, H.in_shape, "NonnegativeUnfoldedISTA")
        self.op = H
        step = step if step is not None else 1.0 / H.norm() ** 2
        depths, dtype = H.in_shape[0], _operator_dtype(H)       # the network computes in its operator's dtype
        self.step = nn.Parameter(torch.full((n_layers,), step, dtype=dtype, device=H.device))
        self.lam = nn.Parameter(torch.full((n_layers, depths, 1, 1), step * lam, dtype=dtype, device=H.device))
        self.G = nn.Parameter(H.kernels.detach().to(dtype).clone().expand(n_layers, *H.kernels.shape).clone())

    def layer(self, k, x, y):
        residual = y - self.op(x)
        back = self.op.apply_bank(residual, self.G[k], adjoint=True)
        return torch.relu(x + self.step[k] * back - self.lam[k].clamp(min=0))

    def extra_repr(self):
        return f"n_layers={self.n_layers}"


class UnfoldedRPCA(nn.Module):
    r"""Unfolded robust PCA (CORONA, Cohen et al. 2019) for a video ``D = L + S`` of shape ``(..., T, H, W)``.

    .. math::
        L_{k+1} = \mathrm{SVT}_{a_k}\big(P^1_k \ast L_k + P^2_k \ast S_k + P^3_k \ast D\big),\quad
        S_{k+1} = S_{b_k}\big(P^4_k \ast L_k + P^5_k \ast S_k + P^6_k \ast D\big),

    with learned 3-D (time x space) convolutions :math:`P^i_k` and thresholds; SVT acts on the
    Casorati matrix (pixels x frames). Initialised at :func:`course_lib.solvers.robust_pca` with
    step 1/2 and no momentum: :math:`P^{1,3,5,6} = \tfrac12\delta`, :math:`P^{2,4} = -\tfrac12\delta`,
    :math:`a = \lambda_L/2`, :math:`b = \lambda_S/2`. Returns ``(L, S)`` (or all layers' pairs).
    """

    def __init__(self, n_layers: int = 10, lam_low_rank: float = 1.0, lam_sparse: float = 0.1,
                 kernel_size=(3, 5, 5)):
        super().__init__()
        _check_layers(n_layers, "UnfoldedRPCA")
        kt, kh, kw = kernel_size
        if kt % 2 == 0 or kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"kernel_size is {kernel_size}; UnfoldedRPCA expects odd sizes")
        signs = torch.tensor([0.5, -0.5, 0.5, -0.5, 0.5, 0.5])  # P1..P6 at ISTA
        centre = torch.zeros(6, *kernel_size)
        centre[:, kt // 2, kh // 2, kw // 2] = signs
        self.P = nn.Parameter(centre.expand(n_layers, 6, *kernel_size).clone())
        self.a = nn.Parameter(torch.full((n_layers,), lam_low_rank / 2))
        self.b = nn.Parameter(torch.full((n_layers,), lam_sparse / 2))
        self.n_layers, self.kernel_size = n_layers, tuple(kernel_size)

    def _mix(self, weights, L, S, D):
        stacked = torch.stack([L, S, D], dim=1)                  # (B, 3, T, H, W)
        pad = [p // 2 for p in reversed(self.kernel_size) for _ in range(2)]
        return F.conv3d(F.pad(stacked, pad), weights[None].to(stacked))[:, 0]

    def forward(self, D: torch.Tensor, all_layers: bool = False):
        check_tensor(D, "D", "UnfoldedRPCA", allow_complex=False)
        if D.dtype != self.P.dtype:
            raise TypeError(f"D has dtype {D.dtype}; this UnfoldedRPCA computes in {self.P.dtype}: pass "
                            f"D.to({self.P.dtype}) or convert the network with net.to({D.dtype})")
        if D.ndim < 3:
            raise ValueError(f"D has shape {tuple(D.shape)}; UnfoldedRPCA expects a video (..., T, H, W)")
        batch, (T, H, W) = D.shape[:-3], D.shape[-3:]
        D = D.reshape(-1, T, H, W)
        L, S = torch.zeros_like(D), torch.zeros_like(D)
        outputs = [(L, S)]
        for k in range(self.n_layers):
            P = self.P[k]
            L_in, S_in = self._mix(P[0:3], L, S, D), self._mix(P[3:6], L, S, D)
            low_rank = singular_value_threshold(casorati(L_in), self.a[k].clamp(min=0))   # (B, pixels, frames)
            L = low_rank.transpose(1, 2).reshape(-1, T, H, W)
            S = soft_threshold(S_in, self.b[k].clamp(min=0))
            outputs.append((L, S))
        shape = lambda t: t.reshape(*batch, T, H, W)
        outputs = [(shape(L_), shape(S_)) for L_, S_ in outputs]
        return outputs if all_layers else outputs[-1]


class _ResidualProx(nn.Module):
    """x + CNN(x): three 3x3 convolutions; the last starts at zero, so the prox starts as the identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, 1, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        return x + self.net(x)


class NeuralProximalGradient(_UnfoldedNetwork):
    r"""Neural proximal gradient descent: :math:`x_{k+1} = R_k\big(x_k - \tau_k A^*(Ax_k - y)\big)`.

    Known model ``A`` (e.g. :class:`~course_lib.operators.SubsampledFourier`), learned prior: each
    :math:`R_k` is a small residual CNN, :math:`R_k(v) = v + \mathrm{CNN}_k(v)`. The CNNs start at
    zero, so the untrained network is gradient descent (Landweber) with step
    :math:`\tau = 1/\|A\|^2`; training learns the prox (Mardani et al. 2018). The CNNs' initial weights come from
    ``seed`` (an int or a ``torch.Generator``); the global generator is left as it was.
    """

    allow_complex = True

    def __init__(self, A: LinearOperator, n_layers: int = 5, channels: int = 16, step: float | None = None,
                 seed: int | torch.Generator = 0):
        A = _check_operator(A, "NeuralProximalGradient", ndim=2)
        super().__init__(n_layers, A.out_shape, A.in_shape, "NeuralProximalGradient")
        self.op = A
        step = step if step is not None else 1.0 / A.norm() ** 2
        self.step = nn.Parameter(torch.full((n_layers,), step, device=A.device))
        with torch.random.fork_rng(devices=[]):     # nn.Conv2d draws from the global RNG: seeded here, then restored
            torch.manual_seed(seed_from(seed))
            self.prox = nn.ModuleList([_ResidualProx(channels) for _ in range(n_layers)]).to(A.device)

    def layer(self, k, x, y):
        v = x - self.step[k] * self.op.A_adjoint(self.op(x) - y)
        batch = v.shape[:-2]
        v = self.prox[k](v.reshape(-1, 1, *self.x_shape))
        return v.reshape(*batch, *self.x_shape)

    def extra_repr(self):
        return f"n_layers={self.n_layers}"


class BlackBoxMLP(nn.Module):
    r"""A black box for the comparison of lecture 03: :math:`y \mapsto x` by a ReLU MLP with the given ``hidden``
    widths.

    No model :math:`A` inside and no algorithm to start from: the baseline that unfolding is measured against.
    ``forward(y, all_layers=True)`` returns ``[0, x]`` (one "layer"), so the unfolded networks' training loss and
    per-layer curves apply unchanged. Its initial weights come from ``seed``.
    """

    def __init__(self, m: int, n: int, hidden=(200, 200), seed: int | torch.Generator = 0):
        super().__init__()
        widths = [check_positive_int(m, "m", "BlackBoxMLP"), *hidden, check_positive_int(n, "n", "BlackBoxMLP")]
        for width in hidden:
            check_positive_int(width, "a hidden width", "BlackBoxMLP")
        with torch.random.fork_rng(devices=[]):     # nn.Linear draws from the global RNG: seeded here, then restored
            torch.manual_seed(seed_from(seed))
            layers = []
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
                layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
            self.net = nn.Sequential(*layers)
        self.m, self.n = m, n

    def forward(self, y: torch.Tensor, all_layers: bool = False):
        check_tensor(y, "y", "BlackBoxMLP", (self.m,), allow_complex=False)
        x = self.net(y)
        return [torch.zeros_like(x), x] if all_layers else x


def resynthesis_log_loss(outputs, y, op) -> torch.Tensor:
    r"""The self-supervised loss: the mean over layers of :math:`\log \mathrm{MSE}(H x_k, y)`. It needs
    measurements only, no ground truth: each layer's estimate must re-synthesise the data it came from."""
    return torch.stack([((op(o) - y) ** 2).mean().log() for o in outputs[1:]]).mean()
