"""The trusted side of a grading worker: start a warm runner process, send it jobs, read results.

A `Worker` owns one runner server (autograder/runner.py), sandboxed for student code
(autograder/sandbox.py). The server pays for `import torch` once; each job is a fork of it, so a
class of submissions costs one start per worker, not one per submission. Everything that comes
back is decoded here as plain data; nothing the runner says is taken as a score.

    with Worker(sandboxed=True) as worker:
        outcome = worker.run(cells, "record", limits)
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import sandbox

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
NOBODY = 65534


@dataclass
class Limits:
    """What one submission may use. Hitting a limit costs the cell (question) that hit it, named."""

    notebook_timeout: float = 300.0  # wall time for the whole notebook, replays included (SIGKILL)
    cell_timeout: float = 60.0  # wall time of one cell (SIGALRM first, SIGKILL 5 s later)
    case_timeout: float = 30.0  # one test case's call into student code
    cpu_seconds: float = 600.0  # CPU time of each program process (RLIMIT_CPU)
    memory_mb: int = 2048  # address space a program may add to the warm runner (RLIMIT_AS)
    file_mb: int = 256  # largest file a program may write (RLIMIT_FSIZE)
    max_processes: int = 32  # processes a program may run at once (its own included)
    max_replays: int = 8  # cells that may crash or be killed before the rest is given up
    max_result_bytes: int = 64 * 2**20  # data the program may send back
    max_log_bytes: int = 2 * 2**20  # printed output kept (the rest is read and dropped)

    def job(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "max_log_bytes"}


@dataclass
class RunOutcome:
    events: list[dict]
    status: str  # "finished" | "timeout" | "crashed" | "garbled"
    detail: str
    log: str
    faults: list[dict] = field(default_factory=list)  # cells that crashed or hit a limit (skipped)
    seconds: float = 0.0  # wall time of the job, seen from here
    run_seconds: float = 0.0  # time the program itself ran (forks and replays included), from the runner
    worker_fate: str = ""  # when the job took the worker down with it: what it did to it


SCRATCH_PREFIX = "autograder-"  # a worker's scratch folder in the temporary folder: its log and home
LOCK_NAME = ".lock"


def hold_lock(folder: Path) -> int:
    """Lock `folder` for as long as this process lives (the kernel drops the lock when it dies, even by
    SIGKILL). The lock file gets its name only once locked, so a sweep never sees it unlocked."""
    fd = os.open(folder / f"{LOCK_NAME}.new", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(folder / f"{LOCK_NAME}.new", folder / LOCK_NAME)
    return fd


@contextmanager
def scratch_folder(kind: str = ""):
    """A temporary folder of the grader's, removed at the end, or by a later run's sweep if this process
    is killed first."""
    path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}"))
    fd = hold_lock(path)
    try:
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def sweep_stale_scratch(tmp: str | None = None) -> list[Path]:
    """Remove the scratch folders of workers whose grading process died without cleaning up (a
    `kill -9`, a power cut): this user's, locked once and no longer. Returns what was removed."""
    removed = []
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            if path.is_symlink() or not path.is_dir() or path.stat().st_uid != os.getuid():
                continue
            fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # not a worker's folder, or made by a version without the lock: left alone
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its process is alive
        finally:
            os.close(fd)  # (closing drops the lock taken just now)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class WorkerError(RuntimeError):
    """The runner could not be started (a setup problem, not a student's)."""


def child_env(home: str, sandboxed: bool) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": "/tmp" if sandboxed else home,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
    }
    if sandboxed:
        env["AUTOGRADER_SANDBOXED"] = "1"
        if isolation_mode() == "restart":
            env["AUTOGRADER_ISOLATION"] = "restart"
    return env


def isolation_mode() -> str:
    """How sandboxed jobs are kept apart: "auto" (each job in fresh namespaces of its own where the kernel
    allows it, else a new worker after every job) or "restart" (a new worker after every job)."""
    value = os.environ.get("AUTOGRADER_ISOLATION", "auto").strip().lower()
    return value if value in ("auto", "restart") else "auto"


