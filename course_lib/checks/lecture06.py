"""Checks of lecture 06 (the deep image prior): the running-variance detector and one DIP training step."""
from __future__ import annotations

import math

import torch

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_variance_detector", "check_dip_step"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("dip.WindowedVarianceDetector", "dip.dip_step", "dip.fit")


def check_variance_detector(Detector) -> None:
    """``Detector(window, patience)`` with ``update(k, x) -> bool``, ``variances``, ``best_iteration``,
    ``best_output``: the running variance of the last ``window`` outputs (ES-WMV)."""
    check_own_work(Detector, *OWN_WORK)
    from ..dip import WindowedVarianceDetector, settling_path
    _, path = settling_path(n=300, best=120, shape=(12, 12))
    for window, patience in [(10, 40), (25, 60)]:
        mine, ref = Detector(window, patience), WindowedVarianceDetector(window, patience)
        for k, x in enumerate(path, 1):
            said = mine.update(k, x.clone())
            expected = ref.update(k, x)
            if not isinstance(said, bool):
                raise CheckFailed(f"update({k}, x) returned {type(said).__name__}; expected True (stop) or False")
            if len(mine.variances) != k:
                raise CheckFailed(f"after {k} updates, variances has {len(mine.variances)} entries; append one per "
                                  "update (math.nan while fewer than `window` outputs are stored)")
            v_mine, v_ref = float(mine.variances[-1]), ref.variances[-1]
            if math.isnan(v_ref) != math.isnan(v_mine) or (not math.isnan(v_ref) and abs(v_mine - v_ref) > 1e-5 * v_ref):
                raise CheckFailed(f"window {window}: the variance after update {k} is {v_mine:.6g}; expected "
                                  f"{v_ref:.6g}: the mean over the last {window} outputs of ||x_i - mean||^2 / "
                                  "#pixels (nan while fewer than `window` outputs are stored)")
            if said != expected:
                raise CheckFailed(f"window {window}, patience {patience}: update({k}, x) returned {said}; expected "
                                  f"{expected} (the lowest variance was at iteration {ref.best_iteration}: stop when it has "
                                  f"not improved for `patience` iterations, i.e. at k - best_iteration >= patience)")
            if expected:
                break
        if mine.best_iteration != ref.best_iteration:
            raise CheckFailed(f"best_iteration is {mine.best_iteration}; expected {ref.best_iteration} (the newest "
                              "iteration of the window with the lowest variance)")
        check_close(mine.best_output, ref.best_output, "best_output", "keep (a copy of) the output at best_iteration")
    passed("your detector tracks the windowed variance and stops `patience` iterations after its minimum")


def check_dip_step(dip_step) -> None:
    """``dip_step(net, optimizer, A, y, z, input_noise, generator) -> (loss, output)``."""
    check_own_work(dip_step, *OWN_WORK)
    import copy

    from ..dip import SkipNet
    from ..dip import dip_step as reference_step
    from ..operators import Inpainting

    torch.manual_seed(3)
    net = SkipNet(in_channels=4, channels=8, depth=2)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 16, generator=g)
    A = Inpainting((torch.rand(16, 16, generator=g) < 0.6).float())
    y, z = A(x), 0.1 * torch.rand(1, 4, 16, 16, generator=g)
    ref = copy.deepcopy(net)
    opt, opt_ref = torch.optim.Adam(net.parameters(), lr=0.01), torch.optim.Adam(ref.parameters(), lr=0.01)
    gen, gen_ref = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for step in (1, 2):
        loss_ref, out_ref = reference_step(ref, opt_ref, A, y, z, 0.05, gen_ref)
        result = dip_step(net, opt, A, y, z, 0.05, gen)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed(f"dip_step returned {type(result).__name__}; expected a pair (loss, output)")
        loss, out = result
        if not isinstance(loss, float):
            raise CheckFailed(f"the loss is a {type(loss).__name__}; return it as a Python float (loss.item())")
        if abs(loss - loss_ref) > 1e-6 * max(1.0, loss_ref):
            raise CheckFailed(f"step {step}: the loss is {loss:.6g}; expected {loss_ref:.6g} = mean |A G(z + e) - y|^2 "
                              "with e = input_noise * torch.randn(z.shape, generator=generator), drawn once per step")
        out = check_tensor_result(out, "dip_step(...)[1] (the output)", shape=(16, 16))
        if out.requires_grad:
            raise CheckFailed("the output still requires grad; return out.detach()")
        check_close(out, out_ref, f"step {step}: the output", "return the network's output before the update, "
                    "as an (H, W) image")
        for (name, p), p_ref in zip(net.named_parameters(), ref.parameters()):
            if not torch.allclose(p, p_ref, atol=1e-6):
                raise CheckFailed(f"step {step}: the weights {name} differ from one Adam step on the loss"
                                  + (" (did you zero the gradients before backward()?)" if step == 2 else ""))
    passed("dip_step draws the input noise, takes one optimizer step on mean |A G(z + e) - y|^2, returns (loss, output)")
