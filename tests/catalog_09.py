"""Notebook 09 (gate and state pictures): realistic wrong answers and the per-test scores they deserve.

Scores follow from the case weights of the solution's test cells (visible + hidden), rounded to 2 decimals:
- test_gru_cell_with_gates_matches_torch (4 points, weights 10.5, from_scratch="the gates"): h_new vs
  nn.GRUCell 4, your gates put together give nn.GRUCell's h_new 1, shapes and ranges 0.5, hidden: r, z and n
  vs the equations 1, other sizes 2, b_iz = +20 keeps the old state 2.
- test_gates_over_time_reproduces_gru (3 points, weights 6, from_scratch="the gates"): shapes 0.5, states vs a
  random nn.GRU 2, the trained GRU reproduced 1, hidden: r and z at every step 1.5, other sizes 1.
- test_write_hold_correlation (2 points, weights 5): random data vs torch.corrcoef 2, exactly -1 1, the
  trained GRU below -0.5 1, hidden other sizes 1.
- test_mcq_gate_pictures (2 points): two hidden keys of weight 1 (the format checks weigh 0).
- test_pc1_correlation (2 points, weights 7): the line 1, the sign of tracked 0.5, the cloud far from the
  origin 3, the trained GRU's final states >= 0.7 1, hidden other sizes 1.5.
- test_input_saliency (3 points, weights 8): finite differences on a GRU Reader 3, each sequence its own
  gradient 1, the trained GRU's share on the last mark >= 0.5 1, hidden: finite differences on an RNN
  Reader 2, the RNN's share below half the GRU's 1.
- test_mcq_saliency_picture (1 point): one hidden key.

One mistake costs once. gates_over_time builds on gru_cell_with_gates, and Exercise 3's trained case on
gates_over_time, so both test cells call `check.uses` first. PyTorch returns no gates, so their references
are built in the test cells from the library's own step, without writing a gate equation: the visible
`torch_gru_step_with_gates` (test of Exercise 2) calls torch.gru_cell on the learner's arguments and on
copies of the weights with one block replaced (the candidate's block giving n = 1, so h' = (1 - z) + z * h
shows z; the update gate shut, so h' = n; and then the candidate's hidden part 1, so h' = tanh(r)), in
float64; `torch_gates_over_time` (test of Exercise 3) takes the states from nn.GRU and the gates from that
step at every (x_t, h_(t-1)) at once. They reveal no more than the visible hints already say (the block order
(r, z, n), z multiplying the old state, the reset inside the candidate) and contain no answer a learner could
hand in: both call the library, which from_scratch forbids in Exercises 1-2. The alternative, a dependency
check on h' only, would have left Exercise 2's r-and-z case and Exercise 3's trained case on the learner's
own gates. A wrong gru_cell_with_gates therefore costs in Exercise 1 only (Exercise 2's first line says "fix
Exercise 1 first"), and a wrong gates_over_time costs in Exercise 2 only.

The issue's instance for this notebook, correct code returning lists ([h_new, r, z, n] and [r, z, states])
instead of tuples, lost 1 of 17 points (the hidden r-and-z cases compared a list slice with a tuple). The
engine's equivalence policy accepts it: it is the VALID style "lists_and_row_slices", which scores full.
FUNDAMENTAL lists every catalogued mistake of a code exercise but the MCQ letters: wrong blocks, the other
convention for z, Cho's reset, fresh weights, a cosine, no centring, a column of Vh, the output's gradient,
the batch mean, and the shortcuts through the library.
"""
SOLUTION = "09_gate_pictures/09_gate_and_state_pictures.ipynb"

FULL = {
    "test_gru_cell_with_gates_matches_torch": 4.0, "test_gates_over_time_reproduces_gru": 3.0,
    "test_write_hold_correlation": 2.0, "test_mcq_gate_pictures": 2.0, "test_pc1_correlation": 2.0,
    "test_input_saliency": 3.0, "test_mcq_saliency_picture": 1.0,
}

