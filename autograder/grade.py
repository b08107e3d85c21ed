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
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox
from .notebooks import (Solution, locate_solution, manual_answer_changed, read_notebook,
                        solution_program, student_program)

# torch (and .values, which needs it) are imported inside the functions that use them, so that the
# student's process is already running while the grader pays for `import torch` (two cores).

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


@dataclass
class Limits:
    """Time and output limits of one grading run (seconds, bytes)."""

    notebook_timeout: float = 300.0  # the whole student run, enforced with SIGKILL
    cell_timeout: float = 60.0  # one of the student's own cells
    case_timeout: float = 30.0  # one test case's call into student code
    max_result_bytes: int = 64 * 2**20  # what the child may send back
    max_log_bytes: int = 2 * 2**20  # what is kept of the child's printed output


class AuthoringError(Exception):
    """The solution notebook fails its own tests: a course bug, not a student's."""


@dataclass
class CaseResult:
    name: str
    passed: bool
    reason: str = ""
    hint: str = ""


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
        if len(failed) > 1 and len(failed) == len(self.cases) and len({c.reason for c in failed}) == 1:
            return [f"✗ all {len(failed)} cases: {failed[0].reason}"]
        out = []
        for c in self.cases:
            if c.passed:
                out.append(f"✓ {c.name}")
            else:
                out.append(f"✗ {c.name}: {c.reason}" + (f"\n    hint: {c.hint}" if c.hint else ""))
        return out


@dataclass
class GradeResult:
    submission: str
    assignment: str
    notebook: str
    tests: list[TestResult]
    notes: list[str]
    execution_time: float

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests if not t.manual), 2)

    @property
    def max_auto(self) -> float:
        return sum(t.max_score for t in self.tests if not t.manual)

    @property
    def max_manual(self) -> float:
        return sum(t.max_score for t in self.tests if t.manual)


# -- running a program in a child process ----------------------------------------------------------

@dataclass
class RunOutcome:
    events: list[dict]
    status: str  # "finished" | "timeout" | "crashed" | "garbled"
    detail: str
    log: str


def _child_env(home: Path) -> dict:
    home = Path(home)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
    }
    return env


def run_program(cells, mode: str, limits: Limits, seed: int = 0) -> RunOutcome:
    """Run program cells in a fresh child process; return the decoded events and how it ended."""
    return RunningProgram(cells, mode, limits, seed).wait()


