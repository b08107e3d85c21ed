"""`nbgrader autograde` and `python -m autograder grade` give honest submissions the same scores, cell by cell."""
import html
import re
import shutil

import pytest

from autograder.grade import grade_notebook
from catalog import WRONG_01, expected_01
from conftest import COURSE, ROOT, SOLUTIONS, make_submission, run

pytestmark = pytest.mark.slow
STUDENTS = {"correct": {}, "blank": None, "forgot_b_hh": WRONG_01["forgot_b_hh"][0],
            "output_as_h_n": WRONG_01["output_as_h_n"][0], "wrong_letters": WRONG_01["wrong_letters"][0]}


def test_nbgrader_autograde_agrees_with_the_grader(first_solution, tmp_path, worker):
    root = tmp_path / "course-root"
    shutil.copytree(SOLUTIONS, root / "solutions")
    shutil.copytree(COURSE, root / "course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    assignment, name = first_solution.parent.name, first_solution.name
    ours = {}
    for student, overrides in STUDENTS.items():
        dest = root / "grading" / "submitted" / student / assignment / name
        if overrides is None:
            dest.parent.mkdir(parents=True)
            shutil.copy(COURSE / assignment / name, dest)
        else:
            make_submission(first_solution, dest, overrides)
        (dest.parent / "timestamp.txt").write_text("2026-11-22 12:00:00.000000 UTC")
        result = grade_notebook(dest, worker=worker)  # one warm worker for the class, as grade-class does
        ours[student] = {t.grade_id: t.score for t in result.tests if not t.manual}

    proc = run(["nbgrader", "generate_assignment", assignment, "--force"], cwd=root)
    assert proc.returncode == 0, proc.stderr
    proc = run(["nbgrader", "autograde", assignment], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            nb = gb.find_submission_notebook(first_solution.stem, assignment, student)
            theirs = {g.name: g.auto_score for g in nb.grades if g.cell_type == "code" and g.name.startswith("test_")}
            assert theirs == ours[student], student
    assert ours["correct"] == expected_01("forgot_b_hh") | {"test_rnn_step": 3.0, "test_rnn_forward": 4.0}
    assert sum(ours["blank"].values()) == 0

    # the rest of the classroom workflow: feedback without hidden tests, and the CSV export
    proc = run(["nbgrader", "generate_feedback", assignment], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    visible = 'check.choice("mcq_rnn_purpose is one letter A-D", got=lambda: mcq_rnn_purpose, weight=0)'
    hidden = 'check.choice("mcq_rnn_purpose is the right answer", got=lambda: mcq_rnn_purpose, want="A",'
    for student in STUDENTS:
        page = (root / "grading" / "feedback" / student / assignment / f"{first_solution.stem}.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert visible in text, "the search must find visible test source (else it proves nothing)"
        assert hidden not in text and "BEGIN HIDDEN" not in text, f"feedback of {student} shows a hidden test"
    proc = run(["nbgrader", "export"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    csv = (root / "grading" / "grades.csv").read_text().splitlines()
    assert len(csv) == 1 + len(STUDENTS) and not (root / "grades.csv").exists()
    assert not (root / "gradebook.db").exists()
