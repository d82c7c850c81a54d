"""Autograding: a submission's solution cells, the instructor's tests, a fresh limited kernel.

For each submitted notebook the grader

1. finds its exercise (``metadata.course.generated_from``, else the file name, else ``--assignment``);
2. takes **only the student's solution cells** (matched by nbgrader ``grade_id``, else by cell id)
   into a copy of the instructor's ``solutions/NN_name.ipynb``: edited, deleted or reordered test
   and other cells of the submission change nothing, and the hidden tests run;
3. runs that copy in a **fresh kernel process** of its own, in an empty temporary folder, with a
   per-cell timeout, a memory limit (``RLIMIT_AS``) and a total time limit. The visible part of
   each test cell runs first, then its hidden part, so the feedback can say which failed. A cell
   that times out is interrupted (the kernel is stopped if that fails); a kernel that dies (an
   ``os._exit``, a crash) scores 0 on the tests still to come, and the next submission goes on;
4. writes a row per test to a CSV gradebook (student, assignment, test, points, max_points,
   status) and a Markdown feedback file per student and assignment. Feedback shows each test's
   status and the message of the check that failed; never a traceback, never the source of a
   hidden test (any line of it that would appear in a message is replaced by ``[hidden]``).

Before a class is graded, the instructor's own solution notebook is graded as a submission: if
it does not score full marks (a missing package, a broken environment), the run stops with a
non-zero exit and says why, instead of giving everybody zeros. Submitted files are only read.

Command line (also ``python course.py grade ...``)::

    python -m course_lib.grader SUBMISSIONS... [--out grades] [--jobs 2] [--assignment NAME]
        [--cell-timeout 120] [--timeout 900] [--memory-mb 4096] [--solutions DIR]

``SUBMISSIONS`` are notebooks or folders: ``folder/<student>/<NN_name>.ipynb`` (one folder per
student, as nbgrader collects them) or ``folder/<student>.ipynb`` (with ``--assignment``).
"""
from __future__ import annotations

import argparse
import builtins
import copy
import csv
import json
import os
import queue
import re
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .nbtools import ROOT, _nbgrader, _source, _strip_blocks, marker_blocks

KERNEL_NAME = "course-grader"
HIDDEN_FILE = "<hidden test>"
MESSAGE_LIMIT = 600          # characters of an error message kept for the feedback
REDACTED = "[hidden]"
_BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)} | {"CheckFailed"}

