"""The lecture 02 checks accept right answers and name the typical mistakes."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_lib import architectures as arch
from course_lib.checks import CheckFailed, check_p4_lift, check_residual_block, check_unroll

pytestmark = pytest.mark.usefixtures("library_allowed")   # the library's references stand in for students


def block_class(output):
    """A block class whose forward is ``output(x, inner)``, inner = bn2(conv2(relu(bn1(conv1(x)))))."""

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)
            self.bn1, self.bn2 = nn.BatchNorm2d(width), nn.BatchNorm2d(width)

        def forward(self, x):
            return output(x, self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))

    return Block


RESIDUAL = block_class(lambda x, inner: F.relu(x + inner))
PLAIN = block_class(lambda x, inner: F.relu(inner))


def test_right_answers_pass(capsys):
    check_residual_block(RESIDUAL, PLAIN)
    check_unroll(arch.unroll)
    check_p4_lift(lambda x, w: torch.stack([F.conv2d(x, torch.rot90(w, r, dims=(-2, -1)), padding=w.shape[-1] // 2)
                                            for r in range(4)], 2))
    assert capsys.readouterr().out.count("✔") == 3


@pytest.mark.parametrize("residual, plain, message", [
    (block_class(lambda x, inner: x + F.relu(inner)), PLAIN, "skip is added after the activation"),
    (block_class(lambda x, inner: x + inner), PLAIN, "last ReLU is missing"),
    (RESIDUAL, RESIDUAL, "the plain block has no skip connection"),
    (PLAIN, PLAIN, "adds its input x before the last ReLU"),
])
def test_wrong_blocks_are_named(residual, plain, message):
    with pytest.raises(CheckFailed, match=message):
        check_residual_block(residual, plain)


def test_a_block_without_the_named_layers_is_told_what_to_name_them():
    class Odd(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.layers = nn.Sequential(nn.Conv2d(width, width, 3, padding=1))

        def forward(self, x):
            return x

    with pytest.raises(CheckFailed, match="no attribute 'conv1'"):
        check_residual_block(Odd, PLAIN)


def last_only(cell, inputs, h0):
    h = h0
    for x in inputs:
        h = cell(h, x)
    return h


def from_h0(cell, inputs, h0):
    return torch.stack([cell(h0, x) for x in inputs])


def shifted(cell, inputs, h0):
    states, h = [], h0
    for x in inputs:
        states.append(h)
        h = cell(h, x)
    return torch.stack(states)


def detached(cell, inputs, h0):
    states, h = [], h0
    for x in inputs:
        h = cell(h.detach(), x)
        states.append(h)
    return torch.stack(states)


def copied_cell(cell, inputs, h0):
    import copy

    states, h = [], h0
    for x in inputs:
        h = copy.deepcopy(cell)(h, x)
        states.append(h)
    return torch.stack(states)


@pytest.mark.parametrize("wrong, message", [
    (copied_cell, "tied weights"),
    (last_only, "only the last state"),
    (from_h0, "every state was computed from h0"),
    (shifted, "shifted by one step"),
    (detached, "cut from the graph"),
    (lambda cell, inputs, h0: arch.unroll(cell, inputs, h0).detach(), "carry no gradient"),
])
def test_wrong_unrolls_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_unroll(wrong)


def lift_with(kernel_at):
    return lambda x, w: torch.stack([F.conv2d(x, kernel_at(w, r), padding=1) for r in range(4)], 2)


@pytest.mark.parametrize("wrong, message", [
    (lift_with(lambda w, r: torch.rot90(w, -r, dims=(-2, -1))), "rotated the other way"),
    (lift_with(lambda w, r: w.transpose(-1, -2) if r % 2 else w), "transposed kernel is a reflection"),
    (lambda x, w: torch.stack([F.conv2d(x, torch.rot90(w, r, dims=(-2, -1)), padding=1) for r in range(4)], 1),
     "axes are in the wrong order"),
    (lift_with(lambda w, r: w), "rotated by r quarter turns"),
])
def test_wrong_p4_lifts_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_p4_lift(wrong)
