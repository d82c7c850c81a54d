"""Runs too long for a lecture, recorded: small files that a script in ``scripts/`` regenerates.

A lecture that needs a long run (thousands of training steps) loads its recorded result instead of
repeating it. Each record is two files in ``course_lib/pretrained/``: ``NAME.pt`` (tensors and numbers, read
with ``weights_only=True``) and ``NAME.json`` (the recipe, a hash of the recipe and of the code that made the run,
the sha256 of ``NAME.pt``, the seconds it took). :func:`load` refuses a record whose recipe or code has changed
since, and says which command regenerates it; ``tests/test_recorded.py`` checks every record without re-running it.

The code is one mechanism for every record: the module that defines the run (``course_lib.lectures.adp_runs``, say)
and every ``course_lib`` module it imports, directly or through others (found by reading their import statements,
function-level imports included; ``course_lib/__init__.py``, which only re-exports, is not followed), each parsed
and dumped as its syntax tree with docstrings left out, so that a comment, a docstring or a reformatting does not make
a record stale and any change to code that runs does. :func:`modules_of` lists them, and the manifest names them.
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["RECORDS", "Record", "modules_of", "code_fingerprint", "source_hash", "save", "load", "stale", "manifest",
           "record"]

PACKAGE = Path(__file__).resolve().parent.parent        # course_lib/
RECORDS = PACKAGE / "pretrained"
#: The manifest's fields that :func:`load` reads.
FIELDS = ("recipe", "source_hash", "sha256", "command")


def _file_of(module: str) -> Path | None:
    """The source file of a ``course_lib`` module (``course_lib.x.y``), or None when there is none."""
    parts = module.split(".")
    if parts[0] != "course_lib":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, tree: ast.AST) -> set:
    """The ``course_lib`` modules that ``tree`` (the source of ``module``) imports, anywhere in it."""
    package = module if _file_of(module).name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("course_lib")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("course_lib"):
                continue
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names if _file_of(f"{target}.{alias.name}")}
    return {name for name in found if _file_of(name) is not None and name != "course_lib"}


def modules_of(module: str) -> list:
    """``module`` and every ``course_lib`` module it imports, transitively, sorted (``course_lib/__init__.py`` is not
    followed: it only re-exports)."""
    if _file_of(module) is None:
        raise ValueError(f"module is {module!r}; expected a module of course_lib (e.g. 'course_lib.lectures.adp_runs')")
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += sorted(_imports(name, ast.parse(_file_of(name).read_text())) - seen)
    return sorted(seen)


def code_fingerprint(source: str) -> str:
    """The syntax tree of ``source`` without docstrings, as text: comments, docstrings and layout do not change it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value,
                                                                                                    str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def source_hash(recipe: dict, module: str) -> str:
    """A sha256 of ``recipe`` (JSON, sorted keys) and of the code of every module in :func:`modules_of` ``(module)``."""
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for name in modules_of(module):
        digest.update(f"\n{name}\n{code_fingerprint(_file_of(name).read_text())}".encode())
    return digest.hexdigest()


