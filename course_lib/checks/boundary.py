"""How a hidden test reaches the student's code: plain data in, plain data out.

The autograder keeps the hidden tests in a trusted process; the student's code runs in a sandboxed kernel.
A hidden test calls the student's code through :data:`student`::

    from course_lib.checks import Build, student

    out = student.soft_threshold(x, 0.3)                         # the student's function, on plain data
    x, objective = student.ista(Build("Convolution1D", kernel, 100, padding="zeros"), y, 0.02, 200, step)
    layers = student.drive("construct_and_call", student.ref("StudentLISTA"), (A, 5, 0.2), (y,),
                           {"all_layers": True})                 # a public driver, for stateful units

What may cross, both ways: tensors, numbers, strings, ``None``, and lists, tuples and dicts of them
(:func:`encode`). A course object is sent as its recipe, :class:`Build` (a public ``course_lib`` name
and its arguments), and built on the other side; :meth:`Student.ref` names one of the student's own
objects. Anything else the student's code returns (a network, a generator, a function) is refused with
a clear error. Bytes are written with ``torch.save`` and read back with ``torch.load(weights_only=True)``,
a loader that cannot run code.

In a notebook, :data:`student` calls the code of the notebook itself, through the same encoding, so
that running the solution notebook checks that every hidden test's data can cross. The autograder
connects it to the student's kernel instead (:func:`connected`).
"""
from __future__ import annotations

import builtins
import contextlib
import contextvars
import importlib
import io
import sys

import torch

from .own_work import STUDENT_FILE_PREFIX, ForbiddenError, forbidden_message

__all__ = ["Build", "Ref", "BoundaryError", "StudentError", "Student", "student", "encode", "decode", "dumps",
           "loads", "serve", "connected", "STUDENT_FILE_PREFIX"]

MAX_DEPTH = 32
MAX_STRING = 10_000
_FORBIDDEN_MODULES = ("tools", "checks")
_BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)}


class BoundaryError(TypeError):
    """A value that cannot cross between the grader and the student's code; the message says what can."""


class StudentError(Exception):
    """The student's code, called by a hidden test, did not give a result: the message is the course's own.

    ``kind`` is "raised", "unreadable" (a result that cannot cross), "timeout" or "kernel died"; ``ename``
    the name of the built-in exception raised ("an exception" for any other), ``where`` the student's
    cell and line number, when known.
    """

    def __init__(self, message: str, kind: str = "raised", ename: str = "", where=None):
        super().__init__(message)
        self.kind, self.ename, self.where = kind, ename, where


class Build:
    """The recipe of a course object: ``Build("Convolution1D", kernel, 100, padding="zeros")``.

    ``name`` is a public name of ``course_lib`` (``"MatrixOperator"``) or of one of its modules
    (``"lifting.WaveletTransform"``, ``"dip.SkipNet"``); the arguments may hold tensors, numbers and
    other :class:`Build`. :meth:`make` builds it (on either side of the boundary).
    """

    def __init__(self, name: str, *args, **kwargs):
        resolve_public(name)            # fails early, with the reason, on a name that may not be built
        self.name, self.args, self.kwargs = name, args, kwargs

    def make(self):
        return resolve_public(self.name)(*[_make(a) for a in self.args],
                                         **{k: _make(v) for k, v in self.kwargs.items()})

    def __repr__(self) -> str:
        return f"Build({self.name!r}, ...)"


