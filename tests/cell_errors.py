"""What counts as an error in an executed notebook cell: a traceback, or standard error that is not a progress bar.

tqdm in text mode (`tqdm.auto` outside a widget-capable kernel, or `tqdm.tqdm` anywhere) writes its bar to
standard error, redrawing it in place: `\\r` + the bar after every update, `\\n` when the bar closes. In a
widget-capable kernel `tqdm.auto` shows a widget instead (a display_data output, never an error).

The rule: split a stderr stream's text at every `\\r` and `\\n`; each non-blank piece must be a whole tqdm
status line (BAR below, tqdm's default format, with or without `desc`, a total and `set_postfix` values).
Anything else in the stream (a warning, a traceback, a print to stderr) makes the whole output an error,
even when it shares the stream with a bar. Not covered, so they still count as errors: custom
`bar_format`s and nested bars (`position=`, which add terminal escape codes).
"""
from __future__ import annotations

import re

_TIME = r"(?:\d+:)?\d{2}:\d{2}"                    # 00:03, 1:02:03
_COUNT = r"[0-9.]+[kMGTPEZY]?"                    # 15, 1.20k (unit_scale)
BAR = re.compile(
    r"(?:.*: )?"                                  # desc, as tqdm prints it ("training: ")
    r"(?:"
    rf"\s*\d{{1,3}}%\|[^|]*\| {_COUNT}/{_COUNT}"  # with a total: " 40%|████      | 2/5"
    rf" \[{_TIME}<(?:{_TIME}|\?)"                 # [elapsed<remaining
    r"|"
    rf"{_COUNT}\S* \[{_TIME}"                     # without a total: "7it [elapsed"
    r")"
    r"(?:, [^\]]*)?\]"                            # , rate and postfix]
)


def is_progress_bar(text: str) -> bool:
    """Whether a stderr stream's text is nothing but tqdm status lines (redrawn with \\r, ended by \\n) and blanks."""
    pieces = [p.rstrip() for p in re.split(r"[\r\n]", text)]
    pieces = [p for p in pieces if p]
    return all(BAR.fullmatch(p) for p in pieces)


def errors(cell) -> list:
    """The cell's outputs that are errors: tracebacks, and its stderr streams unless, read together, they are
    only progress bars (a kernel sends a bar in several stream messages, which nbclient records separately)."""
    outputs = cell.get("outputs", [])
    stderr = [o for o in outputs if o["output_type"] == "stream" and o["name"] == "stderr"]
    bad_stderr = not is_progress_bar("".join(o["text"] for o in stderr))
    return [o for o in outputs if o["output_type"] == "error" or (bad_stderr and any(o is s for s in stderr))]
