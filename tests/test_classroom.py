"""autograder.classroom: our scores in nbgrader's gradebook and feedback, without running student code.

One temporary course root (solutions/, course/, nbgrader_config.py, `nbgrader generate_assignment`)
and a batch of submissions in a folder outside it; each is graded with grade_notebook and recorded.
"""
from __future__ import annotations

import contextlib
import csv
import html
import json
import math
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from autograder import classroom
from autograder.grade import CaseResult, grade_notebook
from autograder.grade import TestResult as Result  # (a name pytest would try to collect)
from autograder.notebooks import GradingInputError
from catalog import WRONG_01
from conftest import COURSE, ROOT, SOLUTIONS, VENV_BIN, load, make_submission, run, source

ASSIGNMENT = "01_recurrence"
# the explanation is unanswered in the blank notebook, and in the released notebook that stands in
# for a file nbgrader cannot read or process
UNANSWERED = ("blank", "damaged", "deleted_answer_and_test")
TIMESTAMP = "2026-11-22 12:00:00.000000 UTC"


# -- fast: the outputs that carry a score --------------------------------------------------------------

def _test_cell(points: float, outputs: list):
    from nbformat.v4 import new_code_cell

    cell = new_code_cell("check.score()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": "test_x",
                                 "points": points, "schema_version": 3}
    cell.outputs = outputs
    return cell


@pytest.mark.parametrize("score", [0.0, 0.01, 0.33, 0.5, 0.67, 1.0, 1.33, 1.5, 2.99, 2.999999, 3.0])
def test_nbgrader_reads_exactly_our_score(score):
    from nbgrader.utils import determine_grade

    test = Result("test_x", "x", score, 3.0, [CaseResult("a", score == 3.0, "" if score == 3.0 else "wrong")])
    assert determine_grade(_test_cell(3, classroom.graded_cell_outputs(test, 3.0))) == (score, 3.0)


@pytest.mark.parametrize("score, expected", [(-1.0, 0.0), (3.5, 3.0), (math.nan, 0.0), (math.inf, 0.0)])
def test_out_of_range_scores_are_clamped_not_turned_into_full_marks(score, expected):
    from nbgrader.utils import determine_grade

    test = Result("test_x", "x", score, 3.0)
    assert determine_grade(_test_cell(3, classroom.graded_cell_outputs(test, 3.0)))[0] == expected


def test_a_missing_result_scores_zero_with_the_reason():
    from nbgrader.utils import determine_grade

    outputs = classroom.graded_cell_outputs(None, 3.0, "not graded: the file is damaged")
    assert determine_grade(_test_cell(3, outputs)) == (0, 3.0)
    assert outputs[0]["output_type"] == "error" and "damaged" in outputs[0]["evalue"]
    manual = Result("explain_x", "x", 0.0, 3.0, manual=True)
    assert determine_grade(_test_cell(3, classroom.graded_cell_outputs(manual, 3.0)))[0] == 0


def test_bad_names_are_refused(tmp_path):
    for student in ["", " s", "a/b", ".."]:
        with pytest.raises(ValueError):
            classroom.record(tmp_path, tmp_path, student, ASSIGNMENT, {})
    with pytest.raises(ValueError):
        classroom.record(tmp_path, tmp_path, "s", "a+b", {})  # nbgrader refuses '+' in assignment names


def test_reading_the_roster_or_grades_changes_no_gradebook(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs alembic
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    db = tmp_path / "grading" / "gradebook.db"
    assert classroom.roster(tmp_path) == [] and classroom.gradebook_states(tmp_path, [("s", ASSIGNMENT)]) == {}
    assert not db.exists(), "reading created a gradebook"
    with Gradebook(f"sqlite:///{db}", "rnn-course") as gb:  # the course id of nbgrader_config.py
        gb.add_student("zoe")
        gb.add_student("ann")
    before = db.read_bytes()
    assert classroom.roster(tmp_path) == ["ann", "zoe"]
    assert classroom.gradebook_states(tmp_path, [("zoe", ASSIGNMENT)]) == {}  # no submission
    assert db.read_bytes() == before, "reading changed the gradebook (e.g. added a course)"


# -- slow: a whole class -------------------------------------------------------------------------------

# appended to a correct answer: harmless where it cannot write (the sandbox), a marker where it runs
MARKER_CODE = ("\ntry:\n    import pathlib\n    pathlib.Path({path!r}).write_text('student code ran')\n"
               "except OSError:\n    pass\n")


def _without_cell(nb_path: Path, grade_id: str) -> None:
    nb = load(nb_path)
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@contextlib.contextmanager
def no_execution():
    """Any kernel, notebook execution or child process started inside fails the test."""
    import jupyter_client.manager
    import nbclient.client
    from nbgrader.preprocessors import Execute

    def refuse(*args, **kwargs):
        raise AssertionError("record() tried to execute code")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Execute, "preprocess", refuse)
        mp.setattr(nbclient.client.NotebookClient, "execute", refuse)
        mp.setattr(nbclient.client.NotebookClient, "async_execute", refuse)
        mp.setattr(jupyter_client.manager.KernelManager, "start_kernel", refuse)
        mp.setattr(jupyter_client.manager.AsyncKernelManager, "start_kernel", refuse)
        mp.setattr(subprocess.Popen, "__init__", refuse)
        mp.setattr(os, "fork", refuse)
        yield


