"""Seeded data for the course: sparse and piecewise-constant signals, Gaussian matrices,
scikit-image's bundled test images, and noise by standard deviation or SNR.

Nothing is downloaded. Every random function takes ``seed`` (an int or a ``torch.Generator``).
"""
from __future__ import annotations

import math

import torch

from .utils import as_generator, check_positive_int, check_tensor

__all__ = ["sparse_signals", "piecewise_constant", "gaussian_matrix", "test_image", "TEST_IMAGES",
           "add_noise", "noise_sigma_for_snr", "sparse_images", "light_field_psfs", "rpca_video",
           "random_ellipses", "dead_leaves", "random_patches", "TRAINING_IMAGES", "HELD_OUT_IMAGES", "TEST_IMAGES",
           "COLOR_IMAGES", "digits"]

#: Grayscale-able images bundled with scikit-image (no download needed).
TEST_IMAGES = ("camera", "astronaut", "coins", "moon", "text", "brick", "grass", "gravel", "page",
               "cell", "clock", "coffee", "chelsea", "shepp_logan_phantom", "microaneurysms")
#: The colour ones among them (``test_image(name, color=True)``).
COLOR_IMAGES = ("astronaut", "coffee", "chelsea")


def sparse_signals(n_samples: int, n: int, p: float = 0.1, seed=0, dtype=torch.float32,
                   device=None) -> torch.Tensor:
    r"""Bernoulli-Gaussian sparse vectors ``(n_samples, n)``: :math:`x_i = b_i g_i`,
    :math:`b_i \sim \mathrm{Bernoulli}(p)`, :math:`g_i \sim \mathcal N(0, 1)`.

    The standard synthetic model of the LISTA literature (p = 0.1).
    """
    check_positive_int(n_samples, "n_samples", "sparse_signals")
    check_positive_int(n, "n", "sparse_signals")
    if not 0 <= p <= 1:
        raise ValueError(f"p is {p}; sparse_signals expects a probability in [0, 1]")
    gen = as_generator(seed)
    support = torch.rand(n_samples, n, generator=gen, dtype=torch.float64) < p
    values = torch.randn(n_samples, n, generator=gen, dtype=torch.float64)
    return (support * values).to(dtype=dtype, device=device)


def piecewise_constant(n_samples: int, n: int, n_jumps: int = 4, seed=0, dtype=torch.float32,
                       device=None) -> torch.Tensor:
    """Piecewise-constant signals ``(n_samples, n)`` with ``n_jumps`` jumps at random places
    and levels drawn uniformly from [-1, 1]."""
    check_positive_int(n_samples, "n_samples", "piecewise_constant")
    check_positive_int(n, "n", "piecewise_constant")
    if not 0 <= n_jumps < n:
        raise ValueError(f"n_jumps is {n_jumps}; piecewise_constant expects 0 <= n_jumps < n = {n}")
    gen = as_generator(seed)
    out = torch.empty(n_samples, n, dtype=torch.float64)
    for i in range(n_samples):
        jumps = torch.randperm(n - 1, generator=gen)[:n_jumps].sort().values + 1
        levels = 2 * torch.rand(n_jumps + 1, generator=gen, dtype=torch.float64) - 1
        segment = torch.zeros(n, dtype=torch.long)
        segment[jumps] = 1
        out[i] = levels[torch.cumsum(segment, 0)]
    return out.to(dtype=dtype, device=device)


def gaussian_matrix(m: int, n: int, seed=0, normalize_columns: bool = True, dtype=torch.float32,
                    device=None) -> torch.Tensor:
    r"""An ``(m, n)`` matrix with i.i.d. :math:`\mathcal N(0, 1/m)` entries, columns scaled to unit norm
    by default (the sparse-coding benchmark's dictionary)."""
    check_positive_int(m, "m", "gaussian_matrix")
    check_positive_int(n, "n", "gaussian_matrix")
    A = torch.randn(m, n, generator=as_generator(seed), dtype=torch.float64) / math.sqrt(m)
    if normalize_columns:
        A = A / A.norm(dim=0, keepdim=True)
    return A.to(dtype=dtype, device=device)


