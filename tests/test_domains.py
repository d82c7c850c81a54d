"""course_lib.domains: where an encoder-decoder learns to reconstruct from undersampled Fourier data."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import domains
from course_lib import geometry as geo
from course_lib.lifting import WaveletTransform
from course_lib.operators import Identity, SubsampledFourier

F64 = torch.float64


def mirror(m: torch.Tensor) -> torch.Tensor:
    """``m`` at the negated frequencies (unshifted FFT layout)."""
    H, W = m.shape
    return m[(-torch.arange(H)) % H][:, (-torch.arange(W)) % W]


@settings(deadline=None, max_examples=30)
@given(h=st.integers(8, 40), w=st.integers(8, 40), acceleration=st.floats(2.0, 6.0), seed=st.integers(0, 2**16))
def test_the_mask_is_symmetric_holds_the_centre_and_about_its_share(h, w, acceleration, seed):
    m = domains.variable_density_mask((h, w), acceleration, center_radius=1.5, seed=seed)
    assert m.shape == (h, w) and set(m.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(m, mirror(m)), "k and -k are sampled together"
    ky = torch.fft.fftfreq(h, 1 / h)[:, None]
    kx = torch.fft.fftfreq(w, 1 / w)[None, :]
    assert bool(m[(ky ** 2 + kx ** 2) <= 1.5 ** 2].all()), "the centre is fully sampled"
    assert torch.equal(m, domains.variable_density_mask((h, w), acceleration, center_radius=1.5, seed=seed))


def test_the_mask_samples_one_in_acceleration_on_average():
    shares = [domains.variable_density_mask((64, 64), 4.0, 3.0, seed=s).mean().item() for s in range(20)]
    assert abs(sum(shares) / len(shares) - 0.25) < 0.01


def test_the_mask_follows_the_device_it_is_asked_for():
    assert domains.variable_density_mask((8, 8), 2.0, 1.0, device=torch.device("cpu")).device.type == "cpu"


def test_the_mask_refuses_a_centre_larger_than_its_share():
    with pytest.raises(ValueError, match="center_radius 20.0 alone samples more than 1/acceleration"):
        domains.variable_density_mask((32, 32), 4.0, center_radius=20.0)
    with pytest.raises(ValueError, match="acceleration"):
        domains.variable_density_mask((32, 32), 0.5)


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**16), acceleration=st.floats(2.0, 5.0))
def test_data_consistency_puts_the_measured_frequencies_back_and_is_a_projection(seed, acceleration):
    g = torch.Generator().manual_seed(seed)
    A = SubsampledFourier(domains.variable_density_mask((16, 12), acceleration, 1.0, seed=seed))
    x, v = torch.rand(16, 12, generator=g, dtype=F64), torch.randn(3, 16, 12, generator=g, dtype=F64)
    y = A(x)
    z = domains.data_consistency(A, y, v)
    assert torch.allclose(A(z), y.expand_as(A(z)), atol=1e-12), "the measured frequencies are y's"
    assert torch.allclose(domains.data_consistency(A, y, z), z, atol=1e-12), "applied twice, nothing changes"
    assert torch.allclose(A.A_adjoint_A(A.A_adjoint_A(v)), A.A_adjoint_A(v), atol=1e-12), "A*A is a projection"
    assert torch.allclose(z - v, A.A_adjoint_A(x - v), atol=1e-12), "only the measured part of v changes"


def test_data_consistency_refuses_another_operator():
    with pytest.raises(TypeError, match="expects a SubsampledFourier"):
        domains.data_consistency(Identity((4, 4)), torch.zeros(4, 4), torch.zeros(4, 4))


def test_the_k_space_weight_grows_with_the_distance_to_zero_and_is_symmetric():
    w = domains.kspace_weight((8, 6), dtype=F64)
    assert w[0, 0] == 16 / 8 and w[0, 1] == 16 / 8 and abs(w[4, 3].item() - 16 * 5 / 8) < 1e-12
    assert torch.equal(w, mirror(w)) and bool((w > 0).all())


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return domains.EncoderDecoder(2, 3, width=4).to(F64)


def test_the_encoder_decoder_keeps_the_size_and_gives_the_decoder_its_features(net):
    x = torch.randn(5, 2, 8, 6, dtype=F64)
    skip, deep = net.encode(x)
    assert skip.shape == (5, 4, 8, 6) and deep.shape == (5, 8, 4, 3)
    assert torch.equal(net(x), net.decode(skip, deep)) and net(x).shape == (5, 3, 8, 6)
    assert all(m.bias is None for m in net.modules() if isinstance(m, torch.nn.Conv2d)), "no biases"


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 2**16), scale=st.floats(0.01, 100.0))
def test_without_biases_the_network_is_its_jacobian_times_the_input(net, seed, scale):
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(seed), dtype=F64)
    assert torch.allclose(net(scale * x), scale * net(x), rtol=1e-10, atol=1e-12), "positively homogeneous"
    J = geo.jacobian(net, x)
    assert J.shape == (3 * 16, 2 * 16)
    assert torch.allclose(J @ x.reshape(-1), net(x).reshape(-1), rtol=1e-10, atol=1e-12), "f(x) = J(x) x"


def test_jacobian_agrees_with_autograd_and_concatenates_a_tuple(net):
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    reference = torch.autograd.functional.jacobian(lambda z: net(z).reshape(-1), x).reshape(48, 32)
    assert torch.allclose(geo.jacobian(net, x), reference, atol=1e-12)
    E = geo.jacobian(net.encode, x)
    assert E.shape == (4 * 16 + 8 * 4, 32)
    skip, deep = net.encode(x)
    assert torch.allclose(E @ x.reshape(-1), torch.cat([skip.reshape(-1), deep.reshape(-1)]), atol=1e-12)
    with pytest.raises(TypeError, match="expects a function"):
        geo.jacobian(3, x)


def test_the_encoder_decoder_refuses_the_wrong_input(net):
    with pytest.raises(ValueError, match=r"expects \(N, 2, H, W\) with H and W even"):
        net(torch.zeros(1, 1, 4, 4, dtype=F64))
    with pytest.raises(ValueError, match="H and W even"):
        net(torch.zeros(1, 2, 5, 4, dtype=F64))


@pytest.mark.parametrize("domain", domains.DOMAINS)
def test_a_reconstructor_with_its_network_silenced_gives_the_zero_filled_image(domain):
    A = SubsampledFourier(domains.variable_density_mask((16, 12), 3.0, 1.0, seed=2))
    model = domains.Reconstructor(A, domain, width=4)
    for p in model.net.parameters():
        torch.nn.init.zeros_(p)
    x = torch.rand(2, 16, 12, generator=torch.Generator().manual_seed(0))
    y = A(x)
    assert torch.allclose(model(y), A.A_adjoint(y), atol=1e-5), "image, k-space and subbands map back exactly"
    assert model(y[0]).shape == (16, 12)


@pytest.mark.parametrize("domain", domains.DOMAINS)
def test_a_reconstructor_sees_its_domain_and_keeps_the_measurements(domain):
    A = SubsampledFourier(domains.variable_density_mask((16, 12), 3.0, 1.0, seed=2))
    torch.manual_seed(0)
    model = domains.Reconstructor(A, domain, width=4)
    x = torch.rand(3, 16, 12, generator=torch.Generator().manual_seed(0))
    y = A(x)
    channels, shape = {"image": (1, (16, 12)), "k-space": (2, (16, 12)), "wavelet": (4, (8, 6))}[domain]
    assert model.net_input(y).shape == (3, channels, *shape)
    assert torch.allclose(A(model(y)), y, atol=1e-5), "data consistency: the output has the measured frequencies"
    if domain == "wavelet":
        W = WaveletTransform((16, 12), "haar", levels=1)
        bands = model.net_input(y)
        assert torch.allclose(bands[:, 0], W(A.A_adjoint(y))[:, :8, :6], atol=1e-6), "channel 0: the approximation"


def test_a_reconstructor_refuses_what_it_cannot_use():
    A = SubsampledFourier(domains.variable_density_mask((16, 12), 3.0, 1.0))
    with pytest.raises(ValueError, match="expects one of image, k-space, wavelet"):
        domains.Reconstructor(A, "sinogram")
    with pytest.raises(TypeError, match="SubsampledFourier operator of real images"):
        domains.Reconstructor(Identity((16, 12)))
    with pytest.raises(ValueError, match="divisible by 4"):
        domains.Reconstructor(SubsampledFourier(torch.ones(10, 12)))
    with pytest.raises(TypeError, match="expects complex Fourier data"):
        domains.Reconstructor(A)(torch.zeros(16, 12))


def test_tv_reconstruct_fits_the_data_and_has_no_more_tv_than_the_truth():
    from course_lib.functionals import total_variation
    from course_lib.pnp import tv_deblur

    A = SubsampledFourier(domains.variable_density_mask((16, 16), 3.0, 1.5, seed=4))
    x = torch.zeros(16, 16, dtype=F64)
    x[4:11, 5:12] = 1.0
    x[8:14, 2:7] += 0.5
    y = A(x)
    x_tv, history = domains.tv_reconstruct(A, y, n_iter=20_000, tol=1e-9)
    assert history.converged and history.iteration[-1] < 20_000
    assert history.objective[-1] == total_variation(x_tv, 2).sum().item(), "the history holds the TV"
    assert torch.allclose(A(x_tv), y, atol=1e-10), "it fits the noise-free data exactly"
    tv = total_variation(x_tv, 2).sum().item()
    assert tv <= total_variation(x, 2).sum().item() + 1e-6, "the truth fits the data too, so its TV is no smaller"
    assert tv <= total_variation(A.A_adjoint(y), 2).sum().item()
    assert torch.allclose(x_tv, x, atol=1e-4), "a piecewise-constant image from a third of its coefficients: exactly"
    x_small, _ = tv_deblur(A, y, 1e-3, n_iter=5000, tol=1e-8)
    assert abs(total_variation(x_small, 2).sum().item() - tv) < 1e-2 * tv, "the limit of tv_deblur's weight -> 0"


def test_tv_reconstruct_refuses_another_operator():
    with pytest.raises(TypeError, match="tv_reconstruct expects a SubsampledFourier"):
        domains.tv_reconstruct(Identity((4, 4)), torch.zeros(4, 4))
