"""JupyterHub for one class, following nbgrader's "one class, one grader" layout.

    sudo jupyterhub -f classroom/jupyterhub_config.py        (README: "For instructors", JupyterHub)

Everyone logs in as a local Unix user (PAM: their own password) and gets a JupyterLab server that
runs as that user, in their home. The instructors' servers have nbgrader's formgrader and Create
Assignment, pointed at the course folder; the students' have the Assignment List and Validate only,
both reading one system-wide exchange. Students cannot read the course folder (its permissions, not
the missing menu, keep solutions and the gradebook private).

Set by environment variables (the defaults suit one course on one server):

  RNN_HUB_DIR           the hub's own files (default /srv/rnn-course/hub): state/, its database and
                        cookie secret, root's alone; config/, the Jupyter configuration it writes for
                        each role, readable by every user's server
  RNN_HUB_INSTRUCTORS   instructor user names, comma-separated (default: instructor)
  RNN_HUB_STUDENTS      student user names, comma-separated; or empty and RNN_HUB_STUDENT_GROUP
  RNN_HUB_STUDENT_GROUP a Unix group whose members may log in as students (default: rnn-students)
  RNN_COURSE_ROOT       the course folder, a clone of this repository the instructor owns
                        (default: ~<first instructor>/rnn-course)
  AUTOGRADER_EXCHANGE   nbgrader's exchange, shared by everyone (default /srv/nbgrader/exchange); passed
                        to the instructors' servers, whose course nbgrader_config.py reads it
  AUTOGRADER_DB_URL     the gradebook, when not the course folder's SQLite file (README: PostgreSQL);
                        passed to the instructors' servers only
  RNN_HUB_SINGLEUSER    the command that starts a user's server (default: jupyterhub-singleuser beside
                        this Python); its environment must be readable by every user
  RNN_HUB_ENV           only when that command is a system Python running the course environment's
                        packages (e.g. an environment under a private home): the environment's folder,
                        whose site-packages, share/jupyter and etc/jupyter the servers then use
  RNN_HUB_PROXY         configurable-http-proxy (default: classroom/node_modules/.bin/, from `make hub`)

Listens on http://127.0.0.1:8000 unless told otherwise (`--JupyterHub.bind_url=...`); put TLS in
front of it (JupyterHub's docs: "Security") before students log in from elsewhere.
"""
import grp
import json
import os
import pwd
import sys
import sysconfig
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
COURSE_ID = "rnn-course"  # nbgrader_config.py's CourseDirectory.course_id


def _names(value: str) -> set:
    return {name.strip() for name in value.split(",") if name.strip()}


HUB_DIR = Path(os.environ.get("RNN_HUB_DIR") or "/srv/rnn-course/hub")
INSTRUCTORS = _names(os.environ.get("RNN_HUB_INSTRUCTORS", "instructor"))
STUDENTS = _names(os.environ.get("RNN_HUB_STUDENTS", ""))
STUDENT_GROUP = os.environ.get("RNN_HUB_STUDENT_GROUP") or "rnn-students"
EXCHANGE = os.environ.get("AUTOGRADER_EXCHANGE") or "/srv/nbgrader/exchange"
ENV = os.environ.get("RNN_HUB_ENV", "")


def course_root() -> str:
    if os.environ.get("RNN_COURSE_ROOT"):
        return os.environ["RNN_COURSE_ROOT"]
    first = sorted(INSTRUCTORS)[0]
    try:
        return str(Path(pwd.getpwnam(first).pw_dir) / "rnn-course")
    except KeyError:
        return f"/home/{first}/rnn-course"


# -- who may log in ----------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"  # local Unix users and their own passwords
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
if not STUDENTS:
    c.PAMAuthenticator.allowed_groups = {STUDENT_GROUP}
# (no admin here: an instructor grades through formgrader, not by reaching students' servers)

# -- the hub's own files and where it listens ---------------------------------------------------------
STATE = HUB_DIR / "state"  # the database and cookie secret: root's alone
STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o700)
HUB_DIR.chmod(0o755)
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
proxy = os.environ.get("RNN_HUB_PROXY") or str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [proxy if Path(proxy).exists() else "configurable-http-proxy"]
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# -- each user's server ------------------------------------------------------------------------------
# A role's Jupyter configuration, written by the hub (root) into its own folder and read by the user's
# server through JUPYTER_CONFIG_PATH: nothing is written into a user's home, which the user controls.
ROLE_CONFIG = {
    "instructor": {
        "nbgrader_config.py": (f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
                               f"c.CourseDirectory.root = {course_root()!r}\nc.Exchange.root = {EXCHANGE!r}\n"),
    },
    "student": {
        "nbgrader_config.py": f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
                              f"c.Exchange.root = {EXCHANGE!r}\n",
        # the instructor's tools off: formgrader's pages and the Create Assignment side bar
        "jupyter_server_config.json": json.dumps(
            {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}}, indent=1),
        "labconfig/page_config.json": json.dumps(
            {"disabledExtensions": {"@jupyter/nbgrader:formgrader": True,
                                    "@jupyter/nbgrader:create-assignment": True}}, indent=1),
    },
}
for role, files in ROLE_CONFIG.items():
    for name, text in files.items():
        path = HUB_DIR / "config" / role / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
for path in [HUB_DIR / "config", *(HUB_DIR / "config").rglob("*")]:  # readable by every user's server
    path.chmod(0o755 if path.is_dir() else 0o644)

singleuser = os.environ.get("RNN_HUB_SINGLEUSER") or str(Path(sys.executable).parent / "jupyterhub-singleuser")
c.Spawner.cmd = singleuser.split()
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def role_of(name: str) -> str:
    return "instructor" if name in INSTRUCTORS else "student"


def setup_server(spawner) -> None:
    """Before a user's server starts: their role's configuration and, with RNN_HUB_ENV, the environment."""
    role = role_of(spawner.user.name)
    config_path = [str(HUB_DIR / "config" / role)]
    env = {}
    if role == "instructor":  # the course's own nbgrader_config.py reads these (its exchange, its gradebook)
        env["AUTOGRADER_EXCHANGE"] = EXCHANGE
        if os.environ.get("AUTOGRADER_DB_URL"):
            env["AUTOGRADER_DB_URL"] = os.environ["AUTOGRADER_DB_URL"]
    if ENV:
        packages = sysconfig.get_paths(vars={"base": ENV, "platbase": ENV})["purelib"]
        # (a path on PYTHONPATH is no site folder: the editable install's hook there is not run, so the
        # checkout that holds autograder/ and rnnlab/ goes on the path itself)
        env["PYTHONPATH"] = os.pathsep.join([packages, str(HERE.parent)])
        env["JUPYTER_PATH"] = str(Path(ENV) / "share" / "jupyter")
        config_path.append(str(Path(ENV) / "etc" / "jupyter"))
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = setup_server


def _student_group_exists() -> bool:
    try:
        grp.getgrnam(STUDENT_GROUP)
        return True
    except KeyError:
        return False


if not STUDENTS and not _student_group_exists():
    print(f"jupyterhub_config.py: no RNN_HUB_STUDENTS and no group {STUDENT_GROUP!r}: only the instructors "
          f"({', '.join(sorted(INSTRUCTORS))}) can log in", file=sys.stderr)