def test_image(name: str = "camera", size: int | None = 128, dtype=torch.float32, device=None,
               color: bool = False) -> torch.Tensor:
    """A grayscale test image in [0, 1] from scikit-image's bundled set, shape ``(size, size)``.

    The image is cropped to its central square and resized (anti-aliased) to ``size``;
    ``size=None`` keeps the central square at full resolution. Names: :data:`TEST_IMAGES`.
    ``color=True`` gives an RGB image ``(3, size, size)`` (names: :data:`COLOR_IMAGES`).
    """
    import numpy as np
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    if name not in TEST_IMAGES:
        raise ValueError(f"unknown test image {name!r}; choose one of {', '.join(TEST_IMAGES)}")
    if color and name not in COLOR_IMAGES:
        raise ValueError(f"{name!r} is not a colour image; color=True expects one of {', '.join(COLOR_IMAGES)}")
    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        image = image[..., :3] if color else rgb2gray(image[..., :3])
    image = image.astype(np.float64)
    if image.max() > 1:
        image = image / 255.0
    h, w = image.shape[:2]
    s = min(h, w)
    image = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    if size is not None:
        check_positive_int(size, "size", "test_image")
        image = resize(image, (size, size), anti_aliasing=True)
    image = torch.from_numpy(np.clip(image, 0, 1))
    return (image.permute(2, 0, 1) if color else image).to(dtype=dtype, device=device)


#: The held-out images of the denoising benchmarks: learned models never see them in training.
HELD_OUT_IMAGES = ("camera", "astronaut", "coins")
#: The images learned models train on (patches of them), disjoint from :data:`HELD_OUT_IMAGES`.
TRAINING_IMAGES = ("moon", "text", "brick", "grass", "gravel", "page", "clock", "coffee", "chelsea", "cell")


def random_patches(images, n: int, size: int, seed=0) -> torch.Tensor:
    """``n`` random ``size x size`` crops ``(n, 1, size, size)`` of the 2-D tensors in ``images`` (a list or tuple),
    each from an image drawn at random: unlimited training data from a few pictures."""
    check_positive_int(n, "n", "random_patches")
    check_positive_int(size, "size", "random_patches")
    small = [tuple(im.shape) for im in images if im.ndim != 2 or min(im.shape) < size]
    if small or not images:
        raise ValueError(f"random_patches expects 2-D images of at least {size} x {size}; got shapes {small or 'none'}")
    gen = as_generator(seed)
    crops = []
    for _ in range(n):
        image = images[int(torch.randint(len(images), (1,), generator=gen))]
        r = int(torch.randint(image.shape[0] - size + 1, (1,), generator=gen))
        c = int(torch.randint(image.shape[1] - size + 1, (1,), generator=gen))
        crops.append(image[r:r + size, c:c + size])
    return torch.stack(crops)[:, None]


def noise_sigma_for_snr(y: torch.Tensor, snr_db: float) -> float:
    r"""The noise standard deviation σ that gives ``y`` an SNR of ``snr_db``:
    :math:`\mathrm{SNR} = 10\log_{10}(\overline{|y|^2}/\sigma^2)`."""
    check_tensor(y, "y", "noise_sigma_for_snr")
    power = (y.abs() ** 2).mean().item()
    if power == 0:
        raise ValueError("y is all zeros; an SNR relative to it is undefined")
    return math.sqrt(power / 10 ** (snr_db / 10))


def add_noise(y: torch.Tensor, sigma: float | None = None, snr_db: float | None = None, seed=0) -> torch.Tensor:
    r"""``y`` plus white Gaussian noise of standard deviation ``sigma``, or at a given ``snr_db``.

    Exactly one of ``sigma`` and ``snr_db`` is given. Complex ``y`` gets complex noise with
    :math:`\mathbb E|n_i|^2 = \sigma^2`. The noise is drawn on the CPU from ``seed`` so that
    it is the same on every device.
    """
    check_tensor(y, "y", "add_noise")
    if (sigma is None) == (snr_db is None):
        raise ValueError("add_noise expects exactly one of sigma= and snr_db=")
    if sigma is None:
        sigma = noise_sigma_for_snr(y, snr_db)
    if not sigma >= 0:
        raise ValueError(f"sigma is {sigma}; add_noise expects sigma >= 0")
    gen = as_generator(seed)
    if y.is_complex():
        real_dtype = y.real.dtype
        noise = torch.complex(torch.randn(y.shape, generator=gen, dtype=real_dtype),
                              torch.randn(y.shape, generator=gen, dtype=real_dtype)) / math.sqrt(2)
    else:
        noise = torch.randn(y.shape, generator=gen, dtype=y.dtype)
    return y + sigma * noise.to(y.device)


