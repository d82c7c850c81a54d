"""Regularisers as objects and one History: laws and references; unfolded networks carry their operator."""
import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import course_lib as cl
from course_lib.functionals import L1, Box, NonnegativeL1, SquaredL2, TotalVariation, as_functional
from course_lib.history import History

vectors = arrays(np.float64, st.integers(2, 25), elements=st.floats(-5, 5))
weights = st.floats(0.01, 3)
FUNCTIONALS = [L1, NonnegativeL1, SquaredL2, lambda w: TotalVariation(w, n_inner=400, tol=0.0)]


@pytest.mark.parametrize("make", FUNCTIONALS, ids=["L1", "NonnegativeL1", "SquaredL2", "TV"])
@given(v=vectors, weight=weights, t=st.floats(0.1, 2))
def test_prox_minimises_its_objective(make, v, weight, t):
    """p = prox_{t g}(v): no perturbation does better on 1/2||x - v||^2 + t g(x) (the defining property)."""
    g = make(weight)
    v = torch.from_numpy(v)
    p = g.prox(v, t)
    objective = lambda x: 0.5 * ((x - v) ** 2).sum() + t * g(x)
    gen = torch.Generator().manual_seed(0)
    for scale in (1e-1, 1e-3):
        for _ in range(4):
            q = p + scale * torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if isinstance(g, NonnegativeL1):
                q = q.clamp(min=0)
            assert objective(p) <= objective(q) + 1e-7


def test_total_variation_prox_two_points_closed_form():
    """For v = (a, b): both move to the mean if |a - b| <= 2 t lam, else each moves towards the other by t lam."""
    tv = TotalVariation(0.5, n_inner=300, tol=1e-10)
    assert torch.allclose(tv.prox(torch.tensor([1.0, 1.6], dtype=torch.float64), 1.0), torch.tensor([1.3, 1.3],
                                                                                                       dtype=torch.float64))
    assert torch.allclose(tv.prox(torch.tensor([0.0, 3.0], dtype=torch.float64), 1.0),
                          torch.tensor([0.5, 2.5], dtype=torch.float64), atol=1e-9)
    image = torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    smooth = TotalVariation(0.1, ndim=2).prox(image, 1.0)
    assert smooth.shape == image.shape and TotalVariation(1.0, ndim=2)(smooth) < TotalVariation(1.0, ndim=2)(image)


def test_scaling_and_numbers():
    assert (0.5 * L1(2.0)).weight == 1.0 and isinstance(3 * SquaredL2(), SquaredL2)
    assert isinstance(as_functional(0.1, "ista"), L1) and as_functional(0.1, "ista").weight == 0.1
    with pytest.raises(TypeError, match="Functional"):
        as_functional("l1", "ista")
    with pytest.raises(ValueError, match="lam is -1"):
        as_functional(-1.0, "ista")
    assert Box(0, 1)(torch.tensor([0.5, 2.0])) == float("inf")
    assert torch.equal(Box(0, 1).prox(torch.tensor([-1.0, 0.5, 2.0]), 1.0), torch.tensor([0.0, 0.5, 1.0]))


def test_prox_takes_a_differentiable_step():
    t = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    out = L1(2.0).prox(torch.tensor([1.0, -2.0, 0.1], dtype=torch.float64), t)
    out.sum().backward()
    assert torch.allclose(t.grad, torch.tensor(-2.0 + 2.0, dtype=torch.float64))   # d/dt of (1 - 2t) + (-2 + 2t)


def test_ista_with_a_box_is_projected_gradient():
    """ISTA with Box() is projected gradient descent: the result solves the bound-constrained least squares."""
    import scipy.optimize

    g = torch.Generator().manual_seed(2)
    M = torch.randn(12, 6, generator=g, dtype=torch.float64)
    y = torch.randn(12, generator=g, dtype=torch.float64)
    x, history = cl.fista(cl.MatrixOperator(M), y, Box(0.0, 0.5), n_iter=3000)
    reference = scipy.optimize.lsq_linear(M.numpy(), y.numpy(), bounds=(0.0, 0.5)).x
    assert np.allclose(x.numpy(), reference, atol=1e-6) and len(history.objective) == 3001


