"""Hidden test cases never spell out their key in feedback (issue 12: unlimited self-grading would make
every hidden key public).

Each case recorded in a test cell's ### BEGIN/END HIDDEN TESTS region is marked hidden (by the line
that recorded it); a failed hidden case gets a reason that names the learner's value and the expected
type only. Enumerated over every case of every solution notebook, with a wrong value made from the key.
"""
from __future__ import annotations

import pytest
import torch

from autograder.grade import references
from autograder.notebooks import load_solution
from autograder.values import SET_TAG, compare
from conftest import solution_paths

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def all_refs():
    out = {}
    for path in solution_paths():
        sol = load_solution(path)
        out[path.parent.name] = (sol, references(sol))
    return out


def wrong_like(want):
    """A wrong value of the same type as `want` (None where none can be made)."""
    if isinstance(want, dict) and set(want) == {SET_TAG}:
        letters = [x for x in "ABCDEFGH" if x not in want[SET_TAG]]
        return {SET_TAG: letters[:1]}
    if type(want) is bool:
        return not want
    if type(want) in (int, float):
        return want + 1
    if type(want) is str:
        return next((x for x in "ABCDE" if x != want.strip().upper()), "Z") if len(want.strip()) == 1 else want + "x"
    if type(want) in (tuple, list):
        if not want:
            return type(want)([0])
        first = wrong_like(want[0])
        return None if first is None else type(want)([first, *want[1:]])
    if isinstance(want, torch.Tensor):
        return want + 1 if want.is_floating_point() or want.dtype not in (torch.bool,) else ~want
    return None


def spelled(want) -> list[str]:
    """How the key could appear in a message."""
    if isinstance(want, dict) and set(want) == {SET_TAG}:
        return [repr(x) for x in want[SET_TAG]] + [str(x) for x in want[SET_TAG] if len(str(x)) > 1]
    if type(want) is str:
        return [repr(want)] + ([want] if len(want) > 2 else [])
    if type(want) in (tuple, list, int, float):
        return [repr(want), str(want)] if type(want) is not bool else []
    return []


def test_every_test_cell_with_a_hidden_region_has_hidden_cases(all_refs):
    for assignment, (sol, refs) in all_refs.items():
        for test in sol.tests:
            cases = refs[test.grade_id]
            if test.hidden_lines:
                assert any(c.get("hidden") for c in cases), f"{assignment}/{test.grade_id}: no case marked hidden"
            assert all(c.get("line", 0) > 0 for c in cases), f"{assignment}/{test.grade_id}: a case without its line"
            visible = [c for c in cases if not c.get("hidden")]
            assert all(c.get("line") not in test.hidden_lines for c in visible)


def test_no_failed_hidden_case_spells_out_its_key(all_refs):
    checked = 0
    for assignment, (sol, refs) in all_refs.items():
        for gid, cases in refs.items():
            for case in cases:
                if not case.get("hidden") or not case.get("has_want"):
                    continue
                want = case["want"]
                wrong = wrong_like(want)
                if wrong is None:
                    continue
                ok, why = compare(case["rule"], wrong, want, rtol=case.get("rtol"), atol=case.get("atol"),
                                  options=case.get("options"), reveal=False)
                if ok:
                    continue
                checked += 1
                if isinstance(want, torch.Tensor) and case["rule"] == "close":
                    continue  # a computed tensor: its shape and largest difference are the feedback
                for text in spelled(want):
                    if text in why and text not in repr(wrong):
                        pytest.fail(f"{assignment}/{gid}/{case['name']!r}: the reason {why!r} spells out {text}")
    assert checked > 50, checked


@pytest.mark.parametrize("want,wrong", [
    ({SET_TAG: ["B"]}, {SET_TAG: ["A"]}), ((4, 7, 3), (4, 3, 7)), (640, 641), ("D", "A"), (2.5, 1.0),
    ([1, 2], [1, 3]), ({"a": (1, 2)}, {"a": (1, 3)}), (torch.tensor([1, 2]), torch.tensor([1, 3])),
])
def test_a_visible_case_names_the_expected_value_and_a_hidden_one_does_not(want, wrong):
    rule = "choice" if want == "D" else "equal"
    ok, shown = compare(rule, wrong, want, options="ABCD")
    ok2, hidden = compare(rule, wrong, want, options="ABCD", reveal=False)
    assert not ok and not ok2
    if rule == "equal" and not isinstance(want, torch.Tensor):
        assert shown != hidden  # the visible reason names what was expected; the hidden one cannot
        for text in spelled(want):
            assert text not in hidden or text in repr(wrong), hidden
    assert "got" in hidden or "not the right answer" in hidden
