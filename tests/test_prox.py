"""Proximal maps: optimality conditions (property tests) and closed forms."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.prox import (
    project_box,
    project_nonnegative,
    prox_squared_l2,
    soft_threshold,
    soft_threshold_nonnegative,
)

vectors = arrays(np.float64, st.integers(1, 30), elements=st.floats(-10, 10))
lams = st.floats(0, 5)


@given(vectors, lams)
def test_soft_threshold_optimality(v, lam):
    """p = prox(v) iff v - p is in lam * subdifferential of ||.||_1 at p."""
    v = torch.from_numpy(v)
    p = soft_threshold(v, lam)
    g = v - p
    zero = p == 0
    assert torch.all(g[zero].abs() <= lam + 1e-12)
    assert torch.allclose(g[~zero], lam * torch.sign(p[~zero]))


@given(vectors, lams)
def test_soft_threshold_matches_numpy_formula(v, lam):
    expected = np.sign(v) * np.maximum(np.abs(v) - lam, 0)
    assert np.allclose(soft_threshold(torch.from_numpy(v), lam).numpy(), expected)


@given(vectors, lams)
def test_prox_minimises_its_objective(v, lam):
    """No random perturbation of the prox does better on 1/2||x - v||^2 + lam ||x||_1."""
    v = torch.from_numpy(v)
    p = soft_threshold(v, lam)
    f = lambda x: 0.5 * ((x - v) ** 2).sum() + lam * x.abs().sum()
    for _ in range(5):
        assert f(p) <= f(p + 0.1 * torch.randn_like(p)) + 1e-12


@given(vectors, lams)
def test_nonnegative_soft_threshold_optimality(v, lam):
    v = torch.from_numpy(v)
    p = soft_threshold_nonnegative(v, lam)
    assert torch.all(p >= 0)
    # KKT for min 1/2||x-v||^2 + lam*sum(x) s.t. x >= 0: x = max(v - lam, 0)
    assert torch.allclose(p, torch.clamp(v - lam, min=0))


@given(vectors, st.floats(-3, 0), st.floats(0, 3))
def test_box_projection_is_a_projection(v, lo, hi):
    """<v - p, z - p> <= 0 for every z in the box (variational inequality), and p is in the box."""
    v = torch.from_numpy(v)
    p = project_box(v, lo, hi)
    assert torch.all((p >= lo) & (p <= hi))
    for z in (torch.full_like(v, lo), torch.full_like(v, hi), torch.empty_like(v).uniform_(lo, hi)):
        assert torch.dot(v - p, z - p) <= 1e-9
    assert torch.equal(project_nonnegative(v), torch.clamp(v, min=0))


def test_complex_soft_threshold_shrinks_modulus_keeps_phase():
    z = torch.tensor([3 + 4j, 0.3 + 0.4j])
    out = soft_threshold(z, 1.0)
    assert torch.allclose(out, torch.tensor([2.4 + 3.2j, 0j]))


def test_tensor_thresholds_broadcast():
    x = torch.tensor([[2.0, 2.0], [2.0, 2.0]])
    assert torch.equal(soft_threshold(x, torch.tensor([0.5, 1.0])), torch.tensor([[1.5, 1.0], [1.5, 1.0]]))


def test_prox_squared_l2():
    assert torch.allclose(prox_squared_l2(torch.tensor([2.0]), 1.0), torch.tensor([1.0]))


def test_bad_inputs():
    with pytest.raises(ValueError, match="lam >= 0"):
        soft_threshold(torch.ones(3), -1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        soft_threshold(np.ones(3), 1.0)
    with pytest.raises(TypeError, match="floating-point"):
        soft_threshold(torch.ones(3, dtype=torch.int32), 1.0)
    with pytest.raises(ValueError, match="lower <= upper"):
        project_box(torch.ones(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="negative entries"):
        soft_threshold(torch.ones(3), torch.tensor([1.0, -1.0, 1.0]))


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-5, 5)), lams)
def test_singular_value_threshold_is_the_nuclear_prox(m, lam):
    """Matches the SVD formula in NumPy, and no perturbation does better on 1/2||X - M||^2 + lam ||X||_*."""
    from course_lib.prox import singular_value_threshold
    M = torch.from_numpy(m)
    X = singular_value_threshold(M, lam)
    U, s, Vt = np.linalg.svd(m, full_matrices=False)
    assert np.allclose(X.numpy(), (U * np.maximum(s - lam, 0)) @ Vt, atol=1e-10)
    f = lambda Z: 0.5 * ((Z - M) ** 2).sum() + lam * torch.linalg.svdvals(Z).sum()
    for _ in range(3):
        assert f(X) <= f(X + 0.05 * torch.randn_like(X)) + 1e-10
