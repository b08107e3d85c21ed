"""Reading notebooks, finding a submission's assignment, and assembling what gets executed.

Everything that decides a grade comes from the solution notebook in `solutions/`: which cells are
tests, their source (hidden tests included), their points. From a submission only the code the
learner wrote is taken.
"""
from __future__ import annotations

import ast
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

CHECK_METHODS = ("close", "equal", "choice")
# A solution cell with this tag is a demonstration no grade depends on (e.g. training comparison models):
# graders skip it, in the reference run and in a submission: a plain cell when it is unchanged, a
# read-only one (not setup, not a test) always; a learner's Run All,
# nbgrader validate and nbgrader autograde still run it. (otter-grader's "ignore" cells, the same idea.)
SKIP_TAG = "skip-when-grading"
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


# CPython 3.11's AST constructor keeps global state: parsing from several threads at once (grade-class
# grades in threads) can fail with "SystemError: AST constructor recursion depth mismatch".
_AST_LOCK = threading.RLock()


def parse(source: str) -> ast.Module:
    with _AST_LOCK:
        return ast.parse(source)


class GradingInputError(Exception):
    """The input cannot be graded at all (the CLI prints it as one line and exits 2)."""


# -- reading -------------------------------------------------------------------------------------

def read_notebook(path: Path) -> dict:
    """Read a notebook file, or raise GradingInputError saying in one line what is wrong with it."""
    path = Path(path)
    if path.is_symlink():  # a link could point at a solution notebook or another student's work
        raise GradingInputError(f"{path}: is a symbolic link; submit the notebook file itself")
    if not path.exists():
        raise GradingInputError(f"{path}: no such file")
    if path.is_dir():
        raise GradingInputError(f"{path}: is a directory, not a notebook file")
    size = path.stat().st_size
    if size == 0:
        raise GradingInputError(f"{path}: the file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise GradingInputError(f"{path}: {size / 2**20:.0f} MiB is too large for a notebook "
                                f"(limit {MAX_NOTEBOOK_BYTES // 2**20} MiB)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GradingInputError(f"{path}: not UTF-8 text (byte {exc.start}), so not a notebook") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GradingInputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): "
                                f"the notebook file is damaged") from None
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        raise GradingInputError(f"{path}: valid JSON but not a Jupyter notebook (no cells)")
    if data.get("nbformat") != 4:
        data = _upgrade(path, text)
    cells = data.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) and isinstance(c.get("cell_type"), str)
                                              for c in cells):
        raise GradingInputError(f"{path}: not a readable Jupyter notebook (malformed cells)")
    return data


def _upgrade(path: Path, text: str) -> dict:
    """An nbformat 3 (or other old) notebook as version 4; nbformat is imported only here (it is slow)."""
    import nbformat

    try:
        return json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        raise GradingInputError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__})") from None


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    meta = meta.get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def source_of(cell) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


# -- the solution notebook --------------------------------------------------------------------------

@dataclass
class SolutionCell:
    index: int
    kind: str  # "test" | "answer" | "manual" | "locked" | "plain" | "markdown"
    source: str
    grade_id: str | None = None
    points: float = 0.0
    cell_type: str = "code"
    skip: bool = False  # tagged SKIP_TAG: not run when graded

    @property
    def hidden_lines(self) -> set[int]:
        """Line numbers (from 1) inside the cell's ### BEGIN/END HIDDEN TESTS region."""
        lines, inside = set(), False
        for number, line in enumerate(self.source.splitlines(), 1):
            marker = line.strip()
            if marker == "### BEGIN HIDDEN TESTS":
                inside = True
            elif marker == "### END HIDDEN TESTS":
                inside = False
            elif inside:
                lines.add(number)
        return lines

    @property
    def title(self) -> str:
        """The first line of a test cell's docstring, or the grade_id."""
        if self.kind == "test":
            try:
                doc = ast.get_docstring(parse(self.source))
            except SyntaxError:
                doc = None
            if doc:
                return doc.strip().splitlines()[0]
        return self.grade_id or f"cell {self.index}"


@dataclass
class Solution:
    assignment: str
    name: str  # notebook file stem
    path: Path
    cells: list[SolutionCell] = field(default_factory=list)

    @property
    def tests(self) -> list[SolutionCell]:
        return [c for c in self.cells if c.kind == "test"]

    @property
    def manual(self) -> list[SolutionCell]:
        return [c for c in self.cells if c.kind == "manual"]

    @property
    def skipped_sources(self) -> set[str]:
        """The sources (stripped) of the cells graders skip."""
        return {c.source.strip() for c in self.cells if c.skip}

    @property
    def grade_ids(self) -> set[str]:
        return {c.grade_id for c in self.cells if c.grade_id}

    @property
    def max_auto(self) -> float:
        return sum(c.points for c in self.tests)

    @property
    def max_manual(self) -> float:
        return sum(c.points for c in self.manual)


