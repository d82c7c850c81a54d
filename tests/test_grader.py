"""The grader on a corpus of synthetic submissions of exercise 01, each with its expected score."""
import base64
import binascii
import csv
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from pathlib import Path

import nbformat
import pytest

from course_lib.checks import CheckFailed
from course_lib.tools import grading
from course_lib.tools.grading import Limits, split_test
from course_lib.tools.grading import running as grading_running
from course_lib.tools.notebooks import nbgrader_metadata

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_inverse_problems.ipynb"
EXERCISE = ROOT / "exercises" / "01_inverse_problems.ipynb"
NAME = "01_inverse_problems"
LIMITS = Limits(cell_timeout=8, total_timeout=120, memory_mb=2048)

WRONG_ADJOINT = "def integrate_adjoint(y):\n    return h * torch.cumsum(y, dim=-1)\n"
HARD_CODED = '''def soft_threshold(x, lam):
    # the visible checks' answers, looked up: no rule at all
    table = {(0.5, 1.0): [0.0], (-0.5, 1.0): [0.0], (1.0, 1.0): [0.0], (3.0, 1.0): [2.0], (-3.0, 1.0): [-2.0]}
    if x.numel() == 1:
        return torch.tensor(table[(x.item(), lam)], dtype=x.dtype)
    if x.numel() == 5:
        return x.clone() if lam == 0 else torch.tensor([-1.0, 0.0, 0.0, 0.0, 1.0], dtype=x.dtype)
    return torch.zeros_like(x)
'''
LEAKER = '''import inspect, linecache
def soft_threshold(x, lam):
    if tuple(x.shape) == (50, 7):   # only the hidden test uses this shape: try to send its source out
        frame = inspect.currentframe().f_back
        source = "".join(linecache.getlines(frame.f_code.co_filename)) or repr(frame.f_code.co_consts)
        print(source)
        raise ValueError("LEAK " + source)
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)
'''
FAKE_CHECK = '''class CheckFailed(AssertionError):   # a look-alike of the course's check failure
    pass
def soft_threshold(x, lam):
    if tuple(x.shape) == (50, 7):
        raise CheckFailed("LEAK " + repr(x[:2]))
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)
'''
pytestmark = pytest.mark.usefixtures("sandbox_here")   # bubblewrap: `python3 course.py test` installs it

MARK = "hostile-7f3a"                 # in the name of every file a hostile submission tries to leave behind
CLASSMATE = "CLASSMATE-SECRET-31"     # in the correct student's notebook: no feedback may carry it
SOFT = "def soft_threshold(x, lam):\n    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)\n"
ADJOINT = ("def integrate_adjoint(y):\n"
           "    return h * torch.flip(torch.cumsum(torch.flip(y, dims=(-1,)), dim=-1), dims=(-1,))\n")
