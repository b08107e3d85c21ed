"""The gradebook in PostgreSQL: grade-class and nbgrader share it through CourseDirectory.db_url.

nbgrader_config.py reads the gradebook's URL from AUTOGRADER_DB_URL (SQLite in grading/ without it).
The first two tests are quick and need no server. The others (slow) share one PostgreSQL server,
started from Debian's binaries in a temporary folder (initdb, then `postgres` on a Unix socket in that
folder, no TCP), stopped by its PID and removed at the end; they skip, saying why, where PostgreSQL is
not installed. A course copy is pointed at it; a small class of notebook 01 is graded with `python -m
autograder grade-class` and read back with `nbgrader export`; two graders record at once while
nbgrader exports, and nothing is lost or doubled; a gradebook out of reach loses no grades.
"""
from __future__ import annotations

import csv
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from catalog import WRONG_01
from conftest import COURSE, ROOT, SOLUTIONS, VENV_BIN, make_submission, run

ASSIGNMENT = "01_recurrence"
NAME = "01_the_rnn_recurrence"
PYTHON = str(VENV_BIN / "python")
ROLE = "grader"


def _server_binaries() -> Path | None:
    """The folder with initdb and postgres: AUTOGRADER_PG_BIN if set, else on PATH, else Debian's newest
    /usr/lib/postgresql/N/bin."""
    if os.environ.get("AUTOGRADER_PG_BIN"):
        candidates = [Path(os.environ["AUTOGRADER_PG_BIN"])]
    else:
        found = shutil.which("initdb")
        candidates = [Path(found).resolve().parent] if found else []  # (through a link: the real folder)
        debian = glob.glob("/usr/lib/postgresql/*/bin")
        candidates += sorted((Path(p) for p in debian), reverse=True,
                             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, the `postgres` account runs it; else we do."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as "
                    "(apt-get install postgresql creates it)")