def save(name: str, payload: dict, recipe: dict, module: str, command: str, seconds: float) -> Path:
    """Write ``NAME.pt`` (``payload``) and ``NAME.json`` (recipe, hashes, ``command``, ``seconds``); returns the .pt
    path."""
    _check_name(name, "save")
    if not isinstance(payload, dict):
        raise TypeError(f"payload is a {type(payload).__name__}; save expects a dict of tensors and numbers")
    if not isinstance(recipe, dict):
        raise TypeError(f"recipe is a {type(recipe).__name__}; save expects a dict (written as JSON)")
    if not isinstance(command, str) or not command:
        raise TypeError(f"command is {command!r}; save expects the shell command that regenerates the record")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"seconds is {seconds!r}; save expects the run's duration, a number >= 0")
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    RECORDS.mkdir(exist_ok=True)
    (RECORDS / f"{name}.pt").write_bytes(data)
    manifest = {"recipe": recipe, "source_hash": source_hash(recipe, module), "modules": modules_of(module),
                "sha256": hashlib.sha256(data).hexdigest(), "command": command, "seconds": round(seconds, 1),
                "kib": len(data) // 1024, "torch": torch.__version__}
    (RECORDS / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return RECORDS / f"{name}.pt"


def _check_name(name, owner: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name is a {type(name).__name__} ({name!r}); {owner} expects a record's name, a string such "
                        "as 'dip_long_runs'")
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name is {name!r}; {owner} expects a record's name (a file name in {RECORDS}, without "
                         "folders or suffix)")


def _script_for(name: str, text: str = "") -> str:
    """The command that regenerates ``name`` when its manifest cannot tell: what the damaged text still shows, or the
    command of the course's record of that name."""
    found = re.search(r'"command"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    if found:
        return found.group(1)
    from . import all_records

    record = all_records().get(name)
    return record.command if record is not None else "the script in scripts/ that records it (scripts/record_*.py)"


def manifest(name: str) -> dict:
    """The ``NAME.json`` of a record; a FileNotFoundError when it is missing and a RuntimeError when it is damaged,
    each naming the file and the command that regenerates it."""
    _check_name(name, "manifest")
    path = RECORDS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no record {name!r} in {RECORDS}: {path.name} is missing; make it with: "
                                f"{_script_for(name)}")
    raw = path.read_bytes()
    try:
        facts = json.loads(raw.decode("utf-8"))
    except ValueError as error:                          # JSONDecodeError, UnicodeDecodeError
        raise RuntimeError(f"{path} is damaged (not valid JSON: {error}); regenerate the record with: "
                           f"{_script_for(name, raw.decode('utf-8', errors='replace'))}") from error
    missing = [field for field in FIELDS if field not in facts] if isinstance(facts, dict) else list(FIELDS)
    if missing:
        command = facts["command"] if "command" not in missing else _script_for(name)
        raise RuntimeError(f"{path} is damaged (it lacks {', '.join(missing)}); regenerate the record with: {command}")
    return facts


def _check(name: str, recipe: dict, module: str) -> tuple:
    """``(why the record is stale or None, the bytes of NAME.pt)``."""
    facts = manifest(name)
    path = RECORDS / f"{name}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (its manifest {name}.json is there); regenerate the record with: "
                                f"{facts['command']}")
    data = path.read_bytes()
    if facts["recipe"] != recipe:
        return f"{name} was recorded with another recipe; regenerate it with: {facts['command']}", data
    if facts["source_hash"] != source_hash(recipe, module):
        return (f"the code that makes {name} has changed since it was recorded; regenerate it with: "
                f"{facts['command']}"), data
    if hashlib.sha256(data).hexdigest() != facts["sha256"]:
        return (f"{name}.pt is not the file that was recorded (its sha256 differs: damaged, truncated or replaced; "
                f"{path}); regenerate it with: {facts['command']}"), data
    return None, data


def stale(name: str, recipe: dict, module: str) -> str | None:
    """Why the record ``name`` is not what ``recipe`` and the current code of ``module`` make (None when it is)."""
    return _check(name, recipe, module)[0]


def load(name: str, recipe: dict, module: str) -> dict:
    """The payload of the record ``name``, after checking that ``recipe`` and the code of ``module`` still make it (the
    file is read once)."""
    reason, data = _check(name, recipe, module)
    if reason:
        raise RuntimeError(reason)
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise RuntimeError(f"{RECORDS / name}.pt is damaged (torch.load: {first_line}); regenerate the record with: "
                           f"{manifest(name)['command']}") from error


def timed(run, *args, **kwargs) -> tuple:
    """``(run(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    return run(*args, **kwargs), time.perf_counter() - start


def record(name: str, run, recipe: dict, module: str, command: str) -> Path:
    """What a ``scripts/record_*.py`` does: ``run(recipe, progress=True)`` on 2 threads, timed, then :func:`save`."""
    torch.set_num_threads(2)
    payload, seconds = timed(run, recipe, progress=True)
    path = save(name, payload, recipe, module, command, seconds)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) in {seconds:.0f} s")
    return path


@dataclass(frozen=True)
class Record:
    """One recorded run of a lecture: its file ``name`` in ``course_lib/pretrained/``, the ``recipe``, the function
    ``run(recipe, progress) -> payload``, the ``module`` whose code (with what it imports) makes it, and the shell
    ``command`` that regenerates it."""

    name: str
    recipe: dict
    run: Callable
    module: str
    command: str

    def load(self) -> dict:
        """The recorded payload, after checking that the recipe and the code still make it."""
        return load(self.name, self.recipe, self.module)

    def stale(self) -> str | None:
        """Why the record is not what the recipe and the code make (None when it is)."""
        return stale(self.name, self.recipe, self.module)

    def make(self) -> Path:
        """Run it (2 threads, with progress bars) and save it: what ``scripts/record_*.py`` does."""
        return record(self.name, self.run, self.recipe, self.module, self.command)
