"""No trace of one job reaches the next on the same warm worker (issue 10).

Three jobs run in turn on one sandboxed worker: a *baseline* job records the state a job starts with
(tests/isolation_probe.py enumerates it: every directory of the sandbox in which a file can be
created, the files, metadata and mounts there, processes, IPC, bound sockets, environment, working
directory, limits, descriptors and the warm server's Python state); a *leaving* job changes all of it
it can (and records its own state afterwards, the control that the enumeration sees each change);
a *next* job records the state again, which must equal the baseline. Both ways of keeping jobs apart
are tested: namespaces of their own per job (the default) and a new worker per job (the fallback).
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.notebooks import ProgramCell
from autograder.worker import Limits, Worker

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(sandbox.mode() == "off" or sandbox.available()),
                                 reason=f"needs the bubblewrap sandbox: {sandbox.available() or 'AUTOGRADER_SANDBOX=off'}")]

PROBE = (Path(__file__).with_name("isolation_probe.py")).read_text()
LIMITS = Limits(cell_timeout=120, notebook_timeout=240, max_log_bytes=64 * 2**20)
# what differs between two jobs by nature, not by anything a job left: the memory limit is the warm
# server's mapped size plus the allowance (checked apart, within 64 MiB)
VOLATILE = {"environ": ("OLDPWD",), "rlimits": ("RLIMIT_AS",)}


def default_env(**extra) -> dict:
    """This process's environment without the isolation mode a fixture of this module may have set."""
    import os

    return {**{k: v for k, v in os.environ.items() if k != "AUTOGRADER_ISOLATION"}, **extra}


def job(worker: Worker, code: str) -> dict:
    """Run the probe plus `code` as one job; {tag: payload} of what it reported."""
    out = worker.run([ProgramCell("code", PROBE, "probe"), ProgramCell("code", code, "job")], "record", LIMITS)
    assert out.status == "finished" and not out.faults, (out.status, out.detail, out.faults, out.log[-3000:])
    found = {}
    for line in out.log.splitlines():
        if line.startswith("@@"):
            tag, _, payload = line[2:].partition("@@")
            found[tag] = json.loads(payload)
    assert found, out.log[-3000:]
    return found


@pytest.fixture(scope="module", params=["namespaces", "restart"])
def iso_worker(request):
    """One sandboxed worker per way of keeping jobs apart."""
    mp = pytest.MonkeyPatch()
    if request.param == "restart":
        mp.setenv("AUTOGRADER_ISOLATION", "restart")
    else:
        mp.delenv("AUTOGRADER_ISOLATION", raising=False)
    with Worker(sandboxed=True) as worker:
        yield worker, request.param
    mp.undo()


@pytest.fixture(scope="module")
def three_jobs(iso_worker):
    """(baseline state, leaver's report, next job's state, mark, restarts) on one worker."""
    worker, mode = iso_worker
    mark = "iso-" + secrets.token_hex(4)
    baseline = job(worker, "report('state', state())")["state"]
    assert worker.isolation == mode
    left = job(worker, f"report('did', leave({mark!r}))\nreport('after', state())")
    after = job(worker, "report('state', state())")["state"]
    return baseline, left, after, mark, worker.restarts


def comparable(state: dict) -> dict:
    out = json.loads(json.dumps(state))
    for key, names in VOLATILE.items():
        for name in names:
            out[key].pop(name, None)
    return out


def test_the_sandbox_root_and_system_are_read_only(three_jobs):
    """Only the three scratch mounts (home, /tmp, /dev/shm) and the job's own message-queue file system
    accept a new file anywhere in the sandbox: the root, /dev and every bind are read-only."""
    baseline, *_ = three_jobs
    places = set(baseline["writable_mounts"])
    assert places <= {sandbox.HOME, "/tmp", "/dev/shm", "/dev/mqueue"}, places
    assert {sandbox.HOME, "/tmp", "/dev/shm"} <= places
    assert "/" not in baseline["writable"] and "/dev" not in baseline["writable"]


def test_every_writable_place_is_size_capped(three_jobs):
    baseline, *_ = three_jobs
    caps = {sandbox.HOME: sandbox.HOME_BYTES, "/tmp": sandbox.TMP_BYTES, "/dev/shm": sandbox.SHM_BYTES}
    for point, mount in baseline["writable_mounts"].items():
        if mount["fstype"] == "mqueue":  # capped by the queue limits of the job's own IPC namespace
            soft, hard = baseline["rlimits"]["RLIMIT_MSGQUEUE"]
            assert 0 <= soft <= 2**20 and 0 <= hard <= 2**20, baseline["rlimits"]["RLIMIT_MSGQUEUE"]
            continue
        assert mount["fstype"] == "tmpfs", (point, mount)
        size = [o for o in mount["super"].split(",") if o.startswith("size=")]
        assert size, f"{point} has no size cap: {mount}"
        assert int(size[0][5:].rstrip("k")) * 1024 == caps[point], (point, mount)


