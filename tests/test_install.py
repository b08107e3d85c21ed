"""`make setup` (autograder/install.py): which torch index, and when an environment is rebuilt.

No test reaches the network: reachability is a stub or a server on 127.0.0.1.
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from autograder import install
from conftest import ROOT

BUILDER = {"executable": "/opt/python3.11/bin/python3.11", "version": [3, 11, 7]}


# -- the Python ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version,ok", [((3, 10, 13), False), ((3, 6, 15), False), ((3, 11, 0), True),
                                        ((3, 13, 1), True)])
def test_python_3_11_is_the_minimum(version, ok):
    problem = install.python_problem(version)
    assert (problem == "") == ok
    if not ok:
        assert problem == f"Python 3.11+ is needed, found {'.'.join(map(str, version))}"


def test_every_statement_of_the_minimum_says_3_11():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    readme = (ROOT / "README.md").read_text()
    assert "Python 3.11+" in readme and "3.10+" not in readme
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def make_env() -> dict:
    """The environment for a fresh make: no variables inherited from a `make test` around this run."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHON", "VENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def fake_python(tmp_path: Path, version=(3, 10, 13)) -> Path:
    """A Python that reports another version (a sitecustomize rewrites sys.version_info)."""
    site = tmp_path / "fake-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        f"sys.version_info = {tuple(version) + ('final', 0)!r}\n"
        f"sys.version = {'.'.join(map(str, version))!r} + ' (fake)'\n")
    script = tmp_path / "python3.10"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    script.chmod(0o755)
    return script


def test_make_setup_refuses_an_old_python_before_creating_anything(tmp_path):
    venv = tmp_path / "venv"
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "setup", f"PYTHON={fake_python(tmp_path)}", f"VENV={venv}"],
                          capture_output=True, text=True, timeout=120, env=make_env())
    assert proc.returncode != 0
    assert "Python 3.11+ is needed, found 3.10.13" in proc.stderr
    assert not venv.exists()


# -- when an environment is rebuilt ----------------------------------------------------------------

def make_venv(path: Path, stamp=None) -> Path:
    """A stand-in environment: pyvenv.cfg, a bin/python (this test run's), and the stamp given."""
    (path / "bin").mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (path / "bin" / "python").symlink_to(sys.executable)
    if stamp is not None:
        (path / install.STAMP_NAME).write_text(stamp if isinstance(stamp, str) else json.dumps(stamp))
    return path


def stamp(**changes) -> dict:
    record = {"format": install.STAMP_FORMAT, "finished": True, "python": dict(BUILDER), "inputs": "digest"}
    record.update(changes)
    return record


@pytest.mark.parametrize("case,record,python_given,expected", [
    ("ready", stamp(), False, "ok"),
    ("ready, same Python named", stamp(), True, "ok"),
    ("install did not finish", None, False, "rebuild"),
    ("built with Python 3.10", stamp(python={"executable": "/usr/bin/python3.10", "version": [3, 10, 13]}), False,
     "rebuild"),
    ("another Python named", stamp(python={"executable": "/usr/bin/python3.12", "version": [3, 12, 1]}), True,
     "rebuild"),
    ("another Python, none named", stamp(python={"executable": "/usr/bin/python3.12", "version": [3, 12, 1]}), False,
     "ok"),
    ("requirements changed", stamp(inputs="old"), False, "install"),
    ("unreadable stamp", "{not json", False, "rebuild"),
    ("stamp of earlier Makefiles", "", False, "install"),
])
def test_plan(tmp_path, case, record, python_given, expected):
    venv = make_venv(tmp_path / "venv", record)
    action, why = install.plan(venv, install.read_stamp(venv), BUILDER, python_given, "digest",
                               venv_version=lambda: [3, 11, 7])
    assert action == expected, (case, why)
    assert (why == "") == (expected == "ok")


def test_an_earlier_environment_with_the_cuda_build_is_rebuilt(tmp_path):
    """Earlier Makefiles installed PyPI's CUDA build on Linux: such an environment is built again."""
    venv = make_venv(tmp_path / "venv", "")
    action, why = install.plan(venv, {}, BUILDER, False, "d", venv_version=lambda: [3, 11, 7], venv_cuda=lambda: "12.8")
    assert action == "rebuild" and "CUDA build" in why
    assert install.plan(venv, {}, BUILDER, False, "d", venv_version=lambda: [3, 11, 7], venv_cuda=lambda: "")[0] == "install"
    # an environment of this script is trusted: its stamp recorded what it installed
    assert install.plan(venv, stamp(inputs="d"), BUILDER, False, "d", venv_cuda=never_called)[0] == "ok"


