"""The grading worker: a warm process that runs notebooks' code and reports plain values, nothing else.

`python -m autograder.runner CONTROL_FD` starts a *server* (autograder/worker.py starts it, inside
the sandbox for student code). The server imports torch, IPython and the course's packages once,
then waits for jobs on CONTROL_FD, a Unix SOCK_SEQPACKET socket. A job arrives as a small JSON
message `{"op": "run", "limits": {...}, "seed": int, "mode": "record" | "reference"}` with three
file descriptors: the job's cells (JSON, read to EOF), the result pipe and the log pipe.

For each job the server forks a *program process* from its warm state (no new `import torch`),
which runs the cells in an IPython shell (so notebook syntax and magics work) with the seeds reset
before every cell. The program process writes frames to the server: `S` + cell index when a cell
starts, `D` + a `torch.save` blob for each event, `E` at the end. The server forwards each complete
`D` frame to the result pipe (8-byte length prefix), and supervises:

- per-cell wall time (a soft SIGALRM inside the program first, then SIGKILL from the server),
- the notebook's wall time, the number of processes, CPU time, memory and file size (rlimits);
- a crash, kill or limit in cell k costs that cell only: the server kills every process of the
  attempt, forks a fresh program process from the warm state and replays the notebook without
  cell k (the cells before k run again silently). Each such fault is reported to the parent.

Inside the sandbox each program process first moves into namespaces of its own (`isolate`: new,
empty, size-capped home, /tmp and /dev/shm; its own IPC and network namespaces; no capabilities), so
a job starts from the same state whatever the jobs before it did. After a job the server kills every
process the job left behind (the server is a child subreaper, so nothing can escape it by
daemonising), empties the scratch folders and System V IPC the job shared with the server when it had
no namespaces of its own, and replies
`{"op": "end", "status", "detail", "faults": [{"index", "error", "limit"}]}`.

Events in the result stream (all plain data, read back with `torch.load(weights_only=True)`):
    {"event": "cell_error", "index", "label", "error"}
    {"event": "begin", "grade_id"}                     a test cell's Check was created
    {"event": "case", "grade_id", "case": {"name", "value"} | {"name", "error"}}
    {"event": "from_scratch", "index", "label", "reason"}  a from-scratch test cell's learner code called a
                                                        library layer outside the watch of its cases
In "reference" mode (the trusted solution run) each case also carries its rule, options, hint,
weight and the evaluated `want`. In "record" mode everything here is untrusted: the parent checks
types and compares against references the student's code never saw.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import io
import json
import os
import random
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time

FRAME = struct.Struct(">cQ")  # kind, payload length
MAX_FRAME = 64 * 2**20


class CaseTimeout(BaseException):
    """Raised by the SIGALRM timer; a BaseException, so `except Exception` in check.evaluate (or in the
    learner's code) does not swallow it before the limit is named."""


def _alarm(signum, frame):
    raise CaseTimeout()


class _Timer:
    """SIGALRM-based soft limit for one cell or one case; re-fires until the code gives up."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.2)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        return False


# -- the program process (untrusted in "record" mode) ----------------------------------------------

class Session:
    """Receives the cases of `Check` objects and sends them to the server as they are recorded."""

    def __init__(self, out: int, mode: str, case_timeout: float, ack: int | None = None):
        self.out, self.mode, self.case_timeout, self.ack = out, mode, case_timeout, ack
        self.quiet = False

    def frame(self, kind: bytes, payload: bytes = b"") -> None:
        data = FRAME.pack(kind, len(payload)) + payload
        while data:
            data = data[os.write(self.out, data):]

    def await_ack(self, timeout: float = 2.0) -> None:
        """Wait (briefly) until the server has forwarded everything sent so far, this cell's marker last.

        Called before each cell runs: if that cell then kills or freezes the server, every result
        of the earlier cells and the marker of this cell have already reached the grader, so it
        blames the right cell and keeps every earlier result, however loaded the machine. (A cell
        that reads the acknowledgements itself only slows its own notebook down.)
        """
        if self.ack is None:
            return
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                ready, _, _ = select.select([self.ack], [], [], left)
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return
            if ready:
                try:
                    os.read(self.ack, 64)
                except OSError:
                    pass
                return

    def send(self, obj) -> None:
        if self.quiet:
            return
        import torch

        buf = io.BytesIO()
        torch.save(obj, buf)
        self.frame(b"D", buf.getvalue())

    def begin_check(self, grade_id: str) -> None:
        self.send({"event": "begin", "grade_id": str(grade_id)})

    def record_case(self, grade_id, *, rule, name, got, want, has_want, hint, weight, **opts) -> None:
        from .check import evaluate

        with _Timer(self.case_timeout):
            try:
                value, error = evaluate(got)
            except CaseTimeout:
                value, error = None, f"took longer than {self.case_timeout:g} s (time limit per test case)"
        case = {"name": str(name)}
        if error is None:
            case["value"] = value
        else:
            case["error"] = error
        if self.mode == "reference":
            ref, ref_error = evaluate(want) if has_want else (None, None)
            if ref_error is not None:
                raise RuntimeError(f"reference of {grade_id}/{name!r} failed: {ref_error}")
            case.update(rule=rule, hint=str(hint), weight=float(weight), has_want=has_want, want=ref,
                        line=_cell_line(), **{k: v for k, v in opts.items()})
        self.send({"event": "case", "grade_id": str(grade_id), "case": case})

    def end_check(self, grade_id: str) -> None:
        pass


def _cell_line() -> int:
    """The line of the running notebook cell that recorded a case (0 if none): tells hidden cases apart."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<ipython-input-"):
            return frame.f_lineno
        frame = frame.f_back
    return 0


