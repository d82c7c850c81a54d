r"""The geometry of deep learning (lecture 05): convolution framelets, and ReLU networks as local linear maps.

**Convolution framelets** (Yin, Gao, Lu, Daubechies, SIAM J. Imaging Sci. 2017; Ye, Han, Cha, SIAM J. Imaging
Sci. 2018). The (circular) Hankel matrix of a signal :math:`x \in \mathbb{R}^n` with a window of :math:`d`,

.. math::
    H_d(x) = \begin{pmatrix} x_0 & x_1 & \cdots & x_{d-1} \\ x_1 & x_2 & \cdots & x_d \\
    \vdots & & & \vdots \\ x_{n-1} & x_0 & \cdots & x_{d-2} \end{pmatrix} \in \mathbb{R}^{n\times d},

holds every window of the signal as a row, so :math:`H_d(x)\psi` is the (circular) correlation of
:math:`x` with the filter :math:`\psi`. With a *non-local* basis :math:`\Phi \in \mathbb{R}^{n\times m}` and a
*local* basis :math:`\Psi \in \mathbb{R}^{d\times q}` the framelet coefficients are
:math:`C = \Phi^\top H_d(x)\Psi`, and any dual pair with :math:`\tilde\Phi\Phi^\top = I_n`,
:math:`\Psi\tilde\Psi^\top = I_d` gives the signal back, :math:`x = H_d^\dagger(\tilde\Phi C \tilde\Psi^\top)`
(:func:`framelet_reconstruct`). :math:`\Phi = I` is a convolution layer with the filters :math:`\Psi`;
the SVD :math:`H_d(x) = U\Sigma V^\top` gives the data-driven pair :math:`\Phi = U, \Psi = V`
(:func:`hankel_svd`). A signal made of a few oscillations has a Hankel matrix of
low rank; noise has a flat spectrum: truncating the SVD denoises (:func:`low_rank_denoise`).

**Encoder-decoder CNNs are frame expansions** :math:`y = \sum_i \langle x, b_i\rangle \tilde b_i = \tilde B B^\top x`
(Ye et al. 2018): with Haar pooling the encoder keeps the approximation; the high-pass branch, or a skip
connection, keeps what pooling loses, and the decoder gives the signal back exactly (:func:`haar_frame`,
:func:`frame_bounds`, :func:`encoder_decoder`, :func:`haar_encoder_decoder`). ReLU throws negative values away,
but the redundant pair :math:`[\mathrm{ReLU}(x), \mathrm{ReLU}(-x)]` keeps everything (:func:`crelu`).

**ReLU networks are piecewise linear** (Ye & Sung, ICML 2019). A ReLU multiplies by a diagonal
:math:`\{0, 1\}` matrix that depends on the input, so on the region where the activation pattern stays
the same a network of linear layers and ReLUs is one affine map :math:`x \mapsto W(x)x + b(x)`
(:func:`local_linear_map`). The input space is partitioned into such regions
(:func:`activation_pattern`, :func:`regions_on_grid`, :func:`regions_along_line`); the largest
:math:`\|W(x)\|_2` over the regions bounds the network's Lipschitz constant (:func:`local_lipschitz`). For any
network, a convolutional one included, :func:`jacobian` gives :math:`W(x)` as a matrix; without biases
:math:`b(x) = 0` and :math:`f(x) = W(x)x`, Ye's expansion :math:`\tilde B(x)B(x)^\top x` exactly.
"""
from __future__ import annotations

import torch
from torch import nn

from .utils import as_generator, check_int, check_number, check_tensor

__all__ = ["hankel", "hankel_adjoint", "unhankel", "hankel_2d", "unhankel_2d", "hankel_svd", "framelet_coefficients",
           "framelet_reconstruct",
           "low_rank_denoise", "haar_frame", "frame_bounds", "encoder_decoder", "haar_encoder_decoder", "crelu",
           "crelu_inverse", "Residual", "relu_network", "relu_layers", "activation_pattern", "local_linear_map",
           "local_lipschitz",
           "regions_along_line", "regions_on_grid", "jacobian"]


# --------------------------------------------------------------------------- input checks


def _check_real(x, name: str, owner: str) -> torch.Tensor:
    """A real floating-point tensor of finite numbers (TypeError or ValueError otherwise)."""
    check_tensor(x, name, owner, allow_complex=False, finite=True)
    return x


