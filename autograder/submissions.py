"""Building submissions from released notebooks (for tests, benchmarks and instructors' dry runs).

A realistic submission is the *released* notebook with answers spliced into its answer cells,
exactly what a learner hands in; the raw solution notebook differs (it carries the hidden tests).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .notebooks import grade_id, nbgrader_meta, read_notebook, source_of

SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def solution_answers(solution: Path) -> dict[str, str]:
    """{grade_id: source} of every answer cell, as a learner who wrote the solution would have it."""
    return {grade_id(c): SOLUTION_REGION.sub("", source_of(c))
            for c in read_notebook(solution)["cells"] if nbgrader_meta(c).get("solution")}


def splice(release: Path, dest: Path, answers: dict[str, str]) -> Path:
    """Write `release` to `dest` with the answer cells named in `answers` replaced."""
    nb = read_notebook(release)
    for cell in nb["cells"]:
        if grade_id(cell) in answers:
            cell["source"] = answers[grade_id(cell)]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dest


def release_of(solution: Path, course_dir: Path | None = None) -> Path:
    course = Path(course_dir) if course_dir else Path(solution).resolve().parents[2] / "course"
    return course / Path(solution).parent.name / Path(solution).name


def make_submission(solution: Path, dest: Path, overrides: dict[str, str] | None = None) -> Path:
    """The released notebook with the solution's answers, some replaced by `overrides`."""
    answers = solution_answers(solution)
    answers.update(overrides or {})
    return splice(release_of(solution), dest, answers)
