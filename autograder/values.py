"""Plain values and the comparison rules of test cases.

A test case's value crosses from the student's process to the grader as *plain data* only:
tensors, Python scalars, strings, None, and tuples/lists/dicts of those. `to_plain` produces
that form (it runs wherever the value was computed); `compare` judges a plain value against a
plain reference. The learner's kernel and the trusted grader use the same two functions, which is
why `nbgrader autograde` and `python -m autograder grade` give honest work the same score.
"""
from __future__ import annotations

import math

import torch

RULES = ("close", "equal", "choice")
MAX_ELEMENTS = 5_000_000  # per tensor; a test value is never this big
MAX_ITEMS = 10_000  # per container
MAX_DEPTH = 8
SET_TAG = "__set__"
OPAQUE_TAG = "__unsupported__"
MAX_INT_BITS = 1024  # torch.load(weights_only=True) cannot read ints of ~2040 bits and more


class PlainError(ValueError):
    """A value cannot be turned into plain data (too big, too deep, unreadable)."""


def to_plain(value, _depth: int = 0):
    """Return `value` as plain data, or raise PlainError.

    torch.Size becomes a tuple, numpy values become tensors or Python scalars, sets become a
    tagged sorted list, and any other object becomes an opaque tag naming its type (which then
    fails every comparison with a message instead of being trusted).
    """
    if _depth > MAX_DEPTH:
        raise PlainError("value is nested too deeply")
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        return {OPAQUE_TAG: f"int of {value.bit_length()} bits"}
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Size):
        return tuple(int(d) for d in value)
    if isinstance(value, torch.Tensor):
        if value.numel() > MAX_ELEMENTS:
            raise PlainError(f"tensor with {value.numel()} elements is too large to grade")
        if value.is_sparse or value.layout != torch.strided:
            value = value.to_dense()
        return torch.Tensor._make_subclass(torch.Tensor, value.detach().cpu()).clone()
    if isinstance(value, (tuple, list)):
        if len(value) > MAX_ITEMS:
            raise PlainError(f"{type(value).__name__} with {len(value)} items is too large")
        items = [to_plain(v, _depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise PlainError(f"dict with {len(value)} items is too large")
        return {str(k): to_plain(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [to_plain(v, _depth + 1) for v in value]
        return {SET_TAG: sorted(items, key=repr)}
    if isinstance(value, (bool, int, float, str)):  # subclasses: keep only the plain value
        for base in (bool, int, float, str):
            if isinstance(value, base):
                return to_plain(base(value), _depth)
    numpy = _numpy()
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return to_plain(torch.from_numpy(numpy.array(value)), _depth)
        if isinstance(value, numpy.generic):
            return to_plain(value.item(), _depth)
    return {OPAQUE_TAG: type(value).__name__}


def _numpy():
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy ships with the course
        return None
    return numpy


def describe(value) -> str:
    """A short name for a plain value's kind, for messages."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict) and set(value) == {OPAQUE_TAG}:
        what = str(value[OPAQUE_TAG])
        return f"an {what}" if what.startswith("int of ") else f"a {what} object"
    if isinstance(value, dict) and set(value) == {SET_TAG}:
        text = "{" + ", ".join(repr(v) for v in value[SET_TAG]) + "}" if value[SET_TAG] else "set()"
        return f"the set {text}" if len(text) <= 60 else f"a set of {len(value[SET_TAG])} items"
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    return f"{type(value).__name__} {value!r}"


def check_plain(value, _depth: int = 0) -> None:
    """Raise PlainError unless `value` is made only of the plain types (the grader's input check)."""
    if _depth > MAX_DEPTH:
        raise PlainError("value is nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return
    if type(value) is torch.Tensor:
        # only dense CPU tensors: sparse, meta or quantized ones would break the comparisons
        if value.layout is not torch.strided or value.device.type != "cpu" or value.is_quantized:
            raise PlainError(f"a {value.layout} tensor on {value.device.type} is not a plain tensor")
        return
    if type(value) in (tuple, list):
        for v in value:
            check_plain(v, _depth + 1)
        return
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise PlainError("dict keys must be strings")
            check_plain(v, _depth + 1)
        return
    raise PlainError(f"unexpected {type(value).__name__} in a graded value")


STRICT = ("container", "dtype")

POLICY = """\
What counts as the same answer (every case, unless it says `strict=`):
- containers: a list and a tuple with equal items are the same answer, at any depth; torch.Size is a
  tuple; a list or tuple of distinct items equals a set with the same items.
- numbers: int, float, numpy scalars and 0-d tensors are numbers; 3 == 3.0. bool is not a number.
  Floats agree within the case's tolerance (default rtol 1.3e-6, atol 1e-5).
- tensors: the shape must match. Floating dtypes agree with each other (float64 vs float32 is judged
  within the looser dtype's tolerance), integer dtypes with each other, and integers with floats by
  value; bool only with bool. numpy arrays are tensors.
- `strict="container"`: the container type is the point (the prompt says so): a list is not a tuple.
  `strict="dtype"`: the dtype is the point (the prompt says so): float64 is not float32.
"""


def compare(rule: str, got, want, *, rtol=None, atol=None, options=None, reveal: bool = True,
            strict=()) -> tuple[bool, str]:
    """Judge plain `got` against plain `want` by `rule`; return (passed, reason-if-failed).

    What counts as the same answer is the module's POLICY; `strict` ("container", "dtype" or both)
    turns an equivalence off for a case whose prompt makes that type the point.

    `reveal=False` (a hidden test case) gives a reason that says nothing of `want` beyond its type,
    so feedback a learner can ask for again and again never spells out a hidden answer key; a tensor
    computed by the learner's code (rule `close`) still gets its shape, dtype and largest difference.
    """
    strict = _strictness(strict)
    ok, why = _compare(rule, got, want, rtol, atol, options, strict)
    if ok or reveal or (rule == "close" and isinstance(want, torch.Tensor)) or rule == "choice":
        return ok, why
    return ok, _concealed(got, want)


def _strictness(strict) -> frozenset:
    if not strict:
        return frozenset()
    names = frozenset([strict] if isinstance(strict, str) else strict)
    unknown = names - set(STRICT)
    if unknown:
        raise ValueError(f"unknown strict= {sorted(unknown)}; expected some of {STRICT}")
    return names


def _concealed(got, want) -> str:
    if not _same_kind(got, want):
        return f"expected {_kind(want)}, got {describe(got)}"
    return f"not the expected answer (got {_show(got)})"


def _same_kind(got, want) -> bool:
    if _is_number(got) and _is_number(want):
        return True
    if isinstance(got, (tuple, list)) and isinstance(want, (tuple, list)):
        return True
    if _is_set(want) and (_is_set(got) or isinstance(got, (tuple, list))):
        return True
    return type(got) is type(want)


def _kind(value) -> str:
    if _is_set(value):
        return "a set"
    if isinstance(value, torch.Tensor):
        return "a tensor"
    if _is_number(value):
        return "a number"
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _set_text(items) -> str:
    return "{" + ", ".join(repr(v) for v in items) + "}" if items else "set()"


def _show(value) -> str:
    """The learner's own value, short."""
    if _is_set(value):
        text = _set_text(value[SET_TAG])
    elif isinstance(value, torch.Tensor) or (isinstance(value, dict) and set(value) == {OPAQUE_TAG}):
        return describe(value)
    else:
        text = repr(value)
    return text if len(text) <= 60 else describe(value)


def _is_set(value) -> bool:
    return isinstance(value, dict) and set(value) == {SET_TAG}


def _is_number(value) -> bool:
    """int or float (never bool), or a 0-d numeric tensor."""
    if type(value) in (int, float):
        return True
    return isinstance(value, torch.Tensor) and value.dim() == 0 and value.dtype != torch.bool \
        and not value.dtype.is_complex


def _number(value):
    """A number as a Python int or float."""
    return value.item() if isinstance(value, torch.Tensor) else value


def _compare(rule, got, want, rtol, atol, options, strict) -> tuple[bool, str]:
    if rule == "close":
        return _close(got, want, rtol, atol, "", strict)
    if rule == "equal":
        return _equal(got, want, "", strict)
    if rule == "choice":
        return _choice(got, want, options or "")
    raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _container_mismatch(got, want, path, strict) -> str | None:
    """Why `got` is not the container `want` is (None when it is, by the policy)."""
    if not isinstance(got, (tuple, list)):
        return f"expected a {type(want).__name__}{_where(path)}, got {describe(got)}"
    if "container" in strict and type(got) is not type(want):
        return (f"expected a {type(want).__name__}{_where(path)} (this exercise asks for a {type(want).__name__}), "
                f"got a {type(got).__name__}")
    return None


def _dtype_kind(dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex"
    return "float" if dtype.is_floating_point else "int"


def _tensor_mismatch(got, want, path, strict) -> str | None:
    """Why tensor `got` cannot be compared with tensor `want` (shape, or a dtype the policy does not accept)."""
    if tuple(got.shape) != tuple(want.shape):
        return f"expected shape {tuple(want.shape)}{_where(path)}, got shape {tuple(got.shape)}"
    if got.dtype == want.dtype:
        return None
    if "dtype" in strict:
        return f"expected dtype {want.dtype}{_where(path)} (this exercise asks for that dtype), got {got.dtype}"
    kinds = {_dtype_kind(got.dtype), _dtype_kind(want.dtype)}
    if kinds <= {"float", "int"}:
        return None
    return f"expected dtype {want.dtype}{_where(path)}, got {got.dtype}"


def _as_tensor_of(number, want: torch.Tensor) -> torch.Tensor:
    return torch.tensor(number, dtype=torch.float64 if type(number) is float else torch.int64)


def _close(got, want, rtol, atol, path, strict) -> tuple[bool, str]:
    if isinstance(want, torch.Tensor):
        if want.dim() == 0 and type(got) in (int, float) and "dtype" not in strict:
            got = _as_tensor_of(got, want)
        if not isinstance(got, torch.Tensor):
            return False, f"expected a tensor{_where(path)}, got {describe(got)}"
        why = _tensor_mismatch(got, want, path, strict)
        if why:
            return False, why
        r, a = _tolerances(got.dtype, want.dtype, rtol, atol)
        try:
            torch.testing.assert_close(_common(got, want), _common(want, got), rtol=r, atol=a, check_dtype=False)
        except AssertionError:
            return False, _diff_message(got, want, r, a, path)
        return True, ""
    if isinstance(want, (tuple, list)):
        why = _container_mismatch(got, want, path, strict)
        if why:
            return False, why
        if len(got) != len(want):
            return False, (f"expected {len(want)} items{_where(path)}, got {len(got)}")
        for i, (g, w) in enumerate(zip(got, want)):
            ok, why = _close(g, w, rtol, atol, f"{path}[{i}]", strict)
            if not ok:
                return ok, why
        return True, ""
    if type(want) is float and _is_number(got):
        value = _number(got)
        if math.isnan(want) and isinstance(value, float) and math.isnan(value):
            return True, ""
        tol_r = 1.3e-6 if rtol is None else rtol
        tol_a = 1e-5 if atol is None else atol
        if math.isclose(value, want, rel_tol=tol_r, abs_tol=tol_a):
            return True, ""
        return False, f"expected {want:.6g}{_where(path)}, got {value:.6g}"
    return _equal(got, want, path, strict)


def _common(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a` in a dtype both tensors fit (float64 when either is floating, int64 for integers)."""
    if a.dtype == b.dtype:
        return a
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return a.to(torch.float64)
    return a.to(torch.int64)


def _tolerances(got_dtype, want_dtype, rtol, atol) -> tuple[float, float]:
    """The case's tolerances, or the looser default of the two dtypes."""
    if rtol is not None and atol is not None:
        return rtol, atol
    r1, a1 = _default_tolerances(got_dtype)
    r2, a2 = _default_tolerances(want_dtype)
    if not got_dtype.is_floating_point:
        r1, a1 = r2, a2
    if not want_dtype.is_floating_point:
        r2, a2 = r1, a1
    return (max(r1, r2) if rtol is None else rtol), (max(a1, a2) if atol is None else atol)


def _diff_message(got, want, rtol, atol, path) -> str:
    g, w = got.double(), want.double()
    finite = torch.isfinite(g)
    if not bool(finite.all()):
        return f"values{_where(path)} contain NaN or infinity"
    diff = (g - w).abs()
    worst = int(diff.argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), diff.shape)) if diff.dim() else ()
    return (f"values differ{_where(path)}: max |got - expected| = {float(diff.max()):.3g}"
            f" at index {index} (atol {atol:g}, rtol {rtol:g})")


def _default_tolerances(dtype) -> tuple[float, float]:
    if dtype == torch.float64:
        return 1e-7, 1e-7
    if dtype in (torch.float16, torch.bfloat16):
        return 1e-3, 1e-5
    if dtype.is_floating_point:
        return 1.3e-6, 1e-5
    return 0.0, 0.0


def _equal(got, want, path, strict) -> tuple[bool, str]:
    if isinstance(want, torch.Tensor):
        if want.dim() == 0 and type(got) in (int, float) and "dtype" not in strict:
            got = _as_tensor_of(got, want)
        if not isinstance(got, torch.Tensor):
            return False, f"expected a tensor{_where(path)}, got {describe(got)}"
        why = _tensor_mismatch(got, want, path, strict)
        if why:
            return False, (f"expected a {want.dtype} tensor of shape {tuple(want.shape)}{_where(path)}, "
                           f"got {got.dtype} of shape {tuple(got.shape)}")
        if not torch.equal(_common(got, want), _common(want, got)):
            return False, f"tensor values differ{_where(path)}"
        return True, ""
    if _is_number(want) and _is_number(got) and not (isinstance(got, torch.Tensor) and "dtype" in strict):
        g, w = _number(got), _number(want)
        if g == w or (isinstance(g, float) and isinstance(w, float) and math.isnan(g) and math.isnan(w)):
            return True, ""
        return False, f"expected {describe(w)}{_where(path)}, got {describe(g)}"
    if _is_set(want):
        return _equal_set(got, want, path, strict)
    if isinstance(want, (tuple, list)):
        why = _container_mismatch(got, want, path, strict)
        if why:
            return False, why
        if len(got) != len(want):
            return False, f"expected {describe(want)}{_where(path)}, got {describe(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            ok, why = _equal(g, w, f"{path}[{i}]", strict)
            if not ok:
                if not path and all(not isinstance(x, (tuple, list, dict, torch.Tensor)) for x in want):
                    return False, f"expected {tuple(want) if isinstance(want, tuple) else list(want)}, got {got}"
                return ok, why
        return True, ""
    if type(got) is not type(want):
        return False, f"expected {describe(want)}{_where(path)}, got {describe(got)}"
    if isinstance(want, dict):
        if set(got) != set(want):
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            return False, f"keys differ{_where(path)}: " + "; ".join(parts)
        for k in want:
            ok, why = _equal(got[k], want[k], f"{path}[{k!r}]", strict)
            if not ok:
                return ok, why
        return True, ""
    if got != want:
        return False, f"expected {describe(want)}{_where(path)}, got {describe(got)}"
    return True, ""


def _equal_set(got, want, path, strict) -> tuple[bool, str]:
    """A set: another set, or (by the policy) a list or tuple of distinct items."""
    if isinstance(got, (tuple, list)) and "container" not in strict:
        items = sorted(got, key=repr)
        if len({repr(v) for v in items}) != len(items):
            return False, f"expected a set{_where(path)}, got a {type(got).__name__} with repeated items"
        got = {SET_TAG: items}
    if not _is_set(got):
        return False, f"expected a set{_where(path)}, got {describe(got)}"
    have, need = {repr(v): v for v in got[SET_TAG]}, {repr(v): v for v in want[SET_TAG]}
    if have.keys() == need.keys():
        return True, ""
    missing = [need[k] for k in sorted(need.keys() - have.keys())]
    extra = [have[k] for k in sorted(have.keys() - need.keys())]
    parts = ([f"missing {_set_text(missing)}"] if missing else []) + ([f"unexpected {_set_text(extra)}"] if extra else [])
    return False, f"the set{_where(path)} differs: " + "; ".join(parts)


def normalise_choice(value):
    """A multiple-choice answer as an upper-case letter string, or None if it is not a string."""
    if type(value) is not str:
        return None
    return value.strip().strip("()").strip().upper()


def _choice(got, want, options: str) -> tuple[bool, str]:
    letter = normalise_choice(got)
    choices = ", ".join(options)
    if letter is None:
        return False, f"answer with one letter as a string, one of {choices}; got {describe(got)}"
    if letter not in options or len(letter) != 1:
        return False, f"answer must be one of {choices}; got {got!r}"
    if want is None:
        return True, ""
    if letter != normalise_choice(want):
        return False, "not the right answer"
    return True, ""


def partial_score(points: float, passed_weight: float, total_weight: float) -> float:
    """A test cell's score: its points scaled by the passed share of its cases' weights."""
    if total_weight <= 0:
        return 0.0
    return round(points * passed_weight / total_weight, 2)