def _check_same_dtype(x: torch.Tensor, name: str, reference: torch.Tensor, reference_name: str, owner: str) -> None:
    if x.dtype != reference.dtype:
        raise TypeError(f"{name} has dtype {x.dtype}; {owner} expects the dtype of {reference_name}, {reference.dtype}")


def _check_dtype(dtype, owner: str) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype is {dtype!r}; {owner} expects a real floating-point torch dtype (e.g. torch.float64)")


def _check_dim(dim, x: torch.Tensor, name: str, owner: str) -> None:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim is a {type(dim).__name__} ({dim!r}); {owner} expects an integer")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim is {dim}; {owner} expects a dimension of {name}, which has shape {tuple(x.shape)}")


# --------------------------------------------------------------------------- Hankel matrices and framelets


def _window(x, d, owner: str, name: str = "x") -> int:
    """``d`` checked against the signal ``x`` (..., n): an integer window 1 <= d <= n."""
    check_tensor(x, name, owner, allow_complex=False, finite=True)
    if x.ndim < 1:
        raise ValueError(f"{name} is a scalar; {owner} expects a signal (..., n)")
    d = check_int(d, "d", owner, minimum=1)
    if d > x.shape[-1]:
        raise ValueError(f"d is {d}; {owner} expects a window no longer than the signal (n = {x.shape[-1]})")
    return d


def _indices(n: int, d: int, device) -> torch.Tensor:
    return (torch.arange(n, device=device)[:, None] + torch.arange(d, device=device)[None, :]) % n


def hankel(x: torch.Tensor, d: int) -> torch.Tensor:
    """The circular Hankel matrix :math:`H_d(x)`, shape ``(..., n, d)``: row i is ``x[i], x[i+1], ..., x[i+d-1]``
    (indices modulo n), for a signal or a batch of signals ``(..., n)``."""
    d = _window(x, d, "hankel")
    return x[..., _indices(x.shape[-1], d, x.device)]


def hankel_adjoint(H: torch.Tensor) -> torch.Tensor:
    """The adjoint of :func:`hankel`: entry k of the result sums the entries of ``H`` (shape ``(..., n, d)``) with
    ``(i + j) mod n == k``."""
    check_tensor(H, "H", "hankel_adjoint", allow_complex=False, finite=True)
    if H.ndim < 2:
        raise ValueError(f"H has shape {tuple(H.shape)}; hankel_adjoint expects a matrix (..., n, d)")
    n, d = H.shape[-2:]
    if d > n:
        raise ValueError(f"H has shape {tuple(H.shape)}; hankel_adjoint expects (..., n, d) with d <= n")
    out = torch.zeros((*H.shape[:-2], n), dtype=H.dtype, device=H.device)
    index = _indices(n, d, H.device).reshape(-1).expand(*H.shape[:-2], n * d)
    return out.scatter_add_(-1, index, H.reshape(*H.shape[:-2], n * d))


def unhankel(H: torch.Tensor) -> torch.Tensor:
    """The signal whose Hankel matrix is closest to ``H``: :math:`H_d^\\dagger = H_d^*/d` (each entry of the signal
    appears d times in :math:`H_d(x)`), so ``unhankel(hankel(x, d)) == x``."""
    return hankel_adjoint(H) / H.shape[-1]


def _patch_indices(n1: int, n2: int, d1: int, d2: int, device) -> torch.Tensor:
    rows = (torch.arange(n1, device=device)[:, None, None, None]
            + torch.arange(d1, device=device)[None, None, :, None]) % n1
    cols = (torch.arange(n2, device=device)[None, :, None, None]
            + torch.arange(d2, device=device)[None, None, None, :]) % n2
    return (rows * n2 + cols).reshape(n1 * n2, d1 * d2)


def _patch(X, d1, d2, owner: str) -> tuple:
    check_tensor(X, "X", owner, allow_complex=False, finite=True)
    if X.ndim < 2:
        raise ValueError(f"X has shape {tuple(X.shape)}; {owner} expects an image (..., n1, n2)")
    n1, n2 = X.shape[-2:]
    d1, d2 = check_int(d1, "d1", owner), check_int(d2, "d2", owner)
    if d1 > n1 or d2 > n2:
        raise ValueError(f"the patch is {d1} x {d2}; {owner} expects one no larger than the image ({n1} x {n2})")
    return n1, n2, d1, d2


