"""The single-class JupyterHub (classroom/jupyterhub_config.py), started for real (issue 16, part 3).

One hub per module, on loopback ports, with JupyterHub's proxy from npm (configurable-http-proxy,
installed by `make hub`) and JupyterHub's test authenticator in place of PAM. The users are real Unix
users: an instructor (not root) who owns the course folder and releases an assignment with nbgrader's
own commands, and a student. The hub spawns each one's JupyterLab server as that Unix user, with the
role's configuration: the student's Assignment List (the nbgrader server extension's API, as the
side bar calls it) lists the released assignment and fetches and submits it; formgrader is the
instructor's alone. The module stops the hub, its proxy and every user's server by their PIDs.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import COURSE, ROOT, SOLUTIONS
from unix_users import (SITE_PACKAGES, STUDENT_PYTHON, alive, as_user, descendants, local_users, processes_of,
                        why_not)

pytestmark = pytest.mark.slow

requests = pytest.importorskip("requests")
ASSIGNMENT = "01_recurrence"
NAME = "01_the_rnn_recurrence"
COURSE_ID = "rnn-course"
CONFIG = ROOT / "classroom" / "jupyterhub_config.py"
PROXY = ROOT / "classroom" / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"


def _why_not() -> str | None:
    if why_not():
        return why_not()
    if not JUPYTERHUB.exists():
        return "jupyterhub is not installed (requirements.txt; make setup)"
    if not PROXY.exists() and shutil.which("configurable-http-proxy") is None:
        return "JupyterHub's proxy is not installed: `make hub` (npm install configurable-http-proxy)"
    return None


if _why_not():
    pytest.skip(_why_not(), allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    url: str
    token: str  # the test's service token: may start servers and make tokens, as an admin's script would
    users: dict[str, str]  # role -> Unix user name
    course: Path
    exchange: Path
    log: Path
    pid: int
    seen: set = field(default_factory=set)  # every PID found below the hub, for the final check

    def api(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", timeout=60,
                                headers={"Authorization": f"token {token or self.token}"}, **kw)

    def user_token(self, role: str) -> str:
        r = self.api("POST", f"/hub/api/users/{self.users[role]}/tokens", json={"note": "test"})
        assert r.status_code in (200, 201), r.text
        return r.json()["token"]

    def server(self, role: str, path: str, method: str = "GET", token: str | None = None, **kw):
        """A request to `role`'s own server, through the proxy, with `token` (by default, theirs)."""
        return self.api(method, f"/user/{self.users[role]}{path}", token=token or self.tokens[role], **kw)

    tokens: dict = field(default_factory=dict)