# statuses of a test (points only for "passed")
PASSED, FAILED, ERROR, NOT_IMPLEMENTED = "passed", "failed", "error", "not implemented"
TIMEOUT, KERNEL_DIED, NOT_RUN, UNREADABLE = "timeout", "kernel died", "not run", "unreadable"


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds per cell, seconds in all, megabytes of memory."""

    cell_timeout: float = 120.0
    total_timeout: float = 900.0
    memory_mb: int = 4096

    def __post_init__(self):
        for name in ("cell_timeout", "total_timeout", "memory_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} is {value!r}; Limits expects a positive number")


@dataclass
class TestResult:
    grade_id: str
    max_points: float
    status: str = NOT_RUN
    points: float = 0.0
    message: str = ""


@dataclass
class Submission:
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


class GradingEnvironmentError(RuntimeError):
    """The grading itself cannot work (not a submission's fault): the run stops."""


# --------------------------------------------------------------------------- notebooks


def _read_notebook(path: Path):
    """The notebook at ``path``, or raise ValueError saying why it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"could not read the file ({type(error).__name__})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for non-notebooks
        raise ValueError(f"the file is not a Jupyter notebook ({type(error).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("the file is not a Jupyter notebook (no list of cells)")
    return nb


def split_test(source: str) -> tuple[str, str]:
    """A test cell's (visible code, hidden code): the hidden-test blocks' lines, markers dropped."""
    lines = source.splitlines()
    hidden_lines = set()
    for kind, begin, end in marker_blocks(source):
        if kind == "HIDDEN TESTS":
            hidden_lines.update(range(begin, end + 1))
    visible = [line for i, line in enumerate(lines) if i not in hidden_lines]
    hidden = [line for i, line in enumerate(lines) if i in hidden_lines and "HIDDEN TESTS" not in line]
    return "\n".join(visible), "\n".join(hidden)


def _student_cells(nb) -> tuple[dict, dict, list]:
    """The submission's code cells by grade_id and by cell id, and notes on duplicates."""
    by_grade_id, by_id, notes = {}, {}, []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id:
            if grade_id in by_grade_id:
                notes.append(f'Several of your cells carry grade_id "{grade_id}"; the first one was graded.')
            else:
                by_grade_id[grade_id] = cell
        if cell.get("id"):
            by_id.setdefault(cell["id"], cell)
    return by_grade_id, by_id, notes


def assemble(source_nb, submission_nb) -> tuple:
    """The notebook to run: the instructor's source with the student's solution cells in it.

    Returns ``(notebook, notes)``. A solution cell missing from the submission is replaced by
    the exercise's stub (it raises NotImplementedError), and a note says so.
    """
    nb = copy.deepcopy(source_nb)
    by_grade_id, by_id, notes = _student_cells(submission_nb)
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        mine = by_grade_id.get(grade_id) or by_id.get(cell.get("id"))
        if mine is None:
            cell.source = _strip_blocks(_source(cell), "code")
            notes.append(f'Your notebook has no cell "{grade_id}": it was graded as not done.')
        else:
            cell.source = _source(mine)
    return nb, notes


def _redact(text: str, hidden: list[str]) -> str:
    """``text`` with every hidden line (stripped, see :func:`_hidden_fragments`) replaced by [hidden]."""
    for line in hidden:
        if line in text:
            text = text.replace(line, REDACTED)
    return text


def _hidden_fragments(source_nb) -> list[str]:
    """The stripped lines of all hidden tests, longest first (short ones such as ')' are skipped)."""
    lines = set()
    for cell in source_nb.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("grade"):
            lines.update(line.strip() for line in split_test(_source(cell))[1].splitlines())
    return sorted((line for line in lines if len(line) >= 6), key=len, reverse=True)


# --------------------------------------------------------------------------- the kernel


def _kernel_main(argv=None) -> None:
    """``python -m course_lib.grader kernel --memory-mb N -f CONNECTION``: an ipykernel with a memory limit."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.grader kernel")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)
    limit = args.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance(argv=["-f", args.connection_file])


@dataclass
class CellRun:
    status: str                     # "ok", "error", TIMEOUT or KERNEL_DIED
    ename: str = ""
    evalue: str = ""
    output_chars: int = 0
    traceback: list = field(default_factory=list)
    limit: float = 0.0              # the seconds it was allowed


class LimitedKernel:
    """A fresh python kernel in its own process with a memory limit, run cell by cell."""

    def __init__(self, limits: Limits, workdir: Path, spec_dir: Path):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.limits = limits
        spec = spec_dir / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "course_lib.grader", "kernel", "--memory-mb", str(limits.memory_mb),
                     "-f", "{connection_file}"],
            "display_name": "course grader", "language": "python"}))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
               "PYTHONHASHSEED": "0"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(spec_dir / "kernel"),
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
        self.km.start_kernel(cwd=str(workdir), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=120)
        except RuntimeError as error:
            self.shutdown()
            raise GradingEnvironmentError(f"the grading kernel did not start: {error}") from None
        self.alive, self.died = True, False

    def run(self, code: str, timeout: float) -> CellRun:
        """Execute ``code``; stream output is counted and dropped, errors are kept."""
        if not self.alive:
            return CellRun(KERNEL_DIED)
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        result = CellRun("ok")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out(result, timeout)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.5, remaining))
            except queue.Empty:
                if not self.km.is_alive():
                    self.alive, self.died = False, True
                    return CellRun(KERNEL_DIED, output_chars=result.output_chars)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error":
                result.status, result.ename, result.evalue = "error", content.get("ename", ""), content.get("evalue", "")
                result.traceback = list(content.get("traceback", []))
            elif kind == "stream":
                result.output_chars += len(content.get("text", ""))
            elif kind == "status" and content.get("execution_state") == "idle":
                return result

    def _timed_out(self, result: CellRun, limit: float) -> CellRun:
        """Interrupt the cell; stop the kernel when it does not come back within 10 s."""
        self.km.interrupt_kernel()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return CellRun(TIMEOUT, output_chars=result.output_chars, limit=limit)
        self.shutdown()
        return CellRun(TIMEOUT, output_chars=result.output_chars, limit=limit)

    def shutdown(self) -> None:
        self.alive = False
        try:
            self.kc.stop_channels()
        except Exception:  # pragma: no cover - best effort
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:  # pragma: no cover - best effort
            pass


# --------------------------------------------------------------------------- grading one notebook


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME_FILE = re.compile(r"File (.+?):\d+")
_CHECKS = str(Path(__file__).resolve().with_name("checks.py"))


def _innermost_frame(traceback: list) -> str:
    """The file of the innermost frame of an IPython traceback ("<cell>" for a notebook cell)."""
    for entry in reversed(traceback):
        plain = _ANSI.sub("", entry).lstrip()
        match = _FRAME_FILE.match(plain)
        if match:
            return match.group(1)
        if plain.startswith("Cell In["):
            return "<cell>"
    return ""


def _authored(run: CellRun) -> bool:
    """Whether the error was raised by the course's checks or by a hidden test's own code."""
    frame = _innermost_frame(run.traceback)
    return frame in (HIDDEN_FILE, _CHECKS)


def _hidden_wrapper(code: str) -> str:
    """Run a hidden test under its own file name, so that its own errors can be told from the student's."""
    return f"exec(compile({code!r}, {HIDDEN_FILE!r}, 'exec'), globals())"


def _message(run: CellRun, hidden_part: bool, limits: Limits, fragments: list[str]) -> str:
    if run.status == TIMEOUT:
        which = "a cell" if run.limit >= limits.cell_timeout else "the notebook (what was left of it)"
        return f"stopped after {run.limit:.3g} s (the time limit of {which}): an endless loop?"
    if run.status == KERNEL_DIED:
        return "the Python process stopped (a crash, os._exit or too much memory): later tests did not run"
    memory = run.ename == "MemoryError" or "can't allocate memory" in run.evalue
    if hidden_part and not _authored(run):   # the student's own message: it could carry what it saw
        name = run.ename if run.ename in _BUILTIN_ERRORS else "an exception"
        return "a hidden check failed: " + (f"your code ran out of memory (the limit is {limits.memory_mb} MB)"
                                             if memory else f"your code raised {name}")
    text = f"{run.ename}: {run.evalue}" if run.evalue else run.ename
    if memory:
        text = f"out of memory (the limit is {limits.memory_mb} MB): {text}"
    text = _redact(text, fragments)
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT] + " [...]"
    return ("a hidden check failed: " if hidden_part else "") + text