def _seed(seed: int) -> None:
    import numpy
    import torch

    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)


def _set_limits(limits: dict) -> None:
    def cap(which, soft, hard=None):
        try:
            resource.setrlimit(which, (int(soft), int(hard if hard is not None else soft)))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    if limits.get("memory_mb"):
        # address space = what the warm process already maps + the allowance
        try:
            with open("/proc/self/statm") as f:
                base = int(f.read().split()[0]) * resource.getpagesize()
        except OSError:  # no /proc (macOS, where RLIMIT_AS is not enforced anyway)
            base = None
        if base is not None:
            cap(resource.RLIMIT_AS, base + limits["memory_mb"] * 2**20)
    if limits.get("cpu_seconds"):
        cap(resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 5)
    if limits.get("file_mb"):
        cap(resource.RLIMIT_FSIZE, limits["file_mb"] * 2**20)
    if limits.get("nproc"):
        cap(resource.RLIMIT_NPROC, limits["nproc"])


def program(job: dict, out: int, skip: set, quiet_until: int, ack: int | None = None) -> int:
    """Run the job's cells; returns the exit status. Runs in a forked child of the server."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from . import check as check_module
    from .check import _STAND_IN_CODE as stand_in_code
    from .check import _error_text

    limits = job["limits"]
    _set_limits(limits)
    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    session = Session(out, job["mode"], float(limits.get("case_timeout", 10)), ack)
    signal.signal(signal.SIGALRM, _alarm)
    seed = int(job.get("seed", 0))
    cell_timeout = float(limits.get("cell_timeout", 60))
    for index, cell in enumerate(job["cells"]):
        if index in skip:
            continue
        session.quiet = index < quiet_until
        session.frame(b"S", str(index).encode())
        session.await_ack()
        check_module._SESSION = session  # a cell may have reset it; tests must still record
        signal.signal(signal.SIGALRM, _alarm)
        _seed(seed)
        limit = 0 if cell["kind"] == "test" else cell_timeout
        guard = _cell_guard(shell, cell, stand_in_code)
        try:
            with _Timer(limit):
                result = shell.run_cell(cell["source"], store_history=False, silent=False)
            error = result.error_before_exec or result.error_in_exec
        except CaseTimeout as exc:
            error = exc
        finally:
            if guard is not None:
                guard.stop()
        if guard is not None and guard.violations:
            # the learner's code reached a library layer outside the watch of the cases (a patched Check)
            session.send({"event": "from_scratch", "index": index, "label": cell["label"], "reason": guard.reason})
        if error is not None:
            if isinstance(error, CaseTimeout):
                text = f"stopped after {limit:g} s (time limit per cell)"
            elif isinstance(error, MemoryError) or "can't allocate memory" in str(error):
                text = f"ran out of memory (memory limit {limits.get('memory_mb')} MB): {_error_text(error)}"
            else:
                text = _error_text(error)
            session.send({"event": "cell_error", "index": index, "label": cell["label"], "error": text})
            if job["mode"] == "reference":
                session.frame(b"E")
                return 3
    session.quiet = False
    session.frame(b"E")
    return 0


def _cell_guard(shell, cell: dict, stand_in_code):
    """A from-scratch test cell runs under a Guard of its own (autograder/scratch.py), started here.

    The cases watch the learner's calls themselves; this guard, held by the program loop, also sees
    calls made when the notebook has replaced `Check`, and reports them for the whole test cell."""
    if cell.get("kind") != "test":
        return None
    from IPython.core.compilerop import code_name

    from .scratch import Guard, phrase_of

    phrase = phrase_of(cell["source"])
    if not phrase:
        return None
    try:
        name = code_name(shell.transform_cell(cell["source"]), shell.execution_count)
    except Exception:
        return None
    return Guard(phrase, trusted_files={name}, trusted_codes={stand_in_code}).start()


# -- the server (stays warm; supervises each job) --------------------------------------------------

def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36


def _descendants(root: int) -> list[int]:
    """Every live process below `root` (from /proc)."""
    parent = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc (macOS): process groups are all we can sweep
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            parent[int(name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when child `pid` exits (Linux 5.3+), or None (then: polling)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _reap() -> dict[int, int]:
    """Collect every exited child: {pid: wait status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def _sweep(groups=()) -> None:
    """Kill every process below the server (the server is their subreaper, so that is all of them)."""
    for pgid in groups:  # the program processes' own sessions (all there is to go by without /proc)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    me = os.getpid()
    for _ in range(200):
        pids = _descendants(me)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.005)
        _reap()
    _reap()


