r"""The deep image prior: an untrained generator fitted to one measurement, and when to stop.

A deep image prior (Ulyanov, Vedaldi, Lempitsky 2018) reconstructs :math:`x` from :math:`y = Ax + n`
by fitting the weights of a generator :math:`G_\theta(z)` (fixed random input :math:`z`) to the one
measurement, :math:`\min_\theta \|A\,G_\theta(z) - y\|^2`, and stopping early: the network fits
structure before noise, so the PSNR rises, peaks and falls.

* Generators: :class:`SkipNet` (the encoder-decoder with skip connections of the DIP paper, sized
  for a CPU), :class:`DeepDecoder` (Heckel & Hand 2019: 1x1 convolutions, upsampling, channel
  normalisation, fewer weights than pixels), :class:`ConvGenerator` (the two-layer convolutional
  generator of the compressed-sensing theory).
* :func:`fit`: the fitting loop for any operator of :mod:`course_lib.operators`: :func:`dip_step`
  (input-noise perturbation, an optional TV term) repeated, exponential averaging of the outputs,
  and observers that each do one job: :class:`Metrics` (PSNR against a truth, *for teaching only*),
  :class:`Snapshots`, :class:`EarlyStopping` (a detector that may stop it).
* Educated DIP (Barbano et al. 2022): :func:`pretrain` the generator, with the adjoint
  reconstruction :func:`educated_input` as its input, on synthetic pairs (dead leaves or random ellipses) for the
  operator, then :func:`fit` it from there on the measurement.
* Detectors that do not see the truth: :class:`WindowedVarianceDetector` (ES-WMV, Wang et al. 2021)
  and :class:`DiscrepancyDetector` (known noise level).
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn

from .functionals import gradient, magnitude
from .history import History
from .operators import LinearOperator
from .utils import as_generator, check_int, check_number, check_positive_int, check_tensor

__all__ = ["SkipNet", "DeepDecoder", "ConvGenerator", "generator_jacobian", "linear_generator",
           "linear_generator_bound", "generator_input", "tv_loss", "WindowedVarianceDetector", "DiscrepancyDetector",
           "variance_stop", "settling_path", "dip_step", "Metrics", "Snapshots", "EarlyStopping", "fit",
           "educated_input", "pretrain"]


def generator_input(channels: int, shape, seed=0, scale: float = 0.1, device=None) -> torch.Tensor:
    """The fixed random input ``z`` of a generator: ``(1, channels, H, W)``, uniform in [0, scale)."""
    check_positive_int(channels, "channels", "generator_input")
    gen = as_generator(seed)
    return (scale * torch.rand(1, channels, *shape, generator=gen)).to(device)


def _block(c_in, c_out, stride=1, kernel=3):
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, padding_mode="reflect"),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


class SkipNet(nn.Module):
    """The DIP encoder-decoder with skip connections, small enough for a laptop CPU.

    ``depth`` levels, each halving the resolution (strided convolution) and doubling back with
    bilinear upsampling; ``skip`` channels of each level join the decoder. Input
    ``(N, in_channels, H, W)`` with H, W divisible by 2**depth; output ``(N, out_channels, H, W)``
    in (0, 1) (a sigmoid).
    """

    def __init__(self, in_channels: int = 32, out_channels: int = 1, channels: int = 64, depth: int = 4,
                 skip: int = 4):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("channels", channels),
                            ("depth", depth)):
            check_positive_int(value, name, "SkipNet")
        self.in_channels, self.depth = in_channels, depth
        self.down, self.skips, self.up = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        c_prev = in_channels
        for _ in range(depth):
            self.skips.append(_block(c_prev, skip, kernel=1) if skip else None)
            self.down.append(nn.Sequential(_block(c_prev, channels, stride=2), _block(channels, channels)))
            c_prev = channels
        for _ in range(depth):
            self.up.append(nn.Sequential(nn.BatchNorm2d(channels + skip), _block(channels + skip, channels),
                                         _block(channels, channels, kernel=1)))
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.out = nn.Conv2d(channels, out_channels, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", "SkipNet", allow_complex=False)
        if (z.ndim != 4 or z.shape[1] != self.in_channels or z.shape[-1] % 2 ** self.depth
                or z.shape[-2] % 2 ** self.depth):
            raise ValueError(f"z has shape {tuple(z.shape)}; SkipNet expects (N, {self.in_channels}, H, W) with H "
                             f"and W divisible by {2 ** self.depth}")
        skips, h = [], z
        for down, skip in zip(self.down, self.skips):
            skips.append(skip(h) if skip is not None else None)
            h = down(h)
        for up, s in zip(self.up, reversed(skips)):
            h = self.upsample(h)
            h = up(torch.cat([h, s], dim=1) if s is not None else h)
        return torch.sigmoid(self.out(h))


class DeepDecoder(nn.Module):
    """Deep decoder (Heckel & Hand 2019): ``n_layers`` x (upsample, 1x1 conv, ReLU, channel normalisation),
    a 1x1 conv and a sigmoid. The input is ``(N, channels, H / 2**n_layers, W / 2**n_layers)``; with
    few channels it has fewer weights than the image has pixels, so it cannot fit the noise."""

    def __init__(self, channels: int = 64, n_layers: int = 4, out_channels: int = 1):
        super().__init__()
        check_positive_int(channels, "channels", "DeepDecoder")
        check_positive_int(n_layers, "n_layers", "DeepDecoder")
        self.channels, self.n_layers = channels, n_layers
        layers = []
        for _ in range(n_layers):
            layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                       nn.Conv2d(channels, channels, 1, bias=False), nn.ReLU(), nn.BatchNorm2d(channels)]
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(channels, out_channels, 1)

    def input_shape(self, shape) -> tuple:
        return tuple(s // 2 ** self.n_layers for s in shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", "DeepDecoder", allow_complex=False)
        if z.ndim != 4 or z.shape[1] != self.channels:
            raise ValueError(f"z has shape {tuple(z.shape)}; DeepDecoder expects (N, {self.channels}, h, w)")
        return torch.sigmoid(self.out(self.body(z)))


class ConvGenerator(nn.Module):
    r"""The two-layer convolutional generator of Heckel & Soltanolkotabi (ICML 2020):
    :math:`G(C) = \mathrm{ReLU}(UC)\,v`.

    The weights :math:`C \in \mathbb{R}^{n\times k}` are ``channels`` = k signals of the output's
    ``shape`` (1-D or 2-D); :math:`U` is a fixed circular convolution with a Gaussian kernel of
    standard deviation ``width`` pixels, applied to each column; :math:`v = (1,\dots,1,-1,\dots,-1)/\sqrt{k}`
    is fixed. Only :math:`C` is trained (from :math:`\mathcal N(0, \omega^2)`, ``init_scale`` = ω, drawn with ``seed``,
    an int or a ``torch.Generator``; the global RNG is left alone).
    It has no input: ``forward()`` returns ``(1, 1, *shape)``; :func:`fit` knows (``takes_input = False``).
    With k n weights for n pixels it is over-parameterised; gradient descent fits the smooth
    components (the leading singular vectors of its Jacobian, trigonometric functions) first.
    """

    takes_input = False

    def __init__(self, shape, channels: int = 64, width: float = 2.0, init_scale: float = 0.1, seed=0):
        super().__init__()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) not in (1, 2):
            raise ValueError(f"shape is {shape!r}; ConvGenerator expects (n,) or (H, W) with positive ints")
        shape = tuple(check_positive_int(s, "shape", "ConvGenerator") for s in shape)
        check_positive_int(channels, "channels", "ConvGenerator")
        if channels % 2:
            raise ValueError(f"channels is {channels}; ConvGenerator expects an even number (v is half +1, half -1)")
        if not width > 0 or not init_scale > 0:
            raise ValueError(f"width is {width!r}, init_scale {init_scale!r}; ConvGenerator expects positive numbers")
        self.shape, self.channels = shape, channels
        self.C = nn.Parameter(init_scale * torch.randn(channels, *shape, generator=as_generator(seed)))
        kernel = 1.0
        for axis, n in enumerate(shape):          # a periodic Gaussian along each axis, centred at 0
            d = torch.arange(n, dtype=torch.float64)
            d = torch.minimum(d, n - d)
            g = torch.exp(-0.5 * (d / width) ** 2)
            g = (g / g.sum()).reshape([-1 if i == axis else 1 for i in range(len(shape))])
            kernel = kernel * g
        self.register_buffer("U_hat", torch.fft.fftn(kernel).to(torch.complex64))
        self.register_buffer("v", torch.cat([torch.ones(channels // 2), -torch.ones(channels // 2)]) / channels ** 0.5)

    def forward(self) -> torch.Tensor:
        dims = tuple(range(1, 1 + len(self.shape)))
        UC = torch.fft.ifftn(torch.fft.fftn(self.C, dim=dims) * self.U_hat, dim=dims).real
        x = torch.tensordot(self.v, torch.relu(UC), dims=1)
        return x.reshape(1, 1, *self.shape)


def generator_jacobian(net: nn.Module) -> torch.Tensor:
    r"""The Jacobian :math:`\partial G/\partial \theta` of a generator without input (e.g. :class:`ConvGenerator`) at
    its
    current weights: ``(n_pixels, n_weights)``, by reverse-mode autograd (one backward pass per pixel). Its leading
    left singular vectors are the signals gradient descent fits first (Heckel & Soltanolkotabi 2020)."""
    if getattr(net, "takes_input", True):
        raise ValueError(f"net is a {type(net).__name__}; generator_jacobian expects a generator without input "
                         "(takes_input = False, e.g. ConvGenerator)")
    names = [name for name, _ in net.named_parameters()]
    params = tuple(p.detach() for p in net.parameters())

    def output(*weights):
        return torch.func.functional_call(net, dict(zip(names, weights)), ()).reshape(-1)

    blocks = torch.func.jacrev(output, argnums=tuple(range(len(params))))(*params)
    return torch.cat([block.reshape(block.shape[0], -1) for block in blocks], dim=1)


def linear_generator(n: int, n_weights: int, decay: float = 4.0, seed=0, device=None) -> torch.Tensor:
    r"""An over-parameterised linear generator :math:`J = W\,\mathrm{diag}(s)\,V^\top` of shape ``(n, n_weights)``
    (float64): :math:`W` the orthonormal cosine basis (column :math:`j` has frequency :math:`j`, low frequencies first),
    :math:`s_j = 1/(1 + j/\text{decay})` decaying, :math:`V` a random orthonormal ``(n_weights, n)`` from ``seed`` (an
    int
    or a ``torch.Generator``; drawn on the CPU, then moved to ``device``).
    Its leading left singular vectors are the smooth signals, as for a convolutional generator."""
    n = check_positive_int(n, "n", "linear_generator")
    if check_positive_int(n_weights, "n_weights", "linear_generator") < n:
        raise ValueError(f"n_weights is {n_weights}; linear_generator expects at least n = {n} weights "
                         "(an over-parameterised generator)")
    check_number(decay, "decay", "linear_generator", strict=True)
    i = torch.arange(n, dtype=torch.float64)
    W = torch.cos(torch.pi * (i[:, None] + 0.5) * i[None, :] / n)
    W = W / W.norm(dim=0)
    V, _ = torch.linalg.qr(torch.randn(n_weights, n, generator=as_generator(seed), dtype=torch.float64))
    return (W @ torch.diag(1.0 / (1 + i / decay)) @ V.T).to(device)


def linear_generator_bound(J: torch.Tensor, x: torch.Tensor, tail_from: int) -> tuple:
    r"""The two factors of Heckel & Soltanolkotabi's bound for the linear generator :math:`G(c) = Jc`.

    With :math:`J = \sum_i \sigma_i w_i v_i^\top` (``J`` of shape ``(n, N)``, rank ``n``) and ``m`` Gaussian
    measurements, the minimum-norm estimate :math:`\hat x = J(AJ)^\dagger A x` obeys, with high probability,
    :math:`\|\hat x - x\|^2 \le c\,\big(\sum_i \sigma_i^{-2}\langle w_i, x\rangle^2\big)
    \big(\sum_{i > m/c'}\sigma_i^2\big)`.
    Returns ``(weighted, tail)``: :math:`\sum_{i=1}^n \sigma_i^{-2}\langle w_i, x\rangle^2` (small when ``x`` lies along
    the leading singular vectors) and :math:`\sum_{i > \text{tail\_from}} \sigma_i^2` (the spectrum past index
    ``tail_from``, counted from 1), as floats."""
    J = check_tensor(J, "J", "linear_generator_bound", allow_complex=False)
    x = check_tensor(x, "x", "linear_generator_bound", allow_complex=False)
    n = J.shape[0]
    if J.dim() != 2 or x.shape != (n,) or J.shape[1] < n:
        raise ValueError(f"J is {tuple(J.shape)} and x is {tuple(x.shape)}; linear_generator_bound expects J of shape "
                         f"(n, N) with N >= n and x of shape (n,)")
    check_int(tail_from, "tail_from", "linear_generator_bound", minimum=0)
    if not 0 <= tail_from <= n:
        raise ValueError(f"tail_from is {tail_from}; linear_generator_bound expects an index from 0 to n = {n}")
    W, s, _ = torch.linalg.svd(J.to(torch.float64), full_matrices=False)
    if s[-1] <= s[0] * n * torch.finfo(torch.float64).eps:
        raise ValueError("J is rank-deficient; linear_generator_bound expects J of full rank n (the weighted norm "
                         "divides by every singular value)")
    weighted = ((W.T @ x.to(torch.float64)) ** 2 / s ** 2).sum().item()
    return weighted, (s[tail_from:] ** 2).sum().item()


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    r"""Isotropic total variation as a loss: the gradient's magnitude :math:`\|(Dx)_i\|_2` averaged over pixels (the
    course's one TV, :class:`~course_lib.functionals.TotalVariation`, which sums it instead)."""
    return magnitude(gradient(x, 2)).mean()