def start_servers(hub: Hub, roles) -> None:
    for role in roles:
        r = hub.api("POST", f"/hub/api/users/{hub.users[role]}/server")
        assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 120
    for role in roles:
        while True:
            model = hub.api("GET", f"/hub/api/users/{hub.users[role]}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                break
            assert time.monotonic() < deadline, f"{role}'s server did not start:\n{hub.log.read_text()[-4000:]}"
            time.sleep(0.3)
        hub.seen |= descendants(hub.pid)


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="rnn-hub-"))  # stands for /srv: the exchange and the hub's files
    base.chmod(0o755)
    suffix = secrets.token_hex(3)
    users = {"instructor": f"rnnhub_i_{suffix}", "student": f"rnnhub_s_{suffix}"}
    proc = None
    try:
        with local_users(users.values()):
            exchange = base / "exchange"  # as the admin makes it (README): anyone may write, sticky
            exchange.mkdir()
            exchange.chmod(0o1777)
            instructor = users["instructor"]
            course = Path(pwd.getpwnam(instructor).pw_dir) / "rnn-course"
            as_user(instructor, "mkdir", "-p", str(course / "solutions"), str(course / "course"))
            for src, dest in [(SOLUTIONS / ASSIGNMENT, course / "solutions" / ASSIGNMENT),
                              (COURSE / ASSIGNMENT, course / "course" / ASSIGNMENT),
                              (ROOT / "nbgrader_config.py", course / "nbgrader_config.py")]:
                (shutil.copytree if src.is_dir() else shutil.copy)(src, dest)
            subprocess.run(["chown", "-R", f"{instructor}:{instructor}", str(course)], check=True)
            # the instructor, not root, prepares and releases the assignment from their course folder;
            # nbgrader runs `alembic` from PATH when it makes the gradebook (the environment's bin/ has
            # one; here, one for Debian's Python)
            tools = base / "bin"
            tools.mkdir()
            (tools / "alembic").write_text(f"#!/bin/sh\nexec {STUDENT_PYTHON} -m alembic \"$@\"\n")
            (tools / "alembic").chmod(0o755)
            env = {"AUTOGRADER_EXCHANGE": str(exchange), "PATH": f"{tools}:/usr/bin:/bin"}
            for command in (["generate_assignment", ASSIGNMENT, "--force"], ["release_assignment", ASSIGNMENT]):
                as_user(instructor, STUDENT_PYTHON, "-m", "nbgrader", *command, cwd=course, env=env)

            port, hub_port, api_port = free_port(), free_port(), free_port()
            token = secrets.token_hex(16)
            hub_dir = base / "hub"
            hub_dir.mkdir()
            test_config = base / "test_config.py"  # the course's config, then what a test needs
            test_config.write_text(f"""
load_subconfig({str(CONFIG)!r})
c.JupyterHub.authenticator_class = "dummy"  # (PAM: the users have no passwords)
c.DummyAuthenticator.password = {secrets.token_hex(8)!r}
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                             "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]}}]
""")
            hub_env = dict(os.environ, RNN_HUB_DIR=str(hub_dir), RNN_HUB_INSTRUCTORS=instructor,
                           RNN_HUB_STUDENTS=users["student"], RNN_COURSE_ROOT=str(course),
                           AUTOGRADER_EXCHANGE=str(exchange), RNN_HUB_ENV=sys.prefix,
                           RNN_HUB_SINGLEUSER=f"{STUDENT_PYTHON} -m jupyterhub.singleuser",
                           PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
            if PROXY.exists():
                hub_env["RNN_HUB_PROXY"] = str(PROXY)
            log = base / "jupyterhub.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen([str(JUPYTERHUB), "-f", str(test_config)], cwd=hub_dir, env=hub_env,
                                        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            h = Hub(f"http://127.0.0.1:{port}", token, users, course, exchange, log, proc.pid)
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"JupyterHub stopped at start:\n{log.read_text()[-4000:]}"
                try:
                    if h.api("GET", "/hub/api/").status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, f"JupyterHub did not answer:\n{log.read_text()[-4000:]}"
                time.sleep(0.3)
            h.seen |= descendants(proc.pid)
            start_servers(h, ["instructor", "student"])
            h.tokens = {role: h.user_token(role) for role in users}
            yield h
            stop_hub(h, proc)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def stop_hub(hub: Hub, proc: subprocess.Popen) -> None:
    """The hub's own shutdown (SIGTERM) stops the users' servers and the proxy; then nothing it started
    may be left."""
    hub.seen |= descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"JupyterHub did not stop on SIGTERM:\n{hub.log.read_text()[-4000:]}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(pid) for pid in hub.seen):
        time.sleep(0.2)
    left = sorted(pid for pid in hub.seen if alive(pid))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes the hub started outlived it: {left}"


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
        return b""


def test_the_hub_runs_each_users_server_as_that_unix_user(hub):
    for role, user in hub.users.items():
        uid = pwd.getpwnam(user).pw_uid
        servers = [pid for pid in processes_of(uid) if b"jupyterhub.singleuser" in cmdline(pid)]
        assert len(servers) == 1, (role, servers)
        assert servers[0] in hub.seen  # spawned by this hub
        # in their own home, with their role's configuration
        environ = Path(f"/proc/{servers[0]}/environ").read_bytes().split(b"\0")
        assert f"HOME={pwd.getpwnam(user).pw_dir}".encode() in environ
        config = [e for e in environ if e.startswith(b"JUPYTER_CONFIG_PATH=")]
        assert config and f"/config/{role}".encode() in config[0], (role, config)
        # the instructor's terminal commands, run from the course folder, read the hub's exchange
        assert (f"AUTOGRADER_EXCHANGE={hub.exchange}".encode() in environ) == (role == "instructor")
        if role != "student":
            continue
        # the course's packages import there (the student's kernels inherit this environment)
        path = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"PYTHONPATH=")]
        probe = as_user(user, STUDENT_PYTHON, "-c", "import rnnlab, autograder.check, torch; print('importable')",
                        env={"PYTHONPATH": path[0] if path else ""}, check=False)
        assert probe.stdout.strip() == "importable", (role, probe.stderr[-2000:])
    proxy = [pid for pid in hub.seen if b"configurable-http-proxy" in cmdline(pid)]
    assert proxy, "no configurable-http-proxy below the hub"


