r"""Linear forward operators :math:`A` with their adjoints :math:`A^*`.

The common thread of the course is :math:`y = A x + n`. Every operator here is a
:class:`LinearOperator` with the vocabulary of deepinv: ``A(x)`` (also ``A.A(x)``),
``A.A_adjoint(y)``, ``A.A_adjoint_A(x)``, ``A.norm()`` (power iteration) and
``A.adjointness_test()``. Operators compose (``A @ B``), scale (``2.0 * A``), add (``A + B``)
and transpose (``A.T``).

Tensors are batch-first: an operator with ``in_shape = (n,)`` accepts any ``(..., n)``.
The dtype of the result follows the input. An operator is a ``torch.nn.Module`` whose tensors
(matrix, kernel, mask) are buffers, as deepinv's ``Physics``: ``A.to(device)`` moves them once,
a network that holds an operator carries it in its ``state_dict`` and moves it with itself, and
applying an operator to a tensor on another device is an error that says so (no hidden copy at
every application). ``A.norm()`` is computed once per operator and dtype, then cached.
The adjoint is taken with respect to the real inner product
:math:`\langle u, v\rangle = \mathrm{Re}\sum_i \bar u_i v_i`.
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .utils import as_generator, check_positive_int, check_tensor

__all__ = [
    "LinearOperator", "Identity", "MatrixOperator", "Convolution1D", "Convolution2D",
    "Inpainting", "SubsampledFourier", "IntegrationOperator", "AveragePooling2D",
    "MultiChannelConvolution2D",
    "gaussian_kernel", "random_cartesian_mask", "inner",
]


def inner(u: torch.Tensor, v: torch.Tensor) -> float:
    r"""Real inner product :math:`\mathrm{Re}\sum_i \bar u_i v_i` over all entries."""
    u, v = u.reshape(-1), v.reshape(-1)
    if u.is_complex() or v.is_complex():
        common = torch.promote_types(torch.promote_types(u.dtype, v.dtype), torch.complex64)
        return torch.vdot(u.to(common), v.to(common)).real.item()
    return torch.dot(u, v).item()


class LinearOperator(nn.Module):
    """A linear map from signals of shape ``in_shape`` to measurements of shape ``out_shape``.

    Subclasses register their tensors as buffers and implement ``_forward`` and ``_adjoint`` on
    already-validated tensors.
    """

    #: whether the domain (range) holds complex signals; the dot-test then draws complex x (y)
    complex_domain = False
    complex_range = False

    def __init__(self, in_shape, out_shape):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)
        self._norms = {}          # (dtype, n_iter, tol, seed) -> ||A||, see norm()

    # -- the three verbs -------------------------------------------------------------------
    def A(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the operator: ``x`` of shape ``(..., *in_shape)`` to ``(..., *out_shape)``."""
        check_tensor(x, "x", self, self.in_shape)       # the operator's repr is formatted only for an error
        self._check_device(x, "x")
        return self._forward(x)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Apply the adjoint: ``y`` of shape ``(..., *out_shape)`` to ``(..., *in_shape)``."""
        check_tensor(y, "y", _Named(self, ".A_adjoint"), self.out_shape)
        self._check_device(y, "y")
        return self._adjoint(y)

    def A_adjoint_A(self, x: torch.Tensor) -> torch.Tensor:
        """The normal operator :math:`A^*A x`."""
        return self.A_adjoint(self.A(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``A(x)``: calling the operator applies it."""
        return self.A(x)

    @property
    def device(self) -> torch.device:
        """Where the operator's tensors are (the CPU for an operator without tensors)."""
        buffer = next(self.buffers(), None)
        return buffer.device if buffer is not None else torch.device("cpu")

    def _check_device(self, t: torch.Tensor, name: str) -> None:
        for buffer in self.buffers():
            if buffer.device != t.device:
                raise ValueError(f"{name} is on {t.device} but {self!r} has a tensor on {buffer.device}; move the "
                                 f"operator once with A = A.to({str(t.device)!r}) (or the tensor with "
                                 f"{name}.to(A.device))")

    def _forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _adjoint(self, y):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- algebra ---------------------------------------------------------------------------
    @property
    def T(self) -> LinearOperator:
        """The adjoint operator :math:`A^*` as an operator of its own."""
        return _Adjoint(self)

    def __matmul__(self, other):
        if not isinstance(other, LinearOperator):
            raise TypeError(f"A @ B composes two LinearOperators; got {type(other).__name__}. "
                            "To apply an operator to a tensor write A(x).")
        return _Composed(self, other)

    def __mul__(self, scalar):
        return _Scaled(self, scalar)

    __rmul__ = __mul__

    def __add__(self, other):
        return _Sum(self, other)

    def __neg__(self):
        return _Scaled(self, -1.0)

    def __sub__(self, other):
        return _Sum(self, -other)

    # -- analysis --------------------------------------------------------------------------
    def to_matrix(self, dtype=torch.float64, device=None) -> torch.Tensor:
        """The matrix of the operator, shape ``(prod(out_shape), prod(in_shape))``.

        Built by applying the operator to the canonical basis: for small problems only.
        """
        n = math.prod(self.in_shape)
        device = self.device if device is None else device
        basis = torch.eye(n, dtype=dtype, device=device).reshape(n, *self.in_shape)
        return self.A(basis).reshape(n, -1).T.contiguous()

    def norm(self, n_iter: int = 500, tol: float | None = None, seed=0, dtype=torch.float64) -> float:
        r"""Operator norm :math:`\|A\|_2 = \sigma_{\max}(A)` by power iteration on :math:`A^*A`.

        Stops when the Rayleigh quotient changes by less than ``tol`` (relative; by default
        1e-9 in float64 and 10 machine epsilons in float32, the most that precision can tell).
        Computed on the operator's device, once per operator and set of arguments: later calls
        return the cached value. The Lipschitz constant of :math:`\nabla \tfrac12\|Ax-y\|^2`
        is ``A.norm() ** 2``.
        """
        tol = max(1e-9, 10 * torch.finfo(dtype).eps) if tol is None else float(tol)
        if isinstance(seed, torch.Generator):        # a generator's draws differ at every call: nothing to cache
            return self._power_iteration(n_iter, tol, seed, dtype)
        # the buffers' versions count in-place changes (and load_state_dict): a changed operator is measured again
        versions = tuple((b.data_ptr(), b._version) for b in self.buffers())
        key = (dtype, int(n_iter), tol, int(seed), versions)
        if key not in self._norms:
            self._norms[key] = self._power_iteration(n_iter, tol, seed, dtype)
        return self._norms[key]

    def _power_iteration(self, n_iter, tol, seed, dtype) -> float:
        x = torch.randn((1, *self.in_shape), generator=as_generator(seed), dtype=dtype).to(self.device)
        x = x / x.norm()
        eigenvalue = 0.0
        for _ in range(n_iter):
            z = self.A_adjoint_A(x)
            new = inner(x, z)  # Rayleigh quotient <x, A*A x> with ||x|| = 1
            x = z / z.norm()
            if abs(new - eigenvalue) <= tol * abs(new):
                eigenvalue = new
                break
            eigenvalue = new
        return math.sqrt(max(eigenvalue, 0.0))

    def adjointness_test(self, seed=0, dtype=torch.float64) -> float:
        r"""Relative error of the dot-product test :math:`\langle Ax, y\rangle = \langle x, A^*y\rangle`.

        ``x`` and ``y`` are random; a correct adjoint gives an error at rounding level
        (about 1e-15 in float64). Runs on the operator's device.
        """
        gen = as_generator(seed)
        device = self.device
        x_dtype = (torch.complex128 if dtype == torch.float64 else torch.complex64) if self.complex_domain else dtype
        x = torch.randn((2, *self.in_shape), generator=gen, dtype=x_dtype).to(device)
        Ax = self.A(x)
        y = torch.randn(Ax.shape, generator=gen, dtype=Ax.dtype).to(device)
        ATy = self.A_adjoint(y)
        lhs, rhs = inner(Ax, y), inner(x, ATy)
        scale = Ax.norm().item() * y.norm().item() + 1e-300
        return abs(lhs - rhs) / scale

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_shape={self.in_shape}, out_shape={self.out_shape})"