class WindowedVarianceDetector:
    r"""ES-WMV (Wang, Li, Zhuang, Chen, Liang, Sun 2021): early stopping without the truth.

    Keeps the last ``window`` outputs and their variance
    :math:`\mathrm{VAR}_t = \frac1W\sum_{i=t-W+1}^{t}\|x_i - \bar x\|^2/\#\text{pixels}`; the variance
    is lowest where the outputs settle on the image, before they start to follow the noise. Stops
    when the minimum has not improved for ``patience`` iterations; :attr:`best_iteration` and
    :attr:`best_output` are the iterate at the minimum (the newest one of that window).
    """

    def __init__(self, window: int = 200, patience: int = 300):
        check_positive_int(window, "window", "WindowedVarianceDetector")
        check_positive_int(patience, "patience", "WindowedVarianceDetector")
        self.window, self.patience = window, patience
        self.buffer, self.variances = [], []
        self.best_variance, self.best_iteration, self.best_output = math.inf, None, None

    def update(self, iteration: int, x: torch.Tensor) -> bool:
        """Record iterate ``x``; True when it is time to stop."""
        self.buffer.append(x.detach().reshape(-1).clone())
        if len(self.buffer) > self.window:
            self.buffer.pop(0)
        if len(self.buffer) < self.window:
            self.variances.append(math.nan)
            return False
        stack = torch.stack(self.buffer)
        variance = ((stack - stack.mean(0)) ** 2).sum(1).mean().item() / stack.shape[1]
        self.variances.append(variance)
        if variance < self.best_variance:
            self.best_variance, self.best_iteration, self.best_output = variance, iteration, x.detach().clone()
        return iteration - self.best_iteration >= self.patience