def hankel_2d(X: torch.Tensor, d1: int, d2: int) -> torch.Tensor:
    """The block (circular) Hankel matrix of an image ``(..., n1, n2)``, shape ``(..., n1 n2, d1 d2)``: row
    ``i n2 + j`` is the ``d1 x d2`` patch whose corner is pixel ``(i, j)``, flattened (indices modulo the size)."""
    n1, n2, d1, d2 = _patch(X, d1, d2, "hankel_2d")
    return X.reshape(*X.shape[:-2], n1 * n2)[..., _patch_indices(n1, n2, d1, d2, X.device)]


def unhankel_2d(H: torch.Tensor, shape) -> torch.Tensor:
    """The image back from a block Hankel matrix ``(..., n1 n2, d1 d2)``, ``shape = (n1, n2, d1, d2)`` being the
    image's size and the patch's: the average of the d1 d2 copies of each pixel, so that
    ``unhankel_2d(hankel_2d(X, d1, d2), (n1, n2, d1, d2)) == X`` (it is the adjoint divided by d1 d2)."""
    check_tensor(H, "H", "unhankel_2d", allow_complex=False, finite=True)
    if isinstance(shape, (str, bytes, torch.Tensor)) or not hasattr(shape, "__len__"):
        raise TypeError(f"shape is {shape!r}; unhankel_2d expects a tuple of four integers (n1, n2, d1, d2)")
    if len(shape) != 4:
        raise ValueError(f"shape is {tuple(shape)}; unhankel_2d expects (n1, n2, d1, d2)")
    n1, n2, d1, d2 = (check_int(v, "shape", "unhankel_2d") for v in shape)
    if tuple(H.shape[-2:]) != (n1 * n2, d1 * d2):
        raise ValueError(f"H has shape {tuple(H.shape)}; unhankel_2d expects (..., {n1 * n2}, {d1 * d2}) "
                         f"for {tuple(shape)}")
    out = torch.zeros((*H.shape[:-2], n1 * n2), dtype=H.dtype, device=H.device)
    index = _patch_indices(n1, n2, d1, d2, H.device).reshape(-1).expand(*H.shape[:-2], n1 * n2 * d1 * d2)
    out.scatter_add_(-1, index, H.reshape(*H.shape[:-2], -1))
    return (out / (d1 * d2)).reshape(*H.shape[:-2], n1, n2)


def hankel_svd(x: torch.Tensor, d: int) -> tuple:
    """``(Phi, sigma, Psi)``: the SVD :math:`H_d(x) = \\Phi\\,\\mathrm{diag}(\\sigma)\\,\\Psi^\\top` of one
    signal ``(n,)``;
    ``Phi`` (n, d) is the data-driven non-local basis, ``Psi`` (d, d) the local one, ``sigma`` descending."""
    check_tensor(x, "x", "hankel_svd", allow_complex=False)
    if x.ndim != 1:
        raise ValueError(f"x has shape {tuple(x.shape)}; hankel_svd expects one signal (n,)")
    d = _window(x, d, "hankel_svd")
    U, sigma, Vh = torch.linalg.svd(hankel(x, d), full_matrices=False)
    return U, sigma, Vh.transpose(-2, -1)


def framelet_coefficients(x: torch.Tensor, Phi: torch.Tensor, Psi: torch.Tensor) -> torch.Tensor:
    """:math:`C = \\Phi^\\top H_d(x) \\Psi` for a signal ``(n,)``, a non-local basis ``Phi`` (n, m) and a local basis
    ``Psi`` (d, q) whose d sets the window."""
    owner = "framelet_coefficients"
    _check_real(x, "x", owner)
    if x.ndim < 1:
        raise ValueError(f"x is a scalar; {owner} expects a signal (n,)")
    n = x.shape[-1]
    _check_real(Phi, "Phi", owner)
    _check_real(Psi, "Psi", owner)
    if Phi.ndim != 2 or Phi.shape[0] != n:
        raise ValueError(f"Phi has shape {tuple(Phi.shape)}; framelet_coefficients expects ({n}, m) for x of "
                         f"length {n}")
    if Psi.ndim != 2 or not 1 <= Psi.shape[0] <= n:
        raise ValueError(f"Psi has shape {tuple(Psi.shape)}; framelet_coefficients expects a matrix (d, q) with a "
                         f"window 1 <= d <= n = {n}")
    _check_same_dtype(Phi, "Phi", x, "x", owner)
    _check_same_dtype(Psi, "Psi", x, "x", owner)
    return Phi.transpose(-2, -1) @ hankel(x, Psi.shape[0]) @ Psi