def test_the_students_assignment_list_lists_fetches_and_submits_the_released_assignment(hub):
    listed = hub.server("student", f"/assignments?course_id={COURSE_ID}")
    assert listed.status_code == 200, listed.text
    released = [a for a in listed.json()["value"] if a["assignment_id"] == ASSIGNMENT]
    assert [(a["course_id"], a["status"]) for a in released] == [(COURSE_ID, "released")], listed.json()

    fetched = hub.server("student", "/assignments/fetch", "POST",
                         data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
    assert fetched.status_code == 200, fetched.text
    assert {(a["assignment_id"], a["status"]) for a in fetched.json()["value"]} >= {(ASSIGNMENT, "fetched")}
    student = hub.users["student"]
    notebook = Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / f"{NAME}.ipynb"
    assert notebook.is_file() and notebook.stat().st_uid == pwd.getpwnam(student).pw_uid

    submitted = hub.server("student", "/assignments/submit", "POST",
                           data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
    assert submitted.status_code == 200, submitted.text
    inbound = [p for p in (hub.exchange / COURSE_ID / "inbound").iterdir() if p.name.startswith(f"{student}+")]
    assert len(inbound) == 1 and inbound[0].stat().st_uid == pwd.getpwnam(student).pw_uid, inbound
    # the instructor, from their own server's terminal or a shell, collects it with nbgrader's command
    env = {"AUTOGRADER_EXCHANGE": str(hub.exchange), "PATH": f"{hub.exchange.parent / 'bin'}:/usr/bin:/bin"}
    as_user(hub.users["instructor"], STUDENT_PYTHON, "-m", "nbgrader", "collect", ASSIGNMENT, cwd=hub.course, env=env)
    assert (hub.course / "grading" / "submitted" / student / ASSIGNMENT / f"{NAME}.ipynb").is_file()


def test_formgrader_is_the_instructors_alone(hub):
    mine = hub.server("instructor", "/formgrader/api/assignments")
    assert mine.status_code == 200, mine.text
    # formgrader reads the course folder's gradebook and the hub's exchange: the assignment is released
    assert {(a["name"], a["status"]) for a in mine.json()} >= {(ASSIGNMENT, "released")}, mine.json()
    assert hub.server("student", "/formgrader/api/assignments").status_code == 404
    page = hub.server("student", "/lab")  # the student's JupyterLab hides the instructor's side bars
    assert page.status_code == 200
    config = json.loads(page.text.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>")[0])
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(config["disabledExtensions"])
    page = hub.server("instructor", "/lab")
    config = json.loads(page.text.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>")[0])
    assert "@jupyter/nbgrader:formgrader" not in config["disabledExtensions"]


def test_a_student_cannot_reach_the_instructors_server(hub):
    for path in ("/api/contents/rnn-course/solutions", "/formgrader/api/assignments", "/api/status"):
        r = hub.server("instructor", path, token=hub.tokens["student"], allow_redirects=False)
        assert r.status_code in (302, 403), (path, r.status_code)
        assert "solutions" not in r.text
    # nor read the course folder on disk
    ls = as_user(hub.users["student"], "ls", str(hub.course / "solutions"), check=False)
    assert ls.returncode != 0


def test_the_instructor_grades_the_class_as_themselves_not_root(hub):
    """grade-class run by the instructor's own Unix user from the course folder (its default solutions,
    its own reference cache), sandboxed by bubblewrap without root. --no-gradebook: nbgrader's HTML
    feedback needs soupsieve 4.1.4, which needs Python 3.11.5 or newer, and the test users run this
    machine's Python 3.11.2 (an environment made with 3.11.2 gets an older soupsieve from pip); the
    instructor's gradebook writes as non-root are the generate_assignment and collect above."""
    student = hub.users["student"]
    env = {"AUTOGRADER_EXCHANGE": str(hub.exchange), "PATH": f"{hub.exchange.parent / 'bin'}:/usr/bin:/bin"}
    proc = as_user(hub.users["instructor"], STUDENT_PYTHON, "-m", "autograder", "grade-class", "grading/submitted",
                   "--workers", "1", "--no-gradebook", cwd=hub.course, env=env, timeout=300)
    assert "1 notebooks: 1 graded now" in proc.stdout, proc.stdout + proc.stderr
    assert "unsandboxed" not in proc.stdout + proc.stderr and "could not" not in proc.stderr, proc.stderr
    result = json.loads((hub.course / "grading" / "results" / student / ASSIGNMENT / f"{NAME}.json").read_text())
    assert result["extra_data"]["status"] == "graded" and result["score"] == 0, result["extra_data"]  # unanswered
    assert list((hub.course / "grading" / "cache").glob(f"{ASSIGNMENT}--*.pt"))  # the course's own cache
    made = list((hub.course / "grading").rglob("*"))
    assert made and all(p.stat().st_uid == pwd.getpwnam(hub.users["instructor"]).pw_uid for p in made)
