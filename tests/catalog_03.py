"""Notebook 03 (bidirectional nn.RNN): realistic wrong submissions and the scores they deserve.

A test cell scores points * (weight of the cases passed) / (total weight), rounded to 2 decimals. The
cases, in order, with their weights (h: hidden):
- test_bidirectional_sizes_match_torch (3 points, total 8): output 1 layer 0.5, h_n 1 layer 2.5, both
  shapes 2 layers 2, count 1 layer 0.5, count 2 layers 0.5, h: all three for 3 layers 1.5, h: count with
  I = H = 8, 2 layers 0.5. Where the doubling lands (h_n's first dimension) decides: doubling h_n's
  features keeps 2 of 8.
- test_reverse_direction_matches_torch (3 points, total 7.5, from scratch: "the backward direction"):
  output 3, h_n 1, both with h_0 1.5, h: other sizes with h_0 1.5, h: L = 1 with h_0 0.5.
- test_bidirectional_rnn_matches_torch (4 points, total 8.5, from scratch: "the bidirectional layer"):
  forward half 1, backward half 1, h_n 2, both with h_0 2, h: other sizes with h_0 2, h: L = 1 with h_0
  0.5. It runs with PyTorch's backward direction in place of the learner's reverse_direction
  (check.uses), so a wrong reverse_direction costs points in test_reverse_direction_matches_torch only.
- test_split_h_n_layout (2 points, total 6.5): shape for 3 layers 0.5, last layer of 3 2, first layer of
  3 2, h: 1 layer 0.5, h: 2 layers 1.5.
- test_sequence_summary_both_directions (3 points, 6 cases of weight 1): from h_n 1 layer, from h_n 2
  layers, from output forward half, from output backward half, h: from h_n 3 layers, h: from output.
  Its two functions are independent halves of the exercise: a mistake in one keeps the other's cases,
  so no summary mistake is listed as fundamental.
- test_future_effect_values (2 points, total 5): one-direction t=3 1.5, bidirectional t=3 1.5,
  h: 2-layer t=0 1, h: 2-layer t=L-1 0.5, h: x unchanged 0.5.
"""
SOLUTION = "03_bidirectional/03_bidirectional_rnn.ipynb"

FULL = {
    "test_mcq_bidirectional": 1.0, "test_bidirectional_sizes_match_torch": 3.0,
    "test_reverse_direction_matches_torch": 3.0, "test_bidirectional_rnn_matches_torch": 4.0,
    "test_split_h_n_layout": 2.0, "test_sequence_summary_both_directions": 3.0, "test_future_effect_values": 2.0,
}

SIZES = '''
def bidirectional_sizes(seq_len, batch, input_size, hidden_size, num_layers=1):
    def one_direction(features_in):
        return hidden_size * (features_in + hidden_size) + 2 * hidden_size
    return {{"output": (seq_len, batch, 2 * hidden_size), "h_n": {h_n}, "num_parameters": {count}}}
'''
CORRECT_H_N = "(2 * num_layers, batch, hidden_size)"
CORRECT_COUNT = "2 * (one_direction(input_size) + (num_layers - 1) * one_direction(2 * hidden_size))"

REVERSE = '''
def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):
    output, h_n = rnn_forward({x}, W_ih, W_hh, b_ih, b_hh, h_0)
    return {output}, h_n
'''

BIDIRECTIONAL = '''
def bidirectional_rnn(x, params_forward, params_backward, h_0=None):
    h_0_forward, h_0_backward = (None, None) if h_0 is None else {split}
    out_f, h_f = rnn_forward(x, *params_forward, h_0=h_0_forward)
    out_b, h_b = reverse_direction(x, *params_backward, h_0=h_0_backward)
    return {result}
'''
SPLIT_H_0 = "(h_0[:1], h_0[1:])"

SUMMARY = '''
def summary_from_h_n(h_n):
    return {from_h_n}

def summary_from_output(output):
    H = output.shape[-1] // 2
    return {from_output}
'''
FROM_H_N = "torch.cat([h_n[-2], h_n[-1]], dim=1)"
FROM_OUTPUT = "torch.cat([output[-1, :, :H], output[0, :, H:]], dim=1)"