def variance_stop(variances, patience: int) -> tuple:
    """ES-WMV's rule replayed on a recorded variance curve (``variances[k - 1]`` at iteration k, NaN while the window
    fills, as :attr:`WindowedVarianceDetector.variances` holds it): ``(best_iteration, stop_iteration)``, where the
    detector with this ``patience`` would take its iterate and when it would stop (None: not within the curve). How
    ES-WMV's choice depends on its patience can so be read off one long run."""
    check_positive_int(patience, "patience", "variance_stop")
    best_value, best = math.inf, None
    for k, value in enumerate(torch.as_tensor(variances).tolist(), 1):
        if value < best_value:
            best_value, best = value, k
        if best is not None and k - best >= patience:
            return best, k
    return best, None


def settling_path(n: int = 600, best: int = 250, shape=(16, 16), seed=0, device=None) -> tuple:
    r"""A synthetic run whose settling point is known: ``(truth, outputs)`` with output k (k = 1..n) equal to
    truth + :math:`s_k` noise, :math:`s_k = 0.02 + 0.5|k - \text{best}|/n` smallest at ``best``.

    What a detector of the settled iterate (ES-WMV) should find, without a network: tests and the
    exercise's feedback run detectors on it.
    """
    check_positive_int(n, "n", "settling_path")
    g = as_generator(seed)
    truth = torch.rand(*shape, generator=g)
    outputs = [truth + (0.02 + 0.5 * abs(k - best) / n) * torch.randn(*shape, generator=g) for k in range(1, n + 1)]
    return truth.to(device), [x.to(device) for x in outputs]