def _status(run: CellRun) -> str:
    if run.status in (TIMEOUT, KERNEL_DIED):
        return run.status
    if run.ename == "NotImplementedError":
        return NOT_IMPLEMENTED
    if run.ename in ("AssertionError", "CheckFailed"):
        return FAILED
    return ERROR


def grade_notebook(submission_nb, source_nb, limits: Limits = Limits()) -> tuple:
    """Run the student's cells with the instructor's tests; returns ``(tests, notes, seconds)``.

    ``submission_nb`` may be None (an unreadable file: every test scores 0, nothing runs).
    """
    start = time.monotonic()
    tests = [TestResult(_nbgrader(c)["grade_id"], float(_nbgrader(c).get("points", 0)))
             for c in source_nb.cells if c.cell_type == "code" and _nbgrader(c).get("grade")
             and not _nbgrader(c).get("solution")]
    if submission_nb is None:
        for t in tests:
            t.status = UNREADABLE
        return tests, [], 0.0
    nb, notes = assemble(source_nb, submission_nb)
    fragments = _hidden_fragments(source_nb)
    by_id = {t.grade_id: t for t in tests}
    with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as tmp:
        (Path(tmp) / "run").mkdir()
        kernel = LimitedKernel(limits, Path(tmp) / "run", Path(tmp) / "spec")
        try:
            _run_cells(kernel, nb, by_id, notes, fragments, limits, start)
        finally:
            kernel.shutdown()
    return tests, notes, time.monotonic() - start


