r"""Where to learn (lecture 05, Ye's webinar slides 27-35): one encoder-decoder CNN reconstructing an image from
undersampled Fourier data, trained in the image domain, in k-space, or on wavelet subbands.

The measurements are :math:`y = M \odot \mathcal F x` (:class:`~course_lib.operators.SubsampledFourier`) with a mask of
random frequencies, denser near zero, that is *symmetric* (:func:`variable_density_mask`): for a
real image the two carry the same information, and with a symmetric mask :math:`A^*A` is an orthogonal projection,
so that :func:`data_consistency`, :math:`x + A^*(y - Ax)`, puts the measured frequencies back exactly.

Each reconstructor maps ``y`` to an image and ends with that data-consistency step; only where the network works
differs (:class:`Reconstructor`):

* ``"image"``: on the zero-filled image :math:`A^*y`, a residual (Jin et al., IEEE TIP 2017; Han et al., 2016);
* ``"k-space"``: on the measured k-space itself, weighted by the distance to its centre so that the network sees
  coefficients of comparable size (Han, Sunwoo, Ye, "k-space deep learning for accelerated MRI", IEEE TMI 2019), a
  residual there; the image is its inverse Fourier transform;
* ``"wavelet"``: on the four one-level Haar subbands of :math:`A^*y` as channels (lecture 04's transform; Kang, Min,
  Ye, Med. Phys. 2017), a residual there; the image is their inverse transform.

The network (:class:`EncoderDecoder`) has no biases, so it is positively homogeneous, :math:`f(x) = J(x)\,x` with
:math:`J(x)` its Jacobian: Ye's frame expansion :math:`f(x) = \tilde B(x) B(x)^\top x` holds exactly, and
:func:`course_lib.geometry.jacobian` gives the local linear maps whose frame bounds lecture 05 measures.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .history import History
from .lifting import WaveletTransform, subbands
from .operators import SubsampledFourier
from .utils import as_generator, check_int, check_number, check_tensor

__all__ = ["DOMAINS", "variable_density_mask", "data_consistency", "tv_reconstruct", "EncoderDecoder",
           "Reconstructor", "kspace_weight"]

#: Where a reconstructor's network works.
DOMAINS = ("image", "k-space", "wavelet")


def variable_density_mask(shape, acceleration: float = 4.0, center_radius: float = 3.0, seed=0,
                          device=None) -> torch.Tensor:
    r"""A random 0/1 mask of k-space (unshifted FFT layout) of about ``H W / acceleration`` frequencies, denser at low
    frequencies (Lustig, Donoho, Pauly, MRM 2007): every frequency within ``center_radius`` of zero, the others
    with probability :math:`\min(1, (\rho/|k|)^2)`, :math:`\rho` set so that the expected count is right. It is
    symmetric (:math:`k` is sampled with :math:`-k`, which for a real image carries the same information), so that
    :math:`A^*A` is an orthogonal projection and :func:`data_consistency` is exact."""
    H, W = (check_int(s, "shape", "variable_density_mask", minimum=2) for s in shape)
    acceleration = check_number(acceleration, "acceleration", "variable_density_mask", minimum=1.0)
    center_radius = check_number(center_radius, "center_radius", "variable_density_mask")
    ky = torch.fft.fftfreq(H, 1 / H, dtype=torch.float64)[:, None]
    kx = torch.fft.fftfreq(W, 1 / W, dtype=torch.float64)[None, :]
    r = torch.sqrt(ky ** 2 + kx ** 2)

    def probability(rho):
        return torch.where(r <= center_radius, 1.0, (rho / r.clamp_min(1e-12)) ** 2).clamp(max=1.0)

    target = H * W / acceleration
    if float(probability(0.0).sum()) > target:
        raise ValueError(f"center_radius {center_radius} alone samples more than 1/acceleration = 1/{acceleration} "
                         "of k-space; variable_density_mask expects a smaller centre or a lower acceleration")
    low, high = 0.0, float(r.max()) + 1
    for _ in range(60):                                     # the expected count grows with rho: bisection
        rho = (low + high) / 2
        low, high = (rho, high) if float(probability(rho).sum()) < target else (low, rho)
    index = torch.arange(H * W).reshape(H, W)
    partner = index[(-torch.arange(H)) % H][:, (-torch.arange(W)) % W]
    u = torch.rand(H * W, generator=as_generator(seed), dtype=torch.float64)[torch.minimum(index, partner)]
    return (u < probability((low + high) / 2)).to(device=device, dtype=torch.float32)


def data_consistency(A: SubsampledFourier, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`x + A^*(y - Ax)`: the image ``x`` (..., H, W) with its measured frequencies replaced by ``y`` (exactly so
    for a real image and a symmetric mask, where :math:`A^*A` is the projection onto the measured frequencies)."""
    if not isinstance(A, SubsampledFourier):
        raise TypeError(f"A is a {type(A).__name__}; data_consistency expects a SubsampledFourier operator")
    return x + A.A_adjoint(y - A(x))


