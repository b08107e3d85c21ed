"""`make bench`: per notebook, how long the solution takes to run and to grade (medians, seconds).

- run: bare execution of the solution notebook with nbclient (kernel start included), as a learner
  runs it top to bottom;
- grade: `python -m autograder grade` on the released notebook with the solution's answers spliced
  in (a perfect submission), as a separate process, reference cache warm;
- grade (cold): the same with an empty reference cache, the first grade of an assignment.
- parts: the run times summed per part of the course (Part I, nn.RNN: target 90 s).
- scale-out (--scale-out runs only this; --scale-students, default 60): one class graded by plain
  `nbgrader autograde` (a subset, extrapolated), the local pool at 1 and 2 workers and a Dask cluster
  (a scheduler and `dask worker --nthreads 1` processes on this machine) at 1 and 2 workers:
  throughput over the whole run and steady (from the first result to the last, timed from the line
  grade-class prints per result), scaling efficiency both ways, Dask against the local pool, this
  machine's own ceiling for two processes, the cores one local worker keeps busy (the bound it sets),
  Dask workers capped at half a core each by cgroups of their own (as root), the gradebook step (on
  the client alone, and with Dask, where the workers write the feedback pages) with the client's CPU
  per submission, and a capacity estimate per worker core.
- class (for --class-for, default the first assignment): a class of submissions (--students, default 20: honest ones and
  typical unfinished ones, which answer only the first k questions) graded by plain
  `nbgrader autograde` (one kernel per submission, serial), by `grade-class` with 1 and 2 workers
  (without the gradebook step), and the gradebook step alone (record in nbgrader + HTML feedback);
  per submission: wall time, the student's own compute (the notebook's run inside the worker) and
  the grader's overhead beyond it, measured in-process on one warm worker.
Figures are printed, never asserted: these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .build import ROOT, SOLUTIONS
from .notebooks import solution_notebooks
from .submissions import make_submission, release_of, solution_answers, splice

# notebooks by the first two digits of their assignment folder
PARTS = {**{f"{i:02d}": "Part I (nn.RNN)" for i in range(1, 6)}, **{f"{i:02d}": "Part II (nn.GRU)" for i in range(6, 20)}}


def time_run(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - started


def time_grade(path: Path, cache: Path) -> tuple[float, str]:
    env = dict(os.environ, AUTOGRADER_CACHE=str(cache))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path)], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    total = next((line for line in proc.stdout.splitlines() if line.startswith("Autograded total")), proc.stderr.strip())
    return seconds, total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--students", type=int, default=20, help="class size for the class benchmark (0: skip it)")
    parser.add_argument("--class-for", default="01_recurrence",
                        help="assignments for the class benchmark: comma-separated names, or 'all'")
    parser.add_argument("--only", default="", help="time only these assignments (comma-separated)")
    parser.add_argument("--scale-out", action="store_true", help="run only the scale-out section (local pool and Dask)")
    parser.add_argument("--scale-students", type=int, default=60, help="class size for the scale-out section (0: skip it)")
    args = parser.parse_args(argv)
    if args.scale_out:
        bench_scale_out(SOLUTIONS / "01_recurrence" / "01_the_rnn_recurrence.ipynb", args.scale_students)
        return 0
    known = {s.parent.name for s in solution_notebooks(SOLUTIONS)}
    for option, value in (("--only", args.only), ("--class-for", "" if args.class_for == "all" else args.class_for)):
        unknown = sorted({a for a in value.split(",") if a} - known)
        if unknown:
            parser.error(f"{option}: unknown assignment(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    print(f"{'notebook':42s} {'run':>8s} {'grade':>8s} {'grade (cold)':>13s}  result")
    runs_total = 0.0
    parts: dict[str, float] = {}
    only = {a for a in args.only.split(",") if a}
    with tempfile.TemporaryDirectory() as tmp:
        for solution in solution_notebooks(SOLUTIONS):
            if only and solution.parent.name not in only:
                continue
            sub = make_submission(solution, Path(tmp) / "sub" / solution.parent.name / solution.name)
            run = statistics.median(time_run(solution) for _ in range(args.repeat))
            cold = []
            for i in range(args.repeat):
                cold.append(time_grade(sub, Path(tmp) / f"cold-{solution.stem}-{i}")[0])
            warm_cache = Path(tmp) / f"warm-{solution.stem}"
            time_grade(sub, warm_cache)
            warm, total = [], ""
            for _ in range(args.repeat):
                seconds, total = time_grade(sub, warm_cache)
                warm.append(seconds)
            runs_total += run
            part = PARTS.get(solution.parent.name[:2], "other")
            parts[part] = parts.get(part, 0.0) + run
            name = f"{solution.parent.name}/{solution.name}"
            print(f"{name:42s} {run:7.1f}s {statistics.median(warm):7.1f}s {statistics.median(cold):12.1f}s  {total}")
    print(f"\nmedians of {args.repeat} runs; all notebooks run in {runs_total:.1f} s in total "
          f"(target: 20 s per notebook on 2 CPU cores)")
    for part, seconds in parts.items():
        print(f"{part}: {seconds:.1f} s" + (" (target: 90 s)" if part.startswith("Part I ") else ""))
    if args.students:
        wanted = None if args.class_for == "all" else set(args.class_for.split(","))
        for solution in solution_notebooks(SOLUTIONS):
            if wanted is None or solution.parent.name in wanted:
                bench_class(solution, args.students)
    if args.scale_students:
        bench_scale_out(SOLUTIONS / "01_recurrence" / "01_the_rnn_recurrence.ipynb", args.scale_students)
    return 0


def make_class(solution: Path, submitted: Path, students: int) -> list[Path]:
    """Honest and unfinished submissions: student k answers the first k % (n + 1) questions."""
    answers = solution_answers(solution)
    names = list(answers)
    paths = []
    for k in range(students):
        keep = names if k % 2 == 0 else names[:k % (len(names) + 1)]
        dest = submitted / f"student{k:02d}" / solution.parent.name / solution.name
        splice(release_of(solution), dest, {n: answers[n] for n in keep})
        (dest.parent / "timestamp.txt").write_text("2026-11-22 12:00:00.000000 UTC")
        paths.append(dest)
    return paths


def _timed(cmd, cwd, env) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def _children_cpu() -> float:
    """CPU-seconds used so far by this process's finished children and theirs (a grade-class run, with its
    Recorder and feedback processes; not the Dask workers, which are still running)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_class(solution: Path, students: int) -> None:
    import shutil

    from .grade import grade_notebook
    from .worker import Worker

    assignment = solution.parent.name
    bin_dir = str(Path(sys.executable).parent)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course-root"
        shutil.copytree(SOLUTIONS, root / "solutions")
        shutil.copytree(ROOT / "course", root / "course")
        shutil.copy(ROOT / "nbgrader_config.py", root)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                   AUTOGRADER_CACHE=str(Path(tmp) / "cache"))
        os.environ["AUTOGRADER_CACHE"] = env["AUTOGRADER_CACHE"]
        subprocess.run(["nbgrader", "generate_assignment", assignment, "--force"], cwd=root, env=env,
                       capture_output=True, check=True)
        submitted = root / "grading" / "submitted"
        paths = make_class(solution, submitted, students)
        # one warm worker, in-process: wall time vs the student's own compute, per submission
        walls, runs = [], []
        with Worker(sandboxed=True) as worker:
            grade_notebook(paths[0], worker=worker)  # warm: references, worker start
            for path in paths:
                started = time.perf_counter()
                result = grade_notebook(path, worker=worker)
                walls.append(time.perf_counter() - started)
                runs.append(result.run_seconds)
        nbg, proc = _timed(["nbgrader", "autograde", assignment, "--force"], root, env)
        if proc.returncode != 0:
            print(f"nbgrader autograde failed: {proc.stderr.strip().splitlines()[-1:]}")
        grade_class = [sys.executable, "-m", "autograder", "grade-class", str(submitted), "--solutions",
                       str(root / "solutions"), "--quiet", "--force"]
        one, _ = _timed(grade_class + ["--workers", "1", "--no-gradebook", "--out", str(Path(tmp) / "o1")], root, env)
        two, _ = _timed(grade_class + ["--workers", "2", "--no-gradebook", "--out", str(Path(tmp) / "o2")], root, env)
        # the fallback where jobs cannot get namespaces of their own: a new worker for every job
        restart, _ = _timed(grade_class + ["--workers", "2", "--no-gradebook", "--out", str(Path(tmp) / "o3")], root,
                            dict(env, AUTOGRADER_ISOLATION="restart"))
        shutil.copytree(Path(tmp) / "o2" / "results", root / "grading" / "results")
        book, proc = _timed(grade_class[:-1] + ["--workers", "2"], root, env)  # results reused: the gradebook step
        print(f"\nclass of {students} submissions of {assignment}/{solution.name} (honest and unfinished):")
        print(f"  {'grader':44s} {'total':>8s} {'per submission':>15s} {'throughput':>16s}")
        for label, total in [("plain nbgrader autograde (serial)", nbg), ("grade-class --workers 1", one),
                             ("grade-class --workers 2", two),
                             ("grade-class --workers 2, new worker per job", restart)]:
            print(f"  {label:44s} {total:7.1f}s {total / students:14.2f}s {students / total * 60:11.1f} /min"
                  f"{'' if label.startswith('plain') else f'  ({nbg / total:.1f}x nbgrader)'}")
        print(f"  {'+ gradebook and HTML feedback (serial)':44s} {book:7.1f}s {book / students:14.2f}s")
        print(f"  warm workers, every job in namespaces of its own: {nbg / two:.1f}x plain nbgrader (target >= 6x); "
              f"a new worker per job instead: {nbg / restart:.1f}x")
        wall, run = statistics.median(walls), statistics.median(runs)
        print(f"  one warm worker, in-process: {wall:.2f} s per submission, of which the notebook ran "
              f"{run:.2f} s: grading overhead {wall - run:.2f} s (target < 0.5 s)")



