"""Unfolded networks: untrained = the algorithm they unfold, analytic weight, support selection, training."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import course_lib as cl
from course_lib.data import gaussian_matrix, sparse_signals
from course_lib.operators import MatrixOperator
from course_lib.solvers import ista
from course_lib.training import train
from course_lib.unfolding import (
    ALISTA,
    LISTA,
    LISTA_CP,
    BlackBoxMLP,
    analytic_weight,
    support_fractions,
    support_selection_threshold,
)

M, N, T, LAM = 20, 40, 6, 0.05


@pytest.fixture(scope="module")
def problem():
    A = gaussian_matrix(M, N, seed=0, dtype=torch.float64)
    x = sparse_signals(7, N, 0.1, seed=1, dtype=torch.float64)
    y = x @ A.T
    L = torch.linalg.matrix_norm(A, ord=2).item() ** 2
    iterates = []
    ista(MatrixOperator(A), y, LAM, n_iter=T, step=1 / L, callback=lambda k, xk: iterates.append(xk))
    return A, x, y, L, iterates


@pytest.mark.parametrize("make", [
    lambda A, L: LISTA(A, T, LAM),
    lambda A, L: LISTA(A, T, LAM, tied=True),
    lambda A, L: LISTA_CP(A, T, LAM),
    lambda A, L: ALISTA(A, T, LAM, W=A, support_selection=False, step=1 / L),
], ids=["LISTA", "LISTA-tied", "LISTA-CP", "ALISTA(W=A)"])
def test_untrained_layer_k_is_ista_iterate_k(problem, make):
    A, _, y, L, iterates = problem
    with torch.no_grad():
        outputs = make(A, L)(y, all_layers=True)
    assert len(outputs) == T + 1 and torch.equal(outputs[0], torch.zeros_like(outputs[0]))
    for k in range(1, T + 1):
        assert torch.allclose(outputs[k], iterates[k - 1], atol=1e-12), f"layer {k}"


def test_analytic_weight_solves_its_problem(problem):
    """min ||A^T w||^2 s.t. a_i^T w = 1, checked column by column against the KKT system in NumPy."""
    A = problem[0]
    W = analytic_weight(A)
    assert torch.allclose((W * A).sum(0), torch.ones(N, dtype=torch.float64))
    An = A.numpy()
    for i in (0, 7, N - 1):
        kkt = np.block([[2 * An @ An.T, An[:, i:i + 1]], [An[:, i:i + 1].T, np.zeros((1, 1))]])
        rhs = np.r_[np.zeros(M), 1.0]
        w = np.linalg.solve(kkt, rhs)[:M]
        assert np.allclose(W[:, i].numpy(), w)
    # less coherent than the normalised dictionary itself
    off = lambda G: (G - torch.diag(torch.diag(G))).norm()
    assert off(W.T @ A) < off(A.T @ A)


@given(arrays(np.float64, (3, 25), elements=st.floats(-5, 5)), st.floats(0, 2), st.sampled_from([0.0, 0.04, 0.2, 0.5]))
def test_support_selection_threshold(v, theta, fraction):
    v = torch.from_numpy(v)
    th = torch.tensor(theta, dtype=torch.float64)
    out = support_selection_threshold(v, th, fraction)
    soft = torch.sign(v) * torch.clamp(v.abs() - theta, min=0)
    n_keep = int(fraction * 25)
    if n_keep == 0:
        assert torch.allclose(out, soft)
        return
    kth = torch.topk(v.abs(), n_keep, dim=-1).values[:, -1:]
    trusted = (v.abs() >= kth) & (v.abs() > theta)
    assert torch.allclose(out[trusted], v[trusted]) and torch.allclose(out[~trusted], soft[~trusted])


def test_support_fraction_schedule():
    assert support_fractions(16)[:3] == pytest.approx([0.012, 0.024, 0.036])
    assert support_fractions(16)[-1] == pytest.approx(0.13)


def test_lista_with_support_selection_is_lista_up_to_the_threshold(problem):
    """LISTA(support_selection=True) applies support_selection_threshold with LISTA-CPSS's schedule to LISTA's
    pre-activation W_e y + S x: layer by layer against a hand-written loop, and it differs from plain LISTA."""
    A, _, y, L, _ = problem
    net = LISTA(A, T, LAM, support_selection=True)
    assert net.fractions == support_fractions(T)
    W_e, S, theta = A.T / L, torch.eye(N, dtype=A.dtype) - A.T @ A / L, torch.tensor(LAM / L, dtype=A.dtype)
    with torch.no_grad():
        outputs = net(y, all_layers=True)
        x = torch.zeros_like(outputs[0])
        for k in range(T):
            x = support_selection_threshold(y @ W_e.T + x @ S.T, theta, support_fractions(T)[k])
            assert torch.allclose(outputs[k + 1], x, atol=1e-12), f"layer {k + 1}"
        assert not torch.allclose(outputs[-1], LISTA(A, T, LAM)(y))
    assert LISTA(A, T, LAM).fractions == [0.0] * T


def test_gradients_reach_every_parameter(problem):
    A, x, y, _, _ = problem
    for net in (LISTA(A, 3, LAM), LISTA(A, 3, LAM, support_selection=True),
                LISTA_CP(A, 3, LAM, support_selection=True), ALISTA(A, 3, LAM)):
        ((net(y) - x) ** 2).mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_alista_learns_only_2T_numbers(problem):
    assert sum(p.numel() for p in ALISTA(problem[0], T, LAM).parameters()) == 2 * T


def test_short_training_reduces_the_loss_and_is_seeded():
    A = gaussian_matrix(M, N, seed=0)
    x_val = sparse_signals(200, N, 0.1, seed=9)
    val = (x_val @ A.T, x_val)

    def batch(g):
        x = sparse_signals(64, N, 0.1, seed=g)
        return x @ A.T, x

    def run():
        net = ALISTA(A, 5, LAM)
        with torch.no_grad():
            before = torch.nn.functional.mse_loss(net(val[0]), val[1]).item()
        _, history = train(net, batch, n_iter=60, lr=0.01, validation=val, eval_every=20, progress=False)
        with torch.no_grad():
            after = torch.nn.functional.mse_loss(net(val[0]), val[1]).item()
        return before, after, history

    before, after, h1 = run()
    assert after < 0.7 * before
    assert h1.best_iteration > 0 and len(h1.loss) == 60 and h1.val_iteration == [20, 40, 60]
    assert run()[2].loss == h1.loss  # same seed, same run


def test_patience_stops_training():
    A = gaussian_matrix(M, N, seed=0)
    net = ALISTA(A, 2, LAM)
    x = sparse_signals(50, N, 0.1, seed=3)
    _, h = train(net, lambda g: (x @ A.T, x), n_iter=500, lr=1e-9, validation=(x @ A.T, x), eval_every=1,
              patience=3, progress=False, cosine=False)
    assert h.stopped_early and len(h.loss) < 500


@pytest.mark.parametrize("call, error, message", [
    (lambda A: LISTA(A, 3)(torch.zeros(2, M + 1)), ValueError,
     rf"y has shape \(2, {M + 1}\); LISTA\(m={M}, n={N}\) expects \(\.\.\., {M}\)"),
    (lambda A: LISTA(A[0], 3), ValueError, "2-D"),
    (lambda A: ALISTA(A, 0), ValueError, "n_layers is 0"),
    (lambda A: ALISTA(A, 3, W=A[:, :5]), ValueError, "shape of A"),
    (lambda A: LISTA_CP(A.long(), 3), TypeError, "floating-point"),
    (lambda A: train(ALISTA(A, 2), lambda g: None, n_iter=0), ValueError, "n_iter"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call(gaussian_matrix(M, N, seed=0))


# ---------------------------------------------------------------- imaging networks

from course_lib.data import light_field_psfs, random_ellipses, rpca_video, sparse_images  # noqa: E402
from course_lib.operators import (  # noqa: E402
    AveragePooling2D,
    Convolution2D,
    MultiChannelConvolution2D,
    SubsampledFourier,
    gaussian_kernel,
    random_cartesian_mask,
)
from course_lib.solvers import landweber, robust_pca  # noqa: E402
from course_lib.unfolding import ConvLISTA, NeuralProximalGradient, NonnegativeUnfoldedISTA, UnfoldedRPCA  # noqa: E402


def ista_iterates(A, y, lam, n, step, nonnegative=False):
    out = []
    ista(A, y, cl.NonnegativeL1(lam) if nonnegative else lam, n_iter=n, step=step, callback=lambda k, x: out.append(x))
    return out


def assert_layers_equal(outputs, iterates, rtol):
    """Equal up to the float32 storage of the networks' parameters (steps, thresholds)."""
    assert len(outputs) == len(iterates) + 1
    for k, it in enumerate(iterates, start=1):
        assert torch.allclose(outputs[k], it, rtol=rtol, atol=rtol * it.abs().max().item()), f"layer {k}"


