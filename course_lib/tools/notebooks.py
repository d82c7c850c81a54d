"""Exercise notebooks generated from solution notebooks, and notebook execution.

``solutions/NN_name.ipynb`` is the single source of each exercise. Its cells use the
nbgrader conventions:

* a solution code cell (nbgrader metadata ``solution: true``) holds one or more blocks
  ``### BEGIN SOLUTION`` ... ``### END SOLUTION``; lines ``### HINT: text`` inside a
  block give the hint shown to the student in place of the block;
* a markdown answer cell holds the same kind of block around the model answer;
* a graded test cell (``grade: true``, with ``points`` and ``grade_id``) may hold
  ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks.

:func:`make_exercise` turns a solution notebook into the student's copy, and
:func:`generate` writes ``exercises/NN_name.ipynb`` -- never over a copy that somebody
has edited since it was generated (see :func:`is_pristine`), unless forced, and then
only after a backup. The helpers that read cells (:func:`cell_source`, :func:`nbgrader_metadata`,
:func:`marker_blocks`, :func:`strip_solution_blocks`) are public: the autograder uses them too.
From the command line, in the course folder or with ``--root`` naming it::

    python -m course_lib.tools.notebooks [--root DIR] generate [--check] [--force] [names...]
    python -m course_lib.tools.notebooks [--root DIR] execute [paths...]
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat

from .cli import add_execute_arguments, add_exercises_arguments

__all__ = ["merge_answers", "merge_file", "course_metadata", "cell_source", "nbgrader_metadata", "marker_blocks",
           "strip_solution_blocks", "canonical", "make_exercise", "is_pristine", "validate_solution", "notebook_names",
           "generate", "execute", "run_exercise", "main"]

FOLDERS = ("lectures", "solutions", "exercises")
KINDS = ("SOLUTION", "HIDDEN TESTS")  # the marker blocks: ### BEGIN <kind> ... ### END <kind>
HINT = "### HINT:"
DEFAULT_HINT = "Replace this line with your code."
CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled")
INTRO_ID = "exercise-intro"
INTRO = (
    "**This is your exercise notebook**, generated from the solution notebook `{source}`.\n\n"
    "Write your code wherever `# YOUR CODE HERE` stands, replacing the "
    "`raise NotImplementedError(...)` line below it (its message is a hint){answers}. Run the notebook from top to "
    "bottom: the test cells after each exercise give you feedback, and pass once your solution works.\n\n"
    "This copy is yours: regenerating the exercises never overwrites a notebook you have changed."
)
#: What the intro adds when the exercise has written answers (markdown answer cells).
INTRO_ANSWERS = ", and your answer wherever *YOUR ANSWER HERE* stands"


# --------------------------------------------------------------------------- reading cells (also used by the grader)


def cell_source(cell) -> str:
    """The source of a cell as one string (nbformat may hold it as a list of lines; anything else counts as empty)."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else ""


def course_metadata(nb) -> dict:
    """The notebook's "course" metadata ({} when it has none, or when what it has is not a mapping)."""
    metadata = nb.get("metadata", {}) if isinstance(nb, dict) else {}
    course = metadata.get("course", {}) if isinstance(metadata, dict) else {}
    return course if isinstance(course, dict) else {}


def nbgrader_metadata(cell) -> dict:
    """The cell's nbgrader metadata ({} when it has none, or when what it has is not a mapping)."""
    metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nbgrader = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return nbgrader if isinstance(nbgrader, dict) else {}


def _describe(index: int, cell) -> str:
    """'cell 3' or 'cell 3 (grade_id "ex1")', for messages."""
    grade_id = nbgrader_metadata(cell).get("grade_id")
    return f'cell {index} (grade_id "{grade_id}")' if grade_id else f"cell {index}"


def _marker(line: str):
    """('BEGIN' | 'END', kind) when the line is a block marker, else None.

    As in nbgrader, a line is a marker when it contains the delimiter, e.g. "BEGIN SOLUTION".
    """
    for kind in KINDS:
        for action in ("BEGIN", "END"):
            if f"{action} {kind}" in line:
                return action, kind
    return None