def test_an_environment_linked_to_another_checkout_is_relinked(tmp_path):
    """A .venv shared with a second clone or a git worktree imports *that* checkout's autograder: the
    editable install is redone here (found by reading the finder pip writes, as a real install does)."""
    venv = make_venv(tmp_path / "venv", stamp(inputs="d"))
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    here, other = tmp_path / "here", tmp_path / "other"
    for checkout, expected in ((here, "ok"), (other, "install")):
        (site / "__editable___rnn_course_0_1_0_finder.py").write_text(
            f"MAPPING: dict[str, str] = {{'autograder': '{checkout}/autograder', 'rnnlab': '{checkout}/rnnlab'}}\n")
        linked = install.linked_checkout(venv)
        assert linked == checkout
        action, why = install.plan(venv, install.read_stamp(venv), BUILDER, False, "d", linked=linked, repo_dir=here)
        assert action == expected, why
        assert (str(other) in why) == (expected == "install")
    assert install.linked_checkout(tmp_path / "nothing") is None
    # a .pth that names a folder (tests/test_readme.py's copy of the repository writes one) wins
    (site / "__editable__.rnn_course-0.1.0.pth").write_text(f"{here}\n")
    assert install.linked_checkout(venv) == here
    (site / "__editable__.rnn_course-0.1.0.pth").write_text("import __editable___rnn_course_0_1_0_finder; x()\n")
    assert install.linked_checkout(venv) == other


def test_this_environment_is_linked_to_this_checkout():
    venv = Path(sys.executable).parent.parent
    linked = install.linked_checkout(venv)
    if linked is None:
        pytest.skip(f"{venv} has no editable install of this project (not made by make setup)")
    assert linked.resolve() == install.REPO_DIR.resolve()


def test_plan_without_an_environment_or_its_python(tmp_path):
    assert install.plan(tmp_path / "none", None, BUILDER, False, "d")[0] == "create"
    venv = make_venv(tmp_path / "venv", stamp())
    (venv / "bin" / "python").unlink()
    assert install.plan(venv, install.read_stamp(venv), BUILDER, False, "digest") == (
        "rebuild", f"{venv} has no working Python")


def test_an_earlier_environment_with_python_3_10_is_rebuilt(tmp_path):
    venv = make_venv(tmp_path / "venv", "")
    action, why = install.plan(venv, {}, BUILDER, False, "d", venv_version=lambda: [3, 10, 13])
    assert action == "rebuild" and "found 3.10.13" in why


