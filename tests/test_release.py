"""The student edition, and a student's answers carried into a revised exercise."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.tools.notebooks import merge_answers, merge_file, nbgrader_metadata
from course_lib.tools.release import release, student_readme

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("edition") / "students"
    release(ROOT, dest)
    return dest


def test_the_student_edition_has_what_students_need_and_nothing_else(edition):
    for needed in ("course.py", "pyproject.toml", "requirements-lock.txt", "environment.yml", "index.ipynb",
                   "README.md", "course_lib/checks/lecture01.py", "course_lib/checks/boundary.py"):
        assert (edition / needed).is_file(), needed
    assert sorted(p.name for p in (edition / "exercises").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    assert sorted(p.name for p in (edition / "lectures").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))
    for absent in ("solutions", "tests", "benchmarks", ".git", "course_lib/tools/grading", ".venv"):
        assert not (edition / absent).exists(), absent
    texts = {p: p.read_text(errors="ignore") for p in edition.rglob("*")
             if p.is_file() and p.suffix in (".ipynb", ".py", ".md")}
    hidden = [line.strip() for path in (ROOT / "solutions").glob("*.ipynb")
              for c in nbformat.read(path, as_version=4).cells if nbgrader_metadata(c).get("grade")
              for line in c.source.split("### BEGIN HIDDEN TESTS")[-1].splitlines()[1:] if len(line.strip()) > 30]
    public = "".join(p.read_text() for folder in ("exercises", "lectures", "course_lib")
                     for p in (ROOT / folder).rglob("*") if p.suffix in (".ipynb", ".py"))
    hidden = [line for line in hidden if line not in public]          # what only the hidden tests hold
    assert len(hidden) > 20
    for path, text in texts.items():
        if path.name != "notebooks.py":
            assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
        for line in hidden:
            assert line not in text, (path, line)
    readme = (edition / "README.md").read_text()
    assert "For students" in readme and "For instructors" not in readme and "--no-sandbox" not in readme
    assert "For instructors" not in (edition / "index.ipynb").read_text()
    assert 'testpaths = ["lectures"]' in (edition / "pyproject.toml").read_text()


def test_the_student_edition_imports_its_own_library(edition):
    code = "import course_lib, course_lib.checks; print(course_lib.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=edition, capture_output=True, text=True,
                         env={"PYTHONPATH": str(edition), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.strip().startswith(str(edition))
    said = subprocess.run([sys.executable, str(edition / "course.py"), "grade", "x"], capture_output=True, text=True)
    assert said.returncode == 2 and "student edition" in said.stdout + said.stderr


def test_release_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "mine.txt").write_text("a student's file")
    with pytest.raises(ValueError, match="not empty"):
        release(ROOT, tmp_path)
    with pytest.raises(ValueError, match="inside the course folder"):
        release(ROOT, ROOT / "students")
    assert (tmp_path / "mine.txt").read_text() == "a student's file"
    with pytest.raises(ValueError, match="marks no part"):
        student_readme("# no markers")


def test_merge_carries_answers_by_grade_id_and_keeps_the_rest(tmp_path):
    current = nbformat.read(ROOT / "exercises" / "01_inverse_problems.ipynb", as_version=4)
    old = nbformat.read(ROOT / "exercises" / "01_inverse_problems.ipynb", as_version=4)
    answers = {}
    for cell in old.cells:
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if nbgrader_metadata(cell).get("solution"):
            cell.source = f"# my answer to {grade_id}\n"
            answers[grade_id] = cell.source
    gone = next(c for c in old.cells if nbgrader_metadata(c).get("grade_id") == "fista")
    gone.metadata["nbgrader"]["grade_id"] = "fista_old_name"          # renamed in the revision
    mine = nbformat.v4.new_code_cell("scratch = 42  # a cell I added")
    mine.id = "my-own-cell"
    old.cells.append(mine)
    path = tmp_path / "01_inverse_problems.ipynb"
    nbformat.write(old, path)
    before = path.read_bytes()
    out, notes = merge_file(path, ROOT)
    assert out == tmp_path / "01_inverse_problems.merged.ipynb" and path.read_bytes() == before
    merged = nbformat.read(out, as_version=4)
    by_id = {nbgrader_metadata(c).get("grade_id"): c.source
             for c in merged.cells if nbgrader_metadata(c).get("solution")}
    for grade_id in ("soft_threshold", "integrate_adjoint", "ista"):
        assert by_id[grade_id] == answers[grade_id]
    assert "raise NotImplementedError" in by_id["fista"]                 # the new version's stub stays
    tail = "".join(c.source for c in merged.cells[-3:])
    assert "# my answer to fista" in tail and "scratch = 42" in tail and "From your earlier version" in tail
    assert len(merged.cells) == len(current.cells) + 3
    with pytest.raises(ValueError, match="not overwritten"):
        merge_file(path, ROOT)
    same, _ = merge_answers(current, current)
    assert [c.source for c in same.cells] == [c.source for c in current.cells]


def test_merge_from_the_command_line(tmp_path):
    path = tmp_path / "01_inverse_problems.ipynb"
    path.write_text((ROOT / "exercises" / "01_inverse_problems.ipynb").read_text())
    done = subprocess.run([sys.executable, "-m", "course_lib.tools.notebooks", "--root", str(ROOT), "generate",
                           "--merge", str(path), "--out", str(tmp_path / "new.ipynb")], capture_output=True, text=True)
    assert done.returncode == 0 and (tmp_path / "new.ipynb").exists(), done.stderr
    assert json.loads((tmp_path / "new.ipynb").read_text())["metadata"]["course"]["merged_from_earlier_version"]
