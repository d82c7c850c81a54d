"""The building blocks of the exercise checks: :class:`CheckFailed`, success lines, tensor comparisons.

A check either prints a short success line (:func:`passed`) or raises :class:`CheckFailed`
(an AssertionError) whose message names the input, what came back, what was expected and the
rule behind it. The checks of each lecture are in ``lectureNN.py`` beside this module.
"""
from __future__ import annotations

import contextvars

import torch

__all__ = ["CheckFailed", "passed", "describe", "call_student", "check_answer", "check_tensor_result", "check_close",
           "check_adjoint"]


class CheckFailed(AssertionError):
    """A failed exercise check; the message is the feedback."""


# True while the grader runs a hidden test: no success line, and no text of what the student's code returned
# (a string could carry what the code saw) in a message
GRADING: contextvars.ContextVar = contextvars.ContextVar("course_grading", default=False)


def passed(message: str) -> None:
    if not GRADING.get():
        print(f"✔ {message}")


def describe(t) -> str:
    """A short text for a value in a message: the entries of a small tensor, the shape of a large one."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        if t.numel() <= 8:
            return "tensor(" + str([round(v, 4) for v in t.reshape(-1).tolist()]) + (
                f", shape {tuple(t.shape)})" if t.ndim != 1 else ")")
        return f"tensor of shape {tuple(t.shape)}"
    if GRADING.get() and not isinstance(t, (bool, int, float, type(None))):
        return f"a {type(t).__name__}"
    return repr(t)


def call_student(function, call: str, *args, hint: str = ""):
    """``function(*args)``; an exception raised in the student's code becomes a :class:`CheckFailed` that names the
    call (``call``: the input in words), the exception and ``hint`` (what about that input is special). A
    ``NotImplementedError`` (a stub not yet written) passes through untouched."""
    try:
        return function(*args)
    except (CheckFailed, NotImplementedError):          # a stub still in place is the student's to see, untouched
        raise
    except Exception as error:
        said = "" if GRADING.get() else f": {str(error)[:200]}"
        raise CheckFailed(f"{call} raised {type(error).__name__}{said}" + (f". {hint}" if hint else "")) from error


def check_answer(name: str, value, among, what: str) -> None:
    """A derived answer's form, not its value (the grader checks that): ``value``, the student's variable ``name``
    (None while it is not set), must be one of ``among``, described to the student as ``what``."""
    if value is None:
        raise NotImplementedError(f"{name} is not set yet: write the cell above and run it")
    if isinstance(value, bool) or value not in among:
        raise CheckFailed(f"{name} is {describe(value)}; expected {what}")
    passed(f"{name} is {what}; whether it is right is checked when your notebook is graded")


def _sentence(rule: str) -> str:
    """``rule`` as a sentence: its first word capitalised unless it is a symbol (d_i, x, A*y)."""
    first = rule.split(" ", 1)[0]
    return rule[:1].upper() + rule[1:] if first.isalpha() and len(first) > 1 else rule


def check_tensor_result(result, call: str, shape=None, dtype=None) -> torch.Tensor:
    """``result`` must be a tensor (of ``shape`` and ``dtype`` when given)."""
    if not isinstance(result, torch.Tensor):
        shown = f" ({result!r:.60})" if not GRADING.get() and result is not None else ""
        raise CheckFailed(f"{call} returned {type(result).__name__}{shown}; expected a torch.Tensor"
                          + (". Did you forget the `return` statement?" if result is None else ""))
    if shape is not None and tuple(result.shape) != tuple(shape):
        raise CheckFailed(f"{call} returned a tensor of shape {tuple(result.shape)}; expected {tuple(shape)} "
                          "(the output must have the shape of the input)")
    if dtype is not None and result.dtype != dtype:
        raise CheckFailed(f"{call} returned dtype {result.dtype}; expected {dtype} (keep the input's dtype)")
    return result


def check_close(actual, expected, call: str, rule: str = "", atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """``actual`` must equal ``expected`` to tolerance; the message shows both and the ``rule``."""
    actual = check_tensor_result(actual, call, shape=expected.shape)
    if not torch.allclose(actual.to(expected), expected, atol=atol, rtol=rtol):
        gap = (actual.to(expected) - expected).abs()
        worst = gap.max().item()
        if expected.numel() <= 8:
            said = f"{call} returned {describe(actual)}; expected {describe(expected)} (largest difference {worst:.3g})"
        else:                                      # the shape is right: say where the values differ, not the shape
            flat = int(gap.reshape(-1).argmax())
            where = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), gap.shape))
            differ = int((~torch.isclose(actual.to(expected), expected, atol=atol, rtol=rtol)).sum())
            said = (f"{call} has the right shape {tuple(expected.shape)} but other values: {differ} of its "
                    f"{expected.numel()} entries differ, most at index {where[0] if len(where) == 1 else where} "
                    f"({actual.reshape(-1)[flat].item():.4g} instead of {expected.reshape(-1)[flat].item():.4g})")
        raise CheckFailed(said + (f". {_sentence(rule)}" if rule else ""))


def check_adjoint(forward, adjoint, in_shape, what: str = "adjoint", trials: int = 3, tol: float = 1e-10) -> None:
    r"""Dot-product test :math:`\langle Ax, y\rangle = \langle x, A^*y\rangle` on random float64 inputs.

    ``forward`` and ``adjoint`` are functions of tensors of shape ``(batch, *in_shape)`` /
    ``(batch, *out_shape)``.
    """
    g = torch.Generator().manual_seed(1234)
    for _ in range(trials):
        x = torch.randn((2, *in_shape), generator=g, dtype=torch.float64)
        Ax = forward(x)
        y = torch.randn(Ax.shape, generator=g, dtype=torch.float64)
        ATy = check_tensor_result(adjoint(y), f"{what}(y) for y of shape {tuple(y.shape)}", shape=x.shape)
        lhs, rhs = (Ax * y).sum().item(), (x * ATy).sum().item()
        rel = abs(lhs - rhs) / (Ax.norm().item() * y.norm().item() + 1e-300)
        if not rel < tol:
            raise CheckFailed(f"dot-product test failed: <A x, y> = {lhs:.6g} but <x, {what}(y)> = {rhs:.6g} "
                              f"(relative error {rel:.2e}) for random x, y. The adjoint must satisfy "
                              "<A x, y> = <x, A* y> for every x and y; check the direction of your sums/indices.")
    passed(f"{what} passes the dot-product test <Ax, y> = <x, A*y> ({trials} random pairs, float64)")