def test_the_leaving_job_changed_every_kind_of_state(three_jobs):
    """The control: what the leaving job did shows in its own state, so the probe can see a leak."""
    baseline, left, _, mark, _ = three_jobs
    did, after = left["did"], left["after"]
    assert set(did["files"]) == set(baseline["writable"])
    assert {"sysv_shm", "sysv_sem", "sysv_msg", "posix_mq", "process", "fds", "dir_meta"} <= set(did)
    base, now = comparable(baseline), comparable(after)
    for key in ("files", "roots", "processes", "sysv_ipc", "mqueue", "network", "environ", "cwd", "umask",
                "rlimits", "status", "fds", "python"):
        if key == "mqueue" and base[key] is None:  # no message-queue file system to list (restart mode)
            continue
        assert now[key] != base[key], f"the probe does not see the leaving job's change of {key}"
    assert any(mark in line for line in after["network"]["unix"])
    assert len(after["network"]["tcp"]) > len(baseline["network"]["tcp"])


def assert_same_state(baseline: dict, after: dict) -> None:
    base, now = comparable(baseline), comparable(after)
    differs = {k: (base[k], now[k]) for k in base if base[k] != now[k]}
    assert not differs, f"state left by an earlier job: {json.dumps(differs, default=str)[:4000]}"
    base_as, now_as = baseline["rlimits"]["RLIMIT_AS"][0], after["rlimits"]["RLIMIT_AS"][0]
    assert abs(base_as - now_as) < 64 * 2**20, (base_as, now_as)


def test_the_next_job_starts_exactly_as_the_first(three_jobs):
    baseline, left, after, mark, restarts = three_jobs
    assert_same_state(baseline, after)
    assert mark not in json.dumps(after)


def test_namespaces_keep_one_warm_worker_and_restart_mode_restarts_after_every_job(three_jobs, iso_worker):
    *_, restarts = three_jobs
    assert restarts == (3 if iso_worker[1] == "restart" else 0)


FILL = """
import errno, os
filled = {}
for point in sorted(state()["writable_mounts"]):
    if point == "/dev/mqueue":
        continue
    total, k, chunk = 0, 0, b"x" * 2**23
    while True:  # files of at most 128 MiB (under the file size limit) until the place is full
        try:
            with open(os.path.join(point, f"fill-{k}"), "wb") as f:
                for _ in range(16):
                    f.write(chunk)
                    f.flush()
                    total += len(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            break
        k += 1
    filled[point] = total
report("filled", filled)
"""


def _shmem() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    return 0


def test_filling_every_writable_place_costs_only_that_job(three_jobs, iso_worker):
    """A job fills every writable place until it is full: each stops at its cap, the memory is given back
    when the job ends, and the next job starts exactly as the first."""
    worker, _ = iso_worker
    baseline = three_jobs[0]
    before = _shmem()
    filled = job(worker, FILL)["filled"]
    caps = {sandbox.HOME: sandbox.HOME_BYTES, "/tmp": sandbox.TMP_BYTES, "/dev/shm": sandbox.SHM_BYTES}
    assert set(filled) == set(caps), filled
    for point, written in filled.items():
        assert caps[point] - 2**24 <= written <= caps[point], (point, written)  # full, and never past its cap
    assert_same_state(baseline, job(worker, "report('state', state())")["state"])
    assert _shmem() - before < 64 * 2**20, "the filled memory was not given back after the job"


# -- a class graded on one worker: a leaking student and two readers ----------------------------------

LEAK = '''
import ctypes, os, socket, subprocess, sys
_KEY = @KEY@
_ANSWERS = @ANSWERS@.encode()
for _d in writable_dirs():  # every place a file can be created: a file, an extended attribute
    try:
        with open(os.path.join(_d, "answers-@MARK@"), "wb") as _f:
            _f.write(_ANSWERS)
        os.chmod(os.path.join(_d, "answers-@MARK@"), 0o644)
    except OSError:
        pass
    try:
        os.setxattr(_d, "user.answers", _ANSWERS[:200])
    except OSError:
        pass
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_id = _libc.shmget(ctypes.c_int(_KEY), ctypes.c_size_t(4096), ctypes.c_int(0o1000 | 0o666))
if _id >= 0:
    _p = _libc.shmat(_id, None, 0)
    ctypes.memmove(_p, _ANSWERS, len(_ANSWERS))
_rt = ctypes.CDLL("librt.so.1", use_errno=True)
_q = _rt.mq_open(b"/answers", os.O_CREAT | os.O_RDWR, 0o666, None)
if _q >= 0:
    _rt.mq_send(_q, _ANSWERS, len(_ANSWERS), 0)
_serve = """
import os, socket, threading, time
if os.fork(): os._exit(0)
os.setsid()
def serve(s):
    s.listen()
    while True:
        c, _ = s.accept(); c.sendall(@ANSWERS@.encode()); c.close()
for fam, addr in ((socket.AF_UNIX, chr(0) + "answers"), (socket.AF_INET, ("127.0.0.1", 47201))):
    try:
        s = socket.socket(fam); s.bind(addr); threading.Thread(target=serve, args=(s,), daemon=True).start()
    except OSError:
        pass
time.sleep(3600)
"""
subprocess.Popen([sys.executable, "-c", _serve], start_new_session=True)
import time; time.sleep(0.5)
os.environ["ANSWERS"] = _ANSWERS.decode()
'''