class _Named:
    """``repr(op) + suffix``, formatted only when an error message needs it."""

    def __init__(self, op, suffix: str):
        self.op, self.suffix = op, suffix

    def __str__(self) -> str:
        return f"{self.op!r}{self.suffix}"


class _Adjoint(LinearOperator):
    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape)
        self.op = op
        self.complex_domain, self.complex_range = op.complex_range, op.complex_domain

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def T(self):
        return self.op

    def __repr__(self):
        return f"{self.op!r}.T"


class _Composed(LinearOperator):
    def __init__(self, outer: LinearOperator, inner_op: LinearOperator):
        if inner_op.out_shape != outer.in_shape:
            raise ValueError(f"cannot compose {outer!r} @ {inner_op!r}: the right operator's out_shape "
                             f"{inner_op.out_shape} must equal the left operator's in_shape {outer.in_shape}")
        super().__init__(inner_op.in_shape, outer.out_shape)
        self.outer, self.inner = outer, inner_op
        self.complex_domain, self.complex_range = inner_op.complex_domain, outer.complex_range

    def _forward(self, x):
        return self.outer._forward(self.inner._forward(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))

    def __repr__(self):
        return f"({self.outer!r} @ {self.inner!r})"


class _Scaled(LinearOperator):
    def __init__(self, op: LinearOperator, scalar):
        if isinstance(scalar, bool) or not isinstance(scalar, numbers.Real):
            raise TypeError(f"an operator can be scaled by a real number; got {type(scalar).__name__}")
        super().__init__(op.in_shape, op.out_shape)
        self.op, self.scalar = op, float(scalar)
        self.complex_domain, self.complex_range = op.complex_domain, op.complex_range

    def _forward(self, x):
        return self.scalar * self.op._forward(x)

    def _adjoint(self, y):
        return self.scalar * self.op._adjoint(y)

    def __repr__(self):
        return f"{self.scalar:g} * {self.op!r}"


