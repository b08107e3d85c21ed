"""`grade-class --scheduler`: a class graded on a real Dask cluster equals a local run, and its faults.

One scheduler and two workers per module, each a separate process on 127.0.0.1 (`dask scheduler`,
`dask worker --nthreads 1`), stopped by process group at the end, also on failure. The workers share
no files with the client: each runs with a home, working folder, TMPDIR and reference cache of its
own, inside a mount namespace (bubblewrap, when it works here) where the test session's temporary
folders (the client's submissions, results and reference cache) and the repository's solutions/ and
grading/ are empty: what they grade reaches them over Dask. Budget: about a minute (issue 12), so
notebook 01 only, a few submissions, one cluster and one local run shared by the tests.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder import classgrade
from autograder.classgrade import ClusterError, grade_class
from autograder.sandbox import SandboxUnavailable, available
from catalog import FULL_01
from conftest import COURSE, ROOT, SOLUTIONS, VENV_BIN, make_submission, run
from hostile import ATTACKS, RIGHT_IO, unique

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_recurrence"
NAME = "01_the_rnn_recurrence"
SOLUTION = SOLUTIONS / ASSIGNMENT / f"{NAME}.ipynb"
HOSTILE = ("monkeypatch_comparisons", "crash_sigkill_self")
SLOW = {"mcq_rnn_io": RIGHT_IO + "import time\ntime.sleep(2)\n"}  # a full score, after 2 s
IDLE = 6  # seconds without a submission after which a worker stops its warm graders (AUTOGRADER_DASK_IDLE)


def notebook(submitted: Path, student: str, name: str = NAME) -> Path:
    return submitted / student / ASSIGNMENT / f"{name}.ipynb"


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started and everything in its process group (SIGTERM, then SIGKILL)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader for a moment
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Cluster:
    def __init__(self, base: Path, hidden: list[Path]):
        self.base, self.hidden = base, hidden
        self.procs: dict[str, subprocess.Popen] = {}
        self.address = ""

    def start_scheduler(self) -> None:
        info = self.base / "scheduler.json"
        self.procs["scheduler"] = subprocess.Popen(
            [str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=open(self.base / "scheduler.log", "wb"),
            cwd=self.base, start_new_session=True)
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip().endswith("}"):
            assert time.monotonic() < deadline and self.procs["scheduler"].poll() is None, \
                (self.base / "scheduler.log").read_text()[-2000:]
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]

    def start_worker(self, name: str, path: str | None = None) -> None:
        """A `dask worker` in a folder of its own, seeing none of the client's files."""
        home = self.base / name
        for sub in ("home", "tmp", "cache"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HOME=str(home / "home"), TMPDIR=str(home / "tmp"),
                   AUTOGRADER_CACHE=str(home / "cache"), AUTOGRADER_SOLUTIONS="/nonexistent",
                   AUTOGRADER_DASK_IDLE=str(IDLE),
                   PATH=path or os.environ.get("PATH", ""), PYTHONPATH=str(ROOT))
        argv = [str(VENV_BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-dashboard", "--name", name]
        if not available():  # hide the client's folders in a mount namespace of the worker's own
            argv = [shutil.which("bwrap"), "--bind", "/", "/", "--dev", "/dev",
                    *[arg for p in self.hidden for arg in ("--tmpfs", str(p))], "--", *argv]
        self.procs[name] = subprocess.Popen(argv, cwd=home, env=env, stdout=subprocess.DEVNULL,
                                            stderr=open(home / "worker.log", "wb"), start_new_session=True)

    def wait_for(self, n: int) -> dict:
        """{worker name: its Dask worker process id} once n workers are connected."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=90)
            pids = client.run(os.getpid)
            names = {addr: w["name"] for addr, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        return {names[addr]: pid for addr, pid in pids.items()}

    def graders(self) -> dict:
        """{worker name: the warm graders (runner processes) below it}."""
        from unix_users import descendants

        found = {}
        for name, proc in self.procs.items():
            if name == "scheduler":
                continue
            found[name] = []
            for pid in descendants(proc.pid):
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"autograder.runner" in argv:
                    found[name].append(pid)
        return found

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            _stop(proc)

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.stop(name)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = Path(tempfile.mkdtemp(prefix="autograder-dask-test-"))  # outside the test session's folders
    shared = Path(os.environ.get("AUTOGRADER_TEST_SHARED") or tmp_path_factory.getbasetemp())
    hidden = [shared, Path(os.environ["AUTOGRADER_CACHE"]), SOLUTIONS, ROOT / "grading"]
    c = Cluster(base, [p for p in hidden if p.is_dir()])
    try:
        c.start_scheduler()
        c.start_worker("w1")
        c.start_worker("w2")
        c.wait_for(2)
        yield c
    finally:
        c.stop_all()
        shutil.rmtree(base, ignore_errors=True)


def comparable(out: Path) -> dict:
    """Every results file and the CSV, without the seconds each grading took and without what the gradebook
    adds (the marks of what was recorded; the CSV's manual grades, which only a gradebook has)."""
    files, manual = {}, set()
    for path in sorted((out / "results").rglob("*.json")):
        data = json.loads(path.read_text())
        data.pop("execution_time")
        for mark in ("recorded", "feedback_digest"):
            data["extra_data"].pop(mark, None)
        manual |= {f"{NAME}/{t['name'].split(':')[0]}" for t in data["tests"] if "manually graded" in t.get("tags", [])}
        files[str(path.relative_to(out))] = data
    with open(out / "class-grades.csv", newline="") as f:
        files["class-grades.csv"] = [{k: v for k, v in row.items() if k not in manual | {"manual_score", "total_score"}}
                                     for row in csv.DictReader(f)]
    return files


@pytest.fixture(scope="module")
def mixed(cluster, tmp_path_factory):
    """A mixed class graded on this machine (no gradebook) and on the cluster, recorded in nbgrader's gradebook
    with feedback: (submitted, local out, Dask out, summary, log)."""
    base = tmp_path_factory.mktemp("mixed")
    root = base / "course-root"
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copytree(COURSE / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    assert run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root).returncode == 0
    sub = root / "grading" / "submitted"
    make_submission(SOLUTION, notebook(sub, "honest"))
    (notebook(sub, "honest").parent / "timestamp.txt").write_text("2026-12-01 09:30:00.000000 UTC")
    (notebook(sub, "honest").parent / "notes.txt").write_text("a file handed in with the notebook\n")
    notebook(sub, "blank").parent.mkdir(parents=True)
    shutil.copy(COURSE / ASSIGNMENT / f"{NAME}.ipynb", notebook(sub, "blank"))  # as released
    notebook(sub, "broken").parent.mkdir(parents=True)
    notebook(sub, "broken").write_bytes(b"\xff\xfe not a notebook")
    make_submission(SOLUTION, notebook(sub, "renamed", "my copy"))
    (sub / "absent" / ASSIGNMENT).mkdir(parents=True)
    for attack in (a for a in ATTACKS if a.name in HOSTILE):
        make_submission(SOLUTION, notebook(sub, f"hostile_{attack.name}"), attack.fill(*unique()))
    local = grade_class(sub, out=base / "local", solutions=root / "solutions", workers=2, gradebook=False, quiet=True)
    log = base / "dask.log"
    with open(log, "w") as f:
        summary = grade_class(sub, solutions=root / "solutions", scheduler=cluster.address, quiet=True, log=f)
    assert local["graded"] == summary["graded"] == 5 + len(HOSTILE)
    return sub, base / "local", root / "grading", summary, log.read_text()


def test_a_mixed_class_on_dask_equals_a_local_run(mixed):
    sub, local, dask, summary, log = mixed
    assert log == ""  # no warning: both workers sandbox
    assert comparable(dask) == comparable(local)  # scores, statuses, notes, fingerprints, the CSV
    results = comparable(dask)
    status = {k.split("/")[1]: v["extra_data"]["status"] for k, v in results.items() if k.endswith(".json")}
    assert status == {"honest": "graded", "blank": "graded", "broken": "error", "renamed": "graded",
                      "absent": "missing", **{f"hostile_{h}": "graded" for h in HOSTILE}}
    broken = results[f"results/broken/{ASSIGNMENT}/{NAME}.json"]
    assert str(notebook(sub, "broken")) in broken["extra_data"]["error"]  # the client's path, not the worker's
    assert results[f"results/honest/{ASSIGNMENT}/{NAME}.json"]["score"] == sum(FULL_01.values())


def test_the_client_records_dask_results_in_nbgrader_with_feedback(mixed):
    """The gradebook step ran on the client while the cluster graded (a Recorder process), as after a local run."""
    from nbgrader.api import Gradebook

    sub, _, out, summary, _ = mixed
    students = sorted(p.name for p in sub.iterdir() if p.name != "absent")
    assert sorted(summary["recorded"]) == [f"{s}/{ASSIGNMENT}" for s in students]  # (absent: nothing to record)
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "rnn-course") as gb:
        for student in students:
            data = json.loads((out / "results" / student / ASSIGNMENT / f"{NAME}.json").read_text())
            assert data["extra_data"]["recorded"] and data["extra_data"]["feedback_digest"]
            assert gb.find_submission(ASSIGNMENT, student).score == pytest.approx(data["score"])
    pages = out / "feedback"
    assert (pages / "honest" / ASSIGNMENT / f"{NAME}.html").is_file()
    assert (pages / "renamed" / ASSIGNMENT / "my copy.html").is_file()  # under the name it was submitted as


def test_the_workers_wrote_every_feedback_page_exactly_as_the_client_would(mixed):
    """Point 3: the pages come from the workers (each records the submission in its replica of the course,
    then runs nbgrader's GenerateFeedback), and each equals, byte for byte, the page the client writes."""
    from autograder import classroom

    sub, _, out, summary, _ = mixed
    root = out.parent
    assert summary["feedback_on_workers"] == len(summary["recorded"]) == len(list(sub.iterdir())) - 1
    def files(folder: Path) -> dict:
        return {p.name: (p.read_bytes(), p.stat().st_mode) for p in folder.iterdir()}

    for pair in summary["recorded"]:
        student = pair.split("/")[0]
        folder = out / "feedback" / student / ASSIGNMENT
        from_workers = files(folder)
        assert from_workers and all(b"<html" in data for name, (data, _) in from_workers.items()
                                    if name.endswith(".html"))
        renamed = {NAME: "my copy.ipynb"} if student == "renamed" else None
        classroom.feedback(root, student, ASSIGNMENT, renamed)  # the client's own pages, in the same place
        assert files(folder) == from_workers, student
    # what GenerateFeedback copies beside the pages: timestamp.txt (nbgrader release_feedback reads it) and
    # the other files handed in
    assert {"timestamp.txt", "notes.txt", f"{NAME}.html"} <= set(files(out / "feedback" / "honest" / ASSIGNMENT))


def test_a_page_from_a_worker_is_used_only_when_its_basis_is_the_clients_record(mixed):
    """A page written elsewhere is used only if the autograded notebooks and gradebook state it was made from
    are the client's: a forged or stale basis gets the client's own page."""
    from autograder import classroom

    sub, _, out, _, _ = mixed
    root = out.parent
    pair = ("honest", ASSIGNMENT)
    page = out / "feedback" / "honest" / ASSIGNMENT / f"{NAME}.html"
    real = page.read_bytes()
    tasks = [t for t in classgrade.discover(sub, root / "solutions", None) if (t.student, t.assignment) == pair]
    forged = {f"{NAME}.html": b"<html>forged</html>"}
    state = classroom.gradebook_states(root, [pair])[pair]
    basis = classroom.feedback_basis(root, *pair, state.digest)
    try:
        for wrong in ("0" * 64, classroom.feedback_basis(root, *pair, "another gradebook state")):
            pages = {pair: {"basis": wrong, "pages": forged}}
            classgrade.record_all(root, sub, tasks, out / "results", {pair}, None, None, pages)
            assert page.read_bytes() == real and "used" not in pages[pair]
        pages = {pair: {"basis": basis, "pages": forged}}
        classgrade.record_all(root, sub, tasks, out / "results", {pair}, None, None, pages)
        assert page.read_bytes() == forged[f"{NAME}.html"] and pages[pair]["used"]
    finally:
        classroom.feedback(root, *pair)
    assert page.read_bytes() == real


def test_a_dask_rerun_grades_nothing_records_nothing_and_changes_nothing(cluster, mixed):
    sub, _, out, _, _ = mixed
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix != ".db"}
    again = grade_class(sub, solutions=out.parent / "solutions", scheduler=cluster.address, quiet=True)
    assert again["graded"] == 0 and again["reused"] == again["submissions"]
    assert again["recorded"] == [] and again["feedback_refreshed"] == []
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix != ".db"} == before