def test_half_made_environment_is_reported_for_rebuild_by_the_script(tmp_path):
    venv = make_venv(tmp_path / "venv")
    proc = subprocess.run([sys.executable, str(ROOT / "autograder" / "install.py"), "--venv", str(venv), "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"would rebuild {venv}: the installation in {venv} did not finish"


def test_a_failed_install_leaves_no_stamp(tmp_path):
    """The stamp is written last: pip failing leaves the environment marked unfinished, so rebuilt."""
    venv = make_venv(tmp_path / "venv", stamp(inputs="old"))
    failing = venv / "bin" / "python"
    failing.unlink()
    failing.write_text("#!/bin/sh\necho 'ERROR: No matching distribution found for torch==2.13.0'\nexit 1\n")
    failing.chmod(0o755)
    with pytest.raises(install.SetupError, match="pip install failed"):
        install.install(venv, "install", None, "pip's configured index", repo_dir=ROOT)
    assert install.read_stamp(venv) is None
    assert install.plan(venv, None, BUILDER, False, "d")[0] == "rebuild"


def test_the_stamp_names_the_python_that_created_the_environment(tmp_path):
    """Not the one that happened to re-run pip in it: `PYTHON=...` is compared with the creator."""
    venv = make_venv(tmp_path / "venv")
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nexecutable = {sys.executable}\nversion = 3.11.7\n")
    assert install.venv_base(venv) == os.path.realpath(sys.executable)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert install.venv_base(venv) == ""


def test_only_a_virtual_environment_is_ever_deleted(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(install.SetupError, match="not a virtual environment"):
        install.remove_venv(precious)
    assert (precious / "thesis.tex").exists()
    install.remove_venv(make_venv(tmp_path / "venv"))
    assert not (tmp_path / "venv").exists()


def test_the_digest_follows_the_requirements(tmp_path):
    for name in install.INPUTS:
        (tmp_path / name).write_text((ROOT / name).read_text())
    before = install.inputs_digest(tmp_path)
    assert before == install.inputs_digest(ROOT)
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text() + "rich==14.0.0\n")
    assert install.inputs_digest(tmp_path) != before


# -- which torch -----------------------------------------------------------------------------------

def never_called(url):
    raise AssertionError(f"probed {url}")


def test_linux_adds_pytorchs_cpu_index_when_it_answers():
    asked = []
    index, source = install.choose_torch_index("auto", "Linux", probe=lambda url: asked.append(url) or True)
    assert index == "https://download.pytorch.org/whl/cpu" and source == "PyTorch's CPU index"
    assert asked == ["https://download.pytorch.org/whl/cpu/torch/"]


def test_linux_falls_back_to_pips_index_when_pytorchs_does_not_answer():
    index, source = install.choose_torch_index("auto", "Linux", probe=lambda url: False)
    assert index is None
    assert source == ("pip's configured index (PyTorch's CPU index, https://download.pytorch.org/whl/cpu, "
                      "could not be reached within 3 s)")


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_other_systems_use_pips_index_without_probing(system):
    index, source = install.choose_torch_index("auto", system, probe=never_called)
    assert index is None and "CPU builds" in source


@pytest.mark.parametrize("choice,expected", [("default", None), ("https://mirror.example/whl/cpu", "https://mirror.example/whl/cpu")])
def test_torch_index_can_be_forced(choice, expected):
    assert install.choose_torch_index(choice, "Linux", probe=never_called)[0] == expected


def test_pip_reads_the_cpu_index_as_an_extra_index_only_when_chosen():
    req = Path("requirements.txt")
    assert install.pip_install_command("py", req, None, ["-q"]) == ["py", "-m", "pip", "install", "-q", "-r", "requirements.txt"]
    assert install.pip_install_command("py", req, install.TORCH_CPU_INDEX)[-2:] == [
        "--extra-index-url", "https://download.pytorch.org/whl/cpu"]


def test_the_torch_line_names_the_build():
    assert install.describe_torch({"torch": "2.13.0+cpu", "cuda": None}, "PyTorch's CPU index") == \
        "torch 2.13.0+cpu (CPU build) from PyTorch's CPU index"
    line = install.describe_torch({"torch": "2.13.0", "cuda": "12.8"}, "pip's configured index")
    assert line.startswith("torch 2.13.0 (CUDA 12.8 build, several GB) from pip's configured index")


@pytest.fixture
def local_server():
    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200 if self.path == "/whl/cpu/torch/" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reachable_asks_once(local_server):
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({})).open
    assert install.reachable(f"{local_server}/whl/cpu/torch/", opener=no_proxy)
    assert not install.reachable(f"{local_server}/missing/", opener=no_proxy)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert not install.reachable(f"http://127.0.0.1:{closed}/", opener=no_proxy)


def test_reachable_gives_up_on_a_host_that_never_answers():
    """A lookup or connection that hangs (which socket timeouts may not cover) counts as unreachable."""
    release = threading.Event()

    def hangs(request, timeout):
        release.wait(10)  # without the bound, the probe would wait for this and then report success
        return _Answer()

    class _Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    try:
        assert install.reachable("https://download.pytorch.org/whl/cpu/torch/", seconds=0.2, opener=hangs) is False
    finally:
        release.set()


def test_setup_is_quiet_when_the_environment_is_ready():
    """`make setup` in a ready environment prints nothing and touches nothing (every make target runs it)."""
    venv = ROOT / ".venv"
    if not Path(sys.executable).is_relative_to(venv) or install.plan(
            venv, install.read_stamp(venv), install.this_python(), False, install.inputs_digest())[0] != "ok":
        pytest.skip("runs in the project's own .venv once it is ready (as under `make test`)")
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "venv"], capture_output=True, text=True, timeout=120,
                          env=make_env())
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr


def test_conda_and_binder_read_the_cpu_index_before_the_requirements():
    """environment.yml (conda, mamba, Binder) gives pip the same CPU index as `make setup` and setup.sh."""
    pip_lines = [line.strip()[2:] for line in (ROOT / "environment.yml").read_text().split("- pip:")[1].splitlines()
                 if line.strip().startswith("- ")]
    assert pip_lines == [f"--extra-index-url {install.TORCH_CPU_INDEX}", "-r requirements.txt", "-e ."]
