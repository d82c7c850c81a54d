"""What grading gives, and how it is handed out: test results, the journal of what has been graded (SQLite),
the CSV gradebook, Markdown feedback.

Feedback shows each test's status and the message of the check that failed, which the grader
has already cleaned (no traceback, no hidden test's source); nothing here adds any.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import sqlite3
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
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


# The journal's schema, one entry per version: _MIGRATIONS[v] brings a journal of version v to v + 1 (see Journal).
_MIGRATIONS = [
    (   # 1: submissions, their tests' results (automatic now; manual points per cell later) and their notes
        """CREATE TABLE submissions (
            id            INTEGER PRIMARY KEY,
            student       TEXT NOT NULL,
            file          TEXT NOT NULL,
            assignment    TEXT NOT NULL,
            sha256        TEXT NOT NULL,
            tests_version TEXT NOT NULL,
            seconds       REAL NOT NULL,
            graded_at     TEXT)""",
        "CREATE INDEX submissions_by_version ON submissions (student, file, sha256, tests_version)",
        """CREATE TABLE results (
            submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
            kind          TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),
            position      INTEGER NOT NULL,
            grade_id      TEXT NOT NULL,
            points        REAL NOT NULL,
            max_points    REAL NOT NULL,
            status        TEXT NOT NULL,
            message       TEXT NOT NULL,
            PRIMARY KEY (submission_id, kind, position))""",
        """CREATE TABLE notes (
            submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
            position      INTEGER NOT NULL,
            message       TEXT NOT NULL,
            PRIMARY KEY (submission_id, position))""",
    ),
]

_OLD_JOURNAL_FIELDS = ["student", "file", "assignment", "sha256", "tests_version", "seconds", "kind", "test", "points",
                       "max_points", "status", "message"]


def _is_old_journal(path: Path) -> bool:
    """Whether ``path`` is the journal of a grader before SQLite (not an export of :meth:`Journal.export_csv`)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return next(csv.reader(f), None) == _OLD_JOURNAL_FIELDS


def _read_old_journal(path: Path) -> list:
    """The completely recorded submissions of an older grader's ``journal.csv``: rows start, test..., note..., end
    per submission, appended as graded. A submission cut off by a kill (no end row, a torn last line) or with a
    damaged row is left out, to be graded again; of one graded twice, the last."""
    done: dict = {}
    current: dict = {}          # the submission being read, by key, until its end row
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        try:
            for row in csv.DictReader(f):
                if any(row.get(k) is None for k in _OLD_JOURNAL_FIELDS):
                    continue                    # a torn line (the grader was killed while writing it)
                key = (row["student"], row["file"], row["sha256"], row["tests_version"])
                try:
                    if row["kind"] == "start":
                        current[key] = Submission(row["student"], row["assignment"], Path(row["file"]),
                                                  seconds=float(row["seconds"] or 0), sha256=row["sha256"],
                                                  tests_version=row["tests_version"])
                    elif key not in current:
                        continue
                    elif row["kind"] == "test":
                        current[key].tests.append(TestResult(row["test"], float(row["max_points"]), row["status"],
                                                             float(row["points"]), row["message"]))
                    elif row["kind"] == "note":
                        current[key].notes.append(row["message"])
                    elif row["kind"] == "end":
                        done.pop(key, None)
                        done[key] = current.pop(key)
                except ValueError:
                    current.pop(key, None)      # a damaged row: its submission is graded again
        except csv.Error:
            pass                                # a torn quoted field at the end of the file
    return list(done.values())


