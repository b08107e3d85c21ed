"""Notebook 06 (GRU gates from scratch): realistic wrong submissions and the scores they deserve.

Every scored case of notebook 06's test cells has weight 1 (format checks of multiple-choice answers
have weight 0), so a test cell scores points * (cases passed) / (cases), rounded to 2 decimals.
The cases, in order (hidden ones marked h):
- test_mcq_gru_purpose (1 point, 1 case): h: the letter C.
- test_mcq_gru_gates (2 points, 2 cases): h: (a) A, h: (b) A.
- test_split_gates (2 points, 5 cases): weight_ih (12, 3); weight_hh (12, 4); bias (12,);
  h: square weight (9, 9), H = 3; h: weight_ih_l1_reverse (15, 10).
- test_gru_cell (4 points, 7 cases): 1 shape; 2 matches nn.GRUCell; 3 W_hn = 0 and b_hn = 0 (the reset
  gate has nothing to act on: checks the gate order and the mix); 4 b_iz = +30, h' = h; 5 b_ir = b_iz = -30,
  h' = tanh(x W_in^T + b_in); 6 b_hn = 0; h 7 other sizes, input_size == hidden_size.
- test_which_gate (3 points, 6 cases): 1 gate "z" of b; 2 gate "r" of the same b (after case 1);
  3 b unchanged after a call; h 4 gate "n" with H = 6; h 5 letter A; h 6 letter C.
- test_gru_layer (3 points, 7 cases): 1 shapes; 2 forward output; 3 forward h_n; 4 forward with h_0;
  5 reverse output; 6 reverse h_n; h 7 both directions, other sizes, with h_0. It calls the learner's
  gru_cell, so a wrong gru_cell fails every case but the shapes (1 of 7 -> 0.43).
- test_gru_forward (5 points, 7 cases): 1 one layer one direction; 2 one bidirectional layer, output;
  3 one bidirectional layer, h_n; 4 two layers one direction; 5 two bidirectional layers with h_0;
  h 6 three bidirectional layers with h_0; h 7 two bidirectional layers, input_size == 2H, no h_0.
  It calls gru_layer and gru_cell: a wrong gru_cell fails all 7 (0.0).
"""
SOLUTION = "06_gru_cell/06_gru_gates_from_scratch.ipynb"

FULL = {
    "test_mcq_gru_purpose": 1.0, "test_mcq_gru_gates": 2.0, "test_split_gates": 2.0, "test_gru_cell": 4.0,
    "test_which_gate": 3.0, "test_gru_layer": 3.0, "test_gru_forward": 5.0,
}

CELL = '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    @IN@ = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    @REC@ = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return @MIX@
'''


def cell(inputs="i_r, i_z, i_n", recurrent="h_r, h_z, h_n", mix="(1 - z) * n + z * h"):
    return CELL.replace("@IN@", inputs).replace("@REC@", recurrent).replace("@MIX@", mix)


# the reset gate applied before W_hn (Cho et al., d2l), or b_hn left outside the reset
CELL_SPLIT_W_HN = '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    W_hr, W_hz, W_hn = W_hh.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(i_r + h @ W_hr.T + b_hr)
    z = torch.sigmoid(i_z + h @ W_hz.T + b_hz)
    n = torch.tanh(i_n + @CANDIDATE@)
    return (1 - z) * n + z * h
'''

FORCE = '''
def force_gate_bias(bias, gate, value):
    H = @H@
    block = "@ORDER@".index(gate)
    forced = @COPY@
    forced[block * H:(block + 1) * H] = value
    return forced
'''


def force(H="bias.shape[0] // 3", order="rzn", copy="bias.clone()"):
    return FORCE.replace("@H@", H).replace("@ORDER@", order).replace("@COPY@", copy)


LAYER = '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    steps = @STEPS@
    h = x.new_zeros(x.shape[1], W_hh.shape[1]) if @NO_H_0@ else h_0[0]
    states = []
    for x_t in steps:
        h = gru_cell(x_t, h, W_ih, W_hh, b_ih, b_hh)
        states.append(h)
    output = torch.stack(states)
    return @RESULT@
