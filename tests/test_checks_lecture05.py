"""The checks of lecture 05 accept correct work and name the usual mistakes."""
import pytest
import torch
from torch import nn

from course_lib import geometry as geo
from course_lib.checks import CheckFailed, check_encoder_decoder, check_local_linear_map, check_skip_decoder
from course_lib.lifting import lift, unlift

pytestmark = pytest.mark.usefixtures("library_allowed")   # the library's references stand in for students


def encoder_decoder(x, highpass=True):
    c = lift(x)
    half = (x.shape[-1] + 1) // 2
    keep = torch.ones_like(c)
    if not highpass:
        keep[..., half:] = 0
    return unlift(c * keep)


def test_a_correct_encoder_decoder_passes(capsys):
    check_encoder_decoder(encoder_decoder)
    assert "perfect reconstruction" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, says", [
    (lambda x, highpass=True: unlift(torch.cat([0 * lift(x)[..., :8], lift(x)[..., 8:]], -1)) if not highpass
     else x, "dropped the approximation"),
    (lambda x, highpass=True: encoder_decoder(x, False), "dropped the high-pass branch"),
    (lambda x, highpass=True: 2 * encoder_decoder(x, highpass), "rescaled the signal"),
    (lambda x, highpass=True: x, "Without the high-pass branch, zero the second half"),
    (lambda x, highpass=True: x if highpass else 2 * encoder_decoder(x, False), "lost its orthonormal scaling"),
])
def test_encoder_decoder_mistakes_are_named(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check_encoder_decoder(wrong)


def pooled_half(v):
    c = lift(v)
    half = v.shape[-1] // 2
    return unlift(torch.cat([c[..., :half], torch.zeros_like(c[..., half:])], -1))


def skip_decoder(skip, low):
    v = skip + unlift(torch.cat([low, torch.zeros_like(low)], -1))
    return v - pooled_half(v) / 2                       # (I + Π)^(-1) = I - Π/2


def test_a_correct_skip_decoder_passes(capsys):
    check_skip_decoder(skip_decoder)
    assert "least-squares" in capsys.readouterr().out
    x = torch.randn(2, 32, dtype=torch.float64)          # the library's skip encoder-decoder agrees
    assert torch.allclose(skip_decoder(x, lift(x)[..., :16]), geo.haar_encoder_decoder(x, 1, False, True), atol=1e-12)


def unpool(low):
    return unlift(torch.cat([low, torch.zeros_like(low)], -1))


@pytest.mark.parametrize("wrong, says", [
    (lambda skip, low: skip, "returned the skip branch"),
    (lambda skip, low: (skip + unpool(low)) / 2, "adds \\(or averages\\) the two branches"),
    (lambda skip, low: skip + unpool(low), "adds \\(or averages\\) the two branches"),
    (lambda skip, low: skip_decoder(skip, low) + 0.01 * low.sum(-1, keepdim=True), "perfect reconstruction"),
    (lambda skip, low: skip_decoder(skip, low) + 0.01 * (skip - skip_decoder(skip, low)), "minimises"),
    (lambda skip, low: skip[..., :8], "shape"),
])
def test_skip_decoder_mistakes_are_named(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check_skip_decoder(wrong)


def by_autograd(net, x):
    W = torch.autograd.functional.jacobian(net, x)
    return W, net(x).detach() - W @ x


def by_backward(net, x):
    x = x.clone().requires_grad_(True)
    net(x)[0].backward()
    return torch.stack([x.grad, x.grad]), torch.zeros(2, dtype=x.dtype)


def test_the_librarys_local_linear_map_passes(capsys):
    check_local_linear_map(geo.local_linear_map)
    assert "Jacobian" in capsys.readouterr().out


def without_masks(net, x):
    W, b = None, None
    for layer in net:
        if isinstance(layer, nn.Linear):
            W, b = (layer.weight, layer.bias) if W is None else (layer.weight @ W, layer.weight @ b + layer.bias)
    return W.detach(), b.detach()


def pattern_after_relu(net, x):
    """The pattern read from the ReLU's output with >= 0: every unit counts as active."""
    W, b, h = torch.eye(x.shape[0], dtype=x.dtype), torch.zeros_like(x), x
    for layer in net:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            W, b = layer.weight @ W, layer.weight @ b + layer.bias
        else:
            mask = (h >= 0).to(x.dtype)
            W, b = mask[:, None] * W, mask * b
    return W.detach(), b.detach()


def last_bias_only(net, x):
    W, _ = geo.local_linear_map(net, x)
    return W, net[-1].bias.detach()


@pytest.mark.parametrize("wrong, says", [
    (without_masks, "treats every unit as active"),
    (pattern_after_relu, "treats every unit as active"),
    (last_bias_only, "the offset b is not"),
    (lambda net, x: geo.local_linear_map(net, x)[0], "expected a pair"),
    (by_autograd, "Autograd sees nothing here"),
    (by_backward, "inference_mode"),
])
def test_local_linear_map_mistakes_are_named(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check_local_linear_map(wrong)
