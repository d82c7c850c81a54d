"""The analytic deep prior: Landweber equivalence, closed form, network convergence, gradients, training."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import course_lib as cl
from course_lib import adp


@pytest.fixture(scope="module")
def example():
    return adp.integration_example(n=200, index=5, noise=0.1, seed=0)


def test_examples_are_as_described(example):
    A, x_true, y, delta = example
    assert A.dtype == x_true.dtype == y.dtype == torch.float64 and A.shape == (200, 200)
    sigma = torch.linalg.svdvals(A)
    assert torch.allclose(A @ x_true, sigma[4] * (A @ x_true / sigma[4]))      # a singular vector: |A u5| = s5
    assert math.isclose((A @ x_true).norm().item(), sigma[4].item(), rel_tol=1e-10)
    assert math.isclose(delta, 0.1 * (A @ x_true).norm().item(), rel_tol=1e-12)
    assert math.isclose((y - A @ x_true).norm().item(), delta, rel_tol=1e-12)
    A2, xs, ys, ds = adp.sparse_integration_example(n_spikes=6, seed=0)
    assert int((xs != 0).sum()) == 6 and math.isclose((ys - A2 @ xs).norm().item(), ds, rel_tol=1e-12)


def test_trivial_network_descent_is_landweber(example):
    A, _, y, _ = example
    step = 1 / torch.linalg.matrix_norm(A, ord=2).item() ** 2
    mine = []
    W, history = adp.trivial_network_descent(A, y, 25, step, callback=lambda k, w: mine.append(w))
    assert torch.equal(W, mine[-1]) and len(history.loss) == 25
    reference = []
    cl.landweber(cl.MatrixOperator(A), y, n_iter=25, step=step, callback=lambda k, x: reference.append(x))
    assert len(mine) == len(reference) == 25
    for a, b in zip(mine, reference):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_network_at_A_is_tikhonov_to_float64_precision(example):
    A, _, y, _ = example
    net = adp.ProxGradientNetwork(A, y, alpha=0.02, n_layers=1500, regulariser=cl.SquaredL2())
    with torch.no_grad():
        x = net()
    closed = cl.tikhonov(A, y, 0.02)
    assert torch.allclose(closed, cl.tikhonov(cl.MatrixOperator(A), y, 0.02), rtol=1e-10, atol=1e-13)
    assert (x - closed).norm() / closed.norm() < 1e-12


def test_l1_network_converges_to_the_lasso():
    A, _, y, _ = adp.sparse_integration_example(n=40, n_spikes=3, seed=1)
    net = adp.ProxGradientNetwork(A, y, alpha=0.05, n_layers=20000, regulariser=cl.L1())
    with torch.no_grad():
        x = net()
    lasso = cl.fista(cl.MatrixOperator(A), y, 0.05, n_iter=20000)[0]
    assert (x - lasso).norm() / lasso.norm() < 1e-6


def test_warm_started_network_tracks_the_closed_form(example):
    A, x_true, y, _ = example
    _, unrolled = adp.train_adp(A, y, 0.02, n_layers=10, n_iter=600, lr=0.3, x_true=x_true, track_every=50)
    gap = unrolled.gap
    assert gap[0] > 1e-2 and gap[-1] < 1e-6 and gap[-1] < gap[len(gap) // 2] < gap[0]
    assert unrolled.gap_iteration[:3] == [0, 50, 100]
    _, closed = adp.train_adp(A, y, 0.02, n_iter=600, lr=0.3, x_true=x_true, track_every=None)
    assert abs(unrolled.error[-1] - closed.error[-1]) < 1e-4


def test_training_gradient_matches_finite_differences():
    A, _, y, _ = adp.integration_example(n=8, index=2, seed=3)
    F = lambda B: 0.5 * ((A @ cl.tikhonov(B, y, 0.01) - y) ** 2).sum()
    assert torch.autograd.gradcheck(F, (A.clone().requires_grad_(True),), eps=1e-7, atol=1e-9, rtol=1e-5)
    x0 = torch.randn(8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    G = lambda B: 0.5 * ((A @ adp.prox_gradient_layers(B, y, 1e-4, 2.0, 5, cl.L1(), x0) - y) ** 2).sum()
    assert torch.autograd.gradcheck(G, (A.clone().requires_grad_(True),), eps=1e-7, atol=1e-9, rtol=1e-5)


@pytest.mark.parametrize("alpha, ratio", [(0.0015, 2.0), (0.0011, 2.0)])
def test_adp_beats_tikhonov_on_the_seed_example(example, alpha, ratio):
    A, x_true, y, delta = example
    tikhonov = (cl.tikhonov(A, y, alpha) - x_true).norm().item()
    (x, B), history = adp.train_adp(A, y, alpha, n_iter=300, lr=0.3, x_true=x_true, delta=delta, track_every=None)
    assert history.error[-1] * ratio < tikhonov and torch.allclose(x, cl.tikhonov(B, y, alpha))
    assert history.loss[-1] < history.loss[0]
    assert len(history.step_norm) == history.iterations - 1       # ||B_k - B_k-1|| for k = 1 .. the step returned


def test_adp_cannot_beat_its_bound_at_large_alpha(example):
    """Keeping u5 a singular vector of B (singular value b), x(B) along u5 is b (s5 + e5) / (b² + α), at most
    (s5 + e5) / (2√α): for α = 0.02 > s5²/4 ADP's error stays near 1 − that, as the training finds."""
    A, x_true, y, _ = example
    _, result = adp.train_adp(A, y, 0.02, n_iter=300, lr=0.3, x_true=x_true, track_every=None)
    along = (y @ (A @ x_true) / (A @ x_true).norm()).item()       # s5 + e5, the datum along v5
    bound = 1 - along / (2 * math.sqrt(0.02))
    assert abs(result.error[-1] - bound) < 0.005     # 0.750 against 0.751


