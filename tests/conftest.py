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

from autograder.notebooks import revision_notebooks, solution_notebooks
from autograder.submissions import make_submission, solution_answers  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
VENV_BIN = Path(sys.executable).parent

def solution_paths():
    """The graded assignments' solution notebooks (the revision notebooks have tests of their own:
    tests/test_revision.py)."""
    return solution_notebooks(SOLUTIONS)


def revision_paths():
    return revision_notebooks(SOLUTIONS)


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
    os.environ["AUTOGRADER_TEST_SHARED"] = str(shared)  # notebooks executed once per session: tests/executed.py
    yield


@pytest.fixture(scope="module")
def worker():
    """One warm sandboxed worker per test module (as grade-class reuses workers): every job must leave
    nothing for the next."""
    from autograder.worker import Worker

    with Worker(sandboxed=True) as w:
        yield w


# -- how `make test` spreads the suite over processes (pytest-xdist, --dist loadgroup) ---------------
# A test module is one unit of work, so its module-scoped fixtures (a server, a warm grading worker)
# are made once; the modules that grade every notebook's catalog are split into a unit per notebook,
# so that every process stays busy to the end. Units are handed out heaviest first. The seconds below
# are a scheduling hint only, which can cost time when out of date, never a result.
SPLIT_BY_NOTEBOOK = {"test_grade.py", "test_valid_answers.py"}
MEASURED_SECONDS = {  # from a .ci/run-like run on 2026-12-07 (3 processes, --durations=0, summed per unit)
    "test_execution.py": 272, "test_hostile.py": 183, "test_dask.py": 140, "test_classroom_loop.py": 129,
    "test_browser.py": 129, "test_gradebook_postgres.py": 127, "test_isolation.py": 111, "test_readme.py": 106,
    "test_grade.py::08": 82, "test_classroom.py": 74, "test_nbgrader_agreement.py": 70, "test_grade.py::05": 62,
    "test_classgrade.py": 55, "test_grade.py::09": 54, "test_jupyterhub.py": 45, "test_grade.py::10": 31,
    "test_grade.py::07": 31, "test_grade.py": 28, "test_grade.py::11": 27, "test_course.py": 26,
    "test_gradescope.py": 25, "test_valid_answers.py::08": 24, "test_exchange.py": 23, "test_grade.py::06": 18,
    "test_grade.py::04": 15, "test_valid_answers.py::05": 14, "test_revision.py": 14, "test_runner_warm.py": 13,
    "test_grade.py::02": 12, "test_valid_answers.py::09": 12, "test_valid_answers.py::10": 12,
    "test_explorer.py": 11, "test_grade.py::03": 10, "test_valid_answers.py::07": 10, "test_grade.py::01": 9,
    "test_valid_answers.py::06": 8,
}


def _unit(item) -> str:
    module = item.path.name
    if getattr(item, "originalname", "") == "test_nbgrader_validate_passes_the_solution_and_fails_every_test_of_the_release":
        return "test_execution.py"  # judges test_execution's runs (tests/executed.py): one process, no waiting
    if module == "test_quoted_numbers.py":
        return "test_execution.py"  # reads test_execution's runs too
    params = getattr(getattr(item, "callspec", None), "params", {})
    solution = params.get("solution")
    if module in SPLIT_BY_NOTEBOOK and solution is not None:
        name = solution.parent.name if isinstance(solution, Path) else str(solution).split("/")[0]
        return f"{module}::{name[:2]}"
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # the controller has --dist loadgroup; xdist's worker processes see dist "no" and loadgroup True
    if config.getoption("dist", "no") != "loadgroup" and not getattr(config.option, "loadgroup", False):
        return
    units = {}
    for item in items:
        unit = _unit(item)
        item.add_marker(pytest.mark.xdist_group(unit))
        units.setdefault(unit, []).append(item)
    order = sorted(units, key=lambda u: -MEASURED_SECONDS.get(u, 0.05 * len(units[u])))
    items[:] = [item for unit in order for item in units[unit]]


def pytest_collection_finish(session):
    """Fail loudly when pytest-xdist did not group the tests (then a module's tests could run in two
    processes at once and race on its shared fixtures). pytest 9.2 broke this silently
    (pytest-dev/pytest-xdist#1386): requirements.txt pins pytest 9.1.1 until xdist is fixed."""
    config = session.config
    if getattr(config.option, "loadgroup", False) and config.getoption("dist", "no") == "no":
        ungrouped = [item.nodeid for item in session.items if "@" not in item.nodeid.rsplit("]", 1)[-1]]
        if ungrouped:
            raise pytest.UsageError(f"pytest-xdist did not group {len(ungrouped)} tests (e.g. {ungrouped[0]}): "
                                    "see pytest-dev/pytest-xdist#1386")