def framelet_reconstruct(C: torch.Tensor, Phi_dual: torch.Tensor, Psi_dual: torch.Tensor) -> torch.Tensor:
    """:math:`H_d^\\dagger(\\tilde\\Phi C \\tilde\\Psi^\\top)`: the signal back from its framelet coefficients. It is
    the signal exactly when :math:`\\tilde\\Phi\\Phi^\\top = I_n` and :math:`\\Psi\\tilde\\Psi^\\top = I_d` (perfect
    reconstruction), e.g. orthonormal bases with ``Phi`` square and ``Psi`` square."""
    owner = "framelet_reconstruct"
    for name, t in (("C", C), ("Phi_dual", Phi_dual), ("Psi_dual", Psi_dual)):
        _check_real(t, name, owner)
    if C.ndim < 2:
        raise ValueError(f"C has shape {tuple(C.shape)}; {owner} expects framelet coefficients (m, q)")
    m, q = C.shape[-2:]
    if Phi_dual.ndim != 2 or Phi_dual.shape[1] != m:
        raise ValueError(f"Phi_dual has shape {tuple(Phi_dual.shape)}; {owner} expects (n, {m}) for C of shape "
                         f"{tuple(C.shape)}")
    if Psi_dual.ndim != 2 or Psi_dual.shape[1] != q or Psi_dual.shape[0] > Phi_dual.shape[0]:
        raise ValueError(f"Psi_dual has shape {tuple(Psi_dual.shape)}; {owner} expects (d, {q}) for C of shape "
                         f"{tuple(C.shape)}, with a window d <= n = {Phi_dual.shape[0]}")
    _check_same_dtype(Phi_dual, "Phi_dual", C, "C", owner)
    _check_same_dtype(Psi_dual, "Psi_dual", C, "C", owner)
    return unhankel(Phi_dual @ C @ Psi_dual.transpose(-2, -1))


def low_rank_denoise(y: torch.Tensor, d: int, rank: int) -> torch.Tensor:
    """Keep the ``rank`` largest singular values of :math:`H_d(y)` and average back (:func:`unhankel`): a signal of
    a few oscillations has a Hankel matrix of low rank; noise spreads over all of them."""
    check_tensor(y, "y", "low_rank_denoise", allow_complex=False)
    if y.ndim != 1:
        raise ValueError(f"y has shape {tuple(y.shape)}; low_rank_denoise expects one signal (n,)")
    d = _window(y, d, "low_rank_denoise", "y")
    rank = check_int(rank, "rank", "low_rank_denoise", minimum=1)
    U, sigma, Psi = hankel_svd(y, d)
    if rank > sigma.numel():
        raise ValueError(f"rank is {rank}; low_rank_denoise expects at most d = {sigma.numel()}")
    return unhankel(U[:, :rank] @ torch.diag(sigma[:rank]) @ Psi[:, :rank].T)


# --------------------------------------------------------------------------- encoder-decoders as frames


def haar_frame(n: int, levels: int = 1, highpass: bool = True, skip: bool = False, dtype=torch.float64):
    """The analysis matrix ``B`` (n, m) of a linear Haar encoder of signals of length ``n``: its columns are the
    vectors the encoder takes inner products with -- the orthonormal Haar approximation ("pooling") vectors of
    ``levels`` levels (lecture 04's lifting transform), the detail vectors with ``highpass``, and the n unit
    vectors of a skip connection with ``skip``. The encoder is ``B.T @ x``."""
    from .lifting import WaveletTransform, detail_mask

    n = check_int(n, "n", "haar_frame", minimum=2)
    _check_dtype(dtype, "haar_frame")
    levels = check_int(levels, "levels", "haar_frame", minimum=1)
    if n % 2 ** levels:
        raise ValueError(f"n is {n}; haar_frame expects a length divisible by 2**levels = {2 ** levels} "
                         "(where the Haar transform is orthonormal)")
    W = WaveletTransform((n,), "haar", levels=levels)
    analysis = W.to_matrix(dtype=dtype)                       # row k: the vector giving coefficient k
    keep = torch.ones(n, dtype=torch.bool) if highpass else ~detail_mask(W)
    columns = [torch.eye(n, dtype=dtype)] if skip else []
    return torch.cat(columns + [analysis[keep].T], dim=1)


