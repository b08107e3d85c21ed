"""Real local Unix users for the classroom tests (tests/test_classroom_loop.py, tests/test_jupyterhub.py).

Root makes them with useradd and runs commands as them with runuser. They run Debian's /usr/bin/python3
with the course environment's site-packages on PYTHONPATH: the environment's own Python lives under
/root (mode 700), which they cannot enter.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from contextlib import contextmanager
from pathlib import Path

SITE_PACKAGES = sysconfig.get_paths()["purelib"]  # the course environment's, readable by everyone
CHECKOUT = str(Path(__file__).resolve().parent.parent)  # autograder/ and rnnlab/ (installed editable: a hook
# in site-packages that a PYTHONPATH entry does not run)
STUDENT_PYTHON = "/usr/bin/python3"  # Debian's 3.11, ABI-compatible with the environment's


def why_not() -> str | None:
    if sys.platform != "linux":
        return "needs Linux (Unix users, runuser)"
    if os.geteuid() != 0:
        return "needs root to create Unix users (useradd) and run commands as them (runuser)"
    for tool in ("useradd", "userdel", "runuser"):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing"
    if not os.access(STUDENT_PYTHON, os.X_OK):
        return f"no {STUDENT_PYTHON} for the students"
    return None


# -- running commands as a user --------------------------------------------------------------------------

def as_user(user: str, *cmd: str, cwd: str | Path | None = None, timeout: float = 120,
            check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cmd` run as `user` from their home (or `cwd`), with a clean environment as a login would give
    (plus `env`)."""
    home = pwd.getpwnam(user).pw_dir
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "PATH=/usr/bin:/bin",
           "LANG=C.UTF-8", f"PYTHONPATH={SITE_PACKAGES}:{CHECKOUT}",
           f"JUPYTER_PATH={sys.prefix}/share/jupyter",  # (nbconvert's templates, for feedback)
           *(f"{k}={v}" for k, v in (env or {}).items())]
    proc = subprocess.run(["runuser", "-u", user, "--", *env, *cmd], cwd=cwd or home, capture_output=True,
                          text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{user}: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
    return proc


def student_nbgrader(user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return as_user(user, STUDENT_PYTHON, "-m", "nbgrader", *args, check=check)


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (by parent links, whatever their session)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents[int(entry.name)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        here = todo.pop()
        for child, parent in parents.items():
            if parent == here and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_processes_of(uid: int) -> None:
    for _ in range(50):
        pids = processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"processes of uid {uid} survive SIGKILL: {processes_of(uid)}")


@contextmanager
def local_users(names):
    """Make each user (a home of their own, mode 700, and a group of their own); yield; then stop every
    process of theirs and remove them, their groups and homes, and check that nothing is left."""
    made = []
    try:
        for user in names:
            proc = subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", user],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            made.append(user)
            Path(pwd.getpwnam(user).pw_dir).chmod(0o700)
        yield made
    finally:
        for user in made:
            kill_processes_of(pwd.getpwnam(user).pw_uid)
            subprocess.run(["userdel", "--remove", user], capture_output=True, text=True)
        for user in made:
            assert subprocess.run(["id", user], capture_output=True).returncode != 0, f"user {user} left behind"
            assert subprocess.run(["getent", "group", user], capture_output=True).returncode != 0, \
                f"group {user} left behind"
            assert not Path(f"/home/{user}").exists(), f"/home/{user} left behind"