class Worker:
    """One warm runner. `sandboxed=True` for student code; the solution's reference run uses False."""

    def __init__(self, sandboxed: bool = True, start_timeout: float = 180.0):
        self.want_sandbox = sandboxed
        self.start_timeout = start_timeout
        self.proc = None
        self.sock = None
        self.ready = False
        self.sandboxed = False
        self.jobs = 0
        self.server_pid = None
        self.stopped_why = None
        self.isolation = None  # "namespaces" (every job in its own), "restart" (a new worker per job), "none"
        self.restarts = 0

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> "Worker":
        """Start the runner (returns at once; the first job waits until it is warm)."""
        if self.proc is not None:
            return self
        sweep_stale_scratch()
        self.scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
        self._lock = hold_lock(self.scratch)
        home = self.scratch / "home"
        home.mkdir()
        self.log_path = self.scratch / "runner.log"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-m", "autograder.runner", str(theirs.fileno())]
        preexec = None
        try:
            if self.want_sandbox:
                argv, self.sandboxed = sandbox.command(argv)
                if not self.sandboxed and os.geteuid() == 0 and sandbox.mode() == "auto" and _nobody_can_run():
                    os.chmod(home, 0o777)
                    preexec = _drop_privileges  # fallback as root: at least not root
            env = child_env(sandbox.HOME if self.sandboxed else str(home), self.sandboxed)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             pass_fds=(theirs.fileno(),), cwd=home, env=env,
                                             start_new_session=True, preexec_fn=preexec)
        except BaseException:
            ours.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            os.close(self._lock)
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.ready = False
        return self

    def _await_ready(self) -> None:
        self.sock.settimeout(self.start_timeout)
        try:
            message = self.sock.recv(1 << 16)
        except (socket.timeout, OSError):
            message = b""
        if not message or json.loads(message).get("op") != "ready":
            tail = self.log_path.read_text(errors="replace")[-1500:] if self.log_path.exists() else ""
            self.stop()
            raise WorkerError(f"the grading runner did not start: {tail.strip().splitlines()[-1:] or ['no output']}")
        ready = json.loads(message)
        if not self.sandboxed:
            self.isolation = "none"
        elif ready.get("isolation") == "namespaces":
            self.isolation = "namespaces"
        else:  # a job could leave state in the worker for the next: each job gets a new worker instead
            self.isolation = "restart"
            if isolation_mode() != "restart" and not _warned_restart:
                _warn_restart(str(ready.get("why_not", "")))
        self.ready = True

    def stop(self) -> None:
        """Stop the runner and everything in it; remove its scratch folder."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            self.proc = None
            shutil.rmtree(self.scratch, ignore_errors=True)
            os.close(self._lock)
        self.ready = False
        self.server_pid = None

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- jobs --------------------------------------------------------------------------------------
    def run(self, cells, mode: str, limits: Limits, seed: int = 0) -> RunOutcome:
        """Run program cells (autograder.notebooks.ProgramCell) in a fork of the runner.

        If the notebook kills the worker itself (it runs as the same user inside the sandbox), a new
        worker replays it without the cell that was running, as the worker does for other crashes."""
        started = time.monotonic()
        events, faults, skip, quiet_until = [], [], set(), -1
        while True:
            remaining = limits.notebook_timeout - (time.monotonic() - started)
            budget = replace(limits, notebook_timeout=max(1.0, remaining))
            out, died = self._run_once(cells, mode, budget, seed, sorted(skip), quiet_until)
            events += [e for e in out.events if e.get("event") != "cell_start"]
            faults += out.faults
            starts = [e.get("index") for e in out.events if e.get("event") == "cell_start"]
            k = starts[-1] if starts and type(starts[-1]) is int and 0 <= starts[-1] < len(cells) else None
            if not died or k is None or k in skip or len(skip) + len(faults) >= limits.max_replays \
                    or time.monotonic() - started >= limits.notebook_timeout:
                break
            faults.append({"index": k, "label": cells[k].label, "limit": None,
                           "error": f"{out.worker_fate} (a new worker went on without it)"})
            skip.add(k)
            quiet_until = k
        out.events, out.faults = events, faults
        out.seconds = round(time.monotonic() - started, 3)
        return out

    def _await_reply(self, timeout: float):
        """The server's reply to a job, or None if it died, stopped answering or was frozen.

        The job's code runs as the server's user inside the sandbox, so it can SIGSTOP the server:
        checked every second, so a frozen worker costs a second, not the notebook's time limit.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stopped_why = "stopped answering"
                return None
            self.sock.settimeout(min(1.0, left))
            try:
                message = self.sock.recv(1 << 20)
            except socket.timeout:
                if self._server_frozen():
                    self.stopped_why = "froze the grading worker (SIGSTOP)"
                    return None
                continue
            except OSError:
                return None
            try:
                return json.loads(message) if message else None
            except ValueError:
                return None

    def _server_frozen(self) -> bool:
        """Whether the runner server (bubblewrap's grandchild, or the child itself) is stopped."""
        pid = self._server_pid()
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError, TypeError):
            return False
        return state in ("T", "t")

    def _server_pid(self):
        if self.proc is None:
            return None
        if self.server_pid is None:
            if not self.sandboxed:
                self.server_pid = self.proc.pid
            else:  # bwrap -> bwrap's init in the PID namespace -> the runner
                pid = self.proc.pid
                for _ in range(3):
                    kids = _children(pid)
                    if not kids:
                        break
                    pid = kids[0]
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            if f.read().split(b"\0")[1:3] == [b"-m", b"autograder.runner"]:
                                self.server_pid = pid
                                break
                    except OSError:
                        break
        return self.server_pid

    def _run_once(self, cells, mode: str, limits: Limits, seed: int, skip: list, quiet_until: int):
        started = time.monotonic()
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        if not self.ready:
            self._await_ready()
        job = json.dumps({"mode": mode, "cells": [c.__dict__ for c in cells], "seed": seed,
                          "limits": limits.job(), "skip": skip, "quiet_until": quiet_until}).encode()
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        log_r, log_w = os.pipe()
        try:
            socket.send_fds(self.sock, [b'{"op": "run"}'], [job_r, res_w, log_w])
            sent = True
        except OSError:
            sent = False
        finally:
            for fd in (job_r, res_w, log_w):
                os.close(fd)
        received, log = bytearray(), bytearray()
        readers = [threading.Thread(target=_drain, args=(res_r, received, limits.max_result_bytes + 2**20), daemon=True),
                   threading.Thread(target=_drain, args=(log_r, log, limits.max_log_bytes), daemon=True),
                   threading.Thread(target=_feed, args=(job_w, job), daemon=True)]
        for t in readers:
            t.start()
        reply = None
        self.stopped_why = None
        if sent:
            reply = self._await_reply(limits.notebook_timeout + 30)
        if reply is None or reply.get("op") != "end":
            # the runner died (or was killed by the student's code) or stopped answering
            self.stop()
        for t in readers:
            t.join(timeout=15)
        self.jobs += 1
        if self.isolation == "restart" and self.proc is not None:
            self.stop()  # the next job gets a new worker: nothing of this one's state survives
            self.start()  # warming up (import torch) while this job's results are read and graded
            self.restarts += 1
        events, garbled = decode(bytes(received))
        died = reply is None or reply.get("op") != "end"
        if died:
            status, detail, faults = "crashed", "the grading process stopped answering and was killed", []
        else:
            status, detail = str(reply.get("status")), str(reply.get("detail", ""))
            faults = reply.get("faults") if isinstance(reply.get("faults"), list) else []
        if garbled and status == "finished":
            status, detail = "garbled", garbled
        if status == "finished" and not events and any(c.kind == "test" for c in cells):
            status, detail = "crashed", "the notebook's process sent no results"
        text = bytes(log).decode("utf-8", "replace")
        run_seconds = float(reply.get("seconds", 0.0)) if isinstance(reply, dict) and isinstance(reply.get("seconds"), (int, float)) else 0.0
        fate = (self.stopped_why or "killed the grading worker") if died else ""
        return RunOutcome(events, status, detail, text, faults, round(time.monotonic() - started, 3), run_seconds,
                          fate), died


