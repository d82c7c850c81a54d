r"""Architectural priors (lecture 02, after R. van Sloun's lecture): the architecture is part of the prior.

Bayes over models and their weights, :math:`p(\theta, m \mid D) \propto p(D \mid \theta, m)\,p(\theta)\,p(m)`:
the choice of architecture :math:`m` is a prior like any other, and it can be weighed by the evidence
:math:`p(D \mid m)`. This module makes the lecture's three architectural priors computable:

* **model choice**: Bayesian linear models whose evidence has a closed form (:func:`log_evidence`),
  a dense layer against a convolution (:func:`dense_design`, :func:`convolution_design`);
* **convolution and group convolution**: weight sharing as a Toeplitz (circulant) matrix
  (:func:`convolution_matrix`), translation equivariance (:func:`shift_equivariance_error`), and
  rotation equivariance by the p4 group convolution of Cohen & Welling (ICML 2016)
  (:class:`P4LiftingConv`, :class:`P4GroupConv`, :class:`P4CNN`);
* **residual connections** (He et al. 2016): the same deep network with and without skips
  (:class:`DeepNet`), its loss landscape along filter-normalised directions (Li, Xu, Taylor, Studer &
  Goldstein, NeurIPS 2018: :func:`filter_normalised_direction`, :func:`landscape`) and the extreme
  eigenvalues of its Hessian (:func:`hessian_extreme_eigenvalues`);
* **recurrence**: a cell unrolled in time with tied weights (:class:`RNNCell`, :func:`unroll`),
  gradients through time (:func:`gradient_through_time`), and ISTA as a recurrent network with fixed
  weights (:class:`IstaCell`), whose untied unrolling is LISTA (lecture 03).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .training import train
from .unfolding import lista_layer
from .utils import as_generator, check_int, check_number, check_tensor

__all__ = ["log_evidence", "dense_design", "convolution_design", "linear_data", "model_evidence",
           "convolution_matrix", "circular_convolution", "shift_equivariance_error", "p4_rotate", "P4LiftingConv",
           "P4GroupConv", "P4CNN", "PlainCNN", "rotated_patterns", "Block", "DeepNet", "train_classifier",
           "accuracy", "filter_normalised_direction", "landscape", "hessian_extreme_eigenvalues", "RNNCell",
           "IstaCell", "unroll", "gradient_through_time"]


# --------------------------------------------------------------------------- input checks


def _check_dtype(dtype, owner: str) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype is {dtype!r}; {owner} expects a real floating-point torch dtype (e.g. torch.float32)")


def _check_module(model, name: str, owner: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} is a {type(model).__name__}; {owner} expects a torch.nn.Module")


def _check_callable(f, name: str, owner: str) -> None:
    if not callable(f):
        raise TypeError(f"{name} is a {type(f).__name__}; {owner} expects a function")


def _check_integer(value, name: str, owner: str) -> int:
    """Any integer, negative too (a shift, a number of quarter turns)."""
    return check_int(value, name, owner, minimum=-(2 ** 63))


def _check_images(x, channels: int, owner: str) -> None:
    """``x`` a real batch of images ``(N, channels, H, W)``: shape and dtype only (no pass over the data: it runs at
    every forward)."""
    check_tensor(x, "x", owner, allow_complex=False)
    if x.ndim != 4 or x.shape[1] != channels:
        hint = " (add the channel axis: x[:, None])" if x.ndim == 3 and channels == 1 else ""
        raise ValueError(f"x has shape {tuple(x.shape)}; {owner} expects a batch of images (N, {channels}, H, W){hint}")


def _check_data(x, labels, owner: str) -> None:
    """Samples ``x`` (N, ...) of finite numbers and their class labels, integers >= 0 of shape (N,)."""
    check_tensor(x, "x", owner, allow_complex=False, finite=True)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}; {owner} expects a non-empty batch of samples (N, ...)")
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels is a {type(labels).__name__}; {owner} expects a torch.Tensor of class indices")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels has dtype {labels.dtype}; {owner} expects class indices, an integer tensor "
                        "(labels.long())")
    if labels.shape != (len(x),):
        raise ValueError(f"labels has shape {tuple(labels.shape)}; {owner} expects one class per sample, ({len(x)},)")
    if bool((labels < 0).any()):
        raise ValueError(f"labels holds {int(labels.min())}; {owner} expects class indices >= 0")


def _check_values(values, name: str, owner: str) -> None:
    """A 1-D sequence (list, tuple, NumPy array or tensor) of finite real numbers."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or getattr(values, "ndim", 1) != 1:
        raise TypeError(f"{name} is {values!r}; {owner} expects a 1-D sequence of numbers")
    for value in values:
        if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_complex():
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} holds a {type(value).__name__} ({value!r}); {owner} expects numbers")
        if not math.isfinite(value):
            raise ValueError(f"{name} holds {value!r}; {owner} expects finite numbers")