def tv_reconstruct(A: SubsampledFourier, y: torch.Tensor, n_iter: int = 10_000, tol: float = 1e-6,
                   ratio: float = 30.0):
    r"""Compressed sensing with total variation, for noise-free data: :math:`\min_x \mathrm{TV}(x)` subject to
    :math:`Ax = y` (isotropic TV, Neumann boundary), by Chambolle & Pock's primal-dual algorithm (J. Math. Imaging
    Vis. 2011) with the exact projection onto the constraint, :func:`data_consistency`:

    .. math::
        p \leftarrow \Pi_{\|p_i\| \le 1}(p + s\,D\bar x),\quad x^+ = P_{Ax=y}(x - \tau D^\top p),\quad
        \bar x = 2x^+ - x,

    with :math:`\tau s \cdot 8 = 1` and :math:`\tau / s` = ``ratio``. No weight to tune: it is the limit of
    :func:`course_lib.pnp.tv_deblur` as its weight goes to zero. It stops when the TV has changed by less than ``tol``
    (relative) over the last 50 iterations, or after ``n_iter``. Returns ``(x, history)``: ``history.objective`` (the
    TV) every 10 iterations, ``history.converged``."""
    from .functionals import gradient, gradient_adjoint, magnitude, total_variation

    if not isinstance(A, SubsampledFourier) or not A.real:
        raise TypeError(f"A is {A!r}; tv_reconstruct expects a SubsampledFourier operator of real images")
    check_tensor(y, "y", f"tv_reconstruct with {A!r}", A.out_shape, finite=True)
    n_iter = check_int(n_iter, "n_iter", "tv_reconstruct")
    tol = check_number(tol, "tol", "tv_reconstruct")
    ratio = check_number(ratio, "ratio", "tv_reconstruct", strict=True)
    tau, s = math.sqrt(ratio / 8), 1 / math.sqrt(8 * ratio)
    x = A.A_adjoint(y)
    x_bar, p = x, torch.zeros((2, *x.shape), dtype=x.dtype, device=x.device)
    history = History(converged=False)
    for k in range(1, n_iter + 1):
        p = p + s * gradient(x_bar, 2)
        p = p / magnitude(p).clamp_min(1.0)
        x_new = data_consistency(A, y, x - tau * gradient_adjoint(p, 2))
        x_bar, x = 2 * x_new - x, x_new
        if k % 10 == 0:
            history.log(objective=total_variation(x, 2).sum().item(), iteration=k)
            if k >= 60 and abs(history.objective[-6] - history.objective[-1]) <= tol * abs(history.objective[-1]):
                history.converged = True
                break
    return x, history


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)


class EncoderDecoder(nn.Module):
    r"""A two-scale U-Net without biases: the encoder ``conv-ReLU-conv-ReLU`` at full resolution (the skip
    features), average pooling, ``conv-ReLU-conv-ReLU`` at half resolution (the deep features); the decoder upsamples
    the deep features (nearest neighbour), concatenates the skip features and ends with ``conv-ReLU-conv``. Every
    convolution is 3x3 with ``width`` (then ``2 width``) channels.

    Without biases, and with pooling and upsampling linear, the network is positively homogeneous and piecewise
    linear: on the region of an input ``x`` it is the linear map :math:`J(x)`, :math:`f(x) = J(x)x`. Input
    ``(N, in_channels, H, W)`` with even ``H`` and ``W``."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 16):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", "EncoderDecoder")
        self.out_channels = check_int(out_channels, "out_channels", "EncoderDecoder")
        width = check_int(width, "width", "EncoderDecoder")
        self.skip = nn.Sequential(_conv(in_channels, width), nn.ReLU(), _conv(width, width), nn.ReLU())
        self.deep = nn.Sequential(nn.AvgPool2d(2), _conv(width, 2 * width), nn.ReLU(), _conv(2 * width, 2 * width),
                                  nn.ReLU())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decoder = nn.Sequential(_conv(3 * width, width), nn.ReLU(), _conv(width, out_channels))

    def _check(self, x):
        check_tensor(x, "x", "EncoderDecoder", allow_complex=False)
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"x has shape {tuple(x.shape)}; EncoderDecoder expects (N, {self.in_channels}, H, W) "
                             "with H and W even")

    def encode(self, x: torch.Tensor) -> tuple:
        """``(skip, deep)``: everything the decoder is given, ``(N, width, H, W)`` and ``(N, 2 width, H/2, W/2)``."""
        self._check(x)
        skip = self.skip(x)
        return skip, self.deep(skip)

    def decode(self, skip: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([skip, self.up(deep)], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(*self.encode(x))


def kspace_weight(shape, dtype=torch.float32) -> torch.Tensor:
    r"""The k-space weight (unshifted layout) :math:`w(k) = 16\max(|k|, 1) / n`, with :math:`|k|` the distance to the
    zero frequency in frequency steps and ``n = max(shape)``: natural images' Fourier coefficients (unitary transform)
    fall off roughly as :math:`n/|k|` times their gradients' size, so the weighted k-space has coefficients of
    comparable size everywhere, about that of the image's pixels (Han et al. 2019)."""
    H, W = shape
    ky = torch.fft.fftfreq(H, 1 / H, dtype=torch.float64)[:, None]
    kx = torch.fft.fftfreq(W, 1 / W, dtype=torch.float64)[None, :]
    return (16 * torch.sqrt(ky ** 2 + kx ** 2).clamp_min(1.0) / max(H, W)).to(dtype)


