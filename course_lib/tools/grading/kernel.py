"""The grading kernel: a fresh ipykernel in a process of its own, with a memory limit, run cell by cell.

:class:`LimitedKernel` starts it (from a kernel spec written into a temporary folder) and runs
code in it with a time limit per cell; a cell that times out is interrupted, and the kernel is
stopped when it does not come back. The kernel process itself is started as::

    python -m course_lib.tools.grading.kernel --memory-mb N -f CONNECTION_FILE

which sets ``RLIMIT_AS``, no core dumps and files of at most 256 MB (``RLIMIT_FSIZE``) before it starts
ipykernel. The kernel imports ``course_lib`` as installed in this Python (``pip install -e .``, as
``python3 course.py setup`` does).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..cli import GRADING_LIMITS
from .reports import KERNEL_DIED, TIMEOUT

try:                     # POSIX only: on Windows the module still loads, and the memory limit is not enforced
    import resource
except ImportError:      # pragma: no cover - exercised by a test that hides the module
    resource = None

__all__ = ["Limits", "GradingEnvironmentError", "CellRun", "LimitedKernel", "KERNEL_NAME", "main"]

KERNEL_NAME = "course-grader"
FILE_LIMIT = 256 * 2**20        # bytes: the largest file the student's process may write


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds per cell, seconds in all, megabytes of memory, torch threads
    (``COURSE_MAX_THREADS``, a cap on :func:`course_lib.setup_notebook`'s threads)."""

    cell_timeout: float = GRADING_LIMITS["cell_timeout"]
    total_timeout: float = GRADING_LIMITS["total_timeout"]
    memory_mb: int = GRADING_LIMITS["memory_mb"]
    threads: int = 1

    def __post_init__(self):
        for name in ("cell_timeout", "total_timeout", "memory_mb", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} is {value!r}; Limits expects a positive number")


class GradingEnvironmentError(RuntimeError):
    """The grading itself cannot work (not a submission's fault): the run stops."""


@dataclass
class CellRun:
    """What running one piece of code gave."""

    status: str                     # "ok", "error", TIMEOUT or KERNEL_DIED
    ename: str = ""
    evalue: str = ""
    output_chars: int = 0
    traceback: list = field(default_factory=list)
    limit: float = 0.0              # the seconds it was allowed


class LimitedKernel:
    """A fresh python kernel in its own process with a memory limit, run cell by cell.

    ``workdir`` is the kernel's current folder; ``spec_dir`` a folder of the grader's own for the
    kernel spec and the kernel's sockets. With a :class:`~.sandbox.Sandbox`, the kernel runs confined
    (its current folder is then its private ``/tmp``); ``shared`` and ``readonly`` are further folders
    of the grader's that it may write, or read.
    """

    def __init__(self, limits: Limits, workdir: Path, spec_dir: Path, sandbox=None, shared=(), readonly=()):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.limits = limits
        spec = spec_dir / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True, exist_ok=True)
        # the connection file and the kernel's sockets: all it may write outside /tmp
        sockets = spec_dir / "sockets"
        sockets.mkdir(exist_ok=True)
        argv = [sys.executable, "-m", "course_lib.tools.grading.kernel", "--memory-mb", str(limits.memory_mb),
                "-f", "{connection_file}"]
        settings = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
                    "COURSE_MAX_THREADS": str(limits.threads)}
        if sandbox is not None:
            from .sandbox import sandbox_environment

            argv = sandbox.command(argv[:-2] + ["--sandboxed"] + argv[-2:], shared=[sockets, *shared],
                                   readonly=list(readonly))
            env, cwd = sandbox_environment(settings), "/"
        else:
            env, cwd = {**os.environ, **settings}, str(workdir)
        # interrupts go as a message: a signal would reach bubblewrap, not the kernel inside it
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "course grader",
                                                      "language": "python", "interrupt_mode": "message"}))
        self.km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(sockets / "kernel"),
                                connection_file=str(sockets / "connection.json"),
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
        # nothing the student's process prints reaches the grader's terminal (only the kernel's messages count)
        self.km.start_kernel(cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=120)
        except RuntimeError as error:
            self.shutdown()
            raise GradingEnvironmentError(f"the grading kernel did not start: {error}") from None
        self.alive, self.died = True, False

    def run(self, code: str, timeout: float) -> CellRun:
        """Execute ``code``; stream output is counted and dropped, errors are kept."""
        if not self.alive:
            return CellRun(KERNEL_DIED)
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        result = CellRun("ok")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out(result, timeout, msg_id)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.5, remaining))
            except queue.Empty:
                if not self.km.is_alive():
                    self.alive, self.died = False, True
                    return CellRun(KERNEL_DIED, output_chars=result.output_chars)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error":
                result.status = "error"
                result.ename, result.evalue = content.get("ename", ""), content.get("evalue", "")
                result.traceback = list(content.get("traceback", []))
            elif kind == "stream":
                result.output_chars += len(content.get("text", ""))
            elif kind == "status" and content.get("execution_state") == "idle":
                return result

    def _timed_out(self, result: CellRun, limit: float, msg_id: str) -> CellRun:
        """Interrupt the cell; stop the kernel when it does not come back within 10 s (its own "idle", not that
        of the interrupt request, which the kernel answers even while the cell goes on)."""
        self.km.interrupt_kernel()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg.get("parent_header", {}).get("msg_id") == msg_id):
                return CellRun(TIMEOUT, output_chars=result.output_chars, limit=limit)
        self.shutdown()
        return CellRun(TIMEOUT, output_chars=result.output_chars, limit=limit)

    def shutdown(self) -> None:
        self.alive = False
        try:
            self.kc.stop_channels()
        except Exception:  # pragma: no cover - best effort
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:  # pragma: no cover - best effort
            pass


def main(argv=None) -> None:
    """``python -m course_lib.tools.grading.kernel --memory-mb N -f CONNECTION``: an ipykernel with a memory limit."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.grading.kernel")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("--sandboxed", action="store_true",
                        help="inside bubblewrap: the grader's PID means nothing here, and bubblewrap ends the kernel "
                             "when the grader goes")
    args = parser.parse_args(argv)
    if args.sandboxed:
        os.environ.pop("JPY_PARENT_PID", None)   # else ipykernel watches for a parent it cannot see and exits
    limit = args.memory_mb * 2**20
    if resource is None:
        print(f"warning: no memory limit on this platform (the `resource` module is POSIX only); "
              f"--memory-mb {args.memory_mb} is not enforced", file=sys.stderr)
    else:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # no file larger than this (Python ignores SIGXFSZ: a larger write fails with an OSError)
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance(argv=["-f", args.connection_file])


if __name__ == "__main__":
    main()