def super_resolution(fine=(32, 32), factor=2, sigma=1.0, dtype=torch.float32, padding="circular"):
    return AveragePooling2D(fine, factor) @ Convolution2D(gaussian_kernel(sigma, dtype=dtype), fine, padding)


@pytest.mark.parametrize("nonnegative", [False, True])
@pytest.mark.parametrize("fine, factor, sigma", [((32, 32), 2, 1.0), ((20, 28), 2, 0.8), ((48, 48), 4, 1.5)])
def test_conv_lista_untrained_is_ista_for_super_resolution(nonnegative, fine, factor, sigma):
    A = super_resolution(fine, factor, sigma, torch.float64)
    y = A(sparse_images(3, fine, 0.02, seed=0, dtype=torch.float64))
    step = 1 / A.norm() ** 2
    prior = cl.NonnegativeL1(1e-3) if nonnegative else cl.L1(1e-3)
    net = ConvLISTA(A, 4, regulariser=prior, step=step).double()
    with torch.no_grad():
        outputs = net(y, all_layers=True)
    assert_layers_equal(outputs, ista_iterates(A, y, 1e-3, 4, step, nonnegative=nonnegative), 1e-6)
    assert outputs[-1].shape == (3, *fine)
    assert net.factor == factor and net.S.shape[1:3] == (factor ** 2, factor ** 2)