def _clear_sysv_ipc() -> None:
    """Remove every System V shared-memory segment, semaphore set and message queue.

    Only inside the sandbox: the worker has its own IPC namespace there, so everything in it was
    made by a job (segments would otherwise outlive the job, holding memory and data for the next).
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    IPC_RMID = 0
    for kind, remove in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                         ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)),
                         ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        try:
            lines = open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))


def _wipe(paths) -> None:
    """Empty the scratch folders the job could write (even what it made unreadable)."""
    for top in paths:
        if not os.path.isdir(top):
            continue
        for name in os.listdir(top):
            path = os.path.join(top, name)
            for dirpath, dirnames, _ in os.walk(path, topdown=True, onerror=None):
                for d in dirnames:
                    try:
                        os.chmod(os.path.join(dirpath, d), 0o700)
                    except OSError:
                        pass
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.chmod(path, 0o700)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


# -- a clean state for every job (inside the sandbox) --------------------------------------------------

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x10000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    0x1, 0x2, 0x4, 0x8, 0x20, 0x1000, 0x4000, 0x40000)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
MQUEUE_DIR = "/dev/mqueue"


class IsolationError(OSError):
    pass


def scratch_mounts(home: str) -> list[tuple[str, int, int]]:
    """The sandbox's writable places, recreated empty for every job: (path, size cap in bytes, mode)."""
    from . import sandbox

    return [(home, sandbox.HOME_BYTES, 0o700), ("/tmp", sandbox.TMP_BYTES, 0o1777),
            ("/dev/shm", sandbox.SHM_BYTES, 0o1777)]


def _libc_call(libc, name: str, *args) -> None:
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{name}{tuple(a for a in args if isinstance(a, (str, bytes, int)))}: "
                                  f"{os.strerror(err)}")