class DiscrepancyDetector:
    r"""Morozov's discrepancy principle as a stopping rule: stop at the first iterate with
    :math:`\|Ax - y\| \le \tau\sqrt{m}\,\sigma` (the residual at the noise level; ``tau`` as in
    :func:`~course_lib.solvers.discrepancy_principle`, default 1.1)."""

    def __init__(self, A: LinearOperator, y: torch.Tensor, sigma: float, tau: float = 1.1):
        if not isinstance(A, LinearOperator):
            raise TypeError(f"A is a {type(A).__name__}; DiscrepancyDetector expects a course_lib LinearOperator")
        check_number(sigma, "sigma", "DiscrepancyDetector", strict=True)
        check_number(tau, "tau", "DiscrepancyDetector", strict=True)
        self.A, self.y, self.level = A, y, tau * math.sqrt(y.numel()) * sigma
        self.best_iteration, self.best_output = None, None

    def update(self, iteration: int, x: torch.Tensor) -> bool:
        if self.y.device != x.device:                   # moved once, to where the fit runs
            self.y = self.y.to(x.device)
        residual = (self.A(x.detach().reshape(self.A.in_shape)) - self.y.reshape(self.A.out_shape)).norm().item()
        if residual <= self.level:
            self.best_iteration, self.best_output = iteration, x.detach().clone()
            return True
        return False


