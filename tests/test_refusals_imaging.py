"""Refusals of xray, geometry, architectures, history and recorded: a wrong type, shape, dtype or value raises a
TypeError or ValueError that names the parameter and says what was expected; every ``seed`` is an int or a
``torch.Generator`` and leaves torch's global random stream as it was.

Each module has a table ``(call, exception type, words the message must contain)``, run by one parametrised test.
"""
import json

import numpy as np
import pytest
import torch
from torch import nn

from course_lib import architectures as arch
from course_lib import data, xray
from course_lib import geometry as geo
from course_lib.history import History
from course_lib.lectures import recorded
from course_lib.lifting import WaveletTransform

F64 = torch.float64
NAN = float("nan")


def with_nan(t, value=NAN):
    """A copy of ``t`` with one entry replaced (a NaN by default)."""
    t = t.clone(memory_format=torch.contiguous_format)
    t.view(-1)[t.numel() // 2] = value
    return t


# --------------------------------------------------------------------------- xray

PANEL = xray.double_sided_panel(size=16, n_pigments=4)
RGB = data.test_image("chelsea", 16, dtype=F64, color=True)

XRAY = [
    # the review's case: a NaN pixel ended in "INTERNAL ASSERT FAILED ... report a bug to PyTorch"
    (lambda: xray.side_prediction(with_nan(PANEL.xray), PANEL.visible), ValueError,
     ["xray", "1 non-finite entry", "side_prediction"]),
    (lambda: xray.side_prediction(PANEL.xray, with_nan(PANEL.visible)), ValueError, ["visible", "non-finite"]),
    (lambda: xray.side_prediction(PANEL.xray, PANEL.visible.tolist()), TypeError, ["visible", "torch.Tensor"]),
    (lambda: xray.separate(with_nan(PANEL.xray, float("inf")), PANEL.visible), ValueError,
     ["xray", "non-finite", "separate"]),
    (lambda: xray.separate(PANEL.xray, with_nan(PANEL.visible)), ValueError, ["visible", "non-finite", "separate"]),
    (lambda: xray.separate(PANEL.xray, PANEL.visible[:, :8]), ValueError, ["visible", "separate", "(3, 16, 16)"]),
    (lambda: xray.separate(PANEL.xray.long()), TypeError, ["xray", "torch.int64"]),
    (lambda: xray.separate(PANEL.xray.to(torch.complex128)), TypeError, ["xray", "real floating-point"]),
    (lambda: xray.separate(PANEL.xray, lam=-0.1), ValueError, ["lam is -0.1", ">= 0"]),
    (lambda: xray.separate(PANEL.xray, lam=NAN), ValueError, ["lam is nan"]),
    (lambda: xray.separate(PANEL.xray, kappa="1"), TypeError, ["kappa", "number"]),
    (lambda: xray.separate(PANEL.xray, levels=2.0), TypeError, ["levels", "integer"]),
    (lambda: xray.exclusion_loss(PANEL.front, PANEL.back.tolist()), TypeError, ["y2", "torch.Tensor"]),
    (lambda: xray.exclusion_loss(PANEL.front, with_nan(PANEL.back)), ValueError, ["y2", "non-finite"]),
    (lambda: xray.exclusion_loss(with_nan(PANEL.front), PANEL.back), ValueError, ["y1", "non-finite"]),
    (lambda: xray.pigment_xray(with_nan(RGB)), ValueError, ["rgb", "non-finite", "pigment_xray"]),
    (lambda: xray.pigment_xray(RGB, seed="0"), TypeError, ["seed", "torch.Generator"]),
    (lambda: xray.pigment_xray(RGB, n_pigments=0), ValueError, ["n_pigments is 0"]),
    (lambda: xray.double_sided_panel(size=16, noise=-0.01), ValueError, ["noise is -0.01", "double_sided_panel"]),
    (lambda: xray.double_sided_panel(size=16, noise=float("inf")), ValueError, ["noise is inf"]),
    (lambda: xray.double_sided_panel(size=0), ValueError, ["size is 0", "double_sided_panel"]),
    (lambda: xray.double_sided_panel(size=16.0), TypeError, ["size", "integer"]),
    (lambda: xray.double_sided_panel(size=16, seed=-1), ValueError, ["seed is -1"]),
    (lambda: xray.double_sided_panel(size=16, seed=1.5), TypeError, ["seed", "integer"]),
    (lambda: xray.double_sided_panel(size=16, dtype=torch.int32), TypeError, ["dtype", "floating-point"]),
    (lambda: xray.double_sided_panel(size=16, dtype=torch.complex128), TypeError, ["dtype", "floating-point"]),
    (lambda: xray.edge_strength(PANEL.visible, "haar"), TypeError, ["W", "WaveletTransform"]),
    (lambda: xray.edge_strength(PANEL.visible[:, :8], WaveletTransform((16, 16), "haar", 2)), ValueError,
     ["visible", "(C, 16, 16)"]),
    (lambda: xray.edge_strength(with_nan(PANEL.visible), WaveletTransform((16, 16), "haar", 2)), ValueError,
     ["visible", "non-finite"]),
    (lambda: xray.best_separations(vars(PANEL)), TypeError, ["panel", "Panel"]),
    (lambda: xray.best_separations(xray.Panel(with_nan(PANEL.xray), *list(vars(PANEL).values())[1:])), ValueError,
     ["panel.xray", "non-finite"]),
    (lambda: xray.best_separations(PANEL, lams=()), ValueError, ["lams is empty"]),
    (lambda: xray.best_separations(PANEL, lams=0.1), TypeError, ["lams", "sequence"]),
    (lambda: xray.best_separations(PANEL, gammas=(0.0,)), ValueError, ["gammas is 0", "> 0"]),
    (lambda: xray.best_separations(PANEL, kappas=(-1.0,)), ValueError, ["kappas is -1"]),
    (lambda: xray.best_separations(PANEL, levels=(3.0,)), TypeError, ["levels", "integer"]),
]

# --------------------------------------------------------------------------- geometry

SIGNAL = torch.randn(8, generator=torch.Generator().manual_seed(0), dtype=F64)
NET = geo.relu_network(2, 4, 2, seed=0)
POINT = torch.tensor([0.5, -1.0], dtype=F64)
GRID = torch.linspace(-1, 1, 5, dtype=F64)

GEOMETRY = [
    (lambda: geo.hankel(with_nan(SIGNAL), 3), ValueError, ["x", "non-finite", "hankel"]),
    (lambda: geo.hankel(torch.arange(8), 3), TypeError, ["x", "torch.int64"]),
    (lambda: geo.hankel(SIGNAL.to(torch.complex128), 3), TypeError, ["x", "real floating-point"]),
    (lambda: geo.hankel(SIGNAL, 0), ValueError, ["d is 0"]),
    (lambda: geo.hankel(SIGNAL, 2.0), TypeError, ["d", "integer"]),
    (lambda: geo.hankel_adjoint(geo.hankel(SIGNAL, 3).tolist()), TypeError, ["H", "torch.Tensor"]),
    (lambda: geo.hankel_adjoint(with_nan(geo.hankel(SIGNAL, 3))), ValueError, ["H", "non-finite"]),
    (lambda: geo.unhankel(with_nan(geo.hankel(SIGNAL, 3))), ValueError, ["H", "non-finite"]),
    (lambda: geo.hankel_2d(with_nan(torch.zeros(4, 4, dtype=F64), float("inf")), 2, 2), ValueError,
     ["X", "non-finite", "hankel_2d"]),
    (lambda: geo.hankel_2d(torch.zeros(4, 4), 0, 2), ValueError, ["d1 is 0"]),
    (lambda: geo.unhankel_2d(torch.zeros(16, 4).tolist(), (4, 4, 2, 2)), TypeError, ["H", "torch.Tensor"]),
    (lambda: geo.unhankel_2d(torch.zeros(16, 4), 16), TypeError, ["shape", "four integers"]),
    (lambda: geo.unhankel_2d(torch.zeros(16, 4), (4, 4, 2.0, 2)), TypeError, ["shape", "integer"]),
    (lambda: geo.unhankel_2d(torch.zeros(16, 4), (4, 4, -2, -2)), ValueError, ["shape is -2"]),
    (lambda: geo.unhankel_2d(with_nan(torch.zeros(16, 4)), (4, 4, 2, 2)), ValueError, ["H", "non-finite"]),
    (lambda: geo.hankel_svd(SIGNAL.tolist(), 3), TypeError, ["x", "torch.Tensor"]),
    (lambda: geo.hankel_svd(with_nan(SIGNAL), 3), ValueError, ["x", "non-finite", "hankel_svd"]),
    (lambda: geo.hankel_svd(SIGNAL, 9), ValueError, ["d is 9", "hankel_svd"]),
    (lambda: geo.low_rank_denoise(with_nan(SIGNAL), 3, 1), ValueError, ["y", "non-finite", "low_rank_denoise"]),
    (lambda: geo.low_rank_denoise(torch.zeros(2, 8, dtype=F64), 3, 1), ValueError, ["y has shape (2, 8)", "(n,)"]),
    (lambda: geo.low_rank_denoise(SIGNAL, 20, 1), ValueError, ["d is 20", "low_rank_denoise"]),
    (lambda: geo.low_rank_denoise(SIGNAL, 3, -1), ValueError, ["rank is -1"]),
    (lambda: geo.low_rank_denoise(SIGNAL, 3, 2.5), TypeError, ["rank", "integer"]),
    (lambda: geo.framelet_coefficients(SIGNAL, torch.eye(8), torch.eye(3, dtype=F64)), TypeError,
     ["Phi has dtype torch.float32", "float64"]),
    (lambda: geo.framelet_coefficients(SIGNAL, torch.eye(8, dtype=F64), torch.ones(9, 2, dtype=F64)), ValueError,
     ["Psi has shape (9, 2)", "d <= n = 8"]),
    (lambda: geo.framelet_coefficients(SIGNAL.tolist(), torch.eye(8, dtype=F64), torch.eye(3, dtype=F64)), TypeError,
     ["x", "torch.Tensor"]),
    (lambda: geo.framelet_coefficients(SIGNAL, with_nan(torch.eye(8, dtype=F64)), torch.eye(3, dtype=F64)),
     ValueError, ["Phi", "non-finite"]),
    (lambda: geo.framelet_reconstruct(torch.ones(8, 3, dtype=F64), torch.eye(4, dtype=F64), torch.eye(3, dtype=F64)),
     ValueError, ["Phi_dual has shape (4, 4)", "(n, 8)"]),
    (lambda: geo.framelet_reconstruct([[1.0]], torch.eye(1, dtype=F64), torch.eye(1, dtype=F64)), TypeError,
     ["C", "torch.Tensor"]),
    (lambda: geo.framelet_reconstruct(torch.ones(8, 3, dtype=F64), torch.eye(8, dtype=F64), torch.eye(3)), TypeError,
     ["Psi_dual has dtype torch.float32"]),
    (lambda: geo.haar_frame(8, dtype=torch.int64), TypeError, ["dtype", "floating-point"]),
    (lambda: geo.haar_frame(0), ValueError, ["n is 0"]),
    (lambda: geo.frame_bounds(torch.eye(4).tolist()), TypeError, ["B", "torch.Tensor"]),
    (lambda: geo.frame_bounds(with_nan(torch.eye(4))), ValueError, ["B", "non-finite"]),
    (lambda: geo.frame_bounds(torch.ones(4)), ValueError, ["B has shape (4,)", "(n, m)"]),
    (lambda: geo.encoder_decoder(with_nan(torch.eye(4))), ValueError, ["B", "non-finite", "encoder_decoder"]),
    (lambda: geo.encoder_decoder(torch.eye(4, dtype=F64), torch.eye(4)), TypeError, ["B_dual has dtype"]),
    (lambda: geo.encoder_decoder(torch.ones(4)), ValueError, ["B has shape (4,)"]),
    (lambda: geo.haar_encoder_decoder(with_nan(torch.zeros(8, 8))), ValueError, ["x", "non-finite"]),
    (lambda: geo.haar_encoder_decoder(torch.zeros(8, 8), levels=0), ValueError, ["levels is 0"]),
    (lambda: geo.haar_encoder_decoder(torch.zeros(8, 8, dtype=torch.int64)), TypeError, ["x", "torch.int64"]),
    (lambda: geo.crelu([1.0, -1.0]), TypeError, ["x", "torch.Tensor"]),
    (lambda: geo.crelu(torch.zeros(2, 3), dim=2), ValueError, ["dim is 2", "(2, 3)"]),
    (lambda: geo.crelu(torch.zeros(2, 3), dim=1.0), TypeError, ["dim", "integer"]),
    (lambda: geo.crelu(torch.zeros(3, dtype=torch.complex64)), TypeError, ["x", "real floating-point"]),
    (lambda: geo.crelu_inverse(torch.zeros(4), dim=5), ValueError, ["dim is 5"]),
    (lambda: geo.relu_network(2, 4, 2, seed="a"), TypeError, ["seed", "torch.Generator"]),
    (lambda: geo.relu_network(2, 4, 2, dtype=torch.int32), TypeError, ["dtype", "floating-point"]),
    (lambda: geo.relu_network(2, -1, 2), ValueError, ["width is -1"]),
    (lambda: geo.relu_layers([nn.Linear(2, 2)]), TypeError, ["net is a list", "nn.Sequential"]),
    (lambda: geo.local_linear_map([nn.Linear(2, 2)], POINT), TypeError, ["net is a list"]),
    (lambda: geo.local_linear_map(NET, with_nan(POINT)), ValueError, ["x", "non-finite", "local_linear_map"]),
    (lambda: geo.local_linear_map(NET, POINT.float()), TypeError, ["x has dtype torch.float32", "float64"]),
    (lambda: geo.local_linear_map(NET, torch.zeros(3, dtype=F64)), ValueError, ["x has shape (3,)", "n_in = 2"]),
    (lambda: geo.activation_pattern(NET, POINT.tolist()), TypeError, ["x", "torch.Tensor"]),
    (lambda: geo.activation_pattern(NET, with_nan(POINT, float("inf"))), ValueError, ["x", "non-finite"]),
    (lambda: geo.local_lipschitz(NET, POINT), ValueError, ["points has shape (2,)", "(N, n_in)"]),
    (lambda: geo.local_lipschitz(NET, with_nan(POINT[None])), ValueError, ["points", "non-finite"]),
    (lambda: geo.regions_along_line(NET, with_nan(POINT), -POINT), ValueError, ["a", "non-finite"]),
    (lambda: geo.regions_along_line(NET, POINT, torch.zeros(3, dtype=F64)), ValueError, ["b has shape (3,)"]),
    (lambda: geo.regions_along_line(NET, POINT, -POINT, samples=1), ValueError, ["samples is 1"]),
    (lambda: geo.regions_on_grid(NET, GRID[None], GRID), ValueError, ["xs has shape (1, 5)"]),
    (lambda: geo.regions_on_grid(NET, GRID, GRID.float()), TypeError, ["ys has dtype torch.float32"]),
    (lambda: geo.regions_on_grid(NET, GRID.float(), GRID.float()), TypeError,
     ["xs has dtype torch.float32", "network's dtype torch.float64"]),
    (lambda: geo.regions_on_grid(NET, GRID, GRID, origin=torch.zeros(3, dtype=F64)), ValueError,
     ["origin has shape (3,)", "(2,)"]),
    (lambda: geo.regions_on_grid(NET, with_nan(GRID), GRID), ValueError, ["xs", "non-finite"]),
]

# --------------------------------------------------------------------------- architectures

IMAGES, LABELS = arch.rotated_patterns(8, size=8, seed=0)
with torch.random.fork_rng(devices=[]):
    torch.manual_seed(0)
    SMALL = arch.DeepNet(n_blocks=1, width=4, n_classes=4)
DIRECTION = arch.filter_normalised_direction(SMALL, seed=0)
A = data.gaussian_matrix(6, 10, seed=0, dtype=F64)
X_SAMPLES, Y_SAMPLES = arch.linear_data(n=6, n_samples=4, seed=0)
loss = lambda f: nn.functional.cross_entropy(f(IMAGES), LABELS)

ARCHITECTURES = [
    # the review's case: a batch without its channel axis was read as channels
    (lambda: arch.DeepNet(1)(IMAGES[:, 0]), ValueError, ["x has shape (8, 8, 8)", "(N, 1, H, W)", "x[:, None]"]),
    (lambda: arch.DeepNet(1, in_channels=3)(IMAGES), ValueError, ["x has shape (8, 1, 8, 8)", "(N, 3, H, W)"]),
    (lambda: arch.DeepNet(1)(IMAGES.tolist()), TypeError, ["x", "torch.Tensor"]),
    (lambda: arch.DeepNet(1)(IMAGES.long()), TypeError, ["x", "torch.int64"]),
    (lambda: arch.DeepNet(width=0), ValueError, ["width is 0", "DeepNet"]),
    (lambda: arch.DeepNet(n_classes=2.0), TypeError, ["n_classes", "integer"]),
    (lambda: arch.Block(4)(torch.zeros(2, 3, 4, 4)), ValueError, ["(N, 4, H, W)", "Block"]),
    (lambda: arch.Block(0), ValueError, ["width is 0"]),
    (lambda: arch.PlainCNN(4)(IMAGES[:, 0]), ValueError, ["(N, 1, H, W)", "PlainCNN"]),
    (lambda: arch.P4CNN(0), ValueError, ["n_classes is 0"]),
    (lambda: arch.P4LiftingConv(0, 2), ValueError, ["in_channels is 0"]),
    (lambda: arch.P4GroupConv(2, -1), ValueError, ["out_channels is -1"]),
    (lambda: arch.log_evidence(A, with_nan(torch.zeros(6, dtype=F64)), 1.0, 1.0), ValueError, ["y", "non-finite"]),
    (lambda: arch.log_evidence(A, torch.zeros(6, dtype=F64), -1.0, 1.0), ValueError, ["alpha is -1"]),
    (lambda: arch.log_evidence(A.long(), torch.zeros(6, dtype=F64), 1.0, 1.0), TypeError, ["Phi", "torch.int64"]),
    (lambda: arch.dense_design(with_nan(X_SAMPLES)), ValueError, ["X", "non-finite", "dense_design"]),
    (lambda: arch.convolution_design(X_SAMPLES, 3.0), TypeError, ["kernel_size", "integer"]),
    (lambda: arch.circular_convolution(X_SAMPLES, [1.0, 2.0, 1.0]), TypeError, ["kernel", "torch.Tensor"]),
    (lambda: arch.circular_convolution(with_nan(X_SAMPLES), torch.ones(3, dtype=F64)), ValueError,
     ["x", "non-finite"]),
    (lambda: arch.circular_convolution(torch.tensor(1.0), torch.ones(3)), ValueError, ["x is a scalar"]),
    (lambda: arch.convolution_matrix(torch.ones(3), 0), ValueError, ["n is 0"]),
    (lambda: arch.convolution_matrix(with_nan(torch.ones(3), float("inf")), 5), ValueError, ["kernel", "non-finite"]),
    (lambda: arch.linear_data(noise=-0.1), ValueError, ["noise is -0.1", "linear_data"]),
    (lambda: arch.linear_data(noise=NAN), ValueError, ["noise is nan"]),
    (lambda: arch.linear_data(n=0), ValueError, ["n is 0"]),
    (lambda: arch.linear_data(n_samples=2.5), TypeError, ["n_samples", "integer"]),
    (lambda: arch.linear_data(kernel_size=4), ValueError, ["kernel_size is 4", "odd"]),
    (lambda: arch.linear_data(dtype=torch.int64), TypeError, ["dtype", "floating-point"]),
    (lambda: arch.linear_data(seed="x"), TypeError, ["seed", "torch.Generator"]),
    (lambda: arch.model_evidence(X_SAMPLES, Y_SAMPLES.tolist()), TypeError, ["Y", "torch.Tensor"]),
    (lambda: arch.model_evidence(X_SAMPLES, with_nan(Y_SAMPLES)), ValueError, ["Y", "non-finite"]),
    (lambda: arch.model_evidence(X_SAMPLES, Y_SAMPLES, noise=0.0), ValueError, ["noise is 0", "> 0"]),
    (lambda: arch.model_evidence(X_SAMPLES, Y_SAMPLES, alpha=0.0), ValueError, ["alpha is 0", "model_evidence"]),
    (lambda: arch.shift_equivariance_error(3, X_SAMPLES), TypeError, ["f", "function"]),
    (lambda: arch.shift_equivariance_error(torch.relu, X_SAMPLES, shift=1.5), TypeError, ["shift", "integer"]),
    (lambda: arch.shift_equivariance_error(torch.relu, with_nan(X_SAMPLES)), ValueError, ["x", "non-finite"]),
    (lambda: arch.p4_rotate(torch.zeros(1, 1, 4, 3, 3), r=0.5), TypeError, ["r", "integer"]),
    (lambda: arch.p4_rotate(with_nan(torch.zeros(1, 1, 4, 3, 3)), 1), ValueError, ["features", "non-finite"]),
    (lambda: arch.rotated_patterns(4, n_classes=0), ValueError, ["n_classes is 0"]),
    (lambda: arch.rotated_patterns(4, noise=-1.0), ValueError, ["noise is -1"]),
    (lambda: arch.rotated_patterns(4, dtype=torch.int64), TypeError, ["dtype", "floating-point"]),
    (lambda: arch.rotated_patterns(4, seed=0.5), TypeError, ["seed", "torch.Generator"]),
    (lambda: arch.train_classifier([SMALL], IMAGES, LABELS), TypeError, ["model is a list", "nn.Module"]),
    (lambda: arch.train_classifier(SMALL, with_nan(IMAGES), LABELS), ValueError,
     ["x", "non-finite", "train_classifier"]),
    (lambda: arch.train_classifier(SMALL, IMAGES.tolist(), LABELS), TypeError, ["x", "torch.Tensor"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS.float()), TypeError,
     ["labels has dtype torch.float32", "integer"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS[:3]), ValueError, ["labels has shape (3,)", "(8,)"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS - 5), ValueError, ["labels holds -", ">= 0"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, n_iter=-1), ValueError, ["n_iter is -1"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, n_iter=0), ValueError, ["n_iter is 0"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, optimizer="adam"), TypeError,
     ["optimizer is 'adam'", "torch.optim class"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, lr=0.0), ValueError, ["lr is 0", "> 0"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, lr=NAN), ValueError, ["lr is nan"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, batch=0), ValueError, ["batch is 0"]),
    (lambda: arch.train_classifier(SMALL, IMAGES, LABELS, seed=1.0), TypeError, ["seed", "torch.Generator"]),
    (lambda: arch.accuracy(SMALL, IMAGES, LABELS.tolist()), TypeError, ["labels", "torch.Tensor"]),
    (lambda: arch.filter_normalised_direction("net"), TypeError, ["model is a str"]),
    (lambda: arch.landscape(SMALL, loss, [DIRECTION[:-1]], [0.0]), ValueError, ["directions[0]", "one tensor per"]),
    (lambda: arch.landscape(SMALL, loss, [DIRECTION], [0.0], [0.0]), ValueError, ["[d1, d2]"]),
    (lambda: arch.landscape(SMALL, loss, DIRECTION[0], [0.0]), TypeError, ["directions", "[d1]"]),
    (lambda: arch.landscape(SMALL, loss, [DIRECTION], [0.0, NAN]), ValueError, ["alphas holds nan", "finite"]),
    (lambda: arch.landscape(SMALL, loss, [DIRECTION], "abc"), TypeError, ["alphas", "sequence of numbers"]),
    (lambda: arch.landscape(SMALL, loss, [DIRECTION, DIRECTION], [0.0], ["a"]), TypeError, ["betas holds a str"]),
    (lambda: arch.landscape(SMALL, None, [DIRECTION], [0.0]), TypeError, ["loss_fn", "function"]),
    (lambda: arch.hessian_extreme_eigenvalues(SMALL, loss, n_iter=0), ValueError, ["n_iter is 0"]),
    (lambda: arch.hessian_extreme_eigenvalues(SMALL, loss, n_iter=-3), ValueError, ["n_iter is -3"]),
    (lambda: arch.hessian_extreme_eigenvalues(SMALL, 1.0), TypeError, ["loss_fn", "function"]),
    (lambda: arch.hessian_extreme_eigenvalues(SMALL.parameters(), loss), TypeError, ["model", "nn.Module"]),
    (lambda: arch.RNNCell(0, 3), ValueError, ["n_in is 0"]),
    (lambda: arch.RNNCell(2, 3, spectral_radius=-0.5), ValueError, ["spectral_radius is -0.5"]),
    (lambda: arch.RNNCell(2, 3, spectral_radius=NAN), ValueError, ["spectral_radius is nan"]),
    (lambda: arch.RNNCell(2, 3, seed=1.0), TypeError, ["seed", "torch.Generator"]),
    (lambda: arch.IstaCell(with_nan(A), 0.1), ValueError, ["A", "non-finite", "IstaCell"]),
    (lambda: arch.IstaCell(A, -1.0), ValueError, ["lam is -1"]),
    (lambda: arch.unroll(arch.RNNCell(2, 3), torch.zeros(4, 2, 2), [[0.0] * 3] * 2), TypeError,
     ["h0", "torch.Tensor"]),
    (lambda: arch.unroll(arch.RNNCell(2, 3), torch.zeros(4, 2, 2), torch.zeros(5, 3)), ValueError,
     ["h0 has shape (5, 3)", "(2, n_hidden)"]),
    (lambda: arch.unroll(arch.RNNCell(2, 3), with_nan(torch.zeros(4, 2, 2)), torch.zeros(2, 3)), ValueError,
     ["inputs", "non-finite", "unroll"]),
    (lambda: arch.unroll("cell", torch.zeros(4, 2, 2), torch.zeros(2, 3)), TypeError, ["cell", "function"]),
    (lambda: arch.gradient_through_time(arch.RNNCell(2, 3), torch.zeros(4, 2), torch.zeros(2, 3)), ValueError,
     ["inputs has shape (4, 2)", "(T, B, n_in)"]),
]

# --------------------------------------------------------------------------- history

HISTORY = [
    (lambda: History().log(loss="1.0"), TypeError, ["'loss'", "str", "real number"]),
    (lambda: History().log(loss=None), TypeError, ["'loss'", "NoneType"]),
    (lambda: History().log(loss=torch.ones(3)), TypeError, ["'loss'", "shape (3,)"]),
    (lambda: History().log(loss=[1.0]), TypeError, ["'loss'", "list"]),
    (lambda: History().log(loss=1j), TypeError, ["'loss'", "complex"]),
    (lambda: History().log(psnr=torch.tensor(1j)), TypeError, ["'psnr'", "complex64"]),
    (lambda: History().log(stopped=True), TypeError, ["'stopped'", "bool"]),
    (lambda: History().log(keys=1.0), ValueError, ["'keys' is a name of the History itself"]),
]

TABLES = {"xray": XRAY, "geometry": GEOMETRY, "architectures": ARCHITECTURES, "history": HISTORY}
CASES = [pytest.param(call, error, words, id=f"{module}-{i}")
         for module, table in TABLES.items() for i, (call, error, words) in enumerate(table)]


@pytest.mark.parametrize("call, error, words", CASES)
def test_a_wrong_input_is_refused_with_a_message_that_says_what_was_expected(call, error, words):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert all(word in message for word in words), (message, words)
    assert type(caught.value) in (TypeError, ValueError)           # not a subclass from deep inside PyTorch


def test_history_records_numbers_of_every_kind_and_keeps_nan():
    history = History()
    for value in (1, 2.5, np.float32(0.5), np.int64(3), torch.tensor(3.0), torch.tensor([2]), np.array(1.5), NAN):
        history.log(loss=value)
    assert history.loss[:-1] == [1.0, 2.5, 0.5, 3.0, 3.0, 2.0, 1.5] and np.isnan(history.loss[-1])
    assert all(type(v) is float for v in history.loss)
    with pytest.raises(TypeError):
        history.log(loss=1.0, error="big")                          # nothing of a refused call is kept
    assert len(history.loss) == 8 and "error" not in history


# --------------------------------------------------------------------------- seeds

def seeded_calls():
    """Every seeded function of the five modules as ``name: call(seed) -> result``."""
    def trained(seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = arch.DeepNet(n_blocks=1, width=4, n_classes=4)
        _, history = arch.train_classifier(model, IMAGES, LABELS, n_iter=3, batch=4, seed=seed, rotate=True)
        return history.loss, list(model.parameters())

    return {
        "geometry.relu_network": lambda seed: list(geo.relu_network(2, 4, 2, skip=True, seed=seed).parameters()),
        "architectures.linear_data": lambda seed: arch.linear_data(n=6, n_samples=3, seed=seed),
        "architectures.rotated_patterns": lambda seed: arch.rotated_patterns(5, size=8, seed=seed),
        "architectures.train_classifier": trained,
        "architectures.filter_normalised_direction": lambda seed: arch.filter_normalised_direction(SMALL, seed=seed),
        "architectures.hessian_extreme_eigenvalues": lambda seed: arch.hessian_extreme_eigenvalues(SMALL, loss, 3,
                                                                                                   seed=seed),
        "architectures.RNNCell": lambda seed: list(arch.RNNCell(2, 3, seed=seed).parameters()),
        "xray.pigment_xray": lambda seed: xray.pigment_xray(RGB, 3, seed=seed),
        "xray.double_sided_panel": lambda seed: list(vars(xray.double_sided_panel(size=16, n_pigments=3,
                                                                                  seed=seed)).values()),
    }


def flat(result):
    if isinstance(result, torch.Tensor):
        return [result.detach()]
    if isinstance(result, (list, tuple)):
        return [t for item in result for t in flat(item)]
    return [torch.tensor(result)]


def same(a, b):
    a, b = flat(a), flat(b)
    return len(a) == len(b) and all(torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("name", sorted(seeded_calls()))
def test_a_seeded_function_leaves_the_global_random_stream_alone(name):
    call = seeded_calls()[name]
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    call(3)
    call(torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), before), f"{name} drew from or reseeded torch's global RNG"


@pytest.mark.parametrize("name", sorted(set(seeded_calls()) - {"xray.double_sided_panel"}))
def test_an_int_seed_and_a_generator_seeded_with_it_give_the_same_draws(name):
    call = seeded_calls()[name]
    assert same(call(3), call(torch.Generator().manual_seed(3)))
    assert not same(call(3), call(4)) or name == "architectures.hessian_extreme_eigenvalues"


def test_double_sided_panel_takes_a_generator_and_carries_it_on():
    """An int keeps its three streams (front seed + 1, back seed + 2, noise seed); a Generator draws all three from
    its one stream, so the same generator state gives the same panel and the generator moves on."""
    call = seeded_calls()["xray.double_sided_panel"]
    g = torch.Generator().manual_seed(3)
    first = call(g)
    assert same(first, call(torch.Generator().manual_seed(3)))
    assert not same(first, call(g))                                  # it carried on where it was
    int_panel = xray.double_sided_panel(size=16, n_pigments=3, seed=3)
    painted, _ = xray.pigment_xray(data.test_image("chelsea", 16, dtype=F64, color=True), 3, seed=4)
    assert torch.equal(int_panel.visible, painted)                  # an int seed: the front from seed + 1, as before


def test_random_generators_take_a_device():
    """Drawn on the CPU (the same numbers everywhere), then moved: the meta device shows the move without a GPU."""
    meta = torch.device("meta")
    assert all(t.device == meta for t in arch.linear_data(n=4, n_samples=2, device=meta))
    assert all(t.device == meta for t in arch.rotated_patterns(3, size=8, device=meta))
    assert all(t.device == meta for t in vars(xray.double_sided_panel(size=16, n_pigments=3, device=meta)).values())


# --------------------------------------------------------------------------- recorded

COMMAND = "python scripts/toy.py"


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A fresh record 'toy' in a temporary folder: (recipe, code, folder)."""
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    recipe, code = {"n": 3}, "course_lib.lectures.recorded"
    recorded.save("toy", {"x": torch.arange(1000.0)}, recipe, code, COMMAND, 0.1)
    return recipe, code, tmp_path


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def damage_pt_and_its_hash(folder):
    """A truncated .pt whose manifest was rewritten to match it: only torch.load can tell."""
    import hashlib

    truncate(folder / "toy.pt")
    facts = json.loads((folder / "toy.json").read_text())
    facts["sha256"] = hashlib.sha256((folder / "toy.pt").read_bytes()).hexdigest()
    (folder / "toy.json").write_text(json.dumps(facts))


def without_command(folder):
    facts = json.loads((folder / "toy.json").read_text())
    del facts["command"]
    (folder / "toy.json").write_text(json.dumps(facts))


DAMAGE = [
    ("truncated .pt", lambda folder: truncate(folder / "toy.pt"), RuntimeError,
     ["toy.pt is not the file that was recorded", "truncated", COMMAND]),
    ("truncated .pt, hash rewritten", damage_pt_and_its_hash, RuntimeError, ["toy.pt is damaged", COMMAND]),
    ("missing .pt", lambda folder: (folder / "toy.pt").unlink(), FileNotFoundError, ["toy.pt is missing", COMMAND]),
    ("truncated .json", lambda folder: truncate(folder / "toy.json", 0.9), RuntimeError,
     ["toy.json is damaged", "not valid JSON", COMMAND]),
    ("truncated .json before its command", lambda folder: truncate(folder / "toy.json", 0.2), RuntimeError,
     ["toy.json is damaged", "scripts/record_"]),
    ("binary .json", lambda folder: (folder / "toy.json").write_bytes(b"\x80\x81\x00"), RuntimeError,
     ["toy.json is damaged"]),
    (".json without its command", without_command, RuntimeError, ["toy.json is damaged", "lacks command"]),
    ("missing .json", lambda folder: (folder / "toy.json").unlink(), FileNotFoundError, ["toy.json is missing"]),
]


@pytest.mark.parametrize("damage, error, words", [pytest.param(d, e, w, id=i) for i, d, e, w in DAMAGE])
def test_a_damaged_or_missing_record_names_the_file_and_the_command(toy, damage, error, words):
    recipe, code, folder = toy
    damage(folder)
    with pytest.raises(error) as caught:
        recorded.load("toy", recipe, code)
    message = str(caught.value)
    assert all(word in message for word in words), (message, words)
    assert "PytorchStreamReader" not in message.split("(torch.load:")[0]


def test_a_missing_record_of_the_course_names_its_script(tmp_path, monkeypatch):
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    expected = "dip_long_runs.json is missing; make it with: python scripts/record_dip.py"
    with pytest.raises(FileNotFoundError, match=expected):
        recorded.manifest("dip_long_runs")


@pytest.mark.parametrize("call, error, words", [
    (lambda: recorded.manifest(3), TypeError, ["name is a int"]),
    (lambda: recorded.manifest("../toy"), ValueError, ["name is '../toy'"]),
    (lambda: recorded.save("toy", [1], {}, "course_lib.prox", COMMAND, 0.1), TypeError, ["payload is a list"]),
    (lambda: recorded.save("toy", {}, "n=3", "course_lib.prox", COMMAND, 0.1), TypeError, ["recipe is a str"]),
    (lambda: recorded.save("toy", {}, {}, "course_lib.prox", "", 0.1), TypeError, ["command is ''"]),
    (lambda: recorded.save("toy", {}, {}, "course_lib.prox", COMMAND, -1.0), ValueError, ["seconds is -1.0"]),
])
def test_recorded_refuses_wrong_arguments(tmp_path, monkeypatch, call, error, words):
    monkeypatch.setattr(recorded, "RECORDS", tmp_path)
    with pytest.raises(error) as caught:
        call()
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert not any(tmp_path.iterdir())                              # nothing written
