"""Our scores in nbgrader's gradebook, and nbgrader's per-student feedback built from them.

`python -m autograder grade-class` grades every submission with our grader (the student's code runs in
a sandboxed child; scores are computed in the trusted process). This module hands those scores to
nbgrader, so the rest of the classroom workflow is nbgrader's, unchanged: formgrader (where
instructors grade the explanations by hand), `nbgrader generate_feedback`, `nbgrader export`.

record(course_root, submitted_dir, student, assignment, results, errors=None)
    Leaves nbgrader's state exactly as `nbgrader autograde <assignment> --student <student> --force`
    would, without running any of the student's code. It runs nbgrader's own Autograde converter
    with the course's nbgrader_config.py, with one change: the `Execute` preprocessor (which would run
    the notebook in a Jupyter kernel) is replaced by `InjectResults`, which runs nothing and leaves in
    each test cell what our grading of that cell says, the way a test cell that ran leaves it: the
    feedback lines on stdout and the score as the cell's value. nbgrader's `determine_grade` reads
    that value as partial credit, so every grade cell's auto_score is exactly our score. All the rest
    is nbgrader's: the sanitize pass (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells
    which restores locked cells and hidden tests and re-inserts deleted test cells, CheckCellMetadata),
    IgnorePattern, LimitOutput, SaveAutoGrades (manual answers flagged for grading, manual grades
    kept), AssignLatePenalties, the submission's timestamp (timestamp.txt), the student and
    submission rows, the read-only autograded/ notebooks formgrader opens. Two deliberate
    differences: nbgrader reads the submission through a staged folder that holds only its regular
    files (a symlink in a submission is not followed, so it cannot copy an instructor's file into
    autograded/ and feedback/), and a notebook nbgrader cannot read or process is replaced by the
    released notebook with a note saying why (nbgrader would fail the whole submission).

feedback(course_root, student, assignment) -> [html paths]
    nbgrader's GenerateFeedback for one student, with ClearHiddenTests enforced: the pages show our
    feedback lines under each test but never the source of hidden tests.

roster(course_root) -> [student ids]
    The students in the gradebook (nbgrader's roster: `nbgrader db student add`, formgrader's
    "Manage students", or everyone recorded before); [] when there is no gradebook yet.

gradebook_states(course_root, pairs) -> {(student, assignment): GradebookState}
    What the feedback pages show of each submission, read from the gradebook: every grade (auto,
    manual, extra credit), comment and late penalty, with a digest that changes whenever one of them
    does (e.g. an explanation graded in formgrader), so grade-class can rewrite exactly the feedback
    that has gone stale.

check_gradebook(course_root)
    Connects to the course's gradebook and disconnects (creating nothing): raises if it is out of reach.

The gradebook is wherever the course's configuration puts it (`CourseDirectory.db_url`; nbgrader_config.py
reads AUTOGRADER_DB_URL and defaults to SQLite in grading/): the same database nbgrader's own commands
and formgrader use. Calls from one process are meant to be serial (nbgrader changes the working
directory while it converts, to the course root, and restores it); with a database server such as
PostgreSQL, several processes (graders on disjoint students, formgrader, `nbgrader export`) can use
the gradebook at once. Error messages show the gradebook's URL without its password (shown_url).
"""
from __future__ import annotations

import copy
import glob
import hashlib
import json
import logging
import math
import os
import re
import shutil
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .grade import GradeResult, TestResult
from .worker import scratch_folder

LOG = logging.getLogger("autograder.classroom")
NO_RESULT = "not graded: the autograder could not grade this notebook"
_CONFIG_LOCK = threading.Lock()
_CONFIGS: dict[Path, object] = {}


class ClassroomError(Exception):
    """nbgrader could not record or render a submission; the message ends with nbgrader's own errors."""


# -- what a graded test cell looks like to nbgrader ------------------------------------------------