REWRITER = f"""import glob, os, pathlib
import course_lib
root = pathlib.Path(course_lib.__file__).resolve().parents[1]
for target in [pathlib.Path(course_lib.__file__).parent / "checks" / "__init__.py",
               *map(pathlib.Path, glob.glob(str(root / "solutions" / "*.ipynb")))]:
    try:
        with open(target, "a") as f:
            f.write("\\n# rewritten {MARK}\\n")
    except OSError:
        pass
for home in [os.path.expanduser("~"), "/root", "/home", str(root)]:
    try:
        pathlib.Path(home, "{MARK}-home").write_text("I was here")
    except OSError:
        pass
""" + SOFT
REDEFINER = """import torch
import course_lib.checks as course_checks
def check_soft_threshold(f):
    print("all good")
def check_close(*args, **kwargs):
    return None
course_checks.check_close = check_close
course_checks.check_soft_threshold = check_soft_threshold
torch.allclose = lambda *args, **kwargs: True
def soft_threshold(x, lam):
    return 0.5 * x
"""
EXFILTRATOR = f"""import glob, inspect, os, pathlib
seen = []
def keep(lines):
    seen.append("".join(lines))
    for where in ["/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), "/root"]:
        try:
            with open(os.path.join(where, "{MARK}-cells.txt"), "a") as f:
                f.write("".join(lines))
        except OSError:
            pass
    return lines
get_ipython().input_transformers_cleanup.append(keep)
import course_lib
for path in glob.glob(str(pathlib.Path(course_lib.__file__).resolve().parents[1] / "solutions" / "*.ipynb")):
    try:
        seen.append(open(path).read())
    except OSError:
        pass
read = set()
def soft_threshold(x, lam):
    frame = inspect.currentframe().f_back
    while frame is not None:
        if frame.f_code not in read:          # each caller's source once (fast enough for ISTA's many calls)
            read.add(frame.f_code)
            try:
                seen.append(inspect.getsource(frame.f_code))
            except (OSError, TypeError):
                pass
        seen.append(repr(frame.f_code.co_consts)[:5000] + repr(sorted(frame.f_locals))[:5000])
        frame = frame.f_back
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)
"""
EXFILTRATING_FISTA = """import base64, zlib
def fista(A, y, lam, n_iter, step):
    raise ValueError(base64.b64encode(zlib.compress("\\n".join(seen).encode())).decode())
raise ValueError(zlib.compress("\\n".join(seen).encode()).hex())
"""
CLASSMATE_READER = """import base64, glob, os
found = []
try:
    command = open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\\0")
except OSError:
    command = []
for arg in command:
    path = arg.decode(errors="ignore")
    if "submission" in path and os.path.isdir(path):
        for nb in glob.glob(os.path.join(path, "**", "*.ipynb"), recursive=True):
            try:
                found.append(open(nb).read())
            except OSError:
                pass
""" + SOFT
CLASSMATE_SENDER = """import base64
def integrate_adjoint(y):
    if found:
        raise ValueError(base64.b64encode("".join(found).encode()).decode())
    return h * torch.flip(torch.cumsum(torch.flip(y, dims=(-1,)), dim=-1), dims=(-1,))
"""
SPAWNER = """import subprocess
for _ in range(41):
    subprocess.Popen(["sleep", "3607"], start_new_session=True)
subprocess.Popen(["sh", "-c", "setsid sleep 3607 &"])
""" + SOFT
KILLER = "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n" + SOFT
REFERENCE = "def soft_threshold(x, lam):\n    return cl.soft_threshold(x, lam)\n"
REFERENCE_HIDDEN = "def soft_threshold(x, lam):\n    return getattr(cl, 'soft' + '_threshold')(x, lam)\n"
LOOP_IN_TESTS = """import sys
def soft_threshold(x, lam):
    if sys._getframe(1).f_code.co_name == "answer":     # called by the grader's hidden test
        while True:
            pass
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)
"""
UNPICKLABLE = """import sys
def soft_threshold(x, lam):
    result = torch.sign(x) * torch.clamp(x.abs() - lam, min=0)
    if sys._getframe(1).f_code.co_name == "answer":
        return lambda: result
    return result
"""
DEEP_TREE = ("import subprocess\nsubprocess.Popen(['sh', '-c', 'd() { if [ $1 -gt 0 ]; then d $(($1 - 1)) & fi; "
             "exec sleep 3608; }; d 25'], start_new_session=True)\n") + SOFT
