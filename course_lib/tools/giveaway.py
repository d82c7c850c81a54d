"""How much of a solution an exercise's text gives away, measured (``python -m course_lib.tools.giveaway``).

A student who reads a stub and the markdown above it should learn what the unit must do, not the code to type. The
measure: the solution's code as a sequence of tokens (names, numbers, operators; comments and strings left out), its
consecutive pairs (``A (``, ``( out``, ``out )``, ...), and the share of those pairs that also occur, as neighbours,
in what the student reads before writing it: the markdown cells since the previous solution cell and the stub the
exercise shows (its signature, docstring, comments and hint). A formula printed as code (``((A(out) - y) ** 2)``)
shares most of its pairs; the same formula in mathematics (:math:`\\|A f(z) - y\\|^2`) shares few, and a goal in words
none.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
from pathlib import Path

import nbformat

from .notebooks import cell_source, marker_blocks, nbgrader_metadata, strip_solution_blocks

__all__ = ["code_tokens", "text_tokens", "pairs", "solution_code", "giveaway", "main"]

#: The tokens of free text: names, numbers and the operators of Python code.
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?(?:e-?\d+)?|\*\*|//|==|!=|<=|>=|->|[-+*/%@=<>()\[\]{}.,:~^|&]")
HINT = "### HINT:"


def code_tokens(source: str) -> list[str]:
    """The names, numbers and operators of Python ``source``, in order (comments, strings and layout left out);
    source that does not tokenize (a fragment) falls back to :func:`text_tokens`."""
    kept = (tokenize.NAME, tokenize.NUMBER, tokenize.OP)
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type in kept]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text_tokens(source)


def text_tokens(text: str) -> list[str]:
    """The names, numbers and operators in free text (markdown, LaTeX, comments), in order."""
    return TOKEN.findall(text)


def pairs(tokens: list[str]) -> set:
    """The set of consecutive pairs of ``tokens``."""
    return set(zip(tokens, tokens[1:]))


def solution_code(source: str) -> str:
    """The lines of a cell's ``### BEGIN SOLUTION`` blocks, without the markers and the hints."""
    lines, kept = source.split("\n"), []
    for kind, first, last in marker_blocks(source):
        if kind == "SOLUTION":
            kept += [line for line in lines[first + 1:last] if not line.strip().startswith(HINT)]
    return "\n".join(kept)


def giveaway(solution_nb) -> dict:
    """For each code solution cell of a solution notebook, by its nbgrader ``grade_id``: the share (0 to 1) of its
    solution's consecutive token pairs that the student reads before writing it (the markdown since the previous
    solution cell, and the stub)."""
    shares, read = {}, []
    for cell in solution_nb.cells:
        source = cell_source(cell)
        if not nbgrader_metadata(cell).get("solution"):
            if cell.cell_type == "markdown":
                read.append(source)
            continue
        if cell.cell_type != "code":
            read = []
            continue
        wanted = pairs(code_tokens(solution_code(source)))
        shown = set().union(*(pairs(text_tokens(text)) for text in read),
                            pairs(text_tokens(strip_solution_blocks(source, "code"))))
        shares[nbgrader_metadata(cell).get("grade_id", f"cell {len(shares)}")] = (
            len(wanted & shown) / len(wanted) if wanted else 0.0)
        read = []
    return shares


def main(argv=None) -> int:
    """Print the share given away of every solution cell, and each notebook's mean and largest share."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.giveaway", description=main.__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path, help="solution notebooks (default: solutions/*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path("solutions").glob("*.ipynb"))
    if not paths:
        print("no solution notebooks given and none in ./solutions", file=sys.stderr)
        return 2
    for path in paths:
        shares = giveaway(nbformat.read(path, as_version=4))
        print(f"{path.name}: mean {100 * sum(shares.values()) / max(len(shares), 1):.0f} %, largest "
              f"{100 * max(shares.values(), default=0):.0f} %")
        for grade_id, share in shares.items():
            print(f"    {grade_id:<28} {100 * share:4.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
