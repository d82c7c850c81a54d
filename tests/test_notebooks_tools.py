"""Unit tests of course_lib.tools.notebooks on tiny notebooks built in a temporary course folder."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbformat import v4

from course_lib.tools import notebooks

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def solution_cell(source, grade_id):
    cell = v4.new_code_cell(source)
    cell.metadata.nbgrader = {"grade": False, "grade_id": grade_id, "locked": False,
                              "schema_version": 3, "solution": True, "task": False}
    return cell


def graded_cell(source, grade_id, points=1):
    cell = v4.new_code_cell(source)
    cell.metadata.nbgrader = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                              "schema_version": 3, "solution": False, "task": False}
    return cell


def notebook(*cells):
    return v4.new_notebook(cells=list(cells), metadata={"kernelspec": dict(KERNELSPEC)})


def solution_notebook():
    """A valid solution notebook: f(x) = 2x, with a visible and a hidden test."""
    return notebook(
        v4.new_markdown_cell("# Doubling"),
        solution_cell("def f(x):\n    ### BEGIN SOLUTION\n    ### HINT: Return twice x.\n"
                      "    return 2 * x\n    ### END SOLUTION", "f"),
        graded_cell("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS", "test_f"),
    )


def exercise_source(source, cell_type="code"):
    """The source the exercise gets for one solution cell with this source."""
    make = solution_cell if cell_type == "code" else lambda s, g: v4.new_markdown_cell(s)
    return notebooks.make_exercise(notebook(make(source, "x"))).cells[1].source


@pytest.fixture
def root(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    return tmp_path


def write(path, nb):
    path.write_text(notebooks.canonical(nb), encoding="utf-8")


# --------------------------------------------------------------------------- make_exercise


def test_stub_keeps_indentation_and_code_outside_the_block():
    source = ("import math\n\ndef f(x):\n    y = math.sqrt(x)\n    ### BEGIN SOLUTION\n"
              "    ### HINT: Return y squared.\n    return y ** 2\n    ### END SOLUTION\n\nprint(f(4))")
    assert exercise_source(source) == (
        "import math\n\ndef f(x):\n    y = math.sqrt(x)\n    # YOUR CODE HERE\n"
        '    raise NotImplementedError("Return y squared.")\n\nprint(f(4))')


def test_several_blocks_in_one_cell_and_the_default_hint():
    source = ("### BEGIN SOLUTION\na = 1\n### END SOLUTION\nmiddle = 0\nif True:\n"
              "        ### BEGIN SOLUTION\n        ### HINT: Set b.\n        ### HINT: To 2.\n"
              "        b = 2\n        ### END SOLUTION")
    assert exercise_source(source) == (
        '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your code.")\nmiddle = 0\n'
        'if True:\n        # YOUR CODE HERE\n        raise NotImplementedError("Set b. To 2.")')


def test_hint_with_quotes_and_backslashes_is_a_valid_literal():
    hint = """Use "np.roll" and 'x[::-1]' \\ not \\n."""
    stub = exercise_source(f"### BEGIN SOLUTION\n### HINT: {hint}\nx = 1\n### END SOLUTION")
    with pytest.raises(NotImplementedError) as raised:
        exec(stub, {})
    assert raised.value.args == (hint,)


def test_markdown_answer_block():
    source = "**Why?**\n\n### BEGIN SOLUTION\nBecause it is convex.\n### END SOLUTION\n\nDone."
    assert exercise_source(source, "markdown") == "**Why?**\n\nYOUR ANSWER HERE\n\nDone."
    answer = v4.new_markdown_cell(source)
    answer.metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "why", "points": 1}
    intro = notebooks.make_exercise(notebook(answer)).cells[0].source
    assert "your answer wherever *YOUR ANSWER HERE* stands" in intro, "the intro says where written answers go"


def test_exercise_is_clean():
    solution = solution_notebook()
    solution.metadata.widgets = {"state": {}}
    solution.cells[1].execution_count = 1
    solution.cells[2].execution_count = 2
    solution.cells[2].outputs = [v4.new_output("stream", text="ok\n")]
    solution.cells[2].metadata.update(collapsed=True, scrolled=True, tags=["keep"],
                                      execution={"iopub.status.busy": "2024-01-01"})
    exercise = notebooks.make_exercise(solution, "01_doubling.ipynb")

    assert solution.cells[2].outputs, "the solution notebook itself is left unchanged"
    assert "widgets" not in exercise.metadata
    assert exercise.metadata.course["generated_from"] == "solutions/01_doubling.ipynb"
    intro = exercise.cells[0]
    assert intro.cell_type == "markdown" and intro.id == notebooks.INTRO_ID
    assert "solutions/01_doubling.ipynb" in intro.source and "YOUR CODE HERE" in intro.source
    assert ("YOUR ANSWER HERE" in intro.source) == any("YOUR ANSWER HERE" in c.source for c in exercise.cells[1:]), \
        "the intro mentions answer cells when the exercise has some, and only then"
    test = exercise.cells[3]
    assert test.source == "assert f(1) == 2"
    assert test.metadata == {"nbgrader": solution.cells[2].metadata.nbgrader, "tags": ["keep"]}
    for cell in exercise.cells:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
    assert [c.id for c in exercise.cells[1:]] == [c.id for c in solution.cells]
    again = notebooks.make_exercise(solution, "01_doubling.ipynb")
    assert notebooks.canonical(exercise) == notebooks.canonical(again), "the exercise is deterministic"


def test_unbalanced_markers_raise():
    with pytest.raises(ValueError, match="never closed"):
        notebooks.make_exercise(notebook(solution_cell("### BEGIN SOLUTION\nx = 1", "x")))


def test_pristine_until_edited(tmp_path):
    path = tmp_path / "exercise.ipynb"
    write(path, notebooks.make_exercise(solution_notebook(), "01_doubling.ipynb"))
    exercise = nbformat.read(path, as_version=4)
    assert notebooks.is_pristine(exercise)
    exercise.cells[2].source += "\n    return 2 * x"
    assert not notebooks.is_pristine(exercise)
    del exercise.metadata["course"]
    assert not notebooks.is_pristine(exercise)


# --------------------------------------------------------------------------- validate_solution


def broken(change):
    nb = solution_notebook()
    change(nb)
    return nb


@pytest.mark.parametrize("nb, expected", [
    (broken(lambda nb: setattr(nb.cells[1], "source", "### BEGIN SOLUTION\nx = 1")), "never closed"),
    (broken(lambda nb: setattr(nb.cells[1], "source", "x = 1\n### END SOLUTION")), "without a"),
    (broken(lambda nb: setattr(nb.cells[1], "source", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n"
                                                      "### END SOLUTION\n### END SOLUTION")), "cannot nest"),
    (broken(lambda nb: nb.cells.append(v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))),
     "does not say solution: true"),
    (broken(lambda nb: nb.cells[2].metadata.nbgrader.update(points=0)), "points 0"),
    (broken(lambda nb: nb.cells[2].metadata.nbgrader.pop("points")), "points None"),
    (broken(lambda nb: nb.cells[2].metadata.nbgrader.pop("grade_id")), "no grade_id"),
    (broken(lambda nb: nb.cells.append(graded_cell("assert True", "test_f"))), '"test_f" is used by several'),
    (broken(lambda nb: nb.cells.pop(1)), "no '### BEGIN SOLUTION' block"),
    (broken(lambda nb: nb.cells.pop(2)), "no graded test cell"),
    (broken(lambda nb: nb.metadata.kernelspec.update(name="julia-1.10")), "kernelspec name is 'julia-1.10'"),
])
def test_validate_solution_finds_each_problem(nb, expected):
    problems = notebooks.validate_solution(nb)
    assert any(expected in problem for problem in problems), problems


def test_validate_solution_accepts_a_good_notebook():
    assert notebooks.validate_solution(solution_notebook()) == []


# --------------------------------------------------------------------------- generate


def test_generate_writes_then_leaves_unchanged_files_alone(root):
    write(root / "solutions" / "01_doubling.ipynb", solution_notebook())
    assert notebooks.generate(root) == ["wrote exercises/01_doubling.ipynb"]
    exercise = root / "exercises" / "01_doubling.ipynb"
    assert notebooks.is_pristine(nbformat.read(exercise, as_version=4))
    os.utime(exercise, (0, 0))
    assert notebooks.generate(root) == []
    assert exercise.stat().st_mtime == 0, "an unchanged exercise is not rewritten"
    assert notebooks.generate(root, check=True) == []


def test_generate_never_loses_a_students_work(root):
    write(root / "solutions" / "01_doubling.ipynb", solution_notebook())
    notebooks.generate(root)
    exercise = root / "exercises" / "01_doubling.ipynb"
    student = nbformat.read(exercise, as_version=4)
    student.cells[2].source = "def f(x):\n    return x + x"
    write(exercise, student)
    students_text = exercise.read_text(encoding="utf-8")

    messages = notebooks.generate(root)
    assert len(messages) == 1 and messages[0].startswith("refused") and "--force" in messages[0]
    assert exercise.read_text(encoding="utf-8") == students_text

    messages = notebooks.generate(root, force=True)
    assert messages[0].startswith("backed up") and messages[-1] == "wrote exercises/01_doubling.ipynb"
    backups = list((root / "exercises" / ".backup").glob("01_doubling.*.ipynb"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [students_text]
    assert notebooks.is_pristine(nbformat.read(exercise, as_version=4))

    write(exercise, student)  # edited again, forced again within the same second: a second backup
    notebooks.generate(root, force=True)
    assert len(list((root / "exercises" / ".backup").glob("*.ipynb"))) == 2
    assert notebooks.notebook_names(root)["exercises"] == ["01_doubling.ipynb"]


def test_generate_check_reports_every_problem(root):
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        write(root / "solutions" / name, solution_notebook())
    notebooks.generate(root)
    (root / "exercises" / "01_a.ipynb").unlink()  # missing
    changed = solution_notebook()
    changed.cells[0].source = "# Doubling, revised"
    write(root / "solutions" / "02_b.ipynb", changed)  # out of date
    write(root / "exercises" / "04_d.ipynb", notebook())  # orphan
    problems = "\n".join(notebooks.generate(root, check=True))
    assert "exercises/01_a.ipynb is missing" in problems
    assert "exercises/02_b.ipynb is out of date" in problems
    assert "03_c" not in problems
    assert "exercises/04_d.ipynb has no solution notebook" in problems
    assert not (root / "exercises" / "01_a.ipynb").exists(), "check writes nothing"


def test_generate_refuses_an_invalid_solution(root):
    write(root / "solutions" / "01_bad.ipynb", notebook(v4.new_code_cell("x = 1")))
    messages = notebooks.generate(root)
    assert messages and all(m.startswith("refused: solutions/01_bad.ipynb") for m in messages)
    assert not (root / "exercises" / "01_bad.ipynb").exists()


def test_command_line_check_exit_status(root, capsys):
    write(root / "solutions" / "01_doubling.ipynb", solution_notebook())
    assert notebooks.main(["--root", str(root), "generate", "--check"]) == 1
    assert "python course.py exercises" in capsys.readouterr().out
    assert notebooks.main(["--root", str(root), "generate", "01_doubling"]) == 0
    assert notebooks.main(["--root", str(root), "generate", "--check"]) == 0


# --------------------------------------------------------------------------- execution (starts kernels)


def test_execute_refuses_exercises(root):
    path = root / "exercises" / "01_doubling.ipynb"
    write(path, notebooks.make_exercise(solution_notebook(), "01_doubling.ipynb"))
    with pytest.raises(ValueError, match="exercise notebook"):
        notebooks.execute(path)


def test_execute_stores_outputs_in_place(root):
    (root / "lectures").mkdir()
    path = root / "lectures" / "01_doubling.ipynb"
    (root / "lectures" / "data.txt").write_text("42")
    write(path, notebook(v4.new_code_cell("print(open('data.txt').read())"), v4.new_code_cell("")))
    notebooks.execute(path, timeout=60)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].outputs[0].text == "42\n" and nb.cells[0].execution_count == 1
    assert "execution" not in nb.cells[0].metadata
    assert path.read_text(encoding="utf-8") == notebooks.canonical(nb)


def test_run_exercise_reports_stub_errors_in_the_test_cell(root):
    path = root / "exercises" / "01_doubling.ipynb"
    write(path, notebooks.make_exercise(solution_notebook(), "01_doubling.ipynb"))
    before = path.read_text(encoding="utf-8")
    report = notebooks.run_exercise(path, timeout=60)
    assert [(r["index"], r["kind"], r["grade_id"], r["ename"]) for r in report] == [
        (2, "solution", "f", None), (3, "test", "test_f", "NotImplementedError")]
    assert report[1]["evalue"] == "Return twice x."
    assert path.read_text(encoding="utf-8") == before, "run_exercise never writes the file"


def test_a_stored_progress_bar_is_recognised_and_nothing_else():
    from course_lib.tools.notebooks import is_progress_bar

    widget = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    bar = {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": widget,
                                                     "text/plain": "training:   0%|          | 0/250 [00:00<?, ?it/s]"}}
    slider = {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": widget,
                                                        "text/plain": "interactive(children=(IntSlider(value=9)))"}}
    text = {"output_type": "stream", "name": "stdout", "text": "accuracy 95%| of the test set\n"}
    assert is_progress_bar(bar) and not is_progress_bar(slider) and not is_progress_bar(text)
