"""Run *inside* a grading job (its source is sent as a notebook cell): what state a job starts with,
and a job that tries to leave some of every kind behind.

`state()` enumerates, rather than looks for known attacks:
- every directory of the whole file system the sandbox shows (root and every mount; /proc without
  the per-process folders) in which a file can be created, with the mount it lies on, its metadata
  (mode, owner, extended attributes) and the names below it;
- processes, System V IPC, POSIX message queues, every socket bound in the network namespace
  (Unix paths and abstract names, TCP/UDP/raw ports), network interfaces and routes;
- the process's environment, working directory, umask, resource limits, signal masks, capabilities,
  open file descriptors, and the Python state inherited from the warm server (modules, torch and
  matplotlib settings, builtins, the grader's check module).
`leave(mark)` changes every one of those it can and returns where it wrote.
"""
import ctypes
import hashlib
import json
import os
import resource
import socket
import stat
import subprocess
import sys

SKIP_PROC = {"self", "thread-self"}


def _walk_dirs():
    """Every directory the sandbox shows (not per-process /proc folders, which die with the process)."""
    for dirpath, dirnames, _ in os.walk("/", onerror=lambda e: None):
        if dirpath == "/proc":
            dirnames[:] = [d for d in dirnames if not d.isdigit() and d not in SKIP_PROC]
        yield dirpath


def writable_dirs() -> list[str]:
    found = []
    probe_name = f".isolation-probe-{os.getpid()}"
    for d in _walk_dirs():
        path = os.path.join(d, probe_name)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError:
            continue
        os.close(fd)
        os.unlink(path)
        found.append(d)
    return found


def mounts() -> list[dict]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            parts, rest = left.split(), right.split()
            out.append({"point": parts[4], "options": parts[5], "fstype": rest[0], "super": rest[2]})
    return out


def mount_of(path: str, table: list[dict]) -> dict:
    best = None
    for m in table:  # later mounts over the same point hide earlier ones
        p = m["point"]
        if path == p or path.startswith(p.rstrip("/") + "/"):
            if best is None or len(p) >= len(best["point"]):
                best = m
    return best


def _meta(path: str) -> dict:
    st = os.lstat(path)
    try:
        xattrs = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        xattrs = []
    return {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "xattrs": xattrs}


def tree(top: str) -> dict:
    """Names and metadata of everything on top's file system under top (unreadable folders are listed as
    such; a mount below it, such as a course cloned under /tmp, is listed but not walked: it has its own)."""
    out = {}
    device = os.lstat(top).st_dev
    for dirpath, dirnames, filenames in os.walk(top, onerror=lambda e: out.setdefault(e.filename, "unreadable")):
        dirnames[:] = [d for d in dirnames if _same_device(os.path.join(dirpath, d), device)]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                out[path] = _meta(path)
            except OSError:
                out[path] = "gone"
    return out


def _same_device(path: str, device: int) -> bool:
    try:
        return os.lstat(path).st_dev == device
    except OSError:
        return True


def _proc_net(name: str) -> list[str]:
    try:
        with open(f"/proc/net/{name}") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    if name == "unix":  # bound names only (a path or @abstract), not this process's own unnamed pairs
        return sorted(line.split()[7] for line in lines if len(line.split()) > 7)
    if name in ("dev", "route"):
        return sorted(line.split(":")[0].strip() if name == "dev" else " ".join(line.split()[:3]) for line in lines
                      if line.strip() and "|" not in line)
    return sorted(" ".join(line.split()[1:4]) for line in lines)  # local address, remote address, state


def processes() -> list[str]:
    me, out = os.getpid(), []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out.append(cmd)
    return sorted(out)


def _status(keys) -> dict:
    with open("/proc/self/status") as f:
        return {line.split(":")[0]: line.split(":", 1)[1].strip() for line in f if line.split(":")[0] in keys}


def _fds() -> list[str]:
    out = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor
        if target.startswith(("pipe:", "socket:", "anon_inode:")):
            target = target.split(":")[0] + ":"  # inode numbers differ from job to job
        out.append(f"{fd} {target}")
    return out


def _python_state() -> dict:
    import builtins

    import matplotlib
    import numpy
    import torch

    from autograder import check

    def digest(obj) -> str:
        return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]

    return {
        "modules": digest(sorted(sys.modules)),
        "torch": [str(torch.get_default_dtype()), torch.get_num_threads(), torch.is_grad_enabled(),
                  torch.are_deterministic_algorithms_enabled(), torch.nn.RNN.__name__,
                  torch.nn.RNN.forward.__code__.co_filename, digest(sorted(vars(torch.nn.functional))),
                  digest(sorted(vars(torch)))],
        "numpy": [numpy.get_printoptions()["precision"], digest(numpy.geterr())],
        "matplotlib": [matplotlib.get_backend(), digest(sorted((k, repr(v)) for k, v in matplotlib.rcParams.items()))],
        "builtins": digest(sorted(vars(builtins))),
        "check": [digest(sorted(vars(check))), check.Check.__init__.__code__.co_filename],
    }


