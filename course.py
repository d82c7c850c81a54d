#!/usr/bin/env python3
"""One entry point for the course: set up, open, test, regenerate exercises.

Needs only Python 3.11 and pip. Every command first makes sure the course's own
virtual environment (``.venv`` beside this file) exists and matches the pinned
lock file; that step is skipped in well under a second when nothing changed.

    python course.py open        # set up, then JupyterLab at index.ipynb
    python course.py test        # set up, then every test (unit, property, notebooks)
    python course.py exercises   # regenerate exercises/ from solutions/
                                 # (--merge OLD: a student's answers into a revised one)
    python course.py execute     # re-run lectures/ and solutions/ in place, then regenerate exercises
    python course.py grade DIR   # autograde submissions against solutions/ (see course_lib/tools/grading/)
    python course.py release DIR # the student edition in DIR: no solutions, hidden tests or grader
    python course.py site        # the course as an offline website with slides, in site/
    python course.py setup       # only the set-up step
    python course.py lock        # re-resolve requirements.in; say what would change (--write: rewrite the lock)

Extra arguments after ``test`` go to pytest, e.g. ``python course.py test tests/test_prox.py -x``.
The command line is parsed before anything is set up (``course_lib/tools/cli.py``, read by its path):
``--help`` and a wrong argument print the usage and change nothing.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements-lock.txt"
REQUIREMENTS = ROOT / "requirements.in"
ENVIRONMENT = ROOT / "environment.yml"
STAMP = VENV / "course-setup.sha256"
LOG = VENV / "course-setup.log"


def load_cli():
    """``course_lib/tools/cli.py`` by its path: the command line's definition, standard library only."""
    spec = importlib.util.spec_from_file_location("course_cli", ROOT / "course_lib" / "tools" / "cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def venv_bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def setup_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def run_logged(command: list[str], log) -> None:
    """Run a command with its output in the set-up log; on failure show the log's tail."""
    log.write(f"\n$ {' '.join(command)}\n")
    log.flush()
    result = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        log.flush()
        tail = LOG.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        sys.exit(f"[course] set-up failed: {' '.join(command)} exited with {result.returncode}; "
                 f"full log in {LOG.relative_to(ROOT)}")


def setup() -> None:
    """Create .venv and install the pinned environment, unless it is already current."""
    if sys.version_info[:2] < (3, 11):
        sys.exit(f"[course] Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    python = venv_bin("python")
    if not python.exists():
        say(f"creating the virtual environment in {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = setup_fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return
    say("installing the pinned course environment (first run: a few minutes)")
    with open(LOG, "w") as log:
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        run_logged(pip + ["-r", str(LOCK)], log)
        # course_lib itself, editable, built with the setuptools pinned in the lock
        run_logged(pip + ["--no-deps", "--no-build-isolation", "-e", str(ROOT)], log)
    STAMP.write_text(fingerprint + "\n")
    say("environment ready")


def in_venv(args: list[str]) -> int:
    return subprocess.call([str(venv_bin("python"))] + args, cwd=ROOT)


def cmd_open(args: list[str], options) -> int:
    setup()
    say("opening JupyterLab at index.ipynb (Ctrl+C to stop)")
    lab = ([f"--port={options.port}"] if options.port else []) + (["--no-browser"] if options.no_browser else [])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        lab = ["--allow-root"] + lab    # containers and CI often run as root; JupyterLab refuses without it
    return in_venv(["-m", "jupyterlab", "index.ipynb"] + lab)


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def apt_install(package: str, present, purpose: str) -> bool:
    """Install Debian's ``package`` where that is possible (root, apt-get) unless ``present()``; whether it is there."""
    import shutil

    if present():
        return True
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        say(f"no {package} found: {purpose} will be skipped (install {package} to run them)")
        return False
    say(f"installing Debian's {package} for {purpose} (once; a minute or two)")
    VENV.mkdir(exist_ok=True)
    with open(LOG, "a") as log:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
        for command in (install, ["apt-get", "update", "-q"], install):
            log.write(f"\n$ {' '.join(command)}\n")
            log.flush()
            done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode == 0
            if done and command is install and present():
                return True
    say(f"could not install {package} (see {LOG}): {purpose} will fail in CI, be skipped elsewhere")
    return False


def ensure_browser() -> None:
    """The browser smoke tests need a Chromium."""
    import shutil

    apt_install("chromium", lambda: bool(os.environ.get("CHROMIUM") or any(shutil.which(b) for b in BROWSERS)),
                "the browser smoke tests")


def ensure_bubblewrap() -> None:
    """The grader's sandbox tests need bubblewrap (``bwrap``), as does grading a class (see the README)."""
    import shutil

    if sys.platform.startswith("linux"):
        apt_install("bubblewrap", lambda: bool(shutil.which("bwrap")), "the grader's sandbox tests")


def cmd_test(args: list[str], options) -> int:
    setup()
    if (ROOT / "tests").is_dir():           # the student edition tests its lectures only: no browser, no sandbox
        ensure_browser()
        ensure_bubblewrap()
    os.environ.setdefault("COURSE_STRICT_CLAIMS", "1")    # a lecture's statement that stops holding fails its cell
    parallel = parallel_arguments(options.pytest_args)
    if parallel:        # the notebook kernels of the workers take one torch thread each: no oversubscribed cores
        os.environ.setdefault("COURSE_MAX_THREADS", "1")
    return in_venv(["-m", "pytest"] + parallel + options.pytest_args)


def parallel_arguments(pytest_args: list[str], cores: int | None = None) -> list[str]:
    """pytest-xdist's arguments: one worker per core (at most 4), the tests of one file on one worker (its module
    fixtures built once, a notebook's cells in one kernel); none where there is one core or the arguments choose
    (``-n``, ``--dist``, ``-p no:xdist``)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    chosen = any(a == "-n" or a.startswith(("-n=", "--numprocesses", "--dist")) or (a[:2] == "-n" and a[2:].isdigit())
                 for a in pytest_args) or "no:xdist" in pytest_args
    if chosen or cores < 2:
        return []
    return ["-n", str(min(cores, 4)), "--dist", "loadfile"]


def cmd_exercises(args: list[str], options) -> int:
    setup()
    return in_venv(["-m", "course_lib.tools.notebooks", "--root", str(ROOT), "generate"] + args)


def cmd_execute(args: list[str], options) -> int:
    setup()
    os.environ.setdefault("COURSE_STRICT_CLAIMS", "1")    # a notebook whose statements do not hold is not stored
    return in_venv(["-m", "course_lib.tools.notebooks", "--root", str(ROOT), "execute"] + args)


def cmd_grade(args: list[str], options) -> int:
    if not (ROOT / "course_lib" / "tools" / "grading").is_dir():
        say("this is the student edition of the course: it has no grader (the instructor grades)")
        return 2
    setup()
    return in_venv(["-m", "course_lib.tools.grading", "--root", str(ROOT)] + args)


def cmd_release(args: list[str], options) -> int:
    setup()
    return in_venv(["-m", "course_lib.tools.release", "--root", str(ROOT)] + args)


def cmd_site(args: list[str], options) -> int:
    setup()
    return in_venv(["-m", "course_lib.tools.site", "--root", str(ROOT)] + args)


def cmd_setup(args: list[str], options) -> int:
    setup()
    return 0


def pinned_lines(freeze: str) -> list[str]:
    """The lock's lines from ``pip freeze --all``: without pip and course-lib, torch as ==2.13.0."""
    lines = []
    for line in freeze.splitlines():
        name = line.split("==")[0].strip().lower().replace("_", "-")
        if not line or line.startswith(("#", "-e ")) or " @ " in line or name in ("pip", "course-lib"):
            continue
        if name == "torch":
            line = "torch==" + line.split("==")[1].split("+")[0]
        lines.append(line)
    return sorted(lines, key=str.lower)


def cmd_lock(args: list[str], options) -> int:
    """Resolve requirements.in in a scratch environment; say what would change, and with --write rewrite the lock
    and environment.yml."""
    with tempfile.TemporaryDirectory() as scratch:
        venv.EnvBuilder(with_pip=True).create(scratch)
        python = str(Path(scratch) / ("Scripts" if os.name == "nt" else "bin") / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
        freeze = subprocess.run([python, "-m", "pip", "freeze", "--all"], check=True,
                                capture_output=True, text=True).stdout
    pins = pinned_lines(freeze)
    header = ("# The pinned course environment, resolved from requirements.in by `python course.py lock --write`.\n"
              "# environment.yml lists the same pins for conda users; a test checks that they agree.\n")
    files = {LOCK: header + "\n".join(pins) + "\n", ENVIRONMENT: (
        "# conda env create -f environment.yml && conda activate mbdl-course && pip install --no-deps -e .\n"
        "# Generated by `python course.py lock --write` from requirements-lock.txt; keep the two in agreement.\n"
        "name: mbdl-course\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        + "".join(f"      - {pin}\n" for pin in pins))}
    changes = lock_changes(LOCK.read_text() if LOCK.exists() else "", files[LOCK])
    if not changes:
        say(f"{LOCK.name} is current: requirements.in resolves to the same {len(pins)} pins")
        return 0
    print("\n".join(changes))
    if not options.write:
        say(f"{len(changes)} pin(s) would change; nothing written (`python3 course.py lock --write` rewrites "
            f"{LOCK.name} and {ENVIRONMENT.name})")
        return 0
    for path, text in files.items():
        path.write_text(text)
    say(f"wrote {LOCK.name} ({len(pins)} pins) and {ENVIRONMENT.name}")
    return 0


def lock_changes(old: str, new: str) -> list[str]:
    """The pins that differ between two lock files, as ``- name==old`` / ``+ name==new`` lines."""
    pins = lambda text: [line for line in text.splitlines() if line and not line.startswith("#")]
    return [line for line in difflib.unified_diff(pins(old), pins(new), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


COMMANDS = {"open": cmd_open, "test": cmd_test, "exercises": cmd_exercises, "execute": cmd_execute, "grade": cmd_grade,
            "release": cmd_release, "site": cmd_site, "setup": cmd_setup, "lock": cmd_lock}


def main(argv: list[str]) -> int:
    """Parse ``argv`` before anything is set up (``--help`` or a wrong argument: the usage, and nothing else), then
    run the command."""
    cli = load_cli()
    try:
        options = cli.parse(argv)
    except SystemExit as stop:              # argparse printed the help (0) or the usage and the error (2)
        return stop.code if isinstance(stop.code, int) else 2
    return COMMANDS[options.command](argv[1:], options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
