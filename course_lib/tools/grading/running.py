"""Running the instructor's tests on a submission, and a class of submissions.

For each notebook, :func:`grade_notebook` assembles the student's solution cells into the
instructor's notebook (see :mod:`.assembly`) and grades it in two phases:

1. **The notebook, in the student's kernel**: a fresh :class:`~.kernel.LimitedKernel` (sandboxed, see
   :mod:`.sandbox`) runs every cell in order, with each test cell's *visible* part only: the hidden
   tests' code never enters the student's process. A student's cell runs under the file name
   ``<your cell GRADE_ID>``, so that an error can be placed in it. A cell that times out is
   interrupted (the kernel is stopped if that fails); a kernel that dies scores 0 on the tests still
   to come.
2. **The hidden tests, here**: each hidden part runs in the grader's own (trusted) process, in a fresh
   namespace, and reaches the student's code only through :data:`course_lib.checks.student` -- plain
   data to the kernel and back (:mod:`.remote`), each call within the time left. Hidden tests run after
   the whole notebook, so every visible test's message was made before any hidden input reached the
   student's process.

What a failed test tells the student: a visible test's error message (its check's, from the kernel,
which had seen nothing hidden yet); for a hidden test, the message of the course's check or assertion,
or for an error of the student's code only the name of a built-in exception and the line of the
student's own cell that raised it. Any line of a hidden test in a message is replaced by ``[hidden]``.

:func:`grade` grades a class: it first grades the instructor's own solution notebooks as
submissions (:func:`check_environment`: they must score full marks, or the run stops), then
every submission, and writes the reports (see :mod:`.reports`). Submitted files are only read.
Each graded submission is committed to the journal, ``out/journal.sqlite`` (and its feedback written), the
moment it is done, so a killed run loses only the submissions in progress; a rerun keeps every submission
graded before with the same file and the same version of the tests, and grades the rest. At the end of a
run the journal is exported as ``out/journal.csv``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...checks.boundary import STUDENT_FILE_PREFIX, StudentError, connected
from ..notebooks import cell_source, course_metadata, nbgrader_metadata
from .assembly import assemble, hidden_fragments, read_notebook, redact, split_test
from .kernel import CellRun, GradingEnvironmentError, LimitedKernel, Limits
from .remote import RemoteConnection
from .reports import (
    ERROR,
    FAILED,
    KERNEL_DIED,
    NOT_IMPLEMENTED,
    NOT_RUN,
    PASSED,
    TIMEOUT,
    UNREADABLE,
    Journal,
    Submission,
    TestResult,
    file_sha256,
    name_feedback,
    write_feedback,
    write_reports,
    write_summary,
)
from .sandbox import UNSANDBOXED_NOTE, Sandbox, SandboxUnavailable, check_sandbox

__all__ = ["HIDDEN_FILE", "grade_notebook", "solution_names", "find_submissions", "open_submission",
           "grade_submission", "check_environment", "grade"]

HIDDEN_FILE = "<hidden test>"
MESSAGE_LIMIT = 600          # characters of an error message kept for the feedback


# --------------------------------------------------------------------------- messages


def _message(run: CellRun, limits: Limits, fragments: list[str]) -> str:
    """What a visible part's (or another cell's) failure tells the student."""
    if run.status == TIMEOUT:
        which = "a cell" if run.limit >= limits.cell_timeout else "the notebook (what was left of it)"
        return f"stopped after {run.limit:.3g} s (the time limit of {which}): an endless loop?"
    if run.status == KERNEL_DIED:
        return "the Python process stopped (a crash, os._exit or too much memory): later tests did not run"
    memory = run.ename == "MemoryError" or "can't allocate memory" in run.evalue
    text = f"{run.ename}: {run.evalue}" if run.evalue else run.ename
    if memory:
        text = f"out of memory (the limit is {limits.memory_mb} MB): {text}"
    text = redact(text, fragments)
    return text[:MESSAGE_LIMIT] + " [...]" if len(text) > MESSAGE_LIMIT else text


def _status(run: CellRun) -> str:
    if run.status in (TIMEOUT, KERNEL_DIED):
        return run.status
    if run.ename == "NotImplementedError":
        return NOT_IMPLEMENTED
    if run.ename in ("AssertionError", "CheckFailed", "ForbiddenError"):
        return FAILED
    return ERROR


_STUDENT_STATUS = {"timeout": TIMEOUT, "kernel died": KERNEL_DIED, "not implemented": NOT_IMPLEMENTED,
                   "forbidden": FAILED}


def _hidden_outcome(error: BaseException, fragments: list[str]) -> tuple[str, str]:
    """(status, message) of a hidden part that raised ``error`` in the trusted process."""
    if isinstance(error, StudentError):
        return _STUDENT_STATUS.get(error.kind, ERROR), "a hidden check failed: " + redact(str(error), fragments)
    if isinstance(error, AssertionError):             # the course's check or the hidden test's own assertion
        text = redact(str(error), fragments) or "an assertion of a hidden test"
        text = text[:MESSAGE_LIMIT] + " [...]" if len(text) > MESSAGE_LIMIT else text
        return FAILED, "a hidden check failed: " + text
    return ERROR, (f"a hidden check could not use what your code returned ({type(error).__name__}): "
                   "check the type and shape of your results")


def _student_wrapper(code: str, grade_id: str) -> str:
    """Code that runs a student's cell under the file name ``<your cell GRADE_ID>`` (magics still work)."""
    name = f"{STUDENT_FILE_PREFIX}{grade_id}>"
    return (f"exec(compile(get_ipython().transform_cell({code!r}), {name!r}, 'exec'), globals())\n")


