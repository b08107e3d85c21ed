"""Every shell command of README.md runs as typed, in a plain terminal, from the course folder.

The fenced `bash` blocks are read from README.md and their commands run in order, each with bash,
in one copy of the repository (so `make course`, grading/ and dist/ never touch the developer's):
PATH without the environment's bin/, no activated environment, no AUTOGRADER_* variables. A command
runs unless SKIPPED says why not; a new command added to the README is run by default.
The copy's .venv hard-links the project's (a full copy where that is impossible) and its editable
install points at the copy, so the sandboxed grader sees the files it grades.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

README = ROOT / "README.md"
VENV = ROOT / ".venv"
# command (as its first words) -> why it is not run here
SKIPPED = {
    "make lab": "starts a JupyterLab server that runs until stopped",
    "make test": "the whole suite, which is what runs this test",
    ".venv/bin/python -m autograder grade NOTEBOOK.ipynb": "a synopsis: NOTEBOOK.ipynb and [options] are placeholders",
    ".venv/bin/python -m autograder grade-class grading/submitted [": "a synopsis: [options] are placeholders",
    "sudo mkdir -p /srv/nbgrader/exchange": "an administrator's step on a shared server (needs sudo and /srv)",
    "export AUTOGRADER_EXCHANGE=": "points the next commands at that shared exchange",
    "nbgrader fetch_assignment": "a student's command, run as another Unix user (tests/test_classroom_loop.py)",
    "nbgrader submit": "a student's command, run as another Unix user (tests/test_classroom_loop.py)",
    ".venv/bin/nbgrader release_feedback": "releases only submissions that came through collect; the README's hand-placed "
                                           "example has no submission_secret.txt (tests/test_classroom_loop.py runs it)",
    "nbgrader fetch_feedback": "a student's command, run as another Unix user (tests/test_classroom_loop.py)",
    "sudo -u postgres createuser": "needs a running PostgreSQL server (tests/test_gradebook_postgres.py starts one)",
    "export AUTOGRADER_DB_URL=": "points the next commands at that server (tests/test_gradebook_postgres.py does)",
    ".venv/bin/nbgrader generate_assignment 01_recurrence --force": "the PostgreSQL steps (tests/test_gradebook_postgres.py)",
    ".venv/bin/dask scheduler": "starts a Dask scheduler that runs until stopped (tests/test_dask.py starts one)",
    ".venv/bin/dask worker tcp://SCHEDULER": "SCHEDULER is a placeholder (tests/test_dask.py starts two workers)",
    ".venv/bin/python -m autograder grade-class grading/submitted --scheduler": "needs a Dask scheduler (tests/test_dask.py)",
    "sudo make hub": "make test runs `make hub` itself (as root, without sudo)",
    "sudo groupadd rnn-students": "an administrator's step: makes a system group (tests/test_jupyterhub.py makes its own users)",
    "sudo RNN_HUB_INSTRUCTORS=": "starts JupyterHub, which runs until stopped (tests/test_jupyterhub.py starts and stops one)",
}
# what some commands must print, beyond exiting with status 0
EXPECTED = {
    ".venv/bin/nbgrader validate solutions/": "Success! Your notebook passes all the tests.",
    ".venv/bin/nbgrader validate --invert": "Success! The notebook does not pass any tests.",
    "cat grading/gs/results/results.json": '"score": 0.0',
    "make course": "course/10_project",
}


def shell_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, body) of every ```bash / ```sh / ```shell block, indented ones included."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(bash|sh|shell|console)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start, body = len(m.group(1)), i + 1, []
        i += 1
        while not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:])
            i += 1
        blocks.append((start + 1, "\n".join(body)))
        i += 1
    return blocks


def commands(block: str) -> list[str]:
    """The commands of a block: one a line (a trailing backslash continues it), comments dropped."""
    found, pending = [], ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        found.append((pending + line).strip())
        pending = ""
    return found


def skip_reason(command: str) -> str:
    return next((why for start, why in SKIPPED.items() if command.startswith(start)), "")


ALL = [(f"README.md:{line}: {cmd.split('#')[0].strip()}", cmd)
       for line, block in shell_blocks(README.read_text(encoding="utf-8")) for cmd in commands(block)]


def test_the_readme_has_commands_and_each_skip_is_used():
    assert len(ALL) >= 12
    for start in SKIPPED:
        assert any(cmd.startswith(start) for _, cmd in ALL), f"SKIPPED names a command the README no longer has: {start}"
    for start in EXPECTED:
        assert any(cmd.startswith(start) for _, cmd in ALL), f"EXPECTED names a command the README no longer has: {start}"


def test_commands_are_split_as_bash_reads_them():
    block = "make a   # first\n# a comment\n\nmake b \\\n  --flag\n      # a comment under a command\nmake c"
    assert commands(block) == ["make a   # first", "make b    --flag", "make c"]
    assert shell_blocks("x\n  ```bash\n  ls\n  ```\n```python\nprint()\n```\n") == [(3, "ls")]


def plain_env() -> dict:
    """A terminal's environment: no virtual environment on PATH or activated, no grader settings."""
    bins = {str(VENV / "bin"), str(Path(sys.executable).parent)}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUTOGRADER_", "PYTEST_", "VIRTUAL_ENV", "MAKE")) and k not in ("MFLAGS", "PYTHON", "VENV")}
    env["PATH"] = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in bins)
    return env


def copy_of_the_repository(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    # a .venv that is a symbolic link (a git worktree sharing one) is copied as the folder it names:
    # copying the link would let the lines below rewrite the shared environment
    venv = VENV.resolve()
    if subprocess.run(["cp", "-al", str(venv), str(dest / ".venv")], capture_output=True).returncode != 0:
        shutil.rmtree(dest / ".venv", ignore_errors=True)
        shutil.copytree(venv, dest / ".venv", symlinks=True)
    assert not (dest / ".venv").is_symlink()
    # the editable install names the project's folder: point it at the copy (a new file, so the
    # hard-linked original is left alone)
    for pth in (dest / ".venv").glob("lib/python*/site-packages/__editable__.rnn_course-*.pth"):
        pth.unlink()
        pth.write_text(f"{dest}\n")
    return dest


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    if not (VENV / "bin" / "python").exists() or not Path(sys.executable).is_relative_to(VENV):
        pytest.skip("needs the project's .venv (run through `make test`)")
    return copy_of_the_repository(tmp_path_factory.mktemp("readme") / "course")


@pytest.mark.slow
@pytest.mark.parametrize("where,command", ALL, ids=[where for where, _ in ALL])
def test_readme_command_runs_as_typed(workspace, where, command):
    why = skip_reason(command)
    if why:
        pytest.skip(why)
    proc = subprocess.run(["bash", "-c", command], cwd=workspace, env=plain_env(), capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{where} failed with exit status {proc.returncode}:\n{output[-4000:]}"
    assert "command not found" not in output, output[-4000:]
    assert "Kernel is running over TCP without encryption" not in output
    for start, expected in EXPECTED.items():
        if command.startswith(start):
            assert expected in output, output[-4000:]


def test_make_help_lists_every_target():
    """`make help` names every target a user may type (venv and sandbox are steps of setup)."""
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    named = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("make ")}
    assert named == set(phony) - {"venv", "sandbox", "help"}