# --------------------------------------------------------------------------- model choice by the evidence


def log_evidence(Phi: torch.Tensor, y: torch.Tensor, alpha: float, beta: float) -> float:
    r""":math:`\log p(y \mid m)` of the Bayesian linear model :math:`y = \Phi\theta + \varepsilon`,
    :math:`\theta \sim \mathcal N(0, \alpha^{-1}I)`, :math:`\varepsilon \sim \mathcal N(0, \beta^{-1}I)`:
    :math:`y \sim \mathcal N(0, C)` with :math:`C = \alpha^{-1}\Phi\Phi^\top + \beta^{-1}I` (Bishop, PRML §3.4).

    Computed in float64 by a Cholesky factor of :math:`C` (or, when :math:`\Phi` has fewer columns
    than rows, of the :math:`p \times p` posterior precision, by the matrix determinant lemma).
    """
    check_tensor(Phi, "Phi", "log_evidence", allow_complex=False, finite=True)
    check_tensor(y, "y", "log_evidence", allow_complex=False, finite=True)
    if Phi.ndim != 2 or y.shape != (Phi.shape[0],):
        raise ValueError(f"Phi has shape {tuple(Phi.shape)} and y {tuple(y.shape)}; log_evidence expects a design "
                         "matrix (N, p) and data (N,)")
    alpha = check_number(alpha, "alpha", "log_evidence", strict=True)
    beta = check_number(beta, "beta", "log_evidence", strict=True)
    Phi, y = Phi.double(), y.double()
    N, p = Phi.shape
    if p < N:                                           # work in the p-dimensional weight space
        A = alpha * torch.eye(p, dtype=torch.float64) + beta * Phi.T @ Phi        # posterior precision
        L = torch.linalg.cholesky(A)
        m = beta * torch.cholesky_solve((Phi.T @ y)[:, None], L)[:, 0]              # posterior mean
        fit = beta * ((y - Phi @ m) ** 2).sum() + alpha * (m ** 2).sum()
        logdet = 2 * torch.log(torch.diagonal(L)).sum() - p * math.log(alpha) - N * math.log(beta)
    else:
        C = Phi @ Phi.T / alpha + torch.eye(N, dtype=torch.float64) / beta
        L = torch.linalg.cholesky(C)
        z = torch.linalg.solve_triangular(L, y[:, None], upper=False)[:, 0]
        fit, logdet = (z ** 2).sum(), 2 * torch.log(torch.diagonal(L)).sum()
    return float(-0.5 * (fit + logdet + N * math.log(2 * math.pi)))


def _check_samples(X, owner):
    check_tensor(X, "X", owner, allow_complex=False, finite=True)
    if X.ndim != 2:
        raise ValueError(f"X has shape {tuple(X.shape)}; {owner} expects samples as rows (N, n)")


def dense_design(X: torch.Tensor) -> torch.Tensor:
    r"""The design matrix of a dense layer :math:`y_i = Wx_i` in its :math:`n^2` weights: ``(N n, n n)``,
    so that ``dense_design(X) @ W.reshape(-1) == (X @ W.T).reshape(-1)``."""
    _check_samples(X, "dense_design")
    n = X.shape[1]
    return torch.einsum("il,jk->ijkl", X, torch.eye(n, dtype=X.dtype)).reshape(-1, n * n)   # row (i, j), column (k, l)