def _in_thread(target) -> tuple[threading.Thread, dict]:
    box = {}

    def run():
        try:
            box["value"] = target()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def _slow_class(base: Path, n: int) -> Path:
    sub = base / "submitted"
    for k in range(n):
        make_submission(SOLUTION, notebook(sub, f"slow{k}"), SLOW)
    return sub


def test_a_worker_killed_mid_run_loses_nothing_and_writes_nothing_twice(cluster, tmp_path, monkeypatch):
    from distributed import Client

    sub = _slow_class(tmp_path, 3)
    writes = []
    real_write = classgrade.write_atomic
    monkeypatch.setattr(classgrade, "write_atomic", lambda path, text: (writes.append(path), real_write(path, text)))
    pids = cluster.wait_for(2)
    thread, box = _in_thread(lambda: grade_class(sub, out=tmp_path / "out", scheduler=cluster.address,
                                                 gradebook=False, quiet=True))
    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        busy = []
        while not busy:  # a worker in the middle of a submission (each takes 2 s or more)
            assert time.monotonic() < deadline and thread.is_alive()
            busy = [a for a, keys in client.processing().items() if keys]
            time.sleep(0.2)
        time.sleep(1.0)
        name = client.scheduler_info(n_workers=-1)["workers"][busy[0]]["name"]
    os.kill(pids[name], signal.SIGKILL)
    thread.join(180)
    assert "error" not in box, box.get("error")
    assert box["value"]["graded"] == 3
    results = [p for p in writes if p.suffix == ".json"]
    assert len(results) == len(set(results)) == 3  # each submission's result written once
    for k in range(3):
        data = json.loads((tmp_path / "out" / "results" / f"slow{k}" / ASSIGNMENT / f"{NAME}.json").read_text())
        assert data["score"] == sum(FULL_01.values()) and data["extra_data"]["status"] == "graded"
    # the killed worker's folders were locked while it lived: a grader's sweep there removes them (its
    # restarted worker's may already have); what is left belongs to a living process
    import fcntl

    from autograder.worker import sweep_stale_scratch

    tmp = cluster.base / name / "tmp"
    sweep_stale_scratch(str(tmp))
    for folder in tmp.glob("autograder-*"):
        fd = os.open(folder / ".lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)


def test_a_worker_without_bubblewrap_is_refused_or_warned_about_as_locally(cluster, mixed, tmp_path, monkeypatch):
    """AUTOGRADER_SANDBOX is the client's: `required` refuses before grading, `auto` warns once, per worker."""
    if available():
        pytest.skip(f"bubblewrap does not work here ({available()}): nothing to take away")
    sub = tmp_path / "submitted"
    shutil.copytree(mixed[0] / "honest", sub / "honest")
    cluster.start_worker("nobwrap", path=str(VENV_BIN))  # bwrap is in /usr/bin: not on its PATH
    try:
        cluster.wait_for(3)
        monkeypatch.setenv("AUTOGRADER_SANDBOX", "required")
        with pytest.raises(SandboxUnavailable, match=r"AUTOGRADER_SANDBOX=required but bwrap is not installed.*"
                                                     r"on Dask worker tcp://127\.0\.0\.1:\d+"):
            grade_class(sub, out=tmp_path / "out", scheduler=cluster.address, gradebook=False, quiet=True)
        assert not (tmp_path / "out" / "results").exists()  # nothing graded
        monkeypatch.setenv("AUTOGRADER_SANDBOX", "auto")
        with open(tmp_path / "log", "w") as log:
            summary = grade_class(sub, out=tmp_path / "out", scheduler=cluster.address, gradebook=False, quiet=True,
                                  log=log)
        lines = (tmp_path / "log").read_text().splitlines()
        assert len(lines) == 1 and "WITHOUT a sandbox on Dask worker tcp://127.0.0.1:" in lines[0]
        assert summary["graded"] == 1
        path = f"results/honest/{ASSIGNMENT}/{NAME}.json"
        here, there = comparable(tmp_path / "out")[path], comparable(mixed[1])[path]
        assert here["extra_data"].pop("submission") != there["extra_data"].pop("submission")  # (other folders)
        assert here == there
    finally:
        cluster.stop("nobwrap")


def test_a_client_killed_mid_run_leaves_no_warm_graders_on_the_workers(cluster, tmp_path):
    """A client killed by SIGKILL never unregisters its run's plugin: the scheduler keeps it and the Dask workers
    live on. Each worker stops that run's warm graders once idle for IDLE seconds; the cluster still grades."""
    from unix_users import alive

    sub = _slow_class(tmp_path, 4)
    out = tmp_path / "out"
    client = subprocess.Popen([str(VENV_BIN / "python"), "-m", "autograder", "grade-class", str(sub), "--out", str(out),
                               "--no-gradebook", "--quiet", "--scheduler", cluster.address], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not (list((out / "results").rglob("*.json")) if (out / "results").exists() else []):
            assert time.monotonic() < deadline and client.poll() is None, client.stderr.read()
            time.sleep(0.1)
        graders = [pid for pids in cluster.graders().values() for pid in pids]
        assert graders
    finally:
        os.killpg(client.pid, signal.SIGKILL)  # no goodbye: its plugin stays registered on the scheduler
        client.wait(timeout=30)
    deadline = time.monotonic() + IDLE + 30
    while [pid for pid in graders if alive(pid)]:
        assert time.monotonic() < deadline, [pid for pid in graders if alive(pid)]
        time.sleep(0.5)
    assert all(cluster.procs[w].poll() is None for w in ("w1", "w2"))  # the workers themselves live on
    again = grade_class(sub, out=out, scheduler=cluster.address, gradebook=False, quiet=True)
    assert again["graded"] + again["reused"] == 4


def test_losing_the_scheduler_stops_with_one_line_and_a_rerun_grades_only_what_is_missing(cluster, tmp_path, capsys):
    """(Last in the module: it stops the scheduler.)"""
    from autograder.__main__ import main

    sub = _slow_class(tmp_path, 3)
    out = tmp_path / "out"
    thread, box = _in_thread(lambda: main(["grade-class", str(sub), "--out", str(out), "--no-gradebook", "--quiet",
                                           "--scheduler", cluster.address]))
    deadline = time.monotonic() + 90
    while not (list((out / "results").rglob("*.json")) if (out / "results").exists() else []):
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.1)
    graders = [pid for pids in cluster.graders().values() for pid in pids]  # the run's warm graders
    assert graders
    cluster.kill("scheduler")  # gone at once, no goodbye
    thread.join(60)
    assert not thread.is_alive() and box.get("value") == 1, box
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"grade-class: lost the Dask scheduler at {cluster.address}: "), err
    saved = len(list((out / "results").rglob("*.json")))
    assert 1 <= saved < 3 and "run grade-class again" in err[0]
    again = grade_class(sub, out=out, workers=1, gradebook=False, quiet=True)  # here, or on a cluster again
    assert (again["graded"], again["reused"]) == (3 - saved, saved)
    # the run never said goodbye to its workers: a worker that outlives its scheduler (waiting for it to come
    # back) stops its warm graders once idle for IDLE seconds; one that gives up takes them with it
    from unix_users import alive

    deadline = time.monotonic() + IDLE + 30
    while [pid for pid in graders if alive(pid)]:
        assert time.monotonic() < deadline, ([pid for pid in graders if alive(pid)],
                                             {w: p.poll() for w, p in cluster.procs.items()})
        time.sleep(0.5)


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    from autograder import cluster
    from autograder.__main__ import main

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    sub = tmp_path / "submitted"
    make_submission(SOLUTION, notebook(sub, "honest"))
    (notebook(sub, "honest").parent / "timestamp.txt").write_text("2026-12-01 09:30:00.000000 UTC")
    (notebook(sub, "honest").parent / "notes.txt").write_text("a file handed in with the notebook\n")
    code = main(["grade-class", str(sub), "--out", str(tmp_path / "out"), "--no-gradebook", "--quiet",
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("grade-class: cannot reach the Dask scheduler at "
                                                             "tcp://127.0.0.1:9"), err


def test_without_a_scheduler_no_dask_is_imported():
    proc = run([str(VENV_BIN / "python"), "-c", "import sys, autograder.__main__, autograder.classgrade; "
                "print(sorted(m for m in sys.modules if m.split('.')[0] in ('distributed', 'dask')))"])
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
