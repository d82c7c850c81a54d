"""Operators: adjoint dot-test for every operator (property test), norms, and independent references."""
import copy
import math

import numpy as np
import pytest
import scipy.ndimage
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib.operators import (
    AveragePooling2D,
    Convolution1D,
    Convolution2D,
    Identity,
    Inpainting,
    IntegrationOperator,
    LinearOperator,
    MatrixOperator,
    MultiChannelConvolution2D,
    SubsampledFourier,
    gaussian_kernel,
    inner,
    random_cartesian_mask,
)

seeds = st.integers(0, 2**31 - 1)


def odd(lo, hi):
    return st.integers(lo, hi).map(lambda k: 2 * k + 1)


@st.composite
def operators(draw):
    """Every kind of operator, with random sizes and parameters, and some compositions."""
    g = torch.Generator().manual_seed(draw(seeds))
    kind = draw(st.sampled_from(["matrix", "conv1d", "conv2d", "inpaint", "fourier", "fourier_c",
                                 "integration", "identity", "multichannel", "pooling", "algebra"]))
    n, m = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    if kind == "matrix":
        return MatrixOperator(torch.randn(m, n, generator=g, dtype=torch.float64))
    if kind == "conv1d":
        k = draw(odd(0, 3))
        return Convolution1D(torch.randn(k, generator=g), draw(st.integers(k, 20)),
                             draw(st.sampled_from(["circular", "zeros"])))
    if kind == "conv2d":
        kh, kw = draw(odd(0, 2)), draw(odd(0, 2))
        shape = (draw(st.integers(kh, 10)), draw(st.integers(kw, 10)))
        return Convolution2D(torch.randn(kh, kw, generator=g), shape, draw(st.sampled_from(["circular", "zeros"])))
    if kind == "inpaint":
        return Inpainting(torch.rand(n, m, generator=g) < 0.5)
    if kind in ("fourier", "fourier_c"):
        return SubsampledFourier((torch.rand(n, m, generator=g) < 0.4).float(), real=kind == "fourier")
    if kind == "integration":
        return IntegrationOperator(n)
    if kind == "identity":
        return Identity((n, m))
    if kind == "multichannel":
        c, d, kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(odd(0, 1)), draw(odd(0, 1))
        return MultiChannelConvolution2D(torch.randn(c, d, kh, kw, generator=g),
                                         (draw(st.integers(kh, 7)), draw(st.integers(kw, 7))),
                                         draw(st.sampled_from(["circular", "zeros"])))
    if kind == "pooling":
        f = draw(st.integers(1, 3))
        return AveragePooling2D((f * draw(st.integers(1, 4)), f * draw(st.integers(1, 4))), f)
    A = IntegrationOperator(n)
    B = MatrixOperator(torch.randn(n, n, generator=g, dtype=torch.float64))
    return draw(st.sampled_from([A @ B, 2.5 * A - B, A.T @ B.T, (A + B).T]))


@given(operators(), seeds)
def test_adjoint_dot_test(A, seed):
    assert A.adjointness_test(seed=seed) < 1e-12


@given(operators())
def test_adjoint_of_adjoint_and_shapes(A):
    x = torch.randn(3, *A.in_shape, dtype=torch.complex128 if A.complex_domain else torch.float64)
    y = A(x)
    assert y.shape == (3, *A.out_shape)
    assert A.A_adjoint(y).shape == x.shape
    assert torch.allclose(A.T.T(x), A(x))
    assert A.T.adjointness_test() < 1e-12


@given(operators())
def test_to_matrix_matches_apply(A):
    dtype = torch.complex128 if A.complex_domain else torch.float64
    M = A.to_matrix(dtype=dtype)
    x = torch.randn(math.prod(A.in_shape), dtype=dtype)
    assert torch.allclose(M @ x.to(M.dtype), A(x.reshape(A.in_shape)).reshape(-1).to(M.dtype), atol=1e-12)


@given(operators())
def test_norm_by_power_iteration_matches_svd(A):
    M = A.to_matrix(dtype=torch.complex128 if A.complex_domain else torch.float64)
    if not A.complex_domain and M.is_complex():  # real domain: the map is [Re M; Im M]
        M = torch.cat([M.real, M.imag])
    sigma = torch.linalg.matrix_norm(M, ord=2).item()
    assert A.norm(n_iter=5000, tol=1e-13) == pytest.approx(sigma, rel=1e-4, abs=1e-9)


