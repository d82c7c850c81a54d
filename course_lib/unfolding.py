r"""Deep unfolding: iterative algorithms turned into networks with learned parameters.

Each network starts *exactly* at the algorithm it unfolds: before training, layer k of the
network returns iterate k of that algorithm (a tested property), so training can only improve
on it. All networks act on batches ``y`` of shape ``(batch, m)`` and return ``(batch, n)``;
``forward(y, all_layers=True)`` returns the list :math:`[x_0, x_1, \dots, x_T]` for plots.

Sparse coding, :math:`y = Ax + n` with sparse :math:`x` and ISTA
:math:`x_{k+1} = S_{\lambda/L}\big(x_k + \tfrac1L A^\top(y - Ax_k)\big)`:

* :class:`LISTA` (Gregor & LeCun 2010): :math:`x_{k+1} = S_{\theta_k}(W_e^k y + S^k x_k)`, tied or untied.
* :class:`LISTA_CP` (Chen, Liu, Wang, Yin 2018): coupled weights,
  :math:`x_{k+1} = \eta_{\theta_k}\big(x_k + W_k^\top(y - Ax_k)\big)`, optionally with support
  selection (LISTA-CPSS).
* :class:`ALISTA` (Liu, Chen, Wang, Yin 2019): the weight :math:`W` is computed analytically
  (:func:`analytic_weight`); only a step :math:`\gamma_k` and a threshold :math:`\theta_k` per layer are learned.
"""
from __future__ import annotations

import torch
from torch import nn

from .utils import check_tensor

__all__ = ["LISTA", "LISTA_CP", "ALISTA", "analytic_weight", "support_selection_threshold",
           "support_fractions"]


def _check_dictionary(A, owner):
    check_tensor(A, "A", owner, allow_complex=False)
    if A.ndim != 2:
        raise ValueError(f"A has shape {tuple(A.shape)}; {owner} expects a 2-D (m, n) matrix")
    return A.detach()


def _check_layers(n_layers, owner):
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"n_layers is {n_layers!r}; {owner} expects a positive integer")


def _lipschitz(A: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2


def soft(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Soft-thresholding with a learnable threshold (kept >= 0), differentiable in both."""
    theta = theta.clamp(min=0)
    return v - torch.clamp(v, -theta, theta)


def support_selection_threshold(v: torch.Tensor, theta: torch.Tensor, fraction: float) -> torch.Tensor:
    r"""Soft-thresholding with support selection (Chen et al. 2018): the ``fraction`` of entries
    of each row with the largest magnitude, if above :math:`\theta`, pass unshrunk (they are
    trusted to be in the support); the rest are soft-thresholded. ``fraction = 0`` is plain
    soft-thresholding."""
    out = soft(v, theta)
    n_keep = int(fraction * v.shape[-1])
    if n_keep <= 0:
        return out
    kth = torch.topk(v.abs(), n_keep, dim=-1).values[..., -1:]
    trusted = (v.abs() >= kth) & (v.abs() > theta.clamp(min=0))
    return torch.where(trusted, v, out)


def support_fractions(n_layers: int, step: float = 0.012, maximum: float = 0.13) -> list:
    """The support-selection schedule of Chen et al.: p_k = min((k+1) * 1.2%, 13%)."""
    return [min((k + 1) * step, maximum) for k in range(n_layers)]


class _Unfolded(nn.Module):
    """Shared plumbing: input checks, x_0 = 0, the per-layer loop, all-layer outputs."""

    def __init__(self, A, n_layers, owner):
        super().__init__()
        A = _check_dictionary(A, owner)
        _check_layers(n_layers, owner)
        self.register_buffer("A", A.clone())
        self.n_layers, self.m, self.n = n_layers, A.shape[0], A.shape[1]
        self._owner = owner

    def layer(self, k: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, y: torch.Tensor, all_layers: bool = False, n_layers: int | None = None):
        check_tensor(y, "y", f"{self._owner}(m={self.m}, n={self.n})", (self.m,), allow_complex=False)
        y = y.to(self.A.dtype)
        x = torch.zeros(*y.shape[:-1], self.n, dtype=y.dtype, device=y.device)
        outputs = [x]
        for k in range(self.n_layers if n_layers is None else n_layers):
            x = self.layer(k, x, y)
            outputs.append(x)
        return outputs if all_layers else x

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, n_layers={self.n_layers}"


class LISTA(_Unfolded):
    r"""Learned ISTA (Gregor & LeCun 2010): :math:`x_{k+1} = S_{\theta_k}(W_e^k y + S^k x_k)`, :math:`x_0 = 0`.

    Initialised at ISTA with step 1/L and weight ``lam``: :math:`W_e = A^\top/L`,
    :math:`S = I - A^\top A/L`, :math:`\theta_k = \lambda/L`. ``tied=True`` shares
    :math:`W_e, S` across layers (thresholds stay per layer); untied has its own per layer.
    """

    def __init__(self, A: torch.Tensor, n_layers: int = 16, lam: float = 0.1, tied: bool = False):
        super().__init__(A, n_layers, "LISTA")
        L = _lipschitz(self.A)
        W_e = self.A.T / L
        S = torch.eye(self.n, dtype=self.A.dtype, device=self.A.device) - self.A.T @ self.A / L
        copies = 1 if tied else n_layers
        self.W_e = nn.ParameterList([nn.Parameter(W_e.clone()) for _ in range(copies)])
        self.S = nn.ParameterList([nn.Parameter(S.clone()) for _ in range(copies)])
        self.theta = nn.Parameter(torch.full((n_layers,), lam / L, dtype=self.A.dtype, device=self.A.device))
        self.tied = tied

    def layer(self, k, x, y):
        i = 0 if self.tied else k
        return soft(y @ self.W_e[i].T + x @ self.S[i].T, self.theta[k])


class LISTA_CP(_Unfolded):
    r"""LISTA with coupled weights (Chen et al. 2018): :math:`x_{k+1} = \eta\big(x_k + W_k^\top(y - Ax_k)\big)`.

    Initialised at ISTA: :math:`W_k = A/L`, :math:`\theta_k = \lambda/L`. With
    ``support_selection=True`` (LISTA-CPSS) the layer-k threshold trusts the largest
    ``support_fractions(n_layers)[k]`` of the entries (see :func:`support_selection_threshold`);
    the untrained network then differs from ISTA.
    """

    def __init__(self, A: torch.Tensor, n_layers: int = 16, lam: float = 0.1, support_selection: bool = False):
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

    def __init__(self, A: torch.Tensor, n_layers: int = 16, lam: float = 0.1, W: torch.Tensor | None = None,
                 support_selection: bool = True, step: float | None = None):
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