def test_discrepancy_stop_and_adaptive_alpha(example):
    A, x_true, y, delta = example
    _, stopped = adp.train_adp(A, y, 0.0011, n_iter=300, lr=0.3, delta=delta, track_every=None)
    assert stopped.stopped and stopped.residual[-1] <= 1.1 * delta            # Morozov's tau, 1.1 by default
    assert all(r > 1.1 * delta for r in stopped.residual[:-1])
    _, adaptive = adp.train_adp(A, y, 0.02, n_iter=800, lr=0.3, x_true=x_true, delta=delta, adaptive_alpha=True,
                                alpha_lr=0.01, track_every=None)
    assert adaptive.alpha[-1] < 0.02 and adaptive.alpha[0] == pytest.approx(0.02)
    _, fixed = adp.train_adp(A, y, 0.02, n_iter=300, lr=0.3, x_true=x_true, track_every=None)
    assert adaptive.error[-1] < fixed.error[-1]


def test_adp_step_is_one_gradient_step_of_training(example):
    A, _, y, _ = example
    B = A.clone()
    B_new, loss = adp.adp_step(B, A, y, 0.01, 0.3)
    assert torch.equal(B, A)                                     # the argument is left as it was
    (x, B_trained), history = adp.train_adp(A, y, 0.01, n_iter=2, lr=0.3, track_every=None)
    assert torch.allclose(B_trained, B_new, atol=1e-14) and history.loss[0] == pytest.approx(loss, rel=1e-12)
    assert torch.allclose(x, cl.tikhonov(B_trained, y, 0.01), atol=1e-14)      # x and B returned together


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 12), st.floats(1e-3, 1.0), st.integers(0, 10**6))
def test_tikhonov_of_a_matrix_solves_the_normal_equations(n, alpha, seed):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(n + 2, n, generator=g, dtype=torch.float64)
    y = torch.randn(n + 2, generator=g, dtype=torch.float64)
    x = cl.tikhonov(B, y, alpha)
    assert torch.allclose(B.T @ (B @ x - y) + alpha * x, torch.zeros(n, dtype=torch.float64), atol=1e-10)