def dip_step(net: nn.Module, optimizer, A: LinearOperator, y: torch.Tensor, z: torch.Tensor | None = None,
             input_noise: float = 0.0, generator: torch.Generator | None = None, regulariser=None) -> tuple:
    r"""One DIP step: Adam (or any ``optimizer``) on
    :math:`\tfrac1m\|A\,G(z + \epsilon) - y\|^2 + \tfrac1n g(G(z + \epsilon))`.

    :math:`\epsilon` is fresh noise of std ``input_noise`` drawn from ``generator`` (none when 0);
    a generator without input (``z=None``, e.g. :class:`ConvGenerator`) is called as ``net()``. ``regulariser``
    :math:`g` (a :class:`~course_lib.functionals.Functional`, e.g. ``TotalVariation(0.03, ndim=2)`` for DIP + TV; none
    by default) is taken per pixel (its value over the output's :math:`n` entries), as the data term is per
    measurement: ``TotalVariation(w, ndim=2)`` adds :math:`w` times :func:`tv_loss`.
    Returns ``(loss, output)``: the loss as a float and the output *before* the update, detached,
    of shape ``A.in_shape``. The unit of the lecture 06 exercise; :func:`fit` repeats it.
    """
    if z is None:
        out = net().reshape(A.in_shape)
    else:
        noise = input_noise * torch.randn(z.shape, generator=generator).to(z.device) if input_noise else 0
        out = net(z + noise).reshape(A.in_shape)
    loss = ((A(out) - y).abs() ** 2).mean()
    if regulariser is not None:
        loss = loss + regulariser(out) / out.numel()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item(), out.detach()


