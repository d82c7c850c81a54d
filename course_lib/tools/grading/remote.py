"""The grader's end of the boundary: hidden tests, run in the trusted process, call the student's kernel.

A hidden test's :data:`course_lib.checks.student` calls go through :class:`RemoteConnection`: the request
(plain data, see :mod:`course_lib.checks.boundary`) is written to a file in a folder shared with the
sandbox, the kernel is asked to answer it (``boundary.serve``) within the time left, and its reply is
read back -- a regular file of bounded size, not followed through links, with a loader that cannot run
code -- and judged here. No text of the reply reaches the student's feedback: only a built-in
exception's name and the line of the student's own cell (:func:`~course_lib.checks.boundary.describe_failure`).
"""
from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

import torch

from ...checks.boundary import StudentError, describe_failure, dumps, loads
from .reports import KERNEL_DIED, TIMEOUT

__all__ = ["RemoteConnection", "MAX_REPLY_BYTES"]

MAX_REPLY_BYTES = 64 * 2**20
MAX_NODES = 200_000                 # values visited in a reply (a shared sub-list counts each time it is reached)
MAX_ELEMENTS = 50_000_000           # tensor entries in a reply, all tensors together


class RemoteConnection:
    """Calls of hidden tests into ``kernel`` (a :class:`~.kernel.LimitedKernel`), through files in ``folder``.

    ``deadline`` is the :func:`time.monotonic` time at which the notebook's time is up; each call may take
    at most the cell time limit. ``sources`` are the student's cells by name (to quote the line that raised);
    ``forbidden`` the library names the exercise does not allow (see :mod:`course_lib.checks.own_work`).
    """

    def __init__(self, kernel, folder: Path, limits, deadline: float, sources: dict, forbidden=()):
        self.kernel, self.folder, self.limits = kernel, Path(folder), limits
        self.deadline, self.sources = deadline, sources
        self.forbidden = tuple(forbidden)

    def call(self, request: dict, call: str):
        if not self.kernel.alive:
            raise StudentError(f"{call} could not run: the Python process of your notebook had stopped", "kernel died")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StudentError(f"{call} could not run: the notebook had used its time "
                               f"({self.limits.total_timeout:g} s)", "timeout")
        token = secrets.token_hex(12)
        request_path, reply_path = self.folder / f"call-{token}.pt", self.folder / f"reply-{token}.pt"
        _write_new(request_path, dumps(request))
        try:
            run = self.kernel.run(f"__import__('course_lib.checks.boundary', fromlist=['serve']).serve("
                                  f"{str(request_path)!r}, {str(reply_path)!r})", min(self.limits.cell_timeout, left))
            if run.status == TIMEOUT:
                raise StudentError(f"{call} did not return within {run.limit:.3g} s: an endless loop?", "timeout")
            if run.status == KERNEL_DIED:
                raise StudentError(f"{call} stopped the Python process (a crash, os._exit or too much memory)",
                                   "kernel died")
            if run.status != "ok":
                if run.ename == "MemoryError":
                    raise StudentError(f"{call} ran out of memory (the limit is {self.limits.memory_mb} MB)", "raised",
                                       "MemoryError")
                raise StudentError(f"{call}: no answer came back from your notebook (did your code change the "
                                   "course's modules?)", "raised")
            reply = _read_reply(reply_path)
        finally:
            for path in (request_path, reply_path):
                try:
                    path.unlink()
                except OSError:
                    pass
        if reply is None or not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise StudentError(f"{call}: the answer from your notebook could not be read", "unreadable")
        if reply["ok"]:
            return reply.get("value")
        raise describe_failure(reply, call, self.sources, trusted=False, forbidden=self.forbidden)


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (never through a link, never over an existing file) and write ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _read_reply(path: Path):
    """The reply's plain data, or None: a missing file, a link, not a regular file, too large, or unreadable."""
    try:
        # a FIFO must not block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_REPLY_BYTES:
            return None
        data = f.read(MAX_REPLY_BYTES + 1)
    try:
        reply = loads(data)
    except Exception:          # whatever the file holds, it is not a reply: no text of it is kept
        return None
    return reply if _plain_enough(reply) else None


def _plain_enough(value) -> bool:
    """Whether a loaded reply is small, plain data: bounded count of values and depth, and only ordinary dense CPU
    tensors whose storage holds all their entries (no stride tricks that a later operation would blow up)."""
    stack, nodes, elements = [(value, 0)], 0, 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES or depth > 40:
            return False
        if isinstance(item, torch.Tensor):
            elements += item.numel()
            if (elements > MAX_ELEMENTS or item.device.type != "cpu" or item.layout != torch.strided
                    or item.is_quantized or not item.is_contiguous()
                    or item.untyped_storage().nbytes() < (item.storage_offset() + item.numel()) * item.element_size()):
                return False
        elif isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()] + [(k, depth + 1) for k in item]
        elif isinstance(item, (list, tuple)):
            stack += [(v, depth + 1) for v in item]
        elif not (item is None or isinstance(item, (bool, int, float, str))):
            return False
    return True