def test_bad_inputs(example):
    A, _, y, _ = example
    with pytest.raises(TypeError, match="regulariser is a str"):
        adp.train_adp(A, y, 0.1, regulariser="l1")
    with pytest.raises(ValueError, match="alpha is -1"):
        adp.ProxGradientNetwork(A, y, -1)
    with pytest.raises(ValueError, match=r"y has shape \(3,\)"):
        adp.train_adp(A, torch.zeros(3, dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="give n_layers"):
        adp.train_adp(A, y, 0.1, regulariser=cl.L1())
    with pytest.raises(ValueError, match="expects a matrix"):
        adp.trivial_network_descent(torch.zeros(3), torch.zeros(3), 2, 0.1)
    with pytest.raises(ValueError, match="index is 0"):
        adp.integration_example(index=0)
    with pytest.raises(ValueError, match="n_layers is 0"):
        adp.ProxGradientNetwork(A, y, 0.1, n_layers=0)


def test_the_closed_form_gradient_is_autograds():
    A, _, y, _ = adp.integration_example(n=20, index=3, seed=4)
    g = torch.Generator().manual_seed(5)
    for B in (A, A + 0.01 * torch.randn(A.shape, generator=g, dtype=torch.float64)):
        B_new, _ = adp.adp_step(B, A, y, 0.01, 1.0)
        assert torch.allclose(adp.gradient_F(B, A, y, 0.01), B - B_new, atol=1e-13, rtol=1e-9)
    wide = torch.randn(12, 20, generator=g, dtype=torch.float64)          # m != n: the shapes of the two outer products
    y12 = torch.randn(12, generator=g, dtype=torch.float64)
    B12 = wide + 0.1 * torch.randn(12, 20, generator=g, dtype=torch.float64)
    assert torch.allclose(adp.gradient_F(B12, wide, y12, 0.1), B12 - adp.adp_step(B12, wide, y12, 0.1, 1.0)[0],
                          atol=1e-12)
    with pytest.raises(ValueError, match="expects A's shape"):
        adp.gradient_F(A[:5], A, y, 0.01)


def test_adam_moves_b_and_lowers_the_loss():
    A, _, y, _ = adp.integration_example(n=20, index=3, seed=6)
    (_, B), h = adp.train_adp(A, y, 0.01, n_iter=30, lr=1e-3, optimizer=adp.TinyEpsAdam, track_every=None)
    assert h.loss[-1] < h.loss[0] and (B - A).norm() > 0
    with pytest.raises(TypeError, match="expects a torch.optim class"):
        adp.train_adp(A, y, 0.01, n_iter=2, optimizer="sgd")


def test_train_adp_is_built_on_adp_step():
    """Plain gradient descent in train_adp is adp_step repeated: the same B after three steps."""
    A, _, y, _ = adp.integration_example(n=20, index=3, seed=6)
    (_, B_trained), h = adp.train_adp(A, y, 0.01, n_iter=4, lr=0.3, track_every=None)
    B = A.clone()
    for _ in range(3):
        B, loss = adp.adp_step(B, A, y, 0.01, 0.3)
    torch.testing.assert_close(B_trained, B, rtol=1e-12, atol=1e-14)
    assert len(h.loss) == 4 and h.loss[-1] == pytest.approx(adp.adp_step(B, A, y, 0.01, 0.3)[1], rel=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: adp.integration_example(noise=-1), ValueError, "noise is -1"),
    (lambda: adp.integration_example(noise=float("nan")), ValueError, "noise is nan"),
    (lambda: adp.sparse_integration_example(n_spikes=500), ValueError, "n_spikes is 500"),
    (lambda: adp.sparse_integration_example(amplitude=0.0), ValueError, "amplitude is 0.0"),
    (lambda: adp.integration_example(seed="0"), TypeError, "seed is a str"),
])
def test_the_examples_refuse_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