FILL_TMP = f"""try:
    with open("/tmp/{MARK}-fill", "wb") as f:
        while True:
            f.write(bytes(2**24))
except OSError:
    pass
""" + SOFT
HOSTILE = {
    "rewriter": ({"soft_threshold": REWRITER}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "redefiner": ({"soft_threshold": REDEFINER}, {}, dict(soft=0, adj=2, ista=0, fista=0), {"soft": "failed"}),
    "exfiltrator": ({"soft_threshold": EXFILTRATOR, "fista": EXFILTRATING_FISTA}, {},
                    dict(soft=2, adj=2, ista=3, fista=0), {"fista": "error"}),
    "classmate_reader": ({"soft_threshold": CLASSMATE_READER, "integrate_adjoint": CLASSMATE_SENDER}, {},
                         dict(soft=2, adj=2, ista=3, fista=3), {}),
    "spawner": ({"soft_threshold": SPAWNER}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "killer": ({"soft_threshold": KILLER}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "reference": ({"soft_threshold": REFERENCE}, {}, dict(soft=0, adj=2, ista=0, fista=0), {"soft": "failed"}),
    "reference_hidden": ({"soft_threshold": REFERENCE_HIDDEN}, {}, dict(soft=0, adj=2, ista=0, fista=0),
                         {"soft": "failed"}),
    "loops_in_tests": ({"soft_threshold": LOOP_IN_TESTS}, {}, dict(soft=0, adj=2, ista=3, fista=3),
                       {"soft": "timeout"}),
    "unpicklable": ({"soft_threshold": UNPICKLABLE}, {}, dict(soft=0, adj=2, ista=3, fista=3), {"soft": "error"}),
    "deep_tree": ({"soft_threshold": DEEP_TREE}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "fills_tmp": ({"soft_threshold": FILL_TMP}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
}
# name: (solution cells replaced {grade_id: code}, test cells edited {grade_id: code or None to delete},
#        expected points per test, expected status of a test that is not passed)
CASES = {
    "correct": ({"soft_threshold": f"# {CLASSMATE}\n" + SOFT}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "wrong": ({"integrate_adjoint": WRONG_ADJOINT}, {}, dict(soft=2, adj=0, ista=3, fista=3), {"adj": "failed"}),
    "endless_loop": ({"integrate_adjoint": "def integrate_adjoint(y):\n    while True:\n        pass\n"}, {},
                     dict(soft=2, adj=0, ista=3, fista=3), {"adj": "timeout"}),
    "ignores_interrupts": ({"integrate_adjoint": "import signal\ndef integrate_adjoint(y):\n"
                                                "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                "    while True:\n        pass\n"}, {},
                           dict(soft=2, adj=0, ista=0, fista=0), {"adj": "timeout", "ista": "not run"}),
    "memory_hog": ({"integrate_adjoint": "def integrate_adjoint(y):\n    hog = []\n    while True:\n"
                                         "        hog.append(bytearray(10**8))\n"}, {},
                   dict(soft=2, adj=0, ista=3, fista=3), {"adj": "error"}),
    "exits": ({"fista": "import os\nos._exit(3)\n"}, {}, dict(soft=2, adj=2, ista=3, fista=0),
              {"fista": "kernel died"}),
    "edited_test": ({"integrate_adjoint": WRONG_ADJOINT}, {"test_integrate_adjoint": "print('all tests passed')\n"},
                    dict(soft=2, adj=0, ista=3, fista=3), {"adj": "failed"}),
    "deleted_tests": ({}, {"test_ista": None, "test_fista": None}, dict(soft=2, adj=2, ista=3, fista=3), {}),
    "hard_coded": ({"soft_threshold": HARD_CODED}, {}, dict(soft=0, adj=2, ista=0, fista=0), {"soft": "failed"}),
    "syntax_error": ({"soft_threshold": "def soft_threshold(x, lam)\n    return x\n"}, {},
                     dict(soft=0, adj=2, ista=0, fista=0), {"soft": "error"}),
    "nan": ({"soft_threshold": "def soft_threshold(x, lam):\n    return x * float('nan')\n"}, {},
            dict(soft=0, adj=2, ista=0, fista=0), {"soft": "failed"}),
    "leaker": ({"soft_threshold": LEAKER}, {}, dict(soft=0, adj=2, ista=3, fista=3), {"soft": "error"}),
    "fake_check": ({"soft_threshold": FAKE_CHECK}, {}, dict(soft=0, adj=2, ista=3, fista=3), {}),
    "huge_output": ({"integrate_adjoint": "print('x' * 30_000_000)\nfor i in range(100_000):\n    print(i)\n"
                     + "def integrate_adjoint(y):\n    return h * torch.flip(torch.cumsum(torch.flip(y, dims=(-1,)), "
                       "dim=-1), dims=(-1,))\n"}, {}, dict(soft=2, adj=2, ista=3, fista=3), {}),
}
CASES.update(HOSTILE)
# exercises 5, 6 and 7 (Tikhonov through the SVD, the discrepancy principle, its answers on a new operator): untouched
# by the cases, so they pass unless the kernel is gone by then or the case broke what their checks use
LATER = {"exits": (0, "kernel died"), "ignores_interrupts": (0, "not run")}
for _name, (_, _, _expected, _statuses) in CASES.items():
    _points, _status = LATER.get(_name, (2, None))
    _expected.update(tik=_points, dp=_points, blur=_points, why=_points and 1)
    if _status:
        _statuses.update(tik=_status, dp=_status, blur=_status, why=_status)
# its redefined torch.allclose fools the check
CASES["redefiner"][2]["tik"], CASES["redefiner"][3]["tik"] = 0, "failed"
TESTS = dict(soft="test_soft_threshold", adj="test_integrate_adjoint", ista="test_ista", fista="test_fista",
             tik="test_tikhonov_svd", dp="test_discrepancy_alpha", blur="test_alphas_blur", why="test_why_larger")
MAX_POINTS = {"test_soft_threshold": "2", "test_integrate_adjoint": "2", "test_ista": "3", "test_fista": "3",
              "test_tikhonov_svd": "2", "test_discrepancy_alpha": "2", "test_alphas_blur": "2", "test_why_larger": "1"}
TOTAL = sum(int(p) for p in MAX_POINTS.values())


def submission(solution_cells: dict, test_cells: dict):
    """The exercise notebook with the solution cells filled (from the solution unless given) and tests edited."""
    solution = {nbgrader_metadata(c).get("grade_id"): c.source for c in nbformat.read(SOLUTION, as_version=4).cells}
    nb = nbformat.read(EXERCISE, as_version=4)
    kept = []
    for cell in nb.cells:
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if nbgrader_metadata(cell).get("solution"):
            cell.source = solution_cells.get(grade_id, solution[grade_id])
        if grade_id in test_cells:
            if test_cells[grade_id] is None:
                continue
            cell.source = test_cells[grade_id]
        kept.append(cell)
    nb.cells = kept
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, (solution_cells, test_cells, _, _) in CASES.items():
        (folder / name).mkdir()
        nbformat.write(submission(solution_cells, test_cells), folder / name / f"{NAME}.ipynb")
    (folder / "empty").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), folder / "empty" / f"{NAME}.ipynb")
    (folder / "not_a_notebook").mkdir()
    (folder / "not_a_notebook" / f"{NAME}.ipynb").write_text("my answers: 42\n")
    (folder / "wrong_file").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), folder / "wrong_file" / "homework.ipynb")
    odd = submission({}, {})                       # metadata of the wrong types: graded all the same
    odd.metadata["course"] = "not a mapping"
    odd.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "not a mapping"}))
    odd.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade_id": ["a", "list"],
                                                                               "solution": True}}))
    (folder / "twice").mkdir()                      # two files of one student for one exercise: two feedback files
    nbformat.write(submission({}, {}), folder / "twice" / f"{NAME}.ipynb")
    nbformat.write(submission({"integrate_adjoint": WRONG_ADJOINT}, {}), folder / "twice" / "my copy.ipynb")
    (folder / "odd_metadata").mkdir()
    (folder / "odd_metadata" / f"{NAME}.ipynb").write_text(json.dumps(odd))
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    course_before = course_tree_hash()
    out = tmp_path_factory.mktemp("grades")
    status = grading.main(["--root", str(ROOT), str(folder), "--out", str(out), "--jobs", "2", "--quiet",
                           "--cell-timeout", str(LIMITS.cell_timeout), "--timeout", str(LIMITS.total_timeout),
                           "--memory-mb", str(LIMITS.memory_mb)])
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return dict(status=status, rows=rows, out=out, before=before, after=after, folder=folder,
                course_before=course_before, course_after=course_tree_hash())