CELL = '''
def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    {blocks}
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = {candidate}
    return {new_state}, r, z, n
'''
PYTORCH_BLOCKS = ("i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
                  "    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)")

GATES_OVER_TIME = '''
def gates_over_time(gru, x):
    {source}
    weights = [p.detach() for p in ({tensors})]
    h = x.new_zeros(x.shape[1], gru.hidden_size)
    rs, zs, states = [], [], []
    for x_t in x:
        h, r, z, _ = gru_cell_with_gates(x_t, h, *weights)
        rs.append(r)
        zs.append(z)
        states.append(h)
    return torch.stack(rs), torch.stack(zs), torch.stack(states)
'''

CORRELATION = '''
def write_hold_correlation(z, marks):
    a = z.mean(dim=-1).flatten()
    b = marks.float().flatten()
    {centre}
    return float((a @ b) / (a.norm() * b.norm()))
'''

PC1 = '''
def pc1_correlation(states, tracked):
    centred = {centred}
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    pc1 = centred @ {direction}
    a, b = pc1 - pc1.mean(), tracked - tracked.mean()
    return abs(float((a @ b) / (a.norm() * b.norm())))
'''

SALIENCY = '''
def input_saliency(model, x):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[-1].{reduce}(), x)
    return grad.abs()
'''