def marker_blocks(source: str) -> list[tuple[str, int, int]]:
    """The marker blocks of a cell source.

    Parameters
    ----------
    source : str
        The cell's source.

    Returns
    -------
    list of (kind, first, last)
        ``kind`` is "SOLUTION" or "HIDDEN TESTS"; ``first`` and ``last`` are the line
        numbers (from 0) of the BEGIN and END markers.

    Raises
    ------
    ValueError
        For an END without its BEGIN, a BEGIN inside an open block, or a block never closed.
    """
    blocks, open_kind, first = [], None, 0
    for number, line in enumerate(source.split("\n")):
        marker = _marker(line)
        if marker is None:
            continue
        action, kind = marker
        if action == "BEGIN" and open_kind:
            raise ValueError(f"line {number + 1}: '### BEGIN {kind}' inside the open "
                             f"'### BEGIN {open_kind}' block of line {first + 1} (blocks cannot nest)")
        if action == "BEGIN":
            open_kind, first = kind, number
        elif kind != open_kind:
            raise ValueError(f"line {number + 1}: '### END {kind}' without a '### BEGIN {kind}' before it")
        else:
            blocks.append((kind, first, number))
            open_kind = None
    if open_kind:
        raise ValueError(f"line {first + 1}: '### BEGIN {open_kind}' is never closed "
                         f"by '### END {open_kind}'")
    return blocks


def _code_stub(block: list[str]) -> list[str]:
    """The two stub lines replacing a code solution block, at its BEGIN marker's indentation."""
    indent = block[0][: len(block[0]) - len(block[0].lstrip())]
    hints = [line.strip()[len(HINT):].strip() for line in block if line.strip().startswith(HINT)]
    hint = " ".join(hints) or DEFAULT_HINT
    # A JSON string literal is also a valid Python one, with quotes and backslashes escaped.
    literal = json.dumps(hint, ensure_ascii=False)
    return [f"{indent}{CODE_STUB}", f"{indent}raise NotImplementedError({literal})"]


def strip_solution_blocks(source: str, cell_type: str) -> str:
    """The source as the exercise gets it: solution blocks replaced by stubs, hidden-test blocks removed.

    Parameters
    ----------
    source : str
        A cell's source.
    cell_type : str
        "code" (a block becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError("<hint>")``)
        or "markdown" (a block becomes ``YOUR ANSWER HERE``).

    Raises
    ------
    ValueError
        When the markers are unbalanced or nested (see :func:`marker_blocks`).
    """
    lines = source.split("\n")
    kept, end = [], 0
    for kind, first, last in marker_blocks(source):
        kept += lines[end:first]
        if kind == "SOLUTION":
            kept += _code_stub(lines[first:last + 1]) if cell_type == "code" else [TEXT_STUB]
        end = last + 1
    return "\n".join(kept + lines[end:])