def frame_bounds(B: torch.Tensor) -> tuple:
    r"""``(lower, upper)``: the extreme eigenvalues of the frame operator :math:`BB^\top`, so that
    :math:`\text{lower}\,\|x\|^2 \le \|B^\top x\|^2 \le \text{upper}\,\|x\|^2`. A frame (nothing is lost) has
    lower > 0; a tight frame has lower = upper."""
    check_tensor(B, "B", "frame_bounds", allow_complex=False, finite=True)
    if B.ndim != 2:
        raise ValueError(f"B has shape {tuple(B.shape)}; frame_bounds expects a matrix (n, m)")
    eigenvalues = torch.linalg.eigvalsh(B @ B.T)
    return eigenvalues[0].item(), eigenvalues[-1].item()


def encoder_decoder(B: torch.Tensor, B_dual: torch.Tensor | None = None) -> torch.Tensor:
    r"""The linear encoder-decoder's matrix :math:`\tilde B B^\top` (n, n): encode with ``B.T``, decode with
    ``B_dual`` (n, m). By default the canonical dual :math:`\tilde B = (BB^\top)^+ B`, the best decoder there is:
    the result is the identity exactly when ``B`` is a frame (perfect reconstruction), else a projection."""
    _check_real(B, "B", "encoder_decoder")
    if B.ndim != 2:
        raise ValueError(f"B has shape {tuple(B.shape)}; encoder_decoder expects a matrix (n, m)")
    if B_dual is None:
        B_dual = torch.linalg.pinv(B @ B.T, hermitian=True) @ B
    else:
        _check_real(B_dual, "B_dual", "encoder_decoder")
        _check_same_dtype(B_dual, "B_dual", B, "B", "encoder_decoder")
    if B_dual.shape != B.shape:
        raise ValueError(f"B_dual has shape {tuple(B_dual.shape)}; encoder_decoder expects B's shape {tuple(B.shape)}")
    return B_dual @ B.T


def haar_encoder_decoder(x: torch.Tensor, levels: int = 1, highpass: bool = True, skip: bool = False) -> torch.Tensor:
    """An image (or signal) through a linear Haar encoder-decoder, by lecture 04's lifting transform: pooling and
    unpooling of the approximation, the detail (high-pass) branch with ``highpass``, the input itself as a skip
    connection with ``skip``, decoded with the canonical dual frame. Without the high-pass branch and without
    the skip, exactly the details' energy is lost; with either, nothing is."""
    from .lifting import WaveletTransform, detail_mask

    _check_real(x, "x", "haar_encoder_decoder")
    if x.ndim < 1:
        raise ValueError("x is a scalar; haar_encoder_decoder expects a signal (n,) or an image (..., H, W)")
    levels = check_int(levels, "levels", "haar_encoder_decoder")
    W = WaveletTransform(tuple(x.shape[-2:]) if x.ndim >= 2 else tuple(x.shape), "haar", levels=levels)
    low = ~detail_mask(W).to(x.device)
    project = lambda v: W.A_adjoint(W(v) * low)                # pooling then unpooling: a projection P
    if highpass:
        return W.A_adjoint(W(x))
    if not skip:
        return project(x)
    v = x + project(x)                                         # B B^T x for B = [I, pooling]: (I + P) x
    return v - project(v) / 2                                  # (I + P)^(-1) = I - P/2, P a projection