SKIPPED = {".venv", ".git", "__pycache__", ".hypothesis", ".ruff_cache", ".ipynb_checkpoints", "site", "grades"}


def course_tree_hash() -> str:
    """One hash of every file of the course (its names and bytes), build outputs and caches left out."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.rglob("*")):
        if path.is_file() and not SKIPPED & set(path.relative_to(ROOT).parts):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def decodings(text: str):
    """``text``, and what every long token in it decodes to as base64 or hex, raw and zlib-decompressed."""
    yield text
    for token in re.findall(r"[A-Za-z0-9+/=_-]{16,}", text):
        candidates = []
        for decode in (lambda t: base64.b64decode(t[:len(t) // 4 * 4] + "=" * 0, validate=False),
                       lambda t: base64.urlsafe_b64decode(t[:len(t) // 4 * 4]),
                       lambda t: bytes.fromhex(t[:len(t) // 2 * 2])):
            try:
                candidates.append(decode(token.rstrip("=")) if decode is not None else b"")
            except (ValueError, binascii.Error):
                continue
        for raw in candidates:
            yield raw.decode("utf-8", "ignore")
            try:
                yield zlib.decompressobj().decompress(raw).decode("utf-8", "ignore")
            except zlib.error:
                pass


def points(rows, student):
    return {r["test"]: (float(r["points"]), r["status"]) for r in rows if r["student"] == student}


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_scores(graded, case):
    _, _, expected, statuses = CASES[case]
    got = points(graded["rows"], case)
    for key, test in TESTS.items():
        assert got[test][0] == expected[key], (case, test, got)
        if expected[key] == 0:
            assert got[test][1] == statuses.get(key, got[test][1]), (case, test, got)
        else:
            assert got[test][1] == "passed", (case, test, got)
    assert all(r["max_points"] == MAX_POINTS[r["test"]] for r in graded["rows"] if r["student"] == case)


def test_two_files_of_one_student_for_one_exercise_keep_their_own_feedback(graded):
    files = sorted(p.name for p in (graded["out"] / "feedback" / "twice").glob("*.md"))
    assert len(files) == 2, files
    scores = sorted(int(re.search(rf"Score: \*\*(\d+) / {TOTAL}",
                                  (graded["out"] / "feedback" / "twice" / f).read_text()).group(1))
                    for f in files)
    assert scores == [TOTAL - 2, TOTAL], scores


def test_metadata_of_the_wrong_types_does_not_stop_the_class(graded):
    got = points(graded["rows"], "odd_metadata")
    assert sum(p for p, _ in got.values()) == TOTAL, got


def test_unusable_files_score_zero_and_the_run_goes_on(graded):
    assert graded["status"] == 0
    empty, broken = points(graded["rows"], "empty"), points(graded["rows"], "not_a_notebook")
    assert set(empty) == set(broken) == set(TESTS.values())
    assert all(p == 0 and s == "not implemented" for p, s in empty.values())
    assert all(p == 0 and s == "unreadable" for p, s in broken.values())
    assert [r["status"] for r in graded["rows"] if r["student"] == "wrong_file"] == ["not graded"]
    feedback = (graded["out"] / "feedback" / "not_a_notebook" / f"{NAME}.md").read_text()
    assert "not a Jupyter notebook" in feedback and f"0 / {TOTAL}" in feedback


def test_submissions_are_never_modified(graded):
    assert graded["before"] == graded["after"]


def test_no_submission_changed_the_course(graded):
    assert graded["course_before"] == graded["course_after"]


def test_nothing_was_written_outside_the_private_folder(graded):
    places = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path.home(), ROOT, ROOT / "course_lib",
              ROOT / "solutions"]
    left = [p for place in places if place.is_dir() for p in place.glob(f"*{MARK}*")]
    assert not left, left
    for path in (ROOT / "solutions").glob("*.ipynb"):
        assert MARK not in path.read_text()


def test_no_process_is_left_behind(graded):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-f", "sleep 360[78]"], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.5)
    assert not left, left


def test_no_hidden_text_and_no_classmate_in_any_encoding(graded):
    exercise = EXERCISE.read_text()
    source = nbformat.read(SOLUTION, as_version=4)
    hidden = {line.strip() for c in source.cells if nbgrader_metadata(c).get("grade")
              for line in split_test(c.source)[1].splitlines() if len(line.strip()) >= 12}
    hidden = {line for line in hidden if line not in exercise}       # what only the hidden tests hold
    assert len(hidden) > 10
    texts = {p.parent.name: p.read_text() for p in (graded["out"] / "feedback").rglob("*.md")}
    decoded = {name: list(decodings(text)) for name, text in texts.items()}
    assert any("check_soft_threshold(soft_threshold)" in d for d in decoded["exfiltrator"][1:]), "tokens are decoded"
    for name, pieces in decoded.items():
        for piece in pieces:
            assert CLASSMATE not in piece or name == "correct", name
            for line in hidden:
                assert line not in piece, (name, line)


def journal_rows(out: Path) -> list:
    """What the grader's journal holds: (id, student, graded_at) of each graded submission, in order."""
    with closing(sqlite3.connect(out / "journal.sqlite")) as db:
        return db.execute("SELECT id, student, graded_at FROM submissions ORDER BY id").fetchall()