class Journal:
    """What has been graded, kept on disk as it happens: ``out/journal.sqlite``, an SQLite database.

    :meth:`record` writes a submission (its row, its tests' results, its notes) in one transaction and commits it
    to disk before it returns, so that killing the grader at any moment loses at most the submissions in progress:
    a submission is in the journal whole or not at all. A submission is known by its student, file name, sha256
    and the version of the tests (the sha256 of the instructor's notebook and the library's checks):
    :meth:`lookup` gives back its graded :class:`Submission` when all four match, so that a rerun grades only
    what is new or changed, and a corrected test regrades the class. Thread-safe (the grader's ``--jobs``).

    The schema (version :attr:`SCHEMA_VERSION`, kept in SQLite's ``PRAGMA user_version``)::

        submissions (id, student, file, assignment, sha256, tests_version, seconds, graded_at)
        results     (submission_id, kind, position, grade_id, points, max_points, status, message)
        notes       (submission_id, position, message)

    ``file`` is the submitted file's name, ``graded_at`` an ISO 8601 time in UTC (NULL for a submission imported
    from an older journal, which did not keep it), ``position`` a test's or note's place in its submission. A
    result's ``kind`` is ``'auto'`` (the grader's tests); ``'manual'`` is there for points given by hand per cell,
    which a later version may add beside the automatic ones without changing what is stored. Such a version
    appends its changes to :data:`_MIGRATIONS`: opening an older journal brings it up to date in one
    transaction, and a journal newer than the code is refused rather than misread.

    The CSV for people is :meth:`export_csv` (the grader writes ``out/journal.csv`` at the end of each run). A
    ``journal.csv`` left by an older version of the grader (its journal before SQLite) is imported once, when
    ``journal.sqlite`` is created; :attr:`notice` says so.
    """

    SCHEMA_VERSION = len(_MIGRATIONS)
    EXPORT_FIELDS = ["submission", "student", "file", "assignment", "sha256", "tests_version", "seconds", "graded_at",
                     "kind", "test", "points", "max_points", "status", "message"]

    def __init__(self, out: Path):
        self.path = Path(out) / "journal.sqlite"
        self._lock = threading.Lock()
        self.notice = ""        # what the instructor should know about this journal's start, or ""
        old = Path(out) / "journal.csv"
        if self.path.exists():
            with self._transaction(write=True):         # brings an older schema up to date (or refuses a newer)
                pass
        elif old.exists() and _is_old_journal(old):
            graded = _read_old_journal(old)
            with self._transaction(write=True) as db:
                for sub in graded:
                    self._insert(db, sub, graded_at=None)
            self.notice = (f"{len(graded)} graded submissions imported from {old} (the journal of an older version "
                           f"of the grader) into {self.path}")
        elif old.exists():
            self.notice = (f"{old} is an export of a journal that is no longer there ({self.path}); it is not read "
                           "back, so every notebook is graded again")

    @contextmanager
    def _transaction(self, write: bool = False):
        """A connection of its own, in one transaction (``write``: the schema made or brought up to date first);
        committed when the block ends, rolled back if it raises."""
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)     # BEGIN and COMMIT are ours
            try:
                # The default rollback journal (no -wal/-shm files beside, and it works in a network folder) with
                # synchronous=FULL: COMMIT returns only after the journal and the database are fsynced, so a
                # recorded submission survives a power cut too, as the CSV journal's fsync did. That costs a few
                # milliseconds per submission, which takes seconds to grade.
                db.execute("PRAGMA synchronous = FULL")
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    if write:
                        self._migrate(db)
                    yield db
                except BaseException:
                    if db.in_transaction:       # (an error may have ended it already)
                        db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                db.close()

    def _migrate(self, db) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > self.SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} has schema version {version}, written by a newer version of the grader; "
                               f"this one reads up to version {self.SCHEMA_VERSION}")
        for statements in _MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        if version < self.SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {self.SCHEMA_VERSION:d}")

    @staticmethod
    def _insert(db, sub: Submission, graded_at) -> None:
        cursor = db.execute("INSERT INTO submissions (student, file, assignment, sha256, tests_version, seconds, "
                            "graded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (sub.student, sub.path.name, sub.assignment, sub.sha256, sub.tests_version,
                             float(sub.seconds), graded_at))
        db.executemany("INSERT INTO results (submission_id, kind, position, grade_id, points, max_points, status, "
                       "message) VALUES (?, 'auto', ?, ?, ?, ?, ?, ?)",
                       [(cursor.lastrowid, i, t.grade_id, float(t.points), float(t.max_points), t.status,
                         str(t.message)) for i, t in enumerate(sub.tests)])
        db.executemany("INSERT INTO notes (submission_id, position, message) VALUES (?, ?, ?)",
                       [(cursor.lastrowid, i, str(note)) for i, note in enumerate(sub.notes)])

    def lookup(self, student: str, path: Path, sha256: str, tests_version: str):
        """The graded submission with these versions, or None (never graded, changed, or cut off by a kill)."""
        if not self.path.exists():
            return None
        with self._transaction() as db:
            row = db.execute("SELECT id, assignment, seconds FROM submissions WHERE student = ? AND file = ? AND "
                             "sha256 = ? AND tests_version = ? ORDER BY id DESC LIMIT 1",
                             (student, Path(path).name, sha256, tests_version)).fetchone()
            if row is None:
                return None
            tests = [TestResult(*r) for r in db.execute(
                "SELECT grade_id, max_points, status, points, message FROM results WHERE submission_id = ? AND "
                "kind = 'auto' ORDER BY position", (row[0],))]
            notes = [m for (m,) in db.execute("SELECT message FROM notes WHERE submission_id = ? ORDER BY position",
                                              (row[0],))]
        return Submission(student, row[1], Path(path), tests, notes, row[2], sha256, tests_version)

    def record(self, sub: Submission) -> None:
        """Write ``sub`` (its tests' results and its notes) in one transaction, on disk when this returns."""
        graded_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction(write=True) as db:
            self._insert(db, sub, graded_at)

    def export_csv(self, path: Path) -> Path:
        """The whole journal as a CSV (:attr:`EXPORT_FIELDS`): a row per result (``kind`` auto or manual) and per note
        (``kind`` note), in the order graded; a submission with neither has one row of its own. Written to a
        temporary file first, then renamed: a kill leaves the previous export."""
        rows = []
        if self.path.exists():
            with self._transaction() as db:
                results, notes = {}, {}
                for r in db.execute("SELECT submission_id, kind, grade_id, points, max_points, status, message "
                                    "FROM results ORDER BY submission_id, kind, position"):
                    results.setdefault(r[0], []).append(dict(kind=r[1], test=r[2], points=f"{r[3]:g}",
                                                             max_points=f"{r[4]:g}", status=r[5], message=r[6]))
                for r in db.execute("SELECT submission_id, message FROM notes ORDER BY submission_id, position"):
                    notes.setdefault(r[0], []).append(dict(kind="note", message=r[1]))
                for r in db.execute("SELECT id, student, file, assignment, sha256, tests_version, seconds, graded_at "
                                    "FROM submissions ORDER BY id"):
                    base = dict(zip(self.EXPORT_FIELDS, r[:6]), seconds=f"{r[6]:.3f}", graded_at=r[7] or "")
                    rows += [dict(base, **line) for line in results.get(r[0], []) + notes.get(r[0], [])] or [base]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.EXPORT_FIELDS, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)
        return path


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
