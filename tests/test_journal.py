"""The grader's journal (``out/journal.sqlite``): what has been graded, whole or not at all. No sandbox needed."""
import csv
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from course_lib.tools.grading import reports
from course_lib.tools.grading.reports import Journal, Submission, TestResult

NAME = "01_inverse_problems"
KEY = ("ada", f"{NAME}.ipynb", "f" * 64, "v1")        # student, file name, sha256, tests version


def graded(student="ada", file=f"{NAME}.ipynb", sha256="f" * 64, tests_version="v1", points=2.0):
    """A graded submission: test_a (``points`` of 2, with a two-line message when 0), test_b (3 of 3), two notes."""
    return Submission(student, NAME, Path("submissions", student, file),
                      [TestResult("test_a", 2, "passed" if points == 2 else "failed", points,
                                  "" if points else "two\nlines"),
                       TestResult("test_b", 3, "passed", 3.0)],
                      ["a note", "and, a \"quoted\"\nsecond one"], 1.5, sha256, tests_version)


def sql(out: Path, statement: str) -> list:
    """Run one statement on the journal ``out/journal.sqlite`` (committed) and return its rows."""
    with closing(sqlite3.connect(out / "journal.sqlite")) as db, db:
        return db.execute(statement).fetchall()


def rows(out: Path, table: str) -> list:
    return sql(out, f"SELECT * FROM {table}")


def test_lookup_needs_all_four_keys_and_gives_back_what_was_recorded(tmp_path):
    journal = Journal(tmp_path / "grades")
    assert not (tmp_path / "grades").exists()          # nothing written until something is graded
    assert journal.lookup(*KEY) is None
    sub = graded(points=0.0)
    journal.record(sub)
    kept = journal.lookup("ada", tmp_path / "elsewhere" / f"{NAME}.ipynb", "f" * 64, "v1")
    assert kept.path == tmp_path / "elsewhere" / f"{NAME}.ipynb"        # the file as found now, known by its name
    assert (kept.student, kept.assignment, kept.tests, kept.notes, kept.seconds, kept.sha256, kept.tests_version) == \
        (sub.student, sub.assignment, sub.tests, sub.notes, sub.seconds, sub.sha256, sub.tests_version)
    assert kept.score == 3 and kept.max_score == 5 and kept.tests[0].message == "two\nlines"
    for i, other in enumerate(["bob", "my copy.ipynb", "0" * 64, "v2"]):   # another student, file, submission, tests
        key = list(KEY)
        key[i] = other
        assert journal.lookup(*key) is None, key
    journal.record(graded(points=2.0))                  # graded again with the same versions: the last one counts
    assert journal.lookup(*KEY).score == 5


