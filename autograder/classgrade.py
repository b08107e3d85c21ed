"""Grading a whole class: `python -m autograder grade-class SUBMITTED_DIR`.

SUBMITTED_DIR is laid out as nbgrader's submitted/ folder: <student>/<assignment>/<notebook>.ipynb.
Every expected notebook of every student and assignment is graded in parallel by warm, sandboxed
workers (one `import torch` per worker, not per submission). For each it writes

    OUT/results/<student>/<assignment>/<notebook>.json   Gradescope-format result + what produced it
    OUT/class-grades.csv                                 one row per student and assignment

and, unless --no-gradebook, records the scores in nbgrader's gradebook (formgrader shows them and
instructors add manual grades there) and writes each student's HTML feedback (no hidden tests).
With the gradebook, every student on its roster gets a row for every assignment graded, a
"missing" one when they have no submission. The gradebook is the course's (`CourseDirectory.db_url`:
SQLite in grading/ unless AUTOGRADER_DB_URL names another database, e.g. PostgreSQL, which several
graders can write at once); when it cannot be reached the run grades anyway, says so once, and
records nothing: the next run records those submissions without grading them again.

With --scheduler ADDRESS the submissions are graded by the workers of a running Dask cluster instead of
this machine's (autograder/cluster.py); everything else, and every file written, is the same. Where jobs
run is decided in one place (grade_class: LocalPool or cluster.DaskPool, each yielding results as they
come); on a cluster the gradebook step runs here while the workers grade (Recorder).

A run can be interrupted and started again: a result is reused when the submission file, the
solution, the grader's code, the limits and torch are all unchanged (its fingerprint), so nothing
is graded twice and a re-run gives identical files. The feedback follows the gradebook: a re-run
after manual grades were entered in formgrader rewrites the feedback of exactly those submissions
(and the CSV's manual columns), grading nothing.
"""
from __future__ import annotations

import contextlib
import functools
import csv
import hashlib
import io
import json
import logging
import os
import queue
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .grade import (GradeResult, Limits, TestResult, code_digest, default_solutions_dir,
                    grade_notebook, references)
from .notebooks import GradingInputError, is_revision, load_solution, solution_notebooks
from .report import gradescope_results
from .worker import Worker

LOG = logging.getLogger("autograder.classgrade")

SKIP_NAMES = re.compile(r"^\.|^__|\.ipynb_checkpoints$")


class ClusterError(Exception):
    """The Dask cluster of `grade-class --scheduler` cannot be used or went away (autograder/cluster.py;
    defined here so that catching it imports no Dask)."""


@dataclass
class Task:
    student: str
    assignment: str
    notebook: str  # the expected name, without .ipynb
    path: Path | None  # the file to grade (None: not submitted)
    note: str = ""


def discover(submitted: Path, solutions: Path, assignments: list[str] | None, roster=(), log=None) -> list[Task]:
    """Every (student, assignment, expected notebook) to report on, sorted.

    The assignments are those someone submitted (of `assignments`, if given); the students are those
    with a folder in `submitted` and those on the `roster` (the gradebook's students). A student
    without a folder or a notebook for an assignment gets a task without a path: "missing".
    Folders of the ungraded revision notebooks are left out, with one note to `log`.
    """
    expected: dict[str, list[str]] = {}
    for sol in solution_notebooks(solutions):
        expected.setdefault(sol.parent.name, []).append(sol.stem)
    folders: dict[tuple[str, str], Path] = {}
    students = set(roster)
    revision = []
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir() and not SKIP_NAMES.search(p.name)):
        students.add(student_dir.name)
        for adir in sorted(p for p in student_dir.iterdir() if p.is_dir() and not SKIP_NAMES.search(p.name)):
            if is_revision(adir.name):
                revision.append(adir)
            elif adir.name in expected and (not assignments or adir.name in assignments):
                folders[(student_dir.name, adir.name)] = adir
    if revision and log is not None:
        print(f"grade-class: {len(revision)} revision folder(s) ignored (e.g. {revision[0].relative_to(submitted)}): "
              f"the revision notebooks are not graded", file=log)
    graded = sorted({assignment for _, assignment in folders})
    tasks = []
    for student in sorted(students):
        for assignment in graded:
            adir = folders.get((student, assignment))
            present = sorted(p for p in adir.glob("*.ipynb") if not SKIP_NAMES.search(p.name)) if adir else []
            names = expected[assignment]
            for name in names:
                path = adir / f"{name}.ipynb" if adir else None
                if path is not None and (path.exists() or path.is_symlink()):
                    tasks.append(Task(student, assignment, name, path))
                    continue
                others = [p for p in present if p.stem not in names]
                if len(names) == 1 and len(others) == 1:  # renamed by the learner: grade it anyway
                    tasks.append(Task(student, assignment, name, others[0],
                                      f"graded {others[0].name} (the notebook was renamed from {name}.ipynb)"))
                else:
                    tasks.append(Task(student, assignment, name, None))
    return tasks


