"""Reading submissions, finding their assignment, and assembling what runs."""
import json
import re

import pytest

from autograder.notebooks import (GradingInputError, lint_test_cell, load_solution, locate_solution, read_notebook, source_of,
                                  strip_references, student_program)
from conftest import SOLUTIONS, gid, load, make_submission, solution_paths


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