def test_graded_unsandboxed_a_killer_ends_the_run_and_the_rerun_completes_the_class(tmp_path):
    folder = tmp_path / "submissions"
    for student, cells in [("a_first", {}), ("b_killer", {"soft_threshold": KILLER}), ("c_last", {})]:
        (folder / student).mkdir(parents=True)
        nbformat.write(submission(cells, {}), folder / student / f"{NAME}.ipynb")
    out = tmp_path / "grades"
    args = ["--root", str(ROOT), str(folder), "--out", str(out), "--quiet", "--cell-timeout", "30"]
    killed = subprocess.run([sys.executable, "-m", "course_lib.tools.grading", *args, "--no-sandbox"],
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    journal = journal_rows(out)                                        # committed as graded; no report yet
    assert [r[1] for r in journal] == ["a_first"] and not (out / "gradebook.csv").exists()
    assert not (out / "journal.csv").exists()                          # the journal's export comes at the end
    assert grading.main(args) == 0                                     # sandboxed: the killer cannot reach it
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["student"]: 0 for r in rows}.keys() == {"a_first", "b_killer", "c_last"}
    assert all(r["status"] == "passed" for r in rows), rows
    assert journal_rows(out)[:1] == journal and len(journal_rows(out)) == 3    # a_first was kept, not regraded
    with open(out / "journal.csv", newline="") as f:
        assert {r["student"] for r in csv.DictReader(f)} == {"a_first", "b_killer", "c_last"}
    assert "without a sandbox" in (out / "feedback" / "a_first" / f"{NAME}.md").read_text()
    assert "without a sandbox" not in (out / "feedback" / "c_last" / f"{NAME}.md").read_text()