def classify(cell) -> str:
    meta = nbgrader_meta(cell)
    is_code = cell.get("cell_type") == "code"
    grade, solution, locked = bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("locked"))
    if grade and solution:
        return "manual"
    if grade and is_code:
        return "test"
    if solution and is_code:
        return "answer"
    if locked and is_code:
        return "locked"
    return "plain" if is_code else "markdown"


def load_solution(path: Path) -> Solution:
    nb = read_notebook(path)
    sol = Solution(assignment=path.parent.name, name=path.stem, path=path)
    for i, cell in enumerate(nb["cells"]):
        kind = classify(cell)
        points = float(nbgrader_meta(cell).get("points", 0) or 0)
        tags = (cell.get("metadata") or {}).get("tags") or []
        # a demo no grade is tied to: a plain cell, or a read-only one (its source always comes from here)
        skip = SKIP_TAG in tags and (kind == "plain" and grade_id(cell) is None
                                     or kind == "locked" and grade_id(cell) not in (None, "setup"))
        sol.cells.append(SolutionCell(i, kind, source_of(cell), grade_id(cell), points, cell["cell_type"], skip))
    return sol


# Assignment folders of solutions/ that hold revision notebooks: released to course/ like the others (by
# `nbgrader generate_assignment --no-db`), but with no graded cell, never in the gradebook, a Gradescope zip,
# a benchmark or a test catalog, and never graded. Every tool that walks the assignments asks here.
REVISION_ASSIGNMENTS = ("revision",)


def is_revision(assignment: str) -> bool:
    return assignment in REVISION_ASSIGNMENTS