'''


def layer(steps="x.flip(0) if reverse else x", no_h_0="h_0 is None",
          result="(output.flip(0) if reverse else output), h.unsqueeze(0)"):
    return LAYER.replace("@STEPS@", steps).replace("@NO_H_0@", no_h_0).replace("@RESULT@", result)


FORWARD = '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    D = 2 if bidirectional else 1
    layer_input, finals = x, []
    for layer in range(num_layers):
        outputs = []
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
            weights = [params[name + suffix] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            k = @K@
            out, h = gru_layer(@INPUT@, *weights, h_0=None if h_0 is None else h_0[k:k + 1], reverse=d == 1)
            outputs.append(out)
            finals.append(h)
        layer_input = torch.cat(outputs, dim=-1)
    return layer_input, @H_N@
'''


def forward(k="layer * D + d", layer_input="layer_input", h_n="torch.cat(finals, dim=0)"):
    return FORWARD.replace("@K@", k).replace("@INPUT@", layer_input).replace("@H_N@", h_n)


# a wrong gru_cell also costs every value case of the layer tests that call it
CELL_CASCADE = {"test_gru_layer": 0.43, "test_gru_forward": 0.0}

WRONG = {
    "wrong_purpose": ({"mcq_gru_purpose": 'mcq_gru_purpose = "B"\n'}, {"test_mcq_gru_purpose": 0.0}),
    # the LSTM's forget gate taken for a GRU gate: (b) wrong only, 1 of 2 -> 1.0
    "not_a_gate_none": ({"mcq_gru_gates": 'mcq_update_gate = "A"\nmcq_not_a_gate = "D"\n'}, {"test_mcq_gru_gates": 1.0}),
    "reset_and_update_confused": ({"mcq_gru_gates": 'mcq_update_gate = "B"\nmcq_not_a_gate = "D"\n'},
                                  {"test_mcq_gru_gates": 0.0}),
    # chunk(3, dim=-1): only the 1-D bias passes, 1 of 5 -> 0.4
    "split_last_dimension": ({"split_gates": "def split_gates(weight):\n    return weight.chunk(3, dim=-1)\n"},
                             {"test_split_gates": 0.4}),
    # blocks of 3 rows: right only when H = 3 (the hidden square case), 1 of 5 -> 0.4
    "split_size_3": ({"split_gates": "def split_gates(weight):\n    return weight.split(3)\n"},
                     {"test_split_gates": 0.4}),
    "split_order_z_r_n": ({"split_gates": "def split_gates(weight):\n    H = weight.shape[0] // 3\n"
                                          "    return weight[H:2 * H], weight[:H], weight[2 * H:]\n"},
                          {"test_split_gates": 0.0}),
    # gate order swapped (z, r, n): passes the shape and "both gates forced to 0" (both blocks at -30
    # whatever their order), 2 of 7 -> 4 * 2/7 = 1.14
    "gate_order_z_r_n": ({"gru_cell": cell(inputs="i_z, i_r, i_n", recurrent="h_z, h_r, h_n")},
                         {"test_gru_cell": 1.14, **CELL_CASCADE}),
    # reset before the product (Cho et al.): passes shape, W_hn = b_hn = 0, z forced to 1; 3 of 7 -> 1.71
    "reset_before_product": ({"gru_cell": CELL_SPLIT_W_HN.replace("@CANDIDATE@", "(r * h) @ W_hn.T + b_hn")},
                             {"test_gru_cell": 1.71, **CELL_CASCADE}),
    # b_hn outside the reset: like the previous one, plus the b_hn = 0 case; 4 of 7 -> 2.29
    "b_hn_outside_reset": ({"gru_cell": CELL_SPLIT_W_HN.replace("@CANDIDATE@", "r * (h @ W_hn.T) + b_hn")},
                           {"test_gru_cell": 2.29, **CELL_CASCADE}),
    # z and 1 - z swapped: only the shape passes, 1 of 7 -> 0.57
    "update_gate_swapped": ({"gru_cell": cell(mix="z * n + (1 - z) * h")}, {"test_gru_cell": 0.57, **CELL_CASCADE}),
    # writes into the caller's bias: case 1 passes, case 2 sees case 1's write, case 3 fails; 4 of 6 -> 2.0
    "force_in_place": ({"force_gate_bias": force(copy="bias")}, {"test_which_gate": 2.0}),
    # H = 4 hard-coded: only the hidden H = 6 case fails, 5 of 6 -> 2.5
    "force_hard_coded_H": ({"force_gate_bias": force(H="4")}, {"test_which_gate": 2.5}),
    # blocks read as (z, r, n): gates z and r fail, "n" and "unchanged" pass; 4 of 6 -> 2.0
    "force_order_z_r_n": ({"force_gate_bias": force(order="zrn")}, {"test_which_gate": 2.0}),
    # the textbook answer to (b): 5 of 6 -> 2.5
    "forced_prediction_textbook": ({"mcq_forced_gates": 'mcq_z_near_one = "A"\nmcq_r_z_near_zero = "B"\n'},
                                   {"test_which_gate": 2.5}),
    # the swapped convention: (a) B, (b) A; 4 of 6 -> 2.0
    "forced_prediction_swapped": ({"mcq_forced_gates": 'mcq_z_near_one = "B"\nmcq_r_z_near_zero = "A"\n'},
                                  {"test_which_gate": 2.0}),
    # reverse direction not flipped back: fails reverse output and the hidden case, 5 of 7 -> 2.14;
    # gru_forward: one direction cases and the one-layer bidirectional h_n pass, 3 of 7 -> 2.14
    "reverse_not_flipped_back": ({"gru_layer": layer(result="output, h.unsqueeze(0)")},
                                 {"test_gru_layer": 2.14, "test_gru_forward": 2.14}),
    # outputs flipped but the input not: the four forward cases pass, 4 of 7 -> 1.71;
    # gru_forward: cases 1 and 4 (one direction) pass, 2 of 7 -> 1.43
    "reverse_input_not_flipped": ({"gru_layer": layer(steps="x")}, {"test_gru_layer": 1.71, "test_gru_forward": 1.43}),
    # h_n of shape (N, H): the output cases 2 and 5 pass, 2 of 7 -> 0.86; gru_forward: only case 2
    # (bidirectional output alone) passes, 1 of 7 -> 0.71
    "h_n_without_layer_dim": ({"gru_layer": layer(result="(output.flip(0) if reverse else output), h")},
                              {"test_gru_layer": 0.86, "test_gru_forward": 0.71}),
    # h_0 ignored: the cases with h_0 fail (4 and the hidden one), 5 of 7 -> 2.14; gru_forward: 5 and 6 fail,
    # 5 of 7 -> 3.57
    "ignores_h_0": ({"gru_layer": layer(no_h_0="True")}, {"test_gru_layer": 2.14, "test_gru_forward": 3.57}),
    # every layer reads x: shape error for layer 1 unless input_size == D * H, where it is silently wrong;
    # the three one-layer cases pass, 3 of 7 -> 2.14
    "every_layer_reads_x": ({"gru_forward": forward(layer_input="x")}, {"test_gru_forward": 2.14}),
    # h_0 and h_n direction by direction (all forward layers first): right for one layer (cases 1-4),
    # 4 of 7 -> 2.86
    "h_n_directions_first": ({"gru_forward": forward(k="d * num_layers + layer",
                                                     h_n="torch.cat([h for d in range(D) for h in finals[d::D]], dim=0)")},
                             {"test_gru_forward": 2.86}),
    # the directions' final states joined along the features, (num_layers, N, 2H): cases 1, 2 and 4 pass,
    # 3 of 7 -> 2.14
    "h_n_along_features": ({"gru_forward": forward(
        h_n="torch.cat([torch.cat(finals[i:i + D], dim=-1) for i in range(0, len(finals), D)], dim=0)")},
                           {"test_gru_forward": 2.14}),
}