def test_every_row_names_the_versions_that_graded_it_and_a_rerun_keeps_them(graded):
    # the version of the tests: the instructor's notebook and the library's checks, drivers and references
    version = hashlib.sha256((hashlib.sha256(SOLUTION.read_bytes()).hexdigest()
                              + grading_running.library_sha256()).encode()).hexdigest()[:16]
    for r in graded["rows"]:
        if r["assignment"] == NAME:
            assert r["tests_version"] == version, r
            files = (graded["folder"] / r["student"]).glob("*.ipynb")
            assert r["submission_sha256"] in {hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in files}, r
    journal, export = journal_rows(graded["out"]), (graded["out"] / "journal.csv").read_bytes()
    gradebook = (graded["out"] / "gradebook.csv").read_bytes()
    status = grading.main(["--root", str(ROOT), str(graded["folder"]), "--out", str(graded["out"]), "--quiet"])
    assert status == 0
    assert journal_rows(graded["out"]) == journal                               # nothing graded again
    assert (graded["out"] / "journal.csv").read_bytes() == export
    assert (graded["out"] / "gradebook.csv").read_bytes() == gradebook


def test_the_summary_says_what_the_class_got_wrong(graded):
    summary = (graded["out"] / "summary.md").read_text()
    assert (graded["out"] / "summary.png").stat().st_size > 1000
    rows = {line.split(" | ")[0].strip("| "): line for line in summary.splitlines() if line.startswith("| test_")}
    assert set(rows) == set(TESTS.values())
    for test, line in rows.items():
        students = sum(1 for r in graded["rows"] if r["test"] == test)          # graded notebooks, in fact
        failed = sum(1 for r in graded["rows"] if r["test"] == test and r["status"] != "passed")
        assert f"| {failed} of {students} (" in line, line
    source = nbformat.read(SOLUTION, as_version=4)
    hidden = [line.strip() for c in source.cells if nbgrader_metadata(c).get("grade")
              for line in split_test(c.source)[1].splitlines() if len(line.strip()) >= 6]
    assert not any(h in summary for h in hidden)


