"""What grading gives, and how it is handed out: test results, the CSV gradebook, Markdown feedback.

Feedback shows each test's status and the message of the check that failed, which the grader
has already cleaned (no traceback, no hidden test's source); nothing here adds any.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PASSED", "FAILED", "ERROR", "NOT_IMPLEMENTED", "TIMEOUT", "KERNEL_DIED", "NOT_RUN", "UNREADABLE",
           "TestResult", "Submission", "write_gradebook", "feedback_markdown", "write_reports"]

# statuses of a test (points only for "passed")
PASSED, FAILED, ERROR, NOT_IMPLEMENTED = "passed", "failed", "error", "not implemented"
TIMEOUT, KERNEL_DIED, NOT_RUN, UNREADABLE = "timeout", "kernel died", "not run", "unreadable"


@dataclass
class TestResult:
    """One graded test cell of one submission."""

    __test__ = False    # not a pytest test class

    grade_id: str
    max_points: float
    status: str = NOT_RUN
    points: float = 0.0
    message: str = ""


@dataclass
class Submission:
    """One graded notebook: who, which exercise, the tests' results and notes for the student."""

    student: str
    assignment: str
    path: Path
    tests: list = field(default_factory=list)
    notes: list = field(default_factory=list)      # about the submission as a whole, for the feedback
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tests)


def write_gradebook(submissions: list, path: Path) -> None:
    """A CSV with a row per test: student, assignment, test, points, max_points, status."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "test", "points", "max_points", "status"])
        for sub in submissions:
            if not sub.tests:
                writer.writerow([sub.student, sub.assignment, "", 0, 0, "not graded"])
            for t in sub.tests:
                writer.writerow([sub.student, sub.assignment, t.grade_id, f"{t.points:g}", f"{t.max_points:g}",
                                 t.status])


def feedback_markdown(sub: Submission) -> str:
    """The student's feedback: score, one line per test, notes. No tracebacks, no hidden source."""
    lines = [f"# Feedback: {sub.assignment}", "", f"Student: {sub.student}  ", f"File: `{sub.path.name}`  ",
             f"Score: **{sub.score:g} / {sub.max_score:g}**", ""]
    if sub.tests:
        lines += ["| test | points | status |", "|---|---|---|"]
        lines += [f"| {t.grade_id} | {t.points:g} / {t.max_points:g} | {t.status} |" for t in sub.tests]
        lines.append("")
    failing = [t for t in sub.tests if t.status != PASSED and t.message]
    if failing:
        lines += ["## What went wrong", ""]
        lines += [f"* **{t.grade_id}**: {t.message.replace(chr(10), ' ')}" for t in failing]
        lines.append("")
    if sub.notes:
        lines += ["## Notes", ""] + [f"* {note.replace(chr(10), ' ')}" for note in sub.notes] + [""]
    lines.append("Graded with the instructor's tests (some of them hidden) in a fresh Python process; "
                 "your file was not changed.")
    return "\n".join(lines) + "\n"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def write_reports(submissions: list, out: Path) -> None:
    """``out/gradebook.csv`` and ``out/feedback/<student>/<assignment>.md`` for each submission."""
    out = Path(out)
    write_gradebook(submissions, out / "gradebook.csv")
    for sub in submissions:
        folder = out / "feedback" / _safe(sub.student)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{_safe(sub.assignment if sub.assignment != '?' else sub.path.stem)}.md").write_text(
            feedback_markdown(sub), encoding="utf-8")