def _all_notebooks(solutions_dir: Path) -> list[Path]:
    return sorted(p for p in Path(solutions_dir).glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def solution_notebooks(solutions_dir: Path) -> list[Path]:
    """The graded assignments' notebooks, `<assignment>/<notebook>.ipynb` (revision notebooks left out)."""
    return [p for p in _all_notebooks(solutions_dir) if not is_revision(p.parent.name)]


def revision_notebooks(solutions_dir: Path) -> list[Path]:
    """The ungraded revision notebooks, `<revision assignment>/<notebook>.ipynb`."""
    return [p for p in _all_notebooks(solutions_dir) if is_revision(p.parent.name)]


def locate_solution(submission_path: Path, nb, solutions_dir: Path, assignment: str | None = None) -> Solution:
    """Find the solution notebook a submission belongs to, or raise GradingInputError.

    By path first (`<assignment>/<notebook>.ipynb`, or just the notebook's file name), then by
    the graded cells it contains, so a renamed download still finds its assignment, and a
    notebook of another assignment is refused rather than graded as zero.
    """
    all_paths = solution_notebooks(solutions_dir)
    revision = {p.stem for p in revision_notebooks(solutions_dir)}
    if (assignment is not None and is_revision(assignment)) or \
            (assignment is None and Path(submission_path).stem in revision):
        raise GradingInputError(f"{submission_path}: a revision notebook: it has nothing to grade "
                                f"(its quiz answers itself in the notebook)")
    if not all_paths:
        raise GradingInputError(f"no solution notebooks under {solutions_dir}")
    assignments = sorted({p.parent.name for p in all_paths})
    if assignment is not None and assignment not in assignments:
        raise GradingInputError(f"unknown assignment {assignment!r}; known: {', '.join(assignments)}")
    candidates = [p for p in all_paths if assignment is None or p.parent.name == assignment]

    submitted_ids = {grade_id(c) for c in nb["cells"]} - {None}
    solutions = {p: load_solution(p) for p in all_paths}
    overlap = {p: len(submitted_ids & solutions[p].grade_ids) for p in all_paths}
    best_overall = max(all_paths, key=lambda p: overlap[p])

    stem = Path(submission_path).stem
    by_name = [p for p in candidates if p.stem == stem]
    if len(by_name) > 1:
        by_name = [p for p in by_name if p.parent.name == Path(submission_path).parent.name] or by_name
    if by_name:
        chosen = by_name[0]
        if overlap[chosen] == 0 and overlap[best_overall] > 0:
            raise GradingInputError(
                f"{submission_path}: this is notebook {best_overall.stem!r} of assignment "
                f"{best_overall.parent.name!r}, not {chosen.stem!r} of {chosen.parent.name!r}")
        return solutions[chosen]
    ranked = sorted(candidates, key=lambda p: overlap[p], reverse=True)
    if ranked and overlap[ranked[0]] > 0:
        if overlap[best_overall] > overlap[ranked[0]]:
            raise GradingInputError(
                f"{submission_path}: this is notebook {best_overall.stem!r} of assignment "
                f"{best_overall.parent.name!r}, not of {assignment!r}")
        return solutions[ranked[0]]
    where = f"assignment {assignment!r}" if assignment else "any assignment"
    raise GradingInputError(f"{submission_path}: not a notebook of {where} (no graded cells in common); "
                            f"known assignments: {', '.join(assignments)}")


# -- test cells ---------------------------------------------------------------------------------------

class _StripWant(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr in CHECK_METHODS:
            node.keywords = [k for k in node.keywords if k.arg != "want"]
        return node


def strip_references(test_source: str) -> str:
    """A test cell's source with every `want=` removed: what may run beside student code."""
    with _AST_LOCK:
        return ast.unparse(_StripWant().visit(ast.parse(test_source)))


def lint_test_cell(source: str) -> list[str]:
    """Authoring rules for test cells that keep references out of the student's process."""
    problems = []
    tree = parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHECK_METHODS:
            if len(node.args) > 2:
                problems.append(f"line {node.lineno}: pass want= by keyword")
            for kw in node.keywords:
                if kw.arg == "want" and not isinstance(kw.value, ast.Lambda):
                    try:
                        ast.literal_eval(kw.value)
                    except ValueError:
                        problems.append(f"line {node.lineno}: want= must be a lambda or a literal, "
                                        f"so that no reference is computed outside it")
                if kw.arg == "got" and not isinstance(kw.value, ast.Lambda):
                    problems.append(f"line {node.lineno}: got= must be a lambda")
    return problems


# -- programs -----------------------------------------------------------------------------------------

@dataclass
class ProgramCell:
    kind: str  # "code" | "test"
    source: str
    label: str  # for messages: grade_id or "cell N"


def solution_program(sol: Solution) -> list[ProgramCell]:
    """The solution notebook's code cells, tests with their references: the trusted run."""
    return [ProgramCell("test" if c.kind == "test" else "code", c.source, c.grade_id or f"cell {c.index + 1}")
            for c in sol.cells if c.cell_type == "code" and not c.skip]


def student_program(sol: Solution, nb) -> tuple[list[ProgramCell], list[str]]:
    """The code to run for a submission, and notes about what was repaired.

    The submission's own code cells run in its order; locked cells (setup, tests) are taken from
    the solution whatever the submission holds, and any the learner deleted are put back after
    the nearest cell that precedes them in the solution (at the start if none does, e.g. the setup
    cell). Tests run without their references. A plain cell that still holds a demonstration the
    solution tags SKIP_TAG does not run (edited, it runs as the learner's code); a read-only one
    tagged so never runs.
    """
    skipped = {c.source.strip() for c in sol.cells if c.skip and c.kind == "plain"}
    by_id = {c.grade_id: c for c in sol.cells if c.grade_id}
    restored_kinds = ("test", "locked")
    program: list[ProgramCell] = []
    placed: set[str] = set()
    notes: list[str] = []
    anchor_pos: dict[str, int] = {}

    for n, cell in enumerate(nb["cells"], start=1):
        gid = grade_id(cell)
        sol_cell = by_id.get(gid) if gid else None
        if sol_cell is not None and sol_cell.kind in restored_kinds:
            if gid in placed:
                continue
            placed.add(gid)
            if not sol_cell.skip:
                program.append(_restored(sol_cell))
            anchor_pos[gid] = len(program)
            continue
        if cell.get("cell_type") != "code":
            if sol_cell is not None and gid not in placed:
                anchor_pos[gid] = len(program)
                placed.add(gid)
            continue
        if sol_cell is not None and gid not in placed:
            placed.add(gid)
            anchor_pos[gid] = len(program) + 1
        elif sol_cell is None and source_of(cell).strip() in skipped:
            continue
        program.append(ProgramCell("code", source_of(cell), gid or f"cell {n}"))

    for c in sol.cells:
        if c.kind not in restored_kinds or c.grade_id in placed or c.skip:
            continue
        position = 0  # nothing of the solution precedes it (the setup cell): it runs first
        for prev in reversed(sol.cells[: c.index]):
            if prev.grade_id in anchor_pos:
                position = anchor_pos[prev.grade_id]
                break
        program.insert(position, _restored(c))
        for k, v in anchor_pos.items():
            if v >= position:
                anchor_pos[k] = v + 1
        anchor_pos[c.grade_id] = position + 1
        placed.add(c.grade_id)
        notes.append(f"cell {c.grade_id} was missing from the notebook and was put back")
    return program, notes


def _restored(c: SolutionCell) -> ProgramCell:
    if c.kind == "test":
        return ProgramCell("test", strip_references(c.source), c.grade_id)
    return ProgramCell("code", c.source, c.grade_id)


def manual_answer_changed(sol: Solution, nb, gid: str) -> bool | None:
    """Whether the learner wrote something in a manually graded cell (None if the cell is gone)."""
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            text = source_of(cell).strip()
            return bool(text) and text != "YOUR ANSWER HERE"
    return None