# --------------------------------------------------------------------------- grading one notebook


def forbidden_names(source_nb) -> list[str]:
    """The library names the exercise's solution cells may not use: ``metadata.course.forbidden``."""
    names = course_metadata(source_nb).get("forbidden") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise GradingEnvironmentError("metadata course.forbidden of a solution notebook must be a list of names")
    return names


def grade_notebook(submission_nb, source_nb, limits: Limits = Limits(), sandbox=None) -> tuple:
    """Run the student's cells with the instructor's tests; returns ``(tests, notes, seconds)``.

    ``submission_nb`` may be None (an unreadable file: every test scores 0, nothing runs). ``sandbox``
    (a :class:`~.sandbox.Sandbox`) confines the student's kernel; None runs it unconfined.
    """
    start = time.monotonic()
    tests = [TestResult(nbgrader_metadata(c)["grade_id"], float(nbgrader_metadata(c).get("points", 0)))
             for c in source_nb.cells if c.cell_type == "code" and nbgrader_metadata(c).get("grade")
             and not nbgrader_metadata(c).get("solution")]
    if submission_nb is None:
        for t in tests:
            t.status = UNREADABLE
        return tests, [], 0.0
    nb, notes = assemble(source_nb, submission_nb)
    fragments = hidden_fragments(source_nb)
    by_id = {t.grade_id: t for t in tests}
    tmp = tempfile.mkdtemp(prefix="grade-")
    try:
        calls = Path(tmp) / "calls"
        for sub in ("run", "calls"):
            (Path(tmp) / sub).mkdir()
        forbidden = forbidden_names(source_nb)
        starts = []

        def start_kernel():     # each start in a folder of its own: nothing the last kernel left there is reused
            starts.append(None)
            kernel = LimitedKernel(limits, Path(tmp) / "run", Path(tmp) / f"spec-{len(starts)}", sandbox=sandbox,
                                   shared=[calls])
            if forbidden:     # the library's references of what the student writes: not for the student's cells
                kernel.run(f"__import__('course_lib.checks.own_work', fromlist=['forbid']).forbid({forbidden!r}, "
                           "get_ipython().user_ns)", limits.cell_timeout)
            return kernel

        kernel = start_kernel()
        try:
            ran: list = []
            hidden = _run_cells(kernel, nb, by_id, notes, fragments, limits, start, ran)
            died = kernel.died
            if hidden and not kernel.alive and time.monotonic() - start < limits.total_timeout:
                # the process ended in a later cell: the hidden tests of the earlier ones run in a fresh kernel,
                # after the cells before the one that ended it
                kernel.shutdown()
                try:
                    kernel = start_kernel()
                except GradingEnvironmentError:
                    pass                              # the hidden tests then find no kernel: "kernel died"
                for code in ran[:-1]:
                    left = limits.total_timeout - (time.monotonic() - start)
                    if left <= 0 or not kernel.alive:
                        break
                    kernel.run(code, min(limits.cell_timeout, left))
            sources = {nbgrader_metadata(c).get("grade_id"): cell_source(c) for c in nb.cells
                       if c.cell_type == "code" and nbgrader_metadata(c).get("solution")}
            connection = RemoteConnection(kernel, calls, limits, start + limits.total_timeout, sources, forbidden)
            _run_hidden(hidden, connection, fragments)
            _finish(died, tests, notes, limits, start)
        finally:
            kernel.shutdown()
    finally:
        _remove(tmp)
    return tests, notes, time.monotonic() - start


