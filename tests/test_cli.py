"""The command line never surprises: ``--help`` and a wrong argument print the usage and change nothing."""
import hashlib
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course  # noqa: E402  (the stdlib-only entry point at the repo root)

COMMANDS = list(course.load_cli().COMMANDS)


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> Path:
    """The course as a fresh clone has it (tracked and new files, no .venv), in a folder of its own."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    clone = tmp_path_factory.mktemp("clone")
    for name in files:
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    return clone


def run(clone: Path, *args: str) -> subprocess.CompletedProcess:
    python = shutil.which("python3") or sys.executable       # course.py runs under any python3, before any set-up
    return subprocess.run([python, "course.py", *args], cwd=clone, capture_output=True, text=True, timeout=60)


def test_every_command_is_in_the_readme_and_the_docstring():
    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"`{name}`" in readme, f"the README does not name `{name}`"
        assert f"course.py {name}" in course.__doc__


def test_help_and_wrong_arguments_change_nothing(fresh_clone):
    before = snapshot(fresh_clone)
    said = run(fresh_clone, "--help")
    assert said.returncode == 0 and "usage:" in said.stdout and all(name in said.stdout for name in COMMANDS)
    for name in COMMANDS:
        for flag in ("--help", "-h"):
            said = run(fresh_clone, name, flag)
            assert said.returncode == 0, f"`course.py {name} {flag}` exited with {said.returncode}: {said.stderr}"
            assert f"usage: python3 course.py {name}" in said.stdout, said.stdout
        positional = ["x"] if name in ("grade", "release") else []
        said = run(fresh_clone, name, *positional, "--no-such-option") if name != "test" else None
        if said is not None:
            assert said.returncode == 2, f"`course.py {name} --no-such-option` exited with {said.returncode}"
            assert f"usage: python3 course.py {name}" in said.stderr and "--no-such-option" in said.stderr
    for wrong in (["no-such-command"], ["grade"], ["release"], ["grade", "x", "--jobs", "two"], ["open", "--port"]):
        said = run(fresh_clone, *wrong)
        assert said.returncode == 2 and "usage:" in said.stderr, (wrong, said.stderr)
    assert not (fresh_clone / ".venv").exists(), "a help or a wrong argument started the set-up"
    assert snapshot(fresh_clone) == before, "a help or a wrong argument changed the course's files"


def test_test_passes_its_arguments_to_pytest():
    cli = course.load_cli()
    assert cli.parse(["test", "tests/test_prox.py", "-x", "-k", "soft"]).pytest_args == \
        ["tests/test_prox.py", "-x", "-k", "soft"]
    assert cli.parse(["test", "--", "--help"]).pytest_args == ["--help"]
    assert cli.parse(["test"]).pytest_args == []


@pytest.mark.parametrize("args, cores, expected", [
    ([], 2, ["-n", "2", "--dist", "loadfile"]),                     # a notebook's cells share one worker's kernel
    (["tests/test_prox.py", "-x"], 16, ["-n", "4", "--dist", "loadfile"]),
    ([], 1, []),
    (["-n", "0"], 2, []), (["-n3"], 2, []), (["--numprocesses=3"], 2, []), (["--dist", "load"], 2, []),
    (["-p", "no:xdist"], 2, []),
])
def test_test_runs_one_worker_per_core_unless_the_arguments_choose(args, cores, expected):
    assert course.parallel_arguments(args, cores) == expected


def test_the_tools_take_the_same_options():
    """One definition: the grader's parser and course.py's accept the same options, with the same defaults."""
    cli = course.load_cli()
    from course_lib.tools.grading.kernel import Limits

    options = cli.parse(["grade", "subs"])
    assert (options.cell_timeout, options.timeout, options.memory_mb) == \
        (Limits().cell_timeout, Limits().total_timeout, Limits().memory_mb)


def test_lock_says_what_would_change_and_writes_only_when_asked(tmp_path, monkeypatch):
    lock, environment = tmp_path / "requirements-lock.txt", tmp_path / "environment.yml"
    lock.write_text("# header\nnumpy==2.0.0\ntorch==2.13.0\n")
    environment.write_text("name: old\n")
    monkeypatch.setattr(course, "LOCK", lock)
    monkeypatch.setattr(course, "ENVIRONMENT", environment)
    monkeypatch.setattr(course.venv, "EnvBuilder", lambda **kw: types.SimpleNamespace(create=lambda path: None))
    freeze = "numpy==2.4.6\ntorch==2.13.0+cpu\npip==24.0\n"
    monkeypatch.setattr(course.subprocess, "run",
                        lambda command, **kw: types.SimpleNamespace(stdout=freeze, returncode=0))
    before = (lock.read_text(), environment.read_text())
    cli = course.load_cli()
    assert course.cmd_lock([], cli.parse(["lock"])) == 0
    assert (lock.read_text(), environment.read_text()) == before, "`lock` without --write changed the lock"
    assert course.lock_changes(before[0], "numpy==2.4.6\ntorch==2.13.0\n") == ["-numpy==2.0.0", "+numpy==2.4.6"]
    assert course.cmd_lock([], cli.parse(["lock", "--write"])) == 0
    assert "numpy==2.4.6" in lock.read_text() and "numpy==2.4.6" in environment.read_text()