class Reconstructor(nn.Module):
    r"""An image from undersampled Fourier data ``y`` (..., H, W) (complex, of :class:`SubsampledFourier` ``A``): an
    :class:`EncoderDecoder` of ``width`` working in the ``domain`` (one of :data:`DOMAINS`, see the module's text),
    followed by :func:`data_consistency`. ``net_input(y)`` is what the network sees, ``forward(y)`` the image.
    ``self.net`` is the encoder-decoder."""

    def __init__(self, A: SubsampledFourier, domain: str = "image", width: int = 16):
        super().__init__()
        if not isinstance(A, SubsampledFourier) or not A.real:
            raise TypeError(f"A is {A!r}; Reconstructor expects a SubsampledFourier operator of real images")
        if domain not in DOMAINS:
            raise ValueError(f"domain is {domain!r}; Reconstructor expects one of {', '.join(DOMAINS)}")
        H, W = A.in_shape
        if H % 4 or W % 4:
            raise ValueError(f"A acts on images {A.in_shape}; Reconstructor expects sides divisible by 4")
        self.A, self.domain = A, domain
        channels = {"image": 1, "k-space": 2, "wavelet": 4}[domain]
        self.net = EncoderDecoder(channels, channels, width)
        self.register_buffer("weight", kspace_weight((H, W)))
        self.W = WaveletTransform((H, W), "haar", levels=1)
        self._bands = [index for _, index in subbands(self.W)][::-1]     # approximation, then HH, LH, HL

    def _check(self, y):
        check_tensor(y, "y", f"Reconstructor({self.domain!r})", self.A.out_shape, finite=True)
        if not y.is_complex():
            raise TypeError(f"y has dtype {y.dtype}; Reconstructor expects complex Fourier data, as A(x) gives")

    def _to_bands(self, x):
        return torch.stack([x[(..., *index)] for index in self._bands], dim=-3)

    def _from_bands(self, c):
        out = torch.zeros((*c.shape[:-3], *self.A.in_shape), dtype=c.dtype, device=c.device)
        for i, index in enumerate(self._bands):
            out[(..., *index)] = c[..., i, :, :]
        return self.W.A_adjoint(out)                                    # orthonormal Haar: the inverse

    def net_input(self, y: torch.Tensor) -> torch.Tensor:
        """What the network sees, ``(N, channels, H, W)`` (``(N, 4, H/2, W/2)`` for the wavelet domain), from ``y``
        ``(H, W)`` or ``(N, H, W)``."""
        self._check(y)
        y = y.reshape(-1, *self.A.out_shape)
        if self.domain == "k-space":
            k = torch.fft.fftshift(y * self.weight.to(y.real.dtype), dim=(-2, -1))
            return torch.stack([k.real, k.imag], dim=1)
        x0 = self.A.A_adjoint(y)
        return x0[:, None] if self.domain == "image" else self._to_bands(self.W(x0))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        shape = y.shape[:-2]
        v = self.net_input(y)
        v = v + self.net(v)
        if self.domain == "k-space":
            k = torch.fft.ifftshift(torch.complex(v[:, 0], v[:, 1]), dim=(-2, -1)) / self.weight.to(v.dtype)
            x = torch.fft.ifft2(k, norm="ortho").real
        elif self.domain == "wavelet":
            x = self._from_bands(v)
        else:
            x = v[:, 0]
        return data_consistency(self.A, y.reshape(-1, *self.A.out_shape), x).reshape(*shape, *self.A.in_shape)

