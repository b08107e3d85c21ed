"""Grading one notebook: run it apart, judge its values here.

The process that calls `grade_notebook` is the trusted one. It
1. reads the submission and finds its solution notebook (autograder/notebooks.py);
2. computes the references by running the *solution* notebook once in reference mode (cached);
3. runs the student's code in a child process (autograder/runner.py) whose test cells carry no
   references, reads back only plain data (`torch.load(weights_only=True)`), and
4. compares each case here, with strict types, and scores each test cell from the solution's
   points. Nothing the student's process prints or claims is taken as a score.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .notebooks import (Solution, locate_solution, manual_answer_changed, read_notebook,
                        solution_program, student_program)
from .worker import Limits, RunOutcome, Worker  # noqa: F401 (Limits is part of this module's API)

# torch (and .values, which needs it) are imported inside the functions that use them, so that the
# student's process is already running while the grader pays for `import torch` (two cores).

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


class AuthoringError(Exception):
    """The solution notebook fails its own tests: a course bug, not a student's."""


@dataclass
class CaseResult:
    name: str
    passed: bool
    reason: str = ""
    hint: str = ""
    requires: str = ""  # "Exercise N|function" for the unscored first line of Check.uses


@dataclass
class TestResult:
    grade_id: str
    title: str
    score: float
    max_score: float
    cases: list[CaseResult] = field(default_factory=list)
    manual: bool = False
    message: str = ""

    @property
    def passed(self) -> bool:
        return not self.manual and self.score >= self.max_score

    @property
    def lines(self) -> list[str]:
        """Feedback lines: one per case, or one for all when every case failed for the same reason."""
        if self.message:
            return [self.message]
        failed = [c for c in self.cases if not c.passed]
        if len(failed) > 1 and len(failed) == len(self.cases) and len({c.reason for c in failed}) == 1 \
                and not any(c.requires for c in failed):
            return [f"✗ all {len(failed)} cases: {failed[0].reason}"]
        from .check import case_line

        return [case_line(c.name, c.passed, c.reason, c.hint, c.requires or None) for c in self.cases]


@dataclass
class GradeResult:
    submission: str
    assignment: str
    notebook: str
    tests: list[TestResult]
    notes: list[str]
    execution_time: float
    run_seconds: float = 0.0  # of which the student's notebook ran (the rest is the grader's overhead)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests if not t.manual), 2)

    @property
    def max_auto(self) -> float:
        return sum(t.max_score for t in self.tests if not t.manual)

    @property
    def max_manual(self) -> float:
        return sum(t.max_score for t in self.tests if t.manual)


# -- references ----------------------------------------------------------------------------------------

def _cache_dir(sol: Solution | None = None) -> Path:
    """AUTOGRADER_CACHE; else the grading/ folder of the course the solution belongs to (the folder with
    nbgrader_config.py above solutions/: an instructor's own copy of the course has its own); else this
    repository's."""
    env = os.environ.get("AUTOGRADER_CACHE")
    if env:
        return Path(env)
    if sol is not None:
        course = Path(sol.path).resolve().parent.parent.parent
        if (course / "nbgrader_config.py").is_file():
            return course / "grading" / "cache"
    return REPO_DIR / "grading" / "cache"


def code_digest() -> str:
    """A digest of the grader code that references depend on."""
    h = hashlib.sha256()
    for name in ("check.py", "runner.py", "values.py", "notebooks.py", "worker.py", "grade.py", "scratch.py"):
        h.update((PACKAGE_DIR / name).read_bytes())
    return h.hexdigest()


_REFS: dict[str, dict] = {}  # loaded references of this process, by cache file


def reference_cache_file(sol: Solution) -> Path:
    """Where references() caches a solution's references: keyed by the solution, the grader's code and
    torch's version."""
    import torch

    key = hashlib.sha256(sol.path.read_bytes() + code_digest().encode() + torch.__version__.encode()).hexdigest()[:24]
    return _cache_dir(sol) / f"{sol.assignment}--{sol.name}--{key}.pt"