def graded_cell_outputs(test: TestResult | None, max_points: float, reason: str = NO_RESULT) -> list:
    """The outputs that make nbgrader score a test cell exactly `test.score` (or 0 and `reason`).

    nbgrader's `utils.determine_grade` walks a test cell's outputs: an `error` output or a stderr
    stream scores 0; otherwise the first `execute_result` is read with `float(text/plain)` as partial
    credit (0 <= value <= points; above the points it raises, a negative or non-number value gives
    full points); a cell without either scores full points. So a graded cell gets a stdout stream
    with its feedback lines and an execute_result holding `repr(score)` (float -> repr -> float is
    exact), clamped to [0, points]; a cell without a result gets an `error` output with the reason.
    """
    from nbformat.v4 import new_output

    if test is None or test.manual:
        return [new_output("error", ename="NotGraded", evalue=reason, traceback=[reason])]
    score = float(test.score)
    if not math.isfinite(score):
        score = 0.0
    score = min(max(score, 0.0), float(max_points))
    lines = []
    for line in test.lines:
        lines.extend("  " + part for part in line.splitlines())
    lines.append(f"{test.grade_id}: {score:g} / {float(max_points):g} points")
    return [new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
            new_output("execute_result", data={"text/plain": repr(score)}, execution_count=None)]


def _injector_class():
    from nbgrader import utils
    from nbgrader.preprocessors import NbGraderPreprocessor

    class InjectResults(NbGraderPreprocessor):
        """Stands in for nbgrader's `Execute`: runs nothing, writes our results into the test cells."""

        def __init__(self, results: Mapping[str, GradeResult], reasons: Mapping[str, str], **kwargs):
            super().__init__(**kwargs)
            self.results, self.reasons = results, reasons

        def preprocess(self, nb, resources):
            name = resources["nbgrader"]["notebook"]
            result = self.results.get(name)
            self._tests = {t.grade_id: t for t in result.tests} if result else {}
            self._reason = self.reasons.get(name) or NO_RESULT
            return super().preprocess(nb, resources)

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type != "code":
                return cell, resources
            cell.execution_count = None
            if utils.is_grade(cell) and not utils.is_solution(cell):
                grade_id = cell.metadata.nbgrader.get("grade_id")
                test = self._tests.get(grade_id)
                reason = self._reason
                if test is None and self._tests:
                    reason = f"not graded: the autograder has no test {grade_id!r} (solutions changed?)"
                points = float(cell.metadata.nbgrader.get("points", 0))
                if test is not None and not test.manual and float(test.max_score) != points:
                    self.log.warning("%s: %g points in the gradebook, %g in solutions/", grade_id, points,
                                     float(test.max_score))
                cell.outputs = graded_cell_outputs(test, points, reason)
            return cell, resources

    return InjectResults


# -- configuration ---------------------------------------------------------------------------------

def _config(course_root: Path):
    """The course's nbgrader configuration (jupyter's config paths, then nbgrader_config.py), cached."""
    with _CONFIG_LOCK:
        if course_root not in _CONFIGS:
            from jupyter_core.paths import jupyter_config_path
            from traitlets.config import Config
            from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

            cfg = Config()
            # like nbgrader's apps: the first path of jupyter_config_path() wins, the course file last
            for where in [*reversed(jupyter_config_path()), str(course_root)]:
                try:
                    cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=where).load_config())
                except ConfigFileNotFound:
                    continue
            _CONFIGS[course_root] = cfg
        return copy.deepcopy(_CONFIGS[course_root])


def _nbgrader_logger() -> logging.Logger:
    log = logging.getLogger("autograder.classroom.nbgrader")
    log.propagate = False  # nbgrader warns on every honest submission; see _captured()
    log.setLevel(logging.INFO)
    return log


class _captured:
    """Collects what nbgrader logs during a call (WARNING and above are passed on at DEBUG).

    Also silences two warnings nbgrader's own commands print too: SQLAlchemy's "... not in session,
    add operation along ..." (nbgrader's gradebook code, on every new submission) and nbformat's
    MissingIDFieldWarning (cells that OverwriteCells re-inserts have no id).
    """

    failed = False

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", message=r".*not in session, add operation along")
        warnings.filterwarnings("ignore", message=r"Cell is missing an id field")
        self.lines: list[str] = []
        self.handler = logging.Handler(logging.INFO)
        self.handler.emit = lambda rec: self.lines.append(f"[{rec.levelname}] {rec.getMessage()}")
        _nbgrader_logger().addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        _nbgrader_logger().removeHandler(self.handler)
        self._warnings.__exit__(*exc)
        for line in self.lines:
            if not line.startswith("[INFO]"):
                LOG.debug("nbgrader: %s", line)

    def errors(self, limit: int = 4000) -> str:
        text = "\n".join(line for line in self.lines if line.startswith(("[ERROR]", "[CRITICAL]")))
        return text[-limit:]

    def exception(self) -> str:
        """The exception nbgrader logged (the last line of its traceback), else its first error."""
        errors = [line for line in self.lines if line.startswith(("[ERROR]", "[CRITICAL]"))]
        for line in reversed(errors):
            if "Traceback (most recent call last)" in line:
                last = [part.strip() for part in line.splitlines() if part.strip()]
                return last[-1][:300]
        if not errors:
            return "unknown error"
        return " ".join(part.strip() for part in errors[0].split("] ", 1)[-1].splitlines() if part.strip())[:300]


