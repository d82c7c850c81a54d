"""What grading gives, and how it is handed out: test results, the CSV gradebook, Markdown feedback.

Feedback shows each test's status and the message of the check that failed, which the grader
has already cleaned (no traceback, no hidden test's source); nothing here adds any.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PASSED", "FAILED", "ERROR", "NOT_IMPLEMENTED", "TIMEOUT", "KERNEL_DIED", "NOT_RUN", "UNREADABLE",
           "TestResult", "Submission", "write_gradebook", "feedback_markdown", "write_feedback", "write_reports",
           "file_sha256", "Journal", "class_summary", "write_summary", "feedback_path", "name_feedback"]

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
    sha256: str = ""            # of the submitted file, as graded
    tests_version: str = ""     # sha256 of the instructor's notebook (its tests, hidden ones included) that graded it
    feedback_name: str = ""     # the feedback file's name when the usual one is shared (see feedback_path)

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tests)


def write_gradebook(submissions: list, path: Path) -> None:
    """A CSV with a row per test: student, assignment, test, points, max_points, status, and the versions of the
    submission and of the tests that graded it (the first 16 hex digits of their sha256)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "test", "points", "max_points", "status", "submission_sha256",
                         "tests_version"])
        for sub in submissions:
            versions = [sub.sha256[:16], sub.tests_version[:16]]
            if not sub.tests:
                writer.writerow([sub.student, sub.assignment, "", 0, 0, "not graded", *versions])
            for t in sub.tests:
                writer.writerow([sub.student, sub.assignment, t.grade_id, f"{t.points:g}", f"{t.max_points:g}",
                                 t.status, *versions])


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (a submission, or the instructor's notebook)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Journal:
    """What has been graded, kept on disk as it happens: ``out/journal.csv``, appended and flushed to disk after
    every submission, so that killing the grader at any moment loses at most the submissions in progress.

    A submission is known by its student, file name, sha256 and the version of the tests (the sha256 of the
    instructor's notebook): :meth:`lookup` gives back its graded :class:`Submission` when all four match, so
    that a rerun grades only what is new or changed, and a corrected test regrades the class.
    """

    FIELDS = ["student", "file", "assignment", "sha256", "tests_version", "seconds", "kind", "test", "points",
              "max_points", "status", "message"]

    def __init__(self, out: Path):
        self.path = Path(out) / "journal.csv"
        self._lock = threading.Lock()
        self._done: dict = {}
        self._complete: set = set()     # the keys whose last record reached its end row
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):      # a torn last line (killed while writing): drop it
                with open(self.path, "r+b") as f:
                    f.truncate(data.rfind(b"\n") + 1)
            with open(self.path, newline="", encoding="utf-8", errors="replace") as f:
                for row in csv.DictReader(f):
                    try:
                        self._read_row(row)
                    except (ValueError, TypeError, KeyError):
                        continue                        # a damaged row: its submission is graded again

    def _read_row(self, row: dict) -> None:
        if set(self.FIELDS) - set(row) or any(row[k] is None for k in self.FIELDS):
            return                      # a torn line (the grader was killed while writing it)
        key = (row["student"], row["file"], row["sha256"], row["tests_version"])
        sub = self._done.get(key)
        if sub is None or row["kind"] == "start":
            sub = self._done[key] = Submission(row["student"], row["assignment"], Path(row["file"]),
                                               seconds=float(row["seconds"] or 0), sha256=row["sha256"],
                                               tests_version=row["tests_version"])
            self._complete.discard(key)
        if row["kind"] == "test":
            sub.tests.append(TestResult(row["test"], float(row["max_points"]), row["status"], float(row["points"]),
                                        row["message"]))
        elif row["kind"] == "note":
            sub.notes.append(row["message"])
        elif row["kind"] == "end":
            self._complete.add(key)

    def lookup(self, student: str, path: Path, sha256: str, tests_version: str):
        """The graded submission with these versions, or None (never graded, changed, or cut off by a kill)."""
        key = (student, Path(path).name, sha256, tests_version)
        if key not in self._complete:
            return None
        sub = self._done[key]
        return Submission(sub.student, sub.assignment, Path(path), list(sub.tests), list(sub.notes), sub.seconds,
                          sub.sha256, sub.tests_version)

    def record(self, sub: Submission) -> None:
        """Append ``sub`` (a start row, its tests, its notes, an end row) and flush it to disk."""
        base = dict(student=sub.student, file=sub.path.name, assignment=sub.assignment, sha256=sub.sha256,
                    tests_version=sub.tests_version, seconds=f"{sub.seconds:.3f}")
        rows = [dict(base, kind="start")]
        one_line = lambda text: " ".join(str(text).splitlines())      # a record is whole lines: a tear is a line
        rows += [dict(base, kind="test", test=t.grade_id, points=f"{t.points:g}", max_points=f"{t.max_points:g}",
                      status=t.status, message=one_line(t.message)) for t in sub.tests]
        rows += [dict(base, kind="note", message=one_line(note)) for note in sub.notes]
        rows.append(dict(base, kind="end"))
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            with open(self.path, "a", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=self.FIELDS, restval="")
                if new:
                    writer.writeheader()
                writer.writerows(rows)
                f.flush()
                os.fsync(f.fileno())


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