def _timed_results(cmd, cwd, env) -> tuple[float, list[float], subprocess.CompletedProcess]:
    """Run a grade-class (without --quiet) and time it: (total seconds, when each result's line came, the run).

    grade-class prints a line per graded submission ("[k/n] ...") as it is written: the times between
    the first and the last of them are the run's steady throughput, without its fixed start (Python,
    the workers' import of torch, the references) and end."""
    import re

    busy = _busy()  # (None: no /proc)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    times, lines = [], []
    marks = []  # the machine's busy CPU-seconds at each result: cores used in the steady part
    for line in proc.stderr:
        lines.append(line)
        if re.match(r"^\[\d+/\d+\] ", line):
            times.append(time.perf_counter() - started)
            marks.append(_busy())
    out = proc.stdout.read()
    proc.wait()
    total = time.perf_counter() - started
    cores = float("nan")
    if busy is not None and len(times) > 1 and times[-1] > times[0]:
        cores = (marks[-1] - marks[0]) / (times[-1] - times[0])
    return total, times, subprocess.CompletedProcess(cmd, proc.returncode, out, "".join(lines)), cores


def _busy() -> float | None:
    """CPU-seconds this machine has spent busy since it started (all processes, /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _machine_efficiency(seconds: float = 2.0) -> float:
    """How much of 2x one process's speed this machine gives two at once: loops per second of two concurrent
    CPU-bound processes, against twice one alone (1.0 on 2 free cores)."""
    loop = ("import time\nend = time.perf_counter() + {s}\nn = 0\nwhile time.perf_counter() < end:\n"
            "    n += sum(range(200))\nprint(n)").format(s=seconds)

    def rate(copies: int) -> float:
        procs = [subprocess.Popen([sys.executable, "-c", loop], stdout=subprocess.PIPE, text=True)
                 for _ in range(copies)]
        return sum(int(p.communicate()[0]) for p in procs) / seconds

    one = rate(1)
    return rate(2) / (2 * one) if one else 0.0


def _steady(times: list[float]) -> float:
    """Submissions per hour between the first result and the last (0 if fewer than 2)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0]) * 3600


