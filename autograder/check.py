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
(exact plain data) or `choice` (a multiple-choice letter). What counts as the same answer (a list for
a tuple, float64 for float32, 3.0 for 3...) is `autograder.values.POLICY`; a case whose prompt makes the
container or the dtype the point says `strict="container"` / `strict="dtype"`.

Two more tools keep grading fair:
- `Check(..., from_scratch="the gates")`: the exercise re-implements a library layer, so while its
  cases run the learner's code may not call PyTorch's recurrent layers (autograder/scratch.py); such a
  case fails with "calls torch.gru_cell: write the gates yourself".
- `check.uses("gru_cell", exercise=4, reference=..., args=(...))`, before the cases: the exercise builds
  on an earlier one. A first, unscored line runs the learner's own `gru_cell` on `args` against
  `reference` ("fix Exercise 4 first" when it differs), and every case then runs with `reference` in
  its place, so one mistake costs points once. `reference` is built from PyTorch itself.

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
import os
import warnings

import sys

from .scratch import is_scratch_reason
from .values import PlainError, compare, partial_score, to_plain

_MISSING = object()
_SESSION = None  # set by autograder.runner inside a grading process; None in a learner's kernel


class FromScratchError(Exception):
    """The learner's code called a library layer that its from-scratch exercise asks them to write."""


class TestCellFailed(AssertionError):
    """Raised by Check.score() only under `nbgrader validate` (and JupyterLab's Validate button), for a
    test cell below full marks, so that nbgrader reports the cell's ✗ lines and hints instead of its
    "Partial credit" message. A learner's own run and every grading run get the partial score."""

    __test__ = False  # not a pytest test class

    def __init__(self, grade_id: str, result: float, points: float, lines: list[str]):
        self.lines = [f"{grade_id}: {result:g} / {points:g} points"] + list(lines)
        super().__init__("\n".join(self.lines))

    def _render_traceback_(self):  # IPython shows these lines instead of a traceback
        return self.lines


def _validating() -> bool:
    return os.environ.get("NBGRADER_VALIDATING") == "1"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, FromScratchError):
        return str(exc)
    if isinstance(exc, NotImplementedError):
        return "raised NotImplementedError: replace `raise NotImplementedError()` with your code"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"
    return text if len(text) <= 300 else text[:297] + "..."


@contextlib.contextmanager
def _random_state_kept():
    """Put the random generators back as they were: what a call draws cannot shift the test data drawn after it.

    The references are computed in the solution's process (where `want=` runs too) and the learner's
    values in another (where it does not), so a test cell's later `torch.randn` must not depend on what
    either call drew."""
    import random

    import numpy
    import torch

    states = (torch.random.get_rng_state(), random.getstate(), numpy.random.get_state())
    try:
        yield
    finally:
        torch.random.set_rng_state(states[0])
        random.setstate(states[1])
        numpy.random.set_state(states[2])


NOT_ANSWERED = "not answered yet: replace the ... with your answer"