def sparse_images(n_samples: int, shape, p: float = 0.01, seed=0, low: float = 0.5, high: float = 1.5,
                  dtype=torch.float32, device=None) -> torch.Tensor:
    """Point emitters: ``(n_samples, *shape)`` images, each pixel lit with probability ``p`` at an
    intensity uniform in [low, high] (non-negative, sparse): fluorescent molecules or neurons."""
    check_positive_int(n_samples, "n_samples", "sparse_images")
    if not 0 <= p <= 1:
        raise ValueError(f"p is {p}; sparse_images expects a probability in [0, 1]")
    gen = as_generator(seed)
    shape = tuple(int(v) for v in shape)
    lit = torch.rand(n_samples, *shape, generator=gen, dtype=torch.float64) < p
    values = low + (high - low) * torch.rand(n_samples, *shape, generator=gen, dtype=torch.float64)
    return (lit * values).to(dtype=dtype, device=device)


def light_field_psfs(n_views: int = 5, n_depths: int = 4, size: int = 9, sigma: float = 0.7,
                     max_shift: float = 3.0, dtype=torch.float32, device=None) -> torch.Tensor:
    """Point-spread functions ``(n_views, n_depths, size, size)`` of a toy light-field microscope.

    View v sees depth plane d as a Gaussian spot shifted sideways by ``u_v * s_d`` pixels
    (parallax: u_v in [-1, 1] across views, s_d in [-max_shift, max_shift] across depths) and
    widened away from the focal plane (defocus). Each PSF sums to 1. With several views the
    depth of a point becomes identifiable from its shifts, as in a real light field.
    """
    check_positive_int(n_views, "n_views", "light_field_psfs")
    check_positive_int(n_depths, "n_depths", "light_field_psfs")
    if size % 2 == 0:
        raise ValueError(f"size is {size}; light_field_psfs expects an odd size")
    u = torch.linspace(-1, 1, n_views, dtype=torch.float64) if n_views > 1 else torch.zeros(1, dtype=torch.float64)
    depth = (torch.linspace(-1, 1, n_depths, dtype=torch.float64) if n_depths > 1
             else torch.zeros(1, dtype=torch.float64))
    r = torch.arange(size, dtype=torch.float64) - size // 2
    psfs = torch.empty(n_views, n_depths, size, size, dtype=torch.float64)
    for v in range(n_views):
        for d in range(n_depths):
            width = sigma * (1 + 0.6 * abs(depth[d].item()))
            shift = u[v].item() * depth[d].item() * max_shift
            g = torch.exp(-0.5 * (r[:, None] / width) ** 2 - 0.5 * ((r[None, :] - shift) / width) ** 2)
            psfs[v, d] = g / g.sum()
    return psfs.to(dtype=dtype, device=device)


