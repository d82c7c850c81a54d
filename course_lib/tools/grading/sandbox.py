"""The student's process in a sandbox: bubblewrap (``bwrap``) on Linux.

The kernel that runs a submission's cells is started inside a bubblewrap sandbox in which

* it sees an **allow-list** of the host, read-only: the system's programs and libraries (``/usr``, ``/lib*``,
  ``/bin``, ``/sys``), a few files of ``/etc``, the course's ``course_lib`` and the Python environment.
  ``solutions/``, ``.git``, ``tests/``, the home folder, ``/run`` (the host's service sockets), ``/var``,
  ``/srv``, the submissions and the output folder are **not there**; a folder the grader names
  (:attr:`Sandbox.hide`) that lies inside what is visible is replaced by an empty read-only one;
* the only writable places are an **empty private temporary folder** (``/tmp``, also ``/var/tmp`` and
  ``/dev/shm``, of limited size: a submission that fills it gets "No space left on device") and the grader's
  folders for the kernel's sockets and the calls' data;
* there is **no network** and no shared memory with the host (its own network and IPC namespaces);
* it has its **own PID namespace**: it cannot see or signal the grader or any other process, and when
  the kernel is stopped, every process it started (sessions, daemons, a deep tree of children) dies with
  it; it gets no capabilities and a minimal environment.

:func:`check_sandbox` says, with a reason, whether that can work here: bubblewrap must be installed
(Debian and Ubuntu: ``apt install bubblewrap``) and unprivileged user namespaces allowed (recent Ubuntu
restricts them through AppArmor; see the README). Where it cannot (macOS, Windows, a locked-down host),
the grader refuses unless it is told ``--no-sandbox``, and every feedback file then says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# the host's folders the sandbox sees (read-only): programs, libraries, configuration, device and CPU information
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys")
PRIVATE = "/tmp"                       # inside the sandbox: its own empty temporary folder
INSIDE_HOME = PRIVATE + "/home"        # and the home folder the student's process is given, inside it
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf", "hosts",
       "fonts", "alternatives", "mime.types")

__all__ = ["Sandbox", "SandboxUnavailable", "check_sandbox", "UNSANDBOXED_NOTE", "INSTALL_HINT"]

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: sudo apt install bubblewrap; Fedora: sudo dnf install "
                "bubblewrap), or grade without isolation with --no-sandbox")
UNSANDBOXED_NOTE = ("This notebook was graded without a sandbox (--no-sandbox): your code ran with the "
                    "instructor's permissions.")


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Sandbox:
    """How the student's kernel is confined.

    ``course_root`` is the course folder: inside the sandbox only its ``course_lib`` (and the Python
    environment, where that lies inside it) can be seen. ``hide`` are further folders or files that
    must not be visible (the submissions, the output folder); the home folder is always hidden.
    ``tmp_mb`` is the size of the private temporary folder.
    """

    course_root: Path
    hide: tuple = field(default_factory=tuple)
    tmp_mb: int = 256

    def command(self, argv: list[str], *, shared: list[Path], readonly: list[Path] = (),
                cwd: str = "/tmp") -> list[str]:
        """The ``bwrap`` command line that runs ``argv`` confined; ``shared`` folders stay writable, ``readonly``
        ones readable (the grader's own folders for the kernel's sockets and the calls' data)."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
        root = Path(self.course_root).resolve()
        # an allow-list: the system's programs and libraries, read-only, and a few files of /etc; nothing else of
        # the host (no /run, /var, /home, /srv, /mnt...: no other student's files, no Unix socket of a host service)
        args, bound = [bwrap], []
        for top in SYSTEM:
            path = Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
                bound.append(path)
        for name in ETC:
            if Path("/etc", name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        args += ["--dev", "/dev", "--proc", "/proc"]
        size = str(self.tmp_mb * 2**20)
        for private in ("/tmp", "/var/tmp", "/dev/shm"):
            args += ["--size", size, "--tmpfs", private]
        args += ["--dir", INSIDE_HOME]
        # what the kernel needs of the course: the library and the Python environment (read-only)
        for path in (root / "course_lib", Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()):
            if not _inside_any(path, bound):
                args += ["--ro-bind", str(path), str(path)]
                bound.append(path)
        read_only = []                # what lies inside what is bound but must not be seen: empty and read-only
        for path in [Path.home(), root / "solutions", *(Path(p) for p in self.hide)]:
            path = Path(path).resolve()
            if not path.exists() or not _inside_any(path, bound):
                continue                             # not visible anyway
            if path.is_dir():
                args += ["--tmpfs", str(path)]
                read_only += ["--remount-ro", str(path)]
            else:
                args += ["--ro-bind", "/dev/null", str(path)]
        for path in readonly:
            args += ["--ro-bind", str(Path(path).resolve()), str(Path(path).resolve())]
        for path in shared:
            args += ["--bind", str(Path(path).resolve()), str(Path(path).resolve())]
        args += read_only
        args += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--chdir", cwd]
        return args + ["--", *argv]


def _inside_any(path: Path, folders: list) -> bool:
    path = Path(path).resolve()
    return any(path == Path(f).resolve() or Path(f).resolve() in path.parents for f in folders)


def sandbox_environment(extra: dict) -> dict:
    """A minimal environment for the sandboxed kernel: no variable of the grader's leaks into it."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    return {**keep, "HOME": INSIDE_HOME, "IPYTHONDIR": f"{INSIDE_HOME}/.ipython", "MPLCONFIGDIR": f"{INSIDE_HOME}/.mpl",
            "XDG_CACHE_HOME": f"{INSIDE_HOME}/.cache", "TMPDIR": PRIVATE, **extra}


_CHECKED: dict = {}


def check_sandbox(course_root: Path) -> None:
    """Raise :class:`SandboxUnavailable` (saying why and what to do) unless a sandboxed process can start here."""
    if "ok" in _CHECKED:
        return
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"the grader's sandbox needs Linux (bubblewrap); this is {sys.platform}: "
                                 "grade on Linux, or pass --no-sandbox to grade without isolation")
    command = Sandbox(course_root).command(["/bin/true"], shared=[])     # SandboxUnavailable without bwrap
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailable(f"bubblewrap could not start a sandbox ({error}): {INSTALL_HINT}") from None
    if done.returncode != 0:
        why = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise SandboxUnavailable(
            f"bubblewrap could not start a sandbox here ({why[0]}). On recent Ubuntu, unprivileged user namespaces "
            "are restricted by AppArmor: see the README's section on grading; or pass --no-sandbox")
    _CHECKED["ok"] = True
