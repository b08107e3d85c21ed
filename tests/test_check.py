"""The test-cell API in a learner's kernel: judged on the spot, partial score as the cell's value."""
import warnings

import pytest
import torch

from autograder.check import Check


def test_score_is_the_weighted_share_of_passed_cases(capsys):
    check = Check("test_demo", points=3)
    check.equal("right", got=lambda: (1, 2), want=(1, 2))
    check.equal("wrong", got=lambda: (2, 1), want=(1, 2), hint="swap them")
    assert check.score() == 1.5
    out = capsys.readouterr().out
    assert "✓ right" in out and "✗ wrong" in out and "hint: swap them" in out and "1.5 / 3" in out


def test_exceptions_fail_the_case_not_the_cell(capsys):
    def broken():
        raise NotImplementedError()

    check = Check("test_demo", points=2)
    check.close("broken", got=broken, want=lambda: torch.zeros(1))
    check.close("fine", got=lambda: torch.zeros(1), want=lambda: torch.zeros(1))
    assert check.score() == 1.0
    assert "replace `raise NotImplementedError()`" in capsys.readouterr().out


def test_warnings_and_stderr_of_student_code_are_swallowed(capfd):
    def noisy():
        warnings.warn("careful")
        import sys
        print("to stderr", file=sys.stderr)
        return 1

    check = Check("test_demo", points=1)
    check.equal("noisy but right", got=noisy, want=1)
    assert check.score() == 1.0
    assert capfd.readouterr().err == ""  # nbgrader would score a cell with stderr output as 0


def test_format_only_cells_score_full_when_valid_and_zero_otherwise():
    check = Check("test_demo", points=1)
    check.choice("a letter", got=lambda: "B", weight=0)
    assert check.score() == 1.0
    check = Check("test_demo", points=1)
    check.choice("a letter", got=lambda: 7, weight=0)
    assert check.score() == 0.0


def test_want_is_keyword_only_and_required_for_comparisons():
    check = Check("test_demo", points=1)
    with pytest.raises(TypeError):
        check.equal("positional", lambda: 1, 1)
    with pytest.raises(TypeError):
        check.equal("missing want", got=lambda: 1)


# -- unanswered stubs and nbgrader's Validate ----------------------------------------------------------

@pytest.mark.parametrize("rule", ["equal", "close", "choice"])
def test_an_ellipsis_answer_is_reported_as_not_answered_yet(rule, capsys):
    """A fresh notebook's top-level stub binds `...` (autograder/stubs.py): each rule says so, without a hint."""
    check = Check("test_demo", points=2)
    want = {"equal": (1, 2), "close": lambda: torch.zeros(2), "choice": "B"}[rule]
    getattr(check, rule)("the answer", got=lambda: ..., want=want, hint="never shown for a missing answer")
    assert check.score() == 0
    out = capsys.readouterr().out
    assert "✗ the answer: not answered yet: replace the ... with your answer" in out
    assert "hint" not in out


def test_a_format_only_choice_says_not_answered_yet(capsys):
    check = Check("test_mcq", points=1)
    check.choice("one letter A-D", got=lambda: ..., weight=0)
    assert check.score() == 0
    assert "test_mcq: not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("validating,passed,raises", [
    (True, (True, True), False),   # full marks: nothing to report
    (True, (True, False), True),   # partial credit: the ✗ lines become the error nbgrader shows
    (True, (False, False), True),  # zero
    (False, (True, False), False),  # a learner's own run: the partial score, never an error
    (None, (False, False), False),
])
def test_validation_turns_a_test_cell_below_full_marks_into_an_error(monkeypatch, validating, passed, raises):
    from autograder.check import TestCellFailed

    if validating is None:
        monkeypatch.delenv("NBGRADER_VALIDATING", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_VALIDATING", "1" if validating else "0")
    check = Check("test_demo", points=2)
    check.equal("first", got=lambda: 1, want=1 if passed[0] else 2, hint="look at the first")
    check.equal("second", got=lambda: 1, want=1 if passed[1] else 2)
    if not raises:
        assert check.score() == 2 * sum(passed) / 2
        return
    with pytest.raises(TestCellFailed) as caught:
        check.score()
    lines = caught.value._render_traceback_()
    assert lines[0] == f"test_demo: {2 * sum(passed) / 2:g} / 2 points"
    assert all(line.startswith("✗") for line in lines[1:]) and len(lines) == 1 + passed.count(False)
    if not passed[0]:
        assert "hint: look at the first" in lines[1]
