"""Shared fixtures: paths, and submissions built from the *released* notebooks.

A submission is the student notebook from course/ with answers spliced into its answer cells,
exactly what a learner hands in (the raw solution notebook differs: it has the hidden tests).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.submissions import make_submission, solution_answers  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
VENV_BIN = Path(sys.executable).parent

def solution_paths():
    return sorted(SOLUTIONS.glob("*/*.ipynb"))


def release_of(solution: Path) -> Path:
    return COURSE / solution.parent.name / solution.name


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def source(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def run(cmd, cwd=ROOT, timeout=600, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update(kw.pop("env", {}))
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture(scope="session")
def first_solution() -> Path:
    return SOLUTIONS / "01_recurrence" / "01_the_rnn_recurrence.ipynb"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Reference caches of the test run live in a temporary folder, never the developer's."""
    # under pytest-xdist every process has a base folder of its own below one shared by the run: the
    # processes share the cache there (each file is written whole, then renamed into place)
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = shared / "reference-cache"
    cache.mkdir(exist_ok=True)
    os.environ["AUTOGRADER_CACHE"] = str(cache)
    yield


@pytest.fixture(scope="module")
def worker():
    """One warm sandboxed worker per test module (as grade-class reuses workers): every job must leave
    nothing for the next."""
    from autograder.worker import Worker

    with Worker(sandboxed=True) as w:
        yield w
