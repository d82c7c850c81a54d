"""The student edition: what students get, without the instructor's solutions, hidden tests or grader.

``python3 course.py release DIR`` (or ``python -m course_lib.tools.release --root COURSE DIR``) writes into
the empty or new folder ``DIR``:

* ``lectures/`` and ``exercises/`` (the exercises exactly as generated, ready for the students' work);
* ``course_lib/`` without ``tools/grading``, ``tools/giveaway.py`` and this module (the checks the exercises call
  are public and stay);
* ``index.ipynb`` without its section for instructors;
* ``course.py``, ``pyproject.toml`` (its tests: the lecture notebooks), the lock file and ``environment.yml``,
  so that ``python3 course.py open`` sets up and opens the course as it does here;
* ``README.md``: the parts of this README between ``<!-- student edition -->`` and
  ``<!-- /student edition -->``.

Nothing of ``solutions/``, ``tests/``, ``benchmarks/``, ``.git`` or the grader is copied; the command checks
the result (no hidden-test marker, no solution notebook, no grader) and refuses a folder that is not empty.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from .cli import add_release_arguments

__all__ = ["release", "student_readme", "main"]

TOP_FILES = ("course.py", "requirements-lock.txt", "requirements.in", "environment.yml")
LEFT_OUT = ("tools/grading", "tools/release.py", "tools/giveaway.py")   # inside course_lib: the instructor's tools
BEGIN, END = "<!-- student edition -->", "<!-- /student edition -->"


def student_readme(readme: str) -> str:
    """The parts of the README marked for students, joined."""
    parts = re.findall(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), readme, flags=re.S)
    if not parts:
        raise ValueError(f"README.md marks no part for students ({BEGIN} ... {END})")
    return "\n".join(part.strip("\n") + "\n" for part in parts)


def _ignore(folder: str, names: list[str]) -> set:
    skipped = {n for n in names if n in ("__pycache__", ".ipynb_checkpoints", ".backup") or n.endswith(".pyc")}
    return skipped | {n for n in names
                      if (Path(folder) / n).as_posix().endswith(tuple(f"course_lib/{p}" for p in LEFT_OUT))}


def release(root: Path, dest: Path) -> list[Path]:
    """Write the student edition of the course at ``root`` into ``dest``; the files written."""
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or root in dest.parents:
        raise ValueError(f"{dest} is inside the course folder: write the student edition elsewhere")
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty: the student edition is written into a new or empty folder")
    dest.mkdir(parents=True, exist_ok=True)
    for folder in ("lectures", "exercises", "course_lib"):
        shutil.copytree(root / folder, dest / folder, ignore=_ignore)
    for name in TOP_FILES:
        if (root / name).exists():
            shutil.copy2(root / name, dest / name)
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    pyproject, count = re.subn(r'testpaths = \[[^\]]*\]', 'testpaths = ["lectures"]', pyproject)
    if count != 1:
        raise ValueError("pyproject.toml has no testpaths line to adapt")
    (dest / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    index = json.loads((root / "index.ipynb").read_text(encoding="utf-8"))
    index["cells"] = [c for c in index["cells"]
                      if not "".join(c.get("source", [])).lstrip().startswith("## For instructors")]
    (dest / "index.ipynb").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "README.md").write_text(student_readme((root / "README.md").read_text(encoding="utf-8")), encoding="utf-8")
    written = sorted(p for p in dest.rglob("*") if p.is_file())
    _check(dest, written)
    return written


def _check(dest: Path, written: list[Path]) -> None:
    """What must not be in a student edition is not there."""
    problems = [f"{p.relative_to(dest)} holds hidden tests" for p in written
                if p.suffix in (".ipynb", ".py", ".md") and "BEGIN HIDDEN TESTS" in p.read_text(encoding="utf-8")
                and p.name != "notebooks.py"]
    problems += [f"{p} is there" for p in ("solutions", "tests", "course_lib/tools/grading") if (dest / p).exists()]
    if problems:
        raise RuntimeError("the student edition is not clean: " + "; ".join(problems))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python course.py release", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: the current one)")
    add_release_arguments(parser)
    args = parser.parse_args(argv)
    try:
        written = release(args.root, args.dest)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 2
    print(f"the student edition is in {args.dest} ({len(written)} files): lectures, exercises, course_lib without "
          "the grader, README.md for students. Hand out that folder, never the course repository.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
