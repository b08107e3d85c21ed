"""`make bench`: per notebook, how long the solution takes to run and to grade (medians, seconds).

- run: bare execution of the solution notebook with nbclient (kernel start included), as a learner
  runs it top to bottom;
- grade: `python -m autograder grade` on the released notebook with the solution's answers spliced
  in (a perfect submission), as a separate process, reference cache warm;
- grade (cold): the same with an empty reference cache, the first grade of an assignment.
- parts: the run times summed per part of the course (Part I, nn.RNN: target 90 s).
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
    args = parser.parse_args(argv)
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



if __name__ == "__main__":
    sys.exit(main())