WRONG = {
    # z taken from the r rows (and r from the z rows): only the shapes and ranges pass: 4 * 0.5/10.5 = 0.19.
    # Exercise 2 runs with the reference step (its first line: "fix Exercise 1 first") and scores full.
    "gate_blocks_swapped": (
        {"gru_cell_with_gates": CELL.format(
            blocks="i_z, i_r, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
                   "    h_z, h_r, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)",
            candidate="torch.tanh(i_n + r * h_n)", new_state="(1 - z) * n + z * h")},
        {"test_gru_cell_with_gates_matches_torch": 0.19}),
    # h' = z * n + (1 - z) * h: the gates themselves are right, so the gates-put-together, shapes and gates
    # cases pass (2.5 of 10.5): 0.95; the h_new cases, other sizes and b_iz = +20 fail. Exercise 2: full.
    "z_and_one_minus_z_swapped": (
        {"gru_cell_with_gates": CELL.format(blocks=PYTORCH_BLOCKS, candidate="torch.tanh(i_n + r * h_n)",
                                            new_state="z * n + (1 - z) * h")},
        {"test_gru_cell_with_gates_matches_torch": 0.95}),
    # Cho et al.'s candidate, tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn): shapes and b_iz = +20 (z = 1 keeps
    # h whatever n is) pass (2.5 of 10.5): 0.95; the gates case fails on n. Exercise 2: full.
    "reset_before_product": (
        {"gru_cell_with_gates": CELL.format(
            blocks="H = h.shape[-1]\n"
                   "    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
                   "    h_r, h_z = h @ W_hh[:H].T + b_hh[:H], h @ W_hh[H:2 * H].T + b_hh[H:2 * H]",
            candidate="torch.tanh(i_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])", new_state="(1 - z) * n + z * h")},
        {"test_gru_cell_with_gates_matches_torch": 0.95}),
    # a new nn.GRUCell inside: an untrained network's gates. Exercise 2: shapes only, 3 * 0.5/6 = 0.25.
    # Exercise 3 runs with the reference gates_over_time (its first line: "fix Exercise 2 first"): full.
    "fresh_weights_not_trained": (
        {"gates_over_time": GATES_OVER_TIME.format(
            source="cell = nn.GRUCell(gru.input_size, gru.hidden_size)  # new random weights",
            tensors="cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh")},
        {"test_gates_over_time_reproduces_gru": 0.25}),
    # shortcuts through the library (from_scratch="the gates"): every case of Exercise 1 that calls it fails
    # ("calls torch.gru_cell: write the gates yourself"): 0. Exercise 2 runs with the reference step: full.
    "shortcut_gru_cell_via_getattr": (
        {"gru_cell_with_gates": """
def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    step = getattr(torch, "gru_" + "cell")
    h_new = step(x, h, W_ih, W_hh, b_ih, b_hh)
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    return h_new, r, z, torch.tanh(i_n + r * h_n)
"""},
        {"test_gru_cell_with_gates_matches_torch": 0.0}),
    # h_new from an nn.GRUCell loaded with the weights, the gates written by hand: 0
    "shortcut_gru_cell_module": (
        {"gru_cell_with_gates": """
def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1])
    with torch.no_grad():
        for p, w in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(w)
        h_new = cell(x, h)
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    return h_new, r, torch.sigmoid(i_z + h_z), torch.tanh(i_n + r * h_n)
"""},
        {"test_gru_cell_with_gates_matches_torch": 0.0}),
    # Exercise 2's states from the layer itself, the gates from the learner's step at every (x_t, h_(t-1)):
    # every case calls gru(x): 0
    "shortcut_states_from_nn_gru": (
        {"gates_over_time": """
def gates_over_time(gru, x):
    with torch.no_grad():
        states = gru(x)[0]
    weights = [p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)]
    previous = torch.cat([torch.zeros_like(states[:1]), states[:-1]])
    _, r, z, _ = gru_cell_with_gates(x, previous, *weights)
    return r, z, states
"""},
        {"test_gates_over_time_reproduces_gru": 0.0}),
    # Exercise 2's states stepped by torch._VF.gru_cell, the gates from the learner's step: 0
    "shortcut_vf_gru_cell_in_the_loop": (
        {"gates_over_time": """
def gates_over_time(gru, x):
    weights = [p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)]
    h = x.new_zeros(x.shape[1], gru.hidden_size)
    rs, zs, states = [], [], []
    for x_t in x:
        _, r, z, _ = gru_cell_with_gates(x_t, h, *weights)
        h = torch._VF.gru_cell(x_t, h, *weights)
        rs.append(r)
        zs.append(z)
        states.append(h)
    return torch.stack(rs), torch.stack(zs), torch.stack(states)
"""},
        {"test_gates_over_time_reproduces_gru": 0.0}),
    # a cosine (no centring): positive gates and 0/1 marks give a positive value, so every case fails
    "cosine_not_correlation": (
        {"write_hold_correlation": CORRELATION.format(centre="pass")},
        {"test_write_hold_correlation": 0.0}),
    # no centring before the SVD: the line through (nearly) the origin still passes, with its sign case
    # (1.5 of 7); the far cloud, the trained final states (|r| = 0.08) and the hidden cloud fail: 0.43
    "pca_not_centred": (
        {"pc1_correlation": PC1.format(centred="states", direction="vh[0]")},
        {"test_pc1_correlation": 0.43}),
    # a column of Vh instead of a row: a wrong direction everywhere (0.976 instead of 0.987 on the line,
    # 0.54 on the trained final states): 0
    "pc1_from_a_column_of_vh": (
        {"pc1_correlation": PC1.format(centred="states - states.mean(dim=0)", direction="vh[:, 0]")},
        {"test_pc1_correlation": 0.0}),
    # the gradient of the layer's output via retain_grad: shape (L, N, hidden_size), zero before the last
    # step, so the share on the last mark is the share of sequences marked at the last step: every case fails
    "saliency_of_output_retain_grad": (
        {"input_saliency": "def input_saliency(model, x):\n"
                           "    out, _ = model.rnn(x)\n"
                           "    out.retain_grad()\n"
                           "    model.head(out)[..., 0][-1].sum().backward()\n"
                           "    return out.grad.abs()\n"},
        {"test_input_saliency": 0.0}),
    # mean over the batch: every gradient divided by N; the two shares are ratios and survive (2 of 8): 0.75
    "saliency_of_batch_mean": (
        {"input_saliency": SALIENCY.format(reduce="mean")},
        {"test_input_saliency": 0.75}),
    # z = 1 read as "update": (a) wrong, (b) right: 1 of 2
    "update_gate_read_as_overwrite": (
        {"mcq_gate_pictures": 'mcq_update_gate_picture = "A"\nmcq_reset_gate_picture = "B"\n'},
        {"test_mcq_gate_pictures": 1.0}),
    "wrong_gate_letters": (
        {"mcq_gate_pictures": 'mcq_update_gate_picture = "C"\nmcq_reset_gate_picture = "D"\n'},
        {"test_mcq_gate_pictures": 0.0}),
    # the retain_grad trap read into the picture
    "rnn_saliency_read_as_zero": (
        {"mcq_saliency_picture": 'mcq_rnn_saliency = "D"\n'},
        {"test_mcq_saliency_picture": 0.0}),
}

