"""nbgrader's exchange works on a fresh clone: the Assignment List and formgrader have one to read.

The loop with real Unix users and JupyterHub is the classroom issue's; here, one user: the exchange
exists with the permissions nbgrader wants, and the standard commands list, release and fetch.
"""
import os
import shutil
import stat

import pytest

from conftest import COURSE, ROOT, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange") / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(COURSE / "01_recurrence", root / "course" / "01_recurrence")
    return root


def nbgrader(*args, cwd, env=None):
    proc = run(["nbgrader", *args], cwd=cwd, env=env or {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_a_fresh_clone_has_an_exchange_and_the_standard_commands_use_it(course_copy, tmp_path):
    exchange = course_copy / "grading" / "exchange"
    assert "Released assignments" in nbgrader("list", cwd=course_copy)  # no "Unwritable directory"
    # world-writable and sticky; the course's folders with nbgrader's modes, inbound sticky too
    assert exchange.is_dir() and stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    course = exchange / "rnn-course"
    assert stat.S_IMODE(course.stat().st_mode) == stat.S_IMODE((course / "outbound").stat().st_mode) == 0o755
    assert stat.S_IMODE((course / "inbound").stat().st_mode) == 0o3733
    out = nbgrader("release_assignment", "01_recurrence", cwd=course_copy)
    assert "Permissions for exchange directory" not in out  # nbgrader finds nothing to change
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert "01_recurrence" in nbgrader("list", cwd=course_copy)
    student = tmp_path / "student"
    student.mkdir()
    shutil.copy(course_copy / "nbgrader_config.py", student)  # a student's folder reads the same exchange
    nbgrader("fetch_assignment", "01_recurrence", "--course", "rnn-course", cwd=student,
             env={"AUTOGRADER_EXCHANGE": str(exchange)})
    assert (student / "01_recurrence" / "01_the_rnn_recurrence.ipynb").is_file()


def test_the_exchange_can_be_moved_for_a_shared_server(course_copy, tmp_path):
    shared = tmp_path / "srv" / "exchange"
    out = nbgrader("list", cwd=course_copy, env={"AUTOGRADER_EXCHANGE": str(shared)})
    assert "Released assignments" in out and shared.is_dir()
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777


def test_an_exchange_made_before_gets_the_sticky_bit_and_nothing_is_taken_away(course_copy, tmp_path):
    old = tmp_path / "old-exchange"
    (old / "rnn-course" / "inbound").mkdir(parents=True)
    old.chmod(0o777)
    (old / "rnn-course" / "inbound").chmod(0o2733)  # as nbgrader 0.9.6's release makes it
    nbgrader("list", cwd=course_copy, env={"AUTOGRADER_EXCHANGE": str(old)})
    assert stat.S_IMODE(old.stat().st_mode) == 0o1777
    assert stat.S_IMODE((old / "rnn-course" / "inbound").stat().st_mode) == 0o3733
