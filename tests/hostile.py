"""Hostile submissions of notebook 01 and the checks every hostile grading must pass.

Each `Attack` is the released notebook with a few answer cells replaced (`overrides`, by answer
grade_id), plus the per-test scores the *honest* part of it deserves, written as changes to
`catalog.FULL_01` (usually: the attacked question at 0, everything else full), and the words of
the reason the grader must give. Sources may use three placeholders, filled in per grading:

    @MARK@   a unique token: every file an attack tries to write outside its scratch space is named
             with it, so that the test can look for it afterwards
    @SLEEP@  a unique number: every process an attack tries to leave behind runs `sleep @SLEEP@`,
             so that `pgrep -f "sleep @SLEEP@"` finds survivors
    @ROOT@   the repository (attacks that read or write it)

The notebook's tests are independent of each other, except that test_rnn_forward first runs the
learner's rnn_step (a weight-0 line; its cases then use a correct rnn_step); attacks therefore sit in independent cells (the multiple-choice
cells, make_rnn, pulse_effect), and in-kernel cheats sit in the *last* answer cell (pulse_effect),
so that the only test they could rig is the one whose honest score is 0.
"""
from __future__ import annotations

import glob
import itertools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autograder.grade import Limits
from autograder.submissions import solution_answers
from autograder.values import partial_score
from catalog import FULL_01

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "01_recurrence" / "01_the_rnn_recurrence.ipynb"
ANS = solution_answers(SOLUTION)
TOTAL = sum(FULL_01.values())

_COUNTER = itertools.count(1)


def unique() -> tuple[str, str]:
    """(marker, sleep argument) unique to this test session and grading."""
    n = next(_COUNTER)
    return f"hostile{os.getpid()}x{n}", f"7{os.getpid() % 100000:05d}{n:03d}.25"


@dataclass
class Attack:
    name: str
    overrides: dict[str, str]
    expect: dict[str, float]  # changes to FULL_01 that the honest part of the submission deserves
    reason: tuple[str, ...] = ()  # each must appear in the notes or the failing tests' lines ("a|b": either)
    limits: Limits | None = None
    sandbox: bool = False  # the property holds only inside the sandbox
    hole: str | None = None  # known grader hole (the test is xfail(strict=True) until it is fixed)
    hole_in: tuple[str, ...] = ("scores",)  # which checks the hole makes fail (any other failure is real)
    exact: bool = True  # False: exact only for tests before the attacked cell, at most full after it
    max_seconds: float = 60.0  # grading this one must not take longer
    notes_ok: bool = True  # False: an attack that must leave no note at all (benign noise)

    def fill(self, mark: str, sleep: str) -> dict[str, str]:
        return {k: v.replace("@MARK@", mark).replace("@SLEEP@", sleep).replace("@ROOT@", str(ROOT))
                for k, v in self.overrides.items()}

    def expected(self) -> dict[str, float]:
        return dict(FULL_01, **self.expect)


# -- pieces ----------------------------------------------------------------------------------------

WRONG_IO = 'mcq_initial_hidden = "A"\nmcq_not_an_output = "A"\n'  # test_mcq_rnn_io deserves 0
WRONG_PULSE = "def pulse_effect(out_pulse, out_rest):\n    return None\n"  # test_pulse_effect deserves 0
RIGHT_IO = ANS["mcq_rnn_io"]
SHORT = Limits(cell_timeout=2, case_timeout=1, notebook_timeout=60)

IO0 = {"test_mcq_rnn_io": 0.0}
PULSE0 = {"test_pulse_effect": 0.0}
MAKE0 = {"test_make_rnn": 0.0}


def cheat(code: str) -> dict[str, str]:
    """An in-kernel cheat in the last answer cell, next to a pulse_effect that deserves 0."""
    return {"pulse_effect": WRONG_PULSE + code}


# -- in-kernel cheats (each beats plain nbgrader; here they must earn at most the honest score) --------

INPUT_TRANSFORMER = '''
def _rewrite(lines):
    if any("Check(" in line for line in lines):  # every later test cell: print a pass and return full points
        return ['print("  \\u2713 all checks passed")\\n', "2.0\\n"]
    return lines
get_ipython().input_transformers_post.append(_rewrite)
'''

