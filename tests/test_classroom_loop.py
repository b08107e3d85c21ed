"""The classroom loop through nbgrader's exchange, with real Unix users (issue 16, parts 2 and 5).

A shared server as one admin would set it up: the course folder is the instructor's and private
(here root's pytest folder, mode 700: students cannot read solutions/ or the gradebook); the exchange
is system-wide (AUTOGRADER_EXCHANGE) in a folder every user can reach; each student is a Unix user
with a home of their own and a ~/.jupyter/nbgrader_config.py naming the course and the exchange.
Students run Debian's /usr/bin/python3 with the course environment's site-packages on PYTHONPATH
(the environment's own Python lives under /root, which they cannot enter).

The instructor (the test's own user, root) runs the standard commands from the course folder
(release_assignment, collect, `python -m autograder grade-class`, release_feedback); students run
fetch_assignment, submit and fetch_feedback from their homes as themselves. One release serves every
test; the tests run in order (each reads what the previous one left), about a minute in all.

The module-scoped fixture removes every process of the users it made, the users, their homes and
the exchange.
"""
from __future__ import annotations

import csv
import datetime
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.submissions import solution_answers, splice
from conftest import COURSE, ROOT, SOLUTIONS, run
from test_classroom import _hidden_lines, _text
from unix_users import alive, as_user, descendants, local_users, student_nbgrader, why_not

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_recurrence"
NAME = "01_the_rnn_recurrence"
COURSE_ID = "rnn-course"  # (nbgrader_config.py's)


if why_not():
    pytest.skip(why_not(), allow_module_level=True)


# -- the class -----------------------------------------------------------------------------------------

