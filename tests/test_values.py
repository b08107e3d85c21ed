"""The comparison rules: strict about types and shapes, tolerant only where stated."""
import warnings

import numpy as np
import pytest
import torch

from autograder.values import PlainError, check_plain, compare, partial_score, to_plain


def test_close_accepts_rounding_and_rejects_real_differences():
    a = torch.randn(3, 4)
    assert compare("close", a + 1e-7, a) == (True, "")
    ok, why = compare("close", a + 0.1, a)
    assert not ok and "max |got - expected| = 0.1" in why


def test_close_names_both_shapes():
    ok, why = compare("close", torch.zeros(3, 2), torch.zeros(2, 3))
    assert not ok and "expected shape (2, 3)" in why and "got shape (3, 2)" in why


def test_close_accepts_another_float_dtype_within_the_looser_tolerance():
    a = torch.randn(3, 4)
    assert compare("close", a.double(), a) == (True, "")
    assert compare("close", a, a.double()) == (True, "")
    assert compare("close", a.double() + 1e-6, a)[0]  # float32's tolerance, not float64's
    ok, why = compare("close", a.double() + 1e-3, a)
    assert not ok and "values differ" in why
    assert compare("close", torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))[0]  # integers by value
    assert not compare("close", torch.tensor([True, False]), torch.tensor([1.0, 0.0]))[0]  # bool is not a number


def test_strict_dtype_makes_the_dtype_the_point():
    a = torch.randn(3)
    ok, why = compare("close", a.double(), a, strict="dtype")
    assert not ok and "expected dtype torch.float32" in why and "asks for that dtype" in why
    assert not compare("equal", torch.tensor([1, 2], dtype=torch.int32), torch.tensor([1, 2]), strict="dtype")[0]
    assert compare("equal", torch.tensor([1, 2], dtype=torch.int32), torch.tensor([1, 2]))[0]
    with pytest.raises(ValueError):
        compare("close", a, a, strict="shape")


def test_close_on_tuples_and_lists_checks_each_item():
    a, b = torch.ones(2), torch.zeros(1, 2)
    assert compare("close", (a, b), (a, b))[0]
    assert compare("close", [a, b], (a, b))[0]  # the container is not the point...
    assert compare("close", [a, [b.double()]], (a, (b,)))[0]  # ... at any depth
    ok, why = compare("close", [a, b], (a, b), strict="container")  # ... unless the case says so
    assert not ok and "expected a tuple" in why and "asks for a tuple" in why
    ok, why = compare("close", (a, a), (a, b))
    assert not ok and "[1]" in why


def test_close_rejects_non_tensors_and_nan():
    assert not compare("close", [1.0, 2.0], torch.tensor([1.0, 2.0]))[0]
    ok, why = compare("close", torch.tensor([float("nan")]), torch.tensor([1.0]))
    assert not ok and "NaN" in why


def test_numbers_are_numbers_whatever_carries_them():
    assert compare("close", torch.tensor(0.5, dtype=torch.float64), 0.5)[0]
    assert compare("close", 0.5, torch.tensor(0.5))[0]
    assert compare("close", to_plain(np.float64(0.5)), 0.5)[0]
    assert compare("equal", 3.0, 3)[0] and compare("equal", 3, 3.0)[0]
    assert compare("equal", torch.tensor(3), 3)[0]
    assert not compare("equal", 3.5, 3)[0]
    assert not compare("equal", True, 1)[0] and not compare("equal", 1, True)[0]
    assert not compare("close", torch.tensor(True), 1.0)[0]


def test_equal_accepts_lists_for_tuples_unless_the_container_is_the_point():
    assert compare("equal", (1, 2), (1, 2))[0]
    assert compare("equal", [1, 2], (1, 2))[0]
    assert compare("equal", {"a": [2, 3]}, {"a": (2, 3)})[0]
    assert compare("equal", to_plain(torch.Size([2, 3])), (2, 3))[0]
    ok, why = compare("equal", [1, 2], (1, 2), strict="container")
    assert not ok and "tuple" in why
    assert not compare("equal", [1, 3], (1, 2))[0]
    assert compare("equal", {"a": (1,)}, {"a": (1,)})[0]
    ok, why = compare("equal", {"a": 1}, {"a": 1, "b": 2})
    assert not ok and "missing ['b']" in why