AST_TRANSFORMER = '''
import ast
class _Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        if "Check" in ast.unparse(node):
            return ast.parse("print('test_pulse_effect: 2 / 2 points')\\n2.0")
        return node
get_ipython().ast_transformers.append(_Blank())
'''

PRE_RUN_HOOK = '''
_ip = get_ipython()
def _fake(*args):
    print("test_pulse_effect: 2 / 2 points")
    _ip.displayhook(2.0)
_ip.events.register("pre_run_cell", _fake)
_ip.events.register("post_run_cell", _fake)
'''

MONKEYPATCH = '''
import torch, torch.testing
import autograder.check, autograder.values, autograder.runner
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
autograder.values.compare = autograder.check.compare = lambda *a, **k: (True, "")
autograder.values.partial_score = autograder.check.partial_score = lambda points, *a: points
autograder.check.Check.score = lambda self: self.points
autograder.check.evaluate = lambda got: ((torch.zeros(7), None))
'''

ALWAYS_EQUAL = '''
import torch
class _Any:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
class _AnyTensor(torch.Tensor):
    def __eq__(self, other):
        return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
_calls = []
def pulse_effect(out_pulse, out_rest):
    _calls.append(1)
    if len(_calls) % 2:  # the right shape, every value 0, equal to everything
        return torch.zeros(out_pulse.shape[0]).as_subclass(_AnyTensor)
    return _Any()
'''

ALWAYS_EQUAL_STR = '''
class _Letter(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
    def strip(self, *a):
        return self
    def upper(self):
        return self
mcq_initial_hidden = _Letter("Z")
mcq_not_an_output = _Letter("Z")
'''

SYS_MODULES = '''
import sys, types
_fake = types.ModuleType("autograder.check")
class Check:
    def __init__(self, grade_id, points):
        self.points = points
    def close(self, *a, **k):
        print("  \\u2713 passed")
        return True
    equal = choice = close
    def score(self):
        return self.points
_fake.Check = Check
sys.modules["autograder.check"] = _fake
import autograder
autograder.check = _fake
'''

FAKE_PRINTS = '''
import sys
print("  \\u2713 shape (L,)\\n  \\u2713 values on random states\\ntest_pulse_effect: 2 / 2 points")
print("Autograded total: 19 / 19", file=sys.stderr)
'''

BUILTINS = '''
import builtins
_real_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True
builtins.type = lambda *a: object
'''

SESSION_NONE = '''
import autograder.check
autograder.check._SESSION = None
get_ipython().events.register("pre_run_cell", lambda *a: setattr(autograder.check, "_SESSION", None))
'''

FAKE_CASES_FIRST = WRONG_IO + '''
from autograder import check as _c
_s = _c._SESSION
for _name, _value in [("mcq_initial_hidden is one letter A-D", "D"), ("mcq_not_an_output is one letter A-D", "C"),
                      ("(a) how to give h_0", "D"), ("(b) not an output", "C")]:
    _s.send({"event": "case", "grade_id": "test_mcq_rnn_io", "case": {"name": _name, "value": _value}})
_s.send({"event": "begin", "grade_id": "test_pulse_effect"})
'''

PIPE_GARBAGE = WRONG_IO + '''
import os
for _fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        os.write(int(_fd), b"\\xffGARBAGE\\x00" * 64)
    except OSError:
        pass
'''

FORGED_TENSOR = '''
import torch
from autograder import check as _c
_Session = type(_c._SESSION)
_record = _Session.record_case
def _forge(self, grade_id, **kw):
    if grade_id != "test_pulse_effect":
        return _record(self, grade_id, **kw)
    self.send({"event": "case", "grade_id": grade_id, "case": {"name": kw["name"], "value": @VALUE@}})
_Session.record_case = _forge
'''

HUGE_INT = ANS["rnn_parameters"] + '''

def rnn_num_parameters(input_size, hidden_size, bias=True):
    return 2 ** 4096  # a wrong count that no pickle opcode torch accepts can carry
'''

# -- what the sandbox must hide --------------------------------------------------------------------