def test_the_journal_is_kept_in_a_versioned_schema(tmp_path):
    Journal(tmp_path).record(graded())
    assert sql(tmp_path, "PRAGMA user_version") == [(Journal.SCHEMA_VERSION,)] == [(1,)]
    assert sql(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    (submission,) = rows(tmp_path, "submissions")
    assert submission[1:7] == ("ada", f"{NAME}.ipynb", NAME, "f" * 64, "v1", 1.5) and submission[7].endswith("+00:00")
    assert [r[1:5] for r in rows(tmp_path, "results")] == [("auto", 0, "test_a", 2.0), ("auto", 1, "test_b", 3.0)]
    assert [r[1:] for r in rows(tmp_path, "notes")] == [(0, "a note"), (1, "and, a \"quoted\"\nsecond one")]
    # points given by hand for a cell (a later version's) sit beside the grader's, and are not its tests
    sql(tmp_path, "INSERT INTO results VALUES (1, 'manual', 0, 'test_a', 1, 2, 'graded by hand', 'fine')")
    assert Journal(tmp_path).lookup(*KEY).tests == graded().tests
    sql(tmp_path, "PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="schema version 99, written by a newer version"):
        Journal(tmp_path)


# Records bob's submission and is killed (SIGKILL) as a chosen statement of its transaction begins, or just after
# record returns. reports.py is loaded by its path: course_lib's __init__ imports torch, seconds per process.
KILLED_WHILE_RECORDING = """
import importlib.util, os, signal, sqlite3, sys, types
from pathlib import Path
spec = importlib.util.spec_from_file_location("reports", sys.argv[1])
reports = sys.modules["reports"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reports)
out, stage = Path(sys.argv[2]), sys.argv[3]

def connect(*args, **kwargs):
    db = sqlite3.connect(*args, **kwargs)
    db.set_trace_callback(lambda sql: sql.startswith(stage) and os.kill(os.getpid(), signal.SIGKILL))
    return db

journal = reports.Journal(out)
reports.sqlite3 = types.SimpleNamespace(connect=connect)      # armed for record only
bob = reports.Submission("bob", "01", Path("01.ipynb"),
                         [reports.TestResult(f"t{i}", 1, "passed", 1.0) for i in range(3)],
                         ["a note"], 1.0, "e" * 64, "v1")
journal.record(bob)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("stage", ["BEGIN", "INSERT INTO submissions", "INSERT INTO results", "INSERT INTO notes",
                                   "COMMIT", "after record returned"])
def test_a_kill_at_any_moment_loses_only_the_submission_in_progress(tmp_path, stage):
    Journal(tmp_path).record(graded())
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_RECORDING, reports.__file__, str(tmp_path), stage],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    journal = Journal(tmp_path)
    assert journal.lookup(*KEY).score == 5                                  # graded before: intact
    bob = journal.lookup("bob", Path("01.ipynb"), "e" * 64, "v1")
    if stage == "after record returned":
        assert bob.score == 3 and bob.notes == ["a note"]                   # committed before record returned
    else:
        assert bob is None                                                  # cut off: graded again, from scratch
        assert [r[1] for r in rows(tmp_path, "submissions")] == ["ada"] and len(rows(tmp_path, "results")) == 2
    assert sql(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    journal.record(graded("cy"))                                            # and the journal goes on
    assert Journal(tmp_path).lookup("cy", *KEY[1:]).score == 5


def test_an_uncommitted_submission_is_not_graded(tmp_path):
    journal = Journal(tmp_path)
    journal.record(graded())
    writer = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO submissions VALUES (7, 'bob', '01.ipynb', '01', 'e', 'v1', 1.0, NULL)")
    assert journal.lookup("bob", Path("01.ipynb"), "e", "v1") is None      # in progress: not there yet
    assert journal.lookup(*KEY).score == 5
    writer.close()                                                          # never committed: rolled back
    assert Journal(tmp_path).lookup("bob", Path("01.ipynb"), "e", "v1") is None


def test_two_threads_record_at_once(tmp_path):
    journal = Journal(tmp_path)
    start = threading.Barrier(2)

    def grade(student):
        start.wait()
        for i in range(25):
            journal.record(graded(student, sha256=f"{i:064d}"))

    threads = [threading.Thread(target=grade, args=(student,)) for student in ("ada", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = Journal(tmp_path)                                               # reopened: everything is there, whole
    for student in ("ada", "bob"):
        for i in range(25):
            sub = again.lookup(student, Path(f"{NAME}.ipynb"), f"{i:064d}", "v1")
            assert sub.tests == graded().tests and sub.notes == graded().notes
    assert len(rows(tmp_path, "submissions")) == 50 and len(rows(tmp_path, "results")) == 100


def test_the_journal_is_exported_as_csv(tmp_path):
    journal = Journal(tmp_path)
    journal.record(graded())
    journal.record(Submission("bob", "?", Path("homework.ipynb"), sha256="e" * 64))     # no tests, no notes
    path = journal.export_csv(tmp_path / "journal.csv")
    with open(path, newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert [(r["student"], r["kind"], r["test"], r["points"], r["message"]) for r in exported] == [
        ("ada", "auto", "test_a", "2", ""), ("ada", "auto", "test_b", "3", ""),
        ("ada", "note", "", "", "a note"), ("ada", "note", "", "", "and, a \"quoted\"\nsecond one"),
        ("bob", "", "", "", "")]
    assert exported[0]["graded_at"] and exported[0]["seconds"] == "1.500" and exported[0]["sha256"] == "f" * 64
    assert journal.export_csv(tmp_path / "again.csv").read_bytes() == path.read_bytes()
    (tmp_path / "journal.sqlite").unlink()                  # an export is not a journal: it is not read back
    fresh = Journal(tmp_path)
    assert "not read back" in fresh.notice and fresh.lookup(*KEY) is None


def old_journal(path: Path, subs: list) -> None:
    """A journal.csv as the grader wrote it before SQLite: rows start, test..., note..., end per submission, and a
    damaged submission after the first; the grader was killed while writing the last one's end row."""
    fields = ["student", "file", "assignment", "sha256", "tests_version", "seconds", "kind", "test", "points",
              "max_points", "status", "message"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        for i, sub in enumerate(subs):
            base = dict(student=sub.student, file=sub.path.name, assignment=sub.assignment, sha256=sub.sha256,
                        tests_version=sub.tests_version, seconds=f"{sub.seconds:.3f}")
            writer.writerow(dict(base, kind="start"))
            writer.writerows(dict(base, kind="test", test=t.grade_id, points=f"{t.points:g}",
                                  max_points=f"{t.max_points:g}", status=t.status,
                                  message=" ".join(t.message.splitlines())) for t in sub.tests)
            writer.writerows(dict(base, kind="note", message=" ".join(n.splitlines())) for n in sub.notes)
            writer.writerow(dict(base, kind="end"))
            if i == 0:
                f.write("eve,x.ipynb,01,aa,v1,not-a-number,start,,,,,\n")     # a damaged row
                f.write("eve,x.ipynb,01,aa,v1,1,end,,,,,\n")
    text = path.read_text()
    path.write_text(text[:text.rindex(f"{subs[-1].student},") + 12])       # the torn last line


def test_an_older_journal_csv_is_imported_once(tmp_path):
    old_journal(tmp_path / "journal.csv", [graded(), graded("bob", points=0.0), graded("cy")])
    journal = Journal(tmp_path)
    assert journal.notice.startswith("2 graded submissions imported from")
    assert journal.lookup(*KEY).score == 5 and journal.lookup(*KEY).notes == ["a note", "and, a \"quoted\" second one"]
    assert journal.lookup("bob", *KEY[1:]).tests[0].message == "two lines"
    assert journal.lookup("cy", *KEY[1:]) is None                       # cut off by a kill: graded again
    assert journal.lookup("eve", Path("x.ipynb"), "aa", "v1") is None   # damaged: graded again
    assert [r[7] for r in rows(tmp_path, "submissions")] == [None, None]   # when they were graded: not known
    again = Journal(tmp_path)                                           # once: the journal is the database now
    assert again.notice == "" and len(rows(tmp_path, "submissions")) == 2
