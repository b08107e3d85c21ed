"""Notebook 02 (shapes, layers and error messages): realistic wrong answers and the scores they deserve.

A test cell scores points * (weight of the cases passed) / (total weight), rounded to 2 decimals
(format checks weigh 0). The cases and their weights (h: hidden):
  test_mcq_layout           3 points, 3 cases of weight 1
  test_batch_first_output   3 points, total 7.5: shape 0.5, values 3, h: N == L 2, h: two bidirectional
                            layers 1, h: layer unchanged 1. A missing transpose keeps the shape and the
                            layer: 1.5 of 7.5 = 0.6
  test_rnn_shapes           3 points, total 12: default 1, batch_first 5, 2 bi layers 1, h: 3 bi layers
                            batch_first 4, h: unbatched 2 bi layers 0.5, h: unbatched batch_first 0.5.
                            A batch-first h_n keeps 3 of 12 = 0.75
  test_make_h_0             2 points, total 8, every case strict about the dtype (float32, as the prompt
                            says: nn.RNN refuses another): default 1, 2 layers batch_first 3,
                            h: 3 bi layers batch_first 3, h: unbatched bi 1
  test_rnn_parameters_full  3 points, 6 cases of weight 1: shapes 2 layers, shapes 2 bi layers, count 2 bi
                            layers, h: shapes 3 bi layers no bias, h: count 3 bi layers no bias, h: count 1 layer
  test_mcq_layers           2 points, 2 cases of weight 1
  test_input_size_bug       3 points, 4 cases of weight 1: h: letter, h_n shape, reads each sequence, h: other sizes
  test_mcq_diagnosis        3 points, 6 cases of weight 1
No exercise here re-implements a layer (they predict shapes and use nn.RNN), so none is from scratch,
and none calls an earlier exercise's function.
"""
SOLUTION = "02_shapes/02_shapes_layers_and_errors.ipynb"

FULL = {
    "test_mcq_layout": 3.0, "test_batch_first_output": 3.0, "test_rnn_shapes": 3.0, "test_make_h_0": 2.0,
    "test_rnn_parameters_full": 3.0, "test_mcq_layers": 2.0, "test_input_size_bug": 3.0, "test_mcq_diagnosis": 3.0,
}

SHAPES = '''
def rnn_shapes(L, N, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    D = 2 if bidirectional else 1
    F = {features}
    if N is None:
        return (L, input_size), (L, F), (D * num_layers, hidden_size)
    if batch_first:
        return (N, L, input_size), (N, L, F), {h_n_batch_first}
    return (L, N, input_size), (L, N, F), (D * num_layers, N, hidden_size)
'''

PARAMETERS = '''
def rnn_parameter_shapes_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    D = 2 if bidirectional else 1
    shapes = {{}}
    for k in range(num_layers):
        layer_input = input_size if k == 0 else {later_input}
        for suffix in ("", "_reverse")[:D]:
            shapes[f"weight_ih_l{{k}}{{suffix}}"] = (hidden_size, layer_input)
            shapes[f"weight_hh_l{{k}}{{suffix}}"] = (hidden_size, hidden_size)
            if bias:
                shapes[f"bias_ih_l{{k}}{{suffix}}"] = (hidden_size,)
                shapes[f"bias_hh_l{{k}}{{suffix}}"] = (hidden_size,)
    return shapes


def rnn_num_parameters_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    shapes = rnn_parameter_shapes_full(input_size, hidden_size, num_layers, bias, bidirectional)
    total = 0
    for name, shape in shapes.items():
        if {counted}:
            n = 1
            for d in shape:
                n *= d
            total += n
    return total
'''

H_0 = '''
def make_h_0(rnn, x):
    rows = {rows}
    if x.dim() == 2:
        return torch.zeros(rows, rnn.hidden_size)
    return torch.zeros(rows, {batch}, rnn.hidden_size)
'''