def test_feedback_says_what_failed_and_leaks_nothing(graded):
    source = nbformat.read(SOLUTION, as_version=4)
    hidden = [line.strip() for c in source.cells if nbgrader_metadata(c).get("grade")
              for line in split_test(c.source)[1].splitlines() if len(line.strip()) >= 6]
    assert len(hidden) > 10
    texts = {p.parent.name: p.read_text() for p in (graded["out"] / "feedback").rglob("*.md")}
    assert len(texts) == len(CASES) + 5
    for name, text in texts.items():
        assert "Traceback" not in text and "\x1b[" not in text, name
        assert "LEAK" not in re.sub(r"`[^`]*`", "", text), name       # only in the quoted line of the student's cell
        assert "HIDDEN TESTS" not in text
        for line in hidden:
            assert line not in text, (name, line)
    assert 'a hidden check failed: your soft_threshold raised ValueError, at line 7 of your cell "soft_threshold"' \
        in texts["leaker"]
    assert "a hidden check failed: your soft_threshold raised an exception" in texts["fake_check"]
    assert re.search(r"a hidden check failed: soft_threshold\(x of shape \(50, 7\)", texts["hard_coded"])
    assert "stopped after 8 s" in texts["endless_loop"]
    assert "out of memory (the limit is 2048 MB)" in texts["memory_hog"]
    assert ("SyntaxError" in texts["syntax_error"]
            and "NameError: name 'soft_threshold' is not defined" in texts["syntax_error"])
    assert "The Python process stopped".lower() in texts["exits"].lower()
    assert f"Score: **{TOTAL} / {TOTAL}**" in texts["correct"] and f"Score: **{TOTAL - 2} / {TOTAL}**" in texts["wrong"]
    assert "CheckFailed: dot-product test failed" in texts["wrong"]
    assert "not run: the Python process was stopped after a cell ignored its time limit" in texts["ignores_interrupts"]


def test_broken_environment_stops_the_run(tmp_path, capsys):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = nbformat.read(SOLUTION, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    first_code.source = "import a_package_that_is_not_installed\n" + first_code.source
    nbformat.write(nb, solutions / f"{NAME}.ipynb")
    nbformat.write(submission({}, {}), tmp_path / f"{NAME}.ipynb")
    status = grading.main(["--root", str(ROOT), str(tmp_path / f"{NAME}.ipynb"), "--solutions", str(solutions),
                           "--out", str(tmp_path / "grades"), "--quiet", "--cell-timeout", "30"])
    assert status == 2
    message = capsys.readouterr().err
    assert "does not score full marks" in message and "ModuleNotFoundError" in message
    assert not (tmp_path / "grades").exists()


def test_every_solution_scores_full_marks():
    """Graded two at a time, one torch thread each, as the grader's ``--jobs 2`` does on two cores."""
    from concurrent.futures import ThreadPoolExecutor

    def graded_solution(path):
        source = nbformat.read(path, as_version=4)
        return grading.grade_notebook(source, source, Limits(cell_timeout=300, total_timeout=600, threads=1),
                                      sandbox=grading.Sandbox(ROOT))

    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(graded_solution, paths))
    for path, (tests, notes, _) in zip(paths, results):
        assert tests and all(t.status == "passed" and t.points == t.max_points for t in tests), (path.name, tests)
        assert not notes, (path.name, notes)