def test_sets_compare_as_sets_and_are_printed_as_sets():
    want = to_plain({"A", "B"})
    assert compare("equal", to_plain({"B", "A"}), want)[0]
    assert compare("equal", ["B", "A"], want)[0]  # distinct items in a list: the same set
    ok, why = compare("equal", ["A", "A", "B"], want)
    assert not ok and "repeated" in why
    ok, why = compare("equal", to_plain({"A", "C"}), want)
    assert not ok and why == "the set differs: missing {'B'}; unexpected {'C'}"
    assert not compare("equal", ["A", "B"], want, strict="container")[0]
    ok, why = compare("equal", to_plain({"A", "C"}), want, reveal=False)
    assert not ok and "B" not in why and "{'A', 'C'}" in why


def test_choice_normalises_letters_and_hides_the_key():
    assert compare("choice", " c ", "C", options="ABCD")[0]
    assert compare("choice", "(b)", None, options="ABCD")[0]
    ok, why = compare("choice", "B", "C", options="ABCD")
    assert not ok and why == "not the right answer"
    assert not compare("choice", "E", None, options="ABCD")[0]
    assert not compare("choice", 3, None, options="ABCD")[0]
    assert not compare("choice", "AB", "A", options="ABCD")[0]


def test_to_plain_strips_subclasses_and_objects():
    class Sneaky(torch.Tensor):
        def __eq__(self, other):
            return True

    value = to_plain(torch.zeros(2).as_subclass(Sneaky))
    assert type(value) is torch.Tensor
    assert to_plain(torch.Size([2, 3])) == (2, 3)
    assert type(to_plain(np.float32(1.5))) is float
    assert type(to_plain(np.ones(2))) is torch.Tensor
    assert to_plain({"b", "a"}) == {"__set__": ["a", "b"]}

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    opaque = to_plain(AlwaysEqual())
    assert opaque == {"__unsupported__": "AlwaysEqual"}
    assert not compare("equal", opaque, (1, 2))[0]

    class IntLike(int):
        def __eq__(self, other):
            return True

    assert type(to_plain(IntLike(3))) is int and not compare("equal", to_plain(IntLike(3)), 4)[0]


def test_to_plain_limits_size_and_depth():
    with pytest.raises(PlainError):
        to_plain(torch.zeros(6_000_000))
    deep = []
    for _ in range(20):
        deep = [deep]
    with pytest.raises(PlainError):
        to_plain(deep)


def test_check_plain_rejects_foreign_types():
    check_plain({"a": [torch.zeros(1), (1, "x", None, 2.0, True)]})
    with pytest.raises(PlainError):
        check_plain({"a": object()})
    with pytest.raises(PlainError):
        check_plain({1: 2})


@pytest.mark.parametrize("points,passed,total,expected", [(3, 3, 6, 1.5), (4, 1, 6, 0.67), (2, 0, 3, 0.0), (1, 1, 1, 1.0), (2, 0, 0, 0.0)])
def test_partial_score(points, passed, total, expected):
    assert partial_score(points, passed, total) == expected


def quantized_tensor() -> torch.Tensor:
    # torch deprecates making quantized tensors, but a submission can still return one, so the grader
    # must still refuse it: the deprecation is expected here and only here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.* deprecated", category=UserWarning)
        return torch.quantize_per_tensor(torch.zeros(3), 0.1, 0, torch.qint8)


@pytest.mark.parametrize("make", [lambda: torch.zeros(3).to_sparse(), lambda: torch.zeros(3, device="meta"),
                                  quantized_tensor],
                         ids=["sparse", "meta", "quantized"])
def test_check_plain_accepts_only_dense_cpu_tensors(make):
    with pytest.raises(PlainError, match="not a plain tensor"):
        check_plain([make()])
