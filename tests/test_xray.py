"""X-ray separation: the exact per-coefficient solver, the panel, the side prediction, and clear errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import data, xray
from course_lib.metrics import psnr

finite = st.floats(-2, 2, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(q=finite, c=finite, gamma=st.floats(0.05, 5), lam=st.floats(0, 0.5), lam_back=st.floats(0, 0.5),
       mu=st.floats(0, 5))
def test_scalar_solver_is_the_global_minimum(q, c, gamma, lam, lam_back, mu):
    """The candidate comparison beats a fine grid over [-4, 4] (the minimiser lies between min(0, c, q) and max)."""
    a = xray._solve_coefficients(torch.tensor([q], dtype=torch.float64), torch.tensor([c], dtype=torch.float64),
                                 gamma, lam, lam_back, mu)
    grid = torch.linspace(-4, 4, 160_001, dtype=torch.float64)
    objective = lambda t: xray._scalar_objective(t, q, c, gamma, lam, lam_back, mu)
    assert objective(a).item() <= objective(grid).min().item() + 1e-9


def test_without_sparsity_and_exclusion_the_front_is_the_prediction():
    panel = xray.double_sided_panel(size=64)
    front, back = xray.separate(panel.xray, panel.visible, lam=0.0, gamma=1.0, mu=0.0, levels=3)
    assert torch.allclose(front, xray.side_prediction(panel.xray, panel.visible, levels=3), atol=1e-12)
    assert torch.allclose(front + back, panel.xray, atol=1e-12)


def test_panel_is_the_sum_of_its_sides_and_the_side_information_helps():
    panel = xray.double_sided_panel(size=64, noise=0.0)
    assert panel.xray.shape == (64, 64) and panel.visible.shape == (3, 64, 64)
    assert torch.allclose(panel.xray, panel.front + panel.back)
    assert panel.front.mean().item() == pytest.approx(0.5) and panel.back.mean().item() == pytest.approx(0.5)
    with_side = xray.separate(panel.xray, panel.visible, lam=0.01)
    blind = xray.separate(panel.xray, None, lam=0.01)
    assert torch.allclose(blind[0], blind[1])                        # nothing tells the sides apart
    assert psnr(with_side[0], panel.front) > psnr(blind[0], panel.front) + 2


def test_pigments_are_few_and_the_xray_is_not_linear_in_the_colours():
    painting, x = xray.pigment_xray(data.test_image("chelsea", 32, dtype=torch.float64, color=True), n_pigments=5)
    assert len(torch.unique(painting.reshape(3, -1), dim=1).T) <= 5
    features = torch.cat([painting.reshape(3, -1), torch.ones(1, 32 * 32, dtype=torch.float64)]).T
    fit = features @ torch.linalg.lstsq(features, x.reshape(-1, 1)).solution
    assert psnr(fit.reshape(x.shape), x) < 40                         # a linear colour map leaves an error


def test_exclusion_loss_vanishes_for_disjoint_edges():
    a, b = torch.zeros(16, 16, dtype=torch.float64), torch.zeros(16, 16, dtype=torch.float64)
    a[:, :7], b[:7, :] = 1.0, 1.0                     # a vertical edge and a horizontal one (inside a Haar pair)
    assert xray.exclusion_loss(a, b, levels=1) == 0.0
    assert xray.exclusion_loss(a, a, levels=1) > 0.0


def test_bad_inputs_get_clear_errors():
    panel = xray.double_sided_panel(size=32)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*levels = 64"):
        xray.separate(panel.xray, panel.visible, levels=6)
    with pytest.raises(ValueError, match="RGB image \\(3, 32, 32\\)"):
        xray.separate(panel.xray, panel.visible[:2])
    with pytest.raises(ValueError, match="one image \\(H, W\\)"):
        xray.separate(panel.xray[None])
    with pytest.raises(ValueError, match="gamma is 0"):
        xray.separate(panel.xray, gamma=0)
    with pytest.raises(ValueError, match="mu is -1"):
        xray.separate(panel.xray, mu=-1)
    with pytest.raises(ValueError, match="not a colour image"):
        xray.double_sided_panel(front="camera")
    assert np.isfinite(xray.exclusion_loss(panel.front, panel.back))