_warned_restart = False


def _warn_restart(why: str) -> None:
    global _warned_restart
    _warned_restart = True
    print(f"autograder: note: jobs cannot get namespaces of their own here ({why}); each job gets a new "
          f"worker instead (slower, as safe)", file=sys.stderr)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


def _drop_privileges() -> None:  # pragma: no cover (runs in the child, only as root without bwrap)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _nobody_can_run() -> bool:
    """Whether an unprivileged user can reach Python, its packages and this repository."""
    import stat

    paths = {Path(os.path.realpath(sys.executable)), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), REPO_DIR}
    for path in paths:
        for part in [path, *path.parents]:
            try:
                mode = part.stat().st_mode
            except OSError:
                return False
            if not mode & stat.S_IXOTH or (part == path and not mode & (stat.S_IROTH | stat.S_IXOTH)):
                return False
    return True


def _feed(fd: int, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError:
        pass


def _drain(fd: int, into: bytearray, limit: int) -> None:
    """Read fd to its end, keeping the first `limit` bytes (the rest is read and dropped)."""
    with os.fdopen(fd, "rb", buffering=0) as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return
            room = limit - len(into)
            if room > 0:
                into.extend(chunk[:room])


def decode(data: bytes) -> tuple[list[dict], str]:
    """Result frames -> events, and what was wrong with the stream ("" if nothing).

    The server frames each record itself, so one unreadable record is skipped (the case it held
    then fails as not run) and the records after it still count.
    """
    import torch

    from .values import PlainError, check_plain

    events, pos, problem = [], 0, ""
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
        except Exception as exc:  # anything unreadable is treated as no data
            problem = problem or f"unreadable result data ({type(exc).__name__})"
            continue
        if type(event) is not dict or type(event.get("event")) is not str:
            problem = problem or "unexpected result data"
            continue
        try:
            check_plain(event)
        except PlainError as exc:
            case = event.get("case")
            if event["event"] != "case" or type(case) is not dict or type(case.get("name")) is not str \
                    or type(event.get("grade_id")) is not str:
                problem = problem or f"unexpected result data ({exc})"
                continue
            # one case's value is not plain data: that case fails, the rest of the stream still counts
            event = {"event": "case", "grade_id": event["grade_id"],
                     "case": {"name": case["name"], "error": f"returned a value the grader cannot read: {exc}"}}
        events.append(event)
    return events, problem
