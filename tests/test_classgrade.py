"""`python -m autograder grade-class`: a folder of submissions in, results, CSV and gradebook out."""
import csv
import json
import shutil
import sys

import pytest

from autograder.classgrade import discover, grade_class
from autograder.notebooks import GradingInputError
from catalog import FULL_01, WRONG_01, expected_01
from conftest import COURSE, ROOT, SOLUTIONS, make_submission, run

ASSIGNMENT = "01_recurrence"
NAME = "01_the_rnn_recurrence"


def notebook(submitted, student, name=NAME):
    return submitted / student / ASSIGNMENT / f"{name}.ipynb"


def test_discover_follows_nbgrader_layout(tmp_path):
    sub = tmp_path / "submitted"
    for student in ("ann", "bob", ".hidden"):
        notebook(sub, student).parent.mkdir(parents=True)
        notebook(sub, student).write_text("{}")
    renamed = notebook(sub, "cy", "my copy of the notebook")
    renamed.parent.mkdir(parents=True)
    renamed.write_text("{}")
    (sub / "dan" / ASSIGNMENT).mkdir(parents=True)  # folder, no notebook
    (sub / "eve" / "not_an_assignment").mkdir(parents=True)
    (sub / "ann" / ASSIGNMENT / ".ipynb_checkpoints").mkdir()
    tasks = discover(sub, SOLUTIONS, None)
    assert [(t.student, t.notebook, t.path.name if t.path else None) for t in tasks] == [
        ("ann", NAME, f"{NAME}.ipynb"), ("bob", NAME, f"{NAME}.ipynb"),
        ("cy", NAME, "my copy of the notebook.ipynb"), ("dan", NAME, None),
        ("eve", NAME, None)]  # a folder, but none for the assignment: missing
    assert "renamed" in tasks[2].note
    assert discover(sub, SOLUTIONS, ["other"]) == []


def test_every_student_gets_a_row_for_every_assignment_graded(tmp_path):
    """Students on the roster without a folder, and students without a folder for one assignment, are missing."""
    sub = tmp_path / "submitted"
    notebook(sub, "ann").parent.mkdir(parents=True)
    notebook(sub, "ann").write_text("{}")
    other = sub / "bob" / "02_shapes" / "02_shapes_layers_and_errors.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    tasks = discover(sub, SOLUTIONS, None, roster=["ann", "zoe"])
    assert [(t.student, t.assignment, t.path is not None) for t in tasks] == [
        ("ann", ASSIGNMENT, True), ("ann", "02_shapes", False),
        ("bob", ASSIGNMENT, False), ("bob", "02_shapes", True),
        ("zoe", ASSIGNMENT, False), ("zoe", "02_shapes", False)]
    assert [(t.student, t.path is not None) for t in discover(sub, SOLUTIONS, [ASSIGNMENT], roster=["zoe"])] == [
        ("ann", True), ("bob", False), ("zoe", False)]
    assert discover(sub, SOLUTIONS, ["03_bidirectional"], roster=["zoe"]) == []  # nobody submitted it


def test_an_empty_or_missing_folder_is_bad_input(tmp_path):
    with pytest.raises(GradingInputError, match="no such folder"):
        grade_class(tmp_path / "nope", gradebook=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GradingInputError, match="no submissions found"):
        grade_class(tmp_path / "empty", gradebook=False)