EFFECT = '''
def future_effect(rnn, x, t, delta=1.0):
    changed = {copy}
    changed[{where}] += delta
    with torch.no_grad():
        return (rnn(changed)[0] - rnn(x)[0]).abs().amax(dim=(1, 2))
'''

WRONG = {
    # B is num_layers' job
    "wrong_letter": ({"mcq_bidirectional": 'mcq_bidirectional = "B"\n'}, {"test_mcq_bidirectional": 0.0}),
    # the cheat sheet's "doubling the output size" applied to h_n: fails h_n 1 layer, both shapes 2 layers
    # and the hidden all-three case (2.5 + 2 + 1.5); passes 2 of 8 -> 0.75
    "h_n_doubles_features": (
        {"bidirectional_sizes": SIZES.format(h_n="(num_layers, batch, 2 * hidden_size)", count=CORRECT_COUNT)},
        {"test_bidirectional_sizes_match_torch": 0.75}),
    # layer 1 counted with input_size inputs: fails count 2 layers and both hidden cases; 5.5 of 8 -> 2.06
    "every_layer_reads_input_size": (
        {"bidirectional_sizes": SIZES.format(h_n=CORRECT_H_N, count="2 * num_layers * one_direction(input_size)")},
        {"test_bidirectional_sizes_match_torch": 2.06}),
    # parameters of one direction only: passes the three shape cases only; 5 of 8 -> 1.88
    "one_direction_counted": (
        {"bidirectional_sizes": SIZES.format(
            h_n=CORRECT_H_N, count="one_direction(input_size) + (num_layers - 1) * one_direction(2 * hidden_size)")},
        {"test_bidirectional_sizes_match_torch": 1.88}),
    # the backward states left in reversed time order: h_n and L = 1 pass, 1.5 of 7.5 -> 0.6. Exercise 4
    # runs with a correct reverse_direction (check.uses): full marks there
    "backward_not_flipped_back": (
        {"reverse_direction": REVERSE.format(x="x.flip(0)", output="output")},
        {"test_reverse_direction_matches_torch": 0.6}),
    # outputs flipped but the input not: a forward pass with the reverse weights; only L = 1 passes,
    # 0.5 of 7.5 -> 0.2
    "input_not_flipped": (
        {"reverse_direction": REVERSE.format(x="x", output="output.flip(0)")},
        {"test_reverse_direction_matches_torch": 0.2}),
    # backward half first: only h_n passes, 2 of 8.5 -> 0.94
    "halves_in_wrong_order": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split=SPLIT_H_0, result="torch.cat([out_b, out_f], dim=-1), torch.cat([h_f, h_b], dim=0)")},
        {"test_bidirectional_rnn_matches_torch": 0.94}),
    # h_n laid out like output, (1, N, 2H): the two halves pass, 2 of 8.5 -> 0.94
    "h_n_along_features": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split=SPLIT_H_0, result="torch.cat([out_f, out_b], dim=-1), torch.cat([h_f, h_b], dim=-1)")},
        {"test_bidirectional_rnn_matches_torch": 0.94}),
    # h_0[:1] given to both directions: the three cases without h_0 pass, 4 of 8.5 -> 1.88
    "same_h_0_for_both_directions": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split="(h_0[:1], h_0[:1])", result="torch.cat([out_f, out_b], dim=-1), torch.cat([h_f, h_b], dim=0)")},
        {"test_bidirectional_rnn_matches_torch": 1.88}),
    # h_n read as directions-major, then transposed: the shape and num_layers = 1 pass, 1 of 6.5 -> 0.31
    "directions_first_view": (
        {"split_h_n": "def split_h_n(h_n, num_layers):\n"
                      "    return h_n.view(2, num_layers, h_n.shape[1], h_n.shape[2]).transpose(0, 1)\n"},
        {"test_split_h_n_layout": 0.31}),
    # view(2, num_layers, ...): right only by coincidence when num_layers = 2, 1.5 of 6.5 -> 0.46
    "view_2_by_num_layers": (
        {"split_h_n": "def split_h_n(h_n, num_layers):\n"
                      "    return h_n.view(2, num_layers, h_n.shape[1], h_n.shape[2])\n"},
        {"test_split_h_n_layout": 0.46}),
    # the classic bug: output[-1] as the summary; its backward half has read x[L-1] only. The two
    # backward/full cases from output fail, 4 of 6 -> 2.0
    "output_last_step_as_summary": (
        {"sequence_summary": SUMMARY.format(from_h_n=FROM_H_N, from_output="output[-1]")},
        {"test_sequence_summary_both_directions": 2.0}),
    # only the backward direction: the three h_n cases fail, 3 of 6 -> 1.5
    "h_n_last_only": (
        {"sequence_summary": SUMMARY.format(from_h_n="h_n[-1]", from_output=FROM_OUTPUT)},
        {"test_sequence_summary_both_directions": 1.5}),
    # h_n[0], h_n[1]: the FIRST layer; right for one layer only, 4 of 6 -> 2.0
    "first_layer_states": (
        {"sequence_summary": SUMMARY.format(from_h_n="torch.cat([h_n[0], h_n[1]], dim=1)", from_output=FROM_OUTPUT)},
        {"test_sequence_summary_both_directions": 2.0}),
    # no copy: both runs see the changed input (effect 0 everywhere) and x is corrupted: 0 of 5
    "x_changed_in_place": (
        {"future_effect": EFFECT.format(copy="x", where="t")},
        {"test_future_effect_values": 0.0}),
    # every input from t on changed: only t = L-1 and "x unchanged" pass, 1 of 5 -> 0.4
    "every_later_input_changed": (
        {"future_effect": EFFECT.format(copy="x.clone()", where="t:")},
        {"test_future_effect_values": 0.4}),
    # shortcuts: the library's layer instead of one's own (from_scratch): 0 on that cell
    "shortcut_reverse_via_vf": (
        {"reverse_direction": "def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
                              "    run = getattr(torch._VF, 'rnn_' + 'tanh')\n"
                              "    h = x.new_zeros(1, x.shape[1], W_hh.shape[0]) if h_0 is None else h_0\n"
                              "    output, h_n = run(x.flip(0), h, [W_ih, W_hh, b_ih, b_hh], True, 1, 0.0, False, False, False)\n"
                              "    return output.flip(0), h_n\n"},
        {"test_reverse_direction_matches_torch": 0.0}),
    "shortcut_reverse_via_nn_rnn": (
        {"reverse_direction": "def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
                              "    rnn = nn.RNN(W_ih.shape[1], W_ih.shape[0])\n"
                              "    rnn.load_state_dict(dict(weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh))\n"
                              "    with torch.no_grad():\n"
                              "        output, h_n = rnn(x.flip(0), h_0)\n"
                              "    return output.flip(0), h_n\n"},
        {"test_reverse_direction_matches_torch": 0.0}),
    "shortcut_bidirectional_nn_rnn": (
        {"bidirectional_rnn": "def bidirectional_rnn(x, params_forward, params_backward, h_0=None):\n"
                              "    W_ih = params_forward[0]\n"
                              "    layer = nn.RNN(W_ih.shape[1], W_ih.shape[0], bidirectional=True)\n"
                              "    names = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']\n"
                              "    state = dict(zip(names, params_forward))\n"
                              "    state.update(zip([n + '_reverse' for n in names], params_backward))\n"
                              "    layer.load_state_dict(state)\n"
                              "    with torch.no_grad():\n"
                              "        return layer(x, h_0)\n"},
        {"test_bidirectional_rnn_matches_torch": 0.0}),
}


