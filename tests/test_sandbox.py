"""Student code is contained: the score of a probing submission shows what its code could do.

Each multiple-choice answer of the probe is right only if an attack succeeded, so a sandbox that
works costs the probe exactly those points; with the sandbox off, the same probe scores them
(which proves the probes detect what they claim to).
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.grade import grade_notebook
from catalog import FULL_01
from conftest import ROOT, make_submission

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap sandboxing is Linux-only")]

PROBE = '''
import os, socket, subprocess, pathlib
def _solutions_visible():
    here = pathlib.Path.cwd()
    places = [pathlib.Path({root!r}) / "solutions"] + [p / "solutions" for p in [here, *here.parents]]
    return any(p.is_dir() and any(p.rglob("*.ipynb")) for p in places)
def _network():
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        return True
    except OSError:
        return False
def _home_visible():
    return os.path.isdir("/work/shared") or os.access("/root/.bashrc", os.R_OK) or pathlib.Path({home!r}).joinpath("{marker}").exists()
def _write_outside():
    try:
        pathlib.Path({root!r}, "autograder", "pwned-{marker}.txt").write_text("x")
        return True
    except OSError:
        return False
subprocess.Popen(["sleep", "{sleep}"], start_new_session=True)
'''


@pytest.fixture()
def probe(first_solution, tmp_path):
    marker = f"probe-{os.getpid()}-{time.monotonic_ns()}"
    home_marker = os.path.expanduser("~")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    sleep = f"31{os.getpid() % 1000}.5"
    code = PROBE.format(root=str(ROOT), port=port, home=home_marker, marker=marker, sleep=sleep)
    overrides = {
        "mcq_rnn_purpose": code + 'mcq_rnn_purpose = "A" if _solutions_visible() else "B"\n',
        "mcq_rnn_io": code + 'mcq_initial_hidden = "D" if _network() else "A"\n'
                             'mcq_not_an_output = "C" if os.getuid() == 0 else "A"\n',
        "mcq_rnn_constructor": code + 'mcq_rnn_constructor = "C" if _home_visible() else "A"\n'
                                      'constructor_calls_that_raise = {"B"} if _write_outside() else {"A"}\n'
                                      'mcq_hidden_size = "A"\n',
    }
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, overrides)
    yield sub, marker, sleep
    listener.close()
    (ROOT / "autograder" / f"pwned-{marker}.txt").unlink(missing_ok=True)
    subprocess.run(["pkill", "-f", f"sleep {sleep}"], check=False)


def snapshot():
    skip = {".git", ".venv", "grading", "__pycache__", ".pytest_cache"}
    files = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for f in filenames:
            st = os.stat(os.path.join(dirpath, f))
            files[os.path.join(dirpath, f)] = (st.st_size, st.st_mtime_ns)
    return files


def test_sandbox_contains_the_probe(probe, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "required")
    assert sandbox.available() == "", sandbox.available()
    sub, marker, sleep = probe
    before = snapshot()
    result = grade_notebook(sub)
    scores = {t.grade_id: t.score for t in result.tests if not t.manual}
    # no solutions, no network, not root, no home, no writes outside, honest hidden_size answer = 1/3
    assert scores == FULL_01 | {"test_mcq_rnn_purpose": 0.0, "test_mcq_rnn_io": 0.0, "test_mcq_rnn_constructor": 1.0}
    assert snapshot() == before, "grading changed files in the repository"
    time.sleep(0.5)
    survivors = subprocess.run(["pgrep", "-f", f"sleep {sleep}"], capture_output=True, text=True).stdout.split()
    assert survivors == [], "a process started by the submission outlived its grading"


def test_without_the_sandbox_the_probes_succeed(probe, monkeypatch, capfd):
    """The control: the same probe, unsandboxed, reads the solutions and reaches the network."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "off")
    sub, marker, sleep = probe
    scores = {t.grade_id: t.score for t in grade_notebook(sub).tests if not t.manual}
    assert scores["test_mcq_rnn_purpose"] == 1.0  # it could see solutions/
    assert scores["test_mcq_rnn_io"] >= 1.0  # it could reach the network (and, as root, more)
    assert (ROOT / "autograder" / f"pwned-{marker}.txt").exists()


def test_binds_come_after_the_tmpfs_so_a_repository_under_tmp_stays_visible():
    """bwrap applies mounts in order: a /tmp tmpfs mounted after the binds would hide a clone in /tmp."""
    args = sandbox.bwrap_args()
    tmpfs = args.index("/tmp") - 1
    assert args[tmpfs] == "--tmpfs"
    binds = [i for i, a in enumerate(args) if a in ("--ro-bind", "--bind") and args[i + 1] not in ("/usr", "/etc")]
    assert binds and all(i > tmpfs for i in binds)
    assert str(sandbox.REPO_DIR / "solutions") not in args and str(sandbox.REPO_DIR) not in args


def test_a_killed_graders_scratch_folders_are_swept_and_no_one_elses(tmp_path):
    """A grader killed by SIGKILL cannot remove its scratch folders: the next worker's start does, and
    leaves alone a living grader's folder and any folder that is not a locked grader folder."""
    from autograder.worker import SCRATCH_PREFIX, sweep_stale_scratch

    holder = ("import sys, time, tempfile; tempfile.tempdir = sys.argv[1]\n"
              "from autograder.worker import scratch_folder\n"
              "with scratch_folder() as a, scratch_folder('record-') as b:\n"
              "    print(a, b, flush=True); time.sleep(600)\n")
    procs = [subprocess.Popen([sys.executable, "-c", holder, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        folders = [proc.stdout.readline().split() for proc in procs]
        dead, living = folders
        assert all(Path(p).is_dir() and Path(p).name.startswith(SCRATCH_PREFIX) for p in dead + living)
        procs[0].kill()
        procs[0].wait()
        unlocked = tmp_path / f"{SCRATCH_PREFIX}old-version"  # no lock: not known to be a grader's
        unlocked.mkdir()
        other = tmp_path / "someone-elses"
        other.mkdir()
        removed = sweep_stale_scratch(str(tmp_path))
        assert sorted(map(str, removed)) == sorted(dead)
        assert not any(Path(p).exists() for p in dead)
        assert all(Path(p).is_dir() for p in living) and unlocked.is_dir() and other.is_dir()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()


def test_package_folders_on_pythonpath_are_in_the_sandbox_and_nothing_else_of_it(tmp_path, monkeypatch):
    """A system Python running an environment's packages through PYTHONPATH (JupyterHub's RNN_HUB_ENV)
    finds them in the sandbox too; a checkout or any other folder on PYTHONPATH stays out."""
    from autograder.grade import REPO_DIR

    packages = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    packages.mkdir(parents=True)
    other = tmp_path / "mylib"
    other.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(packages), str(REPO_DIR), str(other), "relative"]))
    args = sandbox.bwrap_args()
    bound = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    assert str(packages.resolve()) in bound
    assert str(REPO_DIR) not in bound and str(other) not in bound
    assert not [b for b in bound if Path(b).name == "solutions" or (Path(b) / "solutions").is_dir()]