class _Sum(LinearOperator):
    def __init__(self, first: LinearOperator, second: LinearOperator):
        if not isinstance(second, LinearOperator):
            raise TypeError(f"A + B adds two LinearOperators; got {type(second).__name__}")
        if (first.in_shape, first.out_shape) != (second.in_shape, second.out_shape):
            raise ValueError(f"cannot add {first!r} and {second!r}: their in_shape and out_shape must match")
        super().__init__(first.in_shape, first.out_shape)
        self.first, self.second = first, second
        self.complex_domain, self.complex_range = first.complex_domain, first.complex_range

    def _forward(self, x):
        return self.first._forward(x) + self.second._forward(x)

    def _adjoint(self, y):
        return self.first._adjoint(y) + self.second._adjoint(y)

    def __repr__(self):
        return f"({self.first!r} + {self.second!r})"


def _like(param: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """An operator's tensor in the dtype of the input (no copy if equal; the device is checked in ``A``)."""
    return param.to(dtype=x.dtype)


class Identity(LinearOperator):
    """The identity :math:`A = I` on signals of shape ``shape`` (denoising: y = x + n)."""

    def __init__(self, shape):
        super().__init__(shape, shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y

    def __repr__(self):
        return f"Identity(shape={self.in_shape})"


class MatrixOperator(LinearOperator):
    r"""A dense matrix :math:`A \in \mathbb{R}^{m\times n}` acting on ``(..., n)``: ``A(x) = x @ A.T``.

    Examples
    --------
    >>> A = MatrixOperator(torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 0.0]]))
    >>> A(torch.tensor([1.0, 1.0]))
    tensor([3., 1., 1.])
    """

    def __init__(self, matrix: torch.Tensor):
        check_tensor(matrix, "matrix", "MatrixOperator")
        if matrix.ndim != 2:
            raise ValueError(f"matrix has shape {tuple(matrix.shape)}; MatrixOperator expects a 2-D (m, n) tensor")
        super().__init__((matrix.shape[1],), (matrix.shape[0],))
        self.register_buffer("matrix", matrix)

    def _forward(self, x):
        return x @ _like(self.matrix, x).mT

    def _adjoint(self, y):
        return y @ _like(self.matrix, y).conj()

    def __repr__(self):
        m, n = self.matrix.shape
        return f"MatrixOperator({m}x{n})"


def _check_kernel(kernel, ndim: int, shape, owner: str):
    check_tensor(kernel, "kernel", owner, allow_complex=False)
    if kernel.ndim != ndim or any(k % 2 == 0 for k in kernel.shape):
        raise ValueError(f"kernel has shape {tuple(kernel.shape)}; {owner} expects a {ndim}-D kernel "
                         "with odd sizes (so that it has a centre)")
    if any(k > s for k, s in zip(kernel.shape, shape)):
        raise ValueError(f"kernel has shape {tuple(kernel.shape)}; {owner} needs it no larger than the signal "
                         f"{tuple(shape)}")


_PADDING = {"circular": "circular", "zeros": "constant"}


class _Convolution(LinearOperator):
    """Shared code of the 1-D and 2-D convolutions: 'same'-size output, odd kernel."""

    ndim = 0
    conv = None

    def __init__(self, kernel, shape, padding: str):
        owner = f"{type(self).__name__}"
        if padding not in _PADDING:
            raise ValueError(f"padding is {padding!r}; {owner} expects 'circular' or 'zeros'")
        shape = tuple(int(s) for s in shape)
        _check_kernel(kernel, self.ndim, shape, owner)
        super().__init__(shape, shape)
        self.register_buffer("kernel", kernel)
        self.padding = padding

    def _convolve(self, x, weight):
        batch = x.shape[: x.ndim - self.ndim]
        x = x.reshape(-1, 1, *self.in_shape)
        pad = [k // 2 for k in reversed(weight.shape) for _ in range(2)]
        x = F.pad(x, pad, mode=_PADDING[self.padding])
        out = type(self).conv(x, weight.reshape(1, 1, *weight.shape).to(x))
        return out.reshape(*batch, *self.out_shape)

    def _forward(self, x):
        # torch's conv is a correlation; flipping the kernel makes it a true convolution k * x
        return self._convolve(x, torch.flip(self.kernel, dims=tuple(range(self.ndim))))

    def _adjoint(self, y):
        # the adjoint of convolving with k is correlating with k (same padding, odd kernel)
        return self._convolve(y, self.kernel)

    def __repr__(self):
        return (f"{type(self).__name__}(kernel {tuple(self.kernel.shape)}, shape={self.in_shape}, "
                f"padding={self.padding!r})")


class Convolution1D(_Convolution):
    r"""Convolution :math:`(k * x)_i = \sum_j k_j x_{i-j}` of signals ``(..., n)`` with an odd kernel.

    The output has the input's length; ``padding`` is ``'circular'`` (periodic signal) or
    ``'zeros'``.
    """

    ndim = 1
    conv = staticmethod(F.conv1d)

    def __init__(self, kernel: torch.Tensor, n: int, padding: str = "circular"):
        super().__init__(kernel, (n,), padding)


class Convolution2D(_Convolution):
    """2-D convolution (a blur) of images ``(..., H, W)`` with an odd ``(kh, kw)`` kernel.

    Same-size output; ``padding`` is ``'circular'`` or ``'zeros'``. See :func:`gaussian_kernel`.
    """

    ndim = 2
    conv = staticmethod(F.conv2d)

    def __init__(self, kernel: torch.Tensor, shape, padding: str = "circular"):
        super().__init__(kernel, shape, padding)


class MultiChannelConvolution2D(LinearOperator):
    r"""A bank of 2-D convolutions: :math:`y_c = \sum_d k_{c,d} * x_d`, from ``(..., D, H, W)`` to ``(..., C, H, W)``.

    ``kernels`` has shape ``(C, D, kh, kw)`` with odd sizes. A light-field camera is one: each of C
    views sees each of D depth planes through its own point-spread function (see
    :func:`course_lib.data.light_field_psfs`). The adjoint correlates with the transposed bank.
    """

    def __init__(self, kernels: torch.Tensor, shape, padding: str = "circular"):
        check_tensor(kernels, "kernels", "MultiChannelConvolution2D", allow_complex=False)
        if kernels.ndim != 4 or kernels.shape[2] % 2 == 0 or kernels.shape[3] % 2 == 0:
            raise ValueError(f"kernels has shape {tuple(kernels.shape)}; MultiChannelConvolution2D expects "
                             "(C, D, kh, kw) with odd kh, kw")
        if padding not in _PADDING:
            raise ValueError(f"padding is {padding!r}; MultiChannelConvolution2D expects 'circular' or 'zeros'")
        H, W = (int(v) for v in shape)
        C, D = kernels.shape[:2]
        super().__init__((D, H, W), (C, H, W))
        self.register_buffer("kernels", kernels)
        self.padding = padding

    def apply_bank(self, x: torch.Tensor, kernels: torch.Tensor, adjoint: bool = False) -> torch.Tensor:
        """The forward map (or with ``adjoint`` its adjoint) with another bank ``kernels`` of the same shape.

        A learned network uses it to apply its own filters with this operator's geometry.
        """
        if kernels.shape != self.kernels.shape:
            raise ValueError(f"kernels has shape {tuple(kernels.shape)}; {self!r} expects {tuple(self.kernels.shape)}")
        C, D = kernels.shape[:2]
        weight, channels_in, channels_out = ((kernels.transpose(0, 1), C, D) if adjoint
                                             else (torch.flip(kernels, dims=(2, 3)), D, C))
        batch = x.shape[: x.ndim - 3]
        H, W = self.in_shape[1:]
        x = x.reshape(-1, channels_in, H, W)
        kh, kw = weight.shape[2:]
        x = F.pad(x, [kw // 2, kw // 2, kh // 2, kh // 2], mode=_PADDING[self.padding])
        return F.conv2d(x, weight.to(x)).reshape(*batch, channels_out, H, W)

    def _forward(self, x):
        return self.apply_bank(x, self.kernels)

    def _adjoint(self, y):
        return self.apply_bank(y, self.kernels, adjoint=True)

    def __repr__(self):
        C, D, kh, kw = self.kernels.shape
        return f"MultiChannelConvolution2D({D} planes -> {C} images, kernels {kh}x{kw}, shape={self.in_shape[1:]})"


class AveragePooling2D(LinearOperator):
    """Coarse camera pixels: the mean over ``factor x factor`` blocks, ``(..., H, W)`` to ``(..., H/f, W/f)``.

    Composed with a blur, ``AveragePooling2D(shape, f) @ Convolution2D(psf, shape)`` is the
    forward model of super-resolution microscopy. The adjoint spreads each value over its block
    divided by ``factor**2``.
    """

    def __init__(self, shape, factor: int):
        H, W = (int(v) for v in shape)
        check_positive_int(factor, "factor", "AveragePooling2D")
        if H % factor or W % factor:
            raise ValueError(f"factor is {factor!r}; AveragePooling2D expects a positive integer dividing the "
                             f"image shape {(H, W)}")
        super().__init__((H, W), (H // factor, W // factor))
        self.factor = factor

    def _forward(self, x):
        batch = x.shape[: x.ndim - 2]
        out = F.avg_pool2d(x.reshape(-1, 1, *self.in_shape), self.factor)
        return out.reshape(*batch, *self.out_shape)

    def _adjoint(self, y):
        f = self.factor
        return y.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1) / (f * f)

    def __repr__(self):
        return f"AveragePooling2D(shape={self.in_shape}, factor={self.factor})"


def gaussian_kernel(sigma: float, size: int | None = None, ndim: int = 2,
                    dtype=torch.float32, device=None) -> torch.Tensor:
    """A normalised Gaussian blur kernel (sums to 1), odd ``size`` (default about 6 sigma)."""
    if sigma <= 0:
        raise ValueError(f"sigma is {sigma}; a Gaussian kernel needs sigma > 0")
    size = size or 2 * math.ceil(3 * sigma) + 1
    if size % 2 == 0:
        raise ValueError(f"size is {size}; the kernel size must be odd")
    t = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = g
    for _ in range(ndim - 1):
        kernel = kernel[..., None] * g
    return (kernel / kernel.sum()).to(dtype=dtype, device=device)


class Inpainting(LinearOperator):
    """Keep the pixels where ``mask`` is 1 and zero the others: :math:`A x = m \\odot x` (self-adjoint)."""

    def __init__(self, mask: torch.Tensor):
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask is a {type(mask).__name__}; Inpainting expects a torch.Tensor of 0/1")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask has values other than 0 and 1; Inpainting expects a 0/1 (or bool) mask")
        super().__init__(mask.shape, mask.shape)
        self.register_buffer("mask", mask.to(torch.float32))
        self.n_kept = int(self.mask.sum())

    def _forward(self, x):
        return x * self.mask.to(dtype=x.real.dtype)

    _adjoint = _forward

    def __repr__(self):
        return f"Inpainting(shape={self.in_shape}, {self.n_kept} of {self.mask.numel()} kept)"


class SubsampledFourier(LinearOperator):
    r"""MRI-like sampling: :math:`A x = M \odot \mathcal{F} x` with the unitary 2-D FFT.

    ``mask`` (shape ``(H, W)``, 0/1) marks the sampled frequencies (unshifted FFT layout; see
    :func:`random_cartesian_mask`). With ``real=True`` (default) images are real and the adjoint
    returns :math:`\mathrm{Re}(\mathcal{F}^{-1}(M\odot y))`; with ``real=False`` images are complex.
    """

    def __init__(self, mask: torch.Tensor, real: bool = True):
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask is a {type(mask).__name__}; SubsampledFourier expects a 2-D 0/1 mask tensor (H, W)")
        if mask.ndim != 2:
            raise ValueError(f"mask has shape {tuple(mask.shape)}; SubsampledFourier expects a 2-D 0/1 mask (H, W)")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask has values other than 0 and 1; SubsampledFourier expects a 0/1 mask")
        super().__init__(mask.shape, mask.shape)
        self.register_buffer("mask", mask.to(torch.float32))
        self.real = real
        self.complex_domain, self.complex_range = not real, True

    def _forward(self, x):
        if self.real and x.is_complex():
            raise TypeError("x is complex; SubsampledFourier(real=True) expects real images "
                            "(use real=False for complex images)")
        k = torch.fft.fft2(x, norm="ortho")
        return k * self.mask.to(dtype=k.real.dtype)

    def _adjoint(self, y):
        if not y.is_complex():
            y = y.to(torch.complex128 if y.dtype == torch.float64 else torch.complex64)
        x = torch.fft.ifft2(y * self.mask.to(dtype=y.real.dtype), norm="ortho")
        return x.real if self.real else x

    @property
    def acceleration(self) -> float:
        """Number of pixels over number of sampled frequencies."""
        return self.mask.numel() / max(1.0, float(self.mask.sum()))

    def __repr__(self):
        return f"SubsampledFourier(shape={self.in_shape}, acceleration {self.acceleration:.1f}x)"


def random_cartesian_mask(shape, acceleration: float = 4.0, center_fraction: float = 0.08,
                          seed=0, device=None) -> torch.Tensor:
    """A 0/1 mask of fully sampled k-space columns: the centre band plus random others.

    Returned in the unshifted FFT layout expected by :class:`SubsampledFourier`.
    """
    H, W = (int(s) for s in shape)
    if acceleration < 1:
        raise ValueError(f"acceleration is {acceleration}; it must be >= 1")
    n_center = max(1, round(center_fraction * W))
    n_keep = max(n_center, round(W / acceleration))
    columns = torch.zeros(W, dtype=torch.bool)
    start = (W - n_center) // 2
    columns[start:start + n_center] = True
    others = torch.nonzero(~columns).flatten()
    pick = others[torch.randperm(len(others), generator=as_generator(seed))[: n_keep - n_center]]
    columns[pick] = True
    mask = columns.expand(H, W).to(torch.float32)
    return torch.fft.ifftshift(mask, dim=-1).to(device)


class IntegrationOperator(LinearOperator):
    r"""The integration operator :math:`(Ax)(t) = \int_0^t x(s)\,ds` on :math:`L^2[0,1]`, ``n`` points.

    Discretised with the rectangle rule on the grid :math:`t_i = (i + \tfrac12)/n`:
    :math:`(Ax)_i = h \sum_{j \le i} x_j`, :math:`h = 1/n`, i.e. ``h * cumsum(x)``; the adjoint
    is ``h`` times the reversed cumulative sum, :math:`(A^*y)_j = h \sum_{i \ge j} y_i`.
    Its singular values are known in closed form (:meth:`singular_values`) and decay like
    :math:`1/k`: the inverse problem is ill-posed. :math:`\|A\| \to 2/\pi` as n grows.
    """

    def __init__(self, n: int):
        check_positive_int(n, "n (the number of points)", "IntegrationOperator")
        super().__init__((n,), (n,))
        self.n, self.h = int(n), 1.0 / n

    @property
    def grid(self) -> torch.Tensor:
        """The points :math:`t_i = (i + 1/2)/n` in float64."""
        return (torch.arange(self.n, dtype=torch.float64) + 0.5) / self.n

    def _forward(self, x):
        return self.h * torch.cumsum(x, dim=-1)

    def _adjoint(self, y):
        return self.h * torch.flip(torch.cumsum(torch.flip(y, dims=(-1,)), dim=-1), dims=(-1,))

    def singular_values(self, dtype=torch.float64) -> torch.Tensor:
        r"""Closed form :math:`\sigma_k = h / (2\sin\frac{(2k-1)\pi}{2(2n+1)})`, k = 1..n, descending."""
        k = torch.arange(1, self.n + 1, dtype=torch.float64)
        return (self.h / (2 * torch.sin((2 * k - 1) * math.pi / (2 * (2 * self.n + 1))))).to(dtype)

    def __repr__(self):
        return f"IntegrationOperator(n={self.n})"