def rows_of(path):
    with open(path, newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_a_class_is_graded_and_a_rerun_changes_nothing(first_solution, tmp_path):
    sub, out = tmp_path / "submitted", tmp_path / "out"
    make_submission(first_solution, notebook(sub, "honest"))
    make_submission(first_solution, notebook(sub, "wrong"), WRONG_01["forgot_b_hh"][0])
    make_submission(first_solution, notebook(sub, "crash"), {"mcq_rnn_io": "import os\nos._exit(1)\n"})
    notebook(sub, "broken").parent.mkdir(parents=True)
    notebook(sub, "broken").write_bytes(b"\xff\xfe not a notebook")
    (sub / "absent" / ASSIGNMENT).mkdir(parents=True)

    summary = grade_class(sub, out=out, workers=2, gradebook=False, quiet=True)
    assert summary["graded"] == 5 and summary["reused"] == 0 and summary["rows"] == 5
    rows = rows_of(out / "class-grades.csv")
    assert set(rows) == {"honest", "wrong", "crash", "broken", "absent"}
    assert rows["honest"]["auto_score"] == "19" and rows["honest"]["status"] == "graded"
    assert float(rows["wrong"]["auto_score"]) == pytest.approx(sum(expected_01("forgot_b_hh").values()))
    assert rows["wrong"][f"{NAME}/test_rnn_step"] == "0.5"
    assert float(rows["crash"]["auto_score"]) == sum(FULL_01.values()) - FULL_01["test_mcq_rnn_io"]
    assert rows["broken"]["status"] == "error" and "not UTF-8" in rows["broken"]["error"]
    assert rows["absent"]["status"] == "missing" and "not submitted" in rows["absent"]["error"]
    assert all((r["auto_max"], r["manual_max"], r["total_max"]) == ("19", "3", "22") for r in rows.values())
    assert all(r["manual_score"] == r["total_score"] == "" for r in rows.values())  # no gradebook, no manual grades
    result = json.loads((out / "results" / "crash" / ASSIGNMENT / f"{NAME}.json").read_text())
    assert result["score"] == 17 and "exited with status 1" in result["output"]

    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = grade_class(sub, out=out, workers=2, gradebook=False, quiet=True)
    assert again["graded"] == 0 and again["reused"] == 5
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    # an interrupted run: what was written stays, only what is missing or changed is graded
    (out / "results" / "honest" / ASSIGNMENT / f"{NAME}.json").unlink()
    make_submission(first_solution, notebook(sub, "wrong"))  # the student fixed the bug and resubmitted
    third = grade_class(sub, out=out, workers=1, gradebook=False, quiet=True)
    assert third["graded"] == 2 and third["reused"] == 3
    rows = rows_of(out / "class-grades.csv")
    assert rows["honest"]["auto_score"] == "19" and rows["wrong"]["auto_score"] == "19"


@pytest.mark.slow
def test_scores_reach_nbgrader_gradebook_and_feedback(first_solution, tmp_path):
    root = tmp_path / "course-root"
    shutil.copytree(SOLUTIONS, root / "solutions")
    shutil.copytree(COURSE, root / "course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    assert run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root).returncode == 0
    sub = root / "grading" / "submitted"
    make_submission(first_solution, notebook(sub, "honest"))
    make_submission(first_solution, notebook(sub, "wrong"), WRONG_01["forgot_b_hh"][0])
    proc = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "autograder", "grade-class", str(sub),
                "--solutions", str(root / "solutions"), "--workers", "2", "--quiet"])
    assert proc.returncode == 0, proc.stderr
    assert "recorded in nbgrader's gradebook with feedback: 2" in proc.stdout

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        honest = gb.find_submission(ASSIGNMENT, "honest")
        wrong = gb.find_submission_notebook(NAME, ASSIGNMENT, "wrong")
        assert honest.score == 19
        assert {g.name: g.auto_score for g in wrong.grades if g.auto_score is not None} == {
            k: pytest.approx(v) for k, v in expected_01("forgot_b_hh").items()}
    page = (root / "grading" / "feedback" / "wrong" / ASSIGNMENT / f"{NAME}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in page and "hint" in page

    # re-running without changes neither grades nor records anything again
    proc = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "autograder", "grade-class", str(sub),
                "--solutions", str(root / "solutions"), "--quiet"])
    assert proc.returncode == 0 and "0 graded now, 2 unchanged" in proc.stdout
    assert "recorded" not in proc.stdout.splitlines()[-1]



