"""From a submitted file to the notebook that is run, and what of the instructor's tests must stay hidden.

:func:`assemble` takes **only the student's solution cells** (matched by nbgrader ``grade_id``, else
by cell id) into a copy of the instructor's solution notebook, so edited, deleted or reordered
test cells of a submission change nothing and the hidden tests run. :func:`split_test` separates
a test cell's visible code from its hidden tests; :func:`hidden_fragments` and :func:`redact`
keep the hidden tests' source out of any message.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from ..notebooks import cell_source, marker_blocks, nbgrader_metadata, strip_solution_blocks

__all__ = ["REDACTED", "read_notebook", "split_test", "student_cells", "assemble", "hidden_fragments", "redact"]

REDACTED = "[hidden]"


def read_notebook(path: Path):
    """The notebook at ``path``, or raise ValueError saying why it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"could not read the file ({type(error).__name__})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for non-notebooks
        raise ValueError(f"the file is not a Jupyter notebook ({type(error).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("the file is not a Jupyter notebook (no list of cells)")
    return nb


def split_test(source: str) -> tuple[str, str]:
    """A test cell's (visible code, hidden code): the hidden-test blocks' lines, markers dropped."""
    lines = source.split("\n")           # as marker_blocks counts lines (splitlines would also split at \x0c, \x85...)
    hidden_lines = set()
    for kind, begin, end in marker_blocks(source):
        if kind == "HIDDEN TESTS":
            hidden_lines.update(range(begin, end + 1))
    visible = [line for i, line in enumerate(lines) if i not in hidden_lines]
    hidden = [line for i, line in enumerate(lines) if i in hidden_lines and "HIDDEN TESTS" not in line]
    return "\n".join(visible), "\n".join(hidden)


def student_cells(nb) -> tuple[dict, dict, list]:
    """The submission's code cells by grade_id and by cell id, and notes on duplicates."""
    by_grade_id, by_id, notes = {}, {}, []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id:
            if grade_id in by_grade_id:
                notes.append(f'Several of your cells carry grade_id "{grade_id}"; the first one was graded.')
            else:
                by_grade_id[grade_id] = cell
        if isinstance(cell.get("id"), str) and cell["id"]:
            by_id.setdefault(cell["id"], cell)
    return by_grade_id, by_id, notes


def assemble(source_nb, submission_nb) -> tuple:
    """The notebook to run: the instructor's source with the student's solution cells in it.

    Returns ``(notebook, notes)``. A solution cell missing from the submission is replaced by
    the exercise's stub (it raises NotImplementedError), and a note says so.
    """
    nb = copy.deepcopy(source_nb)
    by_grade_id, by_id, notes = student_cells(submission_nb)
    for cell in nb.cells:
        meta = nbgrader_metadata(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        mine = by_grade_id.get(grade_id) or by_id.get(cell.get("id"))
        if mine is None:
            cell.source = strip_solution_blocks(cell_source(cell), "code")
            notes.append(f'Your notebook has no cell "{grade_id}": it was graded as not done.')
        else:
            cell.source = cell_source(mine)
    return nb, notes


def hidden_fragments(source_nb) -> list[str]:
    """The stripped lines of all hidden tests, longest first (short ones such as ')' are skipped)."""
    lines = set()
    for cell in source_nb.cells:
        if cell.cell_type == "code" and nbgrader_metadata(cell).get("grade"):
            lines.update(line.strip() for line in split_test(cell_source(cell))[1].splitlines())
    return sorted((line for line in lines if len(line) >= 6), key=len, reverse=True)


def redact(text: str, hidden: list[str]) -> str:
    """``text`` with every hidden line (stripped, see :func:`hidden_fragments`) replaced by [hidden]."""
    for line in hidden:
        if line in text:
            text = text.replace(line, REDACTED)
    return text