def state() -> dict:
    table = mounts()
    dirs = writable_dirs()
    places = sorted({mount_of(d, table)["point"] for d in dirs})
    umask = os.umask(0o022)
    os.umask(umask)
    limits = {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")}
    # listed where the job has a message-queue file system of its own IPC namespace (not in restart mode)
    mq = sorted(os.listdir("/dev/mqueue")) if os.path.ismount("/dev/mqueue") else None
    sysv = {}
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                sysv[kind] = f.read().splitlines()[1:]
        except OSError:
            sysv[kind] = None
    return {
        "writable": dirs,
        "writable_mounts": {p: {k: v for k, v in mount_of(p, table).items() if k != "point"} for p in places},
        "mount_table": sorted(f"{m['point']} {m['fstype']} {m['options']}" for m in table),
        "files": {p: tree(p) for p in places},
        "roots": {p: _meta(p) for p in dirs},
        "processes": processes(),
        "sysv_ipc": sysv,
        "mqueue": mq,
        "network": {name: _proc_net(name) for name in ("unix", "tcp", "tcp6", "udp", "udp6", "raw", "raw6",
                                                       "packet", "dev", "route")},
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "umask": umask,
        "rlimits": limits,
        "status": _status(("SigBlk", "SigIgn", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")),
        "fds": _fds(),
        "hostname": socket.gethostname(),
        "python": _python_state(),
    }


def leave(mark: str) -> dict:
    """Change every kind of state a job could leave for the next; returns what succeeded."""
    did = {}
    libc = ctypes.CDLL(None, use_errno=True)
    key = int(hashlib.sha256(mark.encode()).hexdigest()[:7], 16)
    libc.shmget.restype = ctypes.c_int
    if libc.shmget(ctypes.c_int(key), ctypes.c_size_t(4096), ctypes.c_int(0o1000 | 0o666)) >= 0:
        did["sysv_shm"] = True
    if libc.semget(ctypes.c_int(key), 1, ctypes.c_int(0o1000 | 0o666)) >= 0:
        did["sysv_sem"] = True
    if libc.msgget(ctypes.c_int(key), ctypes.c_int(0o1000 | 0o666)) >= 0:
        did["sysv_msg"] = True
    try:
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
        rt.mq_open.restype = ctypes.c_int
        if rt.mq_open(f"/mq-{mark}".encode(), os.O_CREAT | os.O_RDWR, 0o666, None) >= 0:
            did["posix_mq"] = True
    except OSError:
        pass
    for d in writable_dirs():  # a file (unreadable), a folder nobody may enter, odd metadata
        try:
            path = os.path.join(d, f"left-{mark}")
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            did.setdefault("files", []).append(d)
            try:
                os.write(fd, mark.encode())
            finally:
                os.close(fd)
            os.chmod(path, 0)
            os.makedirs(os.path.join(d, f"dir-{mark}", "sub"))
            os.chmod(os.path.join(d, f"dir-{mark}"), 0)
        except OSError:
            pass
        try:
            os.setxattr(d, "user.left", mark.encode())
            did.setdefault("xattrs", []).append(d)
        except OSError:
            pass
        try:
            os.utime(d, (1e9, 1e9))
            os.chmod(d, 0o555)
            did.setdefault("dir_meta", []).append(d)
        except OSError:
            pass
    # a process of its own session, holding sockets bound in every way a namespace keeps names
    daemon = (
        "import os, socket, time\n"
        "if os.fork(): os._exit(0)\n"
        "os.setsid()\n"
        "keep = []\n"
        "for fam, typ, addr in ((socket.AF_UNIX, socket.SOCK_STREAM, '\\0abstract-@M@'),"
        " (socket.AF_UNIX, socket.SOCK_DGRAM, '/tmp/sock-@M@'), (socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', 47123)),"
        " (socket.AF_INET, socket.SOCK_DGRAM, ('127.0.0.1', 47124)), (socket.AF_INET6, socket.SOCK_STREAM, ('::1', 47125))):\n"
        "    try:\n"
        "        s = socket.socket(fam, typ); s.bind(addr)\n"
        "        if typ == socket.SOCK_STREAM: s.listen()\n"
        "        keep.append(s)\n"
        "    except OSError:\n"
        "        pass\n"
        "time.sleep(3600)\n").replace("@M@", mark)
    subprocess.Popen([sys.executable, "-c", daemon, "isolation-probe-daemon"], start_new_session=True)
    did["process"] = True
    import time

    time.sleep(0.5)  # let the daemon bind before this job reports
    os.environ["LEFT_" + mark.upper().replace("-", "_")] = mark
    os.putenv("LEFT_BY_PUTENV", mark)
    os.chdir("/tmp")
    os.umask(0o077)
    fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(fd, 200, inheritable=True)
    r, w = os.pipe()
    os.set_inheritable(r, True)
    did["fds"] = [200, r, w]
    for name, value in (("RLIMIT_NOFILE", 64), ("RLIMIT_STACK", 2**20), ("RLIMIT_CORE", 0)):
        soft, hard = resource.getrlimit(getattr(resource, name))
        try:
            resource.setrlimit(getattr(resource, name), (min(value, hard) if hard >= 0 else value, hard))
        except (ValueError, OSError):
            pass
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    import builtins

    import matplotlib
    import numpy
    import torch

    from autograder import check

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(2)
    torch.nn.RNN.forward = lambda self, *a, **k: "left"
    torch.nn.functional.left_behind = mark
    numpy.set_printoptions(precision=2)
    matplotlib.rcParams["lines.linewidth"] = 7.0
    builtins.LEFT = mark
    check.LEFT = mark
    sys.modules["left_behind_" + mark.replace("-", "_")] = type(sys)("left")
    try:
        socket.sethostname("left")
        did["hostname"] = True
    except OSError:
        pass
    return did


def report(tag: str, payload) -> None:
    print(f"@@{tag}@@" + json.dumps(payload, sort_keys=True, default=str))