def test_ista_step_is_the_unit_of_ista():
    A = cl.MatrixOperator(torch.randn(8, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    y = torch.randn(8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    step = 1 / A.norm() ** 2
    x = torch.zeros(5, dtype=torch.float64)
    for _ in range(7):
        x = cl.soft_threshold(x - step * A.A_adjoint(A(x) - y), step * 0.1)
    assert torch.allclose(cl.ista(A, y, 0.1, n_iter=7, step=step)[0], x, atol=1e-14)
    assert torch.allclose(cl.ista_step(torch.zeros(5, dtype=torch.float64), A, y, 0.1, step),
                          cl.ista(A, y, 0.1, n_iter=1, step=step)[0])


def test_history():
    h = History(seconds=1.5)
    h.log(loss=2.0, error=0.5)
    h.log(loss=1.0)
    assert h.loss == [2.0, 1.0] and h["error"] == [0.5] and h.seconds == 1.5 and sorted(h) == ["error", "loss"]
    with pytest.raises(AttributeError, match="recorded error, loss"):
        _ = h.objective
    assert "loss: 2" in repr(h)


def test_unfolded_networks_carry_their_operator():
    F = cl.SubsampledFourier(cl.random_cartesian_mask((16, 16), seed=0))
    net = cl.unfolding.NeuralProximalGradient(F, n_layers=2, channels=4)
    assert "op.mask" in net.state_dict()
    net_copy = copy.deepcopy(net).double()
    assert net_copy.op.mask.dtype == torch.float64
    with pytest.raises(TypeError, match="computes in torch.float32"):
        net(F(torch.rand(1, 16, 16, dtype=torch.float64)))


@pytest.mark.parametrize("call, error", [
    (lambda: cl.IntegrationOperator(2.5), TypeError),
    (lambda: cl.IntegrationOperator(0), ValueError),
    (lambda: cl.ista(cl.IntegrationOperator(4), torch.zeros(4), 0.1, n_iter=2.0), TypeError),
    (lambda: cl.training.train(torch.nn.Linear(2, 2), None, n_iter="10"), TypeError),
    (lambda: cl.data.sparse_signals(0, 5), ValueError),
])
def test_wrong_types_and_values(call, error):
    with pytest.raises(error):
        call()


def test_total_variation_is_isotropic_as_scikit_image_computes_it():
    """One TV for the course: the value is the gradient's magnitude summed, and the prox is scikit-image's
    Chambolle solution of the same problem (an independent reference)."""
    from skimage.restoration import denoise_tv_chambolle

    corner = torch.ones(2, 2, dtype=torch.float64)
    corner[0, 0] = 0
    assert TotalVariation(1.0, ndim=2)(corner).item() == pytest.approx(2 ** 0.5)
    assert TotalVariation(1.0, ndim=1)(torch.tensor([0.0, 2.0, 1.0])).item() == pytest.approx(3.0)
    image = torch.rand(24, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tv = TotalVariation(0.1, ndim=2, n_inner=5000, tol=1e-6)
    ours = tv.prox(image, 1.0)
    theirs = torch.from_numpy(denoise_tv_chambolle(image.numpy(), weight=0.1, eps=1e-10, max_num_iter=20000))
    assert (ours - theirs).abs().max() < 1e-4
    assert tv.last_inner["converged"] and tv.last_inner["error_bound"] <= 1e-6


def test_total_variation_reports_an_inexact_prox():
    image = torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    tv = TotalVariation(0.2, ndim=2, n_inner=5, tol=1e-8)
    tv.prox(image, 1.0)
    assert tv.last_inner["steps"] == 5 and not tv.last_inner["converged"] and tv.last_inner["error_bound"] > 1e-8
    reference = TotalVariation(0.2, ndim=2, n_inner=3000, tol=0.0)    # certified within about 1e-4 of the prox
    exact = reference.prox(image, 1.0)
    assert reference.last_inner["error_bound"] < 2e-4
    size = lambda v: torch.linalg.vector_norm(v, dim=(-2, -1))         # noqa: E731
    for n_inner in (5, 50):                       # the bound holds: the distance to the prox is at most it
        inexact = TotalVariation(0.2, ndim=2, n_inner=n_inner, tol=0.0)
        x = inexact.prox(image, 1.0)
        # |x - exact| <= |x - prox| + |prox - exact| <= bound |x| + (the reference's own bound) |exact|
        allowed = inexact.last_inner["error_bound"] + reference.last_inner["error_bound"] * size(exact) / size(x)
        assert (size(x - exact) / size(x) <= allowed * 1.0001).all()
    A = cl.Identity((16, 16))
    _, history = cl.fista(A, image, tv, n_iter=4)
    assert len(history.inner_error) == 4 and history.inner_steps == [5.0] * 4
    loose = TotalVariation(0.2, ndim=2, n_inner=500, tol=1e-2)
    loose.prox(image, 1.0)
    assert loose.last_inner["converged"] and loose.last_inner["steps"] < 500
    with pytest.raises(ValueError, match="expects steps >= 0"):
        tv.prox(image, torch.tensor(-1.0))
    with pytest.raises(ValueError, match="t is -1"):
        tv.prox(image, -1)