def rpca_video(n_frames: int = 20, shape=(32, 32), rank: int = 2, n_bubbles: int = 6, seed=0,
               bubble_intensity: float = 1.0, dtype=torch.float32, device=None):
    """A synthetic ultrasound-like video ``(n_frames, H, W)`` as the pair ``(tissue, bubbles)``.

    *Tissue* is low rank: ``rank`` smooth spatial patterns, each modulated slowly in time (strong,
    like clutter). *Bubbles* are sparse: ``n_bubbles`` single-pixel points, each moving along a
    straight line at its own speed (weak, like microbubbles in blood). The data are their sum.
    """
    import torch.nn.functional as F

    check_positive_int(n_frames, "n_frames", "rpca_video")
    gen = as_generator(seed)
    H, W = (int(v) for v in shape)
    t = torch.linspace(0, 1, n_frames, dtype=torch.float64)
    coarse = torch.randn(rank, 1, max(2, H // 8), max(2, W // 8), generator=gen, dtype=torch.float64)
    patterns = F.interpolate(coarse, size=(H, W), mode="bicubic", align_corners=True)[:, 0]
    freqs = 0.5 + torch.rand(rank, generator=gen, dtype=torch.float64)
    phases = 2 * math.pi * torch.rand(rank, generator=gen, dtype=torch.float64)
    temporal = 2 + torch.cos(2 * math.pi * freqs[:, None] * t[None, :] + phases[:, None])  # (rank, frames)
    tissue = torch.einsum("rhw,rt->thw", patterns, temporal)
    bubbles = torch.zeros(n_frames, H, W, dtype=torch.float64)
    start = torch.rand(n_bubbles, 2, generator=gen, dtype=torch.float64) * torch.tensor([H - 1, W - 1])
    velocity = (torch.rand(n_bubbles, 2, generator=gen, dtype=torch.float64) - 0.5) * 2.0  # pixels per frame
    for f in range(n_frames):
        pos = torch.round(start + f * velocity).long()
        pos[:, 0] %= H
        pos[:, 1] %= W
        bubbles[f, pos[:, 0], pos[:, 1]] = bubble_intensity
    return tissue.to(dtype=dtype, device=device), bubbles.to(dtype=dtype, device=device)


def random_ellipses(n_samples: int, size: int = 64, n_ellipses: int = 6, seed=0, dtype=torch.float32,
                    device=None) -> torch.Tensor:
    """Random phantoms ``(n_samples, size, size)`` in [0, 1]: sums of ellipses of random centre,
    axes, angle and intensity, clipped. Unlimited training images, no download."""
    check_positive_int(n_samples, "n_samples", "random_ellipses")
    check_positive_int(size, "size", "random_ellipses")
    gen = as_generator(seed)
    r = torch.linspace(-1, 1, size, dtype=torch.float64)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    images = torch.zeros(n_samples, size, size, dtype=torch.float64)
    for i in range(n_samples):
        p = torch.rand(n_ellipses, 6, generator=gen, dtype=torch.float64)
        for cx, cy, a, b, angle, value in p.tolist():
            cx, cy, a, b = 1.4 * cx - 0.7, 1.4 * cy - 0.7, 0.1 + 0.4 * a, 0.1 + 0.4 * b
            c, s_ = math.cos(math.pi * angle), math.sin(math.pi * angle)
            u, v = c * (xx - cx) + s_ * (yy - cy), -s_ * (xx - cx) + c * (yy - cy)
            images[i] += (0.2 + 0.8 * value) * (((u / a) ** 2 + (v / b) ** 2) <= 1)
    return images.clamp(0, 1).to(dtype=dtype, device=device)


def dead_leaves(n_samples: int, size: int = 64, n_discs: int = 400, r_min: float = 0.01, r_max: float = 0.5,
                seed=0, dtype=torch.float32, device=None) -> torch.Tensor:
    r"""Dead-leaves images ``(n_samples, size, size)`` in [0, 1]: ``n_discs`` discs of random grey level
    falling on top of each other, radii (in units of the image width) drawn from the scale-invariant
    law :math:`p(r) \propto r^{-3}` on [r_min, r_max]. Occlusions, edges at every scale and flat
    regions: synthetic images with statistics close to natural ones, to pretrain a network."""
    check_positive_int(n_samples, "n_samples", "dead_leaves")
    check_positive_int(size, "size", "dead_leaves")
    check_positive_int(n_discs, "n_discs", "dead_leaves")
    if not 0 < r_min < r_max:
        raise ValueError(f"r_min is {r_min!r}, r_max {r_max!r}; dead_leaves expects 0 < r_min < r_max")
    gen = as_generator(seed)
    centre = torch.arange(size, dtype=torch.float64) + 0.5
    images = torch.empty(n_samples, size, size, dtype=torch.float64)
    for i in range(n_samples):
        u, cx, cy, value = torch.rand(4, n_discs, generator=gen, dtype=torch.float64)
        # inverse CDF of p(r) ~ r^-3 on [r_min, r_max], in pixels
        r = size * (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5
        cx, cy = size * cx, size * cy
        image = images[i]
        image.fill_(torch.rand(1, generator=gen, dtype=torch.float64).item())
        for x0, y0, rad, val in zip(cx.tolist(), cy.tolist(), r.tolist(), value.tolist()):
            # paint the disc in its bounding box; the last disc to fall is on top
            r0, r1 = max(0, int(y0 - rad)), min(size, int(y0 + rad) + 1)
            c0, c1 = max(0, int(x0 - rad)), min(size, int(x0 + rad) + 1)
            if r0 >= r1 or c0 >= c1:
                continue
            inside = (centre[r0:r1, None] - y0) ** 2 + (centre[None, c0:c1] - x0) ** 2 <= rad ** 2
            image[r0:r1, c0:c1][inside] = val
    return images.to(dtype=dtype, device=device)


def digits(test_fraction: float = 0.25, seed=0, dtype=torch.float32, device=None) -> tuple:
    """scikit-learn's bundled handwritten digits (1797 images of 8x8 pixels, 10 classes; no download), scaled to
    [0, 1]: ``(x_train, y_train, x_test, y_test)``, images ``(N, 1, 8, 8)``, split at random by ``seed`` (an int or
    a ``torch.Generator``; the split is drawn on the CPU, the same on every ``device``)."""
    from sklearn.datasets import load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction is {test_fraction}; digits expects a number in (0, 1)")
    bunch = load_digits()
    x = torch.from_numpy(bunch.images / 16.0).to(dtype=dtype, device=device)[:, None]
    y = torch.from_numpy(bunch.target).long().to(device)
    order = torch.randperm(len(x), generator=as_generator(seed))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test].to(x.device), order[n_test:].to(x.device)
    return x[train], y[train], x[test], y[test]