def _coursedir(cfg, course_root: Path, student: str, assignment: str):
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=cfg, log=_nbgrader_logger())
    coursedir.root = str(course_root)
    # these are globs for nbgrader; a name is matched literally
    coursedir.assignment_id = glob.escape(assignment)
    coursedir.student_id = glob.escape(student)
    return coursedir


def _check_name(kind: str, value: str) -> None:
    if (not isinstance(value, str) or not value or value != value.strip() or value in (".", "..")
            or "/" in value or os.sep in value or (kind == "assignment" and "+" in value)):
        raise ValueError(f"{kind} {value!r} cannot be a folder name in nbgrader's layout")


# -- record --------------------------------------------------------------------------------------------

def record(course_root: Path, submitted_dir: Path, student: str, assignment: str,
           results: Mapping[str, GradeResult], errors: Mapping[str, str] | None = None,
           renamed: Mapping[str, str] | None = None) -> None:
    """Record one graded submission in nbgrader's gradebook, as `nbgrader autograde` would, running nothing.

    course_root    the folder with nbgrader_config.py (and so the gradebook, solutions/, course/)
    submitted_dir  any folder laid out as <submitted_dir>/<student>/<assignment>/<notebook>.ipynb
                   (with timestamp.txt if there is one); it is only read
    results        {notebook name without .ipynb: its GradeResult}
    errors         optional {notebook name: why it has no result}, shown in its test cells
    renamed        optional {notebook name: the file name it was submitted under}: a notebook the
                   learner renamed (grade-class graded it); nbgrader reads it under its own name

    A notebook of the submission without a result scores 0 on every test, each test cell showing
    the reason; if nbgrader cannot read or process the file either, the released notebook stands in
    for it, with a note at the top saying why (formgrader then shows 0 and the reason). A notebook
    of the assignment that was not submitted scores 0 (nbgrader's rule). Recording a student again
    replaces their autograded notebooks and scores; manual grades given in formgrader are kept (and
    flagged for review, as nbgrader does). Raises ClassroomError if nbgrader fails for another reason
    (e.g. `nbgrader generate_assignment` was not run for the assignment), ValueError for a bad name.
    """
    from nbgrader.converters.base import NbGraderException

    _check_name("student", student)
    _check_name("assignment", assignment)
    course_root = Path(course_root).resolve()
    source = Path(submitted_dir).resolve() / student / assignment
    if not source.is_dir():
        raise ClassroomError(f"no submission folder {source}")
    errors = dict(errors or {})
    files = {p.stem: p for p in source.glob("*.ipynb")}
    aliases = {}  # {submitted file name: the notebook's own file name}
    for name, submitted in (renamed or {}).items():
        if name not in files and Path(submitted).stem in files and Path(submitted).name == submitted:
            files[name] = files.pop(Path(submitted).stem)
            aliases[submitted] = f"{name}.ipynb"
    notebooks = sorted(files)
    # {notebook: why the released notebook stands in for it}
    standins = {name: errors.get(name) or f"the notebook could not be read ({why})" for name in notebooks
                if (why := _unreadable(files[name], name in results))}

    def attempt(notebook_id: str = "*") -> _captured:
        with _captured() as log:
            try:
                _autograde(course_root, source, student, assignment, results, errors, standins, notebook_id,
                           aliases)
            except NbGraderException:
                log.failed = True
        return log

    log = attempt()
    if not log.failed:
        return
    _require_assignment(course_root, assignment, log)
    # Something in the submission breaks nbgrader itself (mangled nbgrader metadata, deleted cells it
    # cannot put back): find the notebooks it cannot process, let the released notebook stand in for
    # them, and run again.
    first = log
    for name in notebooks:
        if name not in standins and (one := attempt(glob.escape(name))).failed:
            standins[name] = f"nbgrader could not process the submitted notebook ({one.exception()})"
    log = attempt() if standins else first
    if log.failed:
        raise ClassroomError(f"nbgrader could not record {student}/{assignment}:\n{log.errors()}")