class Metrics:
    """Observer of :func:`fit`: the PSNR of every (averaged) output against a truth, logged as ``history.psnr``.

    For teaching only: the truth never reaches the fit or a stopping rule.
    """

    def __init__(self, x_true: torch.Tensor):
        check_tensor(x_true, "x_true", "Metrics", allow_complex=False)
        self.x_true = x_true

    def start(self, output: torch.Tensor | None) -> None:
        pass

    def update(self, iteration: int, raw: torch.Tensor, average: torch.Tensor, history) -> bool:
        from .metrics import psnr

        if self.x_true.device != average.device:        # moved once, to where the fit runs
            self.x_true = self.x_true.to(average.device)
        history.log(psnr=psnr(average, self.x_true))
        return False


class Snapshots:
    """Observer of :func:`fit`: the (averaged) output at the given ``iterations`` (0: the untrained network), in
    ``images``;
    with ``x_true``, their SSIM in ``ssim``."""

    def __init__(self, iterations, x_true: torch.Tensor | None = None):
        self.iterations = {check_int(k, "iteration", "Snapshots", minimum=0) for k in iterations}
        self.x_true, self.images, self.ssim = x_true, {}, {}

    @property
    def wants_start(self) -> bool:
        return 0 in self.iterations

    def _keep(self, iteration: int, output: torch.Tensor) -> None:
        from .metrics import ssim

        self.images[iteration] = output.cpu().clone()
        if self.x_true is not None:
            self.ssim[iteration] = ssim(self.images[iteration], self.x_true.cpu())

    def start(self, output: torch.Tensor | None) -> None:
        if output is not None and 0 in self.iterations:
            self._keep(0, output)

    def update(self, iteration: int, raw: torch.Tensor, average: torch.Tensor, history) -> bool:
        if iteration in self.iterations:
            self._keep(iteration, average)
        return False


class EarlyStopping:
    """Observer of :func:`fit` that runs a truth-free detector on the *raw* outputs (averaging would hide their
    variance).

    ``iteration`` is the detector's choice and ``output`` the averaged output there; ``stopped_at``
    the iteration at which it said stop. With ``stop=False`` the fit goes on to the end (to see
    what stopping avoided) and the detector's choice stays frozen.
    """

    def __init__(self, detector, stop: bool = True):
        if not callable(getattr(detector, "update", None)):
            raise TypeError(f"detector is a {type(detector).__name__}; EarlyStopping expects an object with "
                            "update(iteration, x) -> bool and best_iteration (e.g. WindowedVarianceDetector)")
        self.detector, self.stop = detector, stop
        self.iteration, self.output, self.stopped_at = None, None, None

    def start(self, output) -> None:
        pass

    def update(self, iteration: int, raw: torch.Tensor, average: torch.Tensor, history) -> bool:
        if self.stopped_at is not None:
            return False
        said = self.detector.update(iteration, raw)
        if self.detector.best_iteration == iteration:
            self.iteration, self.output = iteration, average.cpu().clone()
        if said:
            self.stopped_at = iteration
        return bool(said) and self.stop


def _prepare(net, A, y, z, seed, device):
    """Checks, devices, the fixed input and the generator of its perturbations."""
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; fit expects a course_lib LinearOperator")
    check_tensor(y, "y", f"fit with {A!r}", A.out_shape)
    takes_input = getattr(net, "takes_input", True)
    if len(A.in_shape) != 2 and (takes_input or len(A.in_shape) != 1):
        raise ValueError(f"{A!r} acts on {A.in_shape}; fit expects an operator on images (H, W), or on signals (n,) "
                         "for a generator without input")
    device = device or next(net.parameters()).device
    net.to(device)
    A.to(device)
    generator = as_generator(seed)
    if takes_input:
        z = generator_input(32, A.in_shape, seed=generator, device=device) if z is None else z.to(device)
    # an int seed: z from seed, the perturbations from seed + 1 (two streams); a Generator: both from it
    noise_generator = generator if isinstance(seed, torch.Generator) else as_generator(int(seed) + 1)
    return y.to(device), (z if takes_input else None), noise_generator, device


