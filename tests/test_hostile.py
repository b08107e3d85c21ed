"""Hostile submissions: every attack is graded to exactly what its honest part deserves.

Each submission is the released notebook 01 with a few answer cells replaced (tests/hostile.py
holds the attacks and the scores they deserve). For every grading the suite checks that
- grading finishes (within a time bound) with the per-test scores the honest part deserves;
- the reason is reported (in the notes or the failing test's lines);
- nothing outside the grader's output changed: no file added to or removed from the repository, no
  file in it edited to hold the attack's marker (tests/ excepted; other edits are concurrent work), no
  file named with the marker in /tmp, /dev/shm, /var/tmp, the home or the worker's scratch;
- no process survives: no `sleep <unique number>` anywhere, nothing under the worker but its server.

Most submissions share one sandboxed worker (the reference cache is per test session), which is
also under test: each job must leave nothing for the next one. Bad files go through the CLI.

A known hole is marked xfail(strict=True, raises=KnownHole): the test raises KnownHole only when the
hole is the *only* thing that failed, so any other regression in the same test still fails it.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

import hostile
from autograder import sandbox
from autograder.grade import Limits, grade_notebook
from autograder.notebooks import load_solution
from autograder.values import partial_score
from autograder.worker import Worker
from catalog import FULL_01, WRONG_01, expected_01
from conftest import SOLUTIONS, make_submission, run
from hostile import (ANS, ATTACKS, RIGHT_IO, ROOT, SOLUTION, TOTAL, WRONG_PULSE, Attack, kill_pids, repo_changes,
                     snapshot, survivors, traces, unique, worker_extras)

pytestmark = pytest.mark.slow

NOTEBOOK = SOLUTION.name
ASSIGNMENT = SOLUTION.parent.name


class KnownHole(Exception):
    """Raised instead of AssertionError when only the documented hole of an attack showed up."""


def _sandbox_reason() -> str:
    if sandbox.mode() == "off":
        return "AUTOGRADER_SANDBOX=off"
    return sandbox.available()


SANDBOX_WHY = _sandbox_reason()
needs_sandbox = pytest.mark.skipif(bool(SANDBOX_WHY), reason=f"needs the bubblewrap sandbox: {SANDBOX_WHY}")


def scores(result) -> dict:
    return {t.grade_id: t.score for t in result.tests if not t.manual}


def feedback(result) -> str:
    return "\n".join(result.notes + [line for t in result.tests for line in t.lines])


def submission(tmp_path, overrides=None, name=NOTEBOOK) -> Path:
    return make_submission(SOLUTION, tmp_path / ASSIGNMENT / name, overrides)


_ORDER = [c.grade_id for c in load_solution(SOLUTION).cells if c.grade_id]


def earlier_tests(cell: str) -> list[str]:
    """Test grade_ids that come before answer cell `cell` in the notebook."""
    return [g for g in _ORDER[:_ORDER.index(cell)] if g in FULL_01]


# -- the checks every hostile grading must pass -----------------------------------------------------

def grade_and_check(worker, path: Path, attack: Attack, mark: str, sleep: str) -> tuple[dict, object]:
    """Grade `path` on `worker`; return ({check: [problems]}, result)."""
    problems: dict[str, list[str]] = {}
    before = snapshot()
    started = time.monotonic()
    result = None
    try:
        result = grade_notebook(path, worker=worker, limits=attack.limits or Limits())
    except Exception as exc:  # noqa: BLE001 - a grader that raises is exactly what this reports
        problems.setdefault("grading", []).append(f"grade_notebook raised {type(exc).__name__}: {str(exc)[:300]}")
    elapsed = time.monotonic() - started
    if result is not None:
        got, want = scores(result), attack.expected()
        if attack.exact:
            if got != want:
                problems.setdefault("scores", []).append(f"scores {got} != deserved {want}")
        else:
            first = min((c for c in attack.overrides), key=_ORDER.index)
            early = {g: got[g] for g in earlier_tests(first)}
            if early != {g: want[g] for g in early}:
                problems.setdefault("scores", []).append(f"tests before {first}: {early} != {want}")
            over = {g: s for g, s in got.items() if s > want[g]}
            if over:
                problems.setdefault("scores", []).append(f"more than deserved: {over}")
        text = feedback(result)
        missing = [r for r in attack.reason if not any(alt in text for alt in r.split("|"))]
        if missing:
            problems.setdefault("reason", []).append(f"no {missing} in the feedback:\n{text[:3000]}")
        if not attack.notes_ok and result.notes:
            problems.setdefault("reason", []).append(f"benign noise produced notes: {result.notes}")
        if elapsed > attack.max_seconds:
            problems.setdefault("time", []).append(f"grading took {elapsed:.1f} s (bound {attack.max_seconds} s)")
    time.sleep(0.2)
    changed = repo_changes(before, snapshot(), mark)
    if changed:
        problems.setdefault("files", []).append(f"files changed in the repository: {changed}")
    left = traces(mark, getattr(worker, "scratch", None))
    if left:
        problems.setdefault("files", []).append(f"files left outside the grader's output: {left}")
    alive = survivors(sleep)
    if alive:
        kill_pids(alive)
        problems.setdefault("processes", []).append(f"`sleep {sleep}` survived grading: pids {alive}")
    extra = worker_extras(worker)
    if extra:
        problems.setdefault("processes", []).append(f"processes left under the worker: {extra}")
    return problems, result


def verdict(problems: dict, attack: Attack) -> None:
    if not problems:
        return
    text = "\n".join(f"[{k}] {p}" for k, ps in problems.items() for p in ps)
    if attack.hole and set(problems) <= set(attack.hole_in):
        raise KnownHole(f"{attack.hole}\n{text}")
    raise AssertionError(f"{attack.name}:\n{text}")


def _param(attack: Attack):
    marks = [needs_sandbox] if attack.sandbox else []
    if attack.hole:
        marks.append(pytest.mark.xfail(raises=KnownHole, strict=True, reason=f"known hole: {attack.hole}"))
    return pytest.param(attack, id=attack.name, marks=marks)


@pytest.mark.parametrize("attack", [_param(a) for a in ATTACKS])
def test_attack(attack, worker, tmp_path):
    mark, sleep = unique()
    path = submission(tmp_path, attack.fill(mark, sleep))
    problems, _ = grade_and_check(worker, path, attack, mark, sleep)
    verdict(problems, attack)


def test_the_catalogue_is_built_on_real_answer_cells():
    cells = set(ANS)
    for attack in ATTACKS:
        assert set(attack.overrides) <= cells, (attack.name, set(attack.overrides) - cells)
        assert set(attack.expect) <= set(FULL_01), attack.name
    assert len(ATTACKS) >= 30


# -- an in-kernel cheat planted early can only cost its author -----------------------------------------

SABOTAGE = ANS["mcq_rnn_purpose"] + '''
def _blank(lines):
    return ["pass\\n"] if any("Check(" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_blank)
'''


def test_an_early_input_transformer_earns_nothing(worker, tmp_path):
    """nbgrader's attack a5 (every later test cell rewritten to `pass`) scores full marks there; here
    no test records anything, so no test scores, and each says it did not run."""
    mark, sleep = unique()
    attack = Attack("early_input_transformer", {"mcq_rnn_purpose": SABOTAGE}, {}, exact=False)
    problems, result = grade_and_check(worker, submission(tmp_path, attack.overrides), attack, mark, sleep)
    verdict(problems, attack)
    assert all(s == 0 for s in scores(result).values()), scores(result)
    assert all("not run" in t.lines[0] for t in result.tests if not t.manual)


# -- the sandbox hides the course's secrets ------------------------------------------------------------

def _disk_probe(tmp_path):
    other = submission(tmp_path / "other-student")  # another student's work, on the grader's disk
    cache = os.environ.get("AUTOGRADER_CACHE", str(ROOT / "grading" / "cache"))
    overrides = hostile.disk_probe(str(other), cache)
    return submission(tmp_path / "prober", {k: v.replace("@ROOT@", str(ROOT)) for k, v in overrides.items()})


@needs_sandbox
def test_solutions_gradebook_references_and_other_submissions_are_invisible(worker, tmp_path):
    """Each probed answer is right only if the read succeeded (solutions/ by absolute path and walking
    up from the working directory; grading/gradebook.db; the reference cache; another submission)."""
    mark, sleep = unique()
    attack = Attack("disk_probe", {"mcq_rnn_purpose": "", "mcq_rnn_io": "", "mcq_rnn_constructor": ""},
                    hostile.DISK_PROBE_EXPECT)
    problems, result = grade_and_check(worker, _disk_probe(tmp_path), attack, mark, sleep)
    verdict(problems, attack)


def test_the_disk_probe_works_without_the_sandbox(tmp_path):
    """The control: unsandboxed (and as root here), the same probe reads the solutions, the references
    and the other submission, so the test above is not vacuous."""
    if os.geteuid() != 0:
        pytest.skip("the control needs a grader that can read everything (root)")
    with Worker(sandboxed=False) as plain:
        result = grade_notebook(_disk_probe(tmp_path), worker=plain)
    got = scores(result)
    assert got["test_mcq_rnn_purpose"] == FULL_01["test_mcq_rnn_purpose"], "solutions/ should be visible"
    assert got["test_mcq_rnn_constructor"] == FULL_01["test_mcq_rnn_constructor"], "the other submission should be readable"
    assert got["test_mcq_rnn_io"] >= FULL_01["test_mcq_rnn_io"] / 2, "the reference cache should be readable"


# -- one job leaves nothing for the next on the same worker -------------------------------------------

LEAVE = RIGHT_IO + '''
import os, subprocess
for _d in (os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm", os.environ.get("TMPDIR", "/tmp")):
    try:
        with open(os.path.join(_d, "left-@MARK@"), "w") as _f:
            _f.write("for the next one")
        os.chmod(os.path.join(_d, "left-@MARK@"), 0o000)
        os.makedirs(os.path.join(_d, "dir-@MARK@", "sub"), exist_ok=True)
        os.chmod(os.path.join(_d, "dir-@MARK@"), 0o500)
    except OSError:
        pass
subprocess.Popen(["sleep", "@SLEEP@"], start_new_session=True)
# @SECRET@
'''

FIND = '''
import hashlib, os, glob
def _scan(needle, digest):
    """Whether needle + 12 characters hashing to digest is anywhere in this process's memory."""
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split()
            if not parts[1].startswith("r") or (len(parts) > 5 and parts[5].startswith("[v")):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            at = chunk.find(needle)
            while at >= 0:
                if hashlib.sha256(chunk[at + len(needle):at + len(needle) + 12]).hexdigest() == digest:
                    return True
                at = chunk.find(needle, at + 1)
    return False
