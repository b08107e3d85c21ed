"""Grading on a Dask cluster: `python -m autograder grade-class SUBMITTED --scheduler tcp://host:8786`.

An adapter over the engine, and the other side of grade-class's one seam (classgrade.LocalPool is the
first): `DaskPool.grade(tasks)` yields (task, result, status) exactly as the local pool does, so
fingerprints, results files, the CSV, the gradebook and feedback are written by the client as in a
local run. This module is imported only with --scheduler: without it no Dask code is loaded.

What travels, and how (no shared filesystem is assumed):
- once per run, a worker plugin (`GradingPlugin`, pickled to every Dask worker, and by the scheduler
  to workers that join later) carries the solution notebooks and their references (computed once,
  by the client, as a local run does) and the client's AUTOGRADER_SANDBOX; its setup writes the
  solutions to a private temporary folder and starts one warm sandboxed `autograder.worker.Worker`
  per thread of the Dask worker (run them with `--nthreads 1`: one grading process per core), so
  torch is imported once per Dask worker, not once per submission;
- per submission, a task with the notebook's bytes and names; the Dask worker writes them to a
  temporary folder laid out as the submission was (<student>/<assignment>/<file>), grades them with
  classgrade.grade_task, and sends back the GradeResult, whose paths are put back to the client's.
  A file the client cannot send (a symbolic link, a folder, an unreadable file) is refused here, as
  the local grader refuses it, without a worker.

Faults: a task whose Dask worker dies is run again on another (Dask's scheduler does that; results
are written by the client only when a task completes, so once). Before the run every worker says
whether it can sandbox and which grader code it runs: with AUTOGRADER_SANDBOX=required (the client's
setting, which the workers follow) a worker without bubblewrap stops the run before anything is
graded (as the local grader refuses), with `auto` the client warns once per such worker, and workers
running other grader code or torch than the client's are refused (the fingerprints would lie; a
worker joining later is checked by its first task). Losing the scheduler stops the run with one
line (ClusterError); what was written stays, and a re-run grades only what is missing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from distributed import Client, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from . import grade, sandbox
from .classgrade import ClusterError, Task, failed_result, grade_task
from .grade import Limits, code_digest
from .notebooks import load_solution, solution_notebooks
from .worker import SCRATCH_PREFIX, hold_lock

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler, and for it to have a worker
AHEAD = 4  # tasks sent ahead per worker thread (bounds what the scheduler holds: not the whole class)
PAGES_TIMEOUT = 600.0  # seconds the client waits, after grading, for the workers' feedback pages (then: its own)
IDLE_STOP = 120.0  # seconds without a submission after which a Dask worker stops its warm graders
# (AUTOGRADER_DASK_IDLE on the worker overrides it)


def _facts(mode: str) -> dict:
    """What a Dask worker says about itself before a run (runs on the worker, via Client.run)."""
    from importlib.metadata import version

    return {"sandbox": "" if mode == "off" else sandbox.available(), "digest": code_digest(), "torch": version("torch")}


class GradingPlugin(WorkerPlugin):
    """Set up on every Dask worker for one run: the solutions, their references, warm graders."""

    def __init__(self, name: str, solutions: dict, refs: dict, mode: str, replica: dict | None = None):
        self.name, self.solutions, self.refs, self.mode = name, solutions, refs, mode
        self.replica = replica  # classroom.replica_of(...): the course, to write feedback here (or None)
        self.idle = None
        self.graders = []
        self.problem = None
        self.dir = None
        self.digest = ""
        self.course = None
        self.course_lock = self.state = self.stopping = None  # (made on the worker: locks do not travel)

    def setup(self, worker) -> None:
        os.environ["AUTOGRADER_SANDBOX"] = self.mode  # the client's policy, not this machine's
        self.course_lock = threading.Lock()
        self.digest = code_digest()
        self.threads = max(1, int(getattr(worker.state, "nthreads", 1) or 1))
        self.state = threading.Lock()
        self.busy, self.last = 0, time.monotonic()
        self.idle_stop = float(os.environ.get("AUTOGRADER_DASK_IDLE", "") or IDLE_STOP)
        self.stopping = threading.Event()
        self.idle = queue.Queue()
        try:  # first, so that the graders import torch while this process does the same below
            self._start_graders()
        except sandbox.SandboxUnavailable as exc:
            self.problem = str(exc)
        threading.Thread(target=self._park_when_idle, daemon=True, name=f"{self.name}-idle").start()
        self.dir = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}dask-"))
        self.lock = hold_lock(self.dir)  # a worker killed mid-run leaves it to the next grader's sweep
        for rel, data in self.solutions.items():
            path = self.dir / "solutions" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        import torch

        for rel in self.solutions:  # what references() would load from its cache
            cache = grade.reference_cache_file(load_solution(self.dir / "solutions" / rel))
            if cache.name in self.refs:
                grade._REFS[str(cache)] = torch.load(io.BytesIO(self.refs[cache.name]), weights_only=True)
        if self.replica is not None:
            try:
                from . import classroom

                self.course = classroom.open_replica(self.dir / "course", self.replica)
            except Exception:  # the client writes the feedback itself, as without a replica
                self.course = None
            self.replica = None

    def _start_graders(self) -> None:
        for _ in range(self.threads):
            self.graders.append(grade.Worker(sandboxed=True).start())
            self.idle.put(self.graders[-1])

    def _park_when_idle(self) -> None:
        """Stop the warm graders after idle_stop seconds without a submission: a run whose client or scheduler
        went away never unregisters this plugin, and its graders (torch in memory, each) would stay until the
        Dask worker restarts. A submission that comes later starts them again (grader())."""
        while not self.stopping.wait(min(5.0, max(0.5, self.idle_stop / 4))):
            with self.state:
                if self.graders and not self.busy and time.monotonic() - self.last > self.idle_stop:
                    for g in self.graders:
                        g.stop()
                    self.graders, self.idle = [], queue.Queue()

    @contextlib.contextmanager
    def grader(self):
        """A warm grader of this Dask worker for one submission (started again if they were parked)."""
        with self.state:
            self.busy += 1
            if not self.graders:
                try:
                    self._start_graders()
                except BaseException:
                    self.busy -= 1
                    raise
            idle = self.idle
        g = idle.get()
        try:
            yield g
        finally:
            idle.put(g)
            with self.state:
                self.busy -= 1
                self.last = time.monotonic()

    def teardown(self, worker) -> None:
        if self.stopping is not None:
            self.stopping.set()
        for g in self.graders:
            g.stop()
        self.graders = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            os.close(self.lock)
            self.dir = None


def grade_remote(job: dict) -> dict:
    """One submission, on a Dask worker (the task function)."""
    here = get_worker()
    plugin = here.plugins.get(job["plugin"])
    if plugin is None:
        raise ClusterError(f"Dask worker {here.address} has not set up this run (plugin {job['plugin']} missing)")
    if plugin.problem:
        raise sandbox.SandboxUnavailable(f"{plugin.problem} (on Dask worker {here.address})")
    if plugin.digest != job["digest"]:  # a worker that joined after the check of the run's start
        raise ClusterError(f"Dask worker {here.address} runs other grader code than the client: install the same "
                           f"version on the workers")
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=plugin.dir))
    try:
        path = folder / job["student"] / job["assignment"] / job["file"]
        path.parent.mkdir(parents=True)
        path.write_bytes(job["data"])
        task = Task(job["student"], job["assignment"], job["notebook"], path, job["note"])
        with plugin.grader() as grader:
            result, status = grade_task(task, plugin.dir / "solutions", Limits(**job["limits"]), grader)
            sandboxed = grader.sandboxed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"result": result, "status": status, "paths": [(str(path), job["path"]), (str(folder), job["folder"]),
            (str(plugin.dir / "solutions"), job["solutions"])], "worker": here.address, "sandboxed": sandboxed}


def feedback_remote(job: dict, *outs) -> dict:
    """A submission's feedback pages, on a Dask worker (a task that follows the grading of its notebooks).

    The worker records the submission in its replica of the course (classroom.open_replica: the course's
    configuration and assignment definitions, a gradebook of its own) from exactly the results the client
    writes, then runs nbgrader's GenerateFeedback there. Returns {"basis", "pages": {name: HTML}} or
    {"error"}: the client uses the pages only if its own record of the submission has the same basis
    (classroom.feedback_basis), and otherwise writes them itself."""
    from . import classroom
    from .classgrade import one_line, results_data, result_from_json

    here = get_worker()
    plugin = here.plugins.get(job["plugin"])
    if plugin is None or plugin.course is None:
        return {"error": "this Dask worker has no replica of the course"}
    student, assignment = job["student"], job["assignment"]
    graded = iter(outs)
    with plugin.course_lock:  # nbgrader changes the working directory: one submission at a time
        folder = Path(tempfile.mkdtemp(prefix="feedback-", dir=plugin.dir))
        try:
            into = folder / student / assignment
            into.mkdir(parents=True)
            if job["timestamp"] is not None:
                (into / "timestamp.txt").write_bytes(job["timestamp"])
            results, errors, renamed = {}, {}, {}
            for item in job["notebooks"]:
                task = Task(student, assignment, item["notebook"], None, item["note"])
                if item["file"] is None:  # not submitted: what grade_task says of it, on any machine
                    result, status = grade_task(task, plugin.dir / "solutions", Limits(), None)
                else:
                    out = next(graded)
                    result, status = _swap(out["result"], out["paths"]), out["status"]
                    (into / item["file"]).write_bytes(item["data"])
                    if item["file"] != f"{item['notebook']}.ipynb":
                        renamed[item["notebook"]] = item["file"]
                data = json.loads(json.dumps(results_data(task, result, status, "", item["submission"])))
                if status == "graded":
                    results[item["notebook"]] = result_from_json(data)
                else:
                    errors[item["notebook"]] = data["extra_data"]["error"]
            classroom.record(plugin.course, folder, student, assignment, results, errors, renamed)
            pages = classroom.feedback(plugin.course, student, assignment)
            state = classroom.gradebook_states(plugin.course, [(student, assignment)])[(student, assignment)]
            basis = classroom.feedback_basis(plugin.course, student, assignment, state.digest)
            return {"basis": basis, "pages": {p.name: p.read_bytes() for p in pages}, "worker": here.address}
        except Exception as exc:
            return {"error": one_line(exc)}
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            classroom.forget(plugin.course, student, assignment)


def _swap(obj, pairs):
    """obj with each (old, new) path replaced in every string of it (a GradeResult, its tests and cases)."""
    if isinstance(obj, str):
        for old, new in pairs:
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, list):
        return [_swap(x, pairs) for x in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: _swap(getattr(obj, f.name), pairs) for f in dataclasses.fields(obj)})
    return obj


class DaskPool:
    """Grade on the workers of a running Dask scheduler (see the module docstring)."""

    def __init__(self, address: str, solutions: Path, limits: Limits, log=sys.stderr, timeout: float | None = None,
                 feedback: dict | None = None):
        self.address, self.solutions, self.limits, self.log = address, Path(solutions), limits, log
        # {"course_root", "groups": {pair: [Task]}}: the workers also write the feedback pages of the pairs
        # graded whole in this run (feedback_remote); None: the client writes them all
        self.feedback = feedback
        self.pages: dict = {}  # {pair: Future of feedback_remote}
        self.timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.client = None
        self.name = f"autograder-{uuid.uuid4().hex[:12]}"
        self.warned: set = set()
        self.digest = ""
        self.done = 0
        self._quiet = {}

    # -- life cycle ------------------------------------------------------------------------------------
    def __enter__(self) -> "DaskPool":
        for name in ("distributed", "distributed.client", "distributed.batched", "tornado", "asyncio"):
            logger = logging.getLogger(name)  # the run says in one line what went wrong: not Dask's logs
            self._quiet[name] = logger.level
            logger.setLevel(logging.CRITICAL + 1)
        try:
            self.client = Client(self.address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self._restore()
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address} ({_first_line(exc)})") from None
        try:
            self._check_workers()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _check_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=self.timeout)
        except (TimeoutError, OSError):
            raise ClusterError(f"the Dask scheduler at {self.address} has no workers (start some: "
                               f"dask worker {self.address} --nthreads 1)") from None
        mode = sandbox.mode()
        facts = self._broadcast(lambda: self.client.run(_facts, mode, on_error="return"))
        ours = _facts("off")
        self.digest = ours["digest"]
        for addr, f in sorted(facts.items()):
            if isinstance(f, BaseException):  # a worker leaving as we ask: it gets no work
                continue
            if (f["digest"], f["torch"]) != (ours["digest"], ours["torch"]):
                raise ClusterError(f"Dask worker {addr} runs other grader code than this machine (autograder "
                                   f"{f['digest'][:12]}, torch {f['torch']}; here {ours['digest'][:12]}, torch "
                                   f"{ours['torch']}): install the same version on the workers")
            if f["sandbox"] and mode == "required":
                raise sandbox.SandboxUnavailable(f"AUTOGRADER_SANDBOX=required but {f['sandbox']} "
                                                 f"(on Dask worker {addr})")
            if f["sandbox"]:
                self._warn(addr, f["sandbox"])
        solutions = {str(p.relative_to(self.solutions)): p.read_bytes() for p in solution_notebooks(self.solutions)}
        refs = {}
        for p in solution_notebooks(self.solutions):
            ref_file = grade.reference_cache_file(load_solution(p))
            if ref_file.is_file():  # (grade_class computed the references of this run's notebooks first)
                refs[ref_file.name] = ref_file.read_bytes()
            elif str(ref_file) in grade._REFS:  # a read-only cache: they live in memory only
                import torch

                buf = io.BytesIO()
                torch.save(grade._REFS[str(ref_file)], buf)
                refs[ref_file.name] = buf.getvalue()
        replica = None
        if self.feedback:
            from . import classroom

            try:
                replica = classroom.replica_of(self.feedback["course_root"],
                                               {a for _, a in self.feedback["groups"]})
            except Exception as exc:
                print(f"grade-class: the feedback pages are written on this machine, not on the workers "
                      f"(cannot copy the course's gradebook for them: {_first_line(exc)})", file=self.log)
                self.feedback = None
        plugin = GradingPlugin(self.name, solutions, refs, mode, replica)
        self._broadcast(lambda: self.client.register_plugin(plugin, name=self.name))

    def _broadcast(self, call):
        """A call to every worker, tried again while a worker that just left is still on the scheduler's list."""
        for attempt in range(5):
            try:
                return call()
            except OSError:  # (distributed's CommClosedError)
                if attempt == 4:
                    raise
                time.sleep(1.0)

    def _warn(self, addr: str, why: str) -> None:
        if addr not in self.warned:
            self.warned.add(addr)
            print(f"autograder: warning: student code runs WITHOUT a sandbox on Dask worker {addr} ({why}); it is "
                  f"limited in time and output only, and can read what that worker can read", file=self.log)

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                if self.client.status == "running":
                    self.client.unregister_worker_plugin(self.name)  # stops the warm graders
            except Exception:
                pass
            try:
                self.client.close(timeout=5)
            except Exception:
                pass
            self.client = None
        self._restore()

    def _restore(self) -> None:
        for name, level in self._quiet.items():
            logging.getLogger(name).setLevel(level)
        self._quiet = {}

    # -- jobs ------------------------------------------------------------------------------------------
    def _job(self, task: Task) -> dict | None:
        """The task as it travels, or None when the file cannot be sent (refused here, below)."""
        path = task.path
        try:
            if path.is_symlink() or not path.is_file():
                return None
            data = path.read_bytes()
        except OSError:
            return None
        return {"plugin": self.name, "digest": self.digest, "student": task.student, "assignment": task.assignment,
                "notebook": task.notebook, "note": task.note, "file": path.name, "data": data,
                "limits": dict(self.limits.__dict__), "path": str(path), "folder": str(path.parent.parent.parent),
                "solutions": str(self.solutions)}

    def _send_feedback(self, pair, group, futures: dict, jobs: dict) -> None:
        """Submit the feedback task of a pair, after the grading tasks of its notebooks (its dependencies)."""
        timestamp = None
        first = next(t.path for t in group if t.path is not None)
        try:
            if (first.parent / "timestamp.txt").is_file() and not (first.parent / "timestamp.txt").is_symlink():
                timestamp = (first.parent / "timestamp.txt").read_bytes()
        except OSError:
            return  # (the client writes this one's pages)
        notebooks, deps = [], []
        for t in group:
            if t.path is None:
                notebooks.append({"notebook": t.notebook, "note": t.note, "file": None, "submission": ""})
            else:
                job = jobs[id(t)]
                notebooks.append({"notebook": t.notebook, "note": t.note, "file": job["file"], "data": job["data"],
                                  "submission": str(t.path)})
                deps.append(futures[id(t)])
        job = {"plugin": self.name, "student": pair[0], "assignment": pair[1], "timestamp": timestamp,
               "notebooks": notebooks}
        self.pages[pair] = self.client.submit(feedback_remote, job, *deps, key=f"feedback-{uuid.uuid4().hex}",
                                              pure=False)

    def feedback_pages(self) -> dict:
        """{pair: {"basis", "pages"} or {"error"}} of the feedback tasks sent (after the grading: waits for them).
        Never raises: a page the cluster did not write is written by the client."""
        out = {}
        deadline = time.monotonic() + PAGES_TIMEOUT  # (for them all: they run as their notebooks are graded)
        for pair, fut in self.pages.items():
            try:
                out[pair] = fut.result(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:
                out[pair] = {"error": _first_line(exc)}
        self.pages = {}
        return out

    def grade(self, tasks: list[Task]):
        pending = []
        for task in tasks:
            if task.path is None:
                self.done += 1
                yield (task, *grade_task(task, self.solutions, self.limits, None))
                continue
            job = self._job(task)
            if job is None:  # a symlink, a folder, an unreadable file: the local grader's own refusal
                self.done += 1  # (grade_task fails reading it, before it would start a worker)
                yield (task, *grade_task(task, self.solutions, self.limits, None))
                continue
            pending.append((task, job))
        threads = sum(self.client.nthreads().values()) or 1
        futures = {}
        # the pairs whose feedback the workers write: every notebook of it graded now, on the cluster
        sent = {id(task) for task, _ in pending}
        owed = {}
        for pair, group in (self.feedback or {}).get("groups", {}).items():
            if any(t.path is not None for t in group) and all(id(t) in sent or t.path is None for t in group):
                owed[pair] = [t for t in group if t.path is not None]
        jobs = {id(task): job for task, job in pending}
        graded_futures: dict = {}

        def submit():
            task, job = pending.pop(0)
            fut = self.client.submit(grade_remote, job, key=f"grade-{uuid.uuid4().hex}", pure=False)
            futures[fut.key] = task
            pair = (task.student, task.assignment)
            if pair in owed:
                graded_futures.setdefault(pair, []).append((task, fut))
                if len(graded_futures[pair]) == len(owed[pair]):
                    self._send_feedback(pair, self.feedback["groups"][pair], dict(
                        (id(t), f) for t, f in graded_futures.pop(pair)), jobs)
            return fut

        window = as_completed([submit() for _ in range(min(len(pending), AHEAD * threads))], loop=self.client.loop)
        total = self.done + len(futures) + len(pending)
        for fut in window:
            task = futures.pop(fut.key)
            try:
                out = fut.result()
            except sandbox.SandboxUnavailable:
                raise
            except ClusterError:
                raise
            except Exception as exc:
                if fut.status == "cancelled" or self.client.status != "running":
                    raise ClusterError(f"lost the Dask scheduler at {self.address}: {self.done} of {total} "
                                       f"submissions were graded and saved; run grade-class again to grade the "
                                       f"rest") from None
                # the task failed on the cluster (e.g. its workers kept dying): this submission's result says so
                result = failed_result(task, self.solutions, f"grader error: {type(exc).__name__}: {_first_line(exc)}")
                out = {"result": result, "status": "error", "paths": [], "worker": "", "sandboxed": True}
            if not out["sandboxed"] and sandbox.mode() != "off":
                self._warn(out["worker"], "bubblewrap does not work there")
            if pending:
                window.add(submit())
            self.done += 1
            yield task, _swap(out["result"], out["paths"]), out["status"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