class RunningProgram:
    """A program running in a child process; `wait()` collects its outcome (and always reaps it).

    Student programs (mode "record") run in the sandbox (autograder/sandbox.py); the solution's
    reference run is the instructor's own code and runs as a plain child process.
    """

    def __init__(self, cells, mode: str, limits: Limits, seed: int = 0):
        job = json.dumps({"mode": mode, "cells": [c.__dict__ for c in cells], "seed": seed,
                          "cell_timeout": limits.cell_timeout, "case_timeout": limits.case_timeout})
        self.limits = limits
        self.started = time.monotonic()
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.read_fd, write_fd = os.pipe()
        self.received = bytearray()
        self.overflow = threading.Event()
        self.log_path = self.scratch / "output.log"
        home = self.scratch / "home"
        home.mkdir()
        argv = [sys.executable, "-m", "autograder.runner", str(write_fd)]
        try:
            if mode == "record":
                argv, self.sandboxed = sandbox.command(argv, home)
            else:
                self.sandboxed = False
            env = _child_env(sandbox.HOME if self.sandboxed else home)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                    cwd=home, env=env, start_new_session=True)
        except BaseException:
            os.close(self.read_fd)
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        finally:
            os.close(write_fd)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        try:
            self.proc.stdin.write(job.encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def _drain(self):
        while True:
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                return
            if len(self.received) + len(chunk) > self.limits.max_result_bytes:
                self.overflow.set()
                continue
            self.received.extend(chunk)

    def wait(self) -> RunOutcome:
        limits, proc = self.limits, self.proc
        try:
            return self._collect(limits, proc)
        finally:
            _kill_group(proc)
            os.close(self.read_fd)
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _collect(self, limits: Limits, proc) -> RunOutcome:
        status, detail = "finished", ""
        remaining = max(0.0, limits.notebook_timeout - (time.monotonic() - self.started))
        try:
            code = proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            status, detail = "timeout", f"the notebook was stopped after {limits.notebook_timeout:g} s (time limit per notebook)"
            code = None
        finally:
            _kill_group(proc)
        self.reader.join(timeout=10)
        received, overflow, log_path = self.received, self.overflow, self.log_path
        if code is not None and code != 0:
            status = "crashed"
            detail = (f"the notebook's process was killed by signal {-code}" if code < 0
                      else f"the notebook's process exited with status {code}")
        events, garbled = _decode(bytes(received))
        if overflow.is_set():
            status, detail = "garbled", "the notebook sent back more data than the grader accepts"
        elif garbled and status == "finished":
            status, detail = "garbled", garbled
        if status == "finished" and not (events and events[-1].get("event") == "done"):
            status, detail = "crashed", "the notebook's process stopped before the end"
        with open(log_path, "rb") as f:
            log = f.read(limits.max_log_bytes).decode("utf-8", "replace")
        return RunOutcome(events, status, detail, log)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def _decode(data: bytes) -> tuple[list[dict], str]:
    """Frames -> events; stops at the first malformed frame and says why."""
    import torch

    from .values import PlainError, check_plain

    events, pos = [], 0
    while pos < len(data):
        if pos + 8 > len(data):
            return events, "the result stream was cut off"
        (size,) = struct.unpack(">Q", data[pos:pos + 8])
        if size > len(data) - pos - 8:
            return events, "the result stream was cut off"
        frame = data[pos + 8:pos + 8 + size]
        pos += 8 + size
        try:
            event = torch.load(io.BytesIO(frame), weights_only=True)
            check_plain(event)
        except (PlainError, Exception) as exc:  # anything unreadable is treated as no data
            return events, f"unreadable result data ({type(exc).__name__})"
        if type(event) is not dict or type(event.get("event")) is not str:
            return events, "unexpected result data"
        events.append(event)
    return events, ""


# -- references ----------------------------------------------------------------------------------------

def _cache_dir() -> Path:
    env = os.environ.get("AUTOGRADER_CACHE")
    return Path(env) if env else REPO_DIR / "grading" / "cache"


def _code_digest() -> str:
    h = hashlib.sha256()
    for name in ("check.py", "runner.py", "values.py", "notebooks.py"):
        h.update((PACKAGE_DIR / name).read_bytes())
    return h.hexdigest()


def references(sol: Solution, limits: Limits) -> dict[str, list[dict]]:
    """{test grade_id: [case spec with its reference]} from running the solution (cached on disk)."""
    import torch

    from .values import check_plain, compare

    key = hashlib.sha256(sol.path.read_bytes() + _code_digest().encode() + torch.__version__.encode()).hexdigest()[:24]
    cache = _cache_dir() / f"{sol.assignment}--{sol.name}--{key}.pt"
    if cache.exists():
        try:
            refs = torch.load(cache, weights_only=True)
            check_plain(refs)
            return refs
        except Exception:
            cache.unlink(missing_ok=True)
    outcome = run_program(solution_program(sol), "reference", Limits(notebook_timeout=max(limits.notebook_timeout, 600)))
    errors = [e for e in outcome.events if e["event"] == "cell_error"]
    if errors:
        raise AuthoringError(f"solution {sol.path} failed in {errors[0]['label']}: {errors[0]['error']}")
    if outcome.status != "finished":
        raise AuthoringError(f"solution {sol.path} did not run: {outcome.detail}\n{outcome.log[-2000:]}")
    refs = {e["grade_id"]: e["cases"] for e in outcome.events if e["event"] == "check"}
    for test in sol.tests:
        cases = refs.get(test.grade_id)
        if not cases:
            raise AuthoringError(f"test cell {test.grade_id} of {sol.path} records no cases "
                                 f"(does it create Check({test.grade_id!r}, ...) and end with check.score()?)")
        for case in cases:
            if "error" in case:
                raise AuthoringError(f"{test.grade_id}/{case['name']!r}: the solution {case['error']}")
            ok, why = compare(case["rule"], case["value"], case["want"], rtol=case.get("rtol"),
                              atol=case.get("atol"), options=case.get("options"))
            if not ok:
                raise AuthoringError(f"{test.grade_id}/{case['name']!r}: the solution fails its own test: {why}")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        torch.save(refs, tmp)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only install grades without a cache
    return refs


# -- grading -------------------------------------------------------------------------------------------

def default_solutions_dir() -> Path:
    env = os.environ.get("AUTOGRADER_SOLUTIONS")
    return Path(env) if env else REPO_DIR / "solutions"


def grade_notebook(path, assignment: str | None = None, solutions_dir=None, limits: Limits | None = None) -> GradeResult:
    """Grade one submitted notebook. Raises GradingInputError if it cannot be graded at all."""
    started = time.monotonic()
    limits = limits or Limits()
    path = Path(path)
    nb = read_notebook(path)
    sol = locate_solution(path, nb, Path(solutions_dir) if solutions_dir else default_solutions_dir(), assignment)
    program, notes = student_program(sol, nb)
    running = RunningProgram(program, "record", limits)  # the student's code runs meanwhile
    try:
        refs = references(sol, limits)
    except BaseException:
        running.wait()
        raise
    outcome = running.wait()

    recorded: dict[str, list] = {}
    for event in outcome.events:
        if event["event"] == "check" and type(event.get("grade_id")) is str and type(event.get("cases")) is list:
            recorded.setdefault(event["grade_id"], event["cases"])
        elif event["event"] == "cell_error" and type(event.get("label")) is str:
            notes.append(f"{event['label']}: {str(event.get('error'))[:300]}")
    if outcome.status != "finished":
        notes.append(outcome.detail)

    tests = []
    for cell in sol.cells:
        if cell.kind == "test":
            tests.append(_score_test(cell, refs[cell.grade_id], recorded.get(cell.grade_id), outcome))
        elif cell.kind == "manual":
            changed = manual_answer_changed(sol, nb, cell.grade_id)
            state = ("no answer written" if changed is False else
                     "answer cell missing from the notebook" if changed is None else "answer written")
            tests.append(TestResult(cell.grade_id, cell.grade_id, 0.0, cell.points, manual=True,
                                    message=f"Awaits a human grader ({state}; {cell.points:g} points)."))
    return GradeResult(str(path), sol.assignment, sol.name, tests, notes, round(time.monotonic() - started, 2))


def _score_test(cell, ref_cases: list[dict], got_cases, outcome: RunOutcome) -> TestResult:
    from .values import compare, partial_score

    cases, passed_w, total_w = [], 0.0, 0.0
    if got_cases is None:
        why = {"timeout": "not run: the notebook hit its time limit before this test",
               "crashed": "not run: the notebook's process died before this test",
               "garbled": "not run: the notebook's results could not be read"}.get(
                   outcome.status, "not run: this test did not finish (see the notes)")
    for i, ref in enumerate(ref_cases):
        total_w += ref["weight"]
        name = ref["name"]
        if got_cases is None:
            ok, reason = False, why
        else:
            got = got_cases[i] if i < len(got_cases) and type(got_cases[i]) is dict else None
            if got is None or got.get("name") != name:
                ok, reason = False, "not run (the test cell stopped before this case)"
            elif "error" in got:
                ok, reason = False, str(got["error"])[:300]
            elif "value" not in got:
                ok, reason = False, "no value recorded"
            else:
                ok, reason = compare(ref["rule"], got["value"], ref["want"] if ref["has_want"] else None,
                                     rtol=ref.get("rtol"), atol=ref.get("atol"), options=ref.get("options"))
        if ok:
            passed_w += ref["weight"]
        cases.append(CaseResult(name, ok, "" if ok else reason, "" if ok else str(ref.get("hint") or "")))
    score = partial_score(cell.points, passed_w, total_w)
    return TestResult(cell.grade_id, cell.title, score, cell.points, cases)
