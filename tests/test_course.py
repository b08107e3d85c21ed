"""The nbgrader pipeline: solutions/ is the source, course/ is generated from it and leaks nothing."""
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.build import build_course
from conftest import COURSE, ROOT, SOLUTIONS, gid, load, release_of, run, solution_paths, source
from executed import validate


def test_solutions_are_normalised():
    proc = run(["python", "-m", "autograder.build", "check"])
    assert proc.returncode == 0, proc.stdout


def test_solutions_have_no_outputs():
    for path in solution_paths():
        for cell in load(path)["cells"]:
            assert not cell.get("outputs") and cell.get("execution_count") is None, (path, gid(cell))


def test_solutions_hold_only_notebooks():
    """nbgrader releases every other file it does not ignore, and *.txt cannot be ignored (autograde
    and feedback must keep a submission's timestamp.txt): so solutions/ holds notebooks only."""
    others = [p for p in SOLUTIONS.rglob("*") if p.is_file() and p.suffix != ".ipynb"
              and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts]
    assert others == [], others


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """course/ regenerated from solutions/ in a scratch copy of the repository."""
    root = tmp_path_factory.mktemp("rebuild")
    shutil.copytree(SOLUTIONS, root / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "solutions" / "01_recurrence" / "answers.py").write_text("SECRET = 'solution text'\n")
    (root / "solutions" / "01_recurrence" / "key.md").write_text("A C B\n")
    build_course(root)
    return root


@pytest.mark.slow
def test_course_is_what_make_course_generates(rebuilt):
    """Student notebooks are generated, never hand-edited: course/ must equal a fresh build byte for byte."""
    committed = sorted(p.relative_to(COURSE) for p in COURSE.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(rebuilt / "course") for p in (rebuilt / "course").rglob("*") if p.is_file())
    assert committed == fresh, "run `make course` and commit course/"
    for rel in committed:
        assert (COURSE / rel).read_bytes() == (rebuilt / "course" / rel).read_bytes(), f"{rel} is stale: run `make course`"


@pytest.mark.slow
def test_generation_copies_no_other_files(rebuilt):
    released = [p.name for p in (rebuilt / "course").rglob("*") if p.is_file()]
    assert released and all(name.endswith(".ipynb") for name in released), released
    assert not (ROOT / "gradebook.db").exists(), "the gradebook must live in grading/, not the repository root"


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.stem)
def test_release_leaks_no_solution_or_hidden_test(solution):
    text = release_of(solution).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    blocks = r"### BEGIN (HIDDEN TESTS|SOLUTION)\n.*?### END (HIDDEN TESTS|SOLUTION)"
    public = "\n".join(re.sub(blocks, "", source(c), flags=re.S) for c in load(solution)["cells"])
    for cell in load(solution)["cells"]:
        src = source(cell)
        hidden = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", src, re.S)
        secret = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", src, re.S)
        for block in hidden + secret:
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#") and line not in public:
                    assert line not in text, f"{gid(cell)} leaks: {line}"


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.stem)
def test_every_graded_cell_has_a_stable_meaningful_grade_id(solution):
    for cell in load(release_of(solution))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            assert re.fullmatch(r"[a-z][a-z0-9_]+", meta["grade_id"]), meta["grade_id"]
            assert not re.fullmatch(r"cell-[0-9a-f]+", meta["grade_id"])


@pytest.mark.slow
@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.stem)
def test_nbgrader_validate_passes_the_solution_and_fails_every_test_of_the_release(solution):
    """nbgrader's Validator on the session's one run of each notebook (tests/executed.py): what
    `nbgrader validate` and `nbgrader validate --invert` report; the README's own commands run for real
    in tests/test_readme.py."""
    found = validate(solution)
    assert found == {}, found  # {} is what `nbgrader validate` prints as "Success!"
    found = validate(release_of(solution), invert=True)
    assert found == {}, found
    # and the verdicts can fail: the same runs judged the other way round
    assert validate(release_of(solution)).get("failed") and validate(solution, invert=True).get("passed")


def _points(solution):
    auto = manual = 0.0
    for cell in load(solution)["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            if cell["cell_type"] == "code":
                auto += float(meta.get("points", 0))
            else:
                manual += float(meta.get("points", 0))
    return auto, manual


def test_readme_course_table_lists_every_notebook_with_its_points():
    """The README's course table cannot drift from the notebooks: one row each, in order, points right."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## The course"):text.index("## For learners")]
    rows = [line for line in table.splitlines() if re.match(r"\|\s*\d\d\s*\|", line)]
    listed = [re.search(r"\(course/([^)]+)\.ipynb\)", row).group(1) for row in rows]
    assert listed == [f"{p.parent.name}/{p.stem}" for p in solution_paths()]
    for row, solution in zip(rows, solution_paths()):
        auto, manual = _points(solution)
        want = f"{auto:g} auto" + (f" + {manual:g} by hand" if manual else "")
        assert row.rstrip(" |").endswith(want), (row, want)


# -- opening and saving an untouched notebook changes nothing ----------------------------------------

@pytest.fixture(scope="module")
def kernel_info():
    """What JupyterLab writes into a notebook it opens: the kernel's language_info (kernel_info_reply)
    and the kernelspec's name, display name and language."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(tempfile.mkdtemp()) / "kernel-ipc"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.kernel_info(reply=True, timeout=60)
        spec = KernelSpecManager().get_kernel_spec("python3")
        yield {"language_info": reply["content"]["language_info"],
               "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"}}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for s in solution_paths() for p in (s, release_of(s))],
                         ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_a_notebook_stores_what_jupyterlab_writes_when_it_opens_it(path, kernel_info):
    stored = load(path)["metadata"]
    assert stored["kernelspec"] == kernel_info["kernelspec"]
    running = kernel_info["language_info"]
    if stored["language_info"].get("version") != running.get("version"):
        pytest.skip(f"the notebooks store Python {stored['language_info'].get('version')}, this kernel runs "
                    f"{running.get('version')}: on this Python JupyterLab updates the version when it opens them")
    assert stored["language_info"] == running


@pytest.mark.parametrize("path", [p for s in solution_paths() for p in (s, release_of(s))],
                         ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_saving_through_the_jupyter_server_writes_the_same_bytes(path, tmp_path):
    """JupyterLab saves through the server's contents manager: an untouched notebook comes back byte
    for byte."""
    from jupyter_server.services.contents.filemanager import FileContentsManager

    copy = tmp_path / path.name
    shutil.copy(path, copy)
    manager = FileContentsManager(root_dir=str(tmp_path))
    model = manager.get(path.name, content=True, type="notebook")
    manager.save({"type": "notebook", "format": "json", "content": model["content"]}, path.name)
    assert copy.read_bytes() == path.read_bytes()
