"""From scratch means from scratch, and one mistake costs once: the guard and the stand-ins of Check.

The learner's code and the test cell are compiled here under notebook-like file names, exactly as a
kernel runs them, and checked in the learner's-kernel mode of Check (the grader's worker uses the same
code; tests/test_grade.py grades whole notebooks). Every route to a library layer that we know of is
enumerated; each must fail its case with a reason naming the call, and honest code must pass.
"""
import io
import sys
from contextlib import redirect_stdout

import pytest
import torch

from autograder import check as check_module
from autograder.scratch import FORBIDDEN, Guard, phrase_of

TEST_CELL = "<ipython-input-900-testcell>"
ANSWER_CELL = "<ipython-input-901-answercell>"

PROLOGUE = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"

HONEST = {
    "chunks": """
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, 1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h
""",
    "f_linear_einsum": """
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gi = F.linear(x, W_ih, b_ih)
    gh = torch.einsum("nk,gk->ng", h, W_hh) + b_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return torch.lerp(n, h, z)
""",
    "float64_list_of_rows": """
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    rows = []
    for i in range(x.shape[0]):
        xi, hi = x[i].double(), h[i].double()
        gi, gh = W_ih.double() @ xi + b_ih.double(), W_hh.double() @ hi + b_hh.double()
        H = hi.shape[0]
        r = 1 / (1 + torch.exp(-(gi[:H] + gh[:H])))
        z = 1 / (1 + torch.exp(-(gi[H:2 * H] + gh[H:2 * H])))
        n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
        rows.append((1 - z) * n + z * hi)
    return torch.stack(rows)
""",
}