def _clean_cell(cell) -> None:
    """Drop outputs, execution count and volatile metadata of a cell, in place."""
    for key in VOLATILE_CELL_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def _sha256(nb) -> str:
    """The sha256 of the canonical text of a notebook, its "course" metadata left out."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("course", None)
    return hashlib.sha256(canonical(nb).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- public API


def canonical(nb) -> str:
    """The canonical text of a notebook: how every notebook file here is written.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook.

    Returns
    -------
    str
        ``nbformat.writes(nb, version=4)``, ending with a newline.
    """
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def make_exercise(solution_nb, name: str | None = None):
    """The student's exercise notebook made from a solution notebook.

    Parameters
    ----------
    solution_nb : nbformat.NotebookNode
        The solution notebook (left unchanged).
    name : str, optional
        Its file name, e.g. "03_deblurring.ipynb", recorded as ``solutions/<name>``.

    Returns
    -------
    nbformat.NotebookNode
        A copy where each code solution block became ``# YOUR CODE HERE`` and
        ``raise NotImplementedError("<hint>")``, each markdown solution block became
        ``YOUR ANSWER HERE``, hidden-test blocks are gone, outputs are cleared, and a
        first markdown cell introduces the notebook. Its metadata "course" holds
        "generated_from" and "sha256" (see :func:`is_pristine`), and the solution's "forbidden":
        the library names the student's code may not use (see :mod:`course_lib.checks.own_work`).

    Raises
    ------
    ValueError
        When a cell's markers are unbalanced or nested.
    """
    nb = copy.deepcopy(solution_nb)
    source = f"solutions/{name}" if name else "the solution notebook"
    forbidden = course_metadata(nb).get("forbidden")
    for key in ("widgets", "course"):
        nb.metadata.pop(key, None)
    nb.nbformat_minor = max(nb.get("nbformat_minor", 0), 5)  # 4.5 is where cells have ids
    answers = False
    for index, cell in enumerate(nb.cells):
        try:
            answers |= cell.cell_type == "markdown" and any(
                kind == "SOLUTION" for kind, _, _ in marker_blocks(cell_source(cell)))
            cell.source = strip_solution_blocks(cell_source(cell), cell.cell_type)
        except ValueError as error:
            raise ValueError(f"{source}, {_describe(index, cell)}: {error}") from None
        _clean_cell(cell)
        cell.setdefault("id", f"cell-{index}")  # deterministic ids for notebooks from nbformat 4.4
    intro = nbformat.v4.new_markdown_cell(INTRO.format(source=source, answers=INTRO_ANSWERS if answers else ""))
    intro.id = INTRO_ID
    nb.cells.insert(0, intro)
    nb.metadata["course"] = {"generated_from": f"solutions/{name}" if name else None,
                             "sha256": _sha256(nb)}
    if forbidden:
        nb.metadata["course"]["forbidden"] = list(forbidden)
    return nb


def is_pristine(exercise_nb) -> bool:
    """Whether an exercise notebook is exactly as :func:`make_exercise` made it.

    Parameters
    ----------
    exercise_nb : nbformat.NotebookNode
        An exercise notebook, e.g. read from ``exercises/``.

    Returns
    -------
    bool
        True when its stored metadata "course"/"sha256" equals the hash of its content
        now; False after any edit (a student's work), or without that metadata.
    """
    stored = course_metadata(exercise_nb).get("sha256")
    return stored is not None and stored == _sha256(exercise_nb)


def validate_solution(nb) -> list[str]:
    """The problems that keep a solution notebook from being a source of exercises.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A solution notebook.

    Returns
    -------
    list of str
        One plain sentence per problem (empty when the notebook is fine): unbalanced or
        nested markers; a solution block in a cell not marked ``solution: true`` (or such
        a cell without a block); a graded cell without ``grade_id`` or positive
        ``points``; duplicate grade_ids; no solution block or no graded test cell at all;
        a kernel other than "python3".
    """
    problems, grade_ids = [], {}
    has_solution = has_test = False
    for index, cell in enumerate(nb.cells):
        where, meta = _describe(index, cell), nbgrader_metadata(cell)
        try:
            kinds = {kind for kind, _, _ in marker_blocks(cell_source(cell))}
        except ValueError as error:
            problems.append(f"{where}: {error}")
            kinds = set()
        if "SOLUTION" in kinds and meta.get("solution") is not True:
            problems.append(f"{where} has a '### BEGIN SOLUTION' block, but its nbgrader "
                            "metadata does not say solution: true")
        if meta.get("solution") is True and "SOLUTION" not in kinds:
            problems.append(f"{where} is marked solution: true, but has no "
                            "'### BEGIN SOLUTION' ... '### END SOLUTION' block")
        has_solution |= "SOLUTION" in kinds
        if meta.get("grade") is True:
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                problems.append(f"{where} is graded (grade: true) but has points {points!r}; "
                                "expected a positive number")
            has_test |= cell.cell_type == "code" and meta.get("solution") is not True
        if (meta.get("grade") or meta.get("solution")) and not meta.get("grade_id"):
            problems.append(f"{where} has nbgrader grade or solution set but no grade_id")
        if meta.get("grade_id"):
            grade_ids.setdefault(meta["grade_id"], []).append(index)
    problems += [f'grade_id "{grade_id}" is used by several cells: {", ".join(map(str, cells))}'
                 for grade_id, cells in grade_ids.items() if len(cells) > 1]
    if not has_solution:
        problems.append("the notebook has no '### BEGIN SOLUTION' block: the exercise would have nothing to do")
    if not has_test:
        problems.append("the notebook has no graded test cell (a code cell with nbgrader grade: true)")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f'the kernelspec name is {kernel!r}; expected "python3"')
    return problems


def notebook_names(root) -> dict[str, list[str]]:
    """The notebook file names in lectures/, solutions/ and exercises/ of a course folder.

    Parameters
    ----------
    root : str or Path
        The course folder.

    Returns
    -------
    dict
        Folder name -> sorted list of ``*.ipynb`` basenames directly in it (so
        .ipynb_checkpoints/ and exercises/.backup/ are not included).
    """
    root = Path(root)
    return {folder: sorted(path.name for path in (root / folder).glob("*.ipynb")) for folder in FOLDERS}


def _pristine_file(path: Path) -> bool:
    """Whether the exercise file at path is a readable notebook that :func:`is_pristine` accepts."""
    try:
        return is_pristine(nbformat.read(path, as_version=4))
    except Exception:  # a file broken by hand is still somebody's work
        return False


def _backup(path: Path) -> Path:
    """Copy an exercise to exercises/.backup/<stem>.<YYYYmmdd-HHMMSS>.ipynb; never overwrites."""
    folder = path.parent / ".backup"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    data, number = path.read_bytes(), 0
    while True:
        suffix = f"-{number}" if number else ""
        target = folder / f"{path.stem}.{stamp}{suffix}.ipynb"
        try:
            with open(target, "xb") as file:  # "x": fails rather than overwrite
                file.write(data)
            return target
        except FileExistsError:
            number += 1


def _normalise(name: str) -> str:
    """'03_x', 'solutions/03_x.ipynb' -> '03_x.ipynb'."""
    name = Path(name).name
    return name if name.endswith(".ipynb") else name + ".ipynb"


def generate(root, names=None, force=False, check=False) -> list[str]:
    """Generate (or check) exercises/<name> from solutions/<name>.

    Parameters
    ----------
    root : str or Path
        The course folder (holding solutions/ and exercises/).
    names : list of str, optional
        Notebook names such as "03_deblurring.ipynb" (default: every solution notebook).
    force : bool
        Overwrite exercises that were edited since they were generated, after copying
        each to ``exercises/.backup/<stem>.<YYYYmmdd-HHMMSS>.ipynb``.
    check : bool
        Write nothing; report every exercise that is missing, out of date, edited, or
        without a solution notebook, and every invalid solution notebook.

    Returns
    -------
    list of str
        With ``check``: the problems (empty when all is in order). Otherwise what was
        done: "wrote ...", "backed up ...", notes, and "refused ..." for each solution
        notebook that is invalid or exercise that was left alone because it was edited.
    """
    root = Path(root)
    solutions, exercises = root / "solutions", root / "exercises"
    if names is None:
        names = notebook_names(root)["solutions"]
        orphans = sorted(set(notebook_names(root)["exercises"]) - set(names))
    else:
        names, orphans = [_normalise(name) for name in names], []
    messages = [f"{'' if check else 'note: '}exercises/{name} has no solution notebook solutions/{name}; "
                "add it or delete the exercise" for name in orphans]
    for name in names:
        messages += _generate_one(solutions / name, exercises / name, force, check)
    return messages


def _generate_one(solution: Path, exercise: Path, force: bool, check: bool) -> list[str]:
    """The messages of :func:`generate` for one notebook."""
    name, refused = solution.name, "" if check else "refused: "
    if not solution.exists():
        return [f"{refused}solutions/{name} does not exist"]
    try:
        solution_nb = nbformat.read(solution, as_version=4)
    except Exception as error:
        return [f"{refused}solutions/{name} cannot be read as a notebook: {type(error).__name__}: {error}"]
    problems = validate_solution(solution_nb)
    if problems:
        return [f"{refused}solutions/{name} is not a valid solution notebook: {p}" for p in problems]
    text = canonical(make_exercise(solution_nb, name))
    exists = exercise.exists()
    if exists and exercise.read_bytes().replace(b"\r\n", b"\n") == text.encode("utf-8"):  # (git on Windows)
        return []
    edited = exists and not _pristine_file(exercise)
    if check and not exists:
        return [f"exercises/{name} is missing"]
    if check:
        why = "has been edited since it was generated" if edited else "is out of date"
        return [f"exercises/{name} {why}: it differs from what solutions/{name} generates"]
    if edited and not force:
        return [f"refused: exercises/{name} has been edited since it was generated (a student's work?); "
                "left as is. Use --force to back it up and regenerate it."]
    messages = []
    if edited:
        backup = _backup(exercise)
        messages.append(f"backed up the edited exercises/{name} to exercises/.backup/{backup.name}")
    exercise.parent.mkdir(exist_ok=True)
    exercise.write_text(text, encoding="utf-8", newline="\n")
    return messages + [f"wrote exercises/{name}"]


def _is_exercise(path) -> bool:
    """Whether a path lies in an exercises/ folder."""
    return "exercises" in Path(path).resolve().parent.parts


def _client(nb, path: Path, timeout: int, allow_errors: bool):
    """An nbclient client running nb with the python3 kernel in the notebook's folder."""
    from nbclient import NotebookClient

    return NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                          record_timing=False, resources={"metadata": {"path": str(path.parent)}})