def test_dtype_follows_the_input():
    A = MatrixOperator(torch.randn(4, 3, dtype=torch.float64))
    assert A(torch.randn(2, 3, dtype=torch.float32)).dtype == torch.float32
    F = SubsampledFourier(random_cartesian_mask((8, 8)))
    assert F(torch.randn(8, 8)).dtype == torch.complex64
    assert F.A_adjoint(F(torch.randn(8, 8, dtype=torch.float64))).dtype == torch.float64
    C = Convolution2D(gaussian_kernel(1.0), (16, 16))
    assert C(torch.randn(2, 3, 16, 16, dtype=torch.float64)).shape == (2, 3, 16, 16)


def test_operators_are_modules():
    A = IntegrationOperator(8)
    assert isinstance(A, torch.nn.Module)
    blur = Convolution2D(gaussian_kernel(1.0), (16, 16))
    composed = AveragePooling2D((16, 16), 2) @ blur
    assert set(composed.state_dict()) == {"inner.kernel"}
    assert torch.equal(copy.deepcopy(composed).inner.kernel, blur.kernel)
    assert composed.to(torch.float64).inner.kernel.dtype == torch.float64      # .to() moves the buffers, once


def test_operator_on_another_device_says_how_to_move_it():
    mask = Inpainting(torch.ones(4, 4))
    mask.mask = mask.mask.to("meta")                 # a device that is not the input's, without a GPU
    with pytest.raises(ValueError, match=r"A = A.to\('cpu'\)"):
        mask(torch.zeros(4, 4))


