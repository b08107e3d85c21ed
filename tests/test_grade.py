"""End to end: `python -m autograder grade` on real submissions of the released notebooks."""
import json
import shutil

import pytest

from autograder.grade import Limits, grade_notebook
from catalog import CATALOGS, FULL_01, WRONG_01, expected
from conftest import SOLUTIONS, gid, load, make_submission, release_of, run, solution_answers, solution_paths

pytestmark = pytest.mark.slow


def scores(result) -> dict:
    return {t.grade_id: t.score for t in result.tests if not t.manual}


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.stem)
def test_solution_answers_score_full_marks(solution, tmp_path, worker):
    result = grade_notebook(make_submission(solution, tmp_path / solution.parent.name / solution.name), worker=worker)
    assert result.score == result.max_auto > 0
    assert all(t.passed for t in result.tests if not t.manual), [t.lines for t in result.tests if not t.passed]
    assert result.notes == []


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.stem)
def test_released_notebook_scores_zero(solution, worker):
    result = grade_notebook(release_of(solution), worker=worker)
    assert result.score == 0 and result.max_auto > 0
    manual = [t for t in result.tests if t.manual]
    assert all("no answer written" in t.message for t in manual)


@pytest.mark.parametrize("solution,name", [(sol, name) for sol, (_, wrong) in CATALOGS.items() for name in sorted(wrong)],
                         ids=lambda v: v.split("/")[0])
def test_wrong_answer_loses_exactly_its_points(solution, name, tmp_path, worker):
    path = SOLUTIONS / solution
    sub = make_submission(path, tmp_path / path.parent.name / path.name, CATALOGS[solution][1][name][0])
    result = grade_notebook(sub, worker=worker)
    assert scores(result) == expected(solution, name), [line for t in result.tests for line in t.lines if "✗" in line]


def test_every_notebook_has_a_catalog_of_wrong_answers():
    assert sorted(CATALOGS) == sorted(str(p.relative_to(SOLUTIONS)) for p in solution_paths())


@pytest.mark.parametrize("solution", sorted(CATALOGS))
def test_catalog_covers_the_whole_notebook(solution):
    tests = [gid(c) for c in load(SOLUTIONS / solution)["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c["cell_type"] == "code"]
    assert sorted(tests) == sorted(CATALOGS[solution][0])
    answers = {gid(c) for c in load(SOLUTIONS / solution)["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for name, (overrides, changed) in CATALOGS[solution][1].items():
        assert set(overrides) <= answers, f"{name} overrides cells that are not answer cells"
        assert set(changed) <= set(tests), f"{name} expects scores for unknown tests"


def test_cli_prints_a_table_and_writes_gradescope_json(first_solution, tmp_path):
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, WRONG_01["forgot_b_hh"][0])
    out = tmp_path / "results" / "results.json"
    proc = run(["python", "-m", "autograder", "grade", str(sub), "--json", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert "Autograded total: 16.5 / 19" in proc.stdout
    assert "hint: add both b_ih and b_hh" in proc.stdout
    data = json.loads(out.read_text())
    assert data["score"] == 16.5 and data["max_score"] == 22
    assert isinstance(data["execution_time"], float) and isinstance(data["output"], str)
    assert {"name", "score", "max_score", "status", "output"} <= set(data["tests"][0])
    by_name = {t["name"].split(":")[0]: t for t in data["tests"]}
    assert by_name["test_rnn_step"]["status"] == "failed" and by_name["test_rnn_step"]["score"] == 0.5
    assert by_name["test_make_rnn"]["status"] == "passed"
    manual = by_name["explain_rnn_step_by_step"]
    assert manual["score"] == 0 and manual["max_score"] == 3 and "human" in manual["output"]
    assert "BEGIN HIDDEN" not in out.read_text() and "want=" not in out.read_text()


def _other_assignment(tmp_path):
    """A solutions folder with a second assignment whose graded cells have other names."""
    sols = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, sols)
    src = sols / "01_recurrence" / "01_the_rnn_recurrence.ipynb"
    text = src.read_text().replace('"grade_id": "', '"grade_id": "other_')
    other = sols / "02_other" / "02_other.ipynb"
    other.parent.mkdir()
    other.write_text(text)
    return sols, other


@pytest.mark.parametrize("case", ["missing", "empty", "invalid_json", "directory", "not_utf8", "not_a_notebook",
                                  "other_assignment", "unknown_assignment", "unrelated_notebook"])
def test_bad_input_exits_2_with_one_line(case, first_solution, tmp_path):
    sols, other = _other_assignment(tmp_path)
    target, extra = tmp_path / "01_recurrence" / "01_the_rnn_recurrence.ipynb", []
    target.parent.mkdir(parents=True, exist_ok=True)
    if case == "empty":
        target.write_bytes(b"")
    elif case == "invalid_json":
        target.write_text('{"cells": [')
    elif case == "directory":
        target.mkdir()
    elif case == "not_utf8":
        target.write_bytes(b"\xff\xfe\x00garbage")
    elif case == "not_a_notebook":
        target.write_text('{"hello": "world"}')
    elif case == "other_assignment":  # notebook 02 saved under notebook 01's name
        shutil.copy(other, target)
    elif case == "unknown_assignment":
        make_submission(first_solution, target)
        extra = ["--assignment", "07_missing"]
    elif case == "unrelated_notebook":
        target = tmp_path / "scratch.ipynb"
        target.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "source": "1", "metadata": {}, "outputs": [], "execution_count": None}]}))
    proc = run(["python", "-m", "autograder", "grade", str(target), "--solutions", str(sols)] + extra)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot grade: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_hanging_cell_costs_only_itself(first_solution, tmp_path):
    overrides = {"mcq_rnn_io": 'mcq_initial_hidden = "D"\nmcq_not_an_output = "C"\nwhile True:\n    pass\n'}
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, overrides)
    result = grade_notebook(sub, limits=Limits(cell_timeout=2))
    assert scores(result) == FULL_01
    assert any("mcq_rnn_io: stopped after 2 s" in n for n in result.notes)


