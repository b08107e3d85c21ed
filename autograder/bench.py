"""`make bench`: per notebook, how long the solution takes to run and to grade (medians, seconds).

- run: bare execution of the solution notebook with nbclient (kernel start included), as a learner
  runs it top to bottom;
- grade: `python -m autograder grade` on the released notebook with the solution's answers spliced
  in (a perfect submission), as a separate process, reference cache warm;
- grade (cold): the same with an empty reference cache, the first grade of an assignment.
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

from .build import SOLUTIONS
from .notebooks import solution_notebooks
from .submissions import make_submission

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
    args = parser.parse_args(argv)
    print(f"{'notebook':42s} {'run':>8s} {'grade':>8s} {'grade (cold)':>13s}  result")
    runs_total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for solution in solution_notebooks(SOLUTIONS):
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
            name = f"{solution.parent.name}/{solution.name}"
            print(f"{name:42s} {run:7.1f}s {statistics.median(warm):7.1f}s {statistics.median(cold):12.1f}s  {total}")
    print(f"\nmedians of {args.repeat} runs; all notebooks run in {runs_total:.1f} s in total "
          f"(target: 20 s per notebook on 2 CPU cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
