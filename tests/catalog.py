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
scores follow from the weighted test cases (see the solution's test cells); a cell scores
points * (weight passed) / (total weight), rounded to 2 decimals. Notebook 01's weights:
- test_make_rnn (2 points, total 10): input_size and hidden_size 4, parameter names and shapes 4,
  h: other arguments at their defaults 1, h: an nn.RNN 1. Swapped sizes keep 2/10 = 0.4.
- test_rnn_step (3 points, total 9, from scratch): shape 0.5, matches nn.RNNCell 4, input path alone
  0.5, recurrent path alone 0.5, biases alone 0.5, h: square sizes 3. Forgetting b_hh passes the
  shape and the two paths: 1.5/9 = 0.5.
- test_rnn_forward (4 points, total 6.5, from scratch, built on rnn_step): output 1, h_n 1.5, both
  with h_0 1.5, h: longer with other sizes 1.5, h: L = 1 0.5, h: zero biases 0.5. It runs with a
  correct rnn_step (check.uses), so a wrong rnn_step costs points in test_rnn_step only.
- test_rnn_parameters (2 points, 5 cases of weight 1), test_pulse_effect (2 points, 3 cases of
  weight 1) and the multiple-choice cells (one case of weight 1 per letter).
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

STEP = "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n    return {result}\n"

WRONG_01 = {
    # x_t @ W_ih instead of x_t @ W_ih.T: shape errors when sizes differ, wrong values when square: 0 of 9.
    # test_rnn_forward runs with a correct rnn_step (check.uses): full marks there
    "transposed_weights": (
        {"rnn_step": STEP.format(result="torch.tanh(x_t @ W_ih + b_ih + h_prev @ W_hh + b_hh)")},
        {"test_rnn_step": 0.0}),
    # the shape and the two paths pass (1.5 of 9 -> 0.5); the match, the biases and the square case fail
    "forgot_b_hh": (
        {"rnn_step": STEP.format(result="torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T)")},
        {"test_rnn_step": 0.5}),
    # W_hh is square, so h_prev @ W_hh runs: the shape, the input path and the biases pass, 1.5 of 9 -> 0.5
    "W_hh_not_transposed": (
        {"rnn_step": STEP.format(result="torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh + b_hh)")},
        {"test_rnn_step": 0.5}),
    # sigmoid instead of tanh: only the shape passes, 0.5 of 9 -> 0.17
    "sigmoid_not_tanh": (
        {"rnn_step": STEP.format(result="torch.sigmoid(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)")},
        {"test_rnn_step": 0.17}),
    # returns every state as h_n: output (1) and L = 1 (0.5) pass, 1.5 of 6.5 -> 0.92
    "output_as_h_n": (
        {"rnn_forward": FORWARD.format(result="torch.stack(states), torch.stack(states)")},
        {"test_rnn_forward": 0.92}),
    # h_n of shape (N, H): only output (1 of 6.5) passes -> 0.62
    "h_n_without_layer_dim": (
        {"rnn_forward": FORWARD.format(result="torch.stack(states), h")},
        {"test_rnn_forward": 0.62}),
    # starts from zeros whatever h_0 is: output, h_n and zero biases pass, 3 of 6.5 -> 1.85
    "ignores_h_0": (
        {"rnn_forward": FORWARD.replace("if h_0 is None else h_0[0]", "if True else h_0").format(
            result="torch.stack(states), h.unsqueeze(0)")},
        {"test_rnn_forward": 1.85}),
    # valid code, the wrong layer: only the two hidden default/type cases pass, 2 of 10 -> 0.4
    "sizes_swapped": (
        {"make_rnn": "def make_rnn():\n    return nn.RNN(20, 10)\n"},
        {"test_make_rnn": 0.4}),
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
    # shortcuts: the library's recurrence instead of one's own (from_scratch="the recurrence"): 0 on that cell
    "shortcut_rnn_tanh_cell": (
        {"rnn_step": "from torch import rnn_tanh_cell as _one_step\n\n" + STEP.format(
            result="_one_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)")},
        {"test_rnn_step": 0.0}),
    "shortcut_rnn_cell_module": (
        {"rnn_step": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                     "    cell = getattr(nn, 'RNN' + 'Cell')(W_ih.shape[1], W_ih.shape[0])\n"
                     "    cell.load_state_dict({'weight_ih': W_ih, 'weight_hh': W_hh, 'bias_ih': b_ih, 'bias_hh': b_hh})\n"
                     "    return cell(x_t, h_prev).detach()\n"},
        {"test_rnn_step": 0.0}),
    "shortcut_nn_rnn_loaded_with_the_weights": (
        {"rnn_forward": "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
                        "    rnn = nn.RNN(W_ih.shape[1], W_ih.shape[0])\n"
                        "    with torch.no_grad():\n"
                        "        for p, w in zip(rnn.parameters(), (W_ih, W_hh, b_ih, b_hh)):\n"
                        "            p.copy_(w)\n"
                        "        return rnn(x, h_0)\n"},
        {"test_rnn_forward": 0.0}),
    "shortcut_vf_rnn_tanh": (
        {"rnn_forward": "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
                        "    if h_0 is None:\n"
                        "        h_0 = x.new_zeros(1, x.shape[1], W_hh.shape[0])\n"
                        "    return torch._VF.rnn_tanh(x, h_0, [W_ih, W_hh, b_ih, b_hh], True, 1, 0.0, False, False, False)\n"},
        {"test_rnn_forward": 0.0}),
}


VALID_01: dict[str, dict[str, str]] = {
    # plain loops and Python containers: a list for the (output, h_n) pair, lists for shapes,
    # a preallocated output tensor, a per-step loop for the maximum
    "loops_and_lists": {
        "make_rnn": "def make_rnn():\n    layer = nn.RNN(10, 20)\n    return layer\n",
        "rnn_parameters": (
            "def rnn_parameter_shapes(input_size, hidden_size, bias=True):\n"
            "    shapes = {}\n"
            "    shapes['weight_ih_l0'] = [hidden_size, input_size]\n"
            "    shapes['weight_hh_l0'] = [hidden_size, hidden_size]\n"
            "    if bias:\n"
            "        for name in ['bias_ih_l0', 'bias_hh_l0']:\n"
            "            shapes[name] = [hidden_size]\n"
            "    return shapes\n\n\n"
            "def rnn_num_parameters(input_size, hidden_size, bias=True):\n"
            "    total = 0\n"
            "    for shape in rnn_parameter_shapes(input_size, hidden_size, bias).values():\n"
            "        n = 1\n"
            "        for d in shape:\n"
            "            n = n * d\n"
            "        total += n\n"
            "    return total\n"),
        "rnn_step": (
            "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
            "    from_input = torch.matmul(x_t, W_ih.t()) + b_ih\n"
            "    from_state = torch.matmul(h_prev, W_hh.t()) + b_hh\n"
            "    h_t = torch.tanh(from_input + from_state)\n"
            "    return h_t\n"),
        "rnn_forward": (
            "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    seq_len, batch = x.shape[0], x.shape[1]\n"
            "    hidden = W_hh.shape[0]\n"
            "    if h_0 is None:\n"
            "        h = torch.zeros(batch, hidden)\n"
            "    else:\n"
            "        h = h_0.squeeze(0)\n"
            "    output = torch.empty(seq_len, batch, hidden)\n"
            "    for t in range(seq_len):\n"
            "        h = rnn_step(x[t], h, W_ih, W_hh, b_ih, b_hh)\n"
            "        output[t] = h\n"
            "    return [output, output[-1:].clone()]\n"),
        "pulse_effect": (
            "def pulse_effect(out_pulse, out_rest):\n"
            "    effects = []\n"
            "    for t in range(out_pulse.shape[0]):\n"
            "        effects.append(torch.max(torch.abs(out_pulse[t] - out_rest[t])))\n"
            "    return torch.stack(effects)\n"),
    },
    # the library's linear algebra: F.linear for the affine maps, keywords everywhere, torch.Size shapes
    "functional": {
        "make_rnn": "def make_rnn():\n    return torch.nn.RNN(hidden_size=20, input_size=10)\n",
        "rnn_parameters": (
            "import math\n\n\n"
            "def rnn_parameter_shapes(input_size, hidden_size, bias=True):\n"
            "    names = ['weight_ih_l0', 'weight_hh_l0'] + (['bias_ih_l0', 'bias_hh_l0'] if bias else [])\n"
            "    sizes = [(hidden_size, input_size), (hidden_size, hidden_size), (hidden_size,), (hidden_size,)]\n"
            "    return {name: torch.Size(size) for name, size in zip(names, sizes)}\n\n\n"
            "def rnn_num_parameters(input_size, hidden_size, bias=True):\n"
            "    return sum(math.prod(s) for s in rnn_parameter_shapes(input_size, hidden_size, bias).values())\n"),
        "rnn_step": (
            "import torch.nn.functional as F\n\n\n"
            "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
            "    return torch.tanh(F.linear(x_t, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh))\n"),
        "rnn_forward": (
            "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    state = torch.zeros(x.size(1), W_hh.size(0), dtype=x.dtype) if h_0 is None else h_0[0]\n"
            "    outputs = []\n"
            "    for x_t in x:\n"
            "        state = rnn_step(x_t, state, W_ih, W_hh, b_ih, b_hh)\n"
            "        outputs.append(state.unsqueeze(0))\n"
            "    output = torch.cat(outputs, dim=0)\n"
            "    return output, state[None]\n"),
        "pulse_effect": (
            "def pulse_effect(out_pulse, out_rest):\n"
            "    diff = torch.abs(out_pulse - out_rest)\n"
            "    return diff.reshape(diff.shape[0], -1).max(dim=1).values\n"),
    },
    # float64 inside and out (no dtype is asked), einsum for the products
    "einsum_float64": {
        "make_rnn": ("def make_rnn():\n"
                     "    return nn.RNN(input_size=10, hidden_size=20, num_layers=1, nonlinearity='tanh', bias=True,\n"
                     "                  batch_first=False, dropout=0.0, bidirectional=False)\n"),
        "rnn_parameters": (
            "def rnn_parameter_shapes(input_size, hidden_size, bias=True):\n"
            "    H, I = hidden_size, input_size\n"
            "    out = dict(weight_ih_l0=(H, I), weight_hh_l0=(H, H))\n"
            "    if bias:\n"
            "        out |= dict(bias_ih_l0=(H,), bias_hh_l0=(H,))\n"
            "    return out\n\n\n"
            "def rnn_num_parameters(input_size, hidden_size, bias=True):\n"
            "    shapes = rnn_parameter_shapes(input_size, hidden_size, bias)\n"
            "    return sum(torch.tensor(s).prod() for s in shapes.values())  # a 0-d tensor\n"),
        "rnn_step": (
            "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
            "    x64, h64 = x_t.double(), h_prev.double()\n"
            "    pre = (torch.einsum('ni,hi->nh', x64, W_ih.double()) + torch.einsum('nk,hk->nh', h64, W_hh.double())\n"
            "           + b_ih.double() + b_hh.double())\n"
            "    return torch.tanh(pre)\n"),
        "rnn_forward": (
            "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    x = x.double()\n"
            "    W_ih, W_hh, b_ih, b_hh = (w.double() for w in (W_ih, W_hh, b_ih, b_hh))\n"
            "    h = torch.zeros(x.shape[1], W_hh.shape[0], dtype=torch.float64) if h_0 is None else h_0[0].double()\n"
            "    hs = []\n"
            "    for t in range(x.shape[0]):\n"
            "        h = rnn_step(x[t], h, W_ih, W_hh, b_ih, b_hh)\n"
            "        hs.append(h)\n"
            "    return torch.stack(hs), torch.stack(hs[-1:])\n"),
        "pulse_effect": (
            "def pulse_effect(out_pulse, out_rest):\n"
            "    return torch.amax(torch.abs(out_pulse.double() - out_rest.double()), dim=(-2, -1))\n"),
    },
    # numpy where it is natural (a numpy integer count, numpy's maximum), a while loop, a tuple in parentheses
    "numpy_and_while": {
        "make_rnn": "def make_rnn():\n    kwargs = {'input_size': 10, 'hidden_size': 20}\n    return nn.RNN(**kwargs)\n",
        "rnn_parameters": (
            "import numpy as np\n\n\n"
            "def rnn_parameter_shapes(input_size, hidden_size, bias=True):\n"
            "    shapes = {'weight_ih_l0': (hidden_size, input_size), 'weight_hh_l0': (hidden_size, hidden_size)}\n"
            "    shapes.update({f'bias_{k}_l0': (hidden_size,) for k in ('ih', 'hh') if bias})\n"
            "    return shapes\n\n\n"
            "def rnn_num_parameters(input_size, hidden_size, bias=True):\n"
            "    return np.sum([np.prod(s) for s in rnn_parameter_shapes(input_size, hidden_size, bias).values()])\n"),
        "rnn_step": (
            "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
            "    a = x_t @ W_ih.transpose(0, 1) + h_prev @ W_hh.transpose(0, 1)\n"
            "    a = a + (b_ih + b_hh).unsqueeze(0)\n"
            "    return a.tanh()\n"),
        "rnn_forward": (
            "def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    h = h_0[0] if h_0 is not None else torch.zeros((len(x[0]), len(W_hh)))\n"
            "    out = []\n"
            "    t = 0\n"
            "    while t < len(x):\n"
            "        h = rnn_step(x[t], h, W_ih, W_hh, b_ih, b_hh)\n"
            "        out.append(h)\n"
            "        t += 1\n"
            "    output = torch.stack(out, dim=0)\n"
            "    return (output, output[len(x) - 1].unsqueeze(0))\n"),
        "pulse_effect": (
            "import numpy as np\n\n\n"
            "def pulse_effect(out_pulse, out_rest):\n"
            "    diff = np.abs(out_pulse.detach().numpy() - out_rest.detach().numpy())\n"
            "    return torch.from_numpy(diff.max(axis=(1, 2)))\n"),
    },
}
FUNDAMENTAL_01: set[str] = {
    "transposed_weights", "forgot_b_hh", "W_hh_not_transposed", "sigmoid_not_tanh", "output_as_h_n", "sizes_swapped",
    "shortcut_rnn_tanh_cell", "shortcut_rnn_cell_module", "shortcut_nn_rnn_loaded_with_the_weights", "shortcut_vf_rnn_tanh",
}
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