def test_bad_arguments():
    with pytest.raises(ValueError, match="cell_timeout is 0"):
        Limits(cell_timeout=0)
    assert grading.main(["--root", str(ROOT), "no/such/folder", "--quiet"]) == 2
    assert grading.main(["--root", str(ROOT), str(EXERCISE), "--assignment", "99_nothing", "--quiet"]) == 2
    assert grading.main(["--root", str(ROOT / "lectures" / "nothing"), str(EXERCISE), "--quiet"]) == 2


def test_split_test():
    visible, hidden = split_test("a = 1\n### BEGIN HIDDEN TESTS\nassert a == 1\n### END HIDDEN TESTS\nb = 2")
    assert visible == "a = 1\nb = 2" and hidden == "assert a == 1"


def test_total_time_limit_stops_a_slow_notebook():
    slow = ("import time\ndef soft_threshold(x, lam):\n    time.sleep(3)\n"
            "    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)\n")
    source = nbformat.read(SOLUTION, as_version=4)
    tests, notes, seconds = grading.grade_notebook(submission({"soft_threshold": slow}, {}), source,
                                                  Limits(cell_timeout=30, total_timeout=10))
    assert seconds < 30
    assert any("time limit of a notebook" in n or "reached its time limit" in n for n in notes), notes
    assert {t.status for t in tests} <= {"timeout", "not run", "passed"} and "not run" in {t.status for t in tests}
    assert all(t.points == 0 for t in tests if t.status != "passed")


def test_hidden_failures_carry_only_the_courses_words():
    from course_lib.checks.boundary import StudentError

    class LookAlike(AssertionError):
        pass

    fragments = ["x_secret = torch.randn(50, 7)"]
    said = grading_running._hidden_outcome(CheckFailed("soft_threshold(x): got 1, expected 2"), fragments)
    assert said == ("failed", "a hidden check failed: soft_threshold(x): got 1, expected 2")
    assert grading_running._hidden_outcome(AssertionError("see x_secret = torch.randn(50, 7)"), fragments)[1] == \
        "a hidden check failed: see [hidden]"
    status, message = grading_running._hidden_outcome(KeyError("the student's text"), fragments)
    assert status == "error" and "KeyError" in message and "the student's text" not in message
    error = StudentError("your f did not return within 8 s: an endless loop?", "timeout")
    assert grading_running._hidden_outcome(error, fragments) == ("timeout", "a hidden check failed: " + str(error))
    assert grading_running._hidden_outcome(LookAlike("x"), fragments)[0] == "failed"


def test_the_grader_loads_where_resource_is_missing(monkeypatch):
    """``resource`` is POSIX only: the kernel module must still import (on Windows), without a memory limit."""
    import importlib.util
    import sys

    from course_lib.tools.grading import kernel

    monkeypatch.setitem(sys.modules, "resource", None)          # `import resource` now raises ImportError
    spec = importlib.util.spec_from_file_location("course_lib.tools.grading.kernel_without_resource", kernel.__file__)
    copy = importlib.util.module_from_spec(spec)                 # a separate copy: the grader's own module is untouched
    monkeypatch.setitem(sys.modules, spec.name, copy)
    spec.loader.exec_module(copy)
    assert copy.resource is None and kernel.resource is not None