READ = '''
import ctypes, os, socket
def _leaked():
    """The leaked answers, wherever an earlier student could have left them, or None."""
    for _dirpath, _dirs, _files in os.walk("/", onerror=lambda e: None):
        if _dirpath == "/proc":
            _dirs[:] = []
        for _name in _files:
            if _name.startswith("answers-"):
                try:
                    return open(os.path.join(_dirpath, _name)).read()
                except OSError:
                    pass
        try:
            return os.getxattr(_dirpath, "user.answers").decode()
        except OSError:
            pass
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.shmat.restype = ctypes.c_void_p
    _id = _libc.shmget(ctypes.c_int(@KEY@), ctypes.c_size_t(0), ctypes.c_int(0))
    if _id >= 0:
        return ctypes.string_at(_libc.shmat(_id, None, 0)).decode()
    _rt = ctypes.CDLL("librt.so.1", use_errno=True)
    _q = _rt.mq_open(b"/answers", os.O_RDONLY | os.O_NONBLOCK)
    if _q >= 0:
        _buf = ctypes.create_string_buffer(8192)
        if _rt.mq_receive(_q, _buf, 8192, None) > 0:
            return _buf.value.decode()
    for fam, addr in ((socket.AF_UNIX, chr(0) + "answers"), (socket.AF_INET, ("127.0.0.1", 47201))):
        try:
            with socket.socket(fam) as _s:
                _s.settimeout(1)
                _s.connect(addr)
                return _s.recv(8192).decode()
        except OSError:
            pass
    return os.environ.get("ANSWERS")
_theirs = _leaked()
exec(_theirs if _theirs else "mcq_rnn_purpose = 'B'")
'''

READ_CONTROL = '''
# the control: a file this student leaves in its own /tmp is found by the same search
open("/tmp/answers-own", "w").write("mcq_hidden_size = 'A'")
_found = _leaked()
os.unlink("/tmp/answers-own")
mcq_rnn_constructor, constructor_calls_that_raise = "C", {"B"}
exec(_found or "mcq_hidden_size = 'B'")
'''

READ_IO = '''
_theirs = _leaked()
exec(_theirs if _theirs else @WRONG_IO@)
'''


@pytest.mark.parametrize("mode", ["namespaces", "restart"])
def test_a_class_on_one_worker_gets_exactly_what_its_own_answers_earn(first_solution, tmp_path, monkeypatch, mode):
    """grade-class --workers 1: a student who leaves the right answers everywhere a job can leave
    something, then two students who answer wrong themselves and take whatever they find. The readers
    score exactly what their own answers earn (their search is shown to work on a file of their own)."""
    from autograder.classgrade import grade_class, result_from_json
    from catalog import FULL_01
    from conftest import make_submission, solution_answers
    from hostile import RIGHT_IO, WRONG_IO

    if mode == "restart":
        monkeypatch.setenv("AUTOGRADER_ISOLATION", "restart")
    answers = solution_answers(first_solution)
    right = answers["mcq_rnn_purpose"] + "\n" + RIGHT_IO
    key = 0x5EED0 + len(mode)
    mark = secrets.token_hex(4)
    sub = tmp_path / "submitted"

    def nb(student):
        return sub / student / first_solution.parent.name / first_solution.name

    make_submission(first_solution, nb("a_leaker"), {
        "mcq_rnn_io": PROBE + RIGHT_IO + LEAK.replace("@KEY@", str(key)).replace("@ANSWERS@", repr(right))
                                                .replace("@MARK@", mark)})
    reader = {"mcq_rnn_purpose": READ.replace("@KEY@", str(key)), "mcq_rnn_constructor": READ_CONTROL,
              "mcq_rnn_io": READ_IO.replace("@WRONG_IO@", repr(WRONG_IO))}
    make_submission(first_solution, nb("b_reader"), reader)
    make_submission(first_solution, nb("c_reader"), reader)
    summary = grade_class(sub, out=tmp_path / "out", workers=1, gradebook=False, quiet=True)
    assert summary["graded"] == 3
    scores = {}
    for student in ("a_leaker", "b_reader", "c_reader"):
        data = json.loads((tmp_path / "out" / "results" / student / first_solution.parent.name
                           / f"{first_solution.stem}.json").read_text())
        result = result_from_json(data)
        scores[student] = {t.grade_id: t.score for t in result.tests if not t.manual}
    assert scores["a_leaker"] == FULL_01
    # own answers: purpose and I/O wrong; (a) and (b) of the constructor right; (c) right only if the
    # search found the student's own file (the control)
    own = FULL_01 | {"test_mcq_rnn_purpose": 0.0, "test_mcq_rnn_io": 0.0}
    assert scores["b_reader"] == own, scores["b_reader"]
    assert scores["c_reader"] == own, scores["c_reader"]


