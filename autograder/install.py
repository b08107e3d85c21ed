"""`make setup`: the virtual environment, built once, rebuilt when it cannot be trusted.

    python autograder/install.py [--venv .venv] [--python-given] [--torch-index auto|default|URL]
                                 [--pip-flags "..."] [--dry-run]

Run by `make` with the Python that should build the environment (the Makefile's PYTHON), before any
package is installed: standard library only. Every make target calls it; when the environment is
ready it returns at once, without printing anything.

- **Which torch.** PyPI's Linux torch is the multi-GB CUDA build. On Linux the install reads PyTorch's
  CPU wheel index as well (`--extra-index-url`), whose `+cpu` wheel outranks PyPI's for the same
  pinned version, if that index answers within PROBE_SECONDS; where it does not (no internet but a
  package mirror, a firewall), pip uses its configured index alone, without waiting on a host it
  cannot reach. macOS and Windows wheels on PyPI are CPU builds already. After installing, one line
  says which build torch is and from which index it was asked for.
- **When to rebuild.** The stamp `<venv>/.installed` (JSON) is written last, once everything is
  installed, and records the Python that built the environment and the digest of the files it was
  installed from. No stamp in an existing environment means the install did not finish: the
  environment is rebuilt from scratch, as is one whose Python is older than MIN_PYTHON, broken, or
  not the one named by `make ... PYTHON=...` (`--python-given`). Changed requirements only re-run
  pip in the environment as it is, as does an environment whose `autograder` package (installed
  editable) points at another checkout, e.g. a `.venv` shared with a second clone or a git worktree.
"""
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

MIN_PYTHON = (3, 11)  # the pinned numpy, matplotlib, ipykernel and nbgrader need 3.11+
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_SECONDS = 3.0  # one try, DNS included: an unreachable index costs at most this
REPO_DIR = Path(__file__).resolve().parent.parent
INPUTS = ("requirements.txt", "pyproject.toml")  # what the environment is installed from
STAMP_NAME = ".installed"
STAMP_FORMAT = 2  # 1: the empty file of earlier Makefiles
JUPYTER_STEPS = (
    ["jupyter", "labextension", "enable", "--level=sys_prefix", "@jupyter/nbgrader"],
    ["jupyter", "server", "extension", "enable", "--sys-prefix", "nbgrader.server_extensions.formgrader"],
    ["jupyter", "server", "extension", "enable", "--sys-prefix", "nbgrader.server_extensions.validate_assignment"],
)
# what the environment must import once installed, and how torch was built
REPORT_CODE = ("import json, torch, nbgrader, jupyterlab; "
               "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda}))")


class SetupError(Exception):
    """The environment cannot be set up (one line for the user)."""


# -- the Python ------------------------------------------------------------------------------------

def python_problem(version_info) -> str:
    """Why this Python cannot build the environment, or ''."""
    if tuple(version_info[:2]) < MIN_PYTHON:
        found = ".".join(str(n) for n in version_info[:3])
        return f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ is needed, found {found}"
    return ""


def this_python() -> dict:
    return {"executable": os.path.realpath(sys.executable), "version": list(sys.version_info[:3])}


# -- which torch -----------------------------------------------------------------------------------

def reachable(url: str, seconds: float = PROBE_SECONDS, opener=urllib.request.urlopen) -> bool:
    """Whether url answers within `seconds`, in one try.

    The request runs in a daemon thread, so a slow DNS lookup (which socket timeouts do not cover)
    cannot hold setup longer than `seconds` either. Proxies are taken from the environment, as pip
    takes them."""
    answered = []

    def probe():
        try:
            with opener(urllib.request.Request(url, method="HEAD"), timeout=seconds) as response:
                answered.append(200 <= response.status < 400)
        except Exception:
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(seconds)
    return bool(answered and answered[0])


def choose_torch_index(choice: str = "auto", system: str = "", probe=reachable):
    """(extra index URL or None, why): where pip should look for the CPU build of torch.

    choice: 'auto' (probe PyTorch's CPU index on Linux), 'default' (pip's configured index only),
    or the URL of an index to add (a mirror of PyTorch's CPU index)."""
    system = system or platform.system()
    if choice == "default":
        return None, "pip's configured index only (TORCH_INDEX=default)"
    if choice != "auto":
        return choice, "TORCH_INDEX"
    if system != "Linux":
        return None, f"pip's configured index ({system} wheels of torch are CPU builds)"
    if probe(TORCH_CPU_INDEX + "/torch/"):
        return TORCH_CPU_INDEX, "PyTorch's CPU index"
    return None, (f"pip's configured index (PyTorch's CPU index, {TORCH_CPU_INDEX}, could not be reached "
                  f"within {PROBE_SECONDS:g} s)")


