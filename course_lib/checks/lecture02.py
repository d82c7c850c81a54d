"""Checks of lecture 02 (architectural priors): a residual block and the plain block it replaces, unrolling a
recurrent cell in time, and the p4 lifting convolution. Each recognises the typical mistakes (the skip added
after the activation, the state not carried or cut from the graph, a transposed kernel or one rotated the
wrong way) and says which one it saw."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_residual_block", "check_unroll", "check_p4_lift"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("architectures.Block", "architectures.unroll", "architectures.P4LiftingConv")


def _copy_weights(block: nn.Module, width: int, seed: int) -> dict:
    """Random weights and batch-norm statistics for the layers conv1, bn1, conv2, bn2 of ``block``."""
    g = torch.Generator().manual_seed(seed)
    for name in ("conv1", "bn1", "conv2", "bn2"):
        if not hasattr(block, name):
            raise CheckFailed(f"the block has no attribute {name!r}; the exercise asks for conv1, bn1, conv2 and bn2 "
                              "(two 3x3 convolutions, each followed by batch normalisation)")
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            if not isinstance(conv, nn.Conv2d) or conv.weight.shape != (width, width, 3, 3):
                raise CheckFailed(f"conv1 and conv2 must be nn.Conv2d({width}, {width}, 3, padding=1); found {conv!r}")
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.3)
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
        for bn in (block.bn1, block.bn2):
            if not isinstance(bn, nn.BatchNorm2d):
                raise CheckFailed(f"bn1 and bn2 must be nn.BatchNorm2d({width}); found {bn!r}")
            bn.weight.copy_(1 + 0.2 * torch.randn(width, generator=g))
            bn.bias.copy_(0.2 * torch.randn(width, generator=g))
            bn.running_mean.copy_(0.1 * torch.randn(width, generator=g))
            bn.running_var.copy_(1 + 0.3 * torch.rand(width, generator=g))
    return block.eval()


def check_residual_block(ResidualBlock, PlainBlock, width: int = 4) -> None:
    """``ResidualBlock(width)`` computes ``relu(x + bn2(conv2(relu(bn1(conv1(x))))))``; ``PlainBlock(width)`` the same
    without ``x +``. Both are checked in eval mode on random weights against those formulas."""
    check_own_work(ResidualBlock, *OWN_WORK)
    check_own_work(PlainBlock, *OWN_WORK)
    x = torch.randn(2, width, 6, 6, generator=torch.Generator().manual_seed(2))
    for cls, skip in ((ResidualBlock, True), (PlainBlock, False)):
        name = cls.__name__
        with torch.random.fork_rng():                  # the student's initialisation leaves their RNG alone
            torch.manual_seed(0)
            block = _copy_weights(cls(width), width, seed=3 if skip else 4)
        with torch.no_grad():
            out = check_tensor_result(block(x), f"{name}({width})(x of shape {tuple(x.shape)})", shape=x.shape)
            inner = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
            right = F.relu(x + inner) if skip else F.relu(inner)
            mistakes = {"the skip is added after the activation: add x before the last ReLU, relu(x + F(x)), so that "
                        "the block can pass x through unchanged when F(x) = 0": x + F.relu(inner),
                        "the last ReLU is missing: the block ends with relu(x + F(x))": x + inner if skip else inner,
                        "this is the residual block: the plain block has no skip connection": F.relu(x + inner),
                        "this is the plain block: the residual block adds its input x before the last ReLU":
                            F.relu(inner)}
        if torch.allclose(out, right, atol=1e-5):
            continue
        for message, wrong in mistakes.items():
            if torch.allclose(out, wrong, atol=1e-5):
                raise CheckFailed(f"{name}: {message}")
        check_close(out, right, f"{name}({width})(x)", "two convolutions with batch normalisation, a ReLU between "
                    "them" + (", the input added, then a ReLU" if skip else ", then a ReLU"), atol=1e-5)
    passed("ResidualBlock computes relu(x + F(x)) and PlainBlock relu(F(x)), F = bn2∘conv2∘relu∘bn1∘conv1")


def check_unroll(unroll) -> None:
    """``unroll(cell, inputs, h0)`` returns the states ``(T, B, n)`` of ``h_t = cell(h_{t-1}, x_t)``, with the graph
    intact (backpropagation through time reaches the first step)."""
    check_own_work(unroll, *OWN_WORK)
    from ..architectures import RNNCell
    from ..architectures import unroll as reference

    cell = RNNCell(3, 5, spectral_radius=0.9, seed=5).double()     # seeded: the global RNG is left alone
    inputs = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    h0 = torch.randn(2, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    call = "unroll(cell, inputs of shape (6, 2, 3), h0 of shape (2, 5))"
    result = unroll(cell, inputs, h0)
    if isinstance(result, torch.Tensor) and tuple(result.shape) == (2, 5):
        raise CheckFailed(f"{call} returned only the last state, shape (2, 5); return every state, stacked: (6, 2, 5)")
    states = check_tensor_result(result, call, shape=(6, 2, 5))
    expected = reference(cell, inputs, h0)
    if torch.allclose(states, torch.stack([cell(h0, x) for x in inputs]), atol=1e-10):
        raise CheckFailed(f"{call}: every state was computed from h0: carry the state, h = cell(h, x_t), so that "
                          "h_t depends on all the inputs before it")
    if torch.allclose(states[1:], expected[:-1], atol=1e-10) and torch.allclose(states[0], h0, atol=1e-10):
        raise CheckFailed(f"{call}: the states are shifted by one step: states[0] is h0. Return h_1, ..., h_T, the "
                          "state after each input")
    check_close(states, expected, call, "h_t = cell(h_{t-1}, x_t), t = 1..T, with the given cell at every step (tied "
                "weights), stacked along a new first axis", atol=1e-10)
    cell.zero_grad()
    states = unroll(cell, inputs, h0)
    if not states.requires_grad:
        raise CheckFailed(f"{call}: the states carry no gradient: do not detach them or run under torch.no_grad(); "
                          "backpropagation through time needs the whole graph")
    states[-1].sum().backward()
    if cell.W.grad is None or not cell.W.grad.abs().sum() > 0:
        raise CheckFailed(f"{call}: the weights of the given cell get no gradient: apply that one cell at every step "
                          "(tied weights), not a copy or a new cell per step")
    mine = cell.W.grad.clone()
    cell.zero_grad()
    reference(cell, inputs, h0)[-1].sum().backward()
    if not torch.allclose(mine, cell.W.grad, atol=1e-10):
        raise CheckFailed(f"{call}: the gradient of the last state with respect to W is not the one of the unrolled "
                          "network: the state was cut from the graph (a .detach(), .item() or a new tensor) between "
                          "steps, so backpropagation through time stops early")
    passed("unroll carries the state through time with one cell (tied weights), and gradients flow back to t = 1")


def check_p4_lift(p4_lift) -> None:
    """``p4_lift(x, weight)``: x ``(B, C_in, H, H)``, weight ``(C_out, C_in, k, k)`` -> ``(B, C_out, 4, H, H)``, the
    convolution with the kernel rotated by r quarter turns (``torch.rot90(weight, r, dims=(-2, -1))``) at r."""
    check_own_work(p4_lift, *OWN_WORK)
    from ..architectures import p4_rotate

    g = torch.Generator().manual_seed(8)
    x = torch.randn(2, 2, 7, 7, generator=g, dtype=torch.float64)
    weight = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64)
    call = "p4_lift(x of shape (2, 2, 7, 7), weight of shape (3, 2, 3, 3))"
    out = p4_lift(x, weight)
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 4, 3, 7, 7):
        raise CheckFailed(f"{call} returned shape (2, 4, 3, 7, 7): the axes are in the wrong order. Stack the four "
                          "convolutions along a new axis 2, giving (B, C_out, 4, H, W)")
    if isinstance(out, torch.Tensor) and out.shape != (2, 3, 4, 7, 7):
        raise CheckFailed(f"{call} returned shape {tuple(out.shape)}; expected (2, 3, 4, 7, 7): (B, C_out, 4, H, W), "
                          "one map per output channel and orientation, of the input's size (padding k // 2)")
    out = check_tensor_result(out, call, shape=(2, 3, 4, 7, 7))
    turns = lambda w, sign: torch.stack([F.conv2d(x, w(r, sign), padding=1) for r in range(4)], 2)
    rotated = lambda r, sign: torch.rot90(weight, sign * r, dims=(-2, -1))
    transposed = lambda r, sign: weight.transpose(-1, -2) if r % 2 else weight
    right = turns(rotated, 1)
    if torch.allclose(out, right, atol=1e-10):
        error = (p4_lift(torch.rot90(x, 1, dims=(-2, -1)), weight) - p4_rotate(out, 1)).norm() / out.norm()
        passed(f"p4_lift is the lifting convolution; rotating the input by a quarter turn rotates and shifts its "
               f"output (equivariance error {error.item():.1e})")
        return
    if torch.allclose(out, turns(rotated, -1), atol=1e-10):
        raise CheckFailed(f"{call}: the kernel is rotated the other way: at orientation r it must turn in the same "
                          "sense as a rotation of the input by r quarter turns, or the orientation axis runs backwards")
    if torch.allclose(out, turns(transposed, 1), atol=1e-10) or torch.allclose(out[:, :, 1], F.conv2d(
            x, weight.transpose(-1, -2), padding=1), atol=1e-10):
        raise CheckFailed(f"{call}: a transposed kernel is a reflection, not a rotation (transposing twice gives the "
                          "kernel back, rotating four times does)")
    check_close(out, right, call, "at orientation r, convolve x with the kernel rotated by r quarter turns "
                "(padding k // 2 keeps the size)", atol=1e-10)