def test_the_grader_caches_are_out_of_reach(iso_worker, first_solution):
    """The reference cache (the solution's expected values) and the grader's output live outside the
    sandbox: a job can neither read nor change them, so it cannot leave anything there for the next."""
    from autograder.grade import _cache_dir, grade_notebook

    worker, _ = iso_worker
    grade_notebook(first_solution, worker=worker)  # fills the reference cache of this test session
    cache = _cache_dir().resolve()
    assert any(cache.iterdir())
    seen = job(worker, f"import os\nreport('seen', [os.path.exists(p) for p in {[str(cache), *map(str, cache.iterdir())]!r}])")
    assert not any(seen["seen"]), seen


INTMP = r"""
import json, sys
from autograder.notebooks import ProgramCell
from autograder.worker import Limits, Worker
CODE = '''
import os, json
from rnnlab import data  # not loaded by the warm worker: read from the course's folder under /tmp
try:
    open(os.path.join(os.path.dirname(data.__file__), "written-by-a-job"), "w")
    wrote = True
except OSError:
    wrote = False
print("@@" + json.dumps({"data": sorted(os.listdir(os.path.dirname(data.__file__)))[:1], "wrote": wrote,
                         "leftover": os.path.exists("/tmp/left-by-the-first")}))
open("/tmp/left-by-the-first", "w").close()
'''
with Worker(sandboxed=True) as w:
    outs = [w.run([ProgramCell("code", CODE, "c")], "record", Limits()) for _ in range(2)]
print(json.dumps([w.isolation] + [json.loads(o.log.split("@@")[1].splitlines()[0]) if "@@" in o.log else o.log[-800:]
                                  for o in outs]))
"""


def test_a_course_under_tmp_stays_visible_in_every_job(tmp_path):
    """Each job's new /tmp must not hide what the sandbox binds below /tmp (a clone of the course there,
    as CI may make): bound again, read-only, and /tmp itself is still new for every job."""
    import shutil
    import subprocess
    import sys

    assert str(tmp_path).startswith("/tmp/"), "pytest's temporary folder is expected under /tmp"
    repo = tmp_path / "course clone"
    for name in sandbox.SHARED_DIRS:
        shutil.copytree(sandbox.REPO_DIR / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-c", INTMP], cwd=repo, env=default_env(PYTHONPATH=str(repo)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mode, first, second = json.loads(proc.stdout.strip().splitlines()[-1])
    assert mode == "namespaces"
    assert first == {"data": ["__init__.py"], "wrote": False, "leftover": False}, first
    assert second == first, second


LINKED = r"""
import json
from autograder.notebooks import ProgramCell
from autograder.worker import Limits, Worker
CODE = "import subprocess, sys\nprint('@@' + subprocess.run([sys.executable, '-c', 'print(42)'], capture_output=True, text=True).stdout.strip())"
with Worker(sandboxed=True) as w:
    outs = [w.run([ProgramCell("code", CODE, "c")], "record", Limits()) for _ in range(2)]
print(json.dumps([w.sandboxed, w.isolation] + [o.log.split("@@")[-1].strip() for o in outs]))
"""


def test_a_python_reached_through_a_symbolic_link_is_sandboxed(tmp_path):
    """A virtual environment reached by a symbolic link (here one under /tmp, which every job gets new):
    still sandboxed, and every job can start that Python again."""
    import subprocess
    import sys

    link = tmp_path / "linked-venv"
    link.symlink_to(sys.prefix)
    proc = subprocess.run([str(link / "bin" / "python"), "-c", LINKED], cwd=sandbox.REPO_DIR, capture_output=True,
                          text=True, timeout=300, env=default_env(PYTHONPATH=str(sandbox.REPO_DIR)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [True, "namespaces", "42", "42"], proc.stderr[-2000:]