def _remove(folder: str) -> None:
    """Remove the grader's folder of one submission, whatever the student's process left in it."""
    try:
        shutil.rmtree(folder, ignore_errors=True)
    except Exception:          # e.g. a RecursionError on thousands of nested folders: leave it to the system
        pass


def _run_cells(kernel, nb, by_id: dict, notes: list, fragments: list, limits: Limits, start: float, ran: list) -> list:
    """Phase 1: run the assembled notebook cell by cell, test cells' visible parts only, in the student's kernel.
    Returns ``[(test, hidden code)]`` for the tests whose visible part passed; ``ran`` gets the code of each
    cell run."""
    hidden_parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_metadata(cell)
        left = limits.total_timeout - (time.monotonic() - start)
        if left <= 0 or not kernel.alive:
            break
        timeout = min(limits.cell_timeout, left)
        test = by_id.get(meta.get("grade_id")) if meta.get("grade") and not meta.get("solution") else None
        if test is None:
            code = cell_source(cell)
            if meta.get("solution"):
                code = _student_wrapper(code, str(meta.get("grade_id")))
            else:
                code = split_test(code)[0]           # hidden blocks never reach the kernel, wherever they are
            ran.append(code)
            run = kernel.run(code, timeout)
            if run.status != "ok":
                first = next((line.strip() for line in cell_source(cell).splitlines() if line.strip()), "")
                where = (f'Your cell "{meta.get("grade_id")}"' if meta.get("solution")
                         else f"The notebook's cell `{first[:60]}`")
                notes.append(f"{where} stopped with " + _message(run, limits, fragments))
            continue
        visible, hidden = split_test(cell_source(cell))
        ran.append(visible)
        run = kernel.run(visible, timeout)
        if run.status == "ok":
            test.status, test.points = PASSED, test.max_points
            if hidden.strip():
                hidden_parts.append((test, hidden))
        else:
            test.status, test.message = _status(run), _message(run, limits, fragments)
    return hidden_parts


def _run_hidden(hidden_parts: list, connection, fragments: list) -> None:
    """Phase 2: each hidden part, here in the trusted process, in a fresh namespace; student calls go remote."""
    for test, code in hidden_parts:
        namespace = {"__name__": "__hidden_test__"}
        try:
            with connected(connection):
                exec(compile(code, HIDDEN_FILE, "exec"), namespace)
        except Exception as error:
            test.points = 0.0
            test.status, test.message = _hidden_outcome(error, fragments)


