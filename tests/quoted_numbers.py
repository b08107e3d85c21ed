"""Numbers the prose quotes from a cell's output, checked against that output in the shared run.

A markdown cell that quotes printed numbers says where they come from in an HTML comment (invisible in
the rendered notebook; autograder.build's formatting keeps it, as it drops unknown cell metadata):

    <!-- quoted from the output of cell 3e7fbcb1 (checked by tests/test_quoted_numbers.py):
    GRU names {} of the validation = unpacked GRU, seed 0: validation accuracy {};
    baseline names {}–{} of the = range mean-frame baseline, seeds 0, 1, 2: validation accuracy [{}, {}, {}]
    -->

Each line pairs a snippet of the prose with a snippet of the output, `{}` standing for a number (`{_}`
in the output: a number that is not compared). The prose snippet must occur exactly once in the cell's
text (outside comments), the output snippet exactly once in the output of the named cell (its stdout,
stderr and text results), and the numbers found at the `{}`s must agree, in order. After `= range ` the
prose's two numbers are the lowest and the highest of the output's numbers; after `= lowest ` or
`= highest ` its one number is their lowest or highest. A number followed by `%` is read as hundredths,
and so is one joined by a dash to such a number ("85.6–86.7 %"). The prose may round: a prose number
with d decimals must be within half a unit of its last decimal of the printed value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

COMMENT = re.compile(r"<!--\s*quoted from the output of cell (\S+)[^\n]*\n(.*?)-->", re.S)
NUMBER = r"(-?\d+(?:\.\d+)?(?:\s?%)?)"
RANGE_TO_PERCENT = re.compile(r"[–-]\d+(?:\.\d+)?\s?%")


@dataclass
class Quote:
    cell: str      # id of the code cell whose output is quoted
    prose: str     # snippet of the markdown, {} for each number
    printed: str   # snippet of the output, {} for each number
    mode: str      # "" (in order), "range" (lowest and highest), "lowest" or "highest" of the printed numbers


def quotes(markdown: str) -> list[Quote]:
    found = []
    for cell_id, body in COMMENT.findall(markdown):
        for line in body.strip().splitlines():
            prose, _, printed = line.strip().partition(" = ")
            mode = next((m for m in ("range", "lowest", "highest") if printed.startswith(m + " ")), "")
            found.append(Quote(cell_id, prose, printed[len(mode):].lstrip() if mode else printed, mode))
    return found


def _pattern(snippet: str) -> re.Pattern:
    pattern = ""
    for token in re.split(r"(\{_?\})", snippet):
        if token == "{}":
            pattern += NUMBER
        elif token == "{_}":
            pattern += r"-?\d+(?:\.\d+)?%?"
        else:
            pattern += re.escape(token).replace(r"\ ", r"\s+")
    return re.compile(pattern)


def _numbers(snippet: str, text: str, where: str) -> list[str]:
    matches = list(_pattern(snippet).finditer(text))
    if len(matches) != 1:
        raise AssertionError(f"{where}: {len(matches)} matches of {snippet!r} (want exactly one)")
    match = matches[0]
    # "85.6–86.7 %": the % of the second number applies to the first
    return [(number, number.endswith("%") or bool(RANGE_TO_PERCENT.match(text, match.end(k + 1))))
            for k, number in enumerate(match.groups())]


def _value(number: str, percent: bool) -> float:
    return float(number.rstrip("% ")) / (100 if percent else 1)


def _digits(number: str) -> int:
    return len(number.rstrip("% ").partition(".")[2])


def output_text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif o["output_type"] in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"] + "\n")
    return "".join(parts)


def problems(nb) -> list[str]:
    """Every quote of an executed notebook whose prose and output disagree (or cannot be found)."""
    by_id = {c.get("id"): c for c in nb["cells"]}
    found = []
    for md in nb["cells"]:
        if md["cell_type"] != "markdown":
            continue
        text = "".join(md["source"])
        prose_text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        for q in quotes(text):
            where = f"markdown cell {md.get('id')} quoting cell {q.cell}"
            try:
                if q.cell not in by_id or by_id[q.cell]["cell_type"] != "code":
                    raise AssertionError(f"{where}: no code cell {q.cell}")
                said = _numbers(q.prose, prose_text, where + " (prose)")
                shown = _numbers(q.printed, output_text(by_id[q.cell]), where + " (output)")
                shown_values = [_value(n, p) for n, p in shown]
                wanted = {"": shown_values, "range": [min(shown_values), max(shown_values)],
                          "lowest": [min(shown_values)], "highest": [max(shown_values)]}[q.mode]
                if len(said) != len(wanted):
                    raise AssertionError(f"{where}: {len(said)} numbers in {q.prose!r}, want {len(wanted)}"
                                         f" ({q.mode or 'in order'} of {q.printed!r})")
                for (text_number, percent), shown_value in zip(said, wanted):
                    unit = 10.0 ** -_digits(text_number) / (100 if percent else 1)
                    if abs(_value(text_number, percent) - shown_value) > unit / 2 + 1e-9:
                        raise AssertionError(f"{where}: the prose says {text_number.strip()} ({q.prose!r}), "
                                             f"the output {shown_value:g} ({q.printed!r})")
            except AssertionError as exc:
                found.append(str(exc))
    return found
