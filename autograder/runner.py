"""The grading child process: runs a notebook's code and reports plain values, nothing else.

Started by autograder.grade as `python -m autograder.runner RESULT_FD` with a JSON job on stdin:
    {"mode": "record" | "reference", "cells": [{"kind", "source", "label"}], "cell_timeout": s,
     "case_timeout": s, "seed": int}
It executes the cells in an IPython shell (so notebook syntax and magics work), and writes
length-prefixed `torch.save` frames to RESULT_FD as it goes, so that a crash loses only what had
not run yet:
    {"event": "cell_error", "label", "error"}
    {"event": "check", "grade_id", "cases": [{"name", "value"} | {"name", "error"}, ...]}
In "reference" mode (the trusted solution run) each case also carries its rule, options, hint,
weight and the evaluated `want`.

In "record" mode this process is untrusted: whatever it sends is only data that the parent
checks for type and compares against references the student's code never saw.
"""
from __future__ import annotations

import io
import json
import os
import random
import signal
import struct
import sys


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout()


class _Timer:
    """SIGALRM-based limit for one cell or one case; re-fires until the code gives up."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.2)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        return False


class Session:
    """Receives the cases of `Check` objects and sends them to the parent."""

    def __init__(self, out, mode: str, case_timeout: float):
        self.out, self.mode, self.case_timeout = out, mode, case_timeout
        self.cases: dict[str, list] = {}

    def send(self, obj) -> None:
        import torch

        buf = io.BytesIO()
        torch.save(obj, buf)
        data = buf.getvalue()
        os.write(self.out, struct.pack(">Q", len(data)) + data)

    def begin_check(self, grade_id: str) -> None:
        self.cases[grade_id] = []

    def record_case(self, grade_id, *, rule, name, got, want, has_want, hint, weight, **opts) -> None:
        from .check import evaluate

        with _Timer(self.case_timeout):
            try:
                value, error = evaluate(got)
            except CaseTimeout:
                value, error = None, f"took longer than {self.case_timeout:g} s (time limit per test case)"
        case = {"name": str(name)}
        if error is None:
            case["value"] = value
        else:
            case["error"] = error
        if self.mode == "reference":
            ref, ref_error = evaluate(want) if has_want else (None, None)
            if ref_error is not None:
                raise RuntimeError(f"reference of {grade_id}/{name!r} failed: {ref_error}")
            case.update(rule=rule, hint=str(hint), weight=float(weight), has_want=has_want, want=ref,
                        **{k: v for k, v in opts.items()})
        self.cases.setdefault(grade_id, []).append(case)

    def end_check(self, grade_id: str) -> None:
        self.send({"event": "check", "grade_id": grade_id, "cases": self.cases.pop(grade_id, [])})


def _seed(seed: int) -> None:
    import numpy
    import torch

    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = int(argv[0])
    job = json.loads(sys.stdin.read())
    os.environ.setdefault("MPLBACKEND", "Agg")

    import torch

    torch.set_num_threads(1)
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from . import check as check_module

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    session = Session(out, job["mode"], float(job.get("case_timeout", 30)))
    check_module._SESSION = session
    signal.signal(signal.SIGALRM, _alarm)
    seed = int(job.get("seed", 0))

    for cell in job["cells"]:
        _seed(seed)
        limit = 0 if cell["kind"] == "test" else float(job.get("cell_timeout", 60))
        try:
            with _Timer(limit):
                result = shell.run_cell(cell["source"], store_history=False, silent=False)
        except CaseTimeout:
            session.send({"event": "cell_error", "label": cell["label"],
                          "error": f"stopped after {limit:g} s (time limit per cell)"})
            continue
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            if isinstance(error, CaseTimeout):
                text = f"stopped after {limit:g} s (time limit per cell)"
            else:
                from .check import _error_text
                text = _error_text(error)
            session.send({"event": "cell_error", "label": cell["label"], "error": text})
            if job["mode"] == "reference":
                return 3
        check_module._SESSION = session  # a cell may have reset it; tests must still record
    session.send({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