def test_conv_lista_kernel_size_holds_the_gram_footprint():
    # blur +-3 fine pixels, A^T A +-6, one pooling block more: +-7 fine = +-4 coarse pixels
    assert ConvLISTA(super_resolution(), 2).S.shape[-1] == 9
    assert ConvLISTA(super_resolution(), 2, kernel_size=11).S.shape[-1] == 11
    with pytest.raises(ValueError, match="at least 9 coarse pixels"):
        ConvLISTA(super_resolution(), 2, kernel_size=5)
    with pytest.raises(ValueError, match=r"more than the coarse grid \(8, 8\)"):
        ConvLISTA(super_resolution((16, 16)), 2)


def test_conv_lista_refuses_operators_that_are_not_blur_then_pool():
    with pytest.raises(ValueError, match="not a circular blur followed by 2x2 pooling"):
        ConvLISTA(super_resolution(padding="zeros"), 2)
    with pytest.raises(ValueError, match="integer factor"):
        ConvLISTA(AveragePooling2D((8, 8), 2).T, 2)


def test_nonnegative_unfolded_ista_untrained_is_nonnegative_ista():
    H = MultiChannelConvolution2D(light_field_psfs(5, 3, 7, dtype=torch.float64), (16, 16))
    y = H(sparse_images(2, (3, 16, 16), 0.02, seed=1, dtype=torch.float64))
    step = 1 / H.norm() ** 2
    net = NonnegativeUnfoldedISTA(H, 4, 0.01, step=step).double()
    with torch.no_grad():
        outputs = net(y, all_layers=True)
    assert_layers_equal(outputs, ista_iterates(H, y, 0.01, 4, step, nonnegative=True), 1e-6)
    assert all(torch.all(o >= 0) for o in outputs)