CORRECT_DIAGNOSIS = {1: "B", 2: "F", 3: "A", 4: "E", 5: "C", 6: "F"}

WRONG = {
    # the letters of the cheat sheet's "quick check" lines (P3: B, P4: C), and B for both layouts:
    # test_mcq_layout keeps only (a) = 1 of 3 cases; test_input_size_bug loses its letter case = 3 of 4 cases
    "cheat_sheet_quick_check_letters": (
        {"mcq_layout": 'mcq_input_shape = "B"\nmcq_input_shape_batch_first = "B"\nmcq_batch_first_output = "B"\n',
         "mcq_input_size_bug": 'mcq_input_size_bug = "C"\n'},
        {"test_mcq_layout": 1.0, "test_input_size_bug": 2.25}),
    # batch-first data straight into a default layer: the shape (0.5) and the untouched layer (1) pass, the
    # values do not: 1.5 of 7.5 -> 0.6
    "batch_first_output_no_transpose": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    return rnn(x)[0]\n"},
        {"test_batch_first_output": 0.6}),
    # transposed on the way in only: every value case fails (even N == L, whose shape fits); only "unchanged"
    # passes, 1 of 7.5 -> 0.4
    "batch_first_output_transpose_in_only": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    return rnn(x.transpose(0, 1))[0]\n"},
        {"test_batch_first_output": 0.4}),
    # reshape instead of transpose: the right shapes, the wrong pairing of numbers: 1.5 of 7.5 -> 0.6
    "batch_first_output_reshape": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    N, L, _ = x.shape\n"
                               "    return rnn(x.reshape(L, N, -1))[0].reshape(N, L, -1)\n"},
        {"test_batch_first_output": 0.6}),
    # right numbers, but the caller's layer now reads its input the other way: 6.5 of 7.5 -> 2.6
    "batch_first_output_sets_the_flag": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    rnn.batch_first = True\n    return rnn(x)[0]\n"},
        {"test_batch_first_output": 2.6}),
    # h_n made batch-first: fails the two batch_first cases (5 + 4 of 12): 3 of 12 -> 0.75
    "h_n_batch_first": (
        {"rnn_shapes": SHAPES.format(features="D * hidden_size", h_n_batch_first="(N, D * num_layers, hidden_size)")},
        {"test_rnn_shapes": 0.75}),
    # output without D: fails the three bidirectional cases (1 + 4 + 0.5 of 12): 6.5 of 12 -> 1.62
    "output_without_D": (
        {"rnn_shapes": SHAPES.format(features="hidden_size", h_n_batch_first="(D * num_layers, N, hidden_size)")},
        {"test_rnn_shapes": 1.62}),
    # num_layers rows and x.shape[1] always: only the one-layer default case passes, 1 of 8 -> 0.25
    "h_0_ignores_layout_and_directions": (
        {"make_h_0": "def make_h_0(rnn, x):\n    return torch.zeros(rnn.num_layers, x.shape[1], rnn.hidden_size)\n"},
        {"test_make_h_0": 0.25}),
    # the batch size read from x.shape[1] whatever the layout: the two batch_first cases fail, 2 of 8 -> 0.5
    "h_0_ignores_layout": (
        {"make_h_0": H_0.format(rows="(2 if rnn.bidirectional else 1) * rnn.num_layers", batch="x.shape[1]")},
        {"test_make_h_0": 0.5}),
    # layout and unbatched handled, D forgotten: the two bidirectional cases fail (3 + 1 of 8) -> 1.0
    "h_0_without_D": (
        {"make_h_0": H_0.format(rows="rnn.num_layers", batch="x.shape[0] if rnn.batch_first else x.shape[1]")},
        {"test_make_h_0": 1.0}),
    # float64 zeros: nn.RNN refuses them with float32 input, and the prompt asks for float32: 0
    "h_0_float64": (
        {"make_h_0": H_0.format(rows="(2 if rnn.bidirectional else 1) * rnn.num_layers",
                                batch="x.shape[0] if rnn.batch_first else x.shape[1]").replace(
                                    "rnn.hidden_size)", "rnn.hidden_size, dtype=torch.float64)")},
        {"test_make_h_0": 0.0}),
    # layer k > 0 given input_size inputs: only the one-layer count (1 of 6) passes
    "layer_1_reads_input_size": (
        {"rnn_parameters_full": PARAMETERS.format(later_input="input_size", counted="True")},
        {"test_rnn_parameters_full": 0.5}),
    # layer k > 0 given hidden_size inputs (D forgotten): the one-direction cases (2 of 6) pass
    "layer_1_reads_hidden_size": (
        {"rnn_parameters_full": PARAMETERS.format(later_input="hidden_size", counted="True")},
        {"test_rnn_parameters_full": 1.0}),
    # shapes right, the backward direction left out of the count: the two bidirectional counts of 6 fail
    "count_one_direction": (
        {"rnn_parameters_full": PARAMETERS.format(later_input="D * hidden_size", counted='not name.endswith("_reverse")')},
        {"test_rnn_parameters_full": 2.0}),
    "dropout_on_output": (
        {"mcq_layers": 'mcq_num_layers = "B"\nmcq_dropout = "C"\n'},
        {"test_mcq_layers": 1.0}),
    # input_size fixed, layout not: the snippet runs on 5 sequences of 3 steps; only the letter (1 of 4) passes
    "fix_input_size_only": (
        {"fix_snippet_input_size": "def fix_snippet_input_size(x, hidden_size=4):\n"
                                   "    return nn.RNN(x.shape[-1], hidden_size), x\n"},
        {"test_input_size_bug": 0.75}),
    # practice 4's sizes hard-coded: the hidden case with other sizes (1 of 4) fails
    "fix_hard_coded_sizes": (
        {"fix_snippet_input_size": "def fix_snippet_input_size(x, hidden_size=4):\n"
                                   "    return nn.RNN(10, 4, batch_first=True), x\n"},
        {"test_input_size_bug": 2.25}),
    # taking snippet 2's message at its word (h_0) and guessing for the silent snippet 6: 4 of 6
    "diagnosis_trusts_the_message": (
        {"mcq_diagnosis": "diagnosis = " + repr({**CORRECT_DIAGNOSIS, 2: "B", 6: "E"}) + "\n"},
        {"test_mcq_diagnosis": 2.0}),
}