def convolution_design(X: torch.Tensor, kernel_size: int) -> torch.Tensor:
    r"""The design matrix of a circular convolution :math:`y_i = k * x_i` in its ``kernel_size`` taps (centred):
    ``(N n, kernel_size)``, so that ``convolution_design(X, K) @ k == circular_convolution(X, k).reshape(-1)``."""
    _check_samples(X, "convolution_design")
    K = check_int(kernel_size, "kernel_size", "convolution_design")
    if K % 2 == 0 or K > X.shape[1]:
        raise ValueError(f"kernel_size is {K}; convolution_design expects an odd size <= n = {X.shape[1]}")
    # tap j: x[t - j + c]
    return torch.stack([torch.roll(X, j - K // 2, dims=1) for j in range(K)], dim=-1).reshape(-1, K)


def circular_convolution(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    r"""Circular convolution :math:`(k * x)_t = \sum_j k_j\,x_{t - j + c}` (centred, odd kernel) along the last axis."""
    check_tensor(x, "x", "circular_convolution", allow_complex=False, finite=True)
    check_tensor(kernel, "kernel", "circular_convolution", allow_complex=False, finite=True)
    if x.ndim < 1:
        raise ValueError("x is a scalar; circular_convolution expects signals (..., n)")
    if kernel.ndim != 1 or kernel.numel() % 2 == 0:
        raise ValueError(f"kernel has shape {tuple(kernel.shape)}; circular_convolution expects an odd-length "
                         "1-D kernel")
    K = kernel.numel()
    return sum(kernel[j] * torch.roll(x, j - K // 2, dims=-1) for j in range(K))      # roll by s: x[t - s]


def convolution_matrix(kernel: torch.Tensor, n: int) -> torch.Tensor:
    """The ``(n, n)`` circulant (Toeplitz with wrap-around) matrix of :func:`circular_convolution` with ``kernel``:
    n weights would fill a row of a dense layer; the convolution shares ``len(kernel)`` of them along the diagonals."""
    n = check_int(n, "n", "convolution_matrix")
    check_tensor(kernel, "kernel", "convolution_matrix", allow_complex=False, finite=True)
    if kernel.ndim != 1 or kernel.numel() % 2 == 0 or kernel.numel() > n:
        raise ValueError(f"kernel has shape {tuple(kernel.shape)}; convolution_matrix expects an odd-length 1-D kernel "
                         f"of at most n = {n} taps")
    return circular_convolution(torch.eye(n, dtype=kernel.dtype), kernel).T


def linear_data(model: str = "convolution", n: int = 16, n_samples: int = 20, kernel_size: int = 3,
                noise: float = 0.1, seed=0, dtype=torch.float64, device=None) -> tuple:
    r"""Data ``(X, Y)`` from a random linear map: a circular convolution with ``kernel_size`` taps
    (``model="convolution"``) or a dense ``(n, n)`` matrix (``"dense"``), weights :math:`\mathcal N(0, 1)`,
    inputs :math:`\mathcal N(0, I)`, plus Gaussian noise of std ``noise``. Draws from the priors of
    :func:`model_evidence` (:math:`\alpha = 1`, :math:`\beta = 1/\text{noise}^2`). ``seed``: an int or a
    ``torch.Generator``; drawn on the CPU, then moved to ``device``."""
    if model not in ("convolution", "dense"):
        raise ValueError(f"model is {model!r}; linear_data expects 'convolution' or 'dense'")
    n = check_int(n, "n", "linear_data")
    n_samples = check_int(n_samples, "n_samples", "linear_data")
    kernel_size = check_int(kernel_size, "kernel_size", "linear_data")
    if model == "convolution" and kernel_size % 2 == 0:
        raise ValueError(f"kernel_size is {kernel_size}; linear_data expects an odd size (a centred kernel)")
    noise = check_number(noise, "noise", "linear_data")
    _check_dtype(dtype, "linear_data")
    g = as_generator(seed)
    X = torch.randn(n_samples, n, generator=g, dtype=torch.float64)
    if model == "convolution":
        Y = circular_convolution(X, torch.randn(kernel_size, generator=g, dtype=torch.float64))
    else:
        Y = X @ torch.randn(n, n, generator=g, dtype=torch.float64).T
    Y = Y + noise * torch.randn(Y.shape, generator=g, dtype=torch.float64)
    return X.to(dtype=dtype, device=device), Y.to(dtype=dtype, device=device)


def model_evidence(X: torch.Tensor, Y: torch.Tensor, kernel_sizes=(1, 3, 5, 7), noise: float = 0.1,
                   alpha: float = 1.0) -> dict:
    r"""``{name: (parameters, log evidence)}`` for circular convolutions of each size and for a dense layer.

    Each is a Bayesian linear model with weights :math:`\mathcal N(0, \alpha^{-1})` and the known noise
    level (:math:`\beta = 1/\text{noise}^2`). The evidence rewards fit and punishes the volume of
    parameter space the model spreads its prior over: Occam's razor, in nats.
    """
    _check_samples(X, "model_evidence")
    check_tensor(Y, "Y", "model_evidence", allow_complex=False, finite=True)
    if Y.shape != X.shape:
        raise ValueError(f"Y has shape {tuple(Y.shape)}; model_evidence expects the shape of X, {tuple(X.shape)}")
    beta = 1 / check_number(noise, "noise", "model_evidence", strict=True) ** 2
    check_number(alpha, "alpha", "model_evidence", strict=True)
    y = Y.reshape(-1)
    out = {f"convolution, {K} taps": (K, log_evidence(convolution_design(X, K), y, alpha, beta)) for K in kernel_sizes}
    n = X.shape[1]
    out["dense"] = (n * n, log_evidence(dense_design(X), y, alpha, beta))
    return out


# --------------------------------------------------------------------------- equivariance, p4 group convolution


def shift_equivariance_error(f, x: torch.Tensor, shift: int = 1) -> float:
    r""":math:`\|f(T x) - T f(x)\| / \|f(x)\|` for the circular shift :math:`T` by ``shift`` along the last axis
    (0 for a translation-equivariant map)."""
    _check_callable(f, "f", "shift_equivariance_error")
    check_tensor(x, "x", "shift_equivariance_error", finite=True)
    if x.ndim < 1:
        raise ValueError("x is a scalar; shift_equivariance_error expects signals (..., n)")
    _check_integer(shift, "shift", "shift_equivariance_error")
    fx = f(x)
    return float((f(torch.roll(x, shift, dims=-1)) - torch.roll(fx, shift, dims=-1)).norm() / fx.norm())


def p4_rotate(features: torch.Tensor, r: int = 1) -> torch.Tensor:
    """How a rotation by ``r`` quarter turns acts on p4 feature maps ``(B, C, 4, H, W)``: every map is rotated
    and the orientation axis is shifted cyclically by ``r``."""
    check_tensor(features, "features", "p4_rotate", allow_complex=False, finite=True)
    if features.ndim != 5 or features.shape[2] != 4:
        raise ValueError(f"features has shape {tuple(features.shape)}; p4_rotate expects p4 feature maps "
                         "(B, C, 4, H, W)")
    _check_integer(r, "r", "p4_rotate")
    return torch.roll(torch.rot90(features, r, dims=(-2, -1)), r, dims=2)


def _check_kernel(kernel_size, owner):
    k = check_int(kernel_size, "kernel_size", owner)
    if k % 2 == 0:
        raise ValueError(f"kernel_size is {k}; {owner} expects an odd size (a centred kernel keeps rotations exact)")
    return k


class P4LiftingConv(nn.Module):
    r"""From images ``(B, C_in, H, W)`` to p4 feature maps ``(B, C_out, 4, H, W)``: the same filter, rotated by
    0, 1, 2, 3 quarter turns (Cohen & Welling, *Group equivariant convolutional networks*, ICML 2016).
    Rotating the input rotates every map and shifts the orientation axis (:func:`p4_rotate`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        k = _check_kernel(kernel_size, "P4LiftingConv")
        in_channels = check_int(in_channels, "in_channels", "P4LiftingConv")
        out_channels = check_int(out_channels, "out_channels", "P4LiftingConv")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, k, k) * math.sqrt(2 / (in_channels * k * k)))

    def forward(self, x):
        check_tensor(x, "x", "P4LiftingConv", allow_complex=False)
        if x.ndim != 4 or x.shape[1] != self.weight.shape[1] or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"x has shape {tuple(x.shape)}; P4LiftingConv expects square images "
                             f"(B, {self.weight.shape[1]}, H, H)")
        pad = self.weight.shape[-1] // 2
        return torch.stack([F.conv2d(x, torch.rot90(self.weight, r, dims=(-2, -1)), padding=pad) for r in range(4)], 2)


class P4GroupConv(nn.Module):
    r"""From p4 feature maps to p4 feature maps: for output orientation :math:`r`, the filter is rotated by
    :math:`r` quarter turns and its orientation axis shifted by :math:`r`, so that the layer commutes with
    :func:`p4_rotate`. Four times the weights of a 2-D convolution, shared over four orientations."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        k = _check_kernel(kernel_size, "P4GroupConv")
        in_channels = check_int(in_channels, "in_channels", "P4GroupConv")
        out_channels = check_int(out_channels, "out_channels", "P4GroupConv")
        fan_in = in_channels * 4 * k * k
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 4, k, k) * math.sqrt(2 / fan_in))

    def forward(self, x):
        check_tensor(x, "x", "P4GroupConv", allow_complex=False)
        c_out, c_in, _, k, _ = self.weight.shape
        if x.ndim != 5 or x.shape[1:3] != (c_in, 4):
            raise ValueError(f"x has shape {tuple(x.shape)}; P4GroupConv expects p4 feature maps (B, {c_in}, 4, H, W)")
        flat = x.reshape(x.shape[0], c_in * 4, *x.shape[-2:])
        outputs = []
        for r in range(4):
            w = torch.roll(torch.rot90(self.weight, r, dims=(-2, -1)), r, dims=2).reshape(c_out, c_in * 4, k, k)
            outputs.append(F.conv2d(flat, w, padding=k // 2))
        return torch.stack(outputs, 2)


class P4CNN(nn.Module):
    """A small p4-equivariant classifier: a lifting layer, ``depth - 1`` group convolutions (ReLU between),
    then a max over orientations and positions (rotation-invariant features) and a linear layer."""

    def __init__(self, n_classes: int, channels: int = 8, depth: int = 3, in_channels: int = 1):
        super().__init__()
        for value, name in ((n_classes, "n_classes"), (channels, "channels"), (depth, "depth"),
                            (in_channels, "in_channels")):
            check_int(value, name, "P4CNN")
        self.layers = nn.ModuleList([P4LiftingConv(in_channels, channels)]
                                    + [P4GroupConv(channels, channels) for _ in range(depth - 1)])
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.head(x.amax(dim=(2, 3, 4)))


class PlainCNN(nn.Module):
    """The ordinary CNN :class:`P4CNN` is compared with: the same depth and pooling, convolutions in place of the
    group convolutions, twice the channels (about as many weights as the P4CNN's)."""

    def __init__(self, n_classes: int, channels: int = 16, depth: int = 3, in_channels: int = 1):
        super().__init__()
        for value, name in ((n_classes, "n_classes"), (channels, "channels"), (depth, "depth"),
                            (in_channels, "in_channels")):
            check_int(value, name, "PlainCNN")
        self.layers = nn.ModuleList([nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1)
                                     for i in range(depth)])
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x):
        _check_images(x, self.layers[0].in_channels, "PlainCNN")
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.head(x.amax(dim=(2, 3)))


def rotated_patterns(n_samples: int, size: int = 12, n_classes: int = 4, noise: float = 0.2, seed=0,
                     rotate: bool = True, dtype=torch.float32, device=None) -> tuple:
    """A small task where rotation is a nuisance: ``n_classes`` random binary 5x5 glyphs, each sample one glyph at a
    random position, rotated by a random quarter turn (``rotate``), plus Gaussian noise. Returns ``(x, labels)``,
    ``x`` of shape ``(n_samples, 1, size, size)``. The glyphs depend on nothing but ``n_classes`` (seed 1234).
    ``seed``: an int or a ``torch.Generator``; drawn on the CPU, then moved to ``device``."""
    n_samples = check_int(n_samples, "n_samples", "rotated_patterns")
    n_classes = check_int(n_classes, "n_classes", "rotated_patterns")
    noise = check_number(noise, "noise", "rotated_patterns")
    _check_dtype(dtype, "rotated_patterns")
    size = check_int(size, "size", "rotated_patterns")
    if size < 5:
        raise ValueError(f"size is {size}; rotated_patterns draws 5x5 glyphs, so it expects size >= 5")
    glyphs = (torch.rand(n_classes, 5, 5, generator=as_generator(1234)) < 0.5).to(torch.float64)
    g = as_generator(seed)
    labels = torch.randint(n_classes, (n_samples,), generator=g)
    turns = torch.randint(4, (n_samples,), generator=g) if rotate else torch.zeros(n_samples, dtype=torch.long)
    corners = torch.randint(size - 4, (n_samples, 2), generator=g)
    x = noise * torch.randn(n_samples, 1, size, size, generator=g, dtype=torch.float64)
    for i in range(n_samples):
        r, c = corners[i].tolist()
        x[i, 0, r:r + 5, c:c + 5] += torch.rot90(glyphs[labels[i]], int(turns[i]))
    return x.to(dtype=dtype, device=device), labels.to(device)


# --------------------------------------------------------------------------- residual vs plain


class Block(nn.Module):
    r"""Two 3x3 convolutions with batch normalisation: :math:`\mathrm{ReLU}(x + F(x))` with a skip connection
    (the skip is added *before* the last activation, as in He et al. 2016), :math:`\mathrm{ReLU}(F(x))` without."""

    def __init__(self, width: int, skip: bool = True, batchnorm: bool = True):
        super().__init__()
        width = check_int(width, "width", "Block")
        self.conv1, self.conv2 = nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)
        norm = (lambda: nn.BatchNorm2d(width)) if batchnorm else nn.Identity
        self.bn1, self.bn2 = norm(), norm()
        self.skip = skip

    def forward(self, x):
        _check_images(x, self.conv1.in_channels, "Block")
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(x + out if self.skip else out)


class DeepNet(nn.Module):
    """A deep CNN classifier of small images: a 3x3 stem, ``n_blocks`` :class:`Block` (2 layers each), global average
    pooling and a linear layer: ``2 * n_blocks + 2`` layers with weights. He (Kaiming) initialisation."""

    def __init__(self, n_blocks: int = 9, width: int = 16, n_classes: int = 10, skip: bool = True,
                 batchnorm: bool = True, in_channels: int = 1):
        super().__init__()
        n_blocks = check_int(n_blocks, "n_blocks", "DeepNet", minimum=0)
        width, n_classes, in_channels = (check_int(v, name, "DeepNet") for v, name in
                                         ((width, "width"), (n_classes, "n_classes"), (in_channels, "in_channels")))
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.stem_bn = nn.BatchNorm2d(width) if batchnorm else nn.Identity()
        self.blocks = nn.Sequential(*[Block(width, skip, batchnorm) for _ in range(n_blocks)])
        self.head = nn.Linear(width, n_classes)
        self.skip, self.depth = skip, 2 * n_blocks + 2
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        _check_images(x, self.stem.in_channels, f"DeepNet(in_channels={self.stem.in_channels})")
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.head(x.mean(dim=(-2, -1)))

    def extra_repr(self) -> str:
        return f"{self.depth} layers, {'residual' if self.skip else 'plain'}"


def train_classifier(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, n_iter: int = 300, lr: float = 0.05,
                     batch: int = 64, seed=0, progress: bool = False, optimizer=None, rotate: bool = False):
    """Train on the cross-entropy with minibatches drawn with ``seed`` (an int or a ``torch.Generator``):
    :func:`~course_lib.training.train` at a constant step size. ``optimizer``: SGD with momentum 0.9 at ``lr``
    by default, or a ``torch.optim`` class (``torch.optim.Adam``, built with ``lr``) or a factory
    ``params -> torch.optim.Optimizer``; ``rotate`` turns each minibatch by a random quarter turn (augmentation).

    Returns ``(model, history)``: ``model`` trained, in eval mode, and the
    :class:`~course_lib.history.History` of the minibatch ``loss``."""
    _check_module(model, "model", "train_classifier")
    _check_data(x, labels, "train_classifier")
    n_iter = check_int(n_iter, "n_iter", "train_classifier")
    lr = check_number(lr, "lr", "train_classifier", strict=True)
    batch = check_int(batch, "batch", "train_classifier")
    if isinstance(optimizer, str):
        raise TypeError(f"optimizer is {optimizer!r}; train_classifier expects None (SGD with momentum 0.9), a "
                        "torch.optim class (torch.optim.Adam) or a factory params -> torch.optim.Optimizer")

    def sgd_with_momentum(params):
        return torch.optim.SGD(params, lr=lr, momentum=0.9)

    def minibatch(generator: torch.Generator):
        idx = torch.randint(len(x), (min(batch, len(x)),), generator=generator)
        xb = x[idx]
        if rotate:
            xb = torch.rot90(xb, int(torch.randint(4, (1,), generator=generator)), dims=(-2, -1))
        return xb, labels[idx]

    optimizer = sgd_with_momentum if optimizer is None else optimizer
    return train(model, minibatch, n_iter=n_iter, lr=lr, optimizer=optimizer, loss_fn=F.cross_entropy, seed=seed,
                 cosine=False, progress=progress)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of ``x`` that ``model`` (in eval mode) classifies right."""
    _check_module(model, "model", "accuracy")
    _check_data(x, labels, "accuracy")
    model.eval()
    return float((model(x).argmax(1) == labels).float().mean())


def filter_normalised_direction(model: nn.Module, seed=0) -> list:
    r"""A random direction in weight space, one tensor per parameter, each *filter* rescaled to the norm of the
    model's filter (Li et al. 2018): :math:`d_{i} \leftarrow d_i\,\|\theta_i\| / \|d_i\|` per output unit of a
    convolution or linear layer. Biases and normalisation parameters get 0 (Li et al. leave them out), so
    that scale-invariant networks can be compared along directions of comparable size. ``seed``: an int or a
    ``torch.Generator``."""
    _check_module(model, "model", "filter_normalised_direction")
    g = as_generator(seed)
    direction = []
    for p in model.parameters():
        if p.ndim <= 1:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device)
        d_norm = d.reshape(len(d), -1).norm(dim=1)
        p_norm = p.detach().reshape(len(p), -1).norm(dim=1)
        direction.append(d * (p_norm / d_norm.clamp_min(1e-12)).reshape(-1, *[1] * (p.ndim - 1)))
    return direction


@torch.no_grad()
def landscape(model: nn.Module, loss_fn, directions: list, alphas, betas=None) -> torch.Tensor:
    r"""The loss :math:`L(\theta + \alpha d_1)` for each ``alpha`` (1-D), or :math:`L(\theta + \alpha d_1 + \beta d_2)`
    on the grid ``alphas x betas`` (2-D); ``directions`` is ``[d1]`` or ``[d1, d2]`` (from
    :func:`filter_normalised_direction`), ``loss_fn(model)`` a float. The model is evaluated in eval mode (batch
    normalisation with its running statistics) and its weights are restored afterwards."""
    _check_module(model, "model", "landscape")
    _check_callable(loss_fn, "loss_fn", "landscape")
    params = list(model.parameters())
    if isinstance(directions, torch.Tensor) or not isinstance(directions, (list, tuple)) or not directions:
        raise TypeError(f"directions is a {type(directions).__name__}; landscape expects a list [d1] or [d1, d2] of "
                        "directions (filter_normalised_direction)")
    if betas is not None and len(directions) < 2:
        raise ValueError(f"directions holds {len(directions)} direction; landscape with betas (a plane) expects "
                         "[d1, d2]")
    for i, direction in enumerate(directions[:2 if betas is not None else 1]):
        if not isinstance(direction, (list, tuple)) or len(direction) != len(params) or any(
                not isinstance(d, torch.Tensor) or d.shape != p.shape for d, p in zip(direction, params)):
            raise ValueError(f"directions[{i}] does not match the model: landscape expects one tensor per parameter, "
                             f"of its shape ({len(params)} parameters), as filter_normalised_direction(model) gives")
    _check_values(alphas, "alphas", "landscape")
    if betas is not None:
        _check_values(betas, "betas", "landscape")
    model.eval()
    saved = [p.detach().clone() for p in params]
    d1 = directions[0]
    d2 = directions[1] if betas is not None else None
    grid = [(a, b) for a in alphas for b in (betas if betas is not None else [0.0])]
    values = []
    try:
        for a, b in grid:
            for p, p0, u, v in zip(params, saved, d1, d2 if d2 is not None else d1):
                p.copy_(p0 + a * u + (b * v if d2 is not None else 0))
            values.append(float(loss_fn(model)))
    finally:
        for p, p0 in zip(params, saved):
            p.copy_(p0)
    out = torch.tensor(values, dtype=torch.float64)
    return out if betas is None else out.reshape(len(alphas), len(betas))


def hessian_extreme_eigenvalues(model: nn.Module, loss_fn, n_iter: int = 100, tol: float = 1e-3, seed=0) -> tuple:
    r"""The largest and the smallest eigenvalue of the Hessian of ``loss_fn(model)`` in the weights, as Li et al.
    2018 compare them (their ratio measures non-convexity). Returns ``(lambda_max, lambda_min)``.

    Lanczos (``scipy.sparse.linalg.eigsh``) on Hessian-vector products (reverse over reverse: the gradient of
    :math:`\langle \nabla L(\theta), v\rangle`, its graph built once): first the largest eigenvalue
    :math:`\lambda_1`, then the smallest of :math:`H - \lambda_1 I` (its eigenvalues are all at most 0, so it is
    also the largest in magnitude), which is :math:`\lambda_{\min} - \lambda_1`. Both to ARPACK's relative
    accuracy ``tol``: the residual :math:`\|Hv - \lambda v\|` is at most ``tol`` times :math:`|\lambda_1|`
    (for the smallest, times :math:`|\lambda_{\min} - \lambda_1|`, so that a smallest eigenvalue near 0 is
    found to the scale of the spectrum). ``n_iter`` bounds Lanczos's restarts (each up to 20 products); when they
    do not reach ``tol`` a :class:`RuntimeError` says so. ``loss_fn(f)`` returns the loss (a tensor) of the
    network ``f`` (a callable ``x -> output``); the model is evaluated in eval mode; ``seed`` draws the start vector."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    _check_module(model, "model", "hessian_extreme_eigenvalues")
    _check_callable(loss_fn, "loss_fn", "hessian_extreme_eigenvalues")
    n_iter = check_int(n_iter, "n_iter", "hessian_extreme_eigenvalues")
    tol = check_number(tol, "tol", "hessian_extreme_eigenvalues", strict=True)
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    gradient = torch.autograd.grad(loss_fn(model), params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in gradient])
    n = flat.numel()
    if n < 2:
        raise ValueError(f"hessian_extreme_eigenvalues needs a model with at least 2 weights, got {n}")

    def hvp(v, shift=0.0):
        v = np.asarray(v).reshape(-1)
        vt = torch.as_tensor(v, dtype=flat.dtype, device=flat.device)
        products = torch.autograd.grad(flat @ vt, params, retain_graph=True, allow_unused=True)
        Hv = torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(products, params)])
        return Hv.detach().double().cpu().numpy() - shift * v

    start = torch.randn(n, generator=as_generator(seed), dtype=torch.float64).numpy()

    def extreme(shift: float, which: str) -> float:
        H = LinearOperator((n, n), matvec=lambda v: hvp(v, shift), dtype=np.float64)
        try:
            return float(eigsh(H, k=1, which=which, v0=start, tol=tol, maxiter=n_iter, ncv=min(n, 20),
                               return_eigenvectors=False)[0]) + shift
        except ArpackNoConvergence:
            raise RuntimeError(f"hessian_extreme_eigenvalues: Lanczos did not reach tol={tol:g} in n_iter={n_iter} "
                               "restarts; give it more restarts or a larger tol") from None

    top = extreme(0.0, "LA")
    return top, min(top, extreme(top, "SA"))


