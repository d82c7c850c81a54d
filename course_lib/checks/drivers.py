"""Public drivers: what a hidden test runs on the student's side when the unit under test is stateful.

A hidden test cannot send a network, an optimizer or a detector across the boundary (see
:mod:`course_lib.checks.boundary`), so it asks for one of these drivers by name, with plain data and
references to the student's classes and functions. Each driver builds the objects on the student's
side, runs the student's code on them and returns plain data -- states before and after, outputs --
from which the grader recomputes with the reference (one step from the returned state, say), so that
a result cannot simply be invented. Everything here is public: it holds no test's secret.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["answer_of", "construct_and_call", "parameter_probe", "inference_call", "block_probe", "detector_run",
           "dip_step_probe", "scripted_stop_run"]


def answer_of(value):
    """A derived answer as the student's notebook holds it (a number, a letter), for a hidden test to compare with the
    answer it computes itself."""
    return value


def construct_and_call(cls, init_args=(), call_args=(), call_kwargs=None, method: str = "__call__"):
    """``cls(*init_args).method(*call_args, **call_kwargs)``: a student's class, built and called once."""
    obj = cls(*init_args)
    return getattr(obj, method)(*call_args, **(call_kwargs or {}))


def parameter_probe(cls, init_args, y):
    """``cls(*init_args)`` called on ``y``: its layer outputs (``all_layers=True``), its plain output, the size of
    each parameter, and whether a loss on every layer reaches it (a gradient, even a zero one, arrives). The network
    is built with the global RNG forked and seeded, so the caller's random state is left as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = cls(*init_args)
    outputs = net(y, all_layers=True)
    last = net(y)
    if isinstance(outputs, (list, tuple)) and all(isinstance(o, torch.Tensor) for o in outputs):
        loss = sum((o ** 2).sum() for o in outputs if o.requires_grad)
        if isinstance(loss, torch.Tensor):
            loss.backward()
        outputs = [o.detach() for o in outputs]
    sizes = {name: p.numel() for name, p in net.named_parameters()}
    reached = {name: p.grad is not None for name, p in net.named_parameters()}
    return {"outputs": outputs, "last": last.detach() if isinstance(last, torch.Tensor) else last,
            "sizes": sizes, "reached": reached}


def inference_call(function, *args):
    """``function(*args)`` under ``torch.inference_mode()``: for a unit that must compute from the weights it is given
    (a local linear map from the layers and their masks), not through autograd, which sees nothing here."""
    with torch.inference_mode():
        return function(*args)


def block_probe(cls, width: int, depth: int, x: torch.Tensor, seed: int = 0, zero_residual: bool = False):
    """``depth`` blocks ``cls(width)`` in a row, initialised from ``seed``: their state, the output on ``x`` and the
    gradient of its sum for every weight (None where none arrives). With ``zero_residual`` the blocks are in
    evaluation mode with the last convolution and normalisation shift zeroed (F = 0). The global RNG is forked
    around the initialisation, so the caller's random state is left as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = nn.Sequential(*[cls(width) for _ in range(depth)])
    if zero_residual:
        net.eval()
        with torch.no_grad():
            for block in net:
                block.conv2.weight.zero_()
                block.conv2.bias.zero_()
                block.bn2.bias.zero_()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    out = net(x)
    out.sum().backward()
    grads = {name: (None if p.grad is None else p.grad.clone()) for name, p in net.named_parameters()}
    return {"state": state, "output": out.detach(), "grads": grads, "training": net.training}


def detector_run(cls, window: int, patience: int, outputs):
    """Feed ``outputs`` to ``cls(window, patience)`` until it says stop: what ``update`` returned at each
    iteration, and the detector's ``best_iteration`` and ``best_output`` at the end."""
    detector = cls(window, patience)
    said = []
    for k, x in enumerate(outputs, 1):
        said.append(detector.update(k, x))
        if said[-1] is True:
            break
    return {"said": said, "best_iteration": detector.best_iteration, "best_output": detector.best_output}


def dip_step_probe(dip_step, net, state: dict, A, y, z, lr: float, input_noise: float, seed: int):
    """One call of the student's ``dip_step`` with plain SGD from the weights ``state`` (the grader's): the
    network's state after the step, and the loss and output it returned. ``net`` and ``A`` arrive built."""
    net.load_state_dict(state)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss, out = dip_step(net, optimizer, A, y, z, input_noise, torch.Generator().manual_seed(seed))
    return {"after": net.state_dict(), "loss": loss, "output": out}


class ScriptedDetector:
    """A detector that stops at iteration ``stop_at`` and chooses the output of iteration ``keep``."""

    def __init__(self, stop_at: int, keep: int):
        self.stop_at, self.keep, self.calls = stop_at, keep, 0
        self.best_iteration, self.best_output = None, None

    def update(self, iteration, x):
        self.calls += 1
        if iteration == self.keep:
            self.best_iteration, self.best_output = iteration, x.detach().clone()
        return iteration == self.stop_at


def scripted_stop_run(run_dip, net, A, y, z, stop_at: int, keep: int, n_iter: int):
    """The student's ``run_dip`` with a :class:`ScriptedDetector`: what it returned, how often it asked the
    detector, the output the detector kept, and whether the network's weights changed."""
    detector = ScriptedDetector(stop_at, keep)
    before = [p.detach().clone() for p in net.parameters()]
    result = run_dip(net, A, y, z, detector, n_iter=n_iter)
    trained = any(not torch.equal(b, p.detach()) for b, p in zip(before, net.parameters()))
    return {"result": result, "calls": detector.calls, "kept": detector.best_output, "trained": trained}