class Ref:
    """One of the student's own objects (a global of their notebook), by name."""

    def __init__(self, name: str):
        if not isinstance(name, str) or not name.isidentifier():
            raise BoundaryError(f"Ref expects the name of a variable of the notebook; got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"Ref({self.name!r})"


def _make(value):
    if isinstance(value, Build):
        return value.make()
    if isinstance(value, (list, tuple)):
        return type(value)(_make(v) for v in value)
    if isinstance(value, dict):
        return {k: _make(v) for k, v in value.items()}
    return value


def resolve_public(name: str):
    """The object ``course_lib.<name>``; only public names outside the course's machinery (tools, checks)."""
    parts = name.split(".") if isinstance(name, str) else []
    if not parts or any(not p.isidentifier() or p.startswith("_") for p in parts) or parts[0] in _FORBIDDEN_MODULES:
        raise BoundaryError(f"{name!r} is not a public name of course_lib that a hidden test may build")
    obj = importlib.import_module("course_lib")
    for i, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module("course_lib." + ".".join(parts[:i + 1]))
            except ImportError:
                raise BoundaryError(f"course_lib has no {name!r}") from None
    return obj


# --------------------------------------------------------------------------- plain data


def encode(value, what: str = "the value", depth: int = 0):
    """``value`` as plain data (tensors detached and on the CPU; :class:`Build` and :class:`Ref` as tagged dicts),
    or :class:`BoundaryError` saying what cannot cross and what can."""
    if depth > MAX_DEPTH:
        raise BoundaryError(f"{what} is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BoundaryError(f"{what} holds a string of {len(value)} characters (at most {MAX_STRING})")
        return value
    if isinstance(value, torch.Tensor):
        if value.is_sparse or value.layout != torch.strided:
            raise BoundaryError(f"{what} is a sparse tensor; return a dense one")
        return value.detach().to("cpu").clone().contiguous().as_subclass(torch.Tensor)   # no subclass crosses
    if isinstance(value, Build):
        return {"__build__": value.name, "args": encode(list(value.args), what, depth + 1),
                "kwargs": encode(dict(value.kwargs), what, depth + 1)}
    if isinstance(value, Ref):
        return {"__ref__": value.name}
    if isinstance(value, (list, tuple)):
        items = [encode(v, what, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise BoundaryError(f"{what} is a dict whose keys are not all strings")
        return {k: encode(v, what, depth + 1) for k, v in value.items()}
    if type(value).__module__ == "numpy" or hasattr(value, "__array__") and not isinstance(value, type):
        raise BoundaryError(f"{what} is a {type(value).__name__}; return a torch tensor (torch.as_tensor(...))")
    raise BoundaryError(f"{what} is a {type(value).__module__}.{type(value).__qualname__}, which cannot be sent "
                        "back to the grader: return tensors, numbers, strings, None, "
                        "or lists, tuples and dicts of them")


def decode(value, namespace=None):
    """The inverse of :func:`encode`; with a ``namespace`` (the student's side), recipes are built and references
    looked up in it."""
    if isinstance(value, dict):
        if "__build__" in value and namespace is not None:
            return resolve_public(value["__build__"])(*decode(value.get("args", []), namespace),
                                                      **decode(value.get("kwargs", {}), namespace))
        if "__ref__" in value and namespace is not None:
            name = value["__ref__"]
            if name not in namespace:
                raise NameError(f"name {name!r} is not defined")
            return namespace[name]
        return {k: decode(v, namespace) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(decode(v, namespace) for v in value)
    return value


def dumps(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def loads(data: bytes):
    """Plain data from bytes, with a loader that cannot run code (``torch.load(weights_only=True)``)."""
    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


# --------------------------------------------------------------------------- the student's side


def _where(tb):
    """The student's cell and line of the innermost frame of ``tb`` that ran in a student's cell."""
    where = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(STUDENT_FILE_PREFIX) and filename.endswith(">"):
            where = (filename[len(STUDENT_FILE_PREFIX):-1], tb.tb_lineno)
        tb = tb.tb_next
    return where


def _driver(name: str):
    from . import drivers

    if not isinstance(name, str) or name.startswith("_") or name not in drivers.__all__:
        raise BoundaryError(f"{name!r} is not one of the course's drivers ({', '.join(drivers.__all__)})")
    return getattr(drivers, name)


def answer(request: bytes, namespace: dict) -> bytes:
    """Run one request on the student's side: ``{"target", "args", "kwargs"}`` in, ``{"ok", ...}`` out (bytes)."""
    try:
        call = loads(request)
        target = call["target"]
        if "__ref__" in target and target["__ref__"] not in namespace:
            return dumps({"ok": False, "kind": "missing"})
        function = _driver(target["__driver__"]) if "__driver__" in target else decode(target, namespace)
        args, kwargs = decode(call["args"], namespace), decode(call["kwargs"], namespace)
    except Exception as error:               # the grader's own request: a course bug, said plainly
        return dumps({"ok": False, "kind": "request", "ename": type(error).__name__, "message": str(error)[:500]})
    try:
        result = function(*args, **kwargs)
    except ForbiddenError as error:
        return dumps({"ok": False, "kind": "forbidden", "name": error.name, "where": _where(error.__traceback__)})
    except BaseException as error:           # the student's code: only the type (if built-in) and where
        name = type(error).__name__
        return dumps({"ok": False, "kind": "raised", "ename": name if name in _BUILTIN_ERRORS else "",
                      "where": _where(error.__traceback__)})
    try:
        return dumps({"ok": True, "value": encode(result, "the result")})
    except BoundaryError as error:
        return dumps({"ok": False, "kind": "unreadable", "message": str(error)})
    except Exception as error:
        return dumps({"ok": False, "kind": "unreadable",
                      "message": f"the result could not be sent ({type(error).__name__})"})


def _notebook_namespace() -> dict:
    """The notebook's globals: IPython's user namespace in a kernel, else ``__main__``'s."""
    try:
        return get_ipython().user_ns        # noqa: F821 - defined in an IPython kernel
    except NameError:
        return vars(sys.modules["__main__"])


def serve(request_path: str, reply_path: str) -> None:
    """The kernel's end of a remote call: read the request, answer it in the notebook's namespace, write the reply."""
    with open(request_path, "rb") as f:
        request = f.read()
    reply = answer(request, _notebook_namespace())
    with open(reply_path, "wb") as f:
        f.write(reply)


# --------------------------------------------------------------------------- the trusted side


UNREADABLE_RESULT = ("the result cannot be sent back to the grader: return tensors, numbers, strings, None, "
                     "or lists, tuples and dicts of them")


def describe_failure(reply: dict, call: str, sources=None, trusted: bool = True, forbidden=()) -> StudentError:
    """The course's words for a failed call. ``sources`` are the student's cells by name, to quote the line that
    raised; with ``trusted=False`` (a reply from the student's process) no text of the reply is used, only a
    built-in exception's name, a line number checked against ``sources`` and a name checked against the
    exercise's ``forbidden`` ones."""
    kind = reply.get("kind", "raised")
    ename = reply.get("ename") if reply.get("ename") in _BUILTIN_ERRORS else ""
    if kind == "forbidden" and (trusted or reply.get("name") in forbidden):
        return StudentError(f"{call}: {forbidden_message(reply['name'])}", "forbidden", "ForbiddenError")
    if kind == "missing":
        return StudentError(f"{call} is not defined in your notebook", "raised", "NameError")
    if kind == "request":
        detail = f": {reply.get('message')}" if trusted else ""
        return StudentError(f"{call}: the grader's call could not be made in your notebook ({ename or 'an error'}"
                            f"{detail}); did you rename something the tests use?", "raised", ename)
    if kind == "unreadable":
        return StudentError(f"{call}: " + (str(reply.get("message")) if trusted else UNREADABLE_RESULT), "unreadable")
    ename = ename or "an exception"
    where, line = reply.get("where"), ""
    if (isinstance(where, (list, tuple)) and len(where) == 2 and isinstance(where[1], int) and sources
            and where[0] in sources):
        lines = sources[where[0]].splitlines()
        if 1 <= where[1] <= len(lines):
            line = f', at line {where[1]} of your cell "{where[0]}": `{lines[where[1] - 1].strip()[:120]}`'
    if ename == "NotImplementedError":
        return StudentError(f"{call} raised NotImplementedError: not written yet", "not implemented", ename)
    return StudentError(f"{call} raised {ename}{line}", "raised", ename, where)


class LocalConnection:
    """Calls into this very process (a notebook): the notebook's ``__main__`` namespace, through the encoding."""

    def call(self, request: dict, call: str):
        reply = loads(answer(dumps(request), _notebook_namespace()))
        if reply["ok"]:
            return reply["value"]
        raise describe_failure(reply, call, trusted=True)


_LOCAL = LocalConnection()
_CONNECTION: contextvars.ContextVar = contextvars.ContextVar("course_student_connection", default=None)


def _connection():
    return _CONNECTION.get() or _LOCAL


@contextlib.contextmanager
def connected(connection):
    """Within the block (in this thread), :data:`student` calls go through ``connection`` (the grader's), and the
    checks print no success line and quote no text the student's code returned (:data:`.core.GRADING`)."""
    from .core import GRADING

    token, quiet = _CONNECTION.set(connection), GRADING.set(True)
    try:
        yield
    finally:
        _CONNECTION.reset(token)
        GRADING.reset(quiet)


class Student:
    """The student's code as a hidden test sees it: ``student.NAME(*args)`` calls the student's ``NAME``."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(Ref(name), *args, **kwargs)

    def ref(self, name: str) -> Ref:
        """The student's object ``name``, to pass to a driver or to another of their functions."""
        return Ref(name)

    def call(self, target, *args, **kwargs):
        """Call ``target`` (a :class:`Ref`) with plain data; the result comes back as plain data."""
        what = target.name if isinstance(target, Ref) else str(target)
        return _send(encode(target), what, f"your {what}", args, kwargs)

    def drive(self, driver: str, *args, **kwargs):
        """Run the course's public driver ``driver`` (see :mod:`course_lib.checks.drivers`) on the student's side."""
        _driver(driver)
        first = next((a.name for a in args if isinstance(a, Ref)), driver)
        return _send({"__driver__": driver}, driver, f"your {first} ({driver})", args, kwargs)


def _send(target: dict, what: str, call: str, args, kwargs):
    """One request through the current connection: ``target`` (encoded), the arguments as plain data."""
    request = {"target": target, "args": encode(list(args), f"an argument of {what}"),
               "kwargs": encode(dict(kwargs), f"an argument of {what}")}
    return decode(_connection().call(request, call))


student = Student()