# --------------------------------------------------------------------------- recurrence


class RNNCell(nn.Module):
    r"""An Elman cell :math:`h_t = \tanh(W h_{t-1} + U x_t + b)`: the same :math:`W, U, b` at every time step
    (tied weights). ``spectral_radius`` scales the random :math:`W` (below 1 gradients vanish, above 1 they
    can explode)."""

    def __init__(self, n_in: int, n_hidden: int, spectral_radius: float = 0.9, seed=0):
        super().__init__()
        n_in = check_int(n_in, "n_in", "RNNCell")
        n_hidden = check_int(n_hidden, "n_hidden", "RNNCell")
        spectral_radius = check_number(spectral_radius, "spectral_radius", "RNNCell")
        g = as_generator(seed)
        W = torch.randn(n_hidden, n_hidden, generator=g) / math.sqrt(n_hidden)
        W = W * spectral_radius / torch.linalg.eigvals(W).abs().max()
        self.W = nn.Parameter(W)
        self.U = nn.Parameter(torch.randn(n_hidden, n_in, generator=g) / math.sqrt(n_in))
        self.b = nn.Parameter(torch.zeros(n_hidden))

    def forward(self, h, x):
        return torch.tanh(h @ self.W.T + x @ self.U.T + self.b)


class IstaCell(nn.Module):
    r"""ISTA as a recurrent cell with fixed weights: :math:`h_t = S_\theta(S h_{t-1} + W_e y)`,
    :math:`S = I - A^\top A/L`,
    :math:`W_e = A^\top/L`, :math:`\theta = \lambda/L` (:func:`~course_lib.unfolding.lista_layer`). The input at every
    step is the measurement :math:`y`; unrolled for K steps it *is* K iterations of ISTA, and giving each step
    its own weights (untying them) is LISTA (:class:`~course_lib.unfolding.LISTA`)."""

    def __init__(self, A: torch.Tensor, lam: float):
        super().__init__()
        check_tensor(A, "A", "IstaCell", allow_complex=False, finite=True)
        if A.ndim != 2:
            raise ValueError(f"A has shape {tuple(A.shape)}; IstaCell expects a dictionary matrix (m, n)")
        from .operators import MatrixOperator

        # L = ||A||^2 measured as solvers.ista measures it, so that the unrolled cell is ISTA to float precision
        L = MatrixOperator(A).norm(dtype=torch.float64 if A.dtype == torch.float64 else torch.float32) ** 2
        self.register_buffer("W_e", A.T / L)
        self.register_buffer("S", torch.eye(A.shape[1], dtype=A.dtype) - A.T @ A / L)
        self.theta = check_number(lam, "lam", "IstaCell") / L

    def forward(self, h, y):
        return lista_layer(h, y, self.W_e, self.S, self.theta)


