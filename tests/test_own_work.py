"""The student writes the unit: the library's reference of it is refused, in the visible checks and in the grader."""
import importlib
import json
import sys
from pathlib import Path

import pytest
import torch

import course_lib as cl
from course_lib import prox
from course_lib.checks import CheckFailed, ForbiddenError, check_own_work, check_soft_threshold
from course_lib.checks.own_work import forbid

ROOT = Path(__file__).resolve().parents[1]
MESSAGE = "write soft_threshold yourself: course_lib.soft_threshold is not available in this exercise"


def test_visible_checks_refuse_the_reference_however_it_is_named():
    from course_lib import soft_threshold as renamed

    ways = [lambda x, lam: cl.soft_threshold(x, lam), lambda x, lam: prox.soft_threshold(x, lam),
            lambda x, lam: renamed(x, lam), lambda x, lam: cl.prox.soft_threshold(x, lam)]
    for way in ways:
        with pytest.raises(CheckFailed, match=MESSAGE):
            check_soft_threshold(way)
    check_own_work(lambda x, lam: torch.sign(x) * torch.clamp(x.abs() - lam, min=0), "soft_threshold")


def test_a_students_own_function_of_the_same_name_is_not_the_reference():
    def soft_threshold(x, lam):                      # the student's own, called from their ISTA
        return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)

    def ista(A, y, lam, n_iter, step):
        op = cl.MatrixOperator(A)                    # another course name on the same line of modules
        x = soft_threshold(op.A_adjoint(y), lam)
        return x, [0.0]

    check_own_work(ista, "soft_threshold", "ista")
    check_own_work(soft_threshold, "soft_threshold")


def test_classes_that_build_or_extend_the_reference_are_refused():
    from torch import nn

    from course_lib import architectures as arch

    class Extends(arch.Block):
        pass

    class Builds(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.inner = arch.Block(width)

    for cls in (Extends, Builds):
        with pytest.raises(CheckFailed, match="write Block yourself"):
            check_own_work(cls, "architectures.Block")


def test_the_grader_guard_stops_student_cells_only():
    """In the grading kernel the guard replaces the reference; the course's own code still uses it."""
    from course_lib import solvers

    original = prox.soft_threshold
    try:
        assert forbid(["soft_threshold"]) == ["soft_threshold"]
        assert forbid(["soft_threshold"]) == []                       # once is enough
        namespace = {"cl": cl}
        exec(compile("def mine(x):\n    return cl.soft_threshold(x, 0.5)\n", "<your cell soft_threshold>", "exec"),
             namespace)
        with pytest.raises(ForbiddenError, match=MESSAGE):
            namespace["mine"](torch.ones(3))
        A = cl.MatrixOperator(torch.eye(3, dtype=torch.float64))      # the course's ISTA, called by the course: fine
        x, _ = solvers.ista(A, torch.ones(3, dtype=torch.float64), 0.1, n_iter=3)
        assert torch.allclose(x, torch.full((3,), 0.9, dtype=torch.float64))
        assert cl.soft_threshold(torch.tensor([2.0]), 1.0).item() == 1.0
    finally:
        for name, module in list(sys.modules.items()):               # put the real function back everywhere
            if name.split(".")[0] == "course_lib" and module is not None:
                for key, value in list(vars(module).items()):
                    if getattr(value, "__course_forbidden__", None) == "soft_threshold":
                        setattr(module, key, original)
    assert all(getattr(m, "soft_threshold", original) is original for n, m in sys.modules.items()
               if n.split(".")[0] == "course_lib" and m is not None)


def test_each_exercise_lists_what_its_checks_refuse():
    """metadata course.forbidden of each solution notebook = OWN_WORK of its lecture's checks, and the
    exercise has it."""
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        listed = json.loads(path.read_text())["metadata"]["course"]["forbidden"]
        checks = importlib.import_module(f"course_lib.checks.lecture{path.name[:2]}")
        assert tuple(listed) == checks.OWN_WORK, path.name
        exercise = json.loads((ROOT / "exercises" / path.name).read_text())
        assert exercise["metadata"]["course"]["forbidden"] == listed, path.name
        for name in listed:
            check_own_work(lambda: None, name)                        # every name resolves
