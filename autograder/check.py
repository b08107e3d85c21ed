"""The API that every autograded test cell of the course uses.

A test cell opens a `Check` named after its grade_id, adds *cases* and ends with
`check.score()`::

    check = Check("test_rnn_step_matches_torch", points=3)
    check.close("one step matches nn.RNNCell", got=lambda: rnn_step(x, h, *weights),
                want=lambda: cell(x, h), hint="did you add both biases?")
    check.score()

`got=` is a lambda that calls the learner's code; `want=` (keyword only) is the reference: a
lambda or a literal. `weight=` sets a case's share of the cell's points; weight 0 marks a format
check (shown, not scored) for answers whose key lives in a hidden test. Cases are judged by a rule: `close` (tensors within tolerance), `equal`
(exact plain data) or `choice` (a multiple-choice letter).

Where it runs decides what it does:
- In a learner's kernel, and under `nbgrader autograde`/`validate`, each case is judged on the
  spot, a line per case is printed, and the cell's value is its partial score, which nbgrader
  reads as partial credit.
- Under `python -m autograder`, the grader first removes every `want=` from the cell, so hidden
  references never reach student code; the student's process only *records* the plain value of
  each `got` and the trusted grader process judges it against references it computed itself from
  `solutions/`. See autograder/grade.py.
"""
from __future__ import annotations

import contextlib
import io
import warnings

from .values import PlainError, compare, partial_score, to_plain

_MISSING = object()
_SESSION = None  # set by autograder.runner inside a grading process; None in a learner's kernel


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return "raised NotImplementedError: replace `raise NotImplementedError()` with your code"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"
    return text if len(text) <= 300 else text[:297] + "..."


def evaluate(got):
    """Call `got` (or take it as a value) quietly; return (plain value, None) or (None, error)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = got() if callable(got) else got
            return to_plain(value), None
    except PlainError as exc:
        return None, f"returned a value the grader cannot read: {exc}"
    except Exception as exc:  # the learner's code may raise anything
        return None, _error_text(exc)


class Check:
    """The cases of one autograded test cell (see the module docstring)."""

    def __init__(self, grade_id: str, points: float):
        self.grade_id = grade_id
        self.points = float(points)
        self._results: list[tuple[float, bool]] = []
        self._session = _SESSION
        if self._session is not None:
            self._session.begin_check(grade_id)

    def close(self, name, got, *, want=_MISSING, rtol=None, atol=None, hint="", weight=1):
        """Tensors (or tuples of tensors) equal to `want` within tolerance, with the same shape and dtype."""
        return self._case("close", name, got, want, hint, weight, rtol=rtol, atol=atol)

    def equal(self, name, got, *, want=_MISSING, hint="", weight=1):
        """Plain data (numbers, strings, tuples, dicts, tensors) exactly equal to `want`."""
        return self._case("equal", name, got, want, hint, weight)

    def choice(self, name, got, *, want=_MISSING, options="ABCD", hint="", weight=1):
        """A multiple-choice answer: one letter of `options`, and `want` when a key is given."""
        return self._case("choice", name, got, want, hint, weight, options=options)

    def _case(self, rule, name, got, want, hint, weight, **opts):
        if rule != "choice" and want is _MISSING and self._session is None:
            raise TypeError(f"{rule}() needs want=")
        if self._session is not None:
            self._session.record_case(self.grade_id, rule=rule, name=name, got=got,
                                      want=None if want is _MISSING else want,
                                      has_want=want is not _MISSING, hint=hint, weight=weight, **opts)
            return None
        value, error = evaluate(got)
        if error is None:
            reference, ref_error = evaluate(want) if want is not _MISSING else (None, None)
            if ref_error is not None:
                raise RuntimeError(f"the reference of case {name!r} failed: {ref_error}")
            passed, why = compare(rule, value, reference, **opts)
        else:
            passed, why = False, error
        self._results.append((float(weight), passed))
        line = f"  ✓ {name}" if passed else f"  ✗ {name}: {why}"
        if not passed and hint:
            line += f"\n      hint: {hint}"
        print(line)
        return passed

    def score(self):
        """The cell's partial score (its last expression, read by nbgrader as partial credit)."""
        if self._session is not None:
            self._session.end_check(self.grade_id)
            return None
        passed = sum(w for w, ok in self._results if ok)
        total = sum(w for w, _ in self._results)
        if total == 0:
            # Only weight-0 (format) cases are visible, e.g. a multiple-choice answer whose key is a
            # hidden test: a well-formed answer "passes" here; the key decides when it is graded.
            result = self.points if self._results and all(ok for _, ok in self._results) else 0.0
            print(f"{self.grade_id}: answer recorded; it is checked against the key when the notebook is graded"
                  if result else f"{self.grade_id}: fix the format of your answer (see above)")
            return result
        result = partial_score(self.points, passed, total)
        print(f"{self.grade_id}: {result:g} / {self.points:g} points")
        return result
