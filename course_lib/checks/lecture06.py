"""Checks of lecture 06 (the deep image prior): the running-variance detector, one DIP training step, where gradient
descent on an over-parameterised linear generator ends, and the two factors of its error bound."""
from __future__ import annotations

import math

import torch

from .core import CheckFailed, check_close, check_tensor_result, passed
from .own_work import check_own_work

__all__ = ["check_variance_detector", "check_dip_step", "check_gd_limit", "check_bound_factors"]

# the library's references of what this lecture's exercise asks the student to write (metadata course.forbidden)
OWN_WORK = ("dip.WindowedVarianceDetector", "dip.variance_stop", "dip.dip_step", "dip.fit",
            "dip.linear_generator_bound")


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
            if (math.isnan(v_ref) != math.isnan(v_mine)
                    or (not math.isnan(v_ref) and abs(v_mine - v_ref) > 1e-5 * v_ref)):
                raise CheckFailed(f"window {window}: the variance after update {k} is {v_mine:.6g}; expected "
                                  f"{v_ref:.6g}: the mean over the last {window} outputs of ||x_i - mean||^2 / "
                                  "#pixels (nan while fewer than `window` outputs are stored)")
            if said != expected:
                raise CheckFailed(f"window {window}, patience {patience}: update({k}, x) returned {said}; expected "
                                  f"{expected} (the lowest variance was at iteration {ref.best_iteration}: "
                                  "stop when it has not improved for `patience` iterations, "
                                  "i.e. at k - best_iteration >= patience)")
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

    with torch.random.fork_rng():                      # the student's notebook RNG is left as it was
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
                raise CheckFailed(f"the loss is a {type(loss).__name__}; return a Python float (a tensor would keep "
                                  "the step's computation graph alive in the caller)")
            if abs(loss - loss_ref) > 1e-6 * max(1.0, loss_ref):
                if abs(loss - loss_ref * y.numel()) <= 1e-5 * loss_ref * y.numel():
                    raise CheckFailed(f"step {step}: the loss is {loss:.6g}, {y.numel()} times the expected "
                                      f"{loss_ref:.6g}: the objective averages the squared misfit over the entries of "
                                      "y, it does not add them up")
                raise CheckFailed(f"step {step}: the loss is {loss:.6g}; expected {loss_ref:.6g}, the mean squared "
                                  "misfit to y of A applied to the image, for the input perturbed by noise of standard "
                                  "deviation input_noise. The check replays the generator it passed: is all of the "
                                  "noise drawn from that generator, once per step, with the shape of z?")
            out = check_tensor_result(out, "dip_step(...)[1] (the output)", shape=(16, 16))
            if out.requires_grad:
                raise CheckFailed("the image returned still requires grad: return it cut from the computation "
                                  "graph, so that the caller can keep it")
            check_close(out, out_ref, f"step {step}: the output", "return the network's output before the update, "
                        "as an (H, W) image")
            for (name, p), p_ref in zip(net.named_parameters(), ref.parameters()):
                if not torch.allclose(p, p_ref, atol=1e-6):
                    raise CheckFailed(f"step {step}: the weights {name} differ from one Adam step on the loss"
                                      + (" (PyTorch adds each backward pass to the stored gradients: were they zeroed "
                                         "before this one?)" if step == 2 else ""))
    passed("dip_step draws the input noise, takes one optimizer step on mean |A G(z + e) - y|^2, "
           "returns (loss, output)")


