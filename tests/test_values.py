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


def test_close_names_both_shapes_and_dtypes():
    ok, why = compare("close", torch.zeros(3, 2), torch.zeros(2, 3))
    assert not ok and "expected shape (2, 3)" in why and "got shape (3, 2)" in why
    ok, why = compare("close", torch.zeros(2, dtype=torch.float64), torch.zeros(2))
    assert not ok and "dtype" in why


def test_close_on_tuples_checks_container_type_and_each_item():
    a, b = torch.ones(2), torch.zeros(1, 2)
    assert compare("close", (a, b), (a, b))[0]
    ok, why = compare("close", [a, b], (a, b))
    assert not ok and "expected a tuple" in why
    ok, why = compare("close", (a, a), (a, b))
    assert not ok and "[1]" in why


def test_close_rejects_non_tensors_and_nan():
    assert not compare("close", [1.0, 2.0], torch.tensor([1.0, 2.0]))[0]
    ok, why = compare("close", torch.tensor([float("nan")]), torch.tensor([1.0]))
    assert not ok and "NaN" in why


def test_equal_is_type_strict():
    assert compare("equal", (1, 2), (1, 2))[0]
    ok, why = compare("equal", [1, 2], (1, 2))
    assert not ok and "tuple" in why
    assert not compare("equal", 1.0, 1)[0]
    assert not compare("equal", True, 1)[0]
    assert compare("equal", {"a": (1,)}, {"a": (1,)})[0]
    ok, why = compare("equal", {"a": 1}, {"a": 1, "b": 2})
    assert not ok and "missing ['b']" in why


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
