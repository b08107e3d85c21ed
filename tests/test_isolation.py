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
LIMITS = Limits(cell_timeout=120, notebook_timeout=240)
# what differs between two jobs by nature, not by anything a job left: the memory limit is the warm
# server's mapped size plus the allowance (checked apart, within 64 MiB)
VOLATILE = {"environ": ("OLDPWD",), "rlimits": ("RLIMIT_AS",)}


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
def three_jobs(request):
    """(baseline, leaver's report, next job's state, the worker) on one worker, per isolation mode."""
    mp = pytest.MonkeyPatch()
    if request.param == "restart":
        mp.setenv("AUTOGRADER_ISOLATION", "restart")
    else:
        mp.delenv("AUTOGRADER_ISOLATION", raising=False)
    mark = "iso-" + secrets.token_hex(4)
    with Worker(sandboxed=True) as worker:
        baseline = job(worker, "report('state', state())")["state"]
        assert worker.isolation == request.param
        left = job(worker, f"report('did', leave({mark!r}))\nreport('after', state())")
        after = job(worker, "report('state', state())")["state"]
        restarts = worker.restarts
    mp.undo()
    yield baseline, left, after, mark, restarts


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


def test_the_next_job_starts_exactly_as_the_first(three_jobs):
    baseline, left, after, mark, restarts = three_jobs
    base, now = comparable(baseline), comparable(after)
    differs = {k: (base[k], now[k]) for k in base if base[k] != now[k]}
    assert not differs, f"state left by the previous job: {json.dumps(differs, default=str)[:4000]}"
    assert mark not in json.dumps(after)
    base_as, now_as = baseline["rlimits"]["RLIMIT_AS"][0], after["rlimits"]["RLIMIT_AS"][0]
    assert abs(base_as - now_as) < 64 * 2**20, (base_as, now_as)


def test_namespaces_keep_one_warm_worker_and_restart_mode_restarts_after_every_job(three_jobs, request):
    *_, restarts = three_jobs
    assert restarts == (3 if "restart" in request.node.callspec.id else 0)