VALID = {
    # index tensors and loops, lists for shapes and for the returned pairs
    "loops_and_lists": {
        "bidirectional_sizes": (
            "def bidirectional_sizes(seq_len, batch, input_size, hidden_size, num_layers=1):\n"
            "    H = hidden_size\n"
            "    total = 0\n"
            "    features_in = input_size\n"
            "    for layer in range(num_layers):\n"
            "        total += 2 * (H * features_in + H * H + 2 * H)\n"
            "        features_in = 2 * H\n"
            "    return {'output': [seq_len, batch, 2 * H], 'h_n': [2 * num_layers, batch, H], 'num_parameters': total}\n"),
        "reverse_direction": (
            "def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    backwards = torch.arange(x.shape[0] - 1, -1, -1)\n"
            "    output, h_n = rnn_forward(x[backwards], W_ih, W_hh, b_ih, b_hh, h_0)\n"
            "    return [output[backwards], h_n]\n"),
        "bidirectional_rnn": (
            "def bidirectional_rnn(x, params_forward, params_backward, h_0=None):\n"
            "    if h_0 is None:\n"
            "        start_f = start_b = None\n"
            "    else:\n"
            "        start_f, start_b = h_0[0:1], h_0[1:2]\n"
            "    out_f, h_f = rnn_forward(x, *params_forward, h_0=start_f)\n"
            "    out_b, h_b = reverse_direction(x, *params_backward, h_0=start_b)\n"
            "    return [torch.cat((out_f, out_b), 2), torch.stack([h_f[0], h_b[0]])]\n"),
        "split_h_n": (
            "def split_h_n(h_n, num_layers):\n"
            "    layers = []\n"
            "    for l in range(num_layers):\n"
            "        layers.append(torch.stack([h_n[2 * l], h_n[2 * l + 1]]))\n"
            "    return torch.stack(layers)\n"),
        "sequence_summary": (
            "def summary_from_h_n(h_n):\n"
            "    forward_last, backward_last = h_n[len(h_n) - 2], h_n[len(h_n) - 1]\n"
            "    return torch.cat((forward_last, backward_last), 1)\n\n\n"
            "def summary_from_output(output):\n"
            "    L, N, two_H = output.shape\n"
            "    H = two_H // 2\n"
            "    return torch.cat((output[L - 1, :, 0:H], output[0, :, H:two_H]), 1)\n"),
        "future_effect": (
            "def future_effect(rnn, x, t, delta=1.0):\n"
            "    x_new = x.clone()\n"
            "    x_new[t] = x_new[t] + delta\n"
            "    with torch.no_grad():\n"
            "        before, _ = rnn(x)\n"
            "        after, _ = rnn(x_new)\n"
            "    effects = []\n"
            "    for s in range(x.shape[0]):\n"
            "        effects.append((after[s] - before[s]).abs().max())\n"
            "    return torch.stack(effects)\n"),
    },
    # a backward loop of one's own, chunk and view for the layouts, torch.Size shapes
    "own_loop_and_views": {
        "bidirectional_sizes": (
            "def bidirectional_sizes(seq_len, batch, input_size, hidden_size, num_layers=1):\n"
            "    H, I = hidden_size, input_size\n"
            "    first = 2 * (H * I + H * H + 2 * H)\n"
            "    later = 2 * (H * 2 * H + H * H + 2 * H)\n"
            "    return dict(output=torch.Size([seq_len, batch, 2 * H]), h_n=torch.Size([2 * num_layers, batch, H]),\n"
            "                num_parameters=first + (num_layers - 1) * later)\n"),
        "reverse_direction": (
            "def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    L, N, _ = x.shape\n"
            "    H = W_hh.shape[0]\n"
            "    h = torch.zeros(N, H) if h_0 is None else h_0[0]\n"
            "    output = torch.zeros(L, N, H)\n"
            "    for t in reversed(range(L)):\n"
            "        h = torch.tanh(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)\n"
            "        output[t] = h\n"
            "    return output, h.unsqueeze(0)\n"),
        "bidirectional_rnn": (
            "def bidirectional_rnn(x, params_forward, params_backward, h_0=None):\n"
            "    starts = (None, None) if h_0 is None else h_0.chunk(2, dim=0)\n"
            "    forward = rnn_forward(x, *params_forward, h_0=starts[0])\n"
            "    backward = reverse_direction(x, *params_backward, h_0=starts[1])\n"
            "    output = torch.cat([forward[0], backward[0]], dim=2)\n"
            "    h_n = torch.cat([forward[1], backward[1]])\n"
            "    return output, h_n\n"),
        "split_h_n": (
            "def split_h_n(h_n, num_layers):\n"
            "    return h_n.reshape(num_layers, 2, *h_n.shape[1:])\n"),
        "sequence_summary": (
            "def summary_from_h_n(h_n):\n"
            "    last_layer = h_n.view(-1, 2, *h_n.shape[1:])[-1]  # (2, N, H): forward, backward\n"
            "    return torch.cat(list(last_layer), dim=-1)\n\n\n"
            "def summary_from_output(output):\n"
            "    L, N, _ = output.shape\n"
            "    halves = output.view(L, N, 2, -1)\n"
            "    return torch.cat([halves[-1, :, 0], halves[0, :, 1]], dim=-1)\n"),
        "future_effect": (
            "def future_effect(rnn, x, t, delta=1.0):\n"
            "    bumped = x.detach().clone()\n"
            "    bumped[t, :, :] += delta\n"
            "    with torch.no_grad():\n"
            "        change = rnn(bumped)[0] - rnn(x)[0]\n"
            "    return change.abs().max(dim=2).values.max(dim=1).values\n"),
    },
    # float64 computations (no dtype is asked), numpy where it is natural, split/vstack/hstack
    "float64_and_numpy": {
        "bidirectional_sizes": (
            "import numpy as np\n\n\n"
            "def bidirectional_sizes(seq_len, batch, input_size, hidden_size, num_layers=1):\n"
            "    inputs = np.array([input_size] + [2 * hidden_size] * (num_layers - 1))\n"
            "    per_direction = hidden_size * (inputs + hidden_size) + 2 * hidden_size\n"
            "    return {'output': (seq_len, batch, 2 * hidden_size), 'h_n': (2 * num_layers, batch, hidden_size),\n"
            "            'num_parameters': 2 * per_direction.sum()}\n"),
        "reverse_direction": (
            "def reverse_direction(x, W_ih, W_hh, b_ih, b_hh, h_0=None):\n"
            "    weights = [w.double() for w in (W_ih, W_hh, b_ih, b_hh)]\n"
            "    start = None if h_0 is None else h_0.double()\n"
            "    out, last = rnn_forward(torch.flip(x.double(), dims=[0]), *weights, h_0=start)\n"
            "    return torch.flip(out, dims=[0]), last\n"),
        "bidirectional_rnn": (
            "def bidirectional_rnn(x, params_forward, params_backward, h_0=None):\n"
            "    x = x.to(torch.float64)\n"
            "    fw = [p.to(torch.float64) for p in params_forward]\n"
            "    bw = [p.to(torch.float64) for p in params_backward]\n"
            "    h_fw = h_bw = None\n"
            "    if h_0 is not None:\n"
            "        h_fw, h_bw = h_0[:1].to(torch.float64), h_0[1:].to(torch.float64)\n"
            "    out_fw, hn_fw = rnn_forward(x, *fw, h_0=h_fw)\n"
            "    out_bw, hn_bw = reverse_direction(x, *bw, h_0=h_bw)\n"
            "    return torch.concat([out_fw, out_bw], dim=-1), torch.vstack([hn_fw, hn_bw])\n"),
        "split_h_n": (
            "def split_h_n(h_n, num_layers):\n"
            "    return torch.stack(torch.split(h_n, 2, dim=0))\n"),
        "sequence_summary": (
            "def summary_from_h_n(h_n):\n"
            "    return torch.hstack([h_n[-2], h_n[-1]])\n\n\n"
            "def summary_from_output(output):\n"
            "    H = output.size(-1) // 2\n"
            "    return torch.column_stack((output[-1][:, :H], output[0][:, H:]))\n"),
        "future_effect": (
            "import numpy as np\n\n\n"
            "def future_effect(rnn, x, t, delta=1.0):\n"
            "    with torch.no_grad():\n"
            "        base = rnn(x)[0].numpy()\n"
            "        moved = x.clone()\n"
            "        moved[t] += delta\n"
            "        changed = rnn(moved)[0].numpy()\n"
            "    return torch.from_numpy(np.abs(changed - base).max(axis=(1, 2)))\n"),
    },
}

# a wrong layout (h_n, time order, halves), a wrong experiment, or the library layer in a from-scratch exercise
FUNDAMENTAL = {
    "h_n_doubles_features", "backward_not_flipped_back", "input_not_flipped", "halves_in_wrong_order",
    "h_n_along_features", "directions_first_view", "view_2_by_num_layers", "x_changed_in_place",
    "every_later_input_changed", "shortcut_reverse_via_vf", "shortcut_reverse_via_nn_rnn",
    "shortcut_bidirectional_nn_rnn",
}
