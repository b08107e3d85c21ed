"""Turning a GradeResult into what people and services read: a text table and Gradescope JSON."""
from __future__ import annotations

import json
from pathlib import Path

from .grade import GradeResult


def _fmt(x: float) -> str:
    return f"{x:g}"


def text_report(result: GradeResult, verbose: bool = True) -> str:
    """A per-test table with the total; failed cases with their reasons and hints."""
    rows = []
    width = max([len(t.grade_id) for t in result.tests] + [4])
    out = [f"{Path(result.submission).name}: assignment {result.assignment}, notebook {result.notebook}", ""]
    out.append(f"  {'test'.ljust(width)}  {'score':>9}")
    for t in result.tests:
        if t.manual:
            score = f"- / {_fmt(t.max_score)}"
            mark = "awaits a human grader"
        else:
            score = f"{_fmt(t.score)} / {_fmt(t.max_score)}"
            mark = "ok" if t.passed else "FAILED" if t.score == 0 else "partial"
        rows.append(f"  {t.grade_id.ljust(width)}  {score:>9}  {mark}")
        if verbose and not t.manual and not t.passed:
            for line in t.lines:
                if not line.startswith("✓"):
                    rows.extend("      " + part for part in line.splitlines())
    out.extend(rows)
    out.append("")
    total = f"Autograded total: {_fmt(result.score)} / {_fmt(result.max_auto)}"
    if result.max_manual:
        total += f"   (+ {_fmt(result.max_manual)} points graded by hand later)"
    out.append(total)
    if result.notes:
        out.append("")
        out.append("Notes:")
        out.extend(f"  - {n}" for n in result.notes)
    return "\n".join(out)


def gradescope_results(result: GradeResult) -> dict:
    """The result in Gradescope's results.json format (one test per graded cell)."""
    tests = []
    for t in result.tests:
        entry = {
            "name": f"{t.grade_id}: {t.title}" if t.title != t.grade_id else t.grade_id,
            "score": t.score,
            "max_score": t.max_score,
            "output": "\n".join(t.lines),
            "visibility": "visible",
        }
        if t.manual:
            entry["tags"] = ["manually graded"]
        else:
            entry["status"] = "passed" if t.passed else "failed"
        tests.append(entry)
    summary = f"Autograded {_fmt(result.score)} / {_fmt(result.max_auto)} points"
    if result.max_manual:
        summary += f"; {_fmt(result.max_manual)} more points are graded by hand"
    if result.notes:
        summary += ".\nNotes:\n" + "\n".join(f"- {n}" for n in result.notes)
    return {
        "score": result.score,
        "max_score": result.max_auto + result.max_manual,
        "execution_time": result.execution_time,
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment,
            "notebook": result.notebook,
            "autograded_max_score": result.max_auto,
            "manual_max_score": result.max_manual,
        },
    }


def write_json(result: GradeResult, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(gradescope_results(result), indent=2) + "\n")
    tmp.replace(path)