def crelu(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Concatenated ReLU, :math:`[\mathrm{ReLU}(x), \mathrm{ReLU}(-x)]` along ``dim``: two redundant channels, and
    no information lost, since :math:`\mathrm{ReLU}(x) - \mathrm{ReLU}(-x) = x` (:func:`crelu_inverse`)."""
    _check_real(x, "x", "crelu")
    _check_dim(dim, x, "x", "crelu")
    return torch.cat([torch.relu(x), torch.relu(-x)], dim=dim)


def crelu_inverse(h: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The input of :func:`crelu` back from its two halves: ReLU(x) - ReLU(-x) = x."""
    _check_real(h, "h", "crelu_inverse")
    _check_dim(dim, h, "h", "crelu_inverse")
    if h.shape[dim] % 2:
        raise ValueError(f"h has {h.shape[dim]} entries along dim {dim}; crelu_inverse expects the even number "
                         "crelu gives")
    positive, negative = h.chunk(2, dim=dim)
    return positive - negative


# --------------------------------------------------------------------------- ReLU networks, region by region


class Residual(nn.Module):
    """A skip connection around a small ReLU network: :math:`h \\mapsto h + f(h)`, ``body`` an ``nn.Sequential`` of
    ``nn.Linear`` and ``nn.ReLU`` that keeps the width (He et al. 2016; Ye & Sung 2019 count its extra regions)."""

    def __init__(self, body: nn.Sequential):
        super().__init__()
        relu_layers(body)
        self.body = body

    def forward(self, h):
        return h + self.body(h)


def relu_network(inputs: int, width: int, depth: int, outputs: int = 1, skip: bool = False, seed=0,
                 dtype=torch.float64, bias_std: float = 0.1) -> nn.Sequential:
    """A fully connected ReLU network ``inputs -> width (x depth) -> outputs`` with He initialisation (Kaiming normal
    weights, normal biases of standard deviation ``bias_std``), seeded (an int or a ``torch.Generator``; torch's global
    random stream is left as it was): ``depth`` hidden layers ``ReLU(W h + b)``; with ``skip`` every hidden layer after
    the first is a :class:`Residual`, ``h + ReLU(W h + b)``. Biases on the inputs' scale (``bias_std=1.0`` for inputs
    in [-3, 3]) spread the ReLU boundaries over the input space; small ones put them all near the origin."""
    inputs, width, depth, outputs = (check_int(v, name, "relu_network") for v, name in
                                     ((inputs, "inputs"), (width, "width"), (depth, "depth"), (outputs, "outputs")))
    _check_dtype(dtype, "relu_network")
    bias_std = check_number(bias_std, "bias_std", "relu_network")
    g = as_generator(seed)

    def linear(a, b):
        layer = nn.Linear(a, b)
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=g)
        nn.init.normal_(layer.bias, std=bias_std, generator=g)
        return layer

    with torch.random.fork_rng(devices=[]):             # nn.Linear's own initialisation draws from the global stream
        layers = [linear(inputs, width), nn.ReLU()]
        for _ in range(depth - 1):
            hidden = [linear(width, width), nn.ReLU()]
            layers += [Residual(nn.Sequential(*hidden))] if skip else hidden
        return nn.Sequential(*layers, linear(width, outputs)).to(dtype)


def relu_layers(net: nn.Module) -> list:
    """The layers of a ReLU network given as ``nn.Sequential`` of ``nn.Linear``, ``nn.ReLU`` and :class:`Residual`
    (any order, any depth), or a ValueError that names the first other layer (a TypeError when ``net`` is no module)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net is a {type(net).__name__}; expected an nn.Sequential of nn.Linear and nn.ReLU")
    layers = list(net) if isinstance(net, nn.Sequential) else [net]
    for i, layer in enumerate(layers):
        if not isinstance(layer, (nn.Linear, nn.ReLU, Residual)):
            raise ValueError(f"layer {i} is {type(layer).__name__}; expected an nn.Sequential of nn.Linear and nn.ReLU")
    return layers


def _in_features(net: nn.Module) -> int:
    first = relu_layers(net)[0]
    if isinstance(first, Residual):
        return _in_features(first.body)
    if isinstance(first, nn.ReLU):
        raise ValueError("the network starts with a ReLU; expected an nn.Linear first, to know the input size")
    return first.in_features


def _first_linear(layers: list):
    """The first ``nn.Linear`` of a ReLU network's layers (inside a :class:`Residual` too), or None."""
    for layer in layers:
        if isinstance(layer, nn.Linear):
            return layer
        if isinstance(layer, Residual):
            inner = _first_linear(relu_layers(layer.body))
            if inner is not None:
                return inner
    return None