def _run_cells(kernel, nb, by_id: dict, notes: list, fragments: list, limits: Limits, start: float) -> None:
    """Run the assembled notebook cell by cell, filling in the tests' results and the notes."""
    tests = by_id.values()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        left = limits.total_timeout - (time.monotonic() - start)
        if left <= 0 or not kernel.alive:
            break
        timeout = min(limits.cell_timeout, left)
        test = by_id.get(meta.get("grade_id")) if meta.get("grade") and not meta.get("solution") else None
        if test is None:
            run = kernel.run(_source(cell), timeout)
            if run.status != "ok":
                first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
                where = (f'Your cell "{meta.get("grade_id")}"' if meta.get("solution")
                         else f"The notebook's cell `{first[:60]}`")
                notes.append(f"{where} stopped with " + _message(run, False, limits, fragments))
            continue
        visible, hidden = split_test(_source(cell))
        run = kernel.run(visible, timeout)
        hidden_part = False
        if run.status == "ok" and hidden.strip():
            left = limits.total_timeout - (time.monotonic() - start)
            run = kernel.run(_hidden_wrapper(hidden), min(limits.cell_timeout, max(left, 0.1)))
            hidden_part = True
        if run.status == "ok":
            test.status, test.points = PASSED, test.max_points
        else:
            test.status, test.message = _status(run), _message(run, hidden_part, limits, fragments)
    if time.monotonic() - start >= limits.total_timeout:
        why = f"the notebook reached its time limit ({limits.total_timeout:g} s)"
        notes.append(f"Grading stopped: {why}.")
    elif kernel.died:
        why = "the Python process stopped (a crash, os._exit or too much memory)"
    else:
        why = "the Python process was stopped after a cell ignored its time limit"
    for t in tests:
        if t.status == NOT_RUN:
            t.status = KERNEL_DIED if kernel.died else NOT_RUN
            t.message = f"not run: {why}"


# --------------------------------------------------------------------------- a class


def solution_names(solutions: Path) -> dict:
    """``{"01_inverse_problems": path}`` for the solution notebooks."""
    return {p.stem: p for p in sorted(Path(solutions).glob("*.ipynb"))}


def _assignment_of(path: Path, nb, names: dict, forced: str | None) -> str | None:
    if forced:
        return forced
    if nb is not None:
        generated = (nb.get("metadata", {}).get("course", {}) or {}).get("generated_from") or ""
        stem = Path(generated).stem
        if stem in names:
            return stem
    return path.stem if path.stem in names else None


