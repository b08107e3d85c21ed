"""Each notebook executed once per test session, the way `nbgrader validate` executes it, and shared.

`executed(path)` runs a notebook through nbgrader's own validation preprocessors (ClearOutput, then
Execute with NBGRADER_VALIDATING=1), once per test session: every test that needs the run reads the
same result. Under pytest-xdist the processes share it through the session's common temporary folder,
one file per notebook and content, made by whichever process asks first while the others wait on its
lock. `validate(path, invert=...)` is nbgrader's Validator judging that shared run, so a test gets what
`nbgrader validate [--invert] path` prints without executing the notebook a second time (the README's
own `nbgrader validate` commands still run for real in tests/test_readme.py).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbgrader import utils
from nbgrader.validator import Validator
from traitlets.config import Config

EXECUTE_TIMEOUT = 120  # seconds per cell, as nbgrader's Execute counts them


def _store() -> Path:
    folder = Path(os.environ["AUTOGRADER_TEST_SHARED"]) / "executed"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _config() -> Config:
    config = Config()
    config.Execute.timeout = EXECUTE_TIMEOUT
    return config


def _run_all(nb, path: Path):
    """JupyterLab's Run All in a learner's kernel: every cell in order, stopping at the first error."""
    client = NotebookClient(nb, timeout=EXECUTE_TIMEOUT, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError:
        pass  # the notebook keeps the outputs up to the failing cell, as JupyterLab shows them
    return nb


def executed(path: Path, mode: str = "validate") -> tuple[nbformat.NotebookNode, float]:
    """(the notebook after the run, seconds the run took). mode "validate": nbgrader's validation run
    (every cell, errors or not, under NBGRADER_VALIDATING=1); "run_all": a learner's Run All."""
    if mode not in ("validate", "run_all"):
        raise ValueError(f"unknown mode {mode!r}")
    path = Path(path).resolve()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    target = _store() / f"{path.parent.name}--{path.stem}--{mode}--{digest}.json"
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process executes, the others wait and read its result
        if not target.exists():
            nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
            started = time.monotonic()
            if mode == "run_all":
                nb = _run_all(nb, path)
            else:
                with utils.chdir(str(path.parent)):
                    nb = Validator(config=_config())._preprocess(nb)
            record = {"seconds": time.monotonic() - started, "notebook": nb}
            partial = target.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(record), encoding="utf-8")
            os.replace(partial, target)
    record = json.loads(target.read_text(encoding="utf-8"))
    return nbformat.from_dict(record["notebook"]), record["seconds"]


class _SharedRun(Validator):
    """nbgrader's Validator, judging the shared run instead of executing the notebook again."""

    shared_run = None

    def _preprocess(self, nb):
        return self.shared_run


def validate(path: Path, invert: bool = False) -> dict:
    """What nbgrader's Validator finds ({} when `nbgrader validate` prints "Success!")."""
    validator = _SharedRun(config=_config(), invert=invert)
    validator.shared_run = executed(path)[0]
    return validator.validate(str(Path(path).resolve()))