def evaluate(got):
    """Call `got` (or take it as a value) quietly; return (plain value, None) or (None, error)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings(), _random_state_kept():
            warnings.simplefilter("ignore")
            value = got() if callable(got) else got
            if value is Ellipsis:  # the stub of a top-level answer (autograder/stubs.py)
                return None, NOT_ANSWERED
            return to_plain(value), None
    except PlainError as exc:
        return None, f"returned a value the grader cannot read: {exc}"
    except Exception as exc:  # the learner's code may raise anything
        return None, _error_text(exc)


def case_line(name: str, passed: bool, why: str, hint: str = "", requires: str | None = None) -> str:
    """The feedback line of one case (the grader's report prints the same)."""
    if passed:
        return f"✓ {name}"
    if requires:
        label, function = requires.split("|", 1)
        return (f"✗ fix {label} first: your {function} is not right here ({why}); "
                f"the cases below use a correct {function}")
    return f"✗ {name}: {why}" + (f"\n    hint: {hint}" if hint else "")


def _strict(strict) -> dict:
    """`strict=` as a case option: only when given, as a sorted tuple (plain data)."""
    if not strict:
        return {}
    return {"strict": tuple(sorted([strict] if isinstance(strict, str) else strict))}


def _stand_in(reference):
    """A correct earlier exercise, built from the library: trusted by the from-scratch guard."""
    def stand_in(*args, **kwargs):
        return reference(*args, **kwargs)
    return stand_in


_STAND_IN_CODE = _stand_in(None).__code__


class Check:
    """The cases of one autograded test cell (see the module docstring)."""

    def __init__(self, grade_id: str, points: float, from_scratch: str | None = None):
        self.grade_id = grade_id
        self.points = float(points)
        self.from_scratch = from_scratch
        caller = sys._getframe(1)
        self._cell_file = caller.f_code.co_filename  # the test cell's own code is trusted by the guard
        self._namespace = caller.f_globals  # where the learner's functions live
        self._stand_ins: dict[str, object] = {}
        self._results: list[tuple[float, bool]] = []
        self._lines: list[str] = []
        self._session = _SESSION
        if self._session is not None:
            self._session.begin_check(grade_id)

    def close(self, name, got, *, want=_MISSING, rtol=None, atol=None, hint="", weight=1, strict=()):
        """Tensors (or tuples of tensors) equal to `want` within tolerance, with the same shape (values.POLICY)."""
        return self._case("close", name, got, want, hint, weight, rtol=rtol, atol=atol, **_strict(strict))

    def equal(self, name, got, *, want=_MISSING, hint="", weight=1, strict=()):
        """Plain data (numbers, strings, tuples, dicts, tensors) equal to `want` (values.POLICY)."""
        return self._case("equal", name, got, want, hint, weight, **_strict(strict))

    def uses(self, name: str, *, exercise, reference, args=(), rtol=None, atol=None):
        """The exercise builds on the learner's `name` (Exercise `exercise`): check theirs once, unscored, then
        run every case with `reference` in its place (see the module docstring)."""
        label = exercise if isinstance(exercise, str) else f"Exercise {exercise}"
        namespace = self._namespace
        # what the learner's own function gives, read before any stand-in is installed
        learners = lambda: namespace[name](*(args() if callable(args) else args))  # noqa: E731
        self._case("close", f"your {name} ({label})", learners, lambda: reference(*(args() if callable(args) else args)),
                   "", 0, rtol=rtol, atol=atol, requires=f"{label}|{name}")
        self._stand_ins[name] = _stand_in(reference)

    def choice(self, name, got, *, want=_MISSING, options="ABCD", hint="", weight=1):
        """A multiple-choice answer: one letter of `options`, and `want` when a key is given."""
        return self._case("choice", name, got, want, hint, weight, options=options)

    def _guarded(self, got, stand_ins: bool = True):
        """`got`, run with the stand-ins of `uses` in place and, for a from-scratch exercise, under the guard."""
        stand_ins = dict(self._stand_ins) if stand_ins else {}
        if not callable(got) or (not self.from_scratch and not stand_ins):
            return got
        from .scratch import Guard

        namespace, phrase, cell_file = self._namespace, self.from_scratch, self._cell_file

        def run():
            saved = {k: namespace[k] for k in stand_ins if k in namespace}
            namespace.update(stand_ins)
            guard = Guard(phrase, trusted_files={cell_file}, trusted_codes={_STAND_IN_CODE}) if phrase else None
            try:
                if guard is None:
                    return got()
                try:
                    with guard:
                        value = got()
                except Exception as exc:  # a forbidden call is the cause to name, even if the code then failed
                    if guard.violations:
                        raise FromScratchError(guard.reason) from exc
                    raise
            finally:
                for k in stand_ins:
                    if k in saved:
                        namespace[k] = saved[k]
                    else:
                        namespace.pop(k, None)
            if guard.violations:
                raise FromScratchError(guard.reason)
            return value

        return run

    def _case(self, rule, name, got, want, hint, weight, **opts):
        if rule != "choice" and want is _MISSING and self._session is None:
            raise TypeError(f"{rule}() needs want=")
        # a `uses` line runs the learner's own function with the stand-ins of earlier `uses` lines in place:
        # only the function it names is the learner's, so it blames nothing else
        got = self._guarded(got)
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
            passed, why = compare(rule, value, reference, **{k: v for k, v in opts.items() if k != "requires"})
        else:
            passed, why = False, error
        self._results.append((float(weight), passed))
        if not passed and (error is not None or is_scratch_reason(why)):
            hint = ""  # a hint explains a wrong value; an error or a forbidden call is a cause of its own
        line = case_line(name, passed, why, hint, opts.get("requires"))
        self._lines.append(line)
        print("  " + line.replace("\n", "\n  "))
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
            unanswered = any(line.endswith(NOT_ANSWERED) for line in self._lines)
            print(f"{self.grade_id}: answer recorded; it is checked against the key when the notebook is graded"
                  if result else f"{self.grade_id}: not answered yet" if unanswered
                  else f"{self.grade_id}: fix the format of your answer (see above)")
        else:
            result = partial_score(self.points, passed, total)
            print(f"{self.grade_id}: {result:g} / {self.points:g} points")
        if result < self.points and _validating():
            raise TestCellFailed(self.grade_id, result, self.points,
                                 [line for line in self._lines if not line.startswith("✓")])
        return result
