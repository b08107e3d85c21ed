"""Course tooling: `python -m autograder.build course|format|check`.

course [ASSIGNMENT...]  regenerate course/<assignment>/ from solutions/<assignment>/ with
        `nbgrader generate_assignment` (all assignments, or only those named); the student notebooks
        are generated, never edited by hand; the revision notebooks (autograder.notebooks.REVISION_ASSIGNMENTS)
        are released with `--no-db`, so they never get a gradebook row
format  normalise the notebooks in solutions/: no outputs or execution counts, cell ids named after
        grade_ids, stable JSON, so that a diff shows only what changed
check   exit 1 if a solution notebook is not normalised (used by the tests)
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .notebooks import grade_id, is_revision, revision_notebooks, solution_notebooks

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
KEEP_CELL_METADATA = ("nbgrader", "tags")


KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def kernel_language_info(stored_version: str | None = None) -> dict:
    """The language_info that ipykernel reports, as JupyterLab writes it into an opened notebook.

    Storing exactly this (and KERNELSPEC) means opening and saving an untouched notebook changes
    nothing. The Python version is the one a notebook already stores, so that normalising on another
    patch release does not rewrite every notebook; a notebook without one gets this interpreter's."""
    from ipykernel.ipkernel import IPythonKernel

    info = dict(IPythonKernel.language_info)
    if stored_version:
        info["version"] = stored_version
    return info


def normalised(nb) -> nbformat.NotebookNode:
    """A copy of `nb` as solutions/ stores it."""
    nb = nbformat.from_dict(nb)
    stored_version = nb.metadata.get("language_info", {}).get("version")
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": kernel_language_info(stored_version)}
    nb.nbformat, nb.nbformat_minor = 4, 5
    seen = set()
    for n, cell in enumerate(nb.cells):
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        gid = grade_id(cell)
        cid = gid or cell.get("id") or f"cell-{n}"
        while cid in seen:
            cid = f"{cid}-{n}"
        seen.add(cid)
        cell["id"] = cid
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    return nb


def dumps(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def format_solutions(check_only: bool = False) -> list[Path]:
    """Normalise (or, with check_only, list) the solution notebooks that are not normalised."""
    changed = []
    for path in sorted(solution_notebooks(SOLUTIONS) + revision_notebooks(SOLUTIONS)):
        text = path.read_text(encoding="utf-8")
        wanted = dumps(normalised(nbformat.reads(text, as_version=4)))
        if text != wanted:
            changed.append(path)
            if not check_only:
                path.write_text(wanted, encoding="utf-8")
    return changed


def build_course(root: Path = ROOT, only: list[str] | None = None) -> list[Path]:
    """Regenerate every student notebook under `root`; remove assignments that no longer have a solution.

    `root` holds nbgrader_config.py, solutions/ and course/ (the tests build into a copy).
    `only` limits the rebuild to the named assignments (and then removes nothing else).
    """
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    solutions, course = Path(root) / "solutions", Path(root) / "course"
    graded = sorted({p.parent.name for p in solution_notebooks(solutions)})
    assignments = sorted(set(graded) | {p.parent.name for p in revision_notebooks(solutions)})
    if only:
        unknown = sorted(set(only) - set(assignments))
        if unknown:
            raise SystemExit(f"no solutions for assignment(s): {', '.join(unknown)}")
        assignments = [a for a in assignments if a in only]
    elif course.exists():
        for stale in course.iterdir():
            if stale.is_dir() and stale.name not in assignments:
                shutil.rmtree(stale)
    for assignment in assignments:
        target = course / assignment
        if target.exists():
            shutil.rmtree(target)
    # one nbgrader process for the graded course (its assignment argument is a glob): starting nbgrader
    # costs seconds, generating a notebook a fraction of that. The glob is the naming rule NN_topic, used
    # only when it matches exactly the graded assignments; revision notebooks are released with --no-db.
    folders = sorted(p.name for p in solutions.iterdir() if p.is_dir())
    wanted = [a for a in assignments if not is_revision(a)]
    whole = "[0-9][0-9]_*"
    if not only and wanted and fnmatch.filter(folders, whole) == wanted:
        wanted = [whole]
    runs = [(pattern, []) for pattern in wanted] + [(a, ["--no-db"]) for a in assignments if is_revision(a)]
    for pattern, flags in runs:
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", pattern, "--force",
                               *flags, "--log-level=WARN"], cwd=root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"nbgrader generate_assignment {pattern} failed:\n{proc.stdout}\n{proc.stderr}")
    for assignment in assignments:
        made = sorted((course / assignment).glob("*.ipynb"))
        if not made:
            raise SystemExit(f"nbgrader generate_assignment made no notebook for {assignment}")
        print(f"course/{assignment}: " + ", ".join(p.name for p in made))
    return sorted(course.glob("*/*.ipynb"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "course"
    if command == "course":
        format_solutions()
        build_course(only=argv[1:] or None)
        return 0
    if command == "format":
        for path in format_solutions():
            print(f"normalised {path.relative_to(ROOT)}")
        return 0
    if command == "check":
        bad = format_solutions(check_only=True)
        for path in bad:
            print(f"not normalised: {path.relative_to(ROOT)} (run `make format`)")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
