"""`make gradescope`: the autograder zips, and their two scripts run the way Gradescope runs them.

A temporary folder stands in for /autograder (AUTOGRADER_GS_ROOT): the zip unpacked into source/,
the student's files in submission/, results/results.json written by run_autograder. setup.sh and
run_autograder use this test run's Python (AUTOGRADER_GS_PYTHON), so setup.sh installs nothing
but still computes and protects the reference cache.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope
from catalog import FULL_01
from conftest import ROOT, make_submission, release_of, run, solution_paths

ASSIGNMENT = "01_recurrence"
NOTEBOOK = "01_the_rnn_recurrence.ipynb"
TOP_LEVEL = {"setup.sh", "run_autograder", "requirements.txt", "pyproject.toml", "LICENSE", "LICENSE-content",
             "autograder", "rnnlab", "data", "solutions"}


def build_cli(out: Path, *assignments) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "autograder.gradescope", *assignments, "--out", str(out)])


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory) -> Path:
    return gradescope.build(ASSIGNMENT, tmp_path_factory.mktemp("dist"))


# -- the zip --------------------------------------------------------------------------------------------

def test_default_build_makes_one_identical_zip_per_assignment(tmp_path):
    first, second = build_cli(tmp_path / "a"), build_cli(tmp_path / "b")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assignments = sorted(p.parent.name for p in solution_paths())  # graded ones: no zip for revision/
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"{a}.zip" for a in assignments]
    for name in assignments:
        assert (tmp_path / "a" / f"{name}.zip").read_bytes() == (tmp_path / "b" / f"{name}.zip").read_bytes()


def test_zip_holds_the_scripts_and_the_grader_and_nothing_else(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and len(names) == len(set(names))
    assert {n.split("/")[0] for n in names} == TOP_LEVEL
    for bad in ("__pycache__", ".pyc", ".venv", ".ipynb_checkpoints", "egg-info"):
        assert not [n for n in names if bad in n], bad
    for prefix in ("tests/", "grading/", "course/", "dist/", ".git"):
        assert not [n for n in names if n.startswith(prefix)], prefix
    assert [n for n in names if n.startswith("solutions/")] == [f"solutions/{ASSIGNMENT}/{NOTEBOOK}"]
    # the whole grader package is there (a missing module would only show on Gradescope)
    assert {f"autograder/{p.name}" for p in (ROOT / "autograder").glob("*.py")} <= set(names)
    for info in infos:
        assert info.date_time == gradescope.ZIP_TIME
        mode = info.external_attr >> 16
        assert mode == (0o100755 if info.filename in ("setup.sh", "run_autograder") else 0o100644), info.filename


def test_scripts_are_valid_bash_with_the_assignment_filled_in(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        scripts = {name: zf.read(name).decode() for name in ("setup.sh", "run_autograder")}
    for name, text in scripts.items():
        assert text.startswith("#!/usr/bin/env bash\n") and "\r" not in text
        assert not re.search(r"@[A-Z_]+@", text), f"{name}: a placeholder was left"
        proc = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
    assert f"--run {ASSIGNMENT} " in scripts["run_autograder"]
    pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch=="))
    setup = scripts["setup.sh"]
    assert f'"{pin}" --index-url https://download.pytorch.org/whl/cpu' in setup
    # the CPU build first, then the rest: the pin in requirements.txt finds torch installed
    assert setup.index("--index-url") < setup.index("-r \"$SRC/requirements.txt\"") < setup.index("--precompute")
    assert "bubblewrap" in setup and "--no-deps -e" in setup


def test_zip_carries_the_licences_and_the_data_credits(zip_path):
    """The zip redistributes code (MIT), a solution notebook (CC BY 4.0) and third-party data: each with its terms."""
    with zipfile.ZipFile(zip_path) as zf:
        for name in ("LICENSE", "LICENSE-content", "data/README.md"):
            assert zf.read(name) == (ROOT / name).read_bytes(), name
        data_files = {n for n in zf.namelist() if n.startswith("data/") and n != "data/README.md"}
    credits = (ROOT / "data" / "README.md").read_text()
    for name in data_files - {"data/fetch.py"}:
        assert f"`{name.removeprefix('data/')}`" in credits, f"{name} has no source and licence in data/README.md"


def test_setup_without_the_solutions_says_where_it_looked(tmp_path):
    script = tmp_path / "setup.sh"
    script.write_text(gradescope.render(gradescope.SETUP_SH, ASSIGNMENT, "torch==2.13.0"))
    (tmp_path / "gs").mkdir()
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, AUTOGRADER_GS_ROOT="gs", AUTOGRADER_GS_PYTHON=sys.executable))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"setup.sh: no solution notebook in {tmp_path}/gs/source/solutions/{ASSIGNMENT}/: "
                                   f"unzip the autograder zip into {tmp_path}/gs/source (the root is "
                                   f"$AUTOGRADER_GS_ROOT, default /autograder)")


def test_unknown_assignment_is_refused_in_one_line(tmp_path):
    proc = build_cli(tmp_path, "99_nope")
    assert proc.returncode == 2
    known = ", ".join(sorted({p.parent.name for p in solution_paths()}))
    assert proc.stderr.strip() == f"cannot build: unknown assignment '99_nope' (no notebook in solutions/99_nope/); known: {known}"
    assert not list(tmp_path.iterdir())


# -- running it as Gradescope does ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def unpacked(zip_path, tmp_path_factory) -> Path:
    """The zip unpacked as Gradescope unpacks it into /autograder/source (setup.sh not run)."""
    source = tmp_path_factory.mktemp("unpacked") / "source"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
    return source


def gs_env(root: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_CACHE", "AUTOGRADER_SOLUTIONS")}
    env.update(AUTOGRADER_GS_ROOT=str(root), AUTOGRADER_GS_PYTHON=sys.executable)
    env.update(extra)
    return env


def gs_root(source: Path, tmp_path: Path) -> Path:
    """A fresh /autograder: source/ (a copy), an empty submission/, and run_autograder at the root."""
    root = tmp_path / "autograder"
    shutil.copytree(source, root / "source", symlinks=True)
    (root / "submission").mkdir()
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    return root


def run_autograder(root: Path, **env) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True, text=True, timeout=600,
                          env=gs_env(root, **env))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    return proc, results


def no_access_for_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IRWXO == 0 for p in [path, *path.rglob("*")])


@pytest.fixture(scope="module")
def set_up(unpacked, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """source/ after setup.sh: the references computed and cached, solutions and cache protected."""
    root = tmp_path_factory.mktemp("setup")
    shutil.copytree(unpacked, root / "source")
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", capture_output=True,
                          text=True, timeout=900, env=gs_env(root))
    return root / "source", proc


@pytest.mark.slow
def test_setup_caches_the_references_and_hides_them(set_up):
    source, proc = set_up
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"references of {ASSIGNMENT}/{Path(NOTEBOOK).stem}: 8 test cells" in proc.stdout
    assert "sandbox:" in proc.stdout
    assert [p.name.split("--")[:2] for p in (source / "grading" / "cache").iterdir()] == [[ASSIGNMENT, Path(NOTEBOOK).stem]]
    assert no_access_for_others(source / "solutions") and no_access_for_others(source / "grading")


@pytest.mark.slow
def test_correct_submission_gets_full_autograded_points(set_up, first_solution, tmp_path):
    root = gs_root(set_up[0], tmp_path)
    cached = sorted((root / "source" / "grading" / "cache").iterdir())
    make_submission(first_solution, root / "submission" / NOTEBOOK)
    proc, results = run_autograder(root)
    assert results["score"] == sum(FULL_01.values()) == 19
    auto = [t for t in results["tests"] if "manually graded" not in t.get("tags", [])]
    assert sorted(t["name"].split(":")[0] for t in auto) == sorted(FULL_01)
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in auto)
    assert "Autograded total: 19 / 19" in proc.stdout  # the text report, for the instructor's stdout view
    # graded with the references setup.sh cached, by the zip's own code
    assert sorted((root / "source" / "grading" / "cache").iterdir()) == cached
    assert no_access_for_others(root / "source" / "solutions")


@pytest.mark.slow
def test_blank_released_notebook_scores_zero(set_up, first_solution, tmp_path):
    root = gs_root(set_up[0], tmp_path)
    shutil.copy(release_of(first_solution), root / "submission" / NOTEBOOK)
    _, results = run_autograder(root)
    assert results["score"] == 0
    assert sum(t["max_score"] for t in results["tests"]) == 22 and len(results["tests"]) == len(FULL_01) + 1


def submission_files(case: str, submission: Path) -> None:
    if case == "empty_file":
        (submission / NOTEBOOK).write_text("")
    elif case == "invalid_json":
        (submission / NOTEBOOK).write_text('{"cells": [')
    elif case == "no_notebook":
        (submission / "answers.txt").write_text("see attached")
    elif case == "several_notebooks":
        (submission / "draft.ipynb").write_text("{}")
        (submission / "final.ipynb").write_text("{}")
    elif case == "link_to_solution":
        (submission / NOTEBOOK).symlink_to(submission.parent / "source" / "solutions" / ASSIGNMENT / NOTEBOOK)
    elif case == "matching_name_preferred":
        (submission / "scratch.ipynb").write_text("{}")
        (submission / NOTEBOOK).write_text("")


BAD_SUBMISSIONS = {
    "empty_file": f"Your submission could not be graded: {NOTEBOOK}: the file is empty",
    "invalid_json": f"Your submission could not be graded: {NOTEBOOK}: not valid JSON (line 1, column 12): "
                    f"the notebook file is damaged",
    "nothing": f"No notebook (.ipynb file) found in your submission (the submission is empty): upload {NOTEBOOK}.",
    "no_notebook": f"No notebook (.ipynb file) found in your submission (received: answers.txt): upload {NOTEBOOK}.",
    "several_notebooks": "Your submission has 2 notebooks (draft.ipynb, final.ipynb) and the autograder cannot "
                         f"tell which one to grade: submit only {NOTEBOOK}.",
    "link_to_solution": f"Your submission contains a link instead of a notebook ({NOTEBOOK}): upload the file itself.",
    "matching_name_preferred": f"Your submission could not be graded: {NOTEBOOK}: the file is empty",
}


@pytest.mark.parametrize("case", sorted(BAD_SUBMISSIONS))
def test_bad_submission_still_gets_a_valid_results_json(case, unpacked, tmp_path):
    root = gs_root(unpacked, tmp_path)
    submission_files(case, root / "submission")
    proc, results = run_autograder(root)
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"] == BAD_SUBMISSIONS[case]
    assert str(root) not in results["output"]
    assert BAD_SUBMISSIONS[case] in proc.stdout
    assert no_access_for_others(root / "source" / "solutions")


def test_broken_environment_still_gets_a_valid_results_json(unpacked, tmp_path):
    root = gs_root(unpacked, tmp_path)
    shutil.copy(ROOT / "course" / ASSIGNMENT / NOTEBOOK, root / "submission" / NOTEBOOK)
    proc, results = run_autograder(root, AUTOGRADER_GS_PYTHON=str(tmp_path / "no-such-python"))
    assert results["score"] == 0 and results["tests"] == []
    assert "could not start" in results["output"] and "tell your instructor" in results["output"]
    assert "wrote no results.json" in proc.stderr


def test_grade_that_runs_too_long_is_stopped_with_a_message(unpacked, tmp_path):
    root = gs_root(unpacked, tmp_path)
    shutil.copy(ROOT / "course" / ASSIGNMENT / NOTEBOOK, root / "submission" / NOTEBOOK)
    _, results = run_autograder(root, AUTOGRADER_GS_TIMEOUT="0.5")
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"] == f"Grading {NOTEBOOK} took longer than 0.5 s and was stopped. Does a cell run forever?"