def _start(argv, log: Path, env) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env=env, cwd=log.parent,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _cpu_cage(name: str, cpus: float) -> Path | None:
    """A new cgroup that lets its processes use at most `cpus` cores (cgroup v1's cpu controller or v2's cpu.max),
    or None when this process cannot make one (not root, no cpu controller)."""
    period = 100_000
    try:
        v1 = Path("/sys/fs/cgroup/cpu")
        if (v1 / "cpu.cfs_quota_us").exists():
            cage = v1 / name
            cage.mkdir(exist_ok=True)
            (cage / "cpu.cfs_period_us").write_text(str(period))
            (cage / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
            return cage
        v2 = Path("/sys/fs/cgroup")
        if "cpu" in (v2 / "cgroup.subtree_control").read_text().split():
            cage = v2 / name
            cage.mkdir(exist_ok=True)
            (cage / "cpu.max").write_text(f"{int(cpus * period)} {period}")
            return cage
    except OSError:
        return None
    return None


def _dask_workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return len(client.scheduler_info(n_workers=-1)["workers"])


def bench_scale_out(solution: Path, students: int, nbgrader_subset: int = 12) -> None:
    """One class graded by plain nbgrader (a subset, extrapolated), the local pool and Dask, at 1 and 2 workers."""
    import json
    import shutil

    from .grade import grade_notebook
    from .worker import Worker

    assignment = solution.parent.name
    bin_dir = Path(sys.executable).parent
    print(f"\nscale-out: a class of {students} submissions of {assignment}/{solution.name} (honest and unfinished), "
          f"{os.cpu_count()} CPU cores shared with whatever else runs here (figures are noisy)")
    procs, on_workers, used, client_cpu, cages, capped = [], "", {}, {}, [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                   AUTOGRADER_CACHE=str(tmp / "cache"))
        os.environ["AUTOGRADER_CACHE"] = env["AUTOGRADER_CACHE"]
        roots = {}
        for name in ("all", "subset"):
            root = roots[name] = tmp / name
            shutil.copytree(SOLUTIONS / assignment, root / "solutions" / assignment)
            shutil.copytree(ROOT / "course" / assignment, root / "course" / assignment)
            shutil.copy(ROOT / "nbgrader_config.py", root)
            subprocess.run(["nbgrader", "generate_assignment", assignment, "--force"], cwd=root, env=env,
                           capture_output=True, check=True)
        submitted = roots["all"] / "grading" / "submitted"
        paths = make_class(solution, submitted, students)
        subset = min(nbgrader_subset, students)
        for k in range(subset):
            shutil.copytree(submitted / f"student{k:02d}", roots["subset"] / "grading" / "submitted" / f"student{k:02d}")
        # the students' own compute: the notebook's run inside a warm worker, over a sample of the class
        runs = []
        with Worker(sandboxed=True) as worker:
            for path in paths[:10]:
                runs.append(grade_notebook(path, worker=worker).run_seconds)
        compute = statistics.mean(runs)

        rows = []
        seconds, proc = _timed(["nbgrader", "autograde", assignment, "--force"], roots["subset"], env)
        if proc.returncode != 0:
            print(f"  nbgrader autograde failed: {proc.stderr.strip().splitlines()[-1:]}")
        rows.append((f"plain nbgrader autograde ({subset} of {students}, x{students / subset:.1f})", 1,
                     seconds * students / subset, seconds))
        # (each run prints a line per result, timed as it comes: see _timed_results)
        grade_class = [sys.executable, "-m", "autograder", "grade-class", str(submitted), "--solutions",
                       str(roots["all"] / "solutions"), "--force", "--no-gradebook"]
        for n in (1, 2):
            seconds, times, proc, cores = _timed_results(grade_class + ["--workers", str(n), "--out",
                                                                        str(tmp / f"local{n}")], tmp, env)
            if proc.returncode != 0:
                print(f"  grade-class failed: {proc.stderr.strip().splitlines()[-1:]}")
            rows.append((f"grade-class, local pool --workers {n}", n, seconds, times))
            used[n] = cores
        try:
            info = tmp / "scheduler.json"
            procs.append(_start([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", str(info)], tmp / "scheduler.log", env))
            deadline = time.monotonic() + 60
            while not info.exists() or not info.read_text().strip().endswith("}"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Dask scheduler did not start")
                time.sleep(0.2)
            address = json.loads(info.read_text())["address"]
            worker = [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard", "--name"]

            def one_more_worker(n: int, name: str, wrapper: list) -> tuple[float, list]:
                """Start worker number n (argv after `wrapper`), wait for it, grade the class on the cluster."""
                (tmp / name).mkdir()
                procs.append(_start([*wrapper, *worker, name], tmp / name / "worker.log", env))
                deadline = time.monotonic() + 120
                while _dask_workers(address) < n:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the Dask workers did not start")
                    time.sleep(0.5)
                seconds, times, proc, _ = _timed_results(grade_class + ["--scheduler", address, "--out",
                                                                        str(tmp / f"{name}-out")], tmp, env)
                if proc.returncode != 0:
                    print(f"  grade-class --scheduler failed: {proc.stderr.strip().splitlines()[-1:]}")
                return seconds, times

            for n in (1, 2):
                seconds, times = one_more_worker(n, f"dask{n}", [])
                rows.append((f"grade-class --scheduler, {n} Dask worker{'s' if n > 1 else ''}", n, seconds, times))
            # with the gradebook step, which runs on the client while the workers grade
            cpu = _children_cpu()
            recorded, proc = _timed(grade_class[:-1] + ["--quiet", "--scheduler", address], roots["all"], env)
            client_cpu["dask"] = _children_cpu() - cpu
            if proc.returncode != 0:
                print(f"  grade-class --scheduler failed: {proc.stderr.strip().splitlines()[-1:]}")
            on_workers = next((line for line in proc.stdout.splitlines() if "Dask workers" in line), "")
            # workers as on machines of their own: each capped at half a core by a cgroup of its own (as a CPU
            # limit on Kubernetes), so that 2 of them never compete with each other or the client for cores
            for proc_ in procs[1:]:
                _stop(proc_)
            del procs[1:]
            while _dask_workers(address):
                time.sleep(0.2)
            for n in (1, 2):
                cage = _cpu_cage(f"rnn-bench-{os.getpid()}-w{n}", 0.5)
                if cage is None:
                    break
                cages.append(cage)
                capped[n] = one_more_worker(n, f"capped{n}", ["sh", "-c", f'echo $$ > "{cage}/cgroup.procs" && '
                                                             f'exec "$@"', "sh"])
        finally:
            for proc in reversed(procs):
                _stop(proc)
            for cage in cages:  # (empty once the graders, which die with their worker, are gone)
                for _ in range(50):
                    try:
                        cage.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.2)
        same = all((tmp / "local2" / "class-grades.csv").read_text() == (tmp / d / "class-grades.csv").read_text()
                   for d in ("local1", "dask1-out", "dask2-out"))
        # the gradebook step alone: nbgrader's gradebook and the feedback pages of the whole class, results reused
        shutil.rmtree(roots["all"] / "grading" / "results", ignore_errors=True)  # (the Dask run's, recorded)
        shutil.copytree(tmp / "local2" / "results", roots["all"] / "grading" / "results")
        cpu = _children_cpu()
        book, _ = _timed(grade_class[:-2] + ["--quiet", "--workers", "2"], roots["all"], env)
        client_cpu["book"] = _children_cpu() - cpu

    print(f"  {'grader':50s} {'workers':>7s} {'total':>8s} {'subs/hour':>10s} {'per sub':>8s} {'overhead/sub':>13s}"
          f" {'start':>7s} {'steady subs/hour':>17s}")
    steady = {}
    for label, n, total, times in rows:
        if label.startswith("plain"):
            print(f"  {label:50s} {n:7d} {total:7.1f}s {students / total * 3600:10.0f} {total / students:7.2f}s "
                  f"{total * n / students - compute:12.2f}s")
            continue
        steady[label] = _steady(times)
        per = 3600 / steady[label] if steady[label] else total / students
        print(f"  {label:50s} {n:7d} {total:7.1f}s {students / total * 3600:10.0f} {total / students:7.2f}s "
              f"{per * n - compute:12.2f}s {(times or [total])[0]:6.1f}s {steady[label]:17.0f}")
    thr = {label: students / total * 3600 for label, _, total, _ in rows}
    local1, local2 = thr["grade-class, local pool --workers 1"], thr["grade-class, local pool --workers 2"]
    dask1, dask2 = thr["grade-class --scheduler, 1 Dask worker"], thr["grade-class --scheduler, 2 Dask workers"]
    print(f"  (overhead/sub: worker-seconds per submission beyond the student's own compute, {compute:.2f} s on average, "
          f"measured in-process, at the steady rate; start: when the first result came; steady: between the first "
          f"result and the last)")
    print(f"  Dask at 2 workers / local pool at 2: {dask2 / local2:.2f} (target >= 0.85); scaling efficiency "
          f"(throughput at 2 / 2 x at 1): local {local2 / (2 * local1):.2f}, Dask {dask2 / (2 * dask1):.2f} "
          f"(target >= 0.85); same CSV from every run: {same}")
    sl1, sl2 = steady["grade-class, local pool --workers 1"], steady["grade-class, local pool --workers 2"]
    sd1, sd2 = steady["grade-class --scheduler, 1 Dask worker"], steady["grade-class --scheduler, 2 Dask workers"]
    print(f"  steady state (from the first result to the last, without a run's fixed start): Dask at 2 / local at 2: "
          f"{sd2 / sl2:.2f}; scaling efficiency: local {sl2 / (2 * sl1):.2f}, Dask {sd2 / (2 * sd1):.2f} (target >= 0.85)")
    print(f"  this machine's own ceiling: {_machine_efficiency():.2f} (two copies of a CPU-bound Python loop, each on "
          f"its own process, against twice one alone: what 2 cores that are shared or virtual give)")
    if used.get(1, 0) > 0:
        cores = os.cpu_count() or 1
        print(f"  cores busy in the steady part of the local runs: {used[1]:.2f} at 1 worker (the client reading and scoring, the "
              f"worker supervising and the notebook running partly at once), {used.get(2, 0):.2f} at 2; so on "
              f"{cores} cores, 2 workers can give at most {min(1.0, cores / (2 * used[1])):.2f} of twice the "
              f"throughput of 1 here (machines of their own for the workers lift this bound)")
    print(f"  the gradebook step (nbgrader's gradebook + HTML feedback, {students} submissions, results reused): "
          f"{book:.1f} s, {book / students:.2f} s per submission")
    print(f"  grade-class --scheduler with 2 Dask workers and the gradebook step (recorded on the client while "
          f"the workers grade, feedback pages written by the workers): {recorded:.1f} s (grading alone "
          f"{rows[-1][2]:.1f} s + the step alone {book:.1f} s); {on_workers or 'no feedback pages on the workers'}")
    if len(capped) == 2:
        (t1, times1), (t2, times2) = capped[1], capped[2]
        s1, s2 = _steady(times1), _steady(times2)
        print(f"  Dask workers capped at half a core each (a cgroup CPU quota each, as on machines or Kubernetes pods "
              f"of their own): 1 worker {students / t1 * 3600:.0f}/h whole run, {s1:.0f}/h steady; 2 workers "
              f"{students / t2 * 3600:.0f}/h, {s2:.0f}/h: scaling efficiency {students / t2 / (2 * students / t1):.2f} "
              f"over the whole run, {s2 / (2 * s1):.2f} steady (target >= 0.85)")
    else:
        print("  (Dask workers capped at half a core each: skipped, this needs root and the cgroup cpu controller)")
    if client_cpu.get("book") and client_cpu.get("dask"):
        print(f"  the client's CPU per submission for the gradebook step: {client_cpu['book'] / students:.2f} s when "
              f"it writes the feedback pages itself (results reused), {client_cpu['dask'] / students:.2f} s for the "
              f"whole Dask run with the workers writing them (grading included): what one course machine pays")
    per_core = sd2 / 2
    client = client_cpu.get("dask", book) / students  # CPU-seconds of the client per submission on a cluster
    print(f"  capacity (steady state, Dask at 2): ~{per_core:.0f} submissions of this notebook per hour per worker core; "
          f"a 10,000-student course needs {10000 / per_core:.1f} core-hours per notebook graded, e.g. "
          f"{10000 / per_core / 20 * 60:.0f} min on 20 cores; the client's own work (recording in nbgrader's gradebook, "
          f"one submission after another, while the workers grade) is {client:.2f} s per submission, "
          f"{10000 * client / 3600:.1f} h per 10,000")


if __name__ == "__main__":
    sys.exit(main())