def pip_install_command(python: str, requirements: Path, index, pip_flags=()) -> list:
    command = [python, "-m", "pip", "install", *pip_flags, "-r", str(requirements)]
    if index:
        command += ["--extra-index-url", index]
    return command


def describe_torch(report: dict, source: str) -> str:
    """The one line that says which torch was installed, e.g. 'torch 2.13.0+cpu (CPU build) from ...'."""
    if report.get("cuda"):
        build = f"CUDA {report['cuda']} build, several GB"
    else:
        build = "CPU build"
    line = f"torch {report['torch']} ({build}) from {source}"
    if report.get("cuda") and platform.system() == "Linux":
        line += (f"; for the CPU build, delete the environment and run `make setup` where {TORCH_CPU_INDEX} "
                 f"can be reached, or with TORCH_INDEX=<a mirror of it>")
    return line


# -- the environment and its stamp -----------------------------------------------------------------

def inputs_digest(repo_dir: Path = REPO_DIR) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update(name.encode() + b"\0" + (Path(repo_dir) / name).read_bytes() + b"\0")
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def read_stamp(venv: Path):
    """The stamp's record, {} for the empty stamp of earlier Makefiles, None when there is none."""
    path = Path(venv) / STAMP_NAME
    if not path.is_file():
        return None
    text = path.read_text().strip()
    if not text:
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def linked_checkout(venv: Path):
    """The checkout the environment's editable install of this project points at, or None.

    pip's editable install is a `__editable__.rnn_course-*.pth` file: either a plain path (a checkout
    folder put on sys.path) or an import of the `__editable___rnn_course_*_finder` module it writes,
    whose MAPPING names the packages' folders."""
    import re

    for site in Path(venv).glob("lib/python3*/site-packages"):
        for pth in site.glob("__editable__.rnn_course-*.pth"):
            text = pth.read_text(encoding="utf-8", errors="replace").strip()
            if text and not text.startswith("import"):
                return Path(text.splitlines()[0].strip())
        for finder in site.glob("__editable___rnn_course_*_finder.py"):
            found = re.search(r"'autograder':\s*'([^']+)'", finder.read_text(encoding="utf-8", errors="replace"))
            if found:
                return Path(found.group(1)).parent
    return None


def plan(venv: Path, stamp, builder: dict, python_given: bool, digest: str, venv_version=None, venv_cuda=None,
         linked=None, repo_dir: Path = REPO_DIR):
    """(action, why) for the environment at venv: 'ok', 'install' (re-run pip in it), 'create', 'rebuild'.

    stamp: read_stamp(venv); builder: this_python(), the Python make was given; venv_version and
    venv_cuda: callables that ask the environment for its Python version and its torch's CUDA
    version, only when the stamp does not record them (an environment of an earlier Makefile);
    linked: linked_checkout(venv), the checkout its editable install points at."""
    venv = Path(venv)
    if not venv.exists():
        return "create", f"{venv} does not exist"
    if not venv_python(venv).exists():
        return "rebuild", f"{venv} has no working Python"
    if stamp is None:
        return "rebuild", f"the installation in {venv} did not finish"
    if stamp.get("format") == STAMP_FORMAT:
        version = stamp["python"]["version"]
    else:  # an environment made by an earlier Makefile: ask its Python
        version = venv_version() if venv_version else None
        if version is None:
            return "rebuild", f"{venv} has no working Python"
    problem = python_problem(version)
    if problem:
        return "rebuild", f"{venv} was built with an unsuitable Python ({problem})"
    if python_given and stamp.get("python", {}).get("executable") != builder["executable"]:
        return "rebuild", f"{venv} was built with another Python than {builder['executable']}"
    if stamp.get("format") != STAMP_FORMAT:
        if venv_cuda and venv_cuda():  # earlier Makefiles installed PyPI's CUDA build on Linux
            return "rebuild", f"{venv} holds PyTorch's CUDA build (several GB): rebuilding it for the CPU build"
        return "install", f"{venv} was set up by an earlier version of this script"
    if stamp.get("inputs") != digest:
        return "install", "requirements.txt or pyproject.toml changed"
    if linked is not None and Path(linked).resolve() != Path(repo_dir).resolve():
        return "install", f"its autograder package is the one in {linked}, another checkout"
    return "ok", ""