class Server:
    def __init__(self, folder: Path, log: Path):
        self.folder = folder  # also the Unix socket's folder
        self.log = log  # the server's log: connections and disconnections, each with its time and PID

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{ROLE}@/{database}?host={self.folder}"

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=str(self.folder), user=ROLE, dbname=database, connect_timeout=5)

    def create_database(self, name: str) -> str:
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of our own for this module: started, then stopped by PID and removed."""
    pytest.importorskip("psycopg2", reason="psycopg2 (requirements.txt) is needed to talk to PostgreSQL")
    binaries = _server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's server binaries (initdb, postgres) are not installed: "
                    "apt-get install postgresql (Debian) to run this test")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    proc = None
    log = folder / "server.log"
    try:
        if user:
            shutil.chown(folder, user=user, group=pwd.getpwnam(user).pw_gid)
        folder.chmod(0o700)
        data = folder / "data"
        init = subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust",
                               "-E", "UTF8", "--no-sync", "--no-instructions"],
                              user=user, capture_output=True, text=True, timeout=120, cwd=folder)
        assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(binaries / "postgres"), "-D", str(data), "-k", str(folder),
                                     "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50",
                                     # each connection and its end in the log, with the client's name
                                     "-c", "log_connections=on", "-c", "log_disconnections=on",
                                     "-c", "log_line_prefix=%m %p "],
                                    user=user, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=folder)
        server = Server(folder, log)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"PostgreSQL stopped at start ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                server.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        stopped = ""
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: its children end with it
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            if proc.returncode != 0:
                stopped = log.read_text(errors="replace")[-3000:]
        shutil.rmtree(folder, ignore_errors=True)
    assert not stopped, f"PostgreSQL did not shut down cleanly ({proc.returncode}):\n{stopped}"


def test_the_gradebook_is_sqlite_unless_AUTOGRADER_DB_URL_names_another(tmp_path, monkeypatch):
    from autograder import classroom

    urls = {}
    for case, value in [("default", None), ("empty", ""), ("postgres", "postgresql+psycopg2://grader@/gb?host=/run/pg")]:
        root = tmp_path / case
        root.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", root)
        if value is None:
            monkeypatch.delenv("AUTOGRADER_DB_URL", raising=False)
        else:
            monkeypatch.setenv("AUTOGRADER_DB_URL", value)
        urls[case] = classroom._coursedir(classroom._config(root.resolve()), root.resolve(), "-", "-").db_url
    for case in ("default", "empty"):  # (an empty variable is no URL)
        assert urls[case] == f"sqlite:///{tmp_path / case / 'grading' / 'gradebook.db'}"
    assert urls["postgres"] == "postgresql+psycopg2://grader@/gb?host=/run/pg"


def test_an_unreachable_gradebook_is_one_line_without_its_password(tmp_path, monkeypatch):
    from autograder import classroom

    assert classroom.shown_url("postgresql+psycopg2://grader:s3cret@db.example/gb") == \
        "postgresql+psycopg2://grader:***@db.example/gb"
    assert classroom.shown_url("sqlite:////tmp/gradebook.db") == "sqlite:////tmp/gradebook.db"
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    monkeypatch.setenv("AUTOGRADER_DB_URL", "postgresql+nosuchdriver://grader:s3cret@/gb")
    with pytest.raises(classroom.ClassroomError) as caught:
        classroom.check_gradebook(tmp_path)
    message = str(caught.value)
    assert "cannot reach the gradebook postgresql+nosuchdriver://grader:***@/gb: " in message
    assert "s3cret" not in message and "\n" not in message
    monkeypatch.delenv("AUTOGRADER_DB_URL")
    other = tmp_path / "fresh"
    other.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", other)
    classroom.check_gradebook(other)  # an SQLite gradebook not made yet: fine, and still not made
    assert not (other / "grading" / "gradebook.db").exists()


def course_copy(root: Path, url: str) -> dict:
    """A copy of the course (notebook 01 only) whose gradebook is the database at `url`; returns the
    environment its commands run with."""
    shutil.copytree(SOLUTIONS / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copytree(COURSE / ASSIGNMENT, root / "course" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    env = {"AUTOGRADER_DB_URL": url}
    proc = run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return env


def submit(submitted: Path, student: str, kind: str) -> None:
    dest = submitted / student / ASSIGNMENT / f"{NAME}.ipynb"
    first = SOLUTIONS / ASSIGNMENT / f"{NAME}.ipynb"
    if kind == "honest":
        make_submission(first, dest)
    elif kind == "blank":
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(COURSE / ASSIGNMENT / f"{NAME}.ipynb", dest)
    else:
        make_submission(first, dest, WRONG_01[kind][0])


def grade_class_cmd(root: Path, submitted: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "autograder", "grade-class", str(submitted), "--solutions", str(root / "solutions"),
            "--quiet", *extra]


def grader_scores(out: Path) -> dict[str, float]:
    """{student: points} as the grader's results say (notebook 01 is the assignment's only notebook)."""
    scores = {}
    for path in (out / "results").glob(f"*/{ASSIGNMENT}/{NAME}.json"):
        data = json.loads(path.read_text())
        if data["extra_data"]["status"] != "missing":
            scores[path.parts[-3]] = data["score"]
    return scores


def export(root: Path, env: dict, to: Path) -> dict[str, dict]:
    proc = run(["nbgrader", "export", f"--to={to}"], cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(to, newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == ASSIGNMENT}


def sessions_of(log: Path, database: str) -> dict[str, list[tuple[str, str]]]:
    """{application name: [(start, end) of each of its sessions on `database`]}, in order, from the
    server's log (log_connections, log_disconnections; each line starts with its time and backend PID)."""
    started, sessions = {}, {}
    for line in log.read_text().splitlines():
        parts = line.split(" ", 4)
        if len(parts) < 5:
            continue
        when, pid, text = f"{parts[0]} {parts[1]}", parts[3], parts[4]
        if "connection authorized:" in text and f"database={database} " in text + " ":
            name = text.rsplit("application_name=", 1)[-1].split()[0] if "application_name=" in text else ""
            started[pid] = (name, when)
        elif "disconnection:" in text and pid in started:
            name, start = started.pop(pid)
            sessions.setdefault(name, []).append((start, when))
    return sessions