def test_unfolded_rpca_untrained_is_rpca_ista():
    L0, S0 = rpca_video(10, (12, 12), rank=2, n_bubbles=3, seed=0, dtype=torch.float64)
    D = L0 + S0
    net = UnfoldedRPCA(4, lam_low_rank=1.0, lam_sparse=0.25).double()
    with torch.no_grad():
        outputs = net(D, all_layers=True)
    iterates = []
    robust_pca(D.reshape(10, -1).T, 1.0, 0.25, n_iter=4, accelerate=False, callback=lambda k, p: iterates.append(p))
    for k, (L, S) in enumerate(iterates, start=1):
        assert torch.allclose(outputs[k][0].reshape(10, -1).T, L, atol=1e-10)
        assert torch.allclose(outputs[k][1].reshape(10, -1).T, S, atol=1e-10)
    assert net(D[None])[1].shape == (1, 10, 12, 12)


def test_neural_proximal_gradient_untrained_is_landweber():
    F = SubsampledFourier(random_cartesian_mask((16, 16), acceleration=4, seed=0))
    y = F(random_ellipses(2, 16, seed=0))
    step = 1 / F.norm() ** 2
    net = NeuralProximalGradient(F, 3, channels=4, step=step)
    with torch.no_grad():
        x = net(y)
    assert torch.allclose(x, landweber(F, y, n_iter=3, step=step)[0], atol=1e-6)
    assert not x.is_complex()


def test_imaging_networks_train():
    """A few Adam steps on fresh data lower the loss of every imaging network."""
    fine = (20, 20)
    A = super_resolution(fine, 2, 0.7)
    H = MultiChannelConvolution2D(light_field_psfs(3, 2, 5), (12, 12))
    F = SubsampledFourier(random_cartesian_mask((16, 16), acceleration=3, seed=0))
    cases = [
        (ConvLISTA(A, 3, regulariser=cl.NonnegativeL1(1e-3)),
         lambda g: (lambda x: (A(x), x))(sparse_images(16, fine, 0.03, seed=g))),
        (NonnegativeUnfoldedISTA(H, 3, 1e-3),
         lambda g: (lambda x: (H(x), x))(sparse_images(16, (2, 12, 12), 0.03, seed=g))),
        (NeuralProximalGradient(F, 2, channels=4), lambda g: (lambda x: (F(x), x))(random_ellipses(8, 16, seed=g))),
    ]
    for net, batch in cases:
        val = batch(torch.Generator().manual_seed(99))
        loss = lambda net=net, val=val: torch.nn.functional.mse_loss(net(val[0]), val[1]).item()
        with torch.no_grad():
            before = loss()
        train(net, batch, n_iter=30, lr=3e-3, progress=False)
        with torch.no_grad():
            assert loss() < before, type(net).__name__


def test_imaging_networks_bad_inputs():
    with pytest.raises(TypeError, match="LinearOperator"):
        ConvLISTA(torch.eye(4), 2)
    with pytest.raises(ValueError, match="2-D signals"):
        NeuralProximalGradient(MatrixOperator(torch.eye(4)), 2)
    with pytest.raises(TypeError, match="MultiChannelConvolution2D"):
        NonnegativeUnfoldedISTA(Convolution2D(gaussian_kernel(1.0), (8, 8)), 2)
    with pytest.raises(ValueError, match=r"expects a video"):
        UnfoldedRPCA(2)(torch.zeros(4, 4))
    net = ConvLISTA(AveragePooling2D((8, 8), 2), 2)
    with pytest.raises(ValueError, match=r"y has shape \(8, 8\).*expects \(\.\.\., 4, 4\)"):
        net(torch.zeros(8, 8))
    with pytest.raises(ValueError, match="positive odd integer"):
        ConvLISTA(AveragePooling2D((8, 8), 2), 2, kernel_size=4)


