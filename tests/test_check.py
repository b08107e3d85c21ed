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