def references(sol: Solution, limits: Limits | None = None) -> dict[str, list[dict]]:
    """{test grade_id: [case spec with its reference]} from running the solution (cached on disk).

    The solution is the instructor's code: it runs in a plain (unsandboxed) runner, once per
    solution version, code version and torch version."""
    import torch

    from .values import check_plain, compare

    cache = reference_cache_file(sol)
    if str(cache) in _REFS:
        return _REFS[str(cache)]
    if cache.exists():
        try:
            refs = torch.load(cache, weights_only=True)
            check_plain(refs)
            _REFS[str(cache)] = refs
            return refs
        except Exception:
            cache.unlink(missing_ok=True)
    generous = Limits(notebook_timeout=600, cell_timeout=300, case_timeout=120, memory_mb=16384, max_processes=0)
    with Worker(sandboxed=False) as worker:
        outcome = worker.run(solution_program(sol), "reference", generous)
    errors = [e for e in outcome.events if e["event"] == "cell_error"]
    if errors:
        raise AuthoringError(f"solution {sol.path} failed in {errors[0]['label']}: {errors[0]['error']}")
    if outcome.status != "finished" or outcome.faults:
        why = outcome.detail or "; ".join(f"{f['label']} {f['error']}" for f in outcome.faults)
        raise AuthoringError(f"solution {sol.path} did not run: {why}\n{outcome.log[-2000:]}")
    refs = collect_cases(outcome.events)
    for test in sol.tests:
        cases = refs.get(test.grade_id)
        if not cases:
            raise AuthoringError(f"test cell {test.grade_id} of {sol.path} records no cases "
                                 f"(does it create Check({test.grade_id!r}, ...) and end with check.score()?)")
        hidden = test.hidden_lines
        for case in cases:
            if "error" in case:
                raise AuthoringError(f"{test.grade_id}/{case['name']!r}: the solution {case['error']}")
            case["hidden"] = case.get("line", 0) in hidden  # its failure reasons say nothing of its key
            ok, why = compare(case["rule"], case["value"], case["want"], rtol=case.get("rtol"),
                              atol=case.get("atol"), options=case.get("options"), strict=case.get("strict") or ())
            if not ok:
                raise AuthoringError(f"{test.grade_id}/{case['name']!r}: the solution fails its own test: {why}")
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(refs, tmp)
        os.replace(tmp, cache)
    except (OSError, RuntimeError):  # (torch.save says "Permission denied" as a RuntimeError)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only install grades without a cache
    _REFS[str(cache)] = refs
    return refs


# -- grading -------------------------------------------------------------------------------------------

def default_solutions_dir() -> Path:
    """AUTOGRADER_SOLUTIONS; else, run from a course folder of nbgrader's (its nbgrader_config.py beside a
    solutions/ folder, e.g. an instructor's copy of the course), that folder's solutions; else this
    repository's."""
    env = os.environ.get("AUTOGRADER_SOLUTIONS")
    if env:
        return Path(env)
    here = Path.cwd()
    if (here / "nbgrader_config.py").is_file() and (here / "solutions").is_dir():
        return here / "solutions"
    return REPO_DIR / "solutions"


def collect_cases(events: list[dict]) -> dict[str, list[dict]]:
    """{grade_id: [case, ...]} from a run's events; a Check that begins again starts afresh."""
    out: dict[str, list[dict]] = {}
    for event in events:
        gid = event.get("grade_id")
        if type(gid) is not str:
            continue
        if event["event"] == "begin":
            out[gid] = []
        elif event["event"] == "case" and type(event.get("case")) is dict:
            out.setdefault(gid, []).append(event["case"])
    return out


def load_submission(path, assignment: str | None = None, solutions_dir=None):
    """(notebook, solution, program cells, notes) of a submission; GradingInputError if unreadable."""
    path = Path(path)
    nb = read_notebook(path)
    sol = locate_solution(path, nb, Path(solutions_dir) if solutions_dir else default_solutions_dir(), assignment)
    program, notes = student_program(sol, nb)
    return nb, sol, program, notes


def grade_notebook(path, assignment: str | None = None, solutions_dir=None, limits: Limits | None = None,
                   worker: Worker | None = None) -> GradeResult:
    """Grade one submitted notebook. Raises GradingInputError if it cannot be graded at all.

    `worker` is a started sandboxed Worker to reuse (grade-class); without one, a worker is started
    for this notebook and warms up while the references load."""
    started = time.monotonic()
    limits = limits or Limits()
    nb, sol, program, notes = load_submission(path, assignment, solutions_dir)
    own = worker is None
    if own:
        worker = Worker(sandboxed=True).start()  # boots (imports torch) while the references load
    try:
        refs = references(sol, limits)
        outcome = worker.run(program, "record", limits)
    finally:
        if own:
            worker.stop()
    return score_outcome(path, nb, sol, program, notes, refs, outcome, started)