def grade_cells() -> int:
    nb = json.loads((SOLUTIONS / ASSIGNMENT / f"{NAME}.ipynb").read_text())
    return sum(bool(c.get("metadata", {}).get("nbgrader", {}).get("grade")) for c in nb["cells"])


def counts(server: Server, database: str) -> dict[str, int]:
    conn = server.connect(database)
    try:
        with conn.cursor() as cur:
            found = {}
            for table in ("student", "submitted_assignment", "submitted_notebook", "grade", "comment"):
                cur.execute(f"SELECT count(*) FROM {table}")
                found[table] = cur.fetchone()[0]
            return found
    finally:
        conn.close()


@pytest.mark.slow
def test_a_class_graded_into_postgres_reads_back_with_nbgrader_export(postgres, tmp_path):
    root = tmp_path / "course-root"
    env = course_copy(root, postgres.create_database("class_one"))
    submitted = root / "grading" / "submitted"
    for student, kind in [("honest", "honest"), ("blank", "blank"), ("wrong", "forgot_b_hh")]:
        submit(submitted, student, kind)

    started = time.monotonic()
    proc = run(grade_class_cmd(root, submitted, "--workers", "2"), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "recorded in nbgrader's gradebook with feedback: 3" in proc.stdout, proc.stdout + proc.stderr
    assert "could not" not in proc.stderr, proc.stderr
    print(f"grade-class, 3 submissions into PostgreSQL: {time.monotonic() - started:.1f} s")
    assert not (root / "grading" / "gradebook.db").exists()  # PostgreSQL, not the SQLite default

    ours = grader_scores(root / "grading")
    assert ours["honest"] == 19 and ours["blank"] < ours["wrong"] == pytest.approx(19 - 3 + 0.5)
    with open(root / "grading" / "class-grades.csv", newline="") as fh:
        class_csv = {row["student"]: row for row in csv.DictReader(fh)}
    exported = export(root, env, tmp_path / "export.csv")
    assert sorted(exported) == ["blank", "honest", "wrong"]
    for student, points in ours.items():
        row = exported[student]
        # nothing graded by hand yet: nbgrader's score is exactly the autograder's
        assert float(row["score"]) == pytest.approx(points) == float(class_csv[student]["auto_score"])
        assert float(row["max_score"]) == float(class_csv[student]["total_max"]) == 22
        page = root / "grading" / "feedback" / student / ASSIGNMENT / f"{NAME}.html"
        assert "BEGIN HIDDEN TESTS" not in page.read_text()

    # a re-run finds the grades recorded in PostgreSQL and does nothing again
    before = counts(postgres, "class_one")
    proc = run(grade_class_cmd(root, submitted), env=env)
    assert proc.returncode == 0 and "0 graded now, 3 unchanged" in proc.stdout, proc.stdout + proc.stderr
    assert "recorded" not in proc.stdout.splitlines()[-1]
    assert counts(postgres, "class_one") == before


@pytest.mark.slow
def test_two_graders_and_an_export_at_once(postgres, tmp_path):
    """Two grade-class runs on disjoint students (their own submitted/ and --out folders, one course and
    one gradebook) record at the same time while `nbgrader export` reads the gradebook in a loop."""
    root = tmp_path / "course-root"
    env = course_copy(root, postgres.create_database("class_two"))
    sections = {"a": [("ann", "honest"), ("abe", "transposed_weights")],
                "b": [("bea", "forgot_b_hh"), ("bob", "blank")]}
    for section, students in sections.items():
        for student, kind in students:
            submit(root / f"section-{section}", student, kind)

    procs: dict[str, subprocess.Popen] = {}
    exports: list[tuple[int, str]] = []
    full_env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env)
    try:
        for section in sections:
            named = dict(full_env, AUTOGRADER_DB_URL=f"{env['AUTOGRADER_DB_URL']}&application_name=grader-{section}")
            procs[section] = subprocess.Popen(
                grade_class_cmd(root, root / f"section-{section}", "--workers", "1", "--out",
                                str(root / f"out-{section}")),
                cwd=ROOT, env=named, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        n = 0
        while any(p.poll() is None for p in procs.values()):
            n += 1
            proc = run(["nbgrader", "export", f"--to={tmp_path / f'during-{n}.csv'}"], cwd=root, env=env)
            exports.append((proc.returncode, proc.stderr[-2000:]))
        outputs = {section: p.communicate(timeout=600) for section, p in procs.items()}
    finally:
        for p in procs.values():  # stopped by their own PIDs (an interrupted grade-class stops its workers)
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    for section, (stdout, stderr) in outputs.items():
        assert procs[section].returncode == 0, stderr[-3000:]
        assert "recorded in nbgrader's gradebook with feedback: 2" in stdout, stdout + stderr
        assert "could not" not in stderr, stderr
    assert exports and all(code == 0 for code, _ in exports), exports
    print(f"nbgrader export ran {len(exports)} times while the two graders ran")

    ours = {**grader_scores(root / "out-a"), **grader_scores(root / "out-b")}
    assert sorted(ours) == ["abe", "ann", "bea", "bob"]
    exported = export(root, env, tmp_path / "after.csv")
    assert sorted(exported) == sorted(ours)
    for student, points in ours.items():
        assert float(exported[student]["score"]) == pytest.approx(points), student
    found = counts(postgres, "class_two")  # nothing doubled, nothing lost
    assert (found["student"], found["submitted_assignment"], found["submitted_notebook"]) == (4, 4, 4)
    assert found["grade"] == 4 * grade_cells() and found["comment"] % 4 == 0, found
    for section, students in sections.items():
        for student, _ in students:
            assert (root / "grading" / "feedback" / student / ASSIGNMENT / f"{NAME}.html").is_file()
    # the two graders did use the gradebook at the same moment while recording, not one after the other
    sessions = {name: spans[2:] for name, spans in sessions_of(postgres.log, "class_two").items()}  # (past check, roster)
    assert any(a0 < b1 and b0 < a1 for a0, a1 in sessions["grader-a"] for b0, b1 in sessions["grader-b"]), sessions


@pytest.mark.slow
def test_a_gradebook_out_of_reach_loses_no_grades(postgres, tmp_path):
    """With the database out of reach grade-class still grades and writes its CSV, says why nothing was
    recorded, and the next run records everything without grading again."""
    root = tmp_path / "course-root"
    env = course_copy(root, postgres.create_database("class_three"))
    submitted = root / "grading" / "submitted"
    submit(submitted, "honest", "honest")
    submit(submitted, "wrong", "forgot_b_hh")
    away = {"AUTOGRADER_DB_URL": f"postgresql+psycopg2://{ROLE}:s3cret@/no_such_db?host={postgres.folder}"}
    proc = run(grade_class_cmd(root, submitted, "--workers", "2"), env=away)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "s3cret" not in proc.stdout + proc.stderr  # the URL is shown without its password
    said = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and 'database "no_such_db" does not exist' in said[0], proc.stderr  # said once
    assert "NOT recorded in nbgrader's gradebook (it could not be reached): 2 submissions" in proc.stdout
    with open(root / "grading" / "class-grades.csv", newline="") as fh:
        assert {row["student"]: row["auto_score"] for row in csv.DictReader(fh)} == {"honest": "19", "wrong": "16.5"}

    proc = run(grade_class_cmd(root, submitted), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 graded now, 2 unchanged" in proc.stdout and "with feedback: 2" in proc.stdout, proc.stdout
    exported = export(root, env, tmp_path / "export.csv")
    assert {s: float(row["score"]) for s, row in exported.items()} == {"honest": 19, "wrong": 16.5}
