"""The warm runner pays for what every job needs once, before the first job (autograder/runner.py).

Each job is a fork of the warm server. Whatever a job imports or initialises itself, every job pays
again: a fork never keeps it. These tests run each graded solution notebook, as a learner's perfect
submission, in a fork of a preloaded runner, and enumerate what that job imported that the server
could have imported once. They also check that the server's objects are out of garbage collection's
reach. A collection in a job would otherwise visit every object of torch and matplotlib, and so copy
them page by page from the fork. That cost about 40 % of a short notebook's run, and made two workers
slow each other down.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.notebooks import solution_notebooks

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

# what a job may still import itself: a debugger a learner's code may open
ALLOWED = {"IPython.core.debugger", "pdb", "cmd", "code", "codeop"}

PROBE = textwrap.dedent("""
    import gc, json, os, sys, threading
    from pathlib import Path
    from autograder import runner
    from autograder.grade import load_submission
    from autograder.worker import Limits

    runner._preload()
    frozen = gc.get_freeze_count()
    report = {"frozen": frozen, "jobs": {}}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for path in sys.argv[1:]:
        nb, sol, program, notes = load_submission(Path(path))
        job = json.loads(json.dumps({"mode": "record", "cells": [c.__dict__ for c in program], "seed": 0,
                                     "limits": Limits(cell_timeout=120, notebook_timeout=300).job(),
                                     "skip": [], "quiet_until": -1}))
        before = set(sys.modules)
        r, w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r); os.close(out_r)
            os.dup2(devnull, 1); os.dup2(devnull, 2)
            status = runner.program(job, out_w, set(), -1, None)
            os.write(w, json.dumps({"status": status, "new": sorted(set(sys.modules) - before)}).encode())
            os._exit(0)
        os.close(w); os.close(out_w)
        # (the job's results are read and dropped, so that it never blocks on a full pipe)
        threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(out_r, 1 << 16), b"")],
                         daemon=True).start()
        data = b"".join(iter(lambda: os.read(r, 1 << 16), b""))
        os.waitpid(pid, 0)
        report["jobs"][Path(path).name] = json.loads(data or b"{}")
    print(json.dumps(report))
""")


@pytest.fixture(scope="module")
def probe():
    paths = [str(p) for p in solution_notebooks(SOLUTIONS)]
    proc = subprocess.run([sys.executable, "-c", PROBE, *paths], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_graded_notebook_ran_in_the_probe(probe):
    names = {p.name for p in solution_notebooks(SOLUTIONS)}
    assert set(probe["jobs"]) == names and len(names) >= 11
    for name, job in probe["jobs"].items():
        assert job.get("status") == 0, (name, job)


def test_a_job_imports_nothing_the_warm_runner_could_have_imported_once(probe):
    extra = {name: sorted(set(job["new"]) - ALLOWED) for name, job in probe["jobs"].items()}
    assert not any(extra.values()), (
        f"modules every such job imports again (add them to runner._preload or its COURSE_MODULES): {extra}")


def test_the_warm_state_is_out_of_garbage_collections_reach(probe):
    # torch, matplotlib, IPython and the course: hundreds of thousands of objects, frozen before any job
    assert probe["frozen"] > 100_000