@pytest.mark.slow
def test_feedback_and_csv_follow_the_gradebook_and_its_roster(first_solution, tmp_path):
    """A manual grade entered after grading reaches the feedback and the CSV on a re-run that grades
    nothing; everyone on the gradebook's roster has a row."""
    from nbgrader.api import Gradebook

    root = tmp_path / "course-root"
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copytree(COURSE / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    assert run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root).returncode == 0
    db = (f"sqlite:///{root / 'grading' / 'gradebook.db'}", "rnn-course")  # (the course id of nbgrader_config.py)
    with Gradebook(*db) as gb:
        gb.add_student("zoe")  # enrolled, never submitted
    sub = root / "grading" / "submitted"
    make_submission(first_solution, notebook(sub, "honest"))  # its explanation awaits a human grader
    page = root / "grading" / "feedback" / "honest" / ASSIGNMENT / f"{NAME}.html"

    def grade():
        summary = grade_class(sub, solutions=root / "solutions", workers=1, quiet=True)
        return summary, rows_of(root / "grading" / "class-grades.csv")

    summary, rows = grade()
    assert summary["graded"] == 2 and summary["recorded"] == [f"honest/{ASSIGNMENT}"]  # (zoe: a missing row)
    assert rows["zoe"]["status"] == "missing" and rows["zoe"]["total_max"] == "22"
    honest = rows["honest"]
    assert (honest["auto_score"], honest["auto_max"], honest["manual_max"], honest["total_max"]) == ("19", "19", "3", "22")
    assert honest["manual_score"] == honest["total_score"] == honest[f"{NAME}/explain_rnn_step_by_step"] == ""
    assert "(Score: 19.0 / 22.0)" in page.read_text()

    with Gradebook(*db) as gb:  # what formgrader does when an instructor grades the explanation
        gb.find_grade("explain_rnn_step_by_step", NAME, ASSIGNMENT, "honest").manual_score = 2.5
        gb.find_comment("explain_rnn_step_by_step", NAME, ASSIGNMENT, "honest").manual_comment = "Name h_0."
        gb.db.commit()
    summary, rows = grade()
    assert summary["graded"] == 0 and summary["recorded"] == []
    assert summary["feedback_refreshed"] == [f"honest/{ASSIGNMENT}"]
    text = page.read_text()
    assert "(Score: 21.5 / 22.0)" in text and "Name h_0." in text
    honest = rows["honest"]
    assert (honest["auto_score"], honest["manual_score"], honest["total_score"]) == ("19", "2.5", "21.5")
    assert honest[f"{NAME}/explain_rnn_step_by_step"] == "2.5"
    with Gradebook(*db) as gb:
        assert gb.find_submission(ASSIGNMENT, "honest").score == 21.5  # as the gradebook has it

    before = {p: p.read_bytes() for p in (root / "grading").rglob("*") if p.is_file() and p.suffix != ".db"}
    summary, _ = grade()
    assert summary["graded"] == 0 and summary["recorded"] == [] and summary["feedback_refreshed"] == []
    assert {p: p.read_bytes() for p in (root / "grading").rglob("*") if p.is_file() and p.suffix != ".db"} == before


def test_the_default_solutions_are_the_course_folders_the_command_runs_from(tmp_path, monkeypatch):
    """Run from an instructor's course folder (nbgrader_config.py beside solutions/), grade-class and
    grade read that folder's solutions, not this repository's; elsewhere, the repository's."""
    from autograder.grade import REPO_DIR, default_solutions_dir

    monkeypatch.delenv("AUTOGRADER_SOLUTIONS", raising=False)
    course = tmp_path / "my-course"
    (course / "solutions").mkdir(parents=True)
    monkeypatch.chdir(course)
    assert default_solutions_dir() == REPO_DIR / "solutions"  # no nbgrader_config.py: not a course folder
    shutil.copy(ROOT / "nbgrader_config.py", course)
    assert default_solutions_dir() == course / "solutions"
    monkeypatch.chdir(tmp_path)
    assert default_solutions_dir() == REPO_DIR / "solutions"
    monkeypatch.setenv("AUTOGRADER_SOLUTIONS", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(course)
    assert default_solutions_dir() == tmp_path / "elsewhere"  # the variable wins
    # the command: a course folder without solutions for what was submitted says where it looked
    monkeypatch.delenv("AUTOGRADER_SOLUTIONS")
    make_submission(SOLUTIONS / "01_recurrence" / "01_the_rnn_recurrence.ipynb",
                    course / "grading" / "submitted" / "ann" / "01_recurrence" / "01_the_rnn_recurrence.ipynb")
    proc = run([sys.executable, "-m", "autograder", "grade-class", "grading/submitted", "--no-gradebook"],
               cwd=course)
    assert proc.returncode != 0 and f"with assignments from {course / 'solutions'}" in proc.stderr, proc.stderr
