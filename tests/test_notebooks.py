"""Reading submissions, finding their assignment, and assembling what runs."""
import json
import re

import pytest

from autograder.notebooks import (SKIP_TAG, GradingInputError, lint_test_cell, load_solution, locate_solution, read_notebook,
                                  solution_program, source_of, strip_references, student_program)
from conftest import SOLUTIONS, gid, load, make_submission, release_of, solution_paths


def test_strip_references_removes_every_want():
    src = ('check = Check("t", points=1)\n'
           'check.choice("key", got=lambda: mcq, want="C", hint="h")\n'
           'check.close("ref", got=lambda: f(x), want=lambda: secret(x))\n'
           'check.score()\n')
    stripped = strip_references(src)
    assert "want" not in stripped and '"C"' not in stripped and "secret" not in stripped
    assert "got=lambda: mcq" in stripped and 'hint=\'h\'' in stripped


@pytest.mark.parametrize("path", solution_paths(), ids=lambda p: p.stem)
def test_solution_test_cells_follow_the_authoring_rules(path):
    """Tests keep references inside want=, name their grade_id and points, and open with a docstring."""
    sol = load_solution(path)
    assert sol.tests, "a graded notebook needs test cells"
    for cell in sol.tests:
        assert lint_test_cell(cell.source) == [], cell.grade_id
        assert cell.grade_id.startswith("test_"), cell.grade_id
        assert re.search(rf'Check\("{cell.grade_id}", points={cell.points:g}(, from_scratch="[^"]+")?\)',
                         cell.source), cell.grade_id
        assert cell.source.lstrip().startswith('"""'), f"{cell.grade_id} should open with a docstring"
        assert cell.source.rstrip().endswith("check.score()"), cell.grade_id
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{cell.grade_id} has no hidden tests"
    for cell in sol.manual:
        assert cell.grade_id.startswith("explain_"), cell.grade_id
    ids = [c.grade_id for c in sol.cells if c.grade_id]
    assert len(ids) == len(set(ids)), "duplicate grade_ids"