def test_black_box_mlp_is_seeded_shaped_and_refuses_wrong_inputs():
    from course_lib.unfolding import BlackBoxMLP, all_layer_log_loss

    a, b = BlackBoxMLP(6, 10, hidden=(8, 8), seed=3), BlackBoxMLP(6, 10, hidden=(8, 8), seed=3)
    assert sum(p.numel() for p in a.parameters()) == 6 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10
    y = torch.randn(4, 6)
    assert torch.equal(a(y), b(y)) and not torch.equal(a(y), BlackBoxMLP(6, 10, hidden=(8, 8), seed=4)(y))
    outputs = a(y, all_layers=True)
    assert len(outputs) == 2 and torch.equal(outputs[0], torch.zeros(4, 10)) and torch.equal(outputs[1], a(y))
    target = torch.randn(4, 10)
    assert torch.isclose(all_layer_log_loss(outputs, target), ((a(y) - target) ** 2).mean().log())
    with pytest.raises(ValueError, match=r"expects \(\.\.\., 6\)"):
        a(torch.randn(4, 7))


def test_resynthesis_loss_needs_no_ground_truth():
    from course_lib.unfolding import resynthesis_log_loss

    A = gaussian_matrix(5, 8, seed=0, dtype=torch.float64)
    op = MatrixOperator(A)
    x = sparse_signals(3, 8, 0.5, seed=1, dtype=torch.float64)
    other = x + 0.1
    value = resynthesis_log_loss([torch.zeros_like(x), other, other], op(x), op)
    assert torch.isclose(value, ((op(other) - op(x)) ** 2).mean().log())
    assert resynthesis_log_loss([x, x + 1e-6], op(x), op) < value


def test_the_networks_follow_their_operators_dtype_and_take_the_regulariser_as_an_object():
    """One dtype policy: a network is created in the dtype of the operator or matrix it unfolds and refuses another."""
    A = torch.randn(10, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for net in (cl.unfolding.LISTA(A, 3, cl.L1(0.1)), cl.unfolding.LISTA_CP(A, 3, 0.1), cl.unfolding.ALISTA(A, 3, 0.1)):
        assert all(p.dtype == torch.float64 for p in net.parameters())
    torch.testing.assert_close(cl.unfolding.LISTA(A, 3, cl.L1(0.1))(A[:, :1].T.contiguous()),
                               cl.unfolding.LISTA(A, 3, 0.1)(A[:, :1].T.contiguous()))
    with pytest.raises(TypeError, match="expects L1\\(lam\\) or a number lam"):
        cl.unfolding.LISTA(A, 3, cl.NonnegativeL1(0.1))
    sr = super_resolution().double()
    conv = ConvLISTA(sr, 2)
    assert all(p.dtype == torch.float64 for p in conv.parameters())
    assert conv(torch.zeros(1, *sr.out_shape, dtype=torch.float64)).dtype == torch.float64
    H = MultiChannelConvolution2D(light_field_psfs(3, 2, 5), (12, 12)).double()
    lf = NonnegativeUnfoldedISTA(H, 2, cl.NonnegativeL1(1e-3))
    assert all(p.dtype == torch.float64 for p in lf.parameters())
    with pytest.raises(TypeError, match="computes in torch.float64"):
        lf(torch.zeros(1, *H.out_shape))
    with pytest.raises(TypeError, match="expects NonnegativeL1"):
        NonnegativeUnfoldedISTA(H, 2, cl.L1(1e-3))


def test_black_box_seed_is_an_int_or_a_generator_and_the_global_rng_is_untouched():
    state = torch.random.get_rng_state()
    a = BlackBoxMLP(4, 6, (8,), seed=3)
    b = BlackBoxMLP(4, 6, (8,), seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    g = BlackBoxMLP(4, 6, (8,), seed=torch.Generator().manual_seed(3))
    h = BlackBoxMLP(4, 6, (8,), seed=torch.Generator().manual_seed(3))
    assert all(torch.equal(p, q) for p, q in zip(g.parameters(), h.parameters()))
    with pytest.raises(TypeError, match="seed is a str"):
        BlackBoxMLP(4, 6, seed="3")
    with pytest.raises(ValueError, match="a hidden width is 0"):
        BlackBoxMLP(4, 6, (0,))