def venv_base(venv: Path) -> str:
    """The Python that created the environment, from its pyvenv.cfg (Python 3.11+ writes it), or ''."""
    try:
        for line in (Path(venv) / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "executable" and value.strip():
                return os.path.realpath(value.strip())
    except OSError:
        pass
    return ""


def ask_version(python: Path):
    try:
        out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return [int(n) for n in out.stdout.split()] if out.returncode == 0 and out.stdout.strip() else None


def ask_torch_cuda(python: Path) -> str:
    """The CUDA version the environment's torch was built for; '' for a CPU build or no torch."""
    try:
        out = subprocess.run([str(python), "-c", "import torch; print(torch.version.cuda or '')"],
                             capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def remove_venv(venv: Path) -> None:
    """Delete a virtual environment, and nothing that does not look like one."""
    venv = Path(venv)
    if not (venv / "pyvenv.cfg").is_file():
        raise SetupError(f"{venv} exists but is not a virtual environment (no pyvenv.cfg): move it away, or set VENV")
    shutil.rmtree(venv)


def run_quiet(command: list, what: str) -> None:
    """Run command, showing its output only when it fails."""
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        raise SetupError(f"{what} failed (exit status {proc.returncode}): see the output above")


def run_shown(command: list, what: str) -> None:
    """Run command with its output shown, less pip's notes about ignored find-links locations."""
    print(" ".join(shlex.quote(str(part)) for part in command), flush=True)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if not line.startswith("WARNING: Location"):
            sys.stdout.write(line)
            sys.stdout.flush()
    if proc.wait() != 0:
        raise SetupError(f"{what} failed (exit status {proc.returncode}): see the pip output above")


def install(venv: Path, action: str, index, source: str, pip_flags=(), repo_dir: Path = REPO_DIR) -> str:
    """Carry out action ('create', 'rebuild', 'install'); write the stamp last. Returns the torch line."""
    venv = Path(venv)
    if action == "rebuild":
        remove_venv(venv)
    if action in ("create", "rebuild"):
        run_quiet([sys.executable, "-m", "venv", str(venv)], f"{sys.executable} -m venv {venv}")
    (venv / STAMP_NAME).unlink(missing_ok=True)  # not finished until the end
    python = str(venv_python(venv))
    bin_dir = str(Path(python).parent)
    run_shown(pip_install_command(python, Path(repo_dir) / "requirements.txt", index, pip_flags), "pip install")
    run_shown([python, "-m", "pip", "install", *pip_flags, "--no-deps", "-e", str(repo_dir)], "pip install -e .")
    proc = subprocess.run([python, "-c", REPORT_CODE], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stderr)
        raise SetupError("installation failed: torch, nbgrader or jupyterlab cannot be imported (see above)")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for step in JUPYTER_STEPS:
        run_quiet([str(Path(bin_dir) / step[0]), *step[1:]], " ".join(step))
    built_by = {"executable": venv_base(venv) or this_python()["executable"], "version": ask_version(python)}
    record = {"format": STAMP_FORMAT, "finished": True, "python": built_by,
              "inputs": inputs_digest(repo_dir), "torch": report, "torch_index": index or "default"}
    (venv / STAMP_NAME).write_text(json.dumps(record, indent=1) + "\n")
    return describe_torch(report, source)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=REPO_DIR / ".venv")
    parser.add_argument("--python-given", action="store_true",
                        help="the Python was named (make PYTHON=...): rebuild an environment built by another")
    parser.add_argument("--torch-index", default=os.environ.get("TORCH_INDEX") or "auto",
                        help="auto (default), default (pip's configured index only) or an index URL")
    parser.add_argument("--pip-flags", default="", help="extra pip install flags, one string")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    args = parser.parse_args(argv)

    problem = python_problem(sys.version_info)
    if problem:
        print(f"{problem} ({sys.executable}): run `make setup PYTHON=python3.11` (or newer)", file=sys.stderr)
        return 1
    venv = args.venv
    action, why = plan(venv, read_stamp(venv), this_python(), args.python_given, inputs_digest(),
                       venv_version=lambda: ask_version(venv_python(venv)),
                       venv_cuda=lambda: platform.system() == "Linux" and ask_torch_cuda(venv_python(venv)),
                       linked=linked_checkout(venv))
    if action == "ok":
        return 0
    if args.dry_run:
        print(f"would {action} {venv}: {why}")
        return 0
    print(f"{action} {venv}: {why}" if action != "create" else f"creating {venv} with {sys.executable}", flush=True)
    index, source = choose_torch_index(args.torch_index)
    try:
        line = install(venv, action, index, source, shlex.split(args.pip_flags))
    except SetupError as exc:
        print(f"make setup: {exc}", file=sys.stderr)
        return 1
    print(line)
    print(f"environment ready in {venv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