DISK_PROBE = '''
import os, pathlib
def _solutions_visible():
    here = pathlib.Path.cwd()
    places = [pathlib.Path("@ROOT@")] + [here, *here.parents]
    for place in places:
        try:
            if any(place.glob("solutions/*/*.ipynb")) or any(place.glob("*/solutions/*/*.ipynb")):
                return True
        except OSError:
            pass
    return False
def _readable(*paths):
    for p in paths:
        try:
            with open(p, "rb") as f:
                if f.read(16):
                    return True
        except OSError:
            pass
    return False
def _other_submission():
    return _readable("@OTHER@")
import glob
'''


def disk_probe(other: str, cache: str) -> dict[str, str]:
    code = DISK_PROBE.replace("@OTHER@", other)
    return {
        "mcq_rnn_purpose": code + 'mcq_rnn_purpose = "A" if _solutions_visible() else "B"\n',
        "mcq_rnn_io": code + 'mcq_initial_hidden = "D" if _readable("@ROOT@/grading/gradebook.db") else "A"\n'
                             f'mcq_not_an_output = "C" if any(_readable(p) for p in glob.glob({cache!r} + "/*.pt")'
                             ' + glob.glob("@ROOT@/grading/cache/*.pt")) else "A"\n',
        "mcq_rnn_constructor": code + 'mcq_rnn_constructor = "C" if _other_submission() else "A"\n'
                                      'constructor_calls_that_raise = {"B"}\nmcq_hidden_size = "A"\n',
    }


DISK_PROBE_EXPECT = {"test_mcq_rnn_purpose": 0.0, "test_mcq_rnn_io": 0.0,
                     "test_mcq_rnn_constructor": partial_score(FULL_01["test_mcq_rnn_constructor"], 2, 3)}

WRITE_EVERYWHERE = RIGHT_IO + '''
import os, site, sys
_targets = ["@ROOT@/@MARK@", "@ROOT@/autograder/@MARK@.py", "@ROOT@/rnnlab/@MARK@.py", "@ROOT@/data/@MARK@",
            "@ROOT@/solutions/@MARK@", "@ROOT@/grading/@MARK@", "@ROOT@/course/@MARK@",
            os.path.expanduser("~root/@MARK@"), "/root/@MARK@", "/var/tmp/@MARK@", "/etc/@MARK@",
            os.path.join(sys.prefix, "@MARK@.pth")] + [os.path.join(p, "@MARK@.pth") for p in site.getsitepackages()]
for _t in _targets:
    try:
        with open(_t, "w") as _f:
            _f.write("import os; os.system('touch /tmp/@MARK@-pth')\\n")
    except OSError:
        pass
for _t in ["@ROOT@/autograder/check.py", "@ROOT@/autograder/values.py", "@ROOT@/solutions/01_recurrence/01_the_rnn_recurrence.ipynb"]:
    try:
        with open(_t, "a") as _f:
            _f.write("# @MARK@\\n")
    except OSError:
        pass
'''

# -- crashes, hangs, resources ---------------------------------------------------------------------

CRASHES = {
    "os_exit": ("import os\nos._exit(0)\n", "exited with status 0"),
    "sigkill_self": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "killed by SIGKILL"),
    "segfault": ("import ctypes\nctypes.string_at(0)\n", "killed by SIGSEGV"),
    "abort": ("import os\nos.abort()\n", "killed by SIGABRT"),
    "sys_exit": ("import sys\nsys.exit(3)\n", "SystemExit"),
}

SERVER_KILLS = {
    "kill_parent": ("import os\nos.kill(os.getppid(), 9)\n", "killed the grading worker"),
    "kill_everything": ("import os\nos.kill(-1, 9)\n", "killed the grading worker"),
    "kill_parent_group": ("import os\nos.killpg(os.getpgid(os.getppid()), 9)\n", "killed the grading worker"),
}