def test_norm_is_cached_per_dtype_with_a_tolerance_for_it():
    A = MatrixOperator(torch.randn(30, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    calls = []
    original = A._power_iteration
    A._power_iteration = lambda *args: calls.append(args) or original(*args)
    first = A.norm()
    assert A.norm() == first and len(calls) == 1
    assert abs(A.norm(dtype=torch.float32) - first) < 1e-5 * first and len(calls) == 2
    assert calls[1][1] == pytest.approx(10 * torch.finfo(torch.float32).eps)
    assert first == pytest.approx(torch.linalg.matrix_norm(A.matrix, ord=2).item(), rel=1e-8)


def test_norm_cache_sees_changed_buffers():
    A = MatrixOperator(torch.eye(3, dtype=torch.float64))
    assert A.norm() == pytest.approx(1.0)
    A.matrix.mul_(2)                                   # an in-place change: the cached value is not reused
    assert A.norm() == pytest.approx(2.0)


def test_integration_operator_singular_values_closed_form_and_norm():
    A = IntegrationOperator(200)
    svd = np.linalg.svd(A.to_matrix().numpy(), compute_uv=False)
    assert np.allclose(svd, A.singular_values().numpy(), rtol=1e-10)
    assert svd[0] / svd[-1] > 100  # ill-conditioned
    # the continuous operator's norm is 2/pi; the discretisation approaches it
    assert abs(IntegrationOperator(2000).norm() - 2 / math.pi) < 1e-3
    assert np.allclose(A(torch.ones(200, dtype=torch.float64)).numpy(), (np.arange(200) + 1) / 200)


def test_convolutions_match_scipy():
    g = torch.Generator().manual_seed(0)
    k2, x2 = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(9, 11, generator=g, dtype=torch.float64)
    for padding, mode in (("circular", "wrap"), ("zeros", "constant")):
        ours = Convolution2D(k2, (9, 11), padding)(x2).numpy()
        assert np.allclose(ours, scipy.ndimage.convolve(x2.numpy(), k2.numpy(), mode=mode))
        k1, x1 = k2[1], x2[0]
        ours = Convolution1D(k1, 11, padding)(x1).numpy()
        assert np.allclose(ours, scipy.ndimage.convolve1d(x1.numpy(), k1.numpy(), mode=mode))


def test_fourier_matches_numpy():
    mask = random_cartesian_mask((16, 16), acceleration=4, seed=3)
    x = torch.randn(16, 16, dtype=torch.float64)
    ours = SubsampledFourier(mask)(x).numpy()
    assert np.allclose(ours, mask.numpy() * np.fft.fft2(x.numpy(), norm="ortho"))
    assert SubsampledFourier(torch.ones(16, 16)).norm() == pytest.approx(1.0)
    assert float(mask.sum()) / mask.numel() == pytest.approx(0.25, abs=0.07)


def test_composition_scaling_sum():
    A = IntegrationOperator(6)
    B = MatrixOperator(torch.randn(6, 6, dtype=torch.float64))
    x = torch.randn(6, dtype=torch.float64)
    assert torch.allclose((A @ B)(x), A(B(x)))
    assert torch.allclose((3 * A - B)(x), 3 * A(x) - B(x))
    assert torch.allclose(A.T(x), A.A_adjoint(x))
    assert torch.allclose(A.A_adjoint_A(x), A.A_adjoint(A(x)))


def test_inner_product_is_real_part():
    u = torch.tensor([1 + 1j, 2.0])
    assert inner(u, u) == pytest.approx(6.0)


@pytest.mark.parametrize("make, bad, message", [
    (lambda: IntegrationOperator(200), torch.zeros(3, 5),
     r"x has shape \(3, 5\); IntegrationOperator\(n=200\) expects \(\.\.\., 200\)"),
    (lambda: IntegrationOperator(4), torch.zeros(4, dtype=torch.int64), "dtype torch.int64.*floating-point"),
    (lambda: IntegrationOperator(4), [1.0, 2.0, 3.0, 4.0], "is a list.*torch.Tensor"),
    (lambda: MatrixOperator(torch.zeros(2, 3)), torch.zeros(2), r"expects \(\.\.\., 3\)"),
    (lambda: SubsampledFourier(torch.ones(4, 4)), torch.zeros(4, 4, dtype=torch.complex64), "real=False"),
])
def test_bad_input_errors_say_what_was_expected(make, bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()(bad)


def test_bad_construction_errors():
    with pytest.raises(ValueError, match="odd sizes"):
        Convolution1D(torch.ones(4), 10)
    with pytest.raises(ValueError, match="no larger than the signal"):
        Convolution2D(torch.ones(5, 5), (3, 8))
    with pytest.raises(ValueError, match="'circular' or 'zeros'"):
        Convolution1D(torch.ones(3), 10, padding="reflect")
    with pytest.raises(ValueError, match="positive integer"):
        IntegrationOperator(0)
    with pytest.raises(ValueError, match="0 and 1"):
        Inpainting(torch.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="must equal the left operator's in_shape"):
        IntegrationOperator(3) @ IntegrationOperator(4)
    with pytest.raises(TypeError, match="real number"):
        IntegrationOperator(3) * torch.ones(3)
    with pytest.raises(TypeError, match="To apply an operator to a tensor write A"):
        IntegrationOperator(3) @ torch.ones(3)
    with pytest.raises(ValueError, match="2-D"):
        MatrixOperator(torch.ones(3))
    assert isinstance(IntegrationOperator(3).T, LinearOperator)


def test_multichannel_convolution_matches_scipy_and_pooling_averages():
    g = torch.Generator().manual_seed(1)
    K, x = (torch.randn(3, 2, 5, 3, generator=g, dtype=torch.float64),
            torch.randn(2, 8, 9, generator=g, dtype=torch.float64))
    y = MultiChannelConvolution2D(K, (8, 9))(x)
    for c in range(3):
        ref = sum(scipy.ndimage.convolve(x[d].numpy(), K[c, d].numpy(), mode="wrap") for d in range(2))
        assert np.allclose(y[c].numpy(), ref)
    P = AveragePooling2D((4, 6), 2)
    assert torch.equal(P(torch.arange(24.0).reshape(4, 6)), torch.tensor([[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]]))
    with pytest.raises(ValueError, match="dividing"):
        AveragePooling2D((5, 6), 2)
    with pytest.raises(ValueError, match=r"\(C, D, kh, kw\)"):
        MultiChannelConvolution2D(torch.ones(2, 2, 4, 3), (8, 8))