def test_a_crash_costs_only_its_own_question(first_solution, tmp_path):
    """os._exit in an answer cell: that cell is skipped, everything before and after is graded."""
    overrides = {"mcq_rnn_io": 'import os\nos._exit(0)\n'}
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, overrides)
    result = grade_notebook(sub)
    assert scores(result) == dict(FULL_01, test_mcq_rnn_io=0.0)
    assert any(n.startswith("mcq_rnn_io exited with status 0; it was skipped") for n in result.notes), result.notes


def test_a_crash_inside_a_test_costs_only_that_test(first_solution, tmp_path):
    """The student's function kills the process when a test calls it: only that test loses points."""
    overrides = {"rnn_forward": solution_answers(first_solution)["rnn_forward"]
                 + "\n_real_forward = rnn_forward\n"
                 "def rnn_forward(x, *args, **kw):\n"
                 "    import os\n"
                 "    if x.shape[0] == 1:\n"
                 "        os.kill(os.getpid(), 9)\n"
                 "    return _real_forward(x, *args, **kw)\n"}
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, overrides)
    result = grade_notebook(sub)
    got = scores(result)
    assert got == dict(FULL_01, test_rnn_forward=got["test_rnn_forward"]), got
    assert 0 < got["test_rnn_forward"] < 4.0
    forward = next(t for t in result.tests if t.grade_id == "test_rnn_forward")
    assert any("killed by SIGKILL" in line for line in forward.lines), forward.lines


def test_a_cache_it_cannot_write_only_costs_the_cache(first_solution, tmp_path, monkeypatch):
    """An instructor grading from a checkout they do not own: the reference cache cannot be written
    (torch.save raises "Permission denied" as a RuntimeError), so the references are computed and used
    without it, and no half-written file is left."""
    import torch

    from autograder import grade
    from autograder.notebooks import load_solution

    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path))

    def refuse(obj, path, *args, **kwargs):
        open(path, "wb").close()  # torch opens the file, then fails
        raise RuntimeError("[enforce fail at inline_container.cc:747] . open file failed with strerror: Permission denied")

    monkeypatch.setattr(torch, "save", refuse)
    monkeypatch.setattr(grade, "_REFS", {})
    refs = grade.references(load_solution(first_solution))
    assert refs and all(cases for cases in refs.values())
    assert list(tmp_path.iterdir()) == []
