"""Notebook 03 (bidirectional nn.RNN): realistic wrong submissions and the scores they deserve.

Every case of notebook 03's test cells has weight 1, so a test cell scores
points * (cases passed) / (cases), rounded to 2 decimals. The cases, in order (hidden ones marked h):
- test_bidirectional_sizes_match_torch (3 points, 7 cases): output 1 layer, h_n 1 layer, both shapes
  2 layers, count 1 layer, count 2 layers, h: all three for 3 layers, h: count with I = H = 8, 2 layers.
- test_reverse_direction_matches_torch (3 points, 5 cases): output, h_n, both with h_0,
  h: other sizes with h_0, h: L = 1 with h_0.
- test_bidirectional_rnn_matches_torch (4 points, 6 cases): forward half, backward half, h_n, both with
  h_0, h: other sizes with h_0, h: L = 1 with h_0. It calls the learner's reverse_direction, so a wrong
  reverse_direction costs points here too.
- test_split_h_n_layout (2 points, 5 cases): shape for 3 layers, last layer of 3, first layer of 3,
  h: 1 layer, h: 2 layers.
- test_sequence_summary_both_directions (3 points, 6 cases): from h_n 1 layer, from h_n 2 layers,
  from output forward half, from output backward half, h: from h_n 3 layers, h: from output.
- test_future_effect_values (2 points, 5 cases): one-direction t=3, bidirectional t=3,
  h: 2-layer t=0, h: 2-layer t=L-1, h: x unchanged.
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
    # and the hidden all-three case; passes 4 of 7 -> 3 * 4/7 = 1.71
    "h_n_doubles_features": (
        {"bidirectional_sizes": SIZES.format(h_n="(num_layers, batch, 2 * hidden_size)", count=CORRECT_COUNT)},
        {"test_bidirectional_sizes_match_torch": 1.71}),
    # layer 1 counted with input_size inputs: fails count 2 layers and both hidden cases; 4 of 7 -> 1.71
    "every_layer_reads_input_size": (
        {"bidirectional_sizes": SIZES.format(h_n=CORRECT_H_N, count="2 * num_layers * one_direction(input_size)")},
        {"test_bidirectional_sizes_match_torch": 1.71}),
    # parameters of one direction only: passes the three shape cases only; 3 of 7 -> 1.29
    "one_direction_counted": (
        {"bidirectional_sizes": SIZES.format(
            h_n=CORRECT_H_N, count="one_direction(input_size) + (num_layers - 1) * one_direction(2 * hidden_size)")},
        {"test_bidirectional_sizes_match_torch": 1.29}),
    # the backward states left in reversed time order: h_n and L = 1 pass (2 of 5 -> 1.2); in
    # bidirectional_rnn the forward half, h_n and L = 1 pass (3 of 6 -> 2.0)
    "backward_not_flipped_back": (
        {"reverse_direction": REVERSE.format(x="x.flip(0)", output="output")},
        {"test_reverse_direction_matches_torch": 1.2, "test_bidirectional_rnn_matches_torch": 2.0}),
    # outputs flipped but the input not: a forward pass with the reverse weights; only L = 1 passes
    # (1 of 5 -> 0.6); in bidirectional_rnn the forward half and L = 1 pass (2 of 6 -> 1.33)
    "input_not_flipped": (
        {"reverse_direction": REVERSE.format(x="x", output="output.flip(0)")},
        {"test_reverse_direction_matches_torch": 0.6, "test_bidirectional_rnn_matches_torch": 1.33}),
    # backward half first: only h_n passes, 1 of 6 -> 0.67
    "halves_in_wrong_order": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split=SPLIT_H_0, result="torch.cat([out_b, out_f], dim=-1), torch.cat([h_f, h_b], dim=0)")},
        {"test_bidirectional_rnn_matches_torch": 0.67}),
    # h_n laid out like output, (1, N, 2H): the two halves pass, 2 of 6 -> 1.33
    "h_n_along_features": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split=SPLIT_H_0, result="torch.cat([out_f, out_b], dim=-1), torch.cat([h_f, h_b], dim=-1)")},
        {"test_bidirectional_rnn_matches_torch": 1.33}),
    # h_0[:1] given to both directions: the three cases without h_0 pass, 3 of 6 -> 2.0
    "same_h_0_for_both_directions": (
        {"bidirectional_rnn": BIDIRECTIONAL.format(
            split="(h_0[:1], h_0[:1])", result="torch.cat([out_f, out_b], dim=-1), torch.cat([h_f, h_b], dim=0)")},
        {"test_bidirectional_rnn_matches_torch": 2.0}),
    # h_n read as directions-major, then transposed: the shape and num_layers = 1 pass, 2 of 5 -> 0.8
    "directions_first_view": (
        {"split_h_n": "def split_h_n(h_n, num_layers):\n"
                      "    return h_n.view(2, num_layers, h_n.shape[1], h_n.shape[2]).transpose(0, 1)\n"},
        {"test_split_h_n_layout": 0.8}),
    # view(2, num_layers, ...): right only by coincidence when num_layers = 2, 1 of 5 -> 0.4
    "view_2_by_num_layers": (
        {"split_h_n": "def split_h_n(h_n, num_layers):\n"
                      "    return h_n.view(2, num_layers, h_n.shape[1], h_n.shape[2])\n"},
        {"test_split_h_n_layout": 0.4}),
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
    # every input from t on changed: only t = L-1 and "x unchanged" pass, 2 of 5 -> 0.8
    "every_later_input_changed": (
        {"future_effect": EFFECT.format(copy="x.clone()", where="t:")},
        {"test_future_effect_values": 0.8}),
}