def _tagged(path):
    return [(i, c) for i, c in enumerate(load(path)["cells"]) if SKIP_TAG in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", solution_paths(), ids=lambda p: p.stem)
def test_skip_when_grading_tags_sit_only_on_demonstration_cells(path):
    """A tag on a test, an answer, a written answer or the setup cell would be ignored by the grader:
    refuse it here instead. Plain demos and read-only demos (locked, not graded) may carry it."""
    for i, cell in _tagged(path):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        where = f"cell {i + 1} of {path.name}"
        assert cell["cell_type"] == "code" and not meta.get("solution") and not meta.get("grade"), \
            f"{where}: {SKIP_TAG} on a cell that is graded or answered"
        assert not meta.get("grade_id") or (meta.get("locked") and meta["grade_id"] != "setup"), \
            f"{where}: {SKIP_TAG} on a cell with a grade_id that is not a read-only demo"
        assert source_of(cell).strip(), f"{where}: an empty cell tagged {SKIP_TAG}"


@pytest.mark.parametrize("path", [p for p in solution_paths() if _tagged(p)], ids=lambda p: p.stem)
def test_tagged_demonstrations_do_not_run_when_graded_unless_edited(path):
    """Every tagged cell: absent from the reference run and from the released notebook's run; an edited
    copy of a plain one runs as the learner's code, an edited read-only one is put back and skipped;
    every other code cell of the release still runs."""
    sol = load_solution(path)
    tagged = {source_of(c).strip() for _, c in _tagged(path)}
    assert tagged and tagged == sol.skipped_sources
    assert not tagged & {c.source.strip() for c in solution_program(sol)}
    released = load(release_of(path))
    program, notes = student_program(sol, released)
    assert notes == []
    ran = [c.source.strip() for c in program]
    assert not tagged & set(ran)
    code = [c for c in released["cells"] if c["cell_type"] == "code"]
    assert len(ran) == len(code) - len(tagged)
    for i, cell in enumerate(released["cells"]):
        if source_of(cell).strip() in tagged:
            edited = json.loads(json.dumps(released))
            edited["cells"][i]["source"] = source_of(cell) + "\nprint('mine')"
            program, _ = student_program(sol, edited)
            runs = sum("print('mine')" in c.source for c in program)
            locked = cell.get("metadata", {}).get("nbgrader", {}).get("locked")
            assert runs == (0 if locked else 1), f"cell {i + 1}: an edited {'read-only' if locked else 'plain'} demo"
            assert not tagged & {c.source.strip() for c in program}
            deleted = json.loads(json.dumps(released))
            del deleted["cells"][i]
            program, notes = student_program(sol, deleted)
            assert not tagged & {c.source.strip() for c in program} and not any("put back" in n for n in notes), \
                f"cell {i + 1}: a deleted demo must not be put back"


def test_a_skip_tag_on_a_graded_cell_or_the_setup_is_ignored(first_solution, tmp_path):
    nb = load(first_solution)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell.setdefault("metadata", {})["tags"] = [SKIP_TAG]
    (tmp_path / "01_recurrence").mkdir()
    path = tmp_path / "01_recurrence" / first_solution.name
    path.write_text(json.dumps(nb))
    sol = load_solution(path)
    graded = [c for c in sol.cells if c.grade_id and c.cell_type == "code" and c.kind != "locked" or c.grade_id == "setup"]
    assert graded and not any(c.skip for c in graded)
    assert {c.label for c in solution_program(sol)} >= {c.grade_id for c in graded}


def test_lint_catches_references_outside_want():
    assert lint_test_cell('check.equal("x", got=lambda: f(), want=ref)')
    assert lint_test_cell('check.equal("x", got=f(), want=1)')
    assert lint_test_cell('check.equal("x", lambda: f(), 1)')
    assert not lint_test_cell('check.equal("x", got=lambda: f(), want=(1, "a"))')


def test_student_program_restores_deleted_and_edited_locked_cells(first_solution, tmp_path):
    sub = make_submission(first_solution, tmp_path / "s.ipynb")
    nb = load(sub)
    nb["cells"] = [c for c in nb["cells"] if gid(c) != "test_rnn_step"]  # deleted
    for c in nb["cells"]:
        if gid(c) == "test_rnn_forward":
            c["source"] = "pass  # edited away"
        if gid(c) == "setup":
            c["source"] = "import os"
    sol = load_solution(first_solution)
    program, notes = student_program(sol, nb)
    labels = [c.label for c in program]
    assert labels.count("test_rnn_step") == 1
    assert labels.index("rnn_step") < labels.index("test_rnn_step") < labels.index("rnn_forward")
    assert any("test_rnn_step" in n for n in notes)
    by_label = {c.label: c for c in program}
    assert "pass  # edited away" not in by_label["test_rnn_forward"].source
    assert "import torch" in by_label["setup"].source
    assert all("want" not in c.source for c in program if c.kind == "test")


def test_student_program_keeps_extra_cells_in_order(first_solution, tmp_path):
    sub = make_submission(first_solution, tmp_path / "s.ipynb")
    nb = load(sub)
    nb["cells"].insert(3, {"cell_type": "code", "source": "helper = 1", "metadata": {}, "outputs": [], "execution_count": None})
    program, _ = student_program(load_solution(first_solution), nb)
    assert program[1].source == "helper = 1"


def test_read_notebook_reports_damage_in_one_line(tmp_path):
    cases = {"empty.ipynb": b"", "truncated.ipynb": b'{"cells": [', "latin1.ipynb": "{\"é\": 1}".encode("latin-1"),
             "list.ipynb": b"[1, 2]", "cells.ipynb": b'{"cells": [1, 2], "nbformat": 4}'}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(GradingInputError) as err:
            read_notebook(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(GradingInputError, match="no such file"):
        read_notebook(tmp_path / "missing.ipynb")


def test_old_nbformat_3_notebooks_are_upgraded(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}]}]}
    (tmp_path / "old.ipynb").write_text(json.dumps(v3))
    nb = read_notebook(tmp_path / "old.ipynb")
    assert source_of(nb["cells"][0]) == "x = 1"


def test_locate_by_path_by_name_and_by_content(first_solution, tmp_path):
    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name)
    assert locate_solution(sub, load(sub), SOLUTIONS).path == first_solution
    renamed = make_submission(first_solution, tmp_path / "my homework (1).ipynb")
    assert locate_solution(renamed, load(renamed), SOLUTIONS).path == first_solution
    with pytest.raises(GradingInputError, match="unknown assignment"):
        locate_solution(sub, load(sub), SOLUTIONS, assignment="99_nope")
    stranger = tmp_path / "stranger.ipynb"
    stranger.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    with pytest.raises(GradingInputError, match="no graded cells in common"):
        locate_solution(stranger, load(stranger), SOLUTIONS)