PROGRESS_BAR = re.compile(r"\d+%\|")


def is_progress_bar(output) -> bool:
    """Whether a stored output is a tqdm progress bar: a widget whose text form is the bar
    (``"training:  0%| | 0/250"``).

    A finished bar closes in a live notebook, but its stored output keeps the bar's first state, which a reader
    (or the site, or a slide) would see as "0%": :func:`execute` drops them."""
    data = output.get("data", {})
    text = data.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return "application/vnd.jupyter.widget-view+json" in data and bool(PROGRESS_BAR.search(text))


def execute(path, timeout=600) -> None:
    """Run a lecture or solution notebook top to bottom and store its outputs in place.

    Parameters
    ----------
    path : str or Path
        The notebook; not one under exercises/.
    timeout : int
        Seconds allowed per cell.

    Raises
    ------
    ValueError
        For a notebook under exercises/: those are student work and carry no outputs.
    RuntimeError
        When a cell raises or times out; the file is then left unchanged.
    """
    path = Path(path)
    if _is_exercise(path):
        raise ValueError(f"{path} is an exercise notebook: exercises are student work and are never "
                         "executed in place (use run_exercise to test one)")
    try:
        nb = nbformat.read(path, as_version=4)
        _client(nb, path, timeout, allow_errors=False).execute()
    except Exception as error:  # not a notebook, or a cell raised, timed out, or the kernel died
        raise RuntimeError(f"{path} failed ({type(error).__name__}); the file was left unchanged.\n"
                           f"{error}") from None
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if not is_progress_bar(out)]
    path.write_text(canonical(nb), encoding="utf-8", newline="\n")