def fingerprint(task: Task, solutions: Path, limits: Limits) -> str:
    h = hashlib.sha256()
    if task.path is not None:
        try:
            h.update(b"link" if task.path.is_symlink() else task.path.read_bytes())
        except OSError as exc:
            h.update(f"unreadable {exc.errno}".encode())
    sol = solutions / task.assignment / f"{task.notebook}.ipynb"
    h.update(sol.read_bytes())
    h.update(code_digest().encode())
    h.update(_torch_version().encode())
    h.update(json.dumps(limits.__dict__, sort_keys=True).encode())
    h.update(task.note.encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _torch_version() -> str:
    """torch.__version__, from the installed package's metadata (without importing torch, which takes a second)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        import torch

        return torch.__version__


def failed_result(task: Task, solutions: Path, why: str) -> GradeResult:
    """A result for a notebook that could not be graded: every test 0 with the reason."""
    sol = load_solution(solutions / task.assignment / f"{task.notebook}.ipynb")
    tests = [TestResult(c.grade_id, c.title, 0.0, c.points, manual=c.kind == "manual", message=why)
             for c in sol.cells if c.kind in ("test", "manual")]
    return GradeResult(str(task.path or ""), task.assignment, task.notebook, tests, [why], 0.0)


class Progress:
    """A one-line progress bar on a terminal, a line per submission otherwise."""

    def __init__(self, total: int, quiet: bool = False, stream=sys.stderr):
        self.total, self.done, self.quiet, self.stream = total, 0, quiet, stream
        self.started = time.monotonic()
        self.tty = stream.isatty()
        self.lock = threading.Lock()

    def step(self, label: str) -> None:
        with self.lock:
            self.done += 1
            if self.quiet:
                return
            elapsed = time.monotonic() - self.started
            eta = elapsed / self.done * (self.total - self.done)
            if self.tty:
                width = 30
                filled = int(width * self.done / max(self.total, 1))
                self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                                  f"{elapsed:5.0f} s, ~{eta:.0f} s left  {label[:40]:<40}")
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(f"[{self.done}/{self.total}] {label}\n")
            self.stream.flush()


def results_data(task: Task, result: GradeResult, status: str, fingerprint: str, submission: str) -> dict:
    """The results JSON of one notebook (Gradescope's format, with our extra_data), as grade-class writes it."""
    data = gradescope_results(result)
    data["extra_data"].update(student=task.student, status=status, fingerprint=fingerprint,
                              error=result.notes[0] if status != "graded" else "", submission=submission)
    return data


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def grade_task(task: Task, solutions: Path, limits: Limits, worker: Worker | None) -> tuple[GradeResult, str]:
    """Grade one task on a started worker: (result, status), status "graded", "missing" or "error".

    Never raises for a submission's sake: a notebook that cannot be graded gets a result scoring 0
    with the reason (the same on this machine and on a Dask worker, autograder/cluster.py)."""
    if task.path is None:
        return failed_result(task, solutions, f"{task.notebook}.ipynb was not submitted"), "missing"
    try:
        result = grade_notebook(task.path, assignment=task.assignment, solutions_dir=solutions,
                                limits=limits, worker=worker)
        if task.note:
            result.notes.insert(0, task.note)
        return result, "graded"
    except GradingInputError as exc:
        return failed_result(task, solutions, f"cannot grade: {exc}"), "error"
    except Exception as exc:  # never lose the other students' grades
        return failed_result(task, solutions, f"grader error: {type(exc).__name__}: {exc}"), "error"


class _Lease:
    """Stands for a worker in grade_notebook: each run() takes an idle worker for just that run, so that
    reading a submission and scoring its results (in this process) overlap with other runs."""

    def __init__(self, idle: queue.Queue):
        self.idle = idle

    def run(self, *args, **kwargs):
        worker = self.idle.get()
        try:
            return worker.run(*args, **kwargs)
        finally:
            self.idle.put(worker)


class LocalPool:
    """Where jobs run by default: warm sandboxed workers of this machine, one thread feeding each.

    The other place is a Dask cluster (autograder/cluster.py, DaskPool); both are context managers
    whose grade(tasks) yields (task, result, status) as each submission is done, in any order."""

    def __init__(self, workers: int, solutions: Path, limits: Limits):
        self.workers, self.solutions, self.limits = workers, solutions, limits
        self.started: list[Worker] = []
        self.running = None

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        if self.running is not None:  # (a failure while writing: the jobs under way finish first, as always)
            self.running.close()
        for w in self.started:
            w.stop()
        self.started = []

    def warm(self, tasks: list[Task]) -> None:
        """Start the workers these tasks need now (each imports torch, about 2 s, while the caller does
        other things, such as loading the references); grade() uses them. Stopped on exit."""
        while len(self.started) < min(self.workers, sum(t.path is not None for t in tasks)):
            self.started.append(Worker(sandboxed=True).start())

    def grade(self, tasks: list[Task]):
        self.running = self._grade(tasks)
        return self.running

    def _grade(self, tasks: list[Task]):
        idle: queue.Queue = queue.Queue()
        self.warm(tasks)
        for w in self.started:
            idle.put(w)

        lease = _Lease(idle)

        def run(task: Task) -> tuple[Task, GradeResult, str]:
            return (task, *grade_task(task, self.solutions, self.limits, None if task.path is None else lease))

        # two submissions in hand per worker: one runs while the other is read and scored here
        with ThreadPoolExecutor(max_workers=2 * len(self.started) or 1) as ex:
            for fut in as_completed([ex.submit(run, t) for t in tasks]):
                yield fut.result()


class Recorder:
    """The gradebook step of submissions already graded, in a process of its own while the rest are graded.

    add(pair, tasks) once all of a pair's results are written; finish() waits for the process and returns
    {pair: "" or why it could not be recorded} for record_all. It records each pair as record_all does
    (classroom.record), in one gradebook session, and writes nothing else: the results files are the
    client's alone; record_all writes the feedback pages (a pool of processes) and the `recorded` marks."""

    def __init__(self, course_root: Path, submitted: Path, results_dir: Path):
        import subprocess

        repo = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
        self.proc = subprocess.Popen([sys.executable, "-c", "from autograder.classgrade import _recorder_main; _recorder_main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self.results_dir = Path(results_dir).resolve()
        self.sent = []
        self._send({"course_root": str(Path(course_root).resolve()), "submitted": str(Path(submitted).resolve())})

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died: finish() says so for every pair

    def add(self, pair: tuple[str, str], group: list[Task]) -> None:
        self.sent.append(pair)
        self._send({"pair": list(pair), "notebooks": [
            [t.notebook, str(self.results_dir / t.student / t.assignment / f"{t.notebook}.json"),
             t.path.name if t.path is not None and t.path.name != f"{t.notebook}.ipynb" else ""] for t in group]})

    def finish(self) -> dict:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        answers = {}
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
                answers[tuple(message["pair"])] = message["error"]
            except (ValueError, KeyError, TypeError):
                continue
        self.proc.wait()
        # a pair it did not answer for is left to record_all (nothing is lost)
        return {pair: why for pair, why in answers.items() if why is not None}


def _recorder_main() -> None:
    """The Recorder's process: a header line, then a JSON line per pair on stdin; a line per pair on stdout
    ({"pair", "error"}: "" recorded, a reason, or null for nothing to record)."""
    from . import classroom

    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")  # the answers' channel; anything printed goes to stderr
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    header = json.loads(sys.stdin.readline())
    course_root, submitted = Path(header["course_root"]), Path(header["submitted"])
    with classroom.gradebook_session(course_root):
        for line in sys.stdin:
            message = json.loads(line)
            student, assignment = message["pair"]
            error = ""
            try:
                results, errors, renamed, statuses = {}, {}, {}, set()
                for notebook, path, submitted_as in message["notebooks"]:
                    data = json.loads(Path(path).read_text())
                    statuses.add(data["extra_data"]["status"])
                    if data["extra_data"]["status"] == "graded":
                        results[notebook] = result_from_json(data)
                    else:
                        errors[notebook] = data["extra_data"]["error"]
                    if submitted_as:
                        renamed[notebook] = submitted_as
                if statuses == {"missing"}:
                    error = None  # nothing submitted: record_all leaves it out
                else:  # (the feedback pages come after, from record_all: several at once)
                    classroom.record(course_root, submitted, student, assignment, results, errors, renamed)
            except Exception as exc:
                error = one_line(exc)
            answers.write(json.dumps({"pair": [student, assignment], "error": error}) + "\n")
            answers.flush()


def grade_class(submitted, out=None, workers: int | None = None, assignments: list[str] | None = None,
                solutions=None, limits: Limits | None = None, gradebook: bool = True, course_root=None,
                force: bool = False, quiet: bool = False, log=sys.stderr, scheduler: str | None = None) -> dict:
    """Grade every submission of SUBMITTED_DIR; returns a summary dict (see module docstring).

    `scheduler` (a Dask scheduler's address, tcp://host:8786) grades on that cluster's workers instead of
    this machine's (`workers` is then ignored); everything else is the same (autograder/cluster.py)."""
    submitted = Path(submitted)
    if not submitted.is_dir():
        raise GradingInputError(f"{submitted}: no such folder (expected <student>/<assignment>/<notebook>.ipynb)")
    solutions = Path(solutions) if solutions else default_solutions_dir()
    course_root = Path(course_root) if course_root else solutions.resolve().parent
    out = Path(out) if out else course_root / "grading"
    limits = limits or Limits()
    workers = max(1, workers or os.cpu_count() or 1)
    roster, unreachable = [], ""
    if gradebook:  # everyone enrolled gets a row, a "missing" one without a submission
        from . import classroom
        try:
            classroom.check_gradebook(course_root)
        except Exception as exc:  # grade anyway: the results keep no `recorded` mark, the next run records them
            unreachable = str(exc)
            print(f"grade-class: {unreachable}; grading without it (nothing is recorded and no feedback is "
                  f"written this run: run grade-class again once the gradebook can be reached)", file=log)
        else:
            try:
                roster = classroom.roster(course_root)
            except Exception as exc:
                print(f"grade-class: could not read the students in nbgrader's gradebook: "
                      f"{classroom.describe_error(exc)}", file=log)
    tasks = discover(submitted, solutions, assignments, roster, log=log)
    if not tasks:
        raise GradingInputError(f"{submitted}: no submissions found (expected <student>/<assignment>/<notebook>.ipynb "
                                f"with assignments from {solutions})")
    started = time.monotonic()
    results_dir = out / "results"
    todo, reused = [], 0
    prints = {}
    for task in tasks:
        prints[id(task)] = fingerprint(task, solutions, limits)
        path = results_dir / task.student / task.assignment / f"{task.notebook}.json"
        if not force and path.exists():
            try:
                if json.loads(path.read_text())["extra_data"]["fingerprint"] == prints[id(task)]:
                    reused += 1
                    continue
            except (ValueError, KeyError, TypeError, OSError):
                pass
        todo.append(task)

    # the one place that decides where jobs run: warm workers of this machine, or a Dask cluster
    groups: dict[tuple[str, str], list[Task]] = {}
    for task in tasks:
        groups.setdefault((task.student, task.assignment), []).append(task)
    if scheduler:
        from .cluster import DaskPool
        # with the gradebook, the workers also write the feedback pages (checked here before they are used)
        pool = DaskPool(scheduler, solutions, limits, log=log, feedback={"course_root": course_root, "groups": groups}
                        if gradebook and not unreachable else None)
    else:
        pool = LocalPool(workers, solutions, limits)
        pool.warm(todo)  # the workers start (import torch) while the references load
    try:
        # references first, once per notebook (a course bug stops the run before any student is graded)
        for key in sorted({(t.assignment, t.notebook) for t in tasks}):
            references(load_solution(solutions / key[0] / f"{key[1]}.ipynb"), limits)
    except BaseException:
        if not scheduler:
            pool.__exit__(None, None, None)
        raise

    progress = Progress(len(todo), quiet)
    graded_pairs = set()
    # on a cluster this machine's cores are free while it grades: the gradebook step runs meanwhile,
    # each submission as soon as all its notebooks are graded (here, the pool needs the cores)
    recorder = Recorder(course_root, submitted, results_dir) if scheduler and gradebook and not unreachable else None
    left: dict[tuple[str, str], int] = {}
    for task in todo:
        left[(task.student, task.assignment)] = left.get((task.student, task.assignment), 0) + 1
    prerecorded, pages = {}, {}
    try:
        with pool if todo else contextlib.nullcontext():  # (nothing to grade: no cluster to reach)
            for task, result, status in (pool.grade(todo) if todo else ()):
                data = results_data(task, result, status, prints[id(task)], str(task.path or ""))
                write_atomic(results_dir / task.student / task.assignment / f"{task.notebook}.json",
                             json.dumps(data, indent=2, sort_keys=True) + "\n")
                pair = (task.student, task.assignment)
                graded_pairs.add(pair)
                left[pair] -= 1
                if recorder is not None and not left[pair]:
                    recorder.add(pair, groups[pair])
                progress.step(f"{task.student}/{task.assignment}/{task.notebook}: "
                              f"{data['score']:g}/{data['extra_data']['autograded_max_score']:g}"
                              + ("" if status == "graded" else f" ({status})"))
            if todo and hasattr(pool, "feedback_pages"):
                pages = pool.feedback_pages()  # what the workers wrote meanwhile
    finally:
        if recorder is not None:
            prerecorded = recorder.finish()

    recorded, refreshed, states = [], [], {}
    if gradebook and not unreachable:
        recorded, refreshed, states = record_all(course_root, submitted, tasks, results_dir, graded_pairs, log,
                                                   prerecorded, pages)
    rows = write_csv(tasks, results_dir, out / "class-grades.csv", states)
    not_recorded = len({(t.student, t.assignment) for t in tasks if t.path is not None}) if unreachable else 0
    remote = sum(1 for pair in recorded if pages.get(tuple(pair.split("/", 1)), {}).get("used"))
    return {"submissions": len(tasks), "graded": len(todo), "reused": reused, "rows": rows,
            "csv": str(out / "class-grades.csv"), "recorded": recorded, "feedback_refreshed": refreshed,
            "feedback_on_workers": remote,
            "not_recorded": not_recorded, "seconds": round(time.monotonic() - started, 1)}


CSV_TOTALS = ["auto_score", "auto_max", "manual_score", "manual_max", "total_score", "total_max"]


def write_csv(tasks: list[Task], results_dir: Path, path: Path, states: dict | None = None) -> int:
    """One row per student and assignment: the points, any error, and the score of every question.

    auto_* are the autograded points, manual_* the points given by hand in formgrader (the manual
    grades, plus any extra credit), total_* both, as the feedback pages count them (without a late
    penalty). The manual grades come from the gradebook (`states`, from classroom.gradebook_states;
    none with --no-gradebook): a manual question's column stays empty until it is graded, and
    manual_score and total_score until every explanation of the submission is.
    """
    states = states or {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for task in tasks:
        data = json.loads((results_dir / task.student / task.assignment / f"{task.notebook}.json").read_text())
        groups.setdefault((task.student, task.assignment), []).append(data)
    questions: list[str] = []
    for datas in groups.values():
        for data in datas:
            for t in data["tests"]:
                col = f"{data['extra_data']['notebook']}/{t['name'].split(':')[0]}"
                if col not in questions:
                    questions.append(col)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "assignment", *CSV_TOTALS, "status", "error", *questions])
    for (student, assignment), datas in sorted(groups.items()):
        state = states.get((student, assignment))
        scores, by_hand = {}, []
        for data in datas:
            notebook = data["extra_data"]["notebook"]
            for t in data["tests"]:
                gid = t["name"].split(":")[0]
                if "manually graded" in t.get("tags", []):
                    score = state.scored_by_hand(notebook, gid) if state else None
                    by_hand.append(score)
                    scores[f"{notebook}/{gid}"] = "" if score is None else f"{score:g}"
                else:
                    scores[f"{notebook}/{gid}"] = f"{t['score']:g}"
        statuses = {d["extra_data"]["status"] for d in datas}
        status = "graded" if statuses == {"graded"} else "error" if "error" in statuses else sorted(statuses - {"graded"})[0]
        errors = "; ".join(d["extra_data"]["error"] for d in datas if d["extra_data"]["error"])
        auto = round(sum(d["score"] for d in datas), 2)
        auto_max = sum(d["extra_data"]["autograded_max_score"] for d in datas)
        manual_max = sum(d["extra_data"]["manual_max_score"] for d in datas)
        manual = ""
        if state is not None and None not in by_hand:
            manual = round(sum(by_hand) + state.extra_credit(), 2)  # extra credit on any cell, as nbgrader counts it
        writer.writerow([student, assignment, f"{auto:g}", f"{auto_max:g}",
                         "" if manual == "" else f"{manual:g}", f"{manual_max:g}",
                         "" if manual == "" else f"{round(auto + manual, 2):g}", f"{auto_max + manual_max:g}",
                         status, errors, *[scores.get(q, "") for q in questions]])
    write_atomic(path, buf.getvalue())
    return len(groups)


def one_line(exc: BaseException) -> str:
    """An error in one line that names its cause: the first line, and when that only introduces details
    (nbgrader's log, a traceback), the last line of those, where the cause is."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) > 1 and lines[0].endswith(":"):
        raised = [line for line in lines[1:] if _RAISED.match(line)]  # e.g. "PermissionError: [Errno 13] ..."
        return f"{lines[0]} {(raised or lines)[-1]}"
    return lines[0]


_RAISED = re.compile(r"^([\w.]+(Error|Exception|Exit|Interrupt)|Exception)(: |$)")


def record_all(course_root: Path, submitted: Path, tasks, results_dir: Path, fresh: set, log,
               prerecorded: dict | None = None, pages: dict | None = None):
    """Put the scores in nbgrader's gradebook and write feedback: the scores one submission after another
    (nbgrader changes the working directory while it converts; other processes may use a database server
    at once) in one gradebook session for the class (classroom.gradebook_session), then the HTML pages,
    by a pool of processes for a large class (classroom.feedback_many).

    A pair is recorded when it was graded in this run or its results carry no `recorded` mark (an
    interrupted run); the mark is written after nbgrader has the scores. Then the feedback follows
    the gradebook: each result carries the digest of the gradebook state its feedback was written
    from (`feedback_digest`), and a pair whose grades, comments or penalty changed since (manual
    grades entered in formgrader) gets its feedback written again, without being graded or recorded
    again. Returns (pairs recorded, pairs whose feedback was rewritten, {pair: GradebookState}).

    `prerecorded` ({pair: "" or why it failed}) are the pairs a Recorder already recorded (not their feedback).
    `pages` ({pair: {"basis", "pages"}}, from the Dask workers: cluster.feedback_remote) are feedback pages
    written elsewhere: a pair's are used when its record here has the same basis (classroom.feedback_basis:
    the same autograded notebooks and gradebook state, so the same pages), and marked {"used": True};
    the others are written here.
    """
    from . import classroom

    prerecorded = prerecorded or {}

    pairs: dict[tuple[str, str], list[Task]] = {}
    for task in tasks:
        pairs.setdefault((task.student, task.assignment), []).append(task)
    done, refreshed, current = [], [], {}
    # {pair: {notebook: the file name it was submitted under}}: notebooks the learner renamed
    renames = {pair: {t.notebook: t.path.name for t in group
                      if t.path is not None and t.path.name != f"{t.notebook}.ipynb"}
               for pair, group in pairs.items()}
    to_record = []
    for (student, assignment), group in sorted(pairs.items()):
        paths = [results_dir / t.student / t.assignment / f"{t.notebook}.json" for t in group]
        datas = [json.loads(p.read_text()) for p in paths]
        if all(d["extra_data"]["status"] == "missing" for d in datas):
            continue  # nothing submitted: nbgrader has no submission to record (formgrader says so)
        current[(student, assignment)] = (paths, datas)
        if (student, assignment) not in fresh and all(d["extra_data"].get("recorded") for d in datas):
            continue
        if (student, assignment) in prerecorded:
            continue
        to_record.append(((student, assignment), group, datas))

    def failed(pair, what: str, exc) -> None:
        why = one_line(exc if isinstance(exc, BaseException) else RuntimeError(exc))
        print(f"grade-class: could not {what.format(f'{pair[0]}/{pair[1]}')}: {why}", file=log)

    recorded = []  # in the gradebook: their feedback pages are next
    for pair, why in sorted(prerecorded.items()):
        if pair not in current:
            continue
        if why:
            failed(pair, "record {} in nbgrader's gradebook", why)
            del current[pair]
            continue
        recorded.append(pair)

    stale = []
    # one gradebook session for the whole class; the HTML pages (most of the time) by several processes
    with classroom.gradebook_session(course_root):
        for pair, group, datas in to_record:
            try:
                results, errors = {}, {}
                for task, data in zip(group, datas):
                    if data["extra_data"]["status"] == "graded":
                        results[task.notebook] = result_from_json(data)
                    else:
                        errors[task.notebook] = data["extra_data"]["error"]
                classroom.record(course_root, submitted, *pair, results, errors, renames[pair])
            except Exception as exc:  # the gradebook step never loses the grades already written
                failed(pair, "record {} in nbgrader's gradebook", exc)
                del current[pair]
                continue
            recorded.append(pair)
        recorded.sort()
        try:
            states = classroom.gradebook_states(course_root, sorted(current))
        except Exception as exc:
            states = exc
        local, written = [], {}
        for pair in recorded:
            page = (pages or {}).get(pair) or {}
            if "basis" in page and not isinstance(states, Exception) and pair in states:
                try:
                    if classroom.feedback_basis(course_root, *pair, states[pair].digest) == page["basis"]:
                        classroom.install_feedback(course_root, *pair, page["pages"], renames[pair])
                        written[pair], page["used"] = "", True
                        continue
                except Exception as exc:  # (written here instead)
                    LOG.debug("feedback of %s/%s from a worker not used: %s", *pair, one_line(exc))
            local.append(pair)
        written.update(zip(local, classroom.feedback_many(course_root, [(*p, renames[p]) for p in local])))
        for pair in recorded:
            why = written[pair]
            if why:
                failed(pair, "record {} in nbgrader's gradebook", why)
                del current[pair]
                continue
            for data in current[pair][1]:
                data["extra_data"]["recorded"] = True
                data["extra_data"]["feedback_digest"] = ""  # written below, from the gradebook as it is now
            done.append(f"{pair[0]}/{pair[1]}")

        if isinstance(states, Exception):
            print(f"grade-class: could not read nbgrader's gradebook: {states}", file=log)
            return done, refreshed, {}
        for pair, (paths, datas) in sorted(current.items()):
            state = states.get(pair)
            if state is None or not [d for d in datas if d["extra_data"].get("feedback_digest") != state.digest]:
                continue
            if f"{pair[0]}/{pair[1]}" not in done:  # recorded in an earlier run: the grades changed since
                stale.append(pair)
            else:
                _keep_digest(paths, datas, state.digest)
        for pair, why in zip(stale, classroom.feedback_many(course_root, [(*p, renames[p]) for p in stale])):
            if why:
                failed(pair, "rewrite the feedback of {}", why)
                continue
            refreshed.append(f"{pair[0]}/{pair[1]}")
            _keep_digest(*current[pair], states[pair].digest)
    for pair, (paths, datas) in sorted(current.items()):  # recorded, but no state to take a digest of
        if f"{pair[0]}/{pair[1]}" in done and pair not in states:
            for path, data in zip(paths, datas):
                write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return done, refreshed, states


def _keep_digest(paths, datas, digest: str) -> None:
    for path, data in zip(paths, datas):
        data["extra_data"]["feedback_digest"] = digest
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def result_from_json(data: dict) -> GradeResult:
    """The GradeResult a results JSON was written from (what classroom.record needs); each test's
    feedback lines come back as its message."""
    tests = []
    for t in data["tests"]:
        gid = t["name"].split(":")[0]
        title = t["name"].split(": ", 1)[1] if ": " in t["name"] else gid
        manual = "manually graded" in t.get("tags", [])
        tests.append(TestResult(gid, title, float(t["score"]), float(t["max_score"]), manual=manual,
                                message=t.get("output", "")))
    extra = data["extra_data"]
    return GradeResult(extra.get("submission", ""), extra["assignment"], extra["notebook"], tests, [],
                       float(data.get("execution_time", 0.0)))


def summary_text(summary: dict) -> str:
    lines = [f"{summary['submissions']} notebooks: {summary['graded']} graded now, {summary['reused']} unchanged "
             f"since the last run ({summary['seconds']:g} s)",
             f"gradebook CSV: {summary['csv']} ({summary['rows']} rows: one per student and assignment)"]
    if summary["recorded"]:
        lines.append(f"recorded in nbgrader's gradebook with feedback: {len(summary['recorded'])} submissions")
    if summary.get("feedback_on_workers"):
        lines.append(f"feedback pages written on the Dask workers: {summary['feedback_on_workers']} of "
                     f"{len(summary['recorded'])} submissions (the rest here)")
    if summary.get("not_recorded"):
        lines.append(f"NOT recorded in nbgrader's gradebook (it could not be reached): {summary['not_recorded']} "
                     "submissions; run grade-class again to record them")
    if summary.get("feedback_refreshed"):
        lines.append(f"feedback rewritten after grades changed in the gradebook: "
                     f"{len(summary['feedback_refreshed'])} submissions")
    return "\n".join(lines)