def _finish(died: bool, tests, notes: list, limits: Limits, start: float) -> None:
    """Say why tests did not run (time up, the kernel gone: ``died``, else stopped)."""
    if time.monotonic() - start >= limits.total_timeout:
        why = f"the notebook reached its time limit ({limits.total_timeout:g} s)"
        notes.append(f"Grading stopped: {why}.")
    elif died:
        why = "the Python process stopped (a crash, os._exit or too much memory)"
    else:
        why = "the Python process was stopped after a cell ignored its time limit"
    for t in tests:
        if t.status == NOT_RUN:
            t.status = KERNEL_DIED if died else NOT_RUN
            t.message = f"not run: {why}"


# --------------------------------------------------------------------------- a class


def library_sha256() -> str:
    """The sha256 of ``course_lib``'s Python files but the machinery's: a change of a check or a reference regrades."""
    package = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "tools" not in path.relative_to(package).parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def solution_names(solutions: Path) -> dict:
    """``{"01_inverse_problems": path}`` for the solution notebooks."""
    return {p.stem: p for p in sorted(Path(solutions).glob("*.ipynb"))}


def _assignment_of(path: Path, nb, names: dict, forced: str | None) -> str | None:
    if forced:
        return forced
    if nb is not None:
        generated = course_metadata(nb).get("generated_from")
        stem = Path(generated).stem if isinstance(generated, str) else ""
        if stem in names:
            return stem
    return path.stem if path.stem in names else None


def find_submissions(paths, names: dict, forced: str | None = None) -> list[tuple[str, Path]]:
    """``(student, notebook path)`` pairs from files and folders.

    A folder holds ``<student>/<NN_name>.ipynb`` (one folder per student, as nbgrader collects
    them) or ``<student>.ipynb`` (with ``forced``, the assignment); a file given directly is the
    student's of its folder when it is named after an exercise, else of its own name.
    """
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
        nb, problem = read_notebook(path), None
    except ValueError as error:
        nb, problem = None, str(error)
    return nb, problem, _assignment_of(path, nb, names, forced)


def grade_submission(student: str, path: Path, opened: tuple, sources: dict, limits: Limits,
                     sandbox=None) -> Submission:
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
    sub.tests, notes, sub.seconds = grade_notebook(nb, sources[assignment], limits, sandbox)
    sub.notes += notes + ([] if sandbox is not None else [UNSANDBOXED_NOTE])
    return sub


def check_environment(sources: dict, limits: Limits, assignments, sandbox=None) -> None:
    """Grade each needed solution notebook as a submission; it must score full marks."""
    for name in sorted(assignments):
        tests, notes, _ = grade_notebook(sources[name], sources[name], limits, sandbox)
        bad = [t for t in tests if t.status != PASSED]
        if bad:
            details = "; ".join(notes[:2] + [f"{t.grade_id}: {t.status} ({t.message})" for t in bad[:2]])
            raise GradingEnvironmentError(
                f"the instructor's solutions/{name}.ipynb does not score full marks in the grading environment, "
                f"so no submission was graded: {details}. Check that the course environment is installed "
                "(python3 course.py setup) and that the solution notebook runs (python3 course.py execute).")


