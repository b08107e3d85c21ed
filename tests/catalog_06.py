"""Notebook 06 (GRU gates from scratch): realistic wrong submissions and the scores they deserve.

A test cell scores points * (passed weight) / (total weight), rounded to 2 decimals. Format checks of
multiple-choice answers have weight 0; every other case weighs 1 unless its weight is given in brackets.
The cases, in order (hidden ones marked h):
- test_mcq_gru_purpose (1 point, 1 case): h: the letter C.
- test_mcq_gru_gates (2 points, 2 cases): h: (a) A, h: (b) A.
- test_split_gates (2 points, 5 cases): weight_ih (12, 3); weight_hh (12, 4); bias (12,);
  h: square weight (9, 9), H = 3; h: weight_ih_l1_reverse (15, 10).
- test_gru_cell (4 points, total weight 20, from scratch: a case whose gru_cell reaches a PyTorch recurrent
  layer fails): 1 shape; [8] 2 matches nn.GRUCell; 3 W_hn = 0 and b_hn = 0 (the reset gate has nothing to
  act on: checks the gate order and the mix); 4 b_iz = +30, h' = h; 5 b_ir = b_iz = -30,
  h' = tanh(x W_in^T + b_in); 6 b_hn = 0; [7] h 7 other sizes, input_size == hidden_size. A cell that does
  not match nn.GRUCell keeps at most the shape and the four part-by-part cases, 5 of 20 (1.0).
- test_which_gate (3 points, 6 cases): 1 gate "z" of b; 2 gate "r" of the same b (after case 1);
  3 b unchanged after a call; h 4 gate "n" with H = 6; h 5 letter A; h 6 letter C.
- test_gru_layer (3 points, total weight 6.5, from scratch; check.uses("gru_cell", exercise=4): the cases
  run with torch.gru_cell in place of the learner's gru_cell, after a weight-0 line on the learner's own):
  [0.5] 1 shapes; 2 forward output; 3 forward h_n; 4 forward with h_0; 5 reverse output; 6 reverse h_n;
  h 7 both directions, other sizes, with h_0. A wrong gru_cell costs nothing here.
- test_gru_forward (5 points, 7 cases, from scratch; check.uses("gru_layer", exercise=6): the cases run with
  a one-direction layer built on torch.gru in place of the learner's gru_layer): 1 one layer one direction;
  2 one bidirectional layer, output; 3 one bidirectional layer, h_n; 4 two layers one direction; 5 two
  bidirectional layers with h_0; h 6 three bidirectional layers with h_0; h 7 two bidirectional layers,
  input_size == 2H, no h_0. A wrong gru_cell or gru_layer costs nothing here.
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


# torch.gru_cell reached by name, so that no "gru_cell(" call shows in the source
SHORTCUT_CELL = '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return getattr(torch, "gru_" + "cell")(x, h, W_ih, W_hh, b_ih, b_hh)
'''

# an nn.GRU loaded with the given weights (the example)
SHORTCUT_LAYER = '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    layer = nn.GRU(W_ih.shape[1], W_hh.shape[1])
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(layer, name).copy_(value)
        output, h_n = layer(x.flip(0) if reverse else x, h_0)
    return (output.flip(0) if reverse else output), h_n
'''

# the whole stack through torch._VF, the private entry point behind nn.GRU
SHORTCUT_FORWARD = '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    D = 2 if bidirectional else 1
    H = params["weight_hh_l0"].shape[1]
    if h_0 is None:
        h_0 = x.new_zeros(D * num_layers, x.shape[1], H)
    return tuple(torch._VF.gru(x, h_0, list(params.values()), True, num_layers, 0.0, False, bidirectional, False))
'''

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
    # Each gru_cell mistake costs test_gru_cell only: test_gru_layer and test_gru_forward run with
    # torch.gru_cell (check.uses) and show "fix Exercise 4 first" at weight 0 (the cascade: 8.6-10.7 of 20).
    # gate order swapped (z, r, n): passes the shape and "both gates forced to 0" (both blocks at -30
    # whatever their order), 2 of 20 -> 0.4
    "gate_order_z_r_n": ({"gru_cell": cell(inputs="i_z, i_r, i_n", recurrent="h_z, h_r, h_n")},
                         {"test_gru_cell": 0.4}),
    # reset before the product (Cho et al.): passes shape, W_hn = b_hn = 0, z forced to 1; 3 of 20 -> 0.6
    "reset_before_product": ({"gru_cell": CELL_SPLIT_W_HN.replace("@CANDIDATE@", "(r * h) @ W_hn.T + b_hn")},
                             {"test_gru_cell": 0.6}),
    # b_hn outside the reset: like the previous one, plus the b_hn = 0 case; 4 of 20 -> 0.8
    "b_hn_outside_reset": ({"gru_cell": CELL_SPLIT_W_HN.replace("@CANDIDATE@", "r * (h @ W_hn.T) + b_hn")},
                           {"test_gru_cell": 0.8}),
    # z and 1 - z swapped: only the shape passes, 1 of 20 -> 0.2
    "update_gate_swapped": ({"gru_cell": cell(mix="z * n + (1 - z) * h")}, {"test_gru_cell": 0.2}),
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
    # Each gru_layer mistake costs test_gru_layer only: test_gru_forward runs with a library-built layer.
    # reverse direction not flipped back: fails reverse output and the hidden case, 4.5 of 6.5 -> 2.08
    "reverse_not_flipped_back": ({"gru_layer": layer(result="output, h.unsqueeze(0)")}, {"test_gru_layer": 2.08}),
    # outputs flipped but the input not: the shapes and the three forward cases pass, 3.5 of 6.5 -> 1.62
    "reverse_input_not_flipped": ({"gru_layer": layer(steps="x")}, {"test_gru_layer": 1.62}),
    # h_n of shape (N, H): the output cases 2 and 5 pass, 2 of 6.5 -> 0.92
    "h_n_without_layer_dim": ({"gru_layer": layer(result="(output.flip(0) if reverse else output), h")},
                              {"test_gru_layer": 0.92}),
    # h_0 ignored: the cases with h_0 fail (4 and the hidden one), 4.5 of 6.5 -> 2.08
    "ignores_h_0": ({"gru_layer": layer(no_h_0="True")}, {"test_gru_layer": 2.08}),
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
    # Shortcuts: the from-scratch exercise answered by the library layer it asks for (test cells with
    # from_scratch="the gates" fail every case that reaches a PyTorch recurrent layer, however reached);
    # the later cells run with library stand-ins (check.uses), so each shortcut costs its own cell only.
    "shortcut_gru_cell": ({"gru_cell": SHORTCUT_CELL}, {"test_gru_cell": 0.0}),
    "shortcut_gru_layer": ({"gru_layer": SHORTCUT_LAYER}, {"test_gru_layer": 0.0}),
    "shortcut_gru_forward": ({"gru_forward": SHORTCUT_FORWARD}, {"test_gru_forward": 0.0}),
}

# the mistakes that get an exercise fundamentally wrong; each keeps at most 25 % of its test cell
FUNDAMENTAL = {"split_order_z_r_n", "gate_order_z_r_n", "reset_before_product", "b_hn_outside_reset",
               "update_gate_swapped", "shortcut_gru_cell", "shortcut_gru_layer", "shortcut_gru_forward"}

# correct answers in other styles than the solution's: each style scores full marks
VALID = {
    # lists for tuples (the issue's `[output, h_n]`), one product per parameter, a preallocated output
    "lists_and_indices": {
        "split_gates": '''
def split_gates(weight):
    H = len(weight) // 3
    return [weight[k * H:(k + 1) * H] for k in range(3)]
''',
        "gru_cell": '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gi = torch.matmul(x, W_ih.t()) + b_ih
    gh = torch.matmul(h, W_hh.t()) + b_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h - n)
''',
        "force_gate_bias": '''
def force_gate_bias(bias, gate, value):
    blocks = list(bias.chunk(3))
    k = ["r", "z", "n"].index(gate)
    blocks[k] = torch.full_like(blocks[k], value)
    return torch.cat(blocks)
''',
        "gru_layer": '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    L, N, _ = x.shape
    H = W_hh.shape[1]
    h = torch.zeros(N, H, dtype=x.dtype) if h_0 is None else h_0[0]
    output = x.new_empty(L, N, H)
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        h = gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)
        output[t] = h
    return [output, h[None]]
''',
        "gru_forward": '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    directions = ["", "_reverse"] if bidirectional else [""]
    inp, h_n = x, []
    for l in range(num_layers):
        outs = []
        for d, suffix in enumerate(directions):
            k = l * len(directions) + d
            w = [params[f"{kind}_l{l}{suffix}"] for kind in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]]
            out, last = gru_layer(inp, *w, None if h_0 is None else h_0[k:k + 1], suffix == "_reverse")
            outs.append(out)
            h_n.append(last)
        inp = torch.cat(outs, -1)
    return [inp, torch.cat(h_n)]
''',
    },
    # einsum over the three gates at once, computed in float64; states kept in a dict; h_0 viewed per layer
    "einsum_float64": {
        "split_gates": '''
def split_gates(weight):
    return weight.unflatten(0, (3, -1)).unbind(0)
''',
        "gru_cell": '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    x64, h64 = x.double(), h.double()
    Wi, Wh = W_ih.double().unflatten(0, (3, -1)), W_hh.double().unflatten(0, (3, -1))   # (3, H, I), (3, H, H)
    bi, bh = b_ih.double().view(3, 1, -1), b_hh.double().view(3, 1, -1)
    gi = torch.einsum("ni,ghi->gnh", x64, Wi) + bi
    gh = torch.einsum("nk,ghk->gnh", h64, Wh) + bh
    r = torch.sigmoid(gi[0] + gh[0])
    z = torch.sigmoid(gi[1] + gh[1])
    n = torch.tanh(gi[2] + r * gh[2])
    return ((1 - z) * n + z * h64).to(x.dtype)
''',
        "force_gate_bias": '''
def force_gate_bias(bias, gate, value):
    out = bias.detach().clone().view(3, -1)
    out[{"r": 0, "z": 1, "n": 2}[gate]] = value
    return out.view(-1)
''',
        "gru_layer": '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    hidden = W_hh.size(1)
    state = h_0.squeeze(0) if h_0 is not None else torch.zeros(x.size(1), hidden)
    order = list(range(x.size(0)))
    if reverse:
        order.reverse()
    states = {}
    for t in order:
        state = gru_cell(x[t], state, W_ih, W_hh, b_ih, b_hh)
        states[t] = state
    output = torch.stack([states[t] for t in range(x.size(0))])
    return output, state.unsqueeze(0)
''',
        "gru_forward": '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    D = 1 + int(bidirectional)
    N, H = x.shape[1], params["weight_hh_l0"].shape[1]
    if h_0 is None:
        h_0 = x.new_zeros(D * num_layers, N, H)
    starts = h_0.view(num_layers, D, N, H)
    finals = torch.empty(num_layers, D, N, H, dtype=x.dtype)
    out = x
    for layer in range(num_layers):
        halves = []
        for d in range(D):
            tag = f"_l{layer}" + ("_reverse" if d else "")
            o, hn = gru_layer(out, params["weight_ih" + tag], params["weight_hh" + tag], params["bias_ih" + tag],
                              params["bias_hh" + tag], h_0=starts[layer, d:d + 1], reverse=bool(d))
            halves.append(o)
            finals[layer, d] = hn[0]
        out = torch.cat(halves, dim=2)
    return out, finals.reshape(D * num_layers, N, H)
''',
    },
    # one product per gate through split_gates, the mix written as update * h + (1 - update) * candidate,
    # a while loop, h_n read from the output, torch.stack of the final states
    "per_gate_while": {
        "split_gates": '''
def split_gates(weight):
    return torch.split(weight, weight.size(0) // 3)
''',
        "gru_cell": '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    W_ir, W_iz, W_in = split_gates(W_ih)
    W_hr, W_hz, W_hn = split_gates(W_hh)
    b_ir, b_iz, b_in = split_gates(b_ih)
    b_hr, b_hz, b_hn = split_gates(b_hh)
    reset = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    update = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    candidate = torch.tanh(x @ W_in.T + b_in + reset * (h @ W_hn.T + b_hn))
    return update * h + (1.0 - update) * candidate
''',
        "force_gate_bias": '''
def force_gate_bias(bias, gate, value):
    H = bias.numel() // 3
    k = {"r": 0, "z": 1, "n": 2}[gate]
    rows = torch.arange(bias.numel())
    in_block = (rows >= k * H) & (rows < (k + 1) * H)
    return torch.where(in_block, torch.full_like(bias, value), bias)
''',
        "gru_layer": '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    seq = torch.flip(x, dims=[0]) if reverse else x
    h = h_0[0] if h_0 is not None else torch.zeros(x.shape[1], W_hh.shape[-1], dtype=x.dtype)
    outs = []
    t = 0
    while t < seq.shape[0]:
        h = gru_cell(seq[t], h, W_ih, W_hh, b_ih, b_hh)
        outs.append(h.unsqueeze(0))
        t += 1
    out = torch.cat(outs)
    h_n = out[-1:]
    if reverse:
        out = torch.flip(out, dims=[0])
    return out, h_n
''',
        "gru_forward": '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    n_dirs = 2 if bidirectional else 1

    def weights(layer, d):
        end = f"l{layer}" + ("_reverse" if d == 1 else "")
        return [params[f"{p}_{end}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    finals, seq = [], x
    for layer in range(num_layers):
        results = [gru_layer(seq, *weights(layer, d), h_0=None if h_0 is None else h_0[[layer * n_dirs + d]],
                             reverse=d == 1) for d in range(n_dirs)]
        seq = torch.cat([out for out, _ in results], dim=-1)
        finals += [h_n[0] for _, h_n in results]
    return seq, torch.stack(finals)
''',
    },
    # addmm and tensor_split, the sigmoid written out, torch.lerp for the mix; narrow; recursion over layers
    "addmm_lerp_recursive": {
        "split_gates": '''
def split_gates(weight):
    H = weight.shape[0] // 3
    return tuple(weight.narrow(0, i * H, H) for i in range(3))
''',
        "gru_cell": '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = torch.addmm(b_ih, x, W_ih.t()).tensor_split(3, dim=1)
    h_r, h_z, h_n = torch.addmm(b_hh, h, W_hh.t()).tensor_split(3, dim=1)
    r = 1 / (1 + torch.exp(-(x_r + h_r)))
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return torch.lerp(n, h, z)   # n + z * (h - n)
''',
        "force_gate_bias": '''
def force_gate_bias(bias, gate, value):
    forced = torch.clone(bias)
    H = forced.shape[0] // 3
    forced.narrow(0, "rzn".find(gate) * H, H).fill_(value)
    return forced
''',
        "gru_layer": '''
def gru_layer(x, W_ih, W_hh, b_ih, b_hh, h_0=None, reverse=False):
    h_t = x.new_zeros((x.shape[1], W_hh.shape[1])) if h_0 is None else h_0.reshape(h_0.shape[1:])
    states = []
    for x_t in (reversed(x) if reverse else x):
        h_t = gru_cell(x_t, h_t, W_ih, W_hh, b_ih, b_hh)
        states.append(h_t)
    if reverse:
        states = states[::-1]
    return torch.stack(states, dim=0), h_t.reshape(1, *h_t.shape)
''',
        "gru_forward": '''
def gru_forward(x, params, num_layers=1, bidirectional=False, h_0=None):
    D = 2 if bidirectional else 1

    def run(inputs, layer):
        outs, states = [], []
        for d in range(D):
            def name(p):
                return f"{p}_l{layer}" + ("_reverse" if d else "")
            start = None if h_0 is None else h_0[layer * D + d].unsqueeze(0)
            out, h_n = gru_layer(inputs, params[name("weight_ih")], params[name("weight_hh")], params[name("bias_ih")],
                                 params[name("bias_hh")], start, d == 1)
            outs.append(out)
            states.append(h_n)
        merged = torch.cat(outs, dim=2)
        if layer + 1 == num_layers:
            return merged, states
        deeper, later = run(merged, layer + 1)
        return deeper, states + later

    output, states = run(x, 0)
    return output, torch.cat(states, dim=0)
''',
    },
}