@dataclass
class Klass:
    root: Path  # the instructor's course folder (private)
    exchange: Path
    students: dict[str, str]  # role -> Unix user name
    env: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # what one test leaves for the next

    def instructor(self, *cmd: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = run(list(cmd), cwd=self.root, env=self.env, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        return proc

    def nbgrader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.instructor("nbgrader", *args, check=check)

    def grade_class(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "autograder", "grade-class", "grading/submitted",
                *args]

    def home(self, role: str) -> Path:
        return Path(pwd.getpwnam(self.students[role]).pw_dir)


ROLES = ("honest", "blank", "renamed")


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop") / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copytree(COURSE / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shared = Path(tempfile.mkdtemp(prefix="rnn-loop-"))  # stands for /srv/nbgrader
    shared.chmod(0o755)
    suffix = secrets.token_hex(3)
    students = {role: f"rnnloop_{role}_{suffix}" for role in ROLES}
    try:
        with local_users(students.values()):
            k = Klass(root, shared / "exchange", students, env={"AUTOGRADER_EXCHANGE": str(shared / "exchange")})
            for role, user in students.items():
                config = k.home(role) / ".jupyter" / "nbgrader_config.py"
                as_user(user, "mkdir", "-p", str(config.parent))
                config.write_text(f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
                                  f"c.Exchange.root = {str(k.exchange)!r}\n")
                os.chown(config, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            # the gradebook's assignment and notebooks, by nbgrader's own command
            k.nbgrader("generate_assignment", ASSIGNMENT, "--force")
            yield k
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def submitted_files(root: Path) -> dict[str, bytes]:
    sub = root / "grading" / "submitted"
    return {str(p.relative_to(sub)): p.read_bytes() for p in sorted(sub.rglob("*")) if p.is_file()}


# -- part 2: the loop ----------------------------------------------------------------------------------

def test_the_course_folder_is_private_and_the_exchange_is_nbgraders(klass):
    out = klass.nbgrader("release_assignment", ASSIGNMENT)
    assert "Permissions for exchange directory" not in out.stdout + out.stderr
    assert stat.S_IMODE(klass.exchange.stat().st_mode) == 0o1777
    course = klass.exchange / COURSE_ID
    assert stat.S_IMODE((course / "inbound").stat().st_mode) == 0o3733
    assert stat.S_IMODE((course / "outbound" / ASSIGNMENT).stat().st_mode) == 0o755
    user = klass.students["honest"]
    # a student reaches the exchange but not the instructor's folder (solutions, gradebook)
    assert as_user(user, "ls", str(klass.root / "solutions"), check=False).returncode != 0
    assert as_user(user, "ls", str(course / "inbound"), check=False).returncode != 0  # only the instructor lists


def together(*calls):
    """Run independent student commands at once (each is a Python start, ~3 s); their results in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def test_students_fetch_and_submit_as_themselves(klass):
    solution = klass.root / "solutions" / ASSIGNMENT / f"{NAME}.ipynb"
    answers = solution_answers(solution)
    honest, blank, renamed = (klass.students[role] for role in ROLES)
    together(*[lambda user=user: student_nbgrader(user, "fetch_assignment", ASSIGNMENT)
               for user in klass.students.values()])
    for role, user in klass.students.items():
        fetched = klass.home(role) / ASSIGNMENT / f"{NAME}.ipynb"
        assert fetched.is_file() and fetched.stat().st_uid == pwd.getpwnam(user).pw_uid

    # honest submits the untouched notebook first; blank, the notebook as fetched and a scratch
    # notebook of their own (an extra one: nbgrader warns and submits)
    as_user(blank, "cp", f"{ASSIGNMENT}/{NAME}.ipynb", f"{ASSIGNMENT}/scratch.ipynb")
    _, proc = together(lambda: student_nbgrader(honest, "submit", ASSIGNMENT),
                       lambda: student_nbgrader(blank, "submit", ASSIGNMENT))
    assert "scratch.ipynb: EXTRA" in proc.stderr
    time.sleep(0.2)
    klass.notes["due"] = utcnow()  # the due date falls here: blank on time, honest's later one late
    time.sleep(0.2)
    # honest answers and submits again (the later submission must count); renamed answers, then
    # saves the notebook under the name JupyterLab's "Duplicate" gives it, and submits that
    for role in ("honest", "renamed"):
        notebook = klass.home(role) / ASSIGNMENT / f"{NAME}.ipynb"
        splice(notebook, notebook, answers)  # written in place: still the student's file
        assert notebook.stat().st_uid == pwd.getpwnam(klass.students[role]).pw_uid
    as_user(renamed, "mv", f"{ASSIGNMENT}/{NAME}.ipynb", f"{ASSIGNMENT}/{NAME}-Copy1.ipynb")
    _, proc = together(lambda: student_nbgrader(honest, "submit", ASSIGNMENT),
                       lambda: student_nbgrader(renamed, "submit", ASSIGNMENT))
    assert f"{NAME}.ipynb: MISSING" in proc.stderr and f"{NAME}-Copy1.ipynb: EXTRA" in proc.stderr

    listed = student_nbgrader(honest, "list", "--cached").stderr  # (students cannot list inbound: 2733)
    assert listed.count(f"{COURSE_ID} {honest} {ASSIGNMENT} ") == 2, listed  # both of honest's submissions


def test_a_wrong_assignment_name_is_refused_with_a_clear_message_and_nothing_is_lost(klass):
    blank, home = klass.students["blank"], klass.home("blank")
    inbound = klass.exchange / COURSE_ID / "inbound"
    before = sorted(os.listdir(inbound))
    as_user(blank, "mkdir", "02_shapes")  # a folder of an assignment not released
    typo, unreleased = together(lambda: student_nbgrader(blank, "submit", "01_recurence", check=False),
                                lambda: student_nbgrader(blank, "submit", "02_shapes", check=False))
    assert typo.returncode != 0
    assert "Assignment not found at:" in typo.stderr and "Did you mean:" in typo.stderr
    assert ASSIGNMENT in typo.stderr.split("Did you mean:")[1]
    assert unreleased.returncode != 0 and "Assignment not found:" in unreleased.stderr
    assert (home / ASSIGNMENT / f"{NAME}.ipynb").is_file()  # their work is where it was
    assert sorted(os.listdir(inbound)) == before  # and the exchange holds what it held


def test_collect_takes_the_latest_submission_and_collecting_again_loses_nothing(klass):
    klass.nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={klass.notes['due'].isoformat()}")
    klass.nbgrader("collect", ASSIGNMENT)
    sub = klass.root / "grading" / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == sorted(klass.students.values())
    for role, user in klass.students.items():
        assert (sub / user / ASSIGNMENT / "timestamp.txt").is_file(), role
    files = submitted_files(klass.root)
    honest = klass.students["honest"]
    answered = (klass.home("honest") / ASSIGNMENT / f"{NAME}.ipynb").read_bytes()
    assert files[f"{honest}/{ASSIGNMENT}/{NAME}.ipynb"] == answered  # the later of its two submissions
    assert f"{klass.students['blank']}/{ASSIGNMENT}/scratch.ipynb" in files
    assert f"{klass.students['renamed']}/{ASSIGNMENT}/{NAME}-Copy1.ipynb" in files

    # a student submits again after the collect: a plain collect keeps what it has and says so;
    # `collect --update` takes the newer submission, and only that one
    renamed = klass.students["renamed"]
    student_nbgrader(renamed, "submit", ASSIGNMENT)
    proc = klass.nbgrader("collect", ASSIGNMENT)
    for user in klass.students.values():
        assert f"Submission already exists, use --update to update: {user} {ASSIGNMENT}" in proc.stderr, proc.stderr
    assert submitted_files(klass.root) == files
    klass.nbgrader("collect", "--update", ASSIGNMENT)
    now = submitted_files(klass.root)
    changed = sorted(k for k in files.keys() | now.keys() if files.get(k) != now.get(k))
    assert changed == [f"{renamed}/{ASSIGNMENT}/{name}.txt" for name in ("submission_secret", "timestamp")], changed


def test_grade_class_killed_mid_run_then_run_again_loses_nothing(klass, tmp_path):
    """SIGKILL (a power cut, `kill -9`) once the first submission's result is written; then the
    command again: every submission graded once, and no process of the killed run survives it."""
    results = klass.root / "grading" / "results"
    scratch = tmp_path / "tmp"  # the killed run's temporary folders, kept apart from everyone else's
    scratch.mkdir()
    env = dict(os.environ, **klass.env, TMPDIR=str(scratch),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen(klass.grade_class("--workers", "1"), cwd=klass.root, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    below = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(results.rglob("*.json")) and proc.poll() is None:
            below |= descendants(proc.pid)
            time.sleep(0.05)
        assert proc.poll() is None, "grade-class finished before it could be interrupted:\n" + proc.stdout.read()
        below |= descendants(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert below, "the run had started no worker: proves nothing"
    deadline = time.monotonic() + 10  # the sandboxed workers die with their parent (bwrap --die-with-parent)
    while time.monotonic() < deadline and any(alive(pid) for pid in below):
        time.sleep(0.1)
    survivors = [pid for pid in below if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"processes of the killed grade-class outlived it: {survivors}"
    left = sorted(p.name for p in scratch.iterdir())
    assert left, "the killed run left no scratch folder: the sweep below proves nothing"

    done = len(list(results.rglob("*.json")))
    assert 1 <= done < len(klass.students), "killed after every submission was graded: proves nothing"
    out = run(klass.grade_class("--workers", "2"), cwd=klass.root, env=dict(klass.env, TMPDIR=str(scratch)))
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    klass.notes["grade_output"] = text
    assert f"{len(klass.students)} notebooks: {len(klass.students) - done} graded now, {done} unchanged" in text, text
    # the next run swept the killed run's scratch folders (theirs were unlocked: their process was gone)
    assert not [p.name for p in scratch.iterdir() if p.name in left], sorted(p.name for p in scratch.iterdir())
    assert len(list(results.rglob("*.json"))) == len(klass.students)


def gradebook_submissions(klass) -> dict[str, tuple[float, float, float]]:
    """{role: (score, max_score, seconds late)} as nbgrader's gradebook has them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{klass.root / 'grading' / 'gradebook.db'}", COURSE_ID) as gb:
        subs = {role: gb.find_submission(ASSIGNMENT, user) for role, user in klass.students.items()}
        return {role: (s.score, s.max_score, s.total_seconds_late) for role, s in subs.items()}


def released_feedback(klass) -> None:
    if not klass.notes.get("feedback released"):
        klass.nbgrader("release_feedback", ASSIGNMENT)
        klass.notes["feedback released"] = True


def fetched_feedback_text(klass, role: str) -> str:
    """The one HTML page `nbgrader fetch_feedback` brings the student, as text; it is theirs."""
    user = klass.students[role]
    proc = student_nbgrader(user, "fetch_feedback", ASSIGNMENT)
    pages = sorted((klass.home(role) / ASSIGNMENT / "feedback").rglob("*.html"))
    assert len(pages) == 1, (role, pages, proc.stderr)
    assert pages[0].stat().st_uid == pwd.getpwnam(user).pw_uid
    return _text(pages[0])


@pytest.mark.parametrize("role", ["honest", "blank"])
def test_scores_late_flags_and_feedback_reach_each_student_and_only_them(klass, role):
    score, total, late = gradebook_submissions(klass)[role]
    expected = {"honest": 19.0, "blank": 0.0}[role]  # (honest's explanation awaits a human grader)
    assert (score, total) == (expected, 22.0), klass.notes["grade_output"]
    if role == "honest":
        assert late > 0  # its later submission, after the due date: nbgrader's flag
    else:
        assert late == 0
    released_feedback(klass)
    text = fetched_feedback_text(klass, role)
    assert f"(Score: {score:.1f} / {total:.1f})" in text
    hidden = _hidden_lines(klass.root / "solutions" / ASSIGNMENT / f"{NAME}.ipynb",
                           klass.root / "course" / ASSIGNMENT / f"{NAME}.ipynb")
    assert len(hidden) >= 5 and "HIDDEN TESTS" not in text
    for line in hidden:
        assert line not in text, f"{role}'s feedback shows hidden test source: {line}"


def test_a_renamed_notebook_is_graded_recorded_and_its_feedback_fetched(klass):
    rows = {r["student"]: r for r in csv.DictReader((klass.root / "grading" / "class-grades.csv").open())}
    assert rows[klass.students["renamed"]]["auto_score"] == "19"  # graded: nothing lost
    score, total, late = gradebook_submissions(klass)["renamed"]
    assert (score, total) == (19.0, 22.0) and late > 0, klass.notes["grade_output"]
    released_feedback(klass)
    assert "(Score: 19.0 / 22.0)" in fetched_feedback_text(klass, "renamed")
