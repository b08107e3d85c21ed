"""Notebook 02 (shapes, layers and error messages): realistic wrong answers and the scores they deserve.

Every scored case of the notebook's test cells weighs 1 (format checks weigh 0), so a test cell with
n scored cases gives points / n per passing case, rounded to 2 decimals:
  test_mcq_layout           3 points, 3 cases (1 each)
  test_batch_first_output   3 points, 5 cases (0.6 each): shape, values, N == L, two bidirectional layers, layer unchanged
  test_rnn_shapes           3 points, 6 cases (0.5 each): default, batch_first, 2 bi layers, 3 bi layers batch_first,
                            unbatched 2 bi layers, unbatched batch_first
  test_make_h_0             2 points, 4 cases (0.5 each): default, 2 layers batch_first, 3 bi layers batch_first, unbatched bi
  test_rnn_parameters_full  3 points, 6 cases (0.5 each): shapes 2 layers, shapes 2 bi layers, count 2 bi layers,
                            shapes 3 bi layers no bias, count 3 bi layers no bias, count 1 layer
  test_mcq_layers           2 points, 2 cases (1 each)
  test_input_size_bug       3 points, 4 cases (0.75 each): letter, h_n shape, reads each sequence, other sizes
  test_mcq_diagnosis        3 points, 6 cases (0.5 each)
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
    # batch-first data straight into a default layer: the shape is right (and the layer untouched), the values are not
    "batch_first_output_no_transpose": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    return rnn(x)[0]\n"},
        {"test_batch_first_output": 1.2}),
    # transposed on the way in only: every value case fails (even N == L, whose shape fits); only "unchanged" passes
    "batch_first_output_transpose_in_only": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    return rnn(x.transpose(0, 1))[0]\n"},
        {"test_batch_first_output": 0.6}),
    # right numbers, but the caller's layer now reads its input the other way: 4 of 5 cases
    "batch_first_output_sets_the_flag": (
        {"batch_first_output": "def batch_first_output(rnn, x):\n    rnn.batch_first = True\n    return rnn(x)[0]\n"},
        {"test_batch_first_output": 2.4}),
    # h_n made batch-first: fails the two batch_first cases of 6
    "h_n_batch_first": (
        {"rnn_shapes": SHAPES.format(features="D * hidden_size", h_n_batch_first="(N, D * num_layers, hidden_size)")},
        {"test_rnn_shapes": 2.0}),
    # output without D: fails the three bidirectional cases of 6
    "output_without_D": (
        {"rnn_shapes": SHAPES.format(features="hidden_size", h_n_batch_first="(D * num_layers, N, hidden_size)")},
        {"test_rnn_shapes": 1.5}),
    # num_layers rows and x.shape[1] always: only the one-layer default case of 4 passes
    "h_0_ignores_layout_and_directions": (
        {"make_h_0": "def make_h_0(rnn, x):\n    return torch.zeros(rnn.num_layers, x.shape[1], rnn.hidden_size)\n"},
        {"test_make_h_0": 0.5}),
    # layout and unbatched handled, D forgotten: the two bidirectional cases of 4 fail
    "h_0_without_D": (
        {"make_h_0": H_0.format(rows="rnn.num_layers", batch="x.shape[0] if rnn.batch_first else x.shape[1]")},
        {"test_make_h_0": 1.0}),
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