def isolate(home: str) -> None:
    """Move this process into namespaces of its own, so that a job starts from the same clean state
    whatever the jobs before it did, and leaves nothing for the ones after it.

    Called in each forked program process inside the sandbox, before any of the job's code runs:
    - a new user namespace mapping only our own uid and gid (so we may set up the rest; the job's code
      later runs with no capabilities in it, as the same unprivileged user as before);
    - a new mount namespace with fresh, size-capped tmpfs mounts on the home, /tmp and /dev/shm (every
      writable place of the sandbox: its root and /dev are read-only) and a POSIX message-queue
      file system for the new IPC namespace on /dev/mqueue;
    - a new IPC namespace (System V and POSIX IPC start empty) and a new network namespace (only a
      loopback interface: no socket, abstract Unix name or port bound by an earlier job);
    - then every capability is dropped (bounding set included) and no_new_privs set, so the job cannot
      unmount, remount or reach what lies under its mounts.
    When the last process of the job exits, its namespaces and their memory are freed by the kernel.
    """
    from . import sandbox

    libc = ctypes.CDLL(None, use_errno=True)
    links = sandbox.python_links()  # before any new mount hides them
    uid, gid = os.getuid(), os.getgid()
    _libc_call(libc, "unshare", CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _libc_call(libc, "mount", None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None)
    for path, size, mode in scratch_mounts(home):
        # what the sandbox binds below a scratch folder (a course cloned under /tmp) stays visible:
        # held open across the new mount, then bound again at the same place, read-only
        below = [(p, os.open(p, os.O_PATH)) for p in _mount_points_below(path)]
        _libc_call(libc, "mount", b"tmpfs", path.encode(), b"tmpfs", ctypes.c_ulong(MS_NOSUID | MS_NODEV),
                   f"size={size},mode={mode:o}".encode())
        for point, fd in below:
            os.makedirs(point, exist_ok=True)
            _libc_call(libc, "mount", f"/proc/self/fd/{fd}".encode(), point.encode(), None,
                       ctypes.c_ulong(MS_BIND | MS_REC), None)
            _libc_call(libc, "mount", None, point.encode(), None,
                       ctypes.c_ulong(MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV), None)
            os.close(fd)
        for link, target in links:  # and so does a symbolic link to Python there
            if str(link).startswith(path.rstrip("/") + "/"):
                os.makedirs(link.parent, exist_ok=True)
                os.symlink(target, link)
    if os.path.isdir(MQUEUE_DIR):
        _libc_call(libc, "mount", b"mqueue", MQUEUE_DIR.encode(), b"mqueue",
                   ctypes.c_ulong(MS_NOSUID | MS_NODEV | MS_NOEXEC), None)
    _loopback_up()
    os.chdir(home)
    _drop_capabilities(libc)


def _mount_points_below(top: str) -> list[str]:
    """Mount points strictly below `top` that are not themselves below another such point, in order."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(top.rstrip("/") + "/") and point not in points:
                points.append(point)
    return [p for p in points if not any(p != q and p.startswith(q + "/") for q in points)]


def _loopback_up() -> None:
    import fcntl

    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _drop_capabilities(libc) -> None:
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the last capability this kernel knows
                break
            raise IsolationError(ctypes.get_errno(), f"cannot drop capability {cap}")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2): all empty
    _libc_call(libc, "capset", header, data)
    _libc_call(libc, "prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    with open("/proc/self/status") as f:
        caps = [line.split()[1] for line in f if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
    if any(int(c, 16) for c in caps):
        raise IsolationError(1, f"capabilities left after dropping: {caps}")


def _isolation_works(home: str) -> str:
    """'' if `isolate` works here (tried in a throwaway child), else why not."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            isolate(home)
        except BaseException as exc:
            os.write(w, f"{type(exc).__name__}: {exc}".encode()[:500])
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        why = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return why or _status_text(status)
    return ""


def _readable(payload: bytes) -> bool:
    """Whether a data frame is what Session.send writes: a torch-saved dict with an "event".

    Student code runs in the same process as Session and can write into the channel; a frame the
    grader could not read would otherwise cost every later question, so it is caught here and
    blamed on the cell that was running.
    """
    import torch

    try:
        event = torch.load(io.BytesIO(payload), weights_only=True)
    except Exception:
        return False
    return type(event) is dict and type(event.get("event")) is str


def _marker(index: int) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"event": "cell_start", "index": index}, buf)
    return buf.getvalue()


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"was killed by {name}"
    return f"exited with status {os.WEXITSTATUS(status)}"