def fit(net: nn.Module, A: LinearOperator, y: torch.Tensor, n_iter: int = 1000, lr: float = 0.01, z=None,
        input_noise: float = 1 / 30, regulariser=None, optimizer=torch.optim.Adam, ema: float = 0.0,
        observers=(), seed=0, progress: bool = True, device=None):
    r"""Fit ``net`` to one measurement: ``n_iter`` :func:`dip_step` s on
    :math:`\tfrac1m\|A\,G(z + \epsilon_k) - y\|^2 + \tfrac1n g(G(z + \epsilon_k))`.

    Parameters
    ----------
    net : nn.Module
        A generator mapping ``z`` to ``(1, 1, *A.in_shape)``; trained in place. A generator without
        input (``net.takes_input`` False, e.g. :class:`ConvGenerator`) is called as ``net()``.
    A, y : LinearOperator, tensor
        The forward model on images ``(H, W)`` (or signals ``(n,)`` for a generator without input)
        and the measurement; both are moved to ``device`` (the operator in place).
    z : tensor, optional
        The fixed input; by default :func:`generator_input` with 32 channels at full size.
    input_noise : float
        Std of the fresh noise added to ``z`` at every step (0: none).
    regulariser : Functional, optional
        A prior on the output, per pixel (see :func:`dip_step`): ``TotalVariation(w, ndim=2)`` is DIP + TV.
    optimizer : torch.optim class or factory
        ``torch.optim.Adam`` (the default) or ``torch.optim.SGD`` (plain gradient descent with step ``lr``, the
        setting of the theory), called as ``optimizer(net.parameters(), lr=lr)``; or a factory
        ``params -> Optimizer`` that sets its own step.
    ema : float
        Exponential averaging of the outputs (0: none); the averaged output is what observers see
        as ``average`` and what is returned.
    observers : iterable
        Each gets ``start(untrained output or None)`` and, after every step,
        ``update(iteration, raw, average, history) -> bool`` (True stops the fit): :class:`Metrics`
        (PSNR against a truth), :class:`Snapshots`, :class:`EarlyStopping` (a truth-free detector).
    seed : int or torch.Generator
        Seeds ``z`` and its perturbations; seed the network's initialisation yourself
        (``torch.manual_seed``) before building it.

    Returns
    -------
    x, history
        The last (averaged) output on the CPU, and a :class:`~course_lib.history.History` with
        ``loss`` per iteration (and what the observers logged), ``iterations`` and ``seconds``.
    """
    from .functionals import Functional, TotalVariation
    from .training import make_optimizer

    check_positive_int(n_iter, "n_iter", "fit")
    if regulariser is not None and not isinstance(regulariser, Functional):
        raise TypeError(f"regulariser is a {type(regulariser).__name__}; fit expects a course_lib Functional, e.g. "
                        "TotalVariation(0.03, ndim=2) for DIP + TV")
    if isinstance(regulariser, TotalVariation) and regulariser.ndim > len(A.in_shape):
        raise ValueError(f"{regulariser!r} is for images (H, W); A's input is {A.in_shape}: use ndim=1 for signals")
    check_number(ema, "ema", "fit")
    y, z, generator, device = _prepare(net, A, y, z, seed, device)
    observers = list(observers)
    opt = make_optimizer(optimizer, net.parameters(), lr, "fit")
    untrained = None
    if any(getattr(o, "wants_start", False) for o in observers):
        with torch.no_grad():
            untrained = (net(z) if z is not None else net()).reshape(A.in_shape)
    for observer in observers:
        observer.start(untrained)
    from tqdm.auto import tqdm

    history, average, start = History(iterations=0, seconds=0.0), None, time.perf_counter()
    for k in tqdm(range(1, n_iter + 1), desc="DIP", disable=not progress, leave=False):
        loss, out = dip_step(net, opt, A, y, z, input_noise, generator, regulariser)
        average = out if (average is None or not ema) else ema * average + (1 - ema) * out
        history.log(loss=loss)
        history.iterations = k
        stop = [observer.update(k, out, average, history) for observer in observers]
        if any(stop):
            break
    history.seconds = time.perf_counter() - start
    return average.cpu(), history