def score_outcome(path, nb, sol: Solution, program, notes: list[str], refs, outcome: RunOutcome,
                  started: float) -> GradeResult:
    """Judge a student run against the references: a GradeResult with a line for every failure."""
    notes = list(notes)
    recorded = collect_cases(outcome.events)
    faulted: dict[str, str] = {}
    overruled: dict[str, str] = {}
    for event in outcome.events:
        if event["event"] == "cell_error" and type(event.get("label")) is str:
            notes.append(f"{event['label']}: {str(event.get('error'))[:300]}")
        if event["event"] == "from_scratch" and type(event.get("index")) is int and 0 <= event["index"] < len(program) \
                and program[event["index"]].kind == "test":
            overruled[program[event["index"]].label] = f"your code {str(event.get('reason'))[:300]}"
    for fault in outcome.faults:
        if type(fault) is not dict or type(fault.get("index")) is not int or not 0 <= fault["index"] < len(program):
            continue
        cell = program[fault["index"]]
        what = f"{cell.label} {str(fault.get('error'))[:200]}"
        if cell.kind == "test":
            faulted[cell.label] = f"the test's call into your code {str(fault.get('error'))[:200]}"
            notes.append(f"{what}; the other questions were graded without it")
        else:
            notes.append(f"{what}; it was skipped and the notebook was graded without it")
    if outcome.status != "finished":
        notes.append(outcome.detail)

    tests = []
    for cell in sol.cells:
        if cell.kind == "test":
            tests.append(_score_test(cell, refs[cell.grade_id], recorded.get(cell.grade_id), outcome,
                                     faulted.get(cell.grade_id), overruled.get(cell.grade_id)))
        elif cell.kind == "manual":
            changed = manual_answer_changed(sol, nb, cell.grade_id)
            state = ("no answer written" if changed is False else
                     "answer cell missing from the notebook" if changed is None else "answer written")
            tests.append(TestResult(cell.grade_id, cell.grade_id, 0.0, cell.points, manual=True,
                                    message=f"Awaits a human grader ({state}; {cell.points:g} points)."))
    return GradeResult(str(path), sol.assignment, sol.name, tests, notes, round(time.monotonic() - started, 2),
                       outcome.run_seconds)


def _score_test(cell, ref_cases: list[dict], got_cases, outcome: RunOutcome, fault: str | None,
                overruled: str | None = None) -> TestResult:
    from .scratch import is_scratch_reason
    from .values import compare, partial_score

    cases, passed_w, total_w = [], 0.0, 0.0
    if fault:
        why = fault
    else:
        why = {"timeout": "not run: the notebook hit its time limit before this test",
               "crashed": "not run: the notebook's process died before this test",
               "garbled": "not run: the notebook's results could not be read"}.get(
                   outcome.status, "not run: this test did not finish (see the notes)")
    for i, ref in enumerate(ref_cases):
        total_w += ref["weight"]
        name = ref["name"]
        got = None
        if got_cases is not None and i < len(got_cases) and type(got_cases[i]) is dict:
            got = got_cases[i]
        if overruled:
            ok, reason = False, overruled
        elif got is None:
            ok, reason = False, why if (fault or got_cases is None) else "not run (the test cell stopped before this case)"
        elif got.get("name") != name:
            ok, reason = False, "not run (the test cell stopped before this case)"
        elif "error" in got:
            ok, reason = False, str(got["error"])[:300]
        elif "value" not in got:
            ok, reason = False, "no value recorded"
        else:
            try:
                ok, reason = compare(ref["rule"], got["value"], ref["want"] if ref["has_want"] else None,
                                     rtol=ref.get("rtol"), atol=ref.get("atol"), options=ref.get("options"),
                                     reveal=not ref.get("hidden", False), strict=ref.get("strict") or ())
            except Exception as exc:  # a value that slipped past check_plain fails its case, nothing more
                ok, reason = False, f"returned a value the grader cannot compare ({type(exc).__name__})"
        if ok:
            passed_w += ref["weight"]
        if overruled:  # the hints and the first line would explain other causes
            cases.append(CaseResult(name, False, reason))
            continue
        # a hint explains a wrong value: not an error, a forbidden call, or a case that did not run
        explains = got is not None and "value" in got and not is_scratch_reason(reason)
        hint = str(ref.get("hint") or "") if not ok and explains else ""
        cases.append(CaseResult(name, ok, "" if ok else reason, hint, str(ref.get("requires") or "")))
    score = partial_score(cell.points, passed_w, total_w)
    return TestResult(cell.grade_id, cell.title, score, cell.points, cases)