def run_exercise(path, timeout=600) -> list[dict]:
    """Run an exercise notebook in memory (the file is never written) and report each code cell.

    Parameters
    ----------
    path : str or Path
        The exercise notebook; it runs in its own folder, errors allowed.
    timeout : int
        Seconds allowed per cell.

    Returns
    -------
    list of dict
        Per code cell: "index" (among all cells), "kind" ("solution", "test" for a graded
        cell, or "other"), "grade_id" (or None), "ename" and "evalue" of the error it
        raised (None when it raised none).
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    _client(nb, path, timeout, allow_errors=True).execute()
    report = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = nbgrader_metadata(cell)
        kind = "solution" if meta.get("solution") else "test" if meta.get("grade") else "other"
        error = next((out for out in cell.outputs if out.output_type == "error"), None)
        report.append({"index": index, "kind": kind, "grade_id": meta.get("grade_id"),
                       "ename": error.ename if error else None, "evalue": error.evalue if error else None})
    return report


# --------------------------------------------------------------------------- a revised exercise


def merge_answers(old_nb, new_nb) -> tuple:
    """A student's answers carried into a revised exercise: ``(notebook, notes)``.

    Every solution cell of ``new_nb`` (the current exercise) whose ``grade_id`` the student's ``old_nb`` also
    has takes the student's source; everything else is the new version's. Answers whose ``grade_id`` the new
    version no longer has, and cells the student added, are appended at the end under a heading, so that
    nothing the student wrote is lost. Neither notebook is changed.
    """
    nb = copy.deepcopy(new_nb)
    answers, extra = {}, []
    new_ids = {c.get("id") for c in new_nb.cells}
    for cell in old_nb.get("cells", []):
        meta = nbgrader_metadata(cell)
        if meta.get("solution") and meta.get("grade_id"):
            answers.setdefault(meta["grade_id"], cell)
        elif not meta and cell.get("id") not in new_ids and cell.get("id") != INTRO_ID:
            extra.append(cell)                       # a cell the student added
    notes, placed = [], set()
    for cell in nb.cells:
        meta = nbgrader_metadata(cell)
        grade_id = meta.get("grade_id")
        if meta.get("solution") and grade_id in answers and cell.cell_type == answers[grade_id].get("cell_type"):
            mine = cell_source(answers[grade_id])
            if mine != cell_source(cell):
                cell.source = mine
                notes.append(f'carried your answer "{grade_id}"')
            placed.add(grade_id)
    left = [cell for grade_id, cell in answers.items() if grade_id not in placed]
    if left or extra:
        heading = nbformat.v4.new_markdown_cell(
            "## From your earlier version\n\nThese cells of your notebook have no place in the revised exercise "
            "(their exercise was renamed or removed, or you added them): they are kept here for you.")
        heading.id = "merged-from-earlier-version"
        nb.cells.append(heading)
        for cell in left + extra:
            kept = copy.deepcopy(cell)
            kept.setdefault("metadata", {}).pop("nbgrader", None)   # no longer graded: plain cells
            kept["id"] = f"earlier-{len(nb.cells)}"
            nb.cells.append(nbformat.from_dict(kept))
        notes += [f'kept your cell "{nbgrader_metadata(c).get("grade_id") or c.get("id")}" at the end'
                  for c in left + extra]
    nb.metadata.setdefault("course", {})["merged_from_earlier_version"] = True
    return nb, notes


def merge_file(old: Path, root: Path, out: Path | None = None) -> tuple:
    """Write ``old`` (a student's notebook of an earlier version of an exercise) merged into the current
    ``exercises/`` notebook of the same name (or ``generated_from``); returns ``(path written, notes)``.
    ``old`` is only read; ``out`` defaults to ``<old stem>.merged.ipynb`` beside it and is never overwritten."""
    old, root = Path(old), Path(root)
    old_nb = nbformat.read(old, as_version=4)
    generated = Path(course_metadata(old_nb).get("generated_from") or "").name
    candidates = [root / "exercises" / name for name in (generated, old.name) if name]
    current = next((p for p in candidates if p.is_file()), None)
    if current is None:
        raise ValueError(f"{old.name}: no exercise of that name in {root / 'exercises'}")
    out = Path(out) if out is not None else old.with_name(f"{old.stem}.merged.ipynb")
    if out.exists():
        raise ValueError(f"{out} exists: it is not overwritten (move it away or pass another --out)")
    nb, notes = merge_answers(old_nb, nbformat.read(current, as_version=4))
    out.write_text(canonical(nb), encoding="utf-8", newline="\n")
    return out, notes


# --------------------------------------------------------------------------- command line


def _execute_all(root: Path, paths: list[str]) -> int:
    """The execute command: run the notebooks, then regenerate the exercises; an exit status."""
    root = root.resolve()
    paths = [Path(p) for p in paths] or [path for folder in ("lectures", "solutions")
                                         for path in sorted((root / folder).glob("*.ipynb"))]
    failed = []
    for number, path in enumerate(paths, 1):
        shown = path.resolve().relative_to(root) if path.resolve().is_relative_to(root) else path
        print(f"[{number}/{len(paths)}] {shown} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            execute(path)
            print(f"{time.perf_counter() - start:.1f} s", flush=True)
        except (ValueError, RuntimeError) as error:  # report it, and go on with the other notebooks
            print(f"FAILED after {time.perf_counter() - start:.1f} s", flush=True)
            failed.append(str(error))
    messages = generate(root)
    for message in failed + messages:
        print(message)
    return 1 if failed or any(m.startswith("refused") for m in messages) else 0


def main(argv=None) -> int:
    """The command line; see the module docstring. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.notebooks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder); before the command")
    commands = parser.add_subparsers(dest="command", required=True)
    add_exercises_arguments(commands.add_parser("generate", help="write exercises/ from solutions/"))
    add_execute_arguments(commands.add_parser("execute",
                                              help="run lectures/ and solutions/ in place, then regenerate exercises"))
    args = parser.parse_args(argv)
    if args.command == "execute":
        return _execute_all(args.root, args.paths)
    if args.merge is not None:
        try:
            out, notes = merge_file(args.merge, args.root, args.out)
        except (ValueError, OSError) as error:
            print(f"merge failed: {error}", file=sys.stderr)
            return 2
        print("\n".join(notes + [f"wrote {out} ({args.merge} is unchanged)"]))
        return 0
    messages = generate(args.root, args.names or None, force=args.force, check=args.check)
    print("\n".join(messages or ["the exercises are up to date"]))
    if args.check and messages:
        print("run `python course.py exercises` to regenerate them "
              "(`python course.py exercises --force` for edited ones: they are backed up first)")
        return 1
    return 1 if any(m.startswith("refused") for m in messages) else 0


if __name__ == "__main__":
    sys.exit(main())