VALID = {
    # permute for the layout, lists for shapes, new_zeros for h_0, loops for the parameters, a list as the pair
    "permute_and_lists": {
        "batch_first_output": (
            "def batch_first_output(rnn, x):\n"
            "    time_first = x.permute(1, 0, 2)\n"
            "    out = rnn(time_first)[0]\n"
            "    return out.permute(1, 0, 2)\n"),
        "rnn_shapes": (
            "def rnn_shapes(L, N, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):\n"
            "    D = 2 if bidirectional else 1\n"
            "    rows = D * num_layers\n"
            "    if N is None:\n"
            "        return [[L, input_size], [L, D * hidden_size], [rows, hidden_size]]\n"
            "    lead = [N, L] if batch_first else [L, N]\n"
            "    return [lead + [input_size], lead + [D * hidden_size], [rows, N, hidden_size]]\n"),
        "make_h_0": (
            "def make_h_0(rnn, x):\n"
            "    D = 2 if rnn.bidirectional else 1\n"
            "    shape = [D * rnn.num_layers]\n"
            "    if x.ndim == 3:\n"
            "        shape.append(x.size(0) if rnn.batch_first else x.size(1))\n"
            "    shape.append(rnn.hidden_size)\n"
            "    return x.new_zeros(shape)\n"),
        "rnn_parameters_full": (
            "def rnn_parameter_shapes_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    directions = ['', '_reverse'] if bidirectional else ['']\n"
            "    shapes = {}\n"
            "    for layer in range(num_layers):\n"
            "        n_in = input_size if layer == 0 else len(directions) * hidden_size\n"
            "        for d in directions:\n"
            "            shapes['weight_ih_l%d%s' % (layer, d)] = [hidden_size, n_in]\n"
            "            shapes['weight_hh_l%d%s' % (layer, d)] = [hidden_size, hidden_size]\n"
            "            if bias:\n"
            "                shapes['bias_ih_l%d%s' % (layer, d)] = [hidden_size]\n"
            "                shapes['bias_hh_l%d%s' % (layer, d)] = [hidden_size]\n"
            "    return shapes\n\n\n"
            "def rnn_num_parameters_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    total = 0\n"
            "    for shape in rnn_parameter_shapes_full(input_size, hidden_size, num_layers, bias, bidirectional).values():\n"
            "        size = 1\n"
            "        for n in shape:\n"
            "            size *= n\n"
            "        total += size\n"
            "    return total\n"),
        "fix_snippet_input_size": (
            "def fix_snippet_input_size(x, hidden_size=4):\n"
            "    layer = nn.RNN(x.size(-1), hidden_size)\n"
            "    return [layer, x.permute(1, 0, 2)]\n"),
    },
    # swapaxes, torch.Size shapes, dtype= for h_0, dict updates and math.prod for the count
    "swapaxes_and_torch_size": {
        "batch_first_output": (
            "def batch_first_output(rnn, x):\n"
            "    return torch.swapaxes(rnn(torch.swapaxes(x, 0, 1))[0], 0, 1)\n"),
        "rnn_shapes": (
            "def rnn_shapes(L, N, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):\n"
            "    D = 1 + int(bidirectional)\n"
            "    if N is None:\n"
            "        return (torch.Size([L, input_size]), torch.Size([L, D * hidden_size]),\n"
            "                torch.Size([D * num_layers, hidden_size]))\n"
            "    first, second = (N, L) if batch_first else (L, N)\n"
            "    return (torch.Size([first, second, input_size]), torch.Size([first, second, D * hidden_size]),\n"
            "            torch.Size([D * num_layers, N, hidden_size]))\n"),
        "make_h_0": (
            "def make_h_0(rnn, x):\n"
            "    directions = 2 if rnn.bidirectional else 1\n"
            "    if x.dim() == 3:\n"
            "        batch_dim = 0 if rnn.batch_first else 1\n"
            "        return torch.zeros(directions * rnn.num_layers, x.shape[batch_dim], rnn.hidden_size, dtype=x.dtype)\n"
            "    return torch.zeros(directions * rnn.num_layers, rnn.hidden_size, dtype=x.dtype)\n"),
        "rnn_parameters_full": (
            "import math\n\n\n"
            "def rnn_parameter_shapes_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    D = 2 if bidirectional else 1\n"
            "    H = hidden_size\n"
            "    shapes = {}\n"
            "    for k in range(num_layers):\n"
            "        for sfx in ['', '_reverse'][:D]:\n"
            "            shapes.update({f'weight_ih_l{k}{sfx}': torch.Size([H, input_size if k == 0 else D * H]),\n"
            "                           f'weight_hh_l{k}{sfx}': torch.Size([H, H])})\n"
            "            if bias:\n"
            "                shapes.update({f'bias_ih_l{k}{sfx}': torch.Size([H]), f'bias_hh_l{k}{sfx}': torch.Size([H])})\n"
            "    return shapes\n\n\n"
            "def rnn_num_parameters_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    shapes = rnn_parameter_shapes_full(input_size, hidden_size, num_layers, bias, bidirectional)\n"
            "    return sum(math.prod(s) for s in shapes.values())\n"),
        "fix_snippet_input_size": (
            "def fix_snippet_input_size(x, hidden_size=4):\n"
            "    batch, seq_len, features = x.shape\n"
            "    rnn = nn.RNN(features, hidden_size, batch_first=True)\n"
            "    return rnn, x.clone()\n"),
    },
    # a batch_first twin of the layer, tuple arithmetic for shapes, numpy for the count, a hand-made transpose
    "twin_layer_and_numpy": {
        "batch_first_output": (
            "def batch_first_output(rnn, x):\n"
            "    twin = nn.RNN(rnn.input_size, rnn.hidden_size, rnn.num_layers, nonlinearity=rnn.nonlinearity,\n"
            "                  bias=rnn.bias, batch_first=True, bidirectional=rnn.bidirectional)\n"
            "    twin.load_state_dict(rnn.state_dict())\n"
            "    with torch.no_grad():\n"
            "        return twin(x)[0]\n"),
        "rnn_shapes": (
            "def rnn_shapes(L, N, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):\n"
            "    num_directions = int(bidirectional) + 1\n"
            "    if N is None:\n"
            "        lead, h_lead = (L,), ()\n"
            "    elif batch_first:\n"
            "        lead, h_lead = (N, L), (N,)\n"
            "    else:\n"
            "        lead, h_lead = (L, N), (N,)\n"
            "    return (lead + (input_size,), lead + (num_directions * hidden_size,),\n"
            "            (num_directions * num_layers,) + h_lead + (hidden_size,))\n"),
        "make_h_0": (
            "def make_h_0(rnn, x):\n"
            "    n_rows = rnn.num_layers * (2 if rnn.bidirectional else 1)\n"
            "    if len(x.shape) == 2:\n"
            "        size = (n_rows, rnn.hidden_size)\n"
            "    elif rnn.batch_first:\n"
            "        size = (n_rows, x.shape[0], rnn.hidden_size)\n"
            "    else:\n"
            "        size = (n_rows, x.shape[1], rnn.hidden_size)\n"
            "    return torch.zeros(size).to(x.dtype)\n"),
        "rnn_parameters_full": (
            "import numpy as np\n\n\n"
            "def rnn_parameter_shapes_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    D = 2 if bidirectional else 1\n"
            "    kinds = ['weight_ih', 'weight_hh'] + (['bias_ih', 'bias_hh'] if bias else [])\n"
            "    shapes = {}\n"
            "    for k in range(num_layers):\n"
            "        width = input_size if k == 0 else D * hidden_size\n"
            "        sizes = [(hidden_size, width), (hidden_size, hidden_size), (hidden_size,), (hidden_size,)]\n"
            "        for direction in range(D):\n"
            "            suffix = '_reverse' if direction == 1 else ''\n"
            "            for kind, size in zip(kinds, sizes):\n"
            "                shapes[f'{kind}_l{k}{suffix}'] = size\n"
            "    return shapes\n\n\n"
            "def rnn_num_parameters_full(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):\n"
            "    shapes = rnn_parameter_shapes_full(input_size, hidden_size, num_layers, bias, bidirectional)\n"
            "    return np.sum([np.prod(s) for s in shapes.values()])\n"),
        "fix_snippet_input_size": (
            "def fix_snippet_input_size(x, hidden_size=4):\n"
            "    batch, steps, features = x.shape\n"
            "    rnn = nn.RNN(input_size=features, hidden_size=hidden_size)\n"
            "    x_in = torch.stack([x[:, t, :] for t in range(steps)])  # (steps, batch, features)\n"
            "    return rnn, x_in\n"),
    },
}

# the mistakes that get an exercise fundamentally wrong: a wrong layout (h_n, h_0 or the data), wrong sizes
FUNDAMENTAL = {
    "batch_first_output_no_transpose", "batch_first_output_transpose_in_only", "batch_first_output_reshape",
    "h_n_batch_first", "h_0_ignores_layout_and_directions", "h_0_ignores_layout", "layer_1_reads_input_size",
    "fix_input_size_only",
}