def check_gd_limit(gd_limit) -> None:
    """``gd_limit(M, y, c0)``: where gradient descent on ½‖Mc − y‖² from ``c0`` ends (M wide, full row rank)."""
    check_own_work(gd_limit, *OWN_WORK)
    g = torch.Generator().manual_seed(6)
    M = torch.randn(12, 30, generator=g, dtype=torch.float64)
    y = torch.randn(12, generator=g, dtype=torch.float64)
    pinv = torch.linalg.pinv(M)
    zero = check_tensor_result(gd_limit(M, y, torch.zeros(30, dtype=torch.float64)),
                               "gd_limit(M, y, c0=0) for M (12, 30)", shape=(30,), dtype=torch.float64)
    if torch.allclose(zero, M.T @ y, atol=1e-8):
        raise CheckFailed("gd_limit(M, y, 0) is M^T y: that is the direction of the first step, "
                          "not where the steps end; the limit fits the data, M c = y")
    check_close(zero, pinv @ y, "gd_limit(M, y, c0=0)", "from c0 = 0 the limit is the minimum-norm solution of M c = y",
                atol=1e-10, rtol=1e-8)
    c0 = torch.randn(30, generator=g, dtype=torch.float64)
    kept = c0.clone()
    result = check_tensor_result(gd_limit(M, y, c0), "gd_limit(M, y, c0) for a random c0", shape=(30,),
                                 dtype=torch.float64)
    if not torch.equal(c0, kept):
        raise CheckFailed("gd_limit changed its argument c0 in place; leave c0 as it was and return a new tensor")
    if torch.allclose(result, pinv @ y, atol=1e-8):
        raise CheckFailed("from a random c0 you return the minimum-norm solution, as if gradient descent had started "
                          "at 0: where does the start go? (which part of c does a gradient step never change?)")
    if not torch.allclose(M @ result, y, atol=1e-8):
        raise CheckFailed(f"M @ gd_limit(M, y, c0) misses y by {(M @ result - y).norm().item():.3g}: "
                          "gradient descent on ½‖Mc − y‖² with a wide M of full row rank "
                          "fits the data exactly in the limit")
    check_close(result, c0 + pinv @ (y - M @ c0), "gd_limit(M, y, c0)",
                "it fits the data, but it is not where gradient descent goes: every step adds a vector M^T r, "
                "so c - c0 stays in the row space of M", atol=1e-10, rtol=1e-8)
    passed("gd_limit is where gradient descent ends: the solution of M c = y closest to its start")


def check_bound_factors(bound_factors) -> None:
    """``bound_factors(J, x, tail_from) -> (weighted, tail)``: the two factors of the linear generator's error bound."""
    check_own_work(bound_factors, *OWN_WORK)
    from ..dip import linear_generator_bound

    g = torch.Generator().manual_seed(7)
    W, _ = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(25, 10, generator=g, dtype=torch.float64))
    s = torch.tensor([4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.25, 0.2, 0.1], dtype=torch.float64)
    J = W @ torch.diag(s) @ V.T
    x = torch.randn(10, generator=g, dtype=torch.float64)
    coefficients = W.T @ x
    for tail_from in (4, 0, 10):
        result = bound_factors(J, x, tail_from)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed(f"bound_factors returned {type(result).__name__}; expected a pair (weighted, tail)")
        try:
            weighted, tail = float(result[0]), float(result[1])
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed("bound_factors must return two numbers "
                              "(Python floats, or tensors with one element)") from None
        w_ref, t_ref = linear_generator_bound(J, x, tail_from)
        if math.isclose(weighted, float((coefficients ** 2 / s).sum()), rel_tol=1e-8):
            raise CheckFailed("the weighted norm divides by σ_i; the bound weights each ⟨w_i, x⟩² by σ_i^(-2)")
        if math.isclose(weighted, float((coefficients ** 2 * s ** 2).sum()), rel_tol=1e-8):
            raise CheckFailed("the weighted norm multiplies by σ_i²; the bound divides: directions with small σ_i, "
                              "which gradient descent fits last, must cost the most")
        if not math.isclose(weighted, w_ref, rel_tol=1e-8):
            raise CheckFailed(f"bound_factors(J, x, {tail_from})[0] is {weighted:.6g}; "
                              f"expected {w_ref:.6g} = Σ σ_i^(-2) ⟨w_i, x⟩², "
                              "with w_i the LEFT singular vectors of J (vectors of length n, like x)")
        if tail_from < 10 and math.isclose(tail, float((s[tail_from + 1:] ** 2).sum()), rel_tol=1e-8):
            raise CheckFailed(f"tail_from = {tail_from}: your tail skips σ_{tail_from + 1}; the sum runs over i > "
                              f"tail_from counted from 1, i.e. Python indices {tail_from}, {tail_from + 1}, ...")
        if 0 < tail_from and math.isclose(tail, float((s[tail_from - 1:] ** 2).sum()), rel_tol=1e-8):
            raise CheckFailed(f"tail_from = {tail_from}: your tail includes σ_{tail_from}; the sum runs over i > "
                              f"tail_from counted from 1, i.e. Python indices {tail_from}, {tail_from + 1}, ...")
        if tail_from < 10 and math.isclose(tail, float(s[tail_from:].sum()), rel_tol=1e-8):
            raise CheckFailed("the tail sums σ_i; the bound sums their squares σ_i²")
        if not math.isclose(tail, t_ref, rel_tol=1e-8, abs_tol=1e-12):
            raise CheckFailed(f"bound_factors(J, x, {tail_from})[1] is {tail:.6g}; expected {t_ref:.6g} = Σ_(i > "
                              f"{tail_from}) σ_i² (singular values in decreasing order, counted from 1)")
    passed("bound_factors gives the weighted norm Σ σ_i^(-2)⟨w_i, x⟩² and the tail Σ_(i > k) σ_i²")