def _check_input(net: nn.Module, x, name: str, owner: str, shape: str = "(..., n_in)") -> None:
    """``x`` checked as input of the ReLU network ``net``: a real tensor of finite numbers, ``shape`` ending in the
    network's input size, of the weights' dtype."""
    first = _first_linear(relu_layers(net))
    check_tensor(x, name, owner, allow_complex=False, finite=True)
    if first is not None:
        if x.ndim < 1 or x.shape[-1] != first.in_features:
            raise ValueError(f"{name} has shape {tuple(x.shape)}; {owner} expects {shape} with n_in = "
                             f"{first.in_features}, the network's input size")
        if x.dtype != first.weight.dtype:
            raise TypeError(f"{name} has dtype {x.dtype}; {owner} expects the network's dtype {first.weight.dtype} "
                            f"({name}.to({first.weight.dtype}) or net.to({x.dtype}))")


def activation_pattern(net: nn.Module, x: torch.Tensor) -> list:
    """For each ReLU of ``net``, which units are active (pre-activation > 0) at the input ``x`` (..., n_in): a list
    of boolean tensors -- the diagonals of the {0, 1} matrices by which the ReLUs multiply at ``x``."""
    _check_input(net, x, "x", "activation_pattern")
    return _activation_pattern(net, x)


def _activation_pattern(net: nn.Module, x: torch.Tensor) -> list:
    pattern, h = [], x
    with torch.no_grad():
        for layer in relu_layers(net):
            if isinstance(layer, nn.ReLU):
                pattern.append(h > 0)
            elif isinstance(layer, Residual):
                pattern += _activation_pattern(layer.body, h)
            h = layer(h)
    return pattern


def _affine(layers: list, h: torch.Tensor, W, b) -> tuple:
    """Carry the affine map ``x -> W x + b`` (``W`` None: the identity) through ``layers`` at the point ``h``."""
    for layer in layers:
        if isinstance(layer, nn.Linear):
            Wl = layer.weight.to(h.dtype)
            bl = layer.bias.to(h.dtype) if layer.bias is not None else torch.zeros(Wl.shape[0], dtype=h.dtype)
            W, b = (Wl, bl) if W is None else (Wl @ W, Wl @ b + bl)
        elif isinstance(layer, nn.ReLU):
            mask = (h > 0).to(h.dtype)
            W, b = (torch.diag(mask), torch.zeros_like(mask)) if W is None else (mask[:, None] * W, mask * b)
        else:                                                  # Residual: h + f(h), f affine near h
            Wf, bf = _affine(relu_layers(layer.body), h, None, None)
            W, b = (torch.eye(h.shape[-1], dtype=h.dtype) + Wf, bf) if W is None else (W + Wf @ W, b + Wf @ b + bf)
        h = layer(h)
    return W, b


def local_linear_map(net: nn.Module, x: torch.Tensor) -> tuple:
    """``(W, b)`` with ``net(z) = W @ z + b`` for every ``z`` in the linear region of the single input ``x`` (n_in,):
    the product of the layers' weights with the ReLUs replaced by their {0, 1} diagonals at ``x`` (and a skip
    connection adding the identity)."""
    return _local_map(_checked_layers(net, x, "x", "local_linear_map", 1, "one input (n_in,)"), x)


def _checked_layers(net: nn.Module, x: torch.Tensor, name: str, owner: str, ndim: int, expected: str) -> list:
    """The ReLU network's layers, after checking ``x`` (a real tensor of ``ndim`` axes that the network takes)."""
    check_tensor(x, name, owner, allow_complex=False)
    if x.ndim != ndim:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; {owner} expects {expected}")
    layers = relu_layers(net)
    if not layers:
        raise ValueError(f"{owner} expects a network with at least one layer")
    _check_input(net, x, name, owner, expected.removeprefix("one input "))
    return layers


def _local_map(layers: list, x: torch.Tensor) -> tuple:
    with torch.no_grad():
        return _affine(layers, x, None, None)