def educated_input(A: LinearOperator, y: torch.Tensor) -> torch.Tensor:
    """The input of an educated DIP: the adjoint reconstruction ``A^* y`` as ``(N, 1, H, W)`` (real part), on ``A``'s
    device."""
    x = A.A_adjoint(y.to(A.device))
    x = x.real if x.is_complex() else x
    return x.reshape(-1, 1, *A.in_shape)


PHANTOMS = ("dead_leaves", "ellipses")


def pretrain(net: nn.Module, A: LinearOperator, sigma: float, n_iter: int = 200, batch: int = 8, lr: float = 0.01,
             phantoms: str = "dead_leaves", pool: int | None = None, seed=0, progress: bool = True, device=None):
    r"""Train ``net`` (input channels 1) to map :math:`A^*(Ax + n)` to :math:`x` on synthetic images.

    Each step draws ``batch`` fresh ``phantoms`` (:func:`~course_lib.data.dead_leaves` or
    :func:`~course_lib.data.random_ellipses`) of the operator's image size, noise of std ``sigma``,
    and takes an Adam step on the MSE (:func:`course_lib.training.train`, the learning rate decaying by
    cosine to 0). Returns ``(net, history)``, the loss per iteration in ``history.loss``.
    ``pool``: draw that many phantoms once and sample the batches from them, each turned by a
    random multiple of 90 degrees and maybe flipped (drawing phantoms costs more than a training
    step on small images). Then ``fit(net.eval(), A, y, z=educated_input(A, y), input_noise=0)``
    starts from what the network learnt (``eval()`` keeps the BatchNorm statistics of the
    pretraining; the weights are still trained). For a convolutional network and a shift-invariant
    operator (denoising, deblurring), pretrain on small images (an operator of a smaller size): it
    is much cheaper.
    """
    from .data import dead_leaves, random_ellipses
    from .training import train

    if not isinstance(A, LinearOperator):
        raise TypeError(f"A is a {type(A).__name__}; pretrain expects a course_lib LinearOperator")
    if len(A.in_shape) != 2 or A.in_shape[0] != A.in_shape[1]:
        raise ValueError(f"A is {A!r}; pretrain expects an operator on square images (H, H)")
    check_positive_int(batch, "batch", "pretrain")
    if phantoms not in PHANTOMS:
        raise ValueError(f"phantoms is {phantoms!r}; pretrain expects one of {PHANTOMS}")
    sample = dead_leaves if phantoms == "dead_leaves" else random_ellipses
    if pool is not None:
        check_positive_int(pool, "pool", "pretrain")
    device = device or next(net.parameters()).device
    net.to(device)
    A.to(device)
    generator = as_generator(seed)
    images = sample(pool, A.in_shape[0], seed=generator) if pool else None

    def pairs(gen):
        """A batch (y, x): phantoms (fresh, or turned and flipped from the pool) and their noisy measurements."""
        if images is None:
            x = sample(batch, A.in_shape[0], seed=gen)
        else:
            pick = torch.randint(pool, (batch,), generator=gen)
            turns, flip = torch.randint(4, (1,), generator=gen).item(), torch.rand(1, generator=gen).item() < 0.5
            x = torch.rot90(images[pick], turns, dims=(-2, -1))
            x = x.flip(-1) if flip else x
        x = x.to(device)
        y = A(x)
        return y + sigma * torch.randn(y.shape, generator=gen, dtype=y.real.dtype).to(device), x

    return train(net, pairs, n_iter=n_iter, lr=lr, predict=lambda model, y: model(educated_input(A, y))[:, 0],
                 seed=generator, lr_floor=0.0, progress=progress, description="pretraining")