class Job:
    """One notebook run: attempts, replays and their supervision."""

    def __init__(self, job: dict, result_fd: int, log_fd: int, control_fd: int, isolate_in: str | None = None):
        self.job, self.result_fd, self.log_fd, self.control_fd = job, result_fd, log_fd, control_fd
        self.isolate_in = isolate_in  # the home to recreate in each attempt's own namespaces (None: no isolation)
        self.limits = job["limits"]
        self.cells = job["cells"]
        self.started = time.monotonic()
        self.deadline = self.started + float(self.limits.get("notebook_timeout", 300))
        self.sent = 0
        self.overflow = False
        self.garbage = False
        self.pids: list[int] = []
        self.ack: int | None = None
        self.faults: list[dict] = []

    def forward(self, payload: bytes) -> None:
        if self.overflow:
            return
        if self.sent + len(payload) > int(self.limits.get("max_result_bytes", 64 * 2**20)):
            self.overflow = True
            return
        data = struct.pack(">Q", len(payload)) + payload
        self.sent += len(payload)
        try:
            while data:
                data = data[os.write(self.result_fd, data):]
        except OSError:
            self.overflow = True

    def run(self) -> dict:
        skip: set[int] = {int(i) for i in self.job.get("skip", [])}  # cells that already killed a worker
        quiet_until = int(self.job.get("quiet_until", -1))
        replays = int(self.limits.get("max_replays", 8)) - len(skip)
        status, detail = "finished", ""
        while True:
            kind, index, reason, limit = self.attempt(skip, quiet_until)
            _sweep(self.pids)
            if kind == "end":
                break
            if kind == "timeout":
                status, detail = "timeout", reason
                break
            label = self.cells[index]["label"] if index is not None and 0 <= index < len(self.cells) else None
            self.faults.append({"index": index, "label": label, "error": reason, "limit": limit})
            if index is None or len(self.faults) > replays:
                status = "crashed"
                detail = (f"the notebook's process {reason} outside any cell" if index is None else
                          f"gave up after {replays} cells ended the notebook's process")
                break
            skip.add(index)
            quiet_until = index
        if self.overflow:
            status, detail = "garbled", "the notebook sent back more data than the grader accepts"
        return {"op": "end", "status": status, "detail": detail, "faults": self.faults,
                "seconds": round(time.monotonic() - self.started, 3)}

    def attempt(self, skip: set, quiet_until: int):
        """Fork a program process and supervise it: ("end"|"fault"|"timeout", cell index, reason, limit)."""
        read_fd, write_fd = os.pipe()
        ack_r, ack_w = os.pipe()  # the server acknowledges each cell marker once it has forwarded it
        os.set_blocking(ack_w, False)
        pid = os.fork()
        if pid == 0:  # the program process
            code = 70
            try:
                os.close(read_fd)
                os.close(ack_w)
                os.setsid()
                os.dup2(self.log_fd, 1)
                os.dup2(self.log_fd, 2)
                for fd in (self.result_fd, self.log_fd, self.control_fd):
                    os.close(fd)  # the program must not reach the parent except through its pipe
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                _prctl(PR_SET_DUMPABLE, 1)  # own /proc/self files (uid_map) and memory, as any process
                if self.isolate_in is not None:
                    try:
                        isolate(self.isolate_in)
                    except OSError as exc:  # the server checked it works at start: not the job's fault
                        os.write(2, f"autograder: could not isolate the job: {exc}\n".encode())
                        code = 71
                        raise
                    _prctl(PR_SET_DUMPABLE, 1)  # changing credentials reset it
                code = program(self.job, write_fd, skip, quiet_until, ack_r)
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException as exc:  # outside any cell: say what, in the log the grader keeps
                try:
                    os.write(2, f"autograder: the program process failed: {type(exc).__name__}: {exc}\n".encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        self.pids.append(pid)
        os.close(write_fd)
        os.close(ack_r)
        self.ack = ack_w
        os.set_blocking(read_fd, False)
        exited = _pidfd(pid)  # readable once the program process has exited: no polling for its end
        limits = self.limits
        cell_limit = float(limits.get("cell_timeout", 60)) + float(limits.get("kill_grace", 5))
        max_procs = int(limits.get("max_processes", 0) or 0)
        buf = bytearray()
        self.garbage = False
        current, cell_started, ended, exit_status, eof = None, time.monotonic(), False, None, False
        next_count = 0.0
        try:
            while True:
                now = time.monotonic()
                wait = min(0.1, max(0.0, self.deadline - now))
                watch = ([] if eof else [read_fd]) + ([exited] if exited is not None else [])
                if not watch:
                    time.sleep(wait)
                    ready = []
                else:
                    try:
                        ready, _, _ = select.select(watch, [], [], wait)
                    except InterruptedError:
                        ready = []
                if read_fd in ready:
                    eof = self._read(read_fd, buf)
                    current, cell_started, ended = self._consume(buf, current, cell_started, ended)
                if self.garbage:  # the cell wrote into the result channel itself: it alone pays
                    return ("fault", current, "wrote data the grader cannot read into the grader's result channel",
                            "channel")
                for child, status in _reap().items():
                    if child == pid:
                        exit_status = status
                if exit_status is not None:
                    if not eof:  # what it wrote before it exited is still in the pipe
                        self._read(read_fd, buf)
                        current, cell_started, ended = self._consume(buf, current, cell_started, ended)
                    if self.garbage:
                        return ("fault", current, "wrote data the grader cannot read into the grader's result "
                                "channel", "channel")
                    if ended:
                        return "end", None, "", None
                    limit = self._limit_of(exit_status)
                    reason = _status_text(exit_status)
                    if limit == "cpu_seconds":
                        reason += f" (CPU time limit {limits.get('cpu_seconds'):g} s)"
                    elif limit == "file_mb":
                        reason += f" (file size limit {limits.get('file_mb'):g} MB)"
                    return "fault", current, reason, limit
                now = time.monotonic()
                if now >= self.deadline:
                    return ("timeout", current, f"the notebook was stopped after "
                            f"{limits.get('notebook_timeout', 300):g} s (time limit per notebook)", "notebook_timeout")
                if current is not None and now - cell_started > cell_limit:
                    return ("fault", current, f"was stopped after {limits.get('cell_timeout', 60):g} s "
                            f"(time limit per cell)", "cell_timeout")
                if max_procs and now >= next_count:
                    next_count = now + 0.1
                    if len(_descendants(os.getpid())) > max_procs:
                        return ("fault", current, f"started more than {max_procs} processes "
                                f"(process limit)", "max_processes")
        finally:
            os.close(read_fd)
            os.close(self.ack)
            self.ack = None
            if exited is not None:
                os.close(exited)

    def _consume(self, buf: bytearray, current, cell_started, ended):
        """Act on the complete frames in buf: track the current cell, forward data, note the end."""
        while len(buf) >= FRAME.size and not self.garbage:
            kind, size = FRAME.unpack_from(buf)
            if kind not in (b"S", b"D", b"E") or size > MAX_FRAME:
                self.garbage = True  # garbage on the channel: stop reading it
                break
            if len(buf) < FRAME.size + size:
                break
            payload = bytes(buf[FRAME.size:FRAME.size + size])
            del buf[:FRAME.size + size]
            if kind == b"S":
                if payload.isdigit():
                    current, cell_started = int(payload), time.monotonic()
                    self.forward(_marker(current))  # so the grader knows the cell if this worker is killed
                    self._acknowledge()
            elif kind == b"D":
                if not _readable(payload):
                    self.garbage = True
                    break
                self.forward(payload)
            else:
                ended = True
        return current, cell_started, ended

    def _acknowledge(self) -> None:
        """Tell the program everything up to this cell's marker has been forwarded (it may run it now)."""
        if self.ack is None:
            return
        try:
            os.write(self.ack, b"\1")
        except OSError:  # the pipe is full (the cell reads no acks) or the program is gone
            pass

    @staticmethod
    def _read(fd: int, buf: bytearray) -> bool:
        """Read what is available (at most 1 MiB at a time) into buf; True at end of file."""
        for _ in range(16):
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            buf.extend(chunk)
        return False

    def _limit_of(self, status: int):
        """The limit a signal death stands for, if any."""
        if os.WIFSIGNALED(status):
            return {signal.SIGXCPU: "cpu_seconds", signal.SIGXFSZ: "file_mb"}.get(os.WTERMSIG(status))
        return None


# the course package's modules a notebook may import (rnnlab.explorer needs ipywidgets, which the sandbox may lack)
COURSE_MODULES = ("batching", "data", "params", "plots", "progress", "sequences", "text", "explorer")


def _warm_torch() -> None:
    """Use once what torch imports on first use, at a cost every job would pay again: torch.testing's
    assert_close (sympy, about 0.6 s) and an optimizer's first step (torch._dynamo, about 0.5 s)."""
    import torch

    p = torch.nn.Parameter(torch.zeros(2))
    for opt in (torch.optim.Adam([p], lr=0.1), torch.optim.SGD([p], lr=0.1, momentum=0.9),
                torch.optim.AdamW([p]), torch.optim.RMSprop([p])):
        p.grad = torch.ones(2)
        opt.step()
        opt.zero_grad()
    torch.nn.utils.clip_grad_norm_([p], 1.0)
    torch.testing.assert_close(torch.zeros(2), torch.zeros(2))
    torch.nn.functional.cross_entropy(torch.zeros(1, 2, requires_grad=True), torch.zeros(1, dtype=torch.long)).backward()


def _preload() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy  # noqa: F401
    import torch

    torch.set_num_threads(1)
    import torch.nn  # noqa: F401
    import torch.nn.functional  # noqa: F401
    import matplotlib
    import matplotlib.pyplot  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    from . import check, values  # noqa: F401
    # what the server itself loads on its first job (torch.load's lazy imports), loaded now: every job
    # is forked from the same server state, the first as the hundredth
    _readable(_marker(0))
    # and what every job would otherwise import for itself (from a fifth of a second to a second and a half
    # per job): IPython's completer, magics and inspector (a shell is made, then dropped: each job makes its
    # own), numpy.random (seeded before every cell), torch's lazy imports (_warm_torch), Agg's renderer,
    # ipywidgets, tqdm's locks, the course's package (tests/test_runner_warm.py enumerates what is left)
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.instance(config=config)
    InteractiveShell.clear_instance()
    _seed(0)
    _warm_torch()
    for name in ("matplotlib.backends.backend_agg", "PIL.features", "bdb", "IPython.core.logger",
                 "multiprocessing.synchronize", "torch._subclasses.schema_check_mode", "ipywidgets", "rnnlab",
                 *(f"rnnlab.{m}" for m in COURSE_MODULES)):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    matplotlib.use("Agg")
    # the warm state's objects are left out of garbage collection from now on: a collection in a job
    # would otherwise visit (and so copy, page by page, from the fork) the whole of torch's and
    # matplotlib's objects, which made up about 40 % of a short notebook's run
    gc.collect()
    gc.freeze()


def serve(control_fd: int) -> int:
    ctrl = socket.socket(fileno=control_fd)
    _preload()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the grader died: so does the server (and its jobs)
    _prctl(PR_SET_DUMPABLE, 0)  # jobs run as the same user: they must not read or trace the server
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    sandboxed = bool(os.environ.get("AUTOGRADER_SANDBOXED"))
    scratch = [os.getcwd(), "/tmp", "/dev/shm"] if sandboxed else [os.getcwd()]
    home = os.getcwd()
    # every job in namespaces of its own (see `isolate`), if the kernel allows it and we were not told
    # to rely on a restart of the whole worker after each job instead (AUTOGRADER_ISOLATION=restart)
    why_not = "no sandbox" if not sandboxed else (
        "AUTOGRADER_ISOLATION=restart" if os.environ.get("AUTOGRADER_ISOLATION") == "restart" else _isolation_works(home))
    isolate_in = None if why_not else home
    ctrl.send(json.dumps({"op": "ready", "pid": os.getpid(), "isolation": "namespaces" if isolate_in else "none",
                          "why_not": why_not}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(ctrl, 1 << 16, 3)
        except OSError:
            return 0
        if not message:
            return 0
        try:
            request = json.loads(message)
            if request.get("op") != "run" or len(fds) != 3:
                raise ValueError("bad request")
            job_fd, result_fd, log_fd = fds
            with os.fdopen(job_fd, "rb") as f:
                job = json.loads(f.read())
            os.chdir(home)
            reply = Job(job, result_fd, log_fd, ctrl.fileno(), isolate_in).run()
        except Exception as exc:  # a broken request: report it, keep serving
            reply = {"op": "end", "status": "crashed", "detail": f"worker error: {type(exc).__name__}: {exc}",
                     "faults": []}
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        _sweep()
        if isolate_in is None:
            # no namespaces of its own: the job wrote in the server's scratch folders and IPC (without
            # the sandbox; inside it, the worker is also replaced after every such job)
            _wipe(scratch)
            if sandboxed:
                _clear_sysv_ipc()
        ctrl.send(json.dumps(reply).encode())


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
