"""Containing student code: bubblewrap on Linux, a plain child process elsewhere.

Inside the sandbox the student's process sees a read-only system (/usr, /etc), the Python
installation and virtual environment, and of this repository only the packages it imports
(`autograder/`, `rnnlab/`, `data/`): never `solutions/`, the gradebook, other submissions or the
user's home. The sandbox's root and /dev are read-only; its only writable places are a private
home, /tmp and /dev/shm (memory file systems of 256, 512 and 64 MiB), which every job gets new and
empty (autograder/runner.py `isolate`: each job also has IPC and network namespaces of its own). It
has no network (its own network namespace with only loopback), its own PID namespace (nothing it
starts outlives it), and runs as uid/gid 65534 ("nobody") even when the grader runs as root.

AUTOGRADER_SANDBOX=auto (default) uses bubblewrap when it works and otherwise warns once;
`required` refuses to grade without it; `off` never uses it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIRS = ("autograder", "rnnlab", "data")
HOME = "/sandbox"
NOBODY = "65534"
# every writable place in the sandbox lives in memory (tmpfs), each with a cap: a job that fills
# one gets ENOSPC, which costs only its own question, and cannot fill the host's disk
TMP_BYTES = 512 * 2**20
HOME_BYTES = 256 * 2**20
SHM_BYTES = 64 * 2**20


class SandboxUnavailable(RuntimeError):
    pass


def mode() -> str:
    value = os.environ.get("AUTOGRADER_SANDBOX", "auto").strip().lower()
    return value if value in ("auto", "required", "off") else "auto"


def _python_roots() -> list[Path]:
    """The Python installation's folders, and the package folders on PYTHONPATH (a system Python that
    runs an environment's packages, as on a JupyterHub whose environment users cannot run): only folders
    named site-packages or dist-packages, never a checkout (its solutions/ must stay out of reach)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        path = Path(entry)
        if path.is_absolute() and path.name in ("site-packages", "dist-packages") and path.is_dir():
            roots.add(path.resolve())
    roots = {r for r in roots if not str(r).startswith("/usr")}
    return sorted(r for r in roots if not any(other in r.parents for other in roots))


def python_links() -> list[tuple[Path, Path]]:
    """(path, where it really is) for the Python installations reached through a symbolic link."""
    links = {}
    for prefix in (Path(sys.prefix).absolute(), Path(sys.base_prefix).absolute()):
        if prefix.resolve() != prefix and not str(prefix).startswith("/usr"):
            links[prefix] = prefix.resolve()
    return sorted(links.items())


def bwrap_args() -> list[str]:
    """The bubblewrap command line that runs a command in the sandbox (HOME is a private tmpfs)."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--uid", NOBODY, "--gid", NOBODY, "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            # mounts apply in order: /tmp first, so binds below can live under /tmp (a clone in /tmp)
            "--proc", "/proc", "--dev", "/dev", "--size", str(SHM_BYTES), "--perms", "1777", "--tmpfs", "/dev/shm",
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for root in _python_roots():
        args += ["--ro-bind", str(root), str(root)]
    for link, target in python_links():  # Python started by a path through a symbolic link (a linked .venv)
        args += ["--symlink", str(target), str(link)]
    for name in SHARED_DIRS:
        path = REPO_DIR / name
        if path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--size", str(HOME_BYTES), "--perms", "0777", "--tmpfs", HOME,
             # the mount point of each job's own POSIX message-queue file system (autograder/runner.py)
             "--dir", "/dev/mqueue",
             # nothing else is writable: bwrap's root (which holds every mount point above) and /dev
             "--remount-ro", "/dev", "--remount-ro", "/",
             "--chdir", HOME, "--"]
    return args


@lru_cache(maxsize=1)
def available() -> str:
    """'' if bubblewrap works here, else why not."""
    if sys.platform != "linux":
        return f"bubblewrap is Linux-only (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; `make setup` does it as root)"
    try:
        proc = subprocess.run(bwrap_args() + [sys.executable, "-c", "pass"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start ({exc})"
    if proc.returncode != 0:
        return "bwrap cannot create namespaces here: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return ""


_warned = False


def command(argv: list[str]) -> tuple[list[str], bool]:
    """`argv` wrapped in the sandbox when possible; returns (command, sandboxed)."""
    global _warned
    if mode() == "off":
        return argv, False
    why = available()
    if not why:
        return bwrap_args() + argv, True
    if mode() == "required":
        raise SandboxUnavailable(f"AUTOGRADER_SANDBOX=required but {why}")
    if not _warned:
        _warned = True
        print(f"autograder: warning: student code runs WITHOUT a sandbox ({why}); it is limited in time "
              f"and output only, and can read what you can read", file=sys.stderr)
    return argv, False
