"""Fair grading, both ways: valid answers in other styles score full marks; mistakes cost what they should.

The catalogs live in tests/catalog.py (notebook 01) and tests/catalog_NN.py (see their docstrings).
"""
import re

import pytest

from autograder.grade import grade_notebook
from catalog import CATALOGS, FUNDAMENTAL_CATALOGS, MAX_FUNDAMENTAL_SHARE, VALID_CATALOGS, kept_share
from conftest import SOLUTIONS, gid, load, make_submission, source

MIN_VALID_STYLES = 3


def code_exercises(solution: str) -> list[str]:
    """Answer cells that hold code (everything but the multiple-choice letters and written answers)."""
    return [gid(c) for c in load(SOLUTIONS / solution)["cells"]
            if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")
            and not gid(c).startswith("mcq_")]


@pytest.mark.parametrize("solution", sorted(CATALOGS), ids=lambda s: s.split("/")[0])
def test_every_code_exercise_has_valid_answers_in_three_styles(solution):
    valid = VALID_CATALOGS[solution]
    answers = {gid(c) for c in load(SOLUTIONS / solution)["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for style, overrides in valid.items():
        assert set(overrides) <= answers, f"{style} overrides cells that are not answer cells"
    solution_src = {gid(c): source(c) for c in load(SOLUTIONS / solution)["cells"]}
    for exercise in code_exercises(solution):
        styles = [s for s, o in valid.items() if exercise in o]
        assert len(styles) >= MIN_VALID_STYLES, f"{exercise}: valid answers in {len(styles)} styles {styles}"
        bodies = {re.sub(r"\s+", "", valid[s][exercise]) for s in styles}
        assert len(bodies) == len(styles), f"{exercise}: two styles give the same answer"
        assert re.sub(r"\s+", "", solution_src[exercise].replace("### BEGIN SOLUTION", "").replace(
            "### END SOLUTION", "")) not in bodies, f"{exercise}: a 'valid style' is the solution itself"


@pytest.mark.parametrize("solution", sorted(CATALOGS), ids=lambda s: s.split("/")[0])
def test_every_catalogued_mistake_costs_points(solution):
    full, wrong = CATALOGS[solution]
    for name, (_, changed) in wrong.items():
        assert changed and all(changed[t] < full[t] for t in changed), f"{name} must lose points in every cell it lists"


@pytest.mark.parametrize("solution", sorted(CATALOGS), ids=lambda s: s.split("/")[0])
def test_a_fundamental_mistake_keeps_a_small_share(solution):
    fundamental = FUNDAMENTAL_CATALOGS[solution]
    assert fundamental, "name the catalogued mistakes that get an exercise fundamentally wrong"
    assert fundamental <= set(CATALOGS[solution][1])
    kept = {name: kept_share(solution, name) for name in fundamental}
    assert all(share <= MAX_FUNDAMENTAL_SHARE for share in kept.values()), kept


VALID = [(sol, style) for sol, valid in VALID_CATALOGS.items() for style in sorted(valid)]


@pytest.mark.slow
@pytest.mark.parametrize("solution,style", VALID, ids=[f"{s.split('/')[0][:2]}-{st}" for s, st in VALID])
def test_valid_answers_score_full_marks(solution, style, tmp_path, worker):
    path = SOLUTIONS / solution
    sub = make_submission(path, tmp_path / path.parent.name / path.name, VALID_CATALOGS[solution][style])
    result = grade_notebook(sub, worker=worker)
    full = CATALOGS[solution][0]
    scores = {t.grade_id: t.score for t in result.tests if not t.manual}
    assert scores == full, [line for t in result.tests for line in t.lines if "✗" in line]


def test_the_readme_reports_what_the_catalogs_hold():
    from catalog import fairness_report
    from conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- fairness-table")[1].split("-->", 1)[1].split("<!-- /fairness-table -->")[0]
    assert table.strip().splitlines() == fairness_report(), "regenerate the README's fairness table from tests/catalog*.py"