def feedback_path(sub: Submission, out: Path) -> Path:
    """``out/feedback/<student>/<assignment>.md`` (``<assignment>.<file>.md`` where two files would share it)."""
    name = sub.feedback_name or _safe(sub.assignment if sub.assignment != "?" else sub.path.stem)
    return Path(out) / "feedback" / _safe(sub.student) / f"{name}.md"


def name_feedback(submissions: list) -> None:
    """Give every submission whose feedback file would be another's a name of its own (two files of one student
    for one exercise, or two students whose names differ only in characters a file name cannot hold)."""
    seen = Counter(feedback_path(sub, Path()) for sub in submissions)
    for sub in submissions:
        if seen[feedback_path(sub, Path())] > 1:
            sub.feedback_name = _safe(f"{sub.assignment}.{sub.student}.{sub.path.parent.name}.{sub.path.stem}")


def write_feedback(sub: Submission, out: Path) -> None:
    """``out/feedback/<student>/<assignment>.md`` (see :func:`feedback_path`)."""
    path = feedback_path(sub, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_markdown(sub), encoding="utf-8")


def write_reports(submissions: list, out: Path) -> None:
    """``out/gradebook.csv`` and ``out/feedback/<student>/<assignment>.md`` for each submission."""
    out = Path(out)
    write_gradebook(submissions, out / "gradebook.csv")
    for sub in submissions:
        write_feedback(sub, out)


def _gist(message: str) -> str:
    """A failure message with its numbers blanked, cut to its first sentence: what groups like failures."""
    first = re.split(r"(?<=[.;])\s", message.replace("\n", " ").strip(), maxsplit=1)[0]
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", first)[:140]


def class_summary(submissions: list) -> dict:
    """``{assignment: [{test, max_points, students, failed, share, messages: [(gist, count), ...]}, ...]}``:
    for each test, how many students did not pass it and the most common reasons, grouped."""
    tables: dict = {}
    for sub in submissions:
        if sub.assignment == "?":
            continue
        for t in sub.tests:
            row = tables.setdefault(sub.assignment, {}).setdefault(
                t.grade_id, dict(test=t.grade_id, max_points=t.max_points, students=0, failed=0, messages=Counter()))
            row["students"] += 1
            if t.status != PASSED:
                row["failed"] += 1
                row["messages"][_gist(t.message) if t.message else t.status] += 1
    return {a: [dict(r, share=r["failed"] / r["students"], messages=r["messages"].most_common(3))
                for r in rows.values()] for a, rows in tables.items()}


def write_summary(submissions: list, out: Path) -> Path:
    """``out/summary.md`` (per test: the share of students who failed it and the most common reasons) and
    ``out/summary.png`` (the shares as bars), for the instructor: what the class got wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = class_summary(submissions)
    lines = ["# What the class got wrong", ""]
    for assignment, rows in sorted(summary.items()):
        lines += [f"## {assignment}", "", "| test | points | failed | most common reasons |", "|---|---|---|---|"]
        for r in rows:
            reasons = "; ".join(f"{gist.replace('|', '/')} ({n})" for gist, n in r["messages"]) or "-"
            lines.append(f"| {r['test']} | {r['max_points']:g} | {r['failed']} of {r['students']} "
                         f"({r['share']:.0%}) | {reasons} |")
        lines.append("")
    lines.append("![share of students who failed each test](summary.png)")
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bars = [(f"{a}: {r['test']}", r["share"]) for a, rows in sorted(summary.items()) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(len(bars), 1) + 1.2))
    ax.barh([b[0] for b in bars][::-1], [100 * b[1] for b in bars][::-1], color="C3")
    ax.set(xlim=(0, 100), xlabel="students who did not pass (%)", title="What the class got wrong")
    fig.tight_layout()
    fig.savefig(out / "summary.png", dpi=80)
    plt.close(fig)
    return out / "summary.md"
