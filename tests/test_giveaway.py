"""The measure of how much an exercise's text gives away of its solution (course_lib.tools.giveaway)."""
import nbformat

from course_lib.tools import giveaway as gw

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