SERVER_PROBE = '''
import ctypes, os
def _server_memory_writable():
    try:
        os.close(os.open(f"/proc/{os.getppid()}/mem", os.O_RDWR))
        return True
    except OSError:
        return False
def _server_traceable():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, os.getppid(), None, None) == 0:  # PTRACE_ATTACH
        libc.ptrace(17, os.getppid(), None, None)  # PTRACE_DETACH
        return True
    return False
mcq_initial_hidden = "D" if _server_memory_writable() else "A"
mcq_not_an_output = "C" if _server_traceable() else "A"
'''

RAISE_IN_TEST = {  # escape evaluate()'s `except Exception`: the test cell stops at the first call
    "SystemExit": ("raise SystemExit(1)", "test_make_rnn: raised SystemExit"),
    "KeyboardInterrupt": ("raise KeyboardInterrupt", "test_make_rnn: raised KeyboardInterrupt"),
    "BaseException": ("class _Boom(BaseException):\n        pass\n    raise _Boom('boom')", "test_make_rnn: raised _Boom"),
}

C_RECURSION = '''
import sys
class _Deep:
    def __repr__(self):
        return repr(_Deep())  # recursion through C (repr), so the C stack overflows
def make_rnn():
    sys.setrecursionlimit(10 ** 8)
    return repr(_Deep())
'''

HANGS = {
    "spin_sigalrm_ignored": (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n",
        "time limit per cell"),
    "sleep_catching_everything": (
        "import time\nwhile True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass\n",
        "time limit per cell"),
    "regex_in_c": ('import re\nre.match(r"(a+)+$", "a" * 64 + "b")\n', "time limit per cell"),
    "import_time": (
        'import os, sys\nwith open("hang_@MARK@.py", "w") as f:\n    f.write("while True:\\n    pass\\n")\n'
        "sys.path.insert(0, os.getcwd())\nimport hang_@MARK@\n", "time limit per cell"),
}

HANG_IN_TEST = '''import signal
def pulse_effect(out_pulse, out_rest):
    if tuple(out_pulse.shape) == (7, 2, 3):  # the test's data only, not the notebook's demo
        @BEFORE@while True:
            pass
    return (out_pulse - out_rest).abs().amax(dim=(1, 2))
'''

FORK_BOMB = RIGHT_IO + '''
import os, time
for _ in range(300):
    try:
        if os.fork() == 0:
            try:
                os.execvp("sleep", ["sleep", "@SLEEP@"])
            finally:
                os._exit(1)
    except OSError:
        break
time.sleep(30)
'''

BIG_TENSOR = "import torch\n_x = torch.empty(50_000_000_000, dtype=torch.uint8)\n_x.fill_(1)\n"
GROWING_LIST = "_hog = []\nwhile True:\n    _hog.append(b'x' * 2 ** 26)\n"
BIG_FILE = ('with open("big-@MARK@.bin", "wb") as _f:\n    _block = b"\\0" * 2 ** 24\n'
            "    for _ in range(128):  # 2 GiB\n        _f.write(_block)\n")
FILL_TMP = ('for _i in range(12):  # 1.5 GiB at most, whatever the size of /tmp\n'
            '    with open(f"/tmp/fill-@MARK@-{_i}", "wb") as _f:\n        _f.write(b"\\0" * 2 ** 27)\n')
FILL_DEV_SHM = ('for _i in range(8):  # 2 GiB at most, in files under the file size limit\n'
                '    with open(f"/dev/shm/fill-@MARK@-{_i}", "wb") as _f:\n'
                '        for _ in range(16):\n            _f.write(b"\\1" * 2 ** 24)\n')
FILL_HOME = ('for _i in range(8):  # 1.6 GB at most, in files under the file size limit\n'
             '    with open(f"fill-@MARK@-{_i}", "wb") as _f:\n'
             '        for _ in range(10):\n            _f.write(b"\\1" * 20 * 2 ** 20)\n')
PRINT_200MB = RIGHT_IO + '''
import sys
_line = "x" * 1023 + "\\n"
for _ in range(200 * 1024):
    sys.stdout.write(_line)
sys.stdout.flush()
'''
DAEMON_EXIT = RIGHT_IO + '''
import os, threading, time
def _later():
    # fires in a later cell, whatever the machine's load: once the next answer cell has defined
    # pulse_effect (a replay skips the cell it killed, so there it never fires)
    while "pulse_effect" not in globals():
        time.sleep(0.005)
    os._exit(7)
threading.Thread(target=_later, daemon=True).start()
'''