def grade(paths, out=None, *, root=None, solutions=None, limits: Limits = Limits(), jobs: int = 1,
          assignment: str | None = None, progress: bool = True, sandboxed: bool = True) -> list:
    """Grade submissions; write ``out/gradebook.csv`` and ``out/feedback/<student>/<assignment>.md``, keeping
    ``out/journal.sqlite`` as it goes (a rerun grades only what is new or changed: see :class:`~.reports.Journal`)
    and exporting it as ``out/journal.csv`` at the end.

    ``root`` is the course folder (default: the current folder); ``solutions`` the instructor's
    notebooks (default: ``root/solutions``) and ``out`` the reports' folder (default: ``root/grades``).
    Every student's kernel runs in a :class:`~.sandbox.Sandbox` that hides the course's files (but its
    library), the home folder, the submissions and ``out``; without bubblewrap this raises
    :class:`~.kernel.GradingEnvironmentError`, unless ``sandboxed=False``: then each feedback file says
    that it was graded unsandboxed.
    Returns the :class:`~.reports.Submission` of each notebook found.
    """
    root = Path.cwd() if root is None else Path(root)
    if limits.threads == Limits.threads:      # not chosen: the cores shared among the submissions graded at once
        limits = dataclasses.replace(limits, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
    solutions = root / "solutions" if solutions is None else Path(solutions)
    out = root / "grades" if out is None else Path(out)
    names = solution_names(solutions)
    if not names:
        raise GradingEnvironmentError(f"no solution notebooks in {solutions}")
    if assignment is not None and assignment not in names:
        raise ValueError(f"--assignment {assignment!r} is not one of {', '.join(names)}")
    found = find_submissions(paths, names, assignment)
    if not found:
        raise ValueError(f"no notebooks (*.ipynb) found in {', '.join(map(str, paths))}")
    sandbox = None
    if sandboxed:
        try:
            check_sandbox(root)
        except SandboxUnavailable as error:
            raise GradingEnvironmentError(str(error)) from None
        sandbox = Sandbox(root, hide=tuple({Path(p).resolve() for p in paths} | {out.resolve(), solutions.resolve()}
                                           | {path.resolve() for _, path in found}))
    sources = {name: read_notebook(path) for name, path in names.items()}
    library = library_sha256()          # the checks, drivers and references the hidden tests use
    versions = {name: hashlib.sha256((file_sha256(path) + library).encode()).hexdigest()
                for name, path in names.items()}
    opened = [open_submission(path, names, assignment) for _, path in found]
    journal = Journal(out)
    if journal.notice:
        print(journal.notice, file=sys.stderr, flush=True)
    digests = [file_sha256(path) for _, path in found]
    done = [journal.lookup(student, path, digest, versions.get(files[2] or "", ""))
            for (student, path), files, digest in zip(found, opened, digests)]
    wanted = {files[2] for files, old in zip(opened, done) if files[2] and old is None}
    if progress and wanted:
        print(f"checking the grading environment: the solutions of {', '.join(sorted(wanted))} must score "
              "full marks ...", file=sys.stderr, flush=True)
    check_environment(sources, limits, wanted, sandbox)
    if progress and any(d is not None for d in done):
        print(f"{sum(d is not None for d in done)} of {len(found)} notebooks were graded before with the same "
              f"tests ({journal.path}): kept", file=sys.stderr, flush=True)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(found), desc="grading", unit="notebook", disable=not progress)

    placeholders = [Submission(student, files[2] or "?", path) for (student, path), files in zip(found, opened)]
    name_feedback(placeholders)           # two files that would share a feedback file get names of their own

    def one(item):
        (student, path), files, digest, old, feedback_name = item
        fresh = old is None
        if fresh:
            try:
                old = grade_submission(student, path, files, sources, limits, sandbox)
            except GradingEnvironmentError:
                raise
            except Exception as error:   # the grader's own failure on this file: the class goes on, a rerun retries
                print(f"grading {path} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                old = Submission(student, files[2] or "?", path)
                old.notes.append(f"This notebook could not be graded (an error of the grader: {type(error).__name__}); "
                                 "your instructor has been told, and it will be graded again.")
            else:
                old.sha256, old.tests_version = digest, versions.get(files[2] or "", "")
                journal.record(old)      # committed to disk now: a later kill loses nothing of it
        old.feedback_name = feedback_name
        if fresh:
            write_feedback(old, out)
        bar.update()
        return old

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        submissions = list(pool.map(one, zip(found, opened, digests, done, (p.feedback_name for p in placeholders))))
    bar.close()
    write_reports(submissions, out)
    write_summary(submissions, out)
    journal.export_csv(out / "journal.csv")
    return submissions
