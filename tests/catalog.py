"""Realistic wrong submissions and the per-test scores they deserve (golden values).

Notebook 01's catalog lives here (FULL_01, WRONG_01); every later notebook has its own module
`tests/catalog_NN.py` defining SOLUTION (path relative to solutions/), FULL ({test grade_id: points})
and WRONG ({name: ({answer grade_id: source}, {test grade_id: score that differs from FULL})}).
`CATALOGS` gathers them all: {solution path: (FULL, WRONG)}.

Beside the mistakes, each module lists
- VALID ({style: {answer grade_id: source}}): correct answers written in other styles than the
  solution's (loops or vectorised, einsum, F.linear, lists for tuples, float64, other names). Every
  style must score FULL; every code exercise (an answer cell that is not a multiple choice) is
  answered by at least three styles. `VALID_CATALOGS` gathers them: {solution path: VALID}.
- FUNDAMENTAL ({wrong name}): the catalogued mistakes that get the exercise fundamentally wrong (a
  wrong equation, a wrong layout, leakage, a broken training loop). Such a mistake keeps at most
  MAX_FUNDAMENTAL_SHARE of any test cell it touches. `FUNDAMENTAL_CATALOGS` gathers them.

Each wrong answer changes one or two answer cells of an otherwise correct submission. The golden
scores follow from the test cases (see the solution's test cells): e.g. forgetting b_hh fails 3 of
the 6 equally weighted cases of test_rnn_step (1.5 of 3 points) and 5 of 6 of test_rnn_forward.
"""
FULL_01 = {
    "test_mcq_rnn_purpose": 1.0, "test_make_rnn": 2.0, "test_mcq_rnn_constructor": 3.0, "test_rnn_parameters": 2.0,
    "test_rnn_step": 3.0, "test_rnn_forward": 4.0, "test_mcq_rnn_io": 2.0, "test_pulse_effect": 2.0,
}

FORWARD = '''
def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):
    L, N, _ = x.shape
    h = x.new_zeros(N, W_hh.shape[0]) if h_0 is None else h_0[0]
    states = []
    for t in range(L):
        h = rnn_step(x[t], h, W_ih, W_hh, b_ih, b_hh)
        states.append(h)
    return {result}
'''

WRONG_01 = {
    # x_t @ W_ih instead of x_t @ W_ih.T: shape errors when sizes differ, wrong values when square
    "transposed_weights": (
        {"rnn_step": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                     "    return torch.tanh(x_t @ W_ih + b_ih + h_prev @ W_hh + b_hh)\n"},
        {"test_rnn_step": 0.0, "test_rnn_forward": 0.0}),
    "forgot_b_hh": (
        {"rnn_step": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                     "    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T)\n"},
        {"test_rnn_step": 1.5, "test_rnn_forward": 0.67}),
    # returns every state as h_n; only a length-1 sequence hides it
    "output_as_h_n": (
        {"rnn_forward": FORWARD.format(result="torch.stack(states), torch.stack(states)")},
        {"test_rnn_forward": 1.33}),
    "h_n_without_layer_dim": (
        {"rnn_forward": FORWARD.format(result="torch.stack(states), h")},
        {"test_rnn_forward": 0.67}),
    "ignores_h_0": (
        {"rnn_forward": FORWARD.replace("if h_0 is None else h_0[0]", "if True else h_0").format(
            result="torch.stack(states), h.unsqueeze(0)")},
        {"test_rnn_forward": 2.0}),
    "sizes_swapped": (
        {"make_rnn": "def make_rnn():\n    return nn.RNN(20, 10)\n"},
        {"test_make_rnn": 1.0}),
    "one_bias_counted": (
        {"rnn_parameters": "def rnn_parameter_shapes(input_size, hidden_size, bias=True):\n"
                           "    s = {'weight_ih_l0': (hidden_size, input_size), 'weight_hh_l0': (hidden_size, hidden_size)}\n"
                           "    if bias:\n        s.update(bias_ih_l0=(hidden_size,), bias_hh_l0=(hidden_size,))\n"
                           "    return s\n\n"
                           "def rnn_num_parameters(input_size, hidden_size, bias=True):\n"
                           "    return hidden_size * (input_size + hidden_size) + (hidden_size if bias else 0)\n"},
        {"test_rnn_parameters": 1.2}),
    "wrong_letters": (
        {"mcq_rnn_purpose": 'mcq_rnn_purpose = "D"\n',
         "mcq_rnn_constructor": 'mcq_rnn_constructor = "A"\nconstructor_calls_that_raise = {"A", "B"}\nmcq_hidden_size = "a"\n'},
        {"test_mcq_rnn_purpose": 0.0, "test_mcq_rnn_constructor": 1.0}),
}


VALID_01: dict[str, dict[str, str]] = {}
FUNDAMENTAL_01: set[str] = set()
MAX_FUNDAMENTAL_SHARE = 0.25


def expected_01(name: str) -> dict:
    scores = dict(FULL_01)
    scores.update(WRONG_01[name][1])
    return scores


def _gather() -> tuple[dict, dict, dict]:
    import importlib
    from pathlib import Path

    first = "01_recurrence/01_the_rnn_recurrence.ipynb"
    catalogs, valid, fundamental = {first: (FULL_01, WRONG_01)}, {first: VALID_01}, {first: FUNDAMENTAL_01}
    for module in sorted(Path(__file__).parent.glob("catalog_[0-9]*.py")):
        mod = importlib.import_module(module.stem)
        catalogs[mod.SOLUTION] = (mod.FULL, mod.WRONG)
        valid[mod.SOLUTION] = getattr(mod, "VALID", {})
        fundamental[mod.SOLUTION] = getattr(mod, "FUNDAMENTAL", set())
    return catalogs, valid, fundamental


CATALOGS, VALID_CATALOGS, FUNDAMENTAL_CATALOGS = _gather()


def kept_share(solution: str, name: str) -> float:
    """The largest share of a test cell's points that the wrong answer `name` keeps, over the cells it changes."""
    full, wrong = CATALOGS[solution]
    changed = wrong[name][1]
    return max((score / full[test] for test, score in changed.items()), default=1.0)


def fairness_report() -> list[str]:
    """The README's table: per notebook, valid answers accepted, mistakes caught, the largest share kept."""
    rows = ["| notebook | valid answers accepted (styles) | catalogued mistakes caught | "
            "largest share a fundamental mistake keeps |", "|---|---|---|---|"]
    for solution in sorted(CATALOGS):
        valid = VALID_CATALOGS[solution]
        answers = sum(len(v) for v in valid.values())
        fundamental = FUNDAMENTAL_CATALOGS[solution]
        share = max((kept_share(solution, n) for n in fundamental), default=0.0)
        rows.append(f"| {solution.split('/')[0][:2]} | {answers} ({len(valid)}) | {len(CATALOGS[solution][1])} | "
                    f"{share:.0%} ({len(fundamental)} fundamental) |")
    return rows


def expected(solution: str, name: str) -> dict:
    full, wrong = CATALOGS[solution]
    scores = dict(full)
    scores.update(wrong[name][1])
    return scores