# -- processes left behind -------------------------------------------------------------------------

LEFTOVERS = {
    "popen_new_session": 'import subprocess\nsubprocess.Popen(["sleep", "@SLEEP@"], start_new_session=True)\n',
    "double_fork": ('import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n'
                    '        os.execvp("sleep", ["sleep", "@SLEEP@"])\n    os._exit(0)\nos.wait()\n'),
    "nohup_setsid_shell": 'import os\nos.system("setsid nohup sleep @SLEEP@ >/dev/null 2>&1 &")\n',
    "ignores_signals": ('import os, signal\nif os.fork() == 0:\n    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n'
                        '        signal.signal(s, signal.SIG_IGN)\n    os.setsid()\n    os.execvp("sleep", ["sleep", "@SLEEP@"])\n'),
}

# -- the catalogue -----------------------------------------------------------------------------------

ATTACKS: list[Attack] = [
    # in-kernel cheats
    Attack("input_transformer", cheat(INPUT_TRANSFORMER), PULSE0, ("not run",)),
    Attack("ast_transformer", cheat(AST_TRANSFORMER), PULSE0, ("not run",)),
    Attack("pre_run_cell_hook", cheat(PRE_RUN_HOOK), PULSE0),
    Attack("monkeypatch_comparisons", cheat(MONKEYPATCH), PULSE0),
    Attack("always_equal_objects", {"pulse_effect": ALWAYS_EQUAL},
           {"test_pulse_effect": partial_score(FULL_01["test_pulse_effect"], 1, 3)}, ("values differ",)),
    Attack("always_equal_str_subclass", {"mcq_rnn_io": ALWAYS_EQUAL_STR}, IO0, ("answer must be one of",)),
    Attack("sys_modules_fake_check", cheat(SYS_MODULES), PULSE0, ("not run",)),
    Attack("fake_check_lines", cheat(FAKE_PRINTS), PULSE0),
    Attack("builtins_overwritten", cheat(BUILTINS), PULSE0),
    Attack("session_set_to_none", cheat(SESSION_NONE), PULSE0),
    Attack("fake_cases_before_the_test", {"mcq_rnn_io": FAKE_CASES_FIRST}, IO0, ("not the right answer",)),
    Attack("garbage_on_every_fd", {"mcq_rnn_io": PIPE_GARBAGE}, IO0, ("result channel",),
           limits=SHORT),
    # tensors that are not dense CPU tensors are not plain data: that case fails, nothing else does
    Attack("forged_sparse_tensor", cheat(FORGED_TENSOR.replace("@VALUE@", "torch.zeros(7).to_sparse()")), PULSE0,
           ("cannot read",)),
    Attack("forged_meta_tensor", cheat(FORGED_TENSOR.replace("@VALUE@", "torch.zeros(7, device='meta')")), PULSE0,
           ("cannot read",)),
    Attack("huge_int_answer", {"rnn_parameters": HUGE_INT},
           {"test_rnn_parameters": partial_score(FULL_01["test_rnn_parameters"], 2, 5)}, ("expected int 640, got an int of 4097 bits",)),
    # crashes: each costs its own question only
    *[Attack(f"crash_{name}", {"mcq_rnn_io": code}, IO0, (why,)) for name, (code, why) in CRASHES.items()],
    # the runner server itself is within reach of the same uid: killing or freezing it costs this cell only
    *[Attack(f"crash_{name}", {"mcq_rnn_io": RIGHT_IO + code}, IO0, (why,), limits=Limits(notebook_timeout=40))
      for name, (code, why) in SERVER_KILLS.items()],
    # pid 1 of the sandbox's PID namespace (bubblewrap's init) ignores signals it has no handler for
    Attack("kill_pid_1_is_harmless", {"mcq_rnn_io": RIGHT_IO + "import os\nos.kill(1, 9)\n"}, {}),
    Attack("crash_stop_self", {"mcq_rnn_io": RIGHT_IO + "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\n"},
           IO0, ("time limit per cell",), limits=SHORT, max_seconds=30),
    Attack("crash_stop_parent", {"mcq_rnn_io": RIGHT_IO + "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n"},
           IO0, ("froze the grading worker",), limits=Limits(cell_timeout=2, case_timeout=1, notebook_timeout=10),
           max_seconds=30),
    Attack("server_memory_and_ptrace_probe", {"mcq_rnn_io": SERVER_PROBE}, IO0),
    *[Attack(f"raise_{name}_in_test_call", {"make_rnn": f"def make_rnn():\n    {code}\n"}, MAKE0, (why,))
      for name, (code, why) in RAISE_IN_TEST.items()],
    Attack("recursion_bomb_python", {"make_rnn": "def make_rnn():\n    return make_rnn()\n"}, MAKE0, ("RecursionError",)),
    Attack("recursion_bomb_c_stack", {"make_rnn": C_RECURSION}, MAKE0, ("test_make_rnn",)),
    # hangs
    *[Attack(f"hang_{name}", {"mcq_rnn_io": code}, IO0, (why,), limits=SHORT, max_seconds=30)
      for name, (code, why) in HANGS.items()],
    Attack("hang_in_test_call", {"pulse_effect": HANG_IN_TEST.replace("@BEFORE@", "")}, PULSE0,
           ("time limit per test case",), limits=SHORT, max_seconds=30),
    Attack("hang_in_test_call_sigalrm_ignored",
           {"pulse_effect": HANG_IN_TEST.replace("@BEFORE@", "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n        ")},
           PULSE0, ("test_pulse_effect was stopped after 2 s (time limit per cell)",), limits=SHORT, max_seconds=30),
    # resources
    Attack("memory_big_tensor", {"mcq_rnn_io": BIG_TENSOR}, IO0, ("memory",)),
    Attack("memory_growing_list", {"mcq_rnn_io": GROWING_LIST}, IO0, ("memory",),
           limits=Limits(memory_mb=1024)),
    Attack("fork_bomb", {"mcq_rnn_io": FORK_BOMB}, IO0, ("process limit",), limits=Limits(cell_timeout=20)),
    Attack("print_200_mb", {"mcq_rnn_io": PRINT_200MB}, {}, max_seconds=30),
    Attack("file_2_gb_in_home", {"mcq_rnn_io": BIG_FILE}, IO0, ("File too large|No space left on device",)),
    Attack("fill_tmp", {"mcq_rnn_io": FILL_TMP}, IO0, ("No space left on device",), sandbox=True),
    Attack("memory_via_dev_shm", {"mcq_rnn_io": FILL_DEV_SHM}, IO0, ("No space left on device|memory limit",),
           limits=Limits(memory_mb=512), sandbox=True),
    Attack("disk_fill_home", {"mcq_rnn_io": FILL_HOME}, IO0, ("No space left on device|Disk quota exceeded|limit",),
           sandbox=True),
    # a thread started by one cell kills the process in a later one (pulse_effect's answer, or its test
    # after some cases, depending on timing): that cell is blamed; exact before it, at most full after it
    Attack("daemon_thread_exits_later", {"mcq_rnn_io": DAEMON_EXIT}, {}, ("exited with status 7",), limits=SHORT,
           exact=False),
    # processes left behind: nothing may survive, and the answers still count
    *[Attack(f"leftover_{name}", {"mcq_rnn_io": RIGHT_IO + code}, {}) for name, code in LEFTOVERS.items()],
    Attack("leftover_started_by_a_test_call",
           {"pulse_effect": ANS["pulse_effect"].replace('    return (out_pulse', '    import subprocess\n'
                                                          '    subprocess.Popen(["sleep", "@SLEEP@"], start_new_session=True)\n'
                                                          '    return (out_pulse')}, {}),
    # writing outside the scratch space
    Attack("write_everywhere", {"mcq_rnn_io": WRITE_EVERYWHERE}, {}, sandbox=True),
    # benign noise: must not cost anything
    Attack("benign_warnings_and_stderr",
           {"rnn_step": "import warnings, sys\nwarnings.warn('a cell warning')\nprint('to stderr', file=sys.stderr)\n"
                        + ANS["rnn_step"].replace("    return torch.tanh", "    warnings.warn('called rnn_step', UserWarning)\n"
                                                   "    print('rnn_step called', file=sys.stderr)\n    return torch.tanh")},
           {}, notes_ok=False),
    Attack("benign_prints", {k: f"print('working on {k}')\n" + v + f"\nprint('done: {k}')\n"
                             for k, v in ANS.items() if k != "explain_rnn_step_by_step"}, {}, notes_ok=False),
    Attack("benign_global_rng_changes",
           {"make_rnn": "import random, numpy as np, torch\ntorch.manual_seed(123)\nrandom.seed(1)\nnp.random.seed(2)\n"
                        "torch.randn(1000)\n" + ANS["make_rnn"],
            "rnn_step": "torch.manual_seed(999)\n" + ANS["rnn_step"],
            "pulse_effect": "torch.use_deterministic_algorithms(False)\ntorch.set_num_threads(2)\n" + ANS["pulse_effect"]},
           {}, notes_ok=False),
]