def local_lipschitz(net: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """:math:`\\|W(x)\\|_2` (largest singular value of the local linear map) at each point ``(N, n_in)``: the network's
    Lipschitz constant on that point's region; their maximum over all regions is the network's."""
    layers = _checked_layers(net, points, "points", "local_lipschitz", 2, "(N, n_in)")
    return torch.stack([torch.linalg.matrix_norm(_local_map(layers, p)[0], ord=2) for p in points])   # checked once


def _codes(net: nn.Module, x: torch.Tensor) -> list:
    """One hashable code per input row: its whole activation pattern (empty for a network without ReLUs)."""
    patterns = activation_pattern(net, x)
    if not patterns:
        return [b""] * x.shape[0]
    pattern = torch.cat([p.reshape(x.shape[0], -1) for p in patterns], dim=1)
    return [bytes(row) for row in pattern.to(torch.uint8).cpu().numpy()]


def regions_along_line(net: nn.Module, a: torch.Tensor, b: torch.Tensor, samples: int = 10_000) -> int:
    """How many linear regions the segment from ``a`` to ``b`` crosses, counted as the changes of the activation
    pattern between ``samples`` evenly spaced points, plus one (a region narrower than the spacing can be missed)."""
    samples = check_int(samples, "samples", "regions_along_line", minimum=2)
    for name, end in (("a", a), ("b", b)):
        check_tensor(end, name, "regions_along_line", allow_complex=False)
        if end.ndim != 1:
            raise ValueError(f"{name} has shape {tuple(end.shape)}; regions_along_line expects one input (n_in,)")
        _check_input(net, end, name, "regions_along_line", "(n_in,)")
    t = torch.linspace(0, 1, samples, dtype=a.dtype)[:, None]
    codes = _codes(net, (1 - t) * a + t * b)
    return 1 + sum(c != d for c, d in zip(codes, codes[1:]))


def regions_on_grid(net: nn.Module, xs: torch.Tensor, ys: torch.Tensor, origin=None, u=None, v=None) -> tuple:
    """The linear regions on a 2-D slice of input space, sampled on the grid ``xs`` x ``ys``: the points are
    ``origin + x u + y v`` (the plane of the first two coordinates by default). Returns ``(labels, count)``:
    ``labels`` (len(ys), len(xs)) numbers the distinct activation patterns in order of appearance."""
    n_in = _in_features(net)
    for name, axis in (("xs", xs), ("ys", ys)):
        _check_real(axis, name, "regions_on_grid")
        if axis.ndim != 1:
            raise ValueError(f"{name} has shape {tuple(axis.shape)}; regions_on_grid expects the grid's values (n,)")
    _check_same_dtype(ys, "ys", xs, "xs", "regions_on_grid")
    first = _first_linear(relu_layers(net))
    if first is not None and xs.dtype != first.weight.dtype:
        raise TypeError(f"xs has dtype {xs.dtype}; regions_on_grid expects the network's dtype {first.weight.dtype}")
    for name, vector in (("origin", origin), ("u", u), ("v", v)):
        if vector is not None:
            _check_real(vector, name, "regions_on_grid")
            if vector.shape != (n_in,):
                raise ValueError(f"{name} has shape {tuple(vector.shape)}; regions_on_grid expects a point of input "
                                 f"space ({n_in},)")
            _check_same_dtype(vector, name, xs, "xs", "regions_on_grid")
    dtype = xs.dtype
    origin = torch.zeros(n_in, dtype=dtype) if origin is None else origin
    u = torch.eye(n_in, dtype=dtype)[0] if u is None else u
    v = torch.eye(n_in, dtype=dtype)[min(1, n_in - 1)] if v is None else v
    Y, X = torch.meshgrid(ys, xs, indexing="ij")
    points = origin + X.reshape(-1, 1) * u + Y.reshape(-1, 1) * v
    numbers: dict = {}
    labels = torch.tensor([numbers.setdefault(code, len(numbers)) for code in _codes(net, points)])
    return labels.reshape(len(ys), len(xs)), len(numbers)


def jacobian(f, x: torch.Tensor) -> torch.Tensor:
    r"""The Jacobian of ``f`` at ``x`` as a matrix ``(f(x).numel(), x.numel())``, by forward mode (one column per entry
    of ``x``): for a network of convolutions, linear layers, pooling and ReLUs, the linear map :math:`W(x)` of the
    region of ``x``; without biases :math:`f(z) = W(x)z` on that region. A tuple of outputs (an encoder's features,
    say) is concatenated."""
    check_tensor(x, "x", "jacobian", allow_complex=False, finite=True)
    if not callable(f):
        raise TypeError(f"f is a {type(f).__name__}; jacobian expects a function of one tensor")

    def flat(z):
        out = f(z.reshape(x.shape))
        out = out if isinstance(out, torch.Tensor) else torch.cat([o.reshape(-1) for o in out])
        return out.reshape(-1)

    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    push = torch.func.vmap(lambda v: torch.func.jvp(flat, (x.reshape(-1),), (v,))[1])
    return torch.cat([push(eye[start:start + 256]) for start in range(0, x.numel(), 256)]).T