class Class:
    """The course root, the submissions, our results and what recording them took."""

    def __init__(self, root: Path, submitted: Path, solution: Path):
        self.root, self.submitted, self.solution = root, submitted, solution
        self.name = solution.stem
        self.results, self.errors, self.timings = {}, {}, []
        self.marker = root.parent / "marker.txt"

    @property
    def db(self) -> str:
        return f"sqlite:///{self.root / 'grading' / 'gradebook.db'}"

    def record(self, student: str) -> float:
        results = {self.name: self.results[student]} if student in self.results else {}
        errors = {self.name: self.errors[student]} if student in self.errors else None
        started = time.perf_counter()
        with no_execution():
            classroom.record(self.root, self.submitted, student, ASSIGNMENT, results, errors)
        return time.perf_counter() - started


@pytest.fixture(scope="module")
def klass(first_solution, tmp_path_factory) -> Class:
    base = tmp_path_factory.mktemp("classroom")
    root = base / "course-root"
    shutil.copytree(SOLUTIONS, root / "solutions")
    shutil.copytree(COURSE, root / "course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    proc = run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root)
    assert proc.returncode == 0, proc.stderr

    # submissions anywhere, under a path that is neither a plain glob nor a plain regex
    k = Class(root, base / "incoming (term 1) [batch+2]", first_solution)
    name = first_solution.name
    answers = {"correct": {}, "forgot_b_hh": WRONG_01["forgot_b_hh"][0], "wrong_letters": WRONG_01["wrong_letters"][0],
               "marker": {"make_rnn": source_answer(first_solution, "make_rnn") + MARKER_CODE.format(path=str(k.marker))}}
    for student, overrides in answers.items():
        make_submission(first_solution, k.submitted / student / ASSIGNMENT / name, overrides)
    blank = k.submitted / "blank" / ASSIGNMENT / name
    blank.parent.mkdir(parents=True)
    shutil.copy(COURSE / ASSIGNMENT / name, blank)
    make_submission(first_solution, k.submitted / "deleted_test" / ASSIGNMENT / name)
    _without_cell(k.submitted / "deleted_test" / ASSIGNMENT / name, "test_rnn_step")
    # a learner deleted an answer cell and its test cell: nbgrader's add_missing_cells fails (KeyError)
    make_submission(first_solution, k.submitted / "deleted_answer_and_test" / ASSIGNMENT / name)
    for grade_id in ("rnn_step", "test_rnn_step"):
        _without_cell(k.submitted / "deleted_answer_and_test" / ASSIGNMENT / name, grade_id)
    damaged = k.submitted / "damaged" / ASSIGNMENT / name
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"cells": [', encoding="utf-8")
    for d in k.submitted.iterdir():
        (d / ASSIGNMENT / "timestamp.txt").write_text(TIMESTAMP)
    # a link to an instructor's file, which nbgrader would copy into autograded/ and feedback/
    (k.submitted / "correct" / ASSIGNMENT / "leak.dat").symlink_to(root / "solutions" / ASSIGNMENT / name)

    for d in sorted(k.submitted.iterdir()):
        try:
            k.results[d.name] = grade_notebook(d / ASSIGNMENT / name, solutions_dir=root / "solutions")
        except GradingInputError as exc:
            k.errors[d.name] = str(exc)
    k.marker.unlink(missing_ok=True)  # (only an unsandboxed grader can write it)

    for d in sorted(k.submitted.iterdir()):
        k.timings.append(k.record(d.name))
    print("record() timings:", ", ".join(f"{t:.2f} s" for t in k.timings))
    return k


def source_answer(solution: Path, grade_id: str) -> str:
    from autograder.submissions import solution_answers

    return solution_answers(solution)[grade_id]


def students(k: Class) -> list[str]:
    return sorted(d.name for d in k.submitted.iterdir())


@pytest.mark.slow
def test_the_fixture_grades_what_it_should(klass):
    assert set(klass.errors) == {"damaged"}
    assert klass.results["correct"].score == klass.results["correct"].max_auto == 19
    assert klass.results["blank"].score == 0
    assert {t.grade_id: t.score for t in klass.results["forgot_b_hh"].tests}["test_rnn_step"] == 0.5
    assert klass.results["deleted_test"].score == 19


@pytest.mark.slow
def test_every_grade_cell_has_our_score(klass):
    from nbgrader.api import Gradebook

    with Gradebook(klass.db) as gb:
        for student, result in klass.results.items():
            nb = gb.find_submission_notebook(klass.name, ASSIGNMENT, student)
            grades = {g.name: g for g in nb.grades}
            assert set(grades) == {t.grade_id for t in result.tests}, student
            for t in result.tests:
                g = grades[t.grade_id]
                if t.manual:
                    continue
                assert g.auto_score == t.score and g.max_score == t.max_score, (student, t.grade_id)
                assert not g.needs_manual_grade, (student, t.grade_id)
            assert nb.score == pytest.approx(result.score, abs=1e-9), student
            assert nb.max_score == result.max_auto + result.max_manual == 22
            explain = grades["explain_rnn_step_by_step"]
            if student in UNANSWERED:  # unanswered: nbgrader scores it 0 and asks nobody
                assert explain.auto_score == 0 and not explain.needs_manual_grade
            else:  # answered: waits for a human in formgrader
                assert explain.auto_score is None and explain.needs_manual_grade, student
        sub = gb.find_submission(ASSIGNMENT, "correct")
        assert sub.timestamp is not None and str(sub.timestamp).startswith("2026-11-22 12:00:00")
        assert sub.needs_manual_grade


@pytest.mark.slow
def test_a_damaged_file_shows_zero_and_why(klass):
    from nbgrader.api import Gradebook

    with Gradebook(klass.db) as gb:
        nb = gb.find_submission_notebook(klass.name, ASSIGNMENT, "damaged")
        assert nb.score == 0 and all(g.auto_score == 0 for g in nb.grades)
    autograded = load(klass.root / "grading" / "autograded" / "damaged" / ASSIGNMENT / f"{klass.name}.ipynb")
    assert "could not be graded" in source(autograded["cells"][0]) and "not valid JSON" in source(autograded["cells"][0])
    tests = [c for c in autograded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert len(tests) == 8
    for cell in tests:
        assert [o["output_type"] for o in cell["outputs"]] == ["error"]
        assert "not valid JSON" in cell["outputs"][0]["evalue"]


@pytest.mark.slow
def test_a_notebook_nbgrader_cannot_process_keeps_our_scores(klass):
    from nbgrader.api import Gradebook

    result = klass.results["deleted_answer_and_test"]
    assert result.score == 16  # rnn_step missing: its test fails; test_rnn_forward runs with a correct rnn_step (check.uses)
    with Gradebook(klass.db) as gb:
        nb = gb.find_submission_notebook(klass.name, ASSIGNMENT, "deleted_answer_and_test")
        assert {g.name: g.auto_score for g in nb.grades} == {t.grade_id: t.score for t in result.tests}
    autograded = load(klass.root / "grading" / "autograded" / "deleted_answer_and_test" / ASSIGNMENT / f"{klass.name}.ipynb")
    note = source(autograded["cells"][0])
    assert "nbgrader could not process the submitted notebook (KeyError" in note and "as released" in note


@pytest.mark.slow
def test_a_readable_notebook_without_a_result_scores_zero_with_the_reason(klass):
    from nbgrader.api import Gradebook

    with no_execution():
        classroom.record(klass.root, klass.submitted, "wrong_letters", ASSIGNMENT, {},
                         {klass.name: "cannot grade: a notebook of another assignment"})
    try:
        with Gradebook(klass.db) as gb:
            nb = gb.find_submission_notebook(klass.name, ASSIGNMENT, "wrong_letters")
            assert nb.score == 0
            assert gb.find_grade("explain_rnn_step_by_step", klass.name, ASSIGNMENT, "wrong_letters").needs_manual_grade
        autograded = load(klass.root / "grading" / "autograded" / "wrong_letters" / ASSIGNMENT / f"{klass.name}.ipynb")
        errors = [o for c in autograded["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert len(errors) == 8 and all("another assignment" in o["evalue"] for o in errors)
    finally:
        klass.record("wrong_letters")


@pytest.mark.slow
def test_no_student_code_ran(klass, tmp_path):
    assert klass.results["marker"].score == 19  # the marker line did not break the answer
    assert not klass.marker.exists(), "record() ran the student's code"
    # control: nbgrader's own autograde runs that code, so the probe would have seen it
    root = tmp_path / "control"
    shutil.copytree(klass.root, root, ignore=shutil.ignore_patterns("autograded", "feedback"))
    shutil.copytree(klass.submitted / "marker", root / "grading" / "submitted" / "marker")
    leak = root / "grading" / "submitted" / "marker" / ASSIGNMENT / "leak.dat"
    leak.symlink_to(root / "solutions" / ASSIGNMENT / klass.solution.name)
    proc = run(["nbgrader", "autograde", ASSIGNMENT, "--student", "marker", "--force"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert klass.marker.exists(), "the control should have run the marker code"
    klass.marker.unlink()
    # and nbgrader copies what a link in a submission points to (see test_links_in_a_submission_are_not_followed)
    assert "BEGIN HIDDEN TESTS" in (root / "grading" / "autograded" / "marker" / ASSIGNMENT / "leak.dat").read_text()


@pytest.mark.slow
def test_links_in_a_submission_are_not_followed(klass):
    classroom.feedback(klass.root, "correct", ASSIGNMENT)
    for step in ("autograded", "feedback"):
        folder = klass.root / "grading" / step / "correct" / ASSIGNMENT
        assert folder.is_dir() and not (folder / "leak.dat").exists(), step


@pytest.mark.slow
def test_deleted_test_cell_is_put_back_and_scored(klass):
    nb = load(klass.root / "grading" / "autograded" / "deleted_test" / ASSIGNMENT / f"{klass.name}.ipynb")
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_rnn_step")
    assert "was missing from the submission" in source(cell)
    assert "### BEGIN HIDDEN TESTS" in source(cell)  # formgrader shows the instructor the whole test
    assert cell["outputs"][-1]["data"]["text/plain"] in ("3.0", ["3.0"])


@pytest.mark.slow
def test_formgrader_files_exist(klass):
    for student in students(klass):
        path = klass.root / "grading" / "autograded" / student / ASSIGNMENT / f"{klass.name}.ipynb"
        assert path.is_file(), student
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), "nbgrader writes them read-only"
        nb = load(path)
        sources = [source(c) for c in nb["cells"]]
        assert any("### BEGIN HIDDEN TESTS" in s for s in sources), "OverwriteCells restores the hidden tests"
    nb = load(klass.root / "grading" / "autograded" / "forgot_b_hh" / ASSIGNMENT / f"{klass.name}.ipynb")
    step = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_rnn_step")
    out = "".join(step["outputs"][0]["text"])
    assert "hint: add both b_ih and b_hh" in out and out.rstrip().endswith("test_rnn_step: 0.5 / 3 points")
    assert not (klass.root / "grading" / "submitted").exists(), "the submissions stay where they were"
    assert not (klass.root / "gradebook.db").exists()


def _formgrader(k: Class):
    """nbgrader's API behind formgrader's pages, configured like `nbgrader formgrader` in the course root."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = classroom._config(k.root)
    coursedir = CourseDirectory(config=cfg)
    coursedir.root = str(k.root)
    return NbGraderAPI(coursedir=coursedir, config=cfg)


@pytest.mark.slow
def test_formgrader_lists_every_submission_as_autograded(klass):
    api = _formgrader(klass)
    subs = {s["student"]: s for s in api.get_submissions(ASSIGNMENT)}
    assert set(subs) == set(students(klass))
    for student, sub in subs.items():
        result = klass.results.get(student)
        assert sub["autograded"] and sub["submitted"], student
        assert sub["score"] == pytest.approx(result.score if result else 0.0), student
        assert sub["max_score"] == 22.0 and sub["needs_manual_grade"] == (student not in UNANSWERED), student
    nbs = api.get_notebook_submissions(ASSIGNMENT, klass.name)
    assert sorted(n["student"] for n in nbs) == students(klass), "formgrader opens every autograded notebook"

    # the standard layout: submissions in the configured submitted directory, timestamps compared
    submitted = klass.root / "grading" / "submitted"
    shutil.copytree(klass.submitted / "forgot_b_hh", submitted / "forgot_b_hh")
    try:
        with no_execution():
            classroom.record(klass.root, submitted, "forgot_b_hh", ASSIGNMENT,
                             {klass.name: klass.results["forgot_b_hh"]})
        api = _formgrader(klass)
        assert "forgot_b_hh" in api.get_autograded_students(ASSIGNMENT)
        sub = next(s for s in api.get_submissions(ASSIGNMENT) if s["student"] == "forgot_b_hh")
        assert sub["autograded"] and sub["score"] == pytest.approx(klass.results["forgot_b_hh"].score)
    finally:
        shutil.rmtree(submitted)


@pytest.mark.slow
def test_recording_again_duplicates_nothing_and_keeps_manual_grades(klass):
    from nbgrader.api import Gradebook

    def counts():
        with contextlib.closing(sqlite3.connect(klass.root / "grading" / "gradebook.db")) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}

    before = counts()
    with Gradebook(klass.db) as gb:
        gb.find_grade("explain_rnn_step_by_step", klass.name, ASSIGNMENT, "correct").manual_score = 2.5
        gb.db.commit()
    for _ in range(2):
        klass.record("correct")
    klass.record("forgot_b_hh")
    assert counts() == before
    with Gradebook(klass.db) as gb:
        assert len(gb.students) == len(students(klass))
        nb = gb.find_submission_notebook(klass.name, ASSIGNMENT, "correct")
        grade = gb.find_grade("explain_rnn_step_by_step", klass.name, ASSIGNMENT, "correct")
        assert grade.manual_score == 2.5 and grade.needs_manual_grade  # kept, flagged for review (nbgrader's rule)
        assert nb.score == 19 + 2.5
        grade.manual_score = None
        gb.db.commit()
    klass.record("correct")


@pytest.mark.slow
def test_record_is_quick(klass):
    later = sorted(klass.timings[1:])
    assert later[len(later) // 2] < 2.0, klass.timings  # measured: about 0.3 s each after the first


@pytest.mark.slow
def test_export_has_the_right_totals(klass):
    proc = run(["nbgrader", "export"], cwd=klass.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student_id"]: r for r in csv.DictReader((klass.root / "grading" / "grades.csv").open())}
    assert set(rows) == set(students(klass))
    for student in students(klass):
        expected = klass.results[student].score if student in klass.results else 0.0
        assert float(rows[student]["raw_score"]) == pytest.approx(expected), student
        assert float(rows[student]["score"]) == pytest.approx(expected), student
        assert float(rows[student]["max_score"]) == 22.0
        assert rows[student]["timestamp"].startswith("2026-11-22 12:00:00")


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def _hidden_lines(solution: Path, release: Path) -> list[str]:
    """Every substantial line of a hidden test region that the released notebook does not contain."""
    visible = "\n".join(source(c) for c in load(release)["cells"])
    lines = []
    for cell in load(solution)["cells"]:
        for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source(cell), re.S):
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) > 15 and ln.strip() not in visible]
    return lines


@pytest.mark.slow
def test_feedback_shows_our_messages_and_no_hidden_tests(klass):
    hidden = _hidden_lines(klass.root / "solutions" / ASSIGNMENT / klass.solution.name,
                           klass.root / "course" / ASSIGNMENT / klass.solution.name)
    assert len(hidden) >= 5
    visible = 'check.choice("mcq_rnn_purpose is one letter A-D", got=lambda: mcq_rnn_purpose, weight=0)'
    for student in students(klass):
        pages = classroom.feedback(klass.root, student, ASSIGNMENT)
        assert pages == [klass.root / "grading" / "feedback" / student / ASSIGNMENT / f"{klass.name}.html"]
        # nbgrader release_feedback reads the submission's timestamp.txt from the feedback folder
        stamp = klass.root / "grading" / "feedback" / student / ASSIGNMENT / "timestamp.txt"
        assert stamp.read_text() == TIMESTAMP, student
        text = _text(pages[0])
        if student != "damaged":
            assert visible in text, "the search must find visible test source (else it proves nothing)"
        assert "HIDDEN TESTS" not in text, student
        for line in hidden:
            assert line not in text, f"feedback of {student} shows hidden test source: {line}"
        for t in klass.results[student].tests if student in klass.results else []:
            if not t.manual:
                for line in t.lines:
                    assert all(part.strip() in text for part in line.splitlines()), (student, line)
                assert f"{t.grade_id}: {t.score:g} / {t.max_score:g} points" in text
    text = _text(klass.root / "grading" / "feedback" / "forgot_b_hh" / ASSIGNMENT / f"{klass.name}.html")
    assert "hint: add both b_ih and b_hh" in text and "test_rnn_step: 0.5 / 3 points" in text
    assert "not valid JSON" in _text(klass.root / "grading" / "feedback" / "damaged" / ASSIGNMENT / f"{klass.name}.html")
