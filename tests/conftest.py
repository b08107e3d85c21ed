"""Shared fixtures: paths, and submissions built from the *released* notebooks.

A submission is the student notebook from course/ with answers spliced into its answer cells,
exactly what a learner hands in (the raw solution notebook differs: it has the hidden tests).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
VENV_BIN = Path(sys.executable).parent

SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


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


def solution_answers(solution: Path) -> dict[str, str]:
    """{grade_id: source} of every answer cell, as a learner who wrote the solution would have it."""
    answers = {}
    for cell in load(solution)["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = SOLUTION_REGION.sub("", source(cell))
    return answers


def make_submission(solution: Path, dest: Path, overrides: dict[str, str] | None = None,
                    answers: dict[str, str] | None = None) -> Path:
    """The released notebook with answers spliced in (the solution's unless overridden)."""
    nb = load(release_of(solution))
    chosen = dict(solution_answers(solution) if answers is None else answers)
    chosen.update(overrides or {})
    for cell in nb["cells"]:
        g = gid(cell)
        if g in chosen:
            cell["source"] = chosen[g]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return dest


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
    os.environ["AUTOGRADER_CACHE"] = str(tmp_path_factory.mktemp("reference-cache"))
    yield