def _check_sequence(cell, inputs, h0, owner: str) -> None:
    _check_callable(cell, "cell", owner)
    check_tensor(inputs, "inputs", owner, allow_complex=False, finite=True)
    if inputs.ndim != 3:
        raise ValueError(f"inputs has shape {tuple(inputs.shape)}; {owner} expects a sequence (T, B, n_in)")
    check_tensor(h0, "h0", owner, allow_complex=False, finite=True)
    if h0.ndim not in (1, 2) or (h0.ndim == 2 and h0.shape[0] not in (1, inputs.shape[1])):
        raise ValueError(f"h0 has shape {tuple(h0.shape)}; {owner} expects one state per sequence of the batch, "
                         f"({inputs.shape[1]}, n_hidden) (or one for all)")


def unroll(cell: nn.Module, inputs: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """Run ``cell(h, x)`` over time: ``inputs`` ``(T, B, n_in)``, ``h0`` ``(B, n_hidden)``; returns the states
    ``(T, B, n_hidden)``. The same cell (the same weights) at every step; autograd through the loop is
    backpropagation through time."""
    _check_sequence(cell, inputs, h0, "unroll")
    states, h = [], h0
    for x in inputs:
        h = cell(h, x)
        states.append(h)
    return torch.stack(states)


def gradient_through_time(cell: nn.Module, inputs: torch.Tensor, h0: torch.Tensor) -> list:
    r""":math:`\|\partial h_T / \partial h_t\|` (Frobenius, summed over the batch) for :math:`t = 0, \dots, T-1`: how
    much the last state still feels the state :math:`T - t` steps back. Products of Jacobians
    :math:`\mathrm{diag}(\tanh')W` shrink or grow geometrically (Bengio, Simard & Frasconi 1994)."""
    _check_sequence(cell, inputs, h0, "gradient_through_time")
    states = [h0.detach().requires_grad_(True)]
    for x in inputs:
        states.append(cell(states[-1], x))
    last, squares = states[-1], [0.0] * (len(states) - 1)
    for j in range(last.shape[-1]):                    # one backward pass per unit of h_T gives all t at once
        grads = torch.autograd.grad(last[..., j].sum(), states[:-1], retain_graph=True, allow_unused=True)
        for t, g in enumerate(grads):
            squares[t] += float((g ** 2).sum()) if g is not None else 0.0
    return [math.sqrt(v) for v in squares]
