"""The student writes the unit themselves: the library's reference of it is not available to their code.

``course_lib`` holds the reference of every unit a student writes (``return cl.soft_threshold(x, lam)``
would pass every test), so each exercise lists, in its notebook's metadata (``course.forbidden``), the
library names its solution cells may not use. Two guards say the same thing,
"write soft_threshold yourself: course_lib.soft_threshold is not available in this exercise":

* :func:`check_own_work`, in the visible checks of the student's own notebook: it looks at the names the
  student's function (or class) refers to, so ``cl.soft_threshold``, ``from course_lib import
  soft_threshold`` or ``course_lib.prox.soft_threshold`` are caught before anything runs;
* :func:`forbid`, in the grader's kernel: every forbidden function and class of ``course_lib`` is replaced
  by a guard that raises :class:`ForbiddenError` when it is called directly from a student's cell (a frame of
  a file named ``<your cell ...>``), and works as before for the course's own code.

Like PrairieLearn's restricted imports, this stops the obvious; it is not a proof. The library is open
source, and a determined student can copy its code -- the hidden tests recompute with the reference
where they can, and the instructor reads what looks odd.
"""
from __future__ import annotations

import dis
import functools
import sys
import types

from .core import CheckFailed

__all__ = ["ForbiddenError", "forbidden_message", "check_own_work", "forbid", "STUDENT_FILE_PREFIX"]

STUDENT_FILE_PREFIX = "<your cell "       # the file name under which the grader runs a student's cell


class ForbiddenError(RuntimeError):
    """A student's code called a course function that the exercise asks them to write (``name``)."""

    def __init__(self, name: str):
        super().__init__(forbidden_message(name))
        self.name = name


def forbidden_message(name: str) -> str:
    return f"write {name.split('.')[-1]} yourself: course_lib.{name} is not available in this exercise"


def _resolve(name: str):
    from .boundary import resolve_public

    return resolve_public(name)


def _code_objects(obj):
    """The code objects of a function, or of every method of a class, nested functions included."""
    if isinstance(obj, type):
        functions = [v for v in vars(obj).values() if isinstance(v, (types.FunctionType, staticmethod, classmethod,
                                                                       property))]
        functions = [getattr(f, "__func__", None) or getattr(f, "fget", None) or f for f in functions]
    else:
        functions = [getattr(obj, "__func__", obj)]
    for f in functions:
        code = getattr(f, "__code__", None)
        stack = [code] if code is not None else []
        while stack:
            code = stack.pop()
            yield f, code
            stack += [c for c in code.co_consts if isinstance(c, types.CodeType)]


def _refers_to(obj, forbidden: dict):
    """The first forbidden name that ``obj``'s code refers to, or None: a global (or closure) name bound to a
    forbidden object, or an attribute chain from a module (``cl.soft_threshold``, ``course_lib.prox.ista``)
    that leads to one -- read from the bytecode, so a local of the same name does not count."""
    targets = {id(target): name for name, target in forbidden.items()}
    for f, code in _code_objects(obj):
        scope = {**getattr(f, "__globals__", {}), **_closure(f)}
        for value in _loaded(code, scope):
            if id(value) in targets:
                return targets[id(value)]
    return None


def _loaded(code, scope: dict):
    """The objects that ``code`` loads by global or closure name, and along attribute chains from modules."""
    current = None
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF"):
            current = scope.get(ins.argval)
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and isinstance(current, types.ModuleType):
            current = getattr(current, ins.argval, None)
        else:
            current = None
            continue
        if current is not None:
            yield current


def _closure(f) -> dict:
    try:
        return {name: cell.cell_contents for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ())}
    except (AttributeError, ValueError):
        return {}


def _course_modules():
    return [m for name, m in list(sys.modules.items()) if m is not None and name.split(".")[0] == "course_lib"]


def check_own_work(unit, *names: str) -> None:
    """Raise :class:`~course_lib.checks.CheckFailed` when ``unit`` (the student's function or class) refers to
    one of the library's ``names`` (public names of ``course_lib``, e.g. ``"soft_threshold"``, ``"dip.dip_step"``)."""
    forbidden = {name: _resolve(name) for name in names}
    hit = next((name for name, target in forbidden.items()
                if isinstance(unit, type) and isinstance(target, type) and issubclass(unit, target)), None)
    hit = hit or _refers_to(unit, forbidden)
    if hit is not None:
        raise CheckFailed(forbidden_message(hit))


def _called_by_student() -> bool:
    """Whether the guarded function was called directly by a student's cell (the course's own code, called by
    the student's -- a denoiser handed to their solver, say -- keeps working)."""
    return sys._getframe(2).f_code.co_filename.startswith(STUDENT_FILE_PREFIX)


def _guard(name: str, target):
    if isinstance(target, type):
        original = target.__init__

        def __init__(self, *args, **kwargs):
            if _called_by_student():
                raise ForbiddenError(name)
            original(self, *args, **kwargs)

        target.__init__ = __init__
        target.__course_forbidden__ = name
        return target

    def guarded(*args, **kwargs):
        if _called_by_student():
            raise ForbiddenError(name)
        return target(*args, **kwargs)

    functools.update_wrapper(guarded, target)
    del guarded.__wrapped__
    guarded.__course_forbidden__ = name
    return guarded


def forbid(names, namespace: dict | None = None) -> list[str]:
    """Guard the library's ``names`` against calls from a student's cell (the grader's kernel does this before
    the notebook runs). Every module of ``course_lib`` and ``namespace`` that holds one of them gets the guard.
    Returns the names guarded."""
    done = []
    for name in names:
        target = _resolve(name)
        if "__course_forbidden__" in getattr(target, "__dict__", {}):
            continue
        guard = _guard(name, target)
        if guard is not target:
            for holder in [*(vars(m) for m in _course_modules()), *([namespace] if namespace is not None else [])]:
                for key, value in list(holder.items()):
                    if value is target:
                        holder[key] = guard
        done.append(name)
    return done