def _require_assignment(course_root: Path, assignment: str, log: "_captured") -> None:
    from nbgrader.api import Gradebook, MissingEntry

    cfg = _config(course_root)
    coursedir = _coursedir(cfg, course_root, "-", assignment)
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            gb.find_assignment(assignment)
    except MissingEntry:
        raise ClassroomError(f"assignment {assignment!r} is not in the gradebook {shown_url(coursedir.db_url)} "
                             f"(run `nbgrader generate_assignment {assignment}` first)") from None
    except Exception as exc:
        raise ClassroomError(f"cannot open the gradebook {shown_url(coursedir.db_url)}: {describe_error(exc)}\n"
                             f"{log.errors()}") from None


def _unreadable(path: Path, graded: bool) -> str:
    """Why nbgrader could not read this notebook file, or '' if it can (or if we graded it: then it can)."""
    import nbformat

    if path.is_symlink() or not path.is_file():
        return "not a regular file"
    if graded:
        return ""
    try:
        nbformat.read(str(path), as_version=4)
    except Exception as exc:  # NotJSONError, UnicodeDecodeError, ValidationError, KeyError, ...
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")
    return ""


_SAFE_PATH = re.compile(r"^[\w./-]+$")


def _autograde(course_root: Path, source: Path, student: str, assignment: str,
               results: Mapping[str, GradeResult], errors: Mapping[str, str],
               standins: Mapping[str, str], notebook_id: str, aliases: Mapping[str, str] | None = None) -> None:
    """One run of nbgrader's Autograde converter, reading the submission through a staged path."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.utils.importstring import import_item

    cfg = _config(course_root)
    coursedir = _coursedir(cfg, course_root, student, assignment)
    coursedir.notebook_id = notebook_id
    with scratch_folder("record-") as tmp:
        # nbgrader puts the submitted directory into globs and regexes unescaped, so it reads the
        # submission through a plain path of ours
        if not _SAFE_PATH.match(tmp):
            raise ClassroomError(f"temporary folder {tmp!r} is not a plain path (set TMPDIR)")
        _stage(coursedir, source, Path(coursedir.format_path(tmp, student, assignment)), assignment,
               standins, results, aliases or {})
        coursedir.submitted_directory = tmp

        converter = Autograde(coursedir=coursedir, config=cfg, log=_nbgrader_logger())
        converter.force = True
        reasons = {**errors, **standins}
        inject = _injector_class()(results, reasons, parent=converter)
        pipeline, replaced = [], False
        for pp in converter.autograde_preprocessors:
            cls = import_item(pp) if isinstance(pp, str) else pp
            if isinstance(cls, type) and issubclass(cls, Execute):
                pipeline.append(inject)
                replaced = True
            else:
                pipeline.append(pp)
        converter.autograde_preprocessors = pipeline if replaced else [inject, *pipeline]
        converter.start()


def _stage(coursedir, source: Path, staged: Path, assignment: str, standins: Mapping[str, str],
           results: Mapping[str, GradeResult], aliases: Mapping[str, str] | None = None) -> None:
    """The submission as nbgrader will read it: its regular files, linked, in a folder of ours.

    A renamed notebook (`aliases`: {submitted file name: the notebook's file name}) is linked under
    the notebook's own name.

    Symbolic links (and sockets, devices...) in the submission are left out: nbgrader would follow
    them and copy what they point to into autograded/ and then feedback/, i.e. back to the student.
    The released notebook, with a note at the top, replaces each notebook named in `standins`; one
    that was not released (not part of the assignment) is left out, as nbgrader would skip it.
    """
    names = {f"{n}.ipynb" for n in standins}
    for folder, dirs, files in os.walk(source):  # (does not follow symlinked folders)
        here = Path(folder)
        into = staged / here.relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for name in files:
            path = here / name
            target = (aliases or {}).get(name, name) if here == source else name
            if here == source and target in names:
                continue  # written below
            if path.is_symlink() or not path.is_file():
                LOG.warning("%s: not a regular file, left out", path)
                continue
            os.symlink(path, into / target)
    if not standins:
        return

    import nbformat
    from nbformat.v4 import new_markdown_cell

    release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
    for name, reason in standins.items():
        released = release / f"{name}.ipynb"
        if not released.is_file():
            continue
        nb = nbformat.read(str(released), as_version=4)
        if name in results:
            note = (f"**{reason}.**\n\n"
                    "The cells below are the notebook as released, not the submitted work. The test scores "
                    "are the autograder's grading of the submitted file; written answers are in that file.")
        else:
            note = (f"**This submission could not be graded: {reason}.**\n\n"
                    "The cells below are the notebook as released, not the submitted work; every test scores 0.")
        nb.cells.insert(0, new_markdown_cell(note, id="autograder-note"))  # (the same on every record of it)
        nbformat.write(nb, str(staged / f"{name}.ipynb"))


# -- many submissions at once -------------------------------------------------------------------------------

_GRADEBOOK_USERS = ("nbgrader.converters.autograde", "nbgrader.converters.generate_feedback",
                    "nbgrader.preprocessors.getgrades", "nbgrader.preprocessors.latesubmissions",
                    "nbgrader.preprocessors.overwritecells", "nbgrader.preprocessors.overwritekernelspec",
                    "nbgrader.preprocessors.saveautogrades")


@contextmanager
def gradebook_session(course_root: Path):
    """One connection to the course's gradebook for every record() and feedback() call inside.

    nbgrader opens the gradebook afresh at each step of each submission (the converter, then each of
    its preprocessors: about ten times per notebook, each a new engine, a check of every table and of
    the course); inside this block those steps share one engine and one session, opened once, so a
    class is written to the gradebook in one session (with a database server: one connection, not
    thousands). The gradebook's content is the same. Meant for one thread (grade-class records serially).
    """
    from nbgrader import api
    import importlib

    url = _coursedir(_config(Path(course_root).resolve()), Path(course_root).resolve(), "-", "-").db_url
    base = api.Gradebook.__new__(api.Gradebook)
    base.engine = None
    real = api.Gradebook

    class _Shared(real):
        def close(self):  # the session outlives each step: rolled back only if a step left it failed
            if not self.db.is_active:
                self.db.rollback()

    def opened(db_url, course_id="default_course", authenticator=None):
        if db_url != url:
            return real(db_url, course_id, authenticator)
        if base.engine is None:  # the first step opens it, exactly as nbgrader would (creating it if new)
            first = real(db_url, course_id, authenticator)
            base.engine, base.db = first.engine, first.db
        gb = _Shared.__new__(_Shared)
        gb.engine, gb.db = base.engine, base.db
        gb.check_course(course_id=course_id)
        gb.course_id, gb.authenticator = course_id, authenticator
        return gb

    modules = [importlib.import_module(name) for name in _GRADEBOOK_USERS]
    patched = [m for m in modules if getattr(m, "Gradebook", None) is real]
    for m in patched:
        m.Gradebook = opened
    try:
        yield
    finally:
        for m in patched:
            m.Gradebook = real
        if base.engine is not None:
            base.db.remove()
            base.engine.dispose()


def _feedback_chunk(course_root: str, jobs: list) -> list:
    """feedback() for several submissions in one process: [error line or ""] (a process pool's job)."""
    out = []
    for student, assignment, renamed in jobs:
        try:
            feedback(Path(course_root), student, assignment, renamed)
            out.append("")
        except Exception as exc:
            out.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return out


PARALLEL_FEEDBACK_FROM = 24  # submissions: fewer are written here, one after another (a process costs 1-2 s)


def feedback_many(course_root: Path, jobs: list, processes: int | None = None) -> list[str]:
    """feedback() for each (student, assignment, renamed) of `jobs`; returns, in order, "" or why it failed.

    Rendering HTML is most of the work of recording a class (nbconvert, ~0.4 s a page), and each page is
    independent of the others: with PARALLEL_FEEDBACK_FROM submissions or more they are written by a pool of
    processes (one per core unless `processes`; each changes its own working directory, as nbgrader does,
    and reads the gradebook: a database server, or SQLite, which many may read at once).
    """
    processes = processes or os.cpu_count() or 1
    if len(jobs) < PARALLEL_FEEDBACK_FROM or processes < 2:
        return _feedback_chunk(str(course_root), jobs)
    import subprocess
    import sys

    n = min(processes, len(jobs))
    chunks = [jobs[i::n] for i in range(n)]
    repo = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    procs = [subprocess.Popen([sys.executable, "-c", "from autograder.classroom import _feedback_main; _feedback_main()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
             for _ in chunks]
    for proc, chunk in zip(procs, chunks):  # (a few hundred bytes per submission: the pipe takes them)
        proc.stdin.write(json.dumps({"course_root": str(course_root), "jobs": chunk}))
        proc.stdin.close()
    out = [""] * len(jobs)
    for i, (proc, chunk) in enumerate(zip(procs, chunks)):
        answer, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
        try:
            lines = json.loads(answer)
            assert isinstance(lines, list) and len(lines) == len(chunk)
        except (ValueError, AssertionError):
            tail = err.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            lines = [f"the feedback process failed: {tail[0]}"] * len(chunk)
        for k, line in enumerate(lines):
            out[i + k * n] = line
    return out


def _feedback_main() -> None:
    """A feedback process of feedback_many: jobs as JSON on stdin, a JSON list of errors on stdout."""
    import sys

    request = json.loads(sys.stdin.read())
    jobs = [(student, assignment, renamed) for student, assignment, renamed in request["jobs"]]
    answer = _feedback_chunk(request["course_root"], jobs)
    sys.stdout.write(json.dumps(answer))


# -- feedback -------------------------------------------------------------------------------------------

def feedback(course_root: Path, student: str, assignment: str,
             renamed: Mapping[str, str] | None = None) -> list[Path]:
    """Write the student's feedback pages (HTML, one per notebook) with nbgrader's GenerateFeedback.

    Reads the autograded notebooks record() wrote, writes to the course's feedback directory
    (<feedback>/<student>/<assignment>/<notebook>.html) and returns the pages' paths. ClearHiddenTests
    runs whatever the configuration says, and a page that still contains a hidden-test delimiter is
    deleted and reported as an error rather than shown. A notebook submitted under another name
    (`renamed`, as for record) gets its page under that name too: the name `nbgrader fetch_feedback`
    looks for in the learner's copy of the submission.
    """
    from nbgrader.converters import GenerateFeedback
    from nbgrader.converters.base import NbGraderException
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    from traitlets.utils.importstring import import_item

    _check_name("student", student)
    _check_name("assignment", assignment)
    course_root = Path(course_root).resolve()
    cfg = _config(course_root)
    coursedir = _coursedir(cfg, course_root, student, assignment)
    with _captured() as log:
        converter = GenerateFeedback(coursedir=coursedir, config=cfg, log=_nbgrader_logger())
        converter.force = True
        classes = [import_item(pp) if isinstance(pp, str) else pp for pp in converter.preprocessors]
        if not any(isinstance(c, type) and issubclass(c, ClearHiddenTests) for c in classes):
            at = next((i + 1 for i, c in enumerate(classes) if isinstance(c, type) and issubclass(c, GetGrades)), 0)
            converter.preprocessors = [*converter.preprocessors[:at], ClearHiddenTests, *converter.preprocessors[at:]]
        try:
            converter.start()
        except NbGraderException:
            raise ClassroomError(f"nbgrader could not write feedback for {student}/{assignment}:\n"
                                 f"{log.errors()}") from None
    out = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    pages = sorted(out / f"{p.stem}.html" for p in autograded.glob("*.ipynb"))
    return _checked_pages(cfg, out, [page for page in pages if page.is_file()], renamed)


def _checked_pages(cfg, out: Path, pages: list[Path], renamed: Mapping[str, str] | None) -> list[Path]:
    """The feedback pages, each checked for a hidden test's delimiter, plus a copy of each under the name
    its notebook was submitted under (`renamed`)."""
    from nbgrader.preprocessors import ClearHiddenTests

    clear = ClearHiddenTests(config=cfg)
    markers = (clear.begin_test_delimeter, clear.end_test_delimeter)
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        if any(marker in text for marker in markers):
            page.unlink()
            raise ClassroomError(f"{page} showed a hidden-test delimiter; deleted it")
    for name, submitted in (renamed or {}).items():
        page, alias = out / f"{name}.html", out / f"{Path(submitted).stem}.html"
        if page in pages and Path(submitted).name == submitted and alias not in pages:
            shutil.copyfile(page, alias)
            pages.append(alias)
    return pages


# -- feedback written elsewhere (a Dask worker's replica of the course) -------------------------------------

def feedback_basis(course_root: Path, student: str, assignment: str, state_digest: str) -> str:
    """What a submission's feedback pages are made from, as a digest: its autograded notebooks (names and
    bytes), the gradebook's state of it (GradebookState.digest: grades, comments, late penalty) and nbgrader's
    version. GenerateFeedback reads nothing else of the submission, so two course folders with the same
    configuration and the same basis write the same pages (grade-class --scheduler relies on it)."""
    from importlib.metadata import version

    course_root = Path(course_root).resolve()
    coursedir = _coursedir(_config(course_root), course_root, student, assignment)
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    h = hashlib.sha256(f"nbgrader {version('nbgrader')}\n{state_digest}\n".encode())
    for path in sorted(autograded.glob("*.ipynb")):
        h.update(f"{path.name}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return h.hexdigest()


def install_feedback(course_root: Path, student: str, assignment: str, pages: Mapping[str, bytes],
                     renamed: Mapping[str, str] | None = None) -> list[Path]:
    """Put feedback pages written elsewhere ({file name: HTML}) where feedback() would have written them,
    as nbgrader's GenerateFeedback leaves them: the folder replaced, the submission's other files copied in
    from autograded/ as GenerateFeedback's init_assignment copies them (timestamp.txt, which `nbgrader
    release_feedback` reads, and any file the learner handed in), every file's permissions; and checked as
    feedback() checks its own."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import find_all_files

    _check_name("student", student)
    _check_name("assignment", assignment)
    course_root = Path(course_root).resolve()
    cfg = _config(course_root)
    coursedir = _coursedir(cfg, course_root, student, assignment)
    out = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
    names = sorted(pages)
    if not names or any(Path(n).name != n or not n.endswith(".html") for n in names):
        raise ClassroomError(f"feedback pages with unexpected names for {student}/{assignment}: {names[:5]}")
    if out.exists():
        shutil.rmtree(out)  # (GenerateFeedback with force does the same)
    out.mkdir(parents=True)
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    for filename in find_all_files(str(autograded), coursedir.ignore + ["*.ipynb"]):
        path = out / os.path.relpath(filename, autograded)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(filename, path)
    written = []
    for name in names:
        path = out / name
        path.write_bytes(pages[name])
        written.append(path)
    mode = int(str(GenerateFeedback(coursedir=coursedir, config=cfg, log=_nbgrader_logger()).permissions), 8)
    for folder, _, files in os.walk(out):
        for name in files:
            os.chmod(os.path.join(folder, name), mode)
    return _checked_pages(cfg, out, written, renamed)


def forget(course_root: Path, student: str, assignment: str) -> None:
    """Remove a submission's autograded notebooks and feedback from a course folder (a worker's replica keeps
    no learner's files once their pages are sent)."""
    course_root = Path(course_root).resolve()
    coursedir = _coursedir(_config(course_root), course_root, student, assignment)
    for folder in (coursedir.autograded_directory, coursedir.feedback_directory):
        shutil.rmtree(coursedir.format_path(folder, student, assignment), ignore_errors=True)


def replica_of(course_root: Path, assignments) -> dict:
    """What a Dask worker needs to record and write feedback as this course would, without its gradebook
    or files: the configuration, a gradebook holding only these assignments' definitions (notebooks, cells,
    points, due dates: nbgrader's own API copies them into a new SQLite file) and their released notebooks.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course_root = Path(course_root).resolve()
    cfg = _config(course_root)
    args = _gradebook_args(course_root)
    if args is None:
        raise ClassroomError("the course has no gradebook yet")
    release = {}
    with scratch_folder("replica-") as tmp, _captured():
        url = f"sqlite:///{tmp}/gradebook.db"
        with Gradebook(*args) as src, Gradebook(url, args[1]) as dst:
            for name in sorted(assignments):
                try:
                    a = src.find_assignment(name)
                except MissingEntry:  # (its submissions cannot be recorded anywhere: the client says why)
                    continue
                dst.update_or_create_assignment(name, duedate=a.duedate)
                for nb in a.notebooks:
                    dst.update_or_create_notebook(nb.name, name, kernelspec=nb.kernelspec)
                    for c in nb.grade_cells:
                        dst.update_or_create_grade_cell(c.name, nb.name, name, max_score=c.max_score,
                                                        cell_type=c.cell_type)
                    for c in nb.solution_cells:
                        dst.update_or_create_solution_cell(c.name, nb.name, name)
                    for c in nb.task_cells:
                        dst.update_or_create_task_cell(c.name, nb.name, name, max_score=c.max_score,
                                                       cell_type=c.cell_type)
                    for c in nb.source_cells:
                        dst.update_or_create_source_cell(c.name, nb.name, name, cell_type=c.cell_type,
                                                         locked=c.locked, source=c.source, checksum=c.checksum)
                coursedir = _coursedir(cfg, course_root, ".", name)
                folder = Path(coursedir.format_path(coursedir.release_directory, ".", name))
                for path in sorted(folder.glob("*.ipynb")):
                    release[os.path.relpath(path, course_root)] = path.read_bytes()
        gradebook = (Path(tmp) / "gradebook.db").read_bytes()
    return {"config": cfg, "gradebook": gradebook, "release": release, "course_id": args[1]}


def open_replica(root: Path, replica: dict) -> Path:
    """A course folder made from replica_of(...) at `root` (a new, private folder): its gradebook, released
    notebooks and configuration (the gradebook's place changed to that folder). Returns the folder."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "gradebook.db").write_bytes(replica["gradebook"])
    for rel, data in replica["release"].items():
        path = (root / rel).resolve()
        if root not in path.parents:
            raise ClassroomError(f"a released notebook outside the course: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    cfg = copy.deepcopy(replica["config"])
    cfg.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    cfg.CourseDirectory.root = str(root)
    with _CONFIG_LOCK:
        _CONFIGS[root] = cfg
    return root


# -- reading the gradebook ---------------------------------------------------------------------------

def shown_url(url: str) -> str:
    """A database URL fit for a message: its password (if any) hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(url))


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong with the database: the driver's own message when SQLAlchemy
    wraps one (without SQLAlchemy's statement and background link), else the exception's first line."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line or type(exc).__name__


def check_gradebook(course_root: Path) -> str:
    """Connect to the course's gradebook and disconnect, creating nothing; returns its URL as shown
    (shown_url). Raises ClassroomError, with the database's own reason on one line, when it is out of
    reach (server down, no such database, wrong credentials, driver not installed). An SQLite
    gradebook that does not exist yet passes: nbgrader creates it."""
    course_root = Path(course_root).resolve()
    url = _coursedir(_config(course_root), course_root, "-", "-").db_url
    if _gradebook_args(course_root) is None:
        return shown_url(url)
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        raise ClassroomError(f"cannot reach the gradebook {shown_url(url)}: {describe_error(exc)}") from None
    return shown_url(url)


def _gradebook_args(course_root: Path) -> tuple[str, str] | None:
    """The course's gradebook URL and course id, or None when the gradebook is an SQLite file that does
    not exist (opening it would create it)."""
    course_root = Path(course_root).resolve()
    coursedir = _coursedir(_config(course_root), course_root, "-", "-")
    url = coursedir.db_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        return None
    return url, coursedir.course_id  # (opening it with another course id would add that course)


def roster(course_root: Path) -> list[str]:
    """The ids of the students in the course's gradebook, sorted ([] without a gradebook)."""
    from nbgrader.api import Gradebook

    args = _gradebook_args(course_root)
    if args is None:
        return []
    with _captured(), Gradebook(*args) as gb:
        return sorted(s.id for s in gb.students)


@dataclass
class GradebookState:
    """A submission as the gradebook holds it: {notebook: {grade_id: (auto, manual, extra credit, max)}}, ..."""

    grades: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)  # {notebook: {grade_id: (auto comment, manual comment)}}
    late_penalty: float = 0.0

    @property
    def digest(self) -> str:
        """Changes whenever anything the feedback shows from the gradebook does."""
        data = {"grades": self.grades, "comments": self.comments, "late_penalty": self.late_penalty}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def scored_by_hand(self, notebook: str, grade_id: str) -> float | None:
        """A manually graded cell's score (extra credit aside): the grader's, or nbgrader's 0 for an
        unanswered one; None while it awaits a grader."""
        auto, manual, _, _ = self.grades.get(notebook, {}).get(grade_id, (None, None, None, None))
        return manual if manual is not None else auto

    def extra_credit(self) -> float:
        """The extra credit given in formgrader, on any cell."""
        return sum(g[2] or 0.0 for grades in self.grades.values() for g in grades.values())


def gradebook_states(course_root: Path, pairs) -> dict:
    """{(student, assignment): GradebookState} for the pairs the gradebook has a submission of."""
    from nbgrader.api import Gradebook, MissingEntry

    args = _gradebook_args(course_root)
    if args is None:
        return {}
    states = {}
    with _captured(), Gradebook(*args) as gb:
        for student, assignment in pairs:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            state = GradebookState(late_penalty=float(sub.late_submission_penalty or 0.0))
            for nb in sub.notebooks:
                state.grades[nb.name] = {g.name: (g.auto_score, g.manual_score, g.extra_credit, g.max_score)
                                         for g in nb.grades}
                state.comments[nb.name] = {c.name: (c.auto_comment, c.manual_comment) for c in nb.comments}
            states[(student, assignment)] = state
    return states