FUNDAMENTAL = {"gate_blocks_swapped", "z_and_one_minus_z_swapped", "reset_before_product", "fresh_weights_not_trained",
               "shortcut_gru_cell_via_getattr", "shortcut_gru_cell_module", "shortcut_states_from_nn_gru",
               "shortcut_vf_gru_cell_in_the_loop", "cosine_not_correlation", "pca_not_centred",
               "pc1_from_a_column_of_vh", "saliency_of_output_retain_grad", "saliency_of_batch_mean"}

# Correct answers in other styles than the solution's; each must score FULL (tests/test_valid_answers.py).
VALID = {
    # lists for the tuples (the instance), one weight block per gate by row slices, preallocated
    # tensors filled step by step, Pearson's formula by sums, PCA from the covariance's eigenvectors, .backward()
    "lists_and_row_slices": {
        "gru_cell_with_gates": '''
def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    h_new = (1 - z) * n + z * h
    return [h_new, r, z, n]
''',
        "gates_over_time": '''
def gates_over_time(gru, x):
    L, N, _ = x.shape
    H = gru.hidden_size
    params = [gru.weight_ih_l0.detach(), gru.weight_hh_l0.detach(), gru.bias_ih_l0.detach(), gru.bias_hh_l0.detach()]
    r_all = torch.empty(L, N, H)
    z_all = torch.empty(L, N, H)
    h_all = torch.empty(L, N, H)
    h = torch.zeros(N, H)
    for t in range(L):
        h, r_all[t], z_all[t], _ = gru_cell_with_gates(x[t], h, *params)
        h_all[t] = h
    return [r_all, z_all, h_all]
''',
        "write_hold_correlation": '''
def write_hold_correlation(z, marks):
    zbar = z.mean(-1).reshape(-1)
    m = marks.reshape(-1).to(zbar.dtype)
    dz, dm = zbar - zbar.mean(), m - m.mean()
    return (dz * dm).sum().item() / ((dz ** 2).sum() * (dm ** 2).sum()).sqrt().item()
''',
        "pc1_correlation": '''
def pc1_correlation(states, tracked):
    X = states - states.mean(0, keepdim=True)
    cov = X.T @ X / (len(X) - 1)
    evals, evecs = torch.linalg.eigh(cov)
    pc1 = X @ evecs[:, -1]
    t = tracked - tracked.mean()
    pc = pc1 - pc1.mean()
    return abs((pc * t).sum().item()) / (pc.norm() * t.norm()).item()
''',
        "input_saliency": '''
def input_saliency(model, x):
    inp = x.detach().clone()
    inp.requires_grad_(True)
    model(inp)[-1].sum().backward()
    return inp.grad.abs()
''',
    },
    # float64 inside and returned (no dtype is asked but for the saliency), einsum and column slices,
    # zip to unstack, torch.corrcoef, the SVD's U * S, autograd.grad with grad_outputs
    "einsum_float64": {
        "gru_cell_with_gates": '''
def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    x, h = x.double(), h.double()
    gi = torch.einsum("ni,gi->ng", x, W_ih.double()) + b_ih.double()
    gh = torch.einsum("nj,gj->ng", h, W_hh.double()) + b_hh.double()
    H = h.shape[-1]
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h_new = n + z * (h - n)
    return h_new, r, z, n
''',
        "gates_over_time": '''
def gates_over_time(gru, x):
    W = [getattr(gru, name).detach() for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    h = torch.zeros(x.size(1), gru.hidden_size, dtype=x.dtype)
    steps = []
    for x_t in x.unbind(0):
        h, r, z, _ = gru_cell_with_gates(x_t, h, *W)
        steps.append((r, z, h))
    r, z, states = (torch.stack(seq) for seq in zip(*steps))
    return r, z, states
''',
        "write_hold_correlation": '''
def write_hold_correlation(z, marks):
    series = torch.stack([z.double().mean(dim=2).flatten(), marks.double().flatten()])
    return torch.corrcoef(series)[0, 1].item()
''',
        "pc1_correlation": '''
def pc1_correlation(states, tracked):
    X = states.double() - states.double().mean(dim=0)
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    pc1 = U[:, 0] * S[0]
    return torch.corrcoef(torch.stack([pc1, tracked.double()]))[0, 1].abs().item()
''',
        "input_saliency": '''
def input_saliency(model, x):
    x_in = x.detach().requires_grad_()
    y_last = model(x_in)[-1]
    g, = torch.autograd.grad(y_last, x_in, grad_outputs=torch.ones_like(y_last))
    return g.abs()
''',
    },
    # F.linear and split, torch.lerp for the update, torch.cat of [None] slices under no_grad, numpy's
    # corrcoef and SVD (numpy floats returned), backward(gradient=...)
    "linear_lerp_numpy": {
        "gru_cell_with_gates": '''
import torch.nn.functional as F


def gru_cell_with_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    H = W_hh.shape[1]
    xr, xz, xn = F.linear(x, W_ih, b_ih).split(H, dim=1)
    hr, hz, hn = F.linear(h, W_hh, b_hh).split(H, dim=1)
    reset = torch.sigmoid(xr + hr)
    update = torch.sigmoid(xz + hz)
    candidate = torch.tanh(xn + reset * hn)
    return torch.lerp(candidate, h, update), reset, update, candidate
''',
        "gates_over_time": '''
def gates_over_time(gru, x):
    with torch.no_grad():
        weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        h = x.new_zeros(x.shape[1], gru.hidden_size)
        r_steps, z_steps, h_steps = [], [], []
        for t in range(x.shape[0]):
            h, r, z, n = gru_cell_with_gates(x[t], h, *weights)
            r_steps.append(r[None])
            z_steps.append(z[None])
            h_steps.append(h[None])
        return torch.cat(r_steps), torch.cat(z_steps), torch.cat(h_steps)
''',
        "write_hold_correlation": '''
import numpy as np


def write_hold_correlation(z, marks):
    a = z.mean(axis=-1).numpy().ravel()
    b = marks.numpy().ravel().astype(float)
    return float(np.corrcoef(a, b)[0, 1])
''',
        "pc1_correlation": '''
import numpy as np


def pc1_correlation(states, tracked):
    S = states.numpy()
    S = S - S.mean(axis=0)
    _, _, vt = np.linalg.svd(S, full_matrices=False)
    pc1 = S @ vt[0]
    return abs(np.corrcoef(pc1, tracked.numpy())[0, 1])
''',
        "input_saliency": '''
def input_saliency(model, x):
    x_leaf = x.clone().detach().requires_grad_(True)
    out = model(x_leaf)
    out[-1].backward(torch.ones(out.shape[1], dtype=out.dtype))
    return x_leaf.grad.abs()
''',
    },
}