def find_submissions(paths, names: dict, forced: str | None = None) -> list[tuple[str, Path]]:
    """``(student, notebook path)`` pairs from files and folders (see the module docstring)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for entry in sorted(path.iterdir()):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    found += [(entry.name, nb) for nb in sorted(entry.glob("*.ipynb"))]
                elif entry.suffix == ".ipynb":
                    found.append((entry.stem, entry))
        elif path.is_file():
            student = path.parent.name if (path.stem in names and not forced) else path.stem
            found.append((student, path))
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def open_submission(path: Path, names: dict, forced: str | None = None) -> tuple:
    """``(notebook or None, what is wrong with the file or None, assignment or None)``."""
    try:
        nb, problem = _read_notebook(path), None
    except ValueError as error:
        nb, problem = None, str(error)
    return nb, problem, _assignment_of(path, nb, names, forced)


def grade_submission(student: str, path: Path, opened: tuple, sources: dict, limits: Limits) -> Submission:
    """Grade one opened file; a file that is not a notebook or not an exercise scores 0 with a note."""
    nb, problem, assignment = opened
    if assignment is None:
        sub = Submission(student, "?", path)
        sub.notes.append(problem or f"{path.name} is not one of the exercises ({', '.join(sources)}): not graded. "
                         "Submit the exercise notebook under its own name.")
        return sub
    sub = Submission(student, assignment, path)
    if problem:
        sub.notes.append(f"{path.name}: {problem}; nothing could be graded.")
    sub.tests, notes, sub.seconds = grade_notebook(nb, sources[assignment], limits)
    sub.notes += notes
    return sub


def check_environment(sources: dict, limits: Limits, assignments) -> None:
    """Grade each needed solution notebook as a submission; it must score full marks."""
    for name in sorted(assignments):
        tests, notes, _ = grade_notebook(sources[name], sources[name], limits)
        bad = [t for t in tests if t.status != PASSED]
        if bad:
            details = "; ".join(notes[:2] + [f"{t.grade_id}: {t.status} ({t.message})" for t in bad[:2]])
            raise GradingEnvironmentError(
                f"the instructor's solutions/{name}.ipynb does not score full marks in the grading environment, "
                f"so no submission was graded: {details}. Check that the course environment is installed "
                "(python3 course.py setup) and that the solution notebook runs (python3 course.py execute).")


def write_gradebook(submissions: list, path: Path) -> None:
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


def grade(paths, out: Path, solutions: Path = ROOT / "solutions", limits: Limits = Limits(), jobs: int = 1,
          assignment: str | None = None, progress: bool = True) -> list:
    """Grade submissions; write ``out/gradebook.csv`` and ``out/feedback/<student>/<assignment>.md``."""
    names = solution_names(solutions)
    if not names:
        raise GradingEnvironmentError(f"no solution notebooks in {solutions}")
    if assignment is not None and assignment not in names:
        raise ValueError(f"--assignment {assignment!r} is not one of {', '.join(names)}")
    found = find_submissions(paths, names, assignment)
    if not found:
        raise ValueError(f"no notebooks (*.ipynb) found in {', '.join(map(str, paths))}")
    sources = {name: _read_notebook(path) for name, path in names.items()}
    opened = [open_submission(path, names, assignment) for _, path in found]
    wanted = {a for _, _, a in opened if a}
    if progress and wanted:
        print(f"checking the grading environment: the solutions of {', '.join(sorted(wanted))} must score "
              "full marks ...", file=sys.stderr, flush=True)
    check_environment(sources, limits, wanted)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(found), desc="grading", unit="notebook", disable=not progress)

    def one(item):
        (student, path), files = item
        result = grade_submission(student, path, files, sources, limits)
        bar.update()
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        submissions = list(pool.map(one, zip(found, opened)))
    bar.close()
    out = Path(out)
    write_gradebook(submissions, out / "gradebook.csv")
    for sub in submissions:
        folder = out / "feedback" / _safe(sub.student)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{_safe(sub.assignment if sub.assignment != '?' else sub.path.stem)}.md").write_text(
            feedback_markdown(sub), encoding="utf-8")
    return submissions


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kernel"]:
        _kernel_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python course.py grade", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="+", help="notebooks or folders of submissions")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="output folder (default: grades)")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="the instructor's notebooks")
    parser.add_argument("--assignment", help="the exercise (e.g. 01_inverse_problems) when file names do not say")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout, help="seconds per cell")
    parser.add_argument("--timeout", type=float, default=Limits.total_timeout, help="seconds per notebook")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per notebook (MB)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        limits = Limits(args.cell_timeout, args.timeout, args.memory_mb)
        subs = grade(args.submissions, args.out, args.solutions, limits, args.jobs, args.assignment,
                     progress=not args.quiet)
    except (GradingEnvironmentError, ValueError, FileNotFoundError) as error:
        print(f"grading failed: {error}", file=sys.stderr)
        return 2
    for sub in subs:
        print(f"{sub.student:<20} {sub.assignment:<24} {sub.score:>5g} / {sub.max_score:<5g} {sub.seconds:5.1f} s"
              + ("" if not sub.notes else f"  ({len(sub.notes)} note{'s' * (len(sub.notes) > 1)})"))
    print(f"gradebook: {args.out / 'gradebook.csv'}; feedback: {args.out / 'feedback'}/<student>/<assignment>.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