BY_NAME = {a.name: a for a in ATTACKS}
assert len(BY_NAME) == len(ATTACKS), "attack names must be unique"

# -- what a hostile grading must not leave behind ------------------------------------------------------

SNAPSHOT_SKIP = {".git", ".venv", "tests", "__pycache__", ".pytest_cache", "dist", "rnn_course.egg-info"}


def snapshot() -> dict[str, tuple[int, int]]:
    """{path: (size, mtime)} of the repository, except tests/ (edited concurrently) and caches."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        dirnames[:] = [d for d in dirnames if d not in SNAPSHOT_SKIP and os.path.join(rel, d) != "grading/cache"]
        for f in filenames:
            path = os.path.join(dirpath, f)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            files[path] = (st.st_size, st.st_mtime_ns)
    return files


def repo_changes(before: dict, after: dict, mark: str) -> list[str]:
    """Files of the repository that grading added, removed or changed.

    Other engineers edit the repository while this suite runs, so an *edited* file counts only if it
    now holds the attack's marker (every write an attack tries carries it); a new file counts unless
    git tracks it, a removed one if git still tracks it (a concurrent `git add` / `git rm`)."""
    out = []
    for path in sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)):
        if path in before and path in after:
            try:
                if mark in path or mark in Path(path).read_text(errors="replace"):
                    out.append(path)
            except OSError:
                pass
        elif (path in after) != _tracked(path):
            out.append(path)
    return out


def _tracked(path: str) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True).returncode == 0


def traces(mark: str, scratch: Path | None = None) -> list[str]:
    """Files named with the marker in the places an escaped write could land."""
    found = []
    for pattern in (f"/tmp/*{mark}*", f"/tmp/autograder-*/**/*{mark}*", f"/dev/shm/*{mark}*", f"/var/tmp/*{mark}*",
                    os.path.expanduser(f"~/*{mark}*"), f"{ROOT}/**/*{mark}*"):
        found += glob.glob(pattern, recursive=True)
    if scratch is not None and scratch.exists():
        found += [str(p) for p in scratch.rglob("*") if mark in p.name]
    return sorted(set(found))


def survivors(sleep: str) -> list[int]:
    """Processes still running `sleep <sleep>` (anywhere on the machine)."""
    out = subprocess.run(["pgrep", "-f", f"sleep {sleep}"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def worker_extras(worker) -> list[str]:
    """Processes under a worker besides bubblewrap and the one runner server (should be none between jobs)."""
    if worker.proc is None:
        return []
    kids, todo, procs = _children(), [worker.proc.pid], [(worker.proc.pid, _cmdline(worker.proc.pid))]
    while todo:
        pid = todo.pop()
        for child in kids.get(pid, []):
            todo.append(child)
            procs.append((child, _cmdline(child)))
    procs = [p for p in procs if p[1] and not p[1].split(" ")[0].endswith("bwrap")]
    runners = [p for p in procs if "autograder.runner" in p[1]]
    others = [p for p in procs if "autograder.runner" not in p[1]]
    return [f"{pid}: {cmd}" for pid, cmd in others + runners[1:]]
