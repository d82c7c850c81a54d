"""Runs too long for a lecture, recorded: small files that a script in ``scripts/`` regenerates.

A lecture that needs a long run (thousands of training steps) loads its recorded result instead of
repeating it. Each record is two files in ``course_lib/pretrained/``: ``NAME.pt`` (tensors and numbers, read
with ``weights_only=True``) and ``NAME.json`` (the recipe, a hash of the recipe and of the source code that
made the run, the sha256 of ``NAME.pt``, the seconds it took). :func:`load` refuses a record whose recipe or
code has changed since, and says which command regenerates it; ``tests/test_recorded.py`` checks every
record without re-running it.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import json
import time
from pathlib import Path

import torch

__all__ = ["RECORDS", "source_hash", "save", "load", "record"]

RECORDS = Path(__file__).with_name("pretrained")


def source_hash(recipe: dict, code) -> str:
    """A sha256 of ``recipe`` (JSON, sorted keys) and of the source of every function or class in ``code``."""
    parts = [json.dumps(recipe, sort_keys=True)] + [inspect.getsource(obj) for obj in code]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def save(name: str, payload: dict, recipe: dict, code, command: str, seconds: float) -> Path:
    """Write ``NAME.pt`` (``payload``) and ``NAME.json`` (recipe, hashes, ``command``, ``seconds``); returns the .pt path."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    RECORDS.mkdir(exist_ok=True)
    (RECORDS / f"{name}.pt").write_bytes(data)
    manifest = {"recipe": recipe, "source_hash": source_hash(recipe, code), "sha256": hashlib.sha256(data).hexdigest(),
                "command": command, "seconds": round(seconds, 1), "kib": len(data) // 1024, "torch": torch.__version__}
    (RECORDS / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return RECORDS / f"{name}.pt"


def manifest(name: str) -> dict:
    """The ``NAME.json`` of a record."""
    path = RECORDS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no record {name!r} in {RECORDS}; make it with the script that records it")
    return json.loads(path.read_text())


def _check(name: str, recipe: dict, code) -> tuple:
    """``(why the record is stale or None, the bytes of NAME.pt)``."""
    facts = manifest(name)
    data = (RECORDS / f"{name}.pt").read_bytes()
    if facts["recipe"] != recipe:
        return f"{name} was recorded with another recipe; regenerate it with: {facts['command']}", data
    if facts["source_hash"] != source_hash(recipe, code):
        return f"the code that makes {name} has changed since it was recorded; regenerate it with: {facts['command']}", data
    if hashlib.sha256(data).hexdigest() != facts["sha256"]:
        return f"{name}.pt is not the file that was recorded; regenerate it with: {facts['command']}", data
    return None, data


def stale(name: str, recipe: dict, code) -> str | None:
    """Why the record ``name`` is not what ``recipe`` and the current ``code`` make (None when it is)."""
    return _check(name, recipe, code)[0]


def load(name: str, recipe: dict, code) -> dict:
    """The payload of the record ``name``, after checking that ``recipe`` and ``code`` still make it (the file is read
    once)."""
    reason, data = _check(name, recipe, code)
    if reason:
        raise RuntimeError(reason)
    return torch.load(io.BytesIO(data), weights_only=True)


def timed(run, *args, **kwargs) -> tuple:
    """``(run(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    return run(*args, **kwargs), time.perf_counter() - start


def record(name: str, run, recipe: dict, code, command: str) -> Path:
    """What a ``scripts/record_*.py`` does: ``run(recipe, progress=True)`` on 2 threads, timed, then :func:`save`."""
    torch.set_num_threads(2)
    payload, seconds = timed(run, recipe, progress=True)
    path = save(name, payload, recipe, code, command, seconds)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) in {seconds:.0f} s")
    return path
