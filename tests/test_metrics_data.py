"""Metrics and seeded data."""
import math

import numpy as np
import pytest
import torch

from course_lib.data import (
    TEST_IMAGES,
    add_noise,
    gaussian_matrix,
    noise_sigma_for_snr,
    piecewise_constant,
    sparse_signals,
)
from course_lib.data import test_image as load_test_image  # not collected as a test
from course_lib.metrics import convergence_rate, mse, nmse_db, psnr, relative_error, ssim


def test_metrics_known_values():
    ref = torch.ones(4, 4)
    x = ref + 0.1
    assert mse(x, ref) == pytest.approx(0.01)
    assert psnr(x, ref) == pytest.approx(20.0)
    assert nmse_db(x, ref) == pytest.approx(-20.0)
    assert relative_error(x, ref) == pytest.approx(0.1)
    assert psnr(ref, ref) == math.inf
    assert nmse_db(ref, ref) == -math.inf


def test_psnr_matches_skimage():
    from skimage.metrics import peak_signal_noise_ratio
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(16, 16, generator=g, dtype=torch.float64), torch.rand(16, 16, generator=g, dtype=torch.float64)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b.numpy(), a.numpy(), data_range=1.0))


def test_convergence_rate_recovers_exponents():
    k = np.arange(1, 1001, dtype=float)
    assert convergence_rate(np.r_[1.0, 3 / k]) == pytest.approx(1.0)
    assert convergence_rate(np.r_[1.0, 5 / k ** 2], start=10) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="two positive values"):
        convergence_rate([1.0, 0.0, 0.0])


def test_metric_errors():
    with pytest.raises(ValueError, match=r"x has shape \(3,\) and ref has shape \(4,\)"):
        mse(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="all zeros"):
        nmse_db(torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match="positive peak"):
        psnr(torch.ones(3), torch.ones(3), data_range=0)


def test_sparse_signals_are_seeded_and_sparse():
    x = sparse_signals(1000, 500, 0.1, seed=7)
    assert x.shape == (1000, 500) and x.dtype == torch.float32
    assert (x != 0).float().mean().item() == pytest.approx(0.1, abs=0.005)
    assert torch.equal(x, sparse_signals(1000, 500, 0.1, seed=7))
    assert not torch.equal(x, sparse_signals(1000, 500, 0.1, seed=8))
    with pytest.raises(ValueError, match="probability"):
        sparse_signals(2, 3, p=1.5)


def test_piecewise_constant_has_the_jumps_asked_for():
    x = piecewise_constant(5, 100, n_jumps=3, seed=0, dtype=torch.float64)
    assert x.shape == (5, 100)
    assert all(int((row[1:] != row[:-1]).sum()) <= 3 for row in x)
    assert x.abs().max() <= 1
    with pytest.raises(ValueError, match="n_jumps"):
        piecewise_constant(1, 10, n_jumps=10)


def test_gaussian_matrix_unit_columns():
    A = gaussian_matrix(250, 500, seed=0)
    assert A.shape == (250, 500)
    assert torch.allclose(A.norm(dim=0), torch.ones(500), atol=1e-5)


@pytest.mark.parametrize("name", ["camera", "astronaut", "coins"])
def test_test_images(name):
    im = load_test_image(name, 64)
    assert im.shape == (64, 64) and im.dtype == torch.float32
    assert 0 <= im.min() and im.max() <= 1 and im.std() > 0.05
    assert set(TEST_IMAGES) >= {"camera", "astronaut"}
    with pytest.raises(ValueError, match="choose one of"):
        load_test_image("lena")


def test_noise_by_sigma_and_snr():
    y = torch.ones(100_000, dtype=torch.float64)
    noisy = add_noise(y, sigma=0.5, seed=0)
    assert (noisy - y).std().item() == pytest.approx(0.5, rel=0.02)
    noisy = add_noise(y, snr_db=20, seed=0)
    measured = 10 * math.log10(y.square().mean().item() / (noisy - y).square().mean().item())
    assert measured == pytest.approx(20, abs=0.1)
    assert noise_sigma_for_snr(y, 20) == pytest.approx(0.1)
    assert torch.equal(add_noise(y, sigma=0.1, seed=3), add_noise(y, sigma=0.1, seed=3))
    z = add_noise(torch.zeros(100_000, dtype=torch.complex128), sigma=1.0, seed=0)
    assert z.abs().square().mean().item() == pytest.approx(1.0, rel=0.02)
    with pytest.raises(ValueError, match="exactly one"):
        add_noise(y)


def test_imaging_data_generators():
    from course_lib.data import light_field_psfs, random_ellipses, rpca_video, sparse_images
    psfs = light_field_psfs(5, 4, 9)
    assert psfs.shape == (5, 4, 9, 9) and torch.allclose(psfs.sum((2, 3)), torch.ones(5, 4))
    assert not torch.allclose(psfs[0, 0], psfs[-1, 0])  # views see a depth plane at different shifts
    tissue, bubbles = rpca_video(15, (16, 16), rank=2, n_bubbles=5, seed=0, dtype=torch.float64)
    assert torch.linalg.matrix_rank(tissue.reshape(15, -1)) == 2
    assert 0 < int((bubbles != 0).sum()) <= 5 * 15
    ims = random_ellipses(4, 32, seed=0)
    assert ims.shape == (4, 32, 32) and 0 <= ims.min() and ims.max() <= 1 and ims.std() > 0.05
    e = sparse_images(100, (10, 10), 0.05, seed=0)
    assert (e > 0).float().mean().item() == pytest.approx(0.05, abs=0.01) and e.min() >= 0


def test_dead_leaves():
    from course_lib.data import dead_leaves
    ims = dead_leaves(3, 48, n_discs=300, seed=1)
    assert ims.shape == (3, 48, 48) and ims.dtype == torch.float32 and 0 <= ims.min() and ims.max() <= 1
    assert torch.equal(ims, dead_leaves(3, 48, n_discs=300, seed=1))            # seeded
    # piecewise constant: most neighbours are equal, yet there are many grey levels (many discs are seen)
    assert (ims[:, 1:] == ims[:, :-1]).float().mean() > 0.6
    assert all(len(torch.unique(im)) > 30 for im in ims)
    # one disc of radius 8 pixels: at most pi * 8^2 (+ rounding at the rim) pixels differ from the background
    sizes = [(im != im.flatten().mode().values).sum().item()
             for im in dead_leaves(20, 64, n_discs=1, r_min=0.125 - 1e-12, r_max=0.125)]
    assert max(sizes) <= math.pi * 64 + 20 and max(sizes) > math.pi * 64 - 20      # some disc lies fully inside
    with pytest.raises(ValueError, match="r_min"):
        dead_leaves(1, 8, r_min=0.5, r_max=0.1)


def test_ssim():
    from course_lib.data import add_noise, test_image
    x = test_image("camera", 64)
    assert ssim(x, x) == pytest.approx(1.0)
    noisy = [ssim(add_noise(x, sigma=s, seed=0), x) for s in (0.02, 0.1, 0.3)]
    assert noisy[0] > noisy[1] > noisy[2]
    with pytest.raises(ValueError, match="one image"):
        ssim(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))
