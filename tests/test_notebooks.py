"""Checks over the course's own notebooks: lectures/, solutions/, exercises/ and index.ipynb.

Each notebook gets its own parametrised tests; with no notebooks yet, only the structural
checks run. Running the notebooks themselves is nbval's job (see pyproject.toml); here the
exercises are run with their stubs in place, to show that every graded test can fail.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from course_lib.tools import notebooks

ROOT = Path(__file__).resolve().parent.parent
NAMES = notebooks.notebook_names(ROOT)
NAME_PATTERN = re.compile(r"^\d{2}_\w+\.ipynb$")
EXECUTED = [f"{folder}/{name}" for folder in ("lectures", "solutions") for name in NAMES[folder]]
LINK = re.compile(r"\]\(\s*<?\s*(?:\./)?([^)\s>#]+)")  # the target of a markdown link [text](target)
ABSOLUTE_PATH = re.compile(r"""(?<![\w.~])(?:/(?:work|home|Users|root)/|[A-Za-z]:[\\/]+Users[\\/])[^\s'"`)\]]*""")
REGENERATE = "run `python course.py exercises` to regenerate the exercises"


def read(relative):
    return nbformat.read(ROOT / relative, as_version=4)


def code_cells(nb):
    return [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]


# --------------------------------------------------------------------------- structure (always runs)


def test_folders_hold_the_same_notebooks():
    for folder, names in NAMES.items():
        bad = [name for name in names if not NAME_PATTERN.match(name)]
        assert not bad, f"{folder}/ has notebooks not named NN_name.ipynb: {bad}"
    lectures, solutions, exercises = (set(NAMES[folder]) for folder in notebooks.FOLDERS)
    assert lectures == solutions, f"lectures/ and solutions/ differ: {sorted(lectures ^ solutions)}"
    assert solutions == exercises, (f"solutions/ and exercises/ differ: {sorted(solutions ^ exercises)}; "
                                    f"{REGENERATE}")


def test_index_links_every_lecture_and_exercise():
    wanted = {f"{folder}/{name}" for folder in ("lectures", "exercises") for name in NAMES[folder]}
    if not wanted:
        return
    assert (ROOT / "index.ipynb").exists(), "index.ipynb is missing at the repository root"
    index = read("index.ipynb")
    links = {unquote(target) for cell in index.cells if cell.cell_type == "markdown"
             for target in LINK.findall(cell.source)}
    missing = sorted(wanted - links)
    assert not missing, f"index.ipynb has no markdown link to: {missing}"


def test_exercises_are_in_sync_with_solutions():
    problems = notebooks.generate(ROOT, check=True)
    assert not problems, "\n".join(problems + [REGENERATE])


# --------------------------------------------------------------------------- one test per notebook


@pytest.mark.parametrize("name", NAMES["solutions"])
def test_solution_is_valid(name):
    problems = notebooks.validate_solution(read(f"solutions/{name}"))
    assert not problems, f"solutions/{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", NAMES["exercises"])
def test_exercise_is_pristine_and_clean(name):
    text = (ROOT / "exercises" / name).read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert notebooks.is_pristine(nb), f"exercises/{name} was edited after it was generated; {REGENERATE} (--force)"
    with_outputs = [index for index, cell in code_cells(nb) if cell.outputs or cell.execution_count]
    assert not with_outputs, f"exercises/{name} has stored outputs in cells {with_outputs}"
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text, f"exercises/{name} contains '{marker}'"


@pytest.mark.parametrize("relative", EXECUTED)
def test_executed_notebook_is_clean(relative):
    nb = read(relative)
    cells, problems = code_cells(nb), []
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("its kernelspec is not python3")
    if cells and not any(cell.outputs for _, cell in cells):
        problems.append("it has no stored outputs")
    counts = [cell.execution_count for _, cell in cells if cell.source.strip()]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(f"its execution counts {counts} show it was not run top to bottom in a fresh kernel")
    problems += [f"cell {index} has a stored error: {out.ename}: {out.evalue}"
                 for index, cell in cells for out in cell.outputs if out.output_type == "error"]
    problems += [f"cell {index} stores a progress bar (it would show as 0% on the site and in slides)"
                 for index, cell in cells for out in cell.outputs if notebooks.is_progress_bar(out)]
    problems += [f"cell {index} has a machine-specific absolute path: {match}"
                 for index, cell in enumerate(nb.cells) for match in ABSOLUTE_PATH.findall(cell.source)]
    assert not problems, (f"{relative}:\n" + "\n".join(problems)
                          + f"\nfix it, then re-run it with `python course.py execute {relative}`")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NAMES["exercises"])
def test_exercise_stubs_fail_every_test(name):
    problems = []
    for cell in notebooks.run_exercise(ROOT / "exercises" / name):
        grade_id = f", grade_id {cell['grade_id']!r}" if cell["grade_id"] else ""
        where = f"cell {cell['index']} ({cell['kind']}{grade_id})"
        if cell["ename"] not in (None, "NotImplementedError"):
            problems.append(f"{where} raised {cell['ename']}: {cell['evalue']} "
                            "(with the stubs in place only NotImplementedError should be raised)")
        if cell["kind"] == "test" and cell["ename"] is None:
            problems.append(f"{where} passes with the stubs in place, so it cannot tell a solution from none")
    assert not problems, f"exercises/{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", NAMES["lectures"])
def test_lectures_check_numbers_by_a_tag_students_do_not_read(name):
    nb = read(f"lectures/{name}")
    tagged = [cell for _, cell in code_cells(nb) if "nbval-check-output" in cell.metadata.get("tags", [])]
    assert tagged, f"lectures/{name}: no cell tagged nbval-check-output, so nbval compares none of its numbers"
    assert not [i for i, cell in code_cells(nb) if "NBVAL_" in cell.source], \
        f"lectures/{name}: an nbval comment in the code students read; use the cell tag nbval-check-output"
