"""cl.Claims: the checked statements of a lecture's prose (a table that raises where the course is tested)."""
import numpy as np
import pytest
import torch

import course_lib as cl
from course_lib.claims import ClaimFailed, ClaimWarning, strict_by_default


def test_a_table_of_statements_that_hold(capsys):
    claims = cl.Claims("residual against plain", strict=True)
    claims.less("top eigenvalue, residual", 3.0, "plain", 5.0)
    claims.greater("accuracy with skips", torch.tensor(0.98), "without", np.float32(0.95))
    claims.close("p4 CNN", 0.801, "augmented CNN", 0.8, atol=0.01)
    claims.within("step size", 0.5, 0.0, 1.0)
    claims.true("the loss went down", True, measured="2.1 -> 0.3")
    claims.show()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "residual against plain" and lines[1].split() == ["statement", "measured", "holds"]
    assert len(lines) == 7 and all(line.endswith("✔") for line in lines[2:])
    assert "top eigenvalue, residual < plain" in out and "3 vs 5" in out
    assert "p4 CNN ≈ augmented CNN (within 0.01)" in out and "step size in [0, 1]" in out
    assert repr(claims) == out.rstrip("\n")


@pytest.mark.parametrize("make", [
    lambda c: c.less("a", 2.0, "b", 1.0),
    lambda c: c.less("a", 1.0, "b", 1.0),                       # strict: equal is not less
    lambda c: c.less("a", 1.0, "b", 1.5, margin=1.0),
    lambda c: c.greater("a", 1.0, "b", 2.0),
    lambda c: c.close("a", 1.0, "b", 1.2, atol=0.1),
    lambda c: c.close("a", 1.0, "b", 1.2, atol=0.0, rtol=0.1),
    lambda c: c.within("a", 1.5, 0.0, 1.0),
    lambda c: c.true("a holds", False),
])
def test_a_statement_that_does_not_hold_raises_naming_it_when_strict(make):
    claims = cl.Claims("table", strict=True)
    make(claims)
    assert not claims.rows[0].holds and claims.failed == claims.rows
    with pytest.raises(ClaimFailed, match=r"1 of 1 statements of 'table' do not hold: 'a"):
        claims.check()
    with pytest.raises(AssertionError):         # ClaimFailed is an AssertionError: nbval and pytest report it as one
        claims.show()


def test_elsewhere_it_warns_and_the_lecture_goes_on(capsys):
    claims = cl.Claims(strict=False)
    claims.less("a", 2.0, "b", 1.0)
    with pytest.warns(ClaimWarning, match="'a < b'"):
        claims.show()
    assert "✘" in capsys.readouterr().out


def test_values_per_seed_pair_up_and_the_statement_says_how_many(capsys):
    claims = cl.Claims(strict=True)
    row = claims.less("plain", [1.0, 2.0, 3.0, 4.0, 9.0], "residual", [2.0, 3.0, 4.0, 5.0, 6.0], at_least=4)
    assert (row.held, row.n, row.needed, row.holds) == (4, 5, 4, True)
    assert row.statement == "plain < residual in at least 4 of 5 seeds"
    assert row.verdict == "✔ 4 of 5 seeds"
    mean, spread = np.mean([1, 2, 3, 4, 9]), np.std([1, 2, 3, 4, 9], ddof=1)
    assert row.measured == f"{mean:.3g} ± {spread:.3g} vs {4:.3g} ± {np.std([2, 3, 4, 5, 6], ddof=1):.3g}"
    every = claims.greater("accuracy", torch.tensor([0.9, 0.8, 0.7]), "chance", 0.1)   # one number against each
    assert every.statement == "accuracy > chance in 3 of 3 seeds" and every.holds
    assert every.measured == "0.8 ± 0.1 vs 0.1"                                       # shown once, as given
    draws = cl.Claims(unit="noise draws").greater("a", [2.0, 3.0], "b", [1.0, 1.0])
    assert draws.statement == "a > b in 2 of 2 noise draws" and draws.verdict == "✔ 2 of 2 noise draws"
    short = claims.less("a", [1.0, 5.0, 1.0], "b", [2.0, 2.0, 2.0])                    # all of them unless said
    assert (short.held, short.needed, short.holds) == (2, 3, False)
    with pytest.raises(ClaimFailed, match=r"'a < b in 3 of 3 seeds' \(.*held in 2 of 3\)"):
        claims.show()


@pytest.mark.parametrize("call, error, match", [
    (lambda c: c.less("a", "1.0", "b", 2.0), TypeError, "a must be a number"),
    (lambda c: c.less("a", True, "b", 2.0), TypeError, "got a bool"),
    (lambda c: c.less("a", [], "b", 2.0), TypeError, "non-empty"),
    (lambda c: c.less("a", torch.ones(2, 2), "b", 2.0), TypeError, r"shape \(2, 2\)"),
    (lambda c: c.less("a", float("nan"), "b", 2.0), ValueError, "NaN"),
    (lambda c: c.less("a", [1.0, 2.0], "b", [1.0, 2.0, 3.0]), ValueError, "2 values and 'b' 3"),
    (lambda c: c.less("a", [1.0, 2.0], "b", 3.0, at_least=3), ValueError, "at_least must be an int from 1"),
    (lambda c: c.less("a", 1.0, "b", 3.0, margin=-1), ValueError, "margin must be a finite number >= 0"),
    (lambda c: c.close("a", 1.0, "b", 3.0, atol=float("inf")), ValueError, "atol"),
    (lambda c: c.within("a", 1.0, 2.0, 0.0), ValueError, "low must be at most high"),
    (lambda c: c.true("a", "yes"), TypeError, "condition must be a bool"),
])
def test_bad_input_is_refused_with_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call(cl.Claims())


def test_close_needs_its_tolerance():
    with pytest.raises(TypeError):
        cl.Claims().close("a", 1.0, "b", 1.0)                        # the tolerance is part of the statement


def test_strict_where_the_course_is_tested(monkeypatch):
    for name in ("COURSE_STRICT_CLAIMS", "CI", "PYTEST_CURRENT_TEST"):
        monkeypatch.delenv(name, raising=False)
    assert not strict_by_default()                                  # a student's notebook
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "x")
    assert strict_by_default()                                      # nbval's kernels inherit it
    monkeypatch.setenv("COURSE_STRICT_CLAIMS", "0")
    assert not strict_by_default()
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.setenv("COURSE_STRICT_CLAIMS", "1")
    assert strict_by_default()
    monkeypatch.delenv("COURSE_STRICT_CLAIMS")
    monkeypatch.setenv("CI", "1")
    assert strict_by_default()
    claims = cl.Claims()
    claims.less("a", 2.0, "b", 1.0)
    with pytest.raises(ClaimFailed):
        claims.check()


def test_an_empty_table_says_so():
    assert cl.Claims("t").table() == "t: no statements"
    cl.Claims("t", strict=True).check()                            # nothing to fail