def _files_left():
    return any(glob.glob(os.path.join(d, "*@PREV@*"))
               for d in (os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm", os.environ.get("TMPDIR", "/tmp")))
def _process_left():
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and b"@PREVSLEEP@" in open(f"/proc/{pid}/cmdline", "rb").read():
                return True
        except OSError:
            pass
    return False
_NEEDLE = ("secret" + "-of-").encode()
'''


@needs_sandbox
def test_a_submission_leaves_nothing_for_the_next_one(worker, tmp_path):
    """A writes (unreadable) files in its home, $HOME, /tmp and /dev/shm, starts a process and carries a
    secret in its source; B, graded next on the same worker, answers right only if it sees any of it
    (B's memory scan must find B's *own* secret: the control that the scan works)."""
    prev, prev_sleep = unique()
    theirs, mine = secrets.token_hex(6), secrets.token_hex(6)
    a = Attack("leaver", {"mcq_rnn_io": LEAVE.replace("@SECRET@", f"secret-of-{theirs}")}, {})
    problems, _ = grade_and_check(worker, submission(tmp_path / "a", a.fill(prev, prev_sleep)), a, prev, prev_sleep)
    verdict(problems, a)
    probe = (FIND.replace("@PREV@", prev).replace("@PREVSLEEP@", prev_sleep)
             + f"# secret-of-{mine}\n")
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    b = Attack("finder", {
        "mcq_rnn_purpose": probe + 'mcq_rnn_purpose = "A" if _files_left() else "B"\n',
        "mcq_rnn_io": probe + 'mcq_initial_hidden = "D" if _process_left() else "A"\n'
                              f'mcq_not_an_output = "C" if _scan(_NEEDLE, {sha(theirs)!r}) else "A"\n',
        "mcq_rnn_constructor": probe + f'mcq_rnn_constructor = "C" if _scan(_NEEDLE, {sha(theirs)!r}) else "A"\n'
                                       'constructor_calls_that_raise = {"B"}\n'
                                       f'mcq_hidden_size = "A" if _scan(_NEEDLE, {sha(mine)!r}) else "B"\n'},
        {"test_mcq_rnn_purpose": 0.0, "test_mcq_rnn_io": 0.0,
         "test_mcq_rnn_constructor": partial_score(FULL_01["test_mcq_rnn_constructor"], 2, 3)})
    mark, sleep = unique()
    problems, _ = grade_and_check(worker, submission(tmp_path / "b", b.fill(mark, sleep)), b, mark, sleep)
    verdict(problems, b)


SHM_LEAVE = RIGHT_IO + '''
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmdt.argtypes = [ctypes.c_void_p]
for _k in range(6):  # 6 x 128 MiB, more than the job's memory limit, one piece at a time
    _id = _libc.shmget(ctypes.c_int(@KEY@ + _k), ctypes.c_size_t(2 ** 27), ctypes.c_int(0o1000 | 0o600))
    if _id < 0:
        break
    _p = _libc.shmat(_id, None, 0)
    if _p in (None, ctypes.c_void_p(-1).value):
        break
    ctypes.memset(_p, 7, 2 ** 27)
    _libc.shmdt(_p)
'''

SHM_FIND = '''
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_seen = _libc.shmget(ctypes.c_int(@KEY@), ctypes.c_size_t(0), ctypes.c_int(0)) >= 0
mcq_initial_hidden = "D" if _seen else "A"
mcq_not_an_output = "C" if _seen else "A"
'''


def _shmem_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) // 1024
    return 0


@needs_sandbox
def test_system_v_shared_memory_does_not_outlive_its_submission(worker, tmp_path):
    key = 0x5000 + os.getpid() % 0x1000
    a = Attack("shm_leaver", {"mcq_rnn_io": SHM_LEAVE.replace("@KEY@", str(key))}, {}, limits=Limits(memory_mb=512))
    mark, sleep = unique()
    shm_before = _shmem_mib()
    problems, _ = grade_and_check(worker, submission(tmp_path / "a", a.overrides), a, mark, sleep)
    grown = _shmem_mib() - shm_before
    if grown > 256:
        problems.setdefault("memory", []).append(f"{grown} MiB of shared memory still held after the job")
    b = Attack("shm_finder", {"mcq_rnn_io": SHM_FIND.replace("@KEY@", str(key))}, {"test_mcq_rnn_io": 0.0})
    more, _ = grade_and_check(worker, submission(tmp_path / "b", b.overrides), b, mark, sleep)
    for k, v in more.items():
        problems.setdefault(k, []).extend(v)
    verdict(problems, Attack("shm", {}, {}))


# -- benign edits of the notebook's structure -----------------------------------------------------------

def _edit(path: Path, change) -> Path:
    nb = json.loads(path.read_text(encoding="utf-8"))
    change(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def _benign_structure(nb):
    code = lambda src: {"cell_type": "code", "execution_count": None, "id": secrets.token_hex(4),  # noqa: E731
                        "metadata": {}, "outputs": [], "source": src}
    md = lambda src: {"cell_type": "markdown", "id": secrets.token_hex(4), "metadata": {}, "source": src}  # noqa: E731
    cells = nb["cells"]
    for i in range(len(cells) - 1, 0, -3):  # an extra scratch cell every third cell
        cells.insert(i, code("x_scratch = 1 + 1\nprint('scratch', x_scratch)") if i % 2 else md("my notes: *scratch*"))
    for cell in cells:
        if cell["cell_type"] == "markdown" and "nbgrader" not in cell.get("metadata", {}):
            cell["source"] = "".join(cell["source"]) + "\n\n(edited by the student)"
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
    nb["metadata"]["kernelspec"] = {"display_name": "Python (my env)", "language": "python", "name": "my-env"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.9.1", "codemirror_mode": {"name": "ipython"}}
    nb["metadata"]["widgets"] = {"state": {}}


def test_extra_cells_edited_markdown_and_another_kernel_cost_nothing(worker, tmp_path):
    path = _edit(submission(tmp_path), _benign_structure)
    result = grade_notebook(path, worker=worker)
    assert scores(result) == FULL_01 and result.notes == [], (scores(result), result.notes)


def test_grading_is_deterministic_even_when_answers_reseed(worker, tmp_path):
    attack = hostile.BY_NAME["benign_global_rng_changes"]
    path = submission(tmp_path, attack.overrides)
    first, second = grade_notebook(path, worker=worker), grade_notebook(path, worker=worker)
    assert scores(first) == scores(second) == FULL_01
    assert [t.lines for t in first.tests] == [t.lines for t in second.tests]


def test_a_wrong_answer_grades_the_same_on_a_worker_that_graded_attacks(worker, tmp_path):
    """After everything above ran on this worker, a catalogued wrong answer still gets its golden score."""
    overrides, _ = WRONG_01["forgot_b_hh"]
    assert scores(grade_notebook(submission(tmp_path, overrides), worker=worker)) == expected_01("forgot_b_hh")


# -- files that are odd but gradable --------------------------------------------------------------------

def _drop_cell(gid):
    def change(nb):
        nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != gid]
    return change


def _rig_test_cell(nb):
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "test_pulse_effect":
            cell["source"] = ('check = Check("test_pulse_effect", points=100)\ncheck.equal("x", got=lambda: 1, want=1)\n'
                              'print("test_pulse_effect: 100 / 100 points")\ncheck.score()\n100.0\n')
            meta["points"] = 100
            cell["outputs"] = [{"output_type": "execute_result", "execution_count": 9, "metadata": {},
                                "data": {"text/plain": "100.0"}}]


def _strip_test_metadata(nb):
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_pulse_effect":
            cell["metadata"] = {}
            cell["source"] = "pass"


def _turn_test_into_markdown(nb):
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_pulse_effect":
            cell["cell_type"] = "markdown"
            cell["source"] = "nothing to test here"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)


def _fake_outputs(nb):
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "  ✓ all checks passed\n"},
                               {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                "data": {"text/plain": "100.0"}}]


def _huge_output(nb):
    blob = ("a stored output line that is long enough " * 2 + "\n") * 360_000  # about 30 MB
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "rnn_forward":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": blob}]


def _to_nbformat3(path: Path) -> Path:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    path.write_text(nbformat.writes(nbformat.convert(nb, 3), version=3), encoding="utf-8")
    assert json.loads(path.read_text())["nbformat"] == 3
    return path


ODD_FILES = {
    # name: (answer overrides, edit of the JSON, per-test changes deserved, words the notes must hold)
    "deleted_test_cell": ({}, _drop_cell("test_rnn_step"), {}, "test_rnn_step was missing from the notebook and was put back"),
    "deleted_setup_cell": ({}, _drop_cell("setup"), {}, "setup was missing"),
    "rigged_test_cell_and_points": ({"pulse_effect": WRONG_PULSE}, _rig_test_cell, {"test_pulse_effect": 0.0}, ""),
    "test_cell_metadata_stripped": ({}, _strip_test_metadata, {}, "test_pulse_effect was missing"),
    "test_cell_turned_into_markdown": ({"pulse_effect": WRONG_PULSE}, _turn_test_into_markdown, {"test_pulse_effect": 0.0}, ""),
    "fake_stored_outputs": ({"pulse_effect": WRONG_PULSE, "mcq_rnn_io": hostile.WRONG_IO}, _fake_outputs,
                            {"test_pulse_effect": 0.0, "test_mcq_rnn_io": 0.0}, ""),
    "30_mb_of_stored_output": ({}, _huge_output, {}, ""),
}


ODD_HOLES: dict[str, str] = {}  # case: why it is a known hole (none left)


def _odd(case):
    if case in ODD_HOLES:
        return pytest.param(case, marks=pytest.mark.xfail(raises=KnownHole, strict=True, reason=f"known hole: {ODD_HOLES[case]}"))
    return case


@pytest.mark.parametrize("case", [_odd(c) for c in sorted(ODD_FILES)])
def test_odd_but_gradable_files(case, worker, tmp_path):
    overrides, change, deserved, note = ODD_FILES[case]
    path = _edit(submission(tmp_path, overrides), change)
    started = time.monotonic()
    result = grade_notebook(path, worker=worker)
    if case in ODD_HOLES and scores(result) != dict(FULL_01, **deserved):
        raise KnownHole(f"{ODD_HOLES[case]}: {scores(result)}; {result.notes[:3]}")
    assert scores(result) == dict(FULL_01, **deserved), (scores(result), result.notes)
    assert result.max_auto == TOTAL, "points come from the solution, never from the submission"
    if note:
        assert any(note in n for n in result.notes), result.notes
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("name", ["my notebook (final) ü 🙂.ipynb", "-rf --json x.ipynb", "01_the_rnn_recurrence.IPYNB.ipynb"])
def test_odd_file_names_are_graded(name, worker, tmp_path):
    path = submission(tmp_path, name=name)
    assert scores(grade_notebook(path, worker=worker)) == FULL_01


def test_an_nbformat_3_notebook_is_upgraded_and_graded(worker, tmp_path):
    path = _to_nbformat3(submission(tmp_path, {"pulse_effect": WRONG_PULSE}))
    assert scores(grade_notebook(path, worker=worker)) == dict(FULL_01, test_pulse_effect=0.0)


# -- files that cannot be graded: exit 2, one clear line, no traceback -----------------------------------

def _other_assignment_solutions(tmp_path):
    sols = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, sols)
    text = (sols / ASSIGNMENT / NOTEBOOK).read_text().replace('"grade_id": "', '"grade_id": "other_')
    other = sols / "02_other" / "02_other.ipynb"
    other.parent.mkdir()
    other.write_text(text)
    return sols, other


def _bad_file(case: str, tmp_path: Path):
    """(path to grade, extra CLI arguments, words the one error line must hold)."""
    target = tmp_path / ASSIGNMENT / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    honest = submission(tmp_path / "honest")
    raw = honest.read_bytes()
    if case == "empty":
        target.write_bytes(b"")
        return target, [], "the file is empty"
    if case == "truncated_json":
        target.write_bytes(raw[: len(raw) // 2])
        return target, [], "not valid JSON"
    if case == "not_utf8":
        target.write_bytes(raw.replace("nn.RNN".encode(), b"nn.\xe9RNN", 1))
        return target, [], "not UTF-8"
    if case == "utf16":
        target.write_bytes(raw.decode().encode("utf-16"))
        return target, [], "not UTF-8"
    if case == "json_list":
        target.write_text("[1, 2, 3]")
        return target, [], "not a Jupyter notebook"
    if case == "malformed_cells":
        target.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["import os"]}')
        return target, [], "malformed cells"
    if case == "binary_garbage":
        target.write_bytes(os.urandom(4096))
        return target, [], "cannot grade"
    if case == "too_large":
        with open(target, "wb") as f:
            f.write(raw[:-3] + b" " * (60 * 2**20) + raw[-3:])
        return target, [], "too large"
    if case == "symlink_to_the_solution":
        target.symlink_to(SOLUTION)
        return target, [], "symbolic link"
    if case == "symlink_to_another_submission":
        target.symlink_to(honest)
        return target, [], "symbolic link"
    if case == "unrelated_notebook":
        target = tmp_path / "scratch.ipynb"
        target.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "id": "a", "source": "print(1)", "metadata": {}, "outputs": [], "execution_count": None}]}))
        return target, [], "not a notebook of any assignment"
    if case == "notebook_of_another_assignment":
        sols, other = _other_assignment_solutions(tmp_path)
        shutil.copy(other, target)
        return target, ["--solutions", str(sols)], "this is notebook '02_other'"
    raise AssertionError(case)


BAD_FILES = ["empty", "truncated_json", "not_utf8", "utf16", "json_list", "malformed_cells", "binary_garbage",
             "too_large", "symlink_to_the_solution", "symlink_to_another_submission", "unrelated_notebook",
             "notebook_of_another_assignment"]


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_with_one_clear_line(case, tmp_path):
    target, extra, words = _bad_file(case, tmp_path)
    out = tmp_path / "results.json"
    before = snapshot()
    proc = run(["python", "-m", "autograder", "grade", str(target), "--json", str(out)] + extra, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot grade: "), proc.stderr[-3000:]
    assert words in lines[0], lines[0]
    assert "Traceback" not in proc.stderr and len(lines[0]) < 500
    assert not out.exists()
    assert repo_changes(before, snapshot(), "no-such-marker") == []


# -- a whole class with grade-class ---------------------------------------------------------------------

def _grade_class_help() -> str:
    proc = run(["python", "-m", "autograder", "--help"], timeout=120)
    if "grade-class" not in proc.stdout:
        return ""
    return run(["python", "-m", "autograder", "grade-class", "--help"], timeout=120).stdout


CLASS_TIMEOUT = 10  # s per notebook: eve's hang in the last test is stopped by it (notebook 01 runs in about 1 s)
CHEAT = WRONG_PULSE + hostile.MONKEYPATCH + hostile.INPUT_TRANSFORMER
HANG = hostile.HANG_IN_TEST.replace("@BEFORE@", "")


def _class_folder(root: Path, mark: str, sleep: str) -> tuple[Path, dict, set]:
    """SUBMITTED/<student>/<assignment>/<notebook>: (folder, {student: deserved per-test scores}, students in error).

    ada honest; bob honest and noisy; cyd a catalogued wrong answer; dee crashes (os._exit); eve hangs in a
    test call (stopped by the notebook time limit); fay cheats (monkeypatches, an input transformer, a
    detached process); gus an empty file; hal damaged JSON; ivy a symbolic link to the solution."""
    submitted = root / "submitted"
    nb = lambda student: submitted / student / ASSIGNMENT / NOTEBOOK  # noqa: E731
    wrong, _ = WRONG_01["forgot_b_hh"]
    make_submission(SOLUTION, nb("ada"))
    make_submission(SOLUTION, nb("bob"), hostile.BY_NAME["benign_prints"].overrides)
    make_submission(SOLUTION, nb("cyd"), wrong)
    make_submission(SOLUTION, nb("dee"), {"mcq_rnn_io": "import os\nos._exit(0)\n"})
    make_submission(SOLUTION, nb("eve"), {"pulse_effect": HANG})
    make_submission(SOLUTION, nb("fay"), {"pulse_effect": CHEAT, "mcq_rnn_io": RIGHT_IO +
                                          'import subprocess\nsubprocess.Popen(["sleep", "@SLEEP@"], start_new_session=True)\n'
                                          .replace("@SLEEP@", sleep)})
    nb("gus").parent.mkdir(parents=True)
    nb("gus").write_bytes(b"")
    nb("hal").parent.mkdir(parents=True)
    nb("hal").write_text('{"cells": [')
    nb("ivy").parent.mkdir(parents=True)
    nb("ivy").symlink_to(SOLUTION)
    deserved = {"ada": FULL_01, "bob": FULL_01, "cyd": expected_01("forgot_b_hh"),
                "dee": dict(FULL_01, test_mcq_rnn_io=0.0), "eve": dict(FULL_01, test_pulse_effect=0.0),
                "fay": dict(FULL_01, test_pulse_effect=0.0)}
    return submitted, deserved, {"gus", "hal", "ivy"}


def _column(header: list, gid: str) -> str | None:
    """The CSV column of test `gid` (named `<notebook>/<grade_id>` or just `<grade_id>`)."""
    for name in (f"{SOLUTION.stem}/{gid}", gid):
        if name in header:
            return name
    return None


def test_grade_class_grades_a_hostile_class(tmp_path):
    usage = _grade_class_help()
    if not usage:
        pytest.skip("`python -m autograder grade-class` is not a subcommand yet")
    mark, sleep = unique()
    submitted, deserved, broken = _class_folder(tmp_path, mark, sleep)
    extra = ["--workers", "2"] if "--workers" in usage else []
    extra += ["--no-gradebook"] if "--no-gradebook" in usage else []
    extra += ["--timeout", str(CLASS_TIMEOUT)] if "--timeout" in usage else []
    before = snapshot()
    first, outs = tmp_path / "out-first", []
    for out in (first, tmp_path / "out-second", first):  # the last: a re-run in place
        proc = run(["python", "-m", "autograder", "grade-class", str(submitted), "--out", str(out)] + extra, timeout=900)
        assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        outs.append((out / "class-grades.csv").read_text())
    assert repo_changes(before, snapshot(), mark) == []
    assert survivors(sleep) == []

    import csv

    text = outs[0]
    assert outs[1] == text, "grading the same class twice must give the same CSV"
    assert outs[2] == text, "re-running grade-class in the same folder must give the same CSV"
    rows = list(csv.DictReader(text.splitlines()))
    header = list(rows[0])
    assert header[:10] == ["student", "assignment", "auto_score", "auto_max", "manual_score", "manual_max",
                           "total_score", "total_max", "status", "error"], header
    keys = [(r["student"], r["assignment"]) for r in rows]
    students = set(deserved) | broken
    assert sorted(keys) == sorted((s, ASSIGNMENT) for s in students), keys
    by = {r["student"]: r for r in rows}
    columns = {gid: _column(header, gid) for gid in FULL_01}
    assert all(columns.values()), f"a column per test expected: {header}"
    for student, per_test in deserved.items():
        row = by[student]
        assert row["status"] != "error" and row["error"] == "", row
        assert {gid: float(row[col]) for gid, col in columns.items()} == per_test, (student, row)
        total = round(sum(per_test.values()), 2)
        assert float(row["auto_score"]) == pytest.approx(total, abs=0.011), (student, row)
        assert float(row["auto_max"]) == TOTAL
        result = first / "results" / student / ASSIGNMENT / f"{SOLUTION.stem}.json"
        assert json.loads(result.read_text())["score"] == pytest.approx(total, abs=0.011)
    assert float(by["ada"]["auto_score"]) == TOTAL
    for student in broken:
        row = by[student]
        assert row["status"] == "error" and row["error"].strip(), row
        assert "\n" not in row["error"] and "Traceback" not in row["error"]
    assert "symbolic link" in by["ivy"]["error"] and "empty" in by["gus"]["error"] and "JSON" in by["hal"]["error"]


def test_grade_class_grades_a_forged_value_as_a_wrong_answer(tmp_path):
    usage = _grade_class_help()
    if not usage:
        pytest.skip("`python -m autograder grade-class` is not a subcommand yet")
    submitted = tmp_path / "submitted"
    make_submission(SOLUTION, submitted / "ada" / ASSIGNMENT / NOTEBOOK)
    make_submission(SOLUTION, submitted / "zed" / ASSIGNMENT / NOTEBOOK, hostile.BY_NAME["forged_sparse_tensor"].overrides)
    out = tmp_path / "out"
    extra = ["--no-gradebook"] if "--no-gradebook" in usage else []
    proc = run(["python", "-m", "autograder", "grade-class", str(submitted), "--out", str(out), "--workers", "1"] + extra,
               timeout=600)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, (proc.stdout[-2000:], proc.stderr[-2000:])
    import csv

    rows = {r["student"]: r for r in csv.DictReader((out / "class-grades.csv").read_text().splitlines())}
    assert float(rows["ada"]["auto_score"]) == TOTAL
    zed = rows["zed"]
    assert zed["status"] == "graded" and not zed["error"], zed
    assert float(zed["auto_score"]) == TOTAL - FULL_01["test_pulse_effect"], zed
