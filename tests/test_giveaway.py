"""The measure of how much an exercise's text gives away of its solution (course_lib.tools.giveaway)."""
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import giveaway as gw

ROOT = Path(__file__).resolve().parent.parent

SOLUTION = """def step(A, y, out):
    ### BEGIN SOLUTION
    ### HINT: the mean over every measurement
    return ((A(out) - y) ** 2).mean()
    ### END SOLUTION
"""


def notebook(*markdown):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text) for text in markdown]
    cell = nbformat.v4.new_code_cell(SOLUTION)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "step", "locked": False,
                                 "schema_version": 3, "task": False}
    nb.cells.append(cell)
    return nb


def test_code_in_the_text_is_given_away_and_a_goal_is_not():
    assert gw.giveaway(notebook("Type `return ((A(out) - y) ** 2).mean()`."))["step"] == 1.0
    stub_alone = gw.giveaway(notebook())["step"]                  # the signature's "( A" and "A ,"
    assert gw.giveaway(notebook("Return the mean squared misfit of the output to the data."))["step"] == stub_alone
    maths = gw.giveaway(notebook("The loss is $\\|A(\\text{out}) - y\\|^2$."))["step"]
    assert stub_alone < maths < 0.6, "mathematics shares a few pairs with the code, not most of them"


def test_text_before_an_earlier_solution_cell_is_spent_and_the_stub_counts():
    nb = notebook("Type `return ((A(out) - y) ** 2).mean()`.")
    other = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\n")
    other.metadata["nbgrader"] = {"solution": True, "grade_id": "f"}
    nb.cells.insert(1, other)
    assert 0 < gw.giveaway(nb)["step"] == gw.giveaway(notebook())["step"] < 0.2      # the signature's "( A"


def test_tokens_and_pairs():
    assert gw.code_tokens("x = f(a) ** 2  # a comment\ns = 'text'") == ["x", "=", "f", "(", "a", ")", "**", "2", "s",
                                                                       "="]
    assert gw.text_tokens("use `torch.randn(z.shape)` here") == ["use", "torch", ".", "randn", "(", "z", ".", "shape",
                                                                 ")", "here"]
    assert gw.pairs(["a", "b", "a", "b"]) == {("a", "b"), ("b", "a")}
    assert gw.solution_code(SOLUTION) == "    return ((A(out) - y) ** 2).mean()"


def test_the_command_prints_every_cell(tmp_path, capsys):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(notebook("Type `return ((A(out) - y) ** 2).mean()`."), path)
    assert gw.main([str(path)]) == 0
    assert "01_x.ipynb: mean 100 %, largest 100 %" in capsys.readouterr().out


#: The exercises whose text states goals and contracts, not code (issue 29); the others join as they are rewritten.
GOALS_NOT_CODE = ["01_inverse_problems", "02_architectural_priors", "04_wavelets_lifting", "05_geometry",
                  "06_deep_image_prior"]


@pytest.mark.parametrize("name", GOALS_NOT_CODE)
def test_the_text_of_an_exercise_gives_away_little_of_its_solution(name):
    """At most a fifth of the solution's code-token pairs on average over its cells, at most two fifths in any."""
    shares = gw.giveaway(nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4))
    assert shares and sum(shares.values()) / len(shares) <= 0.2, shares
    assert max(shares.values()) <= 0.4, shares