# every way to reach the library's GRU cell that we know of; each must be caught and named
SHORTCUTS = {
    "direct": ("return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "alias": ("from torch import gru_cell as g\n    return g(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "getattr": ("return getattr(torch, 'gru' + '_cell')(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "_VF": ("from torch import _VF\n    return _VF.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "_C": ("return torch._C._VariableFunctions.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "ops_packet": ("return torch.ops.aten.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "gru_cell"),
    "ops_overload": ("return torch.ops.aten.gru_cell.default(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.ops.aten.gru_cell"),
    "module": ("cell = nn.GRUCell(x.shape[1], h.shape[1])\n"
               "    with torch.no_grad():\n"
               "        for p, w in zip(cell.parameters(), (W_ih, W_hh, b_ih, b_hh)):\n            p.copy_(w)\n"
               "    return cell(x, h).detach()", "through nn.GRUCell"),
    "functional_call": ("from torch.func import functional_call\n"
                        "    cell = nn.GRUCell(x.shape[1], h.shape[1])\n"
                        "    p = dict(weight_ih=W_ih, weight_hh=W_hh, bias_ih=b_ih, bias_hh=b_hh)\n"
                        "    return functional_call(cell, p, (x, h))", "through nn.GRUCell"),
    "nn_gru_one_step": ("gru = nn.GRU(x.shape[1], h.shape[1])\n"
                        "    p = dict(weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)\n"
                        "    return torch.func.functional_call(gru, p, (x[None], h[None]))[1][0]", "torch.gru"),
    "decomposition": ("from torch._decomp import decompositions as d\n"
                      "    return d.gru_cell(F.linear(x, W_ih, b_ih), h[None], None, None, W_hh, b_hh)[0]",
                      "decomposition gru_cell"),
    "torch_function_disabled": ("with torch._C.DisableTorchFunction():\n"
                                "        return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "jit_trace": ("f = torch.jit.trace(lambda *a: torch.gru_cell(*a), (x, h, W_ih, W_hh, b_ih, b_hh))\n"
                  "    return f(x, h, W_ih, W_hh, b_ih, b_hh)", "torch.jit.trace"),
    "thread": ("import threading\n    out = []\n"
               "    t = threading.Thread(target=lambda: out.append(torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)))\n"
               "    t.start(); t.join()\n    return out[0]", "starts a thread"),
    "profiler_switched_off": ("import sys\n    sys.setprofile(None)\n"
                              "    return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "calls sys.setprofile"),
    "profiler_off_by_ctypes": ("import ctypes\n    ctypes.pythonapi.PyEval_SetProfile(None, None)\n"
                               "    return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "switched off"),
    "exec_elsewhere": ("ns = {'torch': torch}\n"
                       "    exec(compile('def f(*a):\\n    return torch.gru_cell(*a)\\n', 'helper.py', 'exec'), ns)\n"
                       "    return ns['f'](x, h, W_ih, W_hh, b_ih, b_hh)", "torch.gru_cell"),
    "a_process": ("import os\n    os.system('true')\n    return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)",
                  "starts a process"),
}

TEST = """
check = Check("test_gru_cell", points=4, from_scratch="the gates")
torch.manual_seed(0)
ref = nn.GRUCell(3, 4)
x, h = torch.randn(2, 3), torch.randn(2, 4)
w = [p.detach() for p in ref.parameters()]
check.close("h' matches nn.GRUCell", got=lambda: gru_cell(x, h, *w), want=lambda: ref(x, h).detach())
check.close("again, bigger", got=lambda: gru_cell(x * 2, h, *w), want=lambda: ref(x * 2, h).detach())
RESULT = check.score()
"""


def run_cells(answer: str, test: str = TEST) -> tuple[float, str]:
    """Run an answer cell and a test cell as a kernel would (own file names); return (score, printed)."""
    namespace = {"Check": check_module.Check, "__name__": "__main__"}
    exec(compile(PROLOGUE, "<ipython-input-899-setup>", "exec"), namespace)
    exec(compile(answer, ANSWER_CELL, "exec"), namespace)
    out = io.StringIO()
    previous = sys.getprofile()
    try:
        with redirect_stdout(out):
            exec(compile(test, TEST_CELL, "exec"), namespace)
    finally:
        sys.setprofile(previous)
    return namespace["RESULT"], out.getvalue()


def shortcut(body: str) -> str:
    return f"def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):\n    {body}\n"


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_code_in_any_style_scores_full(name):
    score, printed = run_cells(HONEST[name])
    assert score == 4.0, printed


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_every_route_to_the_library_layer_is_caught_and_named(name):
    body, named = SHORTCUTS[name]
    honest_score, printed = run_cells(shortcut(body), TEST.replace(', from_scratch="the gates"', ""))
    assert honest_score == 4.0, f"the shortcut must be a correct answer, else this test proves nothing:\n{printed}"
    score, printed = run_cells(shortcut(body))
    assert score == 0.0, printed
    assert named in printed and "the gates yourself" in printed, printed
    assert sys.getprofile() is None or not hasattr(sys.getprofile(), "__self__")


def test_the_test_cell_itself_may_use_the_library():
    """Setup and want= lambdas of a test cell call nn.GRUCell freely; only the learner's code is watched."""
    test = TEST.replace('ref = nn.GRUCell(3, 4)', 'ref = nn.GRUCell(3, 4)\n_ = ref(torch.zeros(1, 3), torch.zeros(1, 4))')
    score, printed = run_cells(HONEST["chunks"], test)
    assert score == 4.0, printed


def test_the_list_of_forbidden_layers_covers_every_recurrent_function_of_torch():
    """Every public torch.* function of an RNN, GRU or LSTM (a new torch version may add some) is forbidden."""
    names = {n for n in dir(torch._C._VariableFunctions) if not n.startswith("__")
             and any(w in n for w in ("rnn_", "gru", "lstm")) and "backward" not in n and "flatten" not in n
             and not n.startswith("_pack") and not n.startswith("_pad")}
    assert names <= FORBIDDEN | {"_use_cudnn_rnn_flatten_weight"}, sorted(names - FORBIDDEN)
    assert {"gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru", "rnn_tanh", "rnn_relu", "lstm"} <= FORBIDDEN


LAYER = """
def gru_layer(x, W_ih, W_hh, b_ih, b_hh):
    h = x.new_zeros(x.shape[1], W_hh.shape[1])
    out = []
    for t in range(x.shape[0]):
        h = gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)
        out.append(h)
    return [torch.stack(out), h[None]]
"""

USES_TEST = """
check = Check("test_gru_layer", points=3, from_scratch="the gates")
torch.manual_seed(1)
ref = nn.GRU(3, 4)
w = [p.detach() for p in ref.parameters()]
x = torch.randn(5, 2, 3)
check.uses("gru_cell", exercise=4, reference=lambda *a: torch.gru_cell(*a), args=(x[0], torch.zeros(2, 4), *w))
check.close("output and h_n match nn.GRU", got=lambda: gru_layer(x, *w), want=lambda: tuple(t.detach() for t in ref(x)))
check.close("h_n alone", got=lambda: gru_layer(x, *w)[1], want=lambda: ref(x)[1].detach())
RESULT = check.score()
"""


def test_a_wrong_earlier_exercise_costs_once_and_is_named_first():
    wrong_cell = HONEST["chunks"].replace("(1 - z) * n + z * h", "z * n + (1 - z) * h")  # z swapped
    score, printed = run_cells(wrong_cell + LAYER, USES_TEST)
    assert score == 3.0, printed
    first = printed.strip().splitlines()[0]
    assert first.startswith("✗ fix Exercise 4 first: your gru_cell is not right here (values differ"), printed
    assert "the cases below use a correct gru_cell" in first
    assert "hint" not in printed


def test_a_missing_earlier_exercise_is_named_and_costs_nothing_here():
    missing = "def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):\n    raise NotImplementedError()\n"
    score, printed = run_cells(missing + LAYER, USES_TEST)
    assert score == 3.0 and "fix Exercise 4 first" in printed and "NotImplementedError" in printed, printed


def test_a_right_earlier_exercise_gets_a_tick_and_the_stand_in_is_removed_afterwards():
    namespace_probe = USES_TEST + "ORIGINAL_BACK = gru_cell.__code__.co_filename\n"
    score, printed = run_cells(HONEST["chunks"] + LAYER, namespace_probe)
    assert score == 3.0 and printed.startswith("  ✓ your gru_cell (Exercise 4)"), printed


FORWARD = """
def gru_forward(x, W_ih, W_hh, b_ih, b_hh):
    return gru_layer(x, W_ih, W_hh, b_ih, b_hh)
"""

FORWARD_TEST = USES_TEST.replace('check = Check("test_gru_layer"', 'check = Check("test_gru_forward"').replace(
    'check.close("output and h_n', 'check.uses("gru_layer", exercise=6, args=(x, *w), reference=lambda x, *w: '
    'torch.gru(x, torch.zeros(1, x.shape[1], 4), w, True, 1, 0.0, False, False, False))\n'
    'check.close("output and h_n').replace("gru_layer(x, *w)", "gru_forward(x, *w)")


def test_a_later_uses_line_blames_only_its_own_function():
    """gru_forward builds on gru_layer, which builds on gru_cell: with only gru_cell wrong, the gru_layer line
    (run with a correct gru_cell in place) must not blame gru_layer."""
    wrong_cell = HONEST["chunks"].replace("(1 - z) * n + z * h", "z * n + (1 - z) * h")
    score, printed = run_cells(wrong_cell + LAYER + FORWARD, FORWARD_TEST)
    lines = [line.strip() for line in printed.splitlines()]
    assert score == 3.0, printed
    assert lines[0].startswith("✗ fix Exercise 4 first") and lines[1].startswith("✓ your gru_layer (Exercise 6)"), printed


def test_a_forbidden_call_is_named_even_when_the_code_then_fails():
    score, printed = run_cells(shortcut("y = torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)\n    return y[99]"))
    assert score == 0 and "calls torch.gru_cell: write the gates yourself" in printed and "IndexError" not in printed, printed


def test_a_from_scratch_failure_shows_no_hint_about_other_causes():
    test = TEST.replace("want=lambda: ref(x, h).detach())", "want=lambda: ref(x, h).detach(), hint='swap z')", 1)
    score, printed = run_cells(shortcut(SHORTCUTS["direct"][0]), test)
    assert score == 0 and "swap z" not in printed, printed


def test_the_stand_in_is_the_only_trusted_door_to_the_library():
    """A later exercise that calls the library layer itself still fails, even beside a stand-in."""
    cheat = HONEST["chunks"] + LAYER.replace("h = gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)",
                                             "h = torch.gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)")
    score, printed = run_cells(cheat, USES_TEST)
    assert score == 0.0 and "calls torch.gru_cell: write the gates yourself" in printed, printed


def test_guard_restores_the_profiler_it_found():
    seen = []

    def mine(frame, event, arg):
        seen.append(event)

    sys.setprofile(mine)
    try:
        with Guard("the gates") as guard:
            torch.zeros(1) + 1
        assert sys.getprofile() is mine and guard.violations == []
    finally:
        sys.setprofile(None)


def test_phrase_is_read_from_the_test_cell_source():
    assert phrase_of(TEST) == "the gates"
    assert phrase_of('check = Check("test_x", points=2)') is None
    assert phrase_of("def broken(:") is None


def test_the_grading_worker_guards_a_whole_from_scratch_test_cell():
    """The program loop's own guard (autograder/runner.py) sees the learner's calls outside the cases, e.g.
    when the notebook replaced Check; the test cell's own code is recognised by its compiled name."""
    from IPython.core.interactiveshell import InteractiveShell

    from autograder.runner import _cell_guard

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("import torch, torch.nn as nn\nclass Check:\n    def __init__(self, *a, **k):\n        pass\n"
                       "def gru_cell(x, h, *w):\n    return torch.gru_cell(x, h, *w)\n", store_history=False)
        setup = ('check = Check("test_gru_cell", points=4, from_scratch="the gates")\n'
                 "cell = nn.GRUCell(3, 4)\n_ = cell(torch.zeros(1, 3), torch.zeros(1, 4))\n")
        for source, caught in ((setup, False),
                               (setup + "_ = gru_cell(torch.zeros(1, 3), torch.zeros(1, 4), *cell.parameters())\n", True),
                               ("_ = gru_cell(torch.zeros(1, 3), torch.zeros(1, 4), *cell.parameters())\n", False)):
            guard = _cell_guard(shell, {"kind": "test", "source": source}, check_module._STAND_IN_CODE)
            assert (guard is not None) == ("from_scratch" in source)
            try:
                result = shell.run_cell(source, store_history=False)
            finally:
                if guard is not None:
                    guard.stop()
            assert result.error_in_exec is None, result.error_in_exec
            assert (bool(guard and guard.violations)) == caught, guard and guard.violations
    finally:
        sys.setprofile(None)
        InteractiveShell.clear_instance()


PATCHED_CHECK = {
    # the notebook switches the cases' own guard off, then answers with the library layer
    "make_rnn": "import autograder.check as _c\n_c.Check._guarded = lambda self, got, stand_ins=True: got\n"
                "def make_rnn():\n    return nn.RNN(10, 20)\n",
    "rnn_step": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                "    return torch.rnn_tanh_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("overrides,lost", [
    ({"rnn_step": PATCHED_CHECK["rnn_step"]}, {"test_rnn_step"}),  # a shortcut costs its own exercise only
    (PATCHED_CHECK, {"test_rnn_step", "test_rnn_forward"}),  # a replaced Check is seen by the worker's guard
], ids=["shortcut", "patched_check"])
def test_the_grader_catches_a_shortcut_even_when_the_notebook_disarms_check(overrides, lost, first_solution, tmp_path, worker):
    from autograder.grade import grade_notebook
    from catalog import FULL_01
    from conftest import make_submission

    sub = make_submission(first_solution, tmp_path / "01_recurrence" / first_solution.name, overrides)
    result = grade_notebook(sub, worker=worker)
    scores = {t.grade_id: t.score for t in result.tests if not t.manual}
    assert {g for g in FULL_01 if scores[g] != FULL_01[g]} == lost, scores
    assert all(scores[g] == 0 for g in lost), scores
    lines = [line for t in result.tests if t.grade_id in lost for line in t.lines]
    assert all("calls torch.rnn_tanh_cell: write the recurrence yourself" in line for line in lines if "✗" in line), lines


# The exercises that re-implement a library layer, and what each asks the learner to write: a tested list.
# Every one of them forbids every function in FORBIDDEN (and the routes of SHORTCUTS) while its cases run.
FROM_SCRATCH = {
    "01_recurrence": {"test_rnn_step": "the recurrence", "test_rnn_forward": "the recurrence"},
    "03_bidirectional": {"test_reverse_direction_matches_torch": "the backward direction",
                         "test_bidirectional_rnn_matches_torch": "the bidirectional layer"},
    "06_gru_cell": {"test_gru_cell": "the gates", "test_gru_layer": "the gates", "test_gru_forward": "the gates"},
    "09_gate_pictures": {"test_gru_cell_with_gates_matches_torch": "the gates",
                         "test_gates_over_time_reproduces_gru": "the gates"},
    "10_project": {"test_gru_direction_with_gates": "the gates"},
    "11_char_gru": {"test_gru_states_and_z": "the gates", "test_clip_gradients": "the clipping"},
}
LIBRARY_WORDS = ("clip_grad", "clip_grads", "get_total_norm", "rnn_tanh", "gru_cell", "_VF", "nn.RNN", "nn.GRU", "RNNCell", "GRUCell", "torch.gru", "getattr(")


def test_the_from_scratch_exercises_are_the_listed_ones():
    from conftest import load, solution_paths, source

    declared = {}
    for path in solution_paths():
        for cell in load(path)["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            phrase = phrase_of(source(cell)) if grade_id.startswith("test_") else None
            if phrase:
                declared.setdefault(path.parent.name, {})[grade_id] = phrase
    assert declared == FROM_SCRATCH


@pytest.mark.parametrize("assignment", sorted(FROM_SCRATCH))
def test_each_from_scratch_exercise_has_a_catalogued_shortcut_that_scores_zero(assignment):
    from catalog import CATALOGS

    solution = next(s for s in CATALOGS if s.startswith(assignment))
    _, wrong = CATALOGS[solution]
    for test in FROM_SCRATCH[assignment]:
        shortcuts = [name for name, (overrides, changed) in wrong.items() if changed.get(test) == 0
                     and any(word in src for src in overrides.values() for word in LIBRARY_WORDS)]
        assert shortcuts, f"{test}: no catalogued answer that calls the library layer and scores 0"


# notebook 11's clipping exercise: every way into torch.nn.utils' clipping that we know of is caught and named
CLIP_SHORTCUTS = {
    "clip_grad_norm_": ("return nn.utils.clip_grad_norm_(parameters, max_norm)", "torch.nn.utils.clip_grad_norm_"),
    "module_path": ("from torch.nn.utils.clip_grad import clip_grad_norm_ as c\n    return c(parameters, max_norm)",
                    "torch.nn.utils.clip_grad_norm_"),
    "deprecated_alias": ("import warnings\n    with warnings.catch_warnings():\n        warnings.simplefilter('ignore')\n"
                         "        return nn.utils.clip_grad_norm(parameters, max_norm)", "torch.nn.utils.clip_grad_norm"),
    "total_then_scale": ("ps = list(parameters)\n    t = torch.nn.utils.get_total_norm([p.grad for p in ps])\n"
                         "    torch.nn.utils.clip_grads_with_norm_(ps, max_norm, t)\n    return t", "torch.nn.utils.get_total_norm"),
    "value_clipping": ("ps = list(parameters)\n    nn.utils.clip_grad_value_(ps, max_norm)\n"
                       "    return torch.stack([p.grad.norm() for p in ps]).norm()", "torch.nn.utils.clip_grad_value_"),
}
HONEST_CLIP = ("grads = [p.grad for p in parameters if p.grad is not None]\n"
               "    total = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))\n"
               "    if total > max_norm:\n        with torch.no_grad():\n            torch._foreach_mul_(grads, float(max_norm / (total + 1e-6)))\n"
               "    return total")


def _clip_violations(body: str) -> list[str]:
    namespace = {"torch": torch, "nn": torch.nn}
    exec(compile(f"def clip_gradients(parameters, max_norm):\n    {body}\n", ANSWER_CELL, "exec"), namespace)
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([3.0, 4.0, 12.0])
    with Guard("the clipping", trusted_files={TEST_CELL}) as guard:
        namespace["clip_gradients"](iter([p]), 1.0)
    return guard.violations


@pytest.mark.parametrize("name", sorted(CLIP_SHORTCUTS))
def test_every_route_into_library_clipping_is_caught(name):
    body, named = CLIP_SHORTCUTS[name]
    violations = _clip_violations(body)
    assert violations and named in violations[0] and violations[0].endswith("write the clipping yourself"), violations


def test_clipping_written_with_tensor_operations_passes_the_guard():
    assert _clip_violations(HONEST_CLIP) == []
