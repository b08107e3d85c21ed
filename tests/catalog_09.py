"""Notebook 09 (gate and state pictures): realistic wrong answers and the per-test scores they deserve.

Scores follow from the case weights of the solution's test cells (visible + hidden), rounded to 2 decimals:
- test_gru_cell_with_gates_matches_torch (4 points, weights 8): h_new vs nn.GRUCell 2, your gates put
  together give nn.GRUCell's h_new 1, shapes and ranges 1, hidden: r and z vs the equations 1, n vs the
  equations 1, other sizes 1, b_iz = +20 keeps the old state 1.
- test_gates_over_time_reproduces_gru (3 points, weights 6): shapes 1, states vs a random nn.GRU 2, the
  trained GRU reproduced 1, hidden: r and z at every step 1, other sizes 1.
- test_write_hold_correlation (2 points, weights 5): random data vs torch.corrcoef 2, exactly -1 1, the
  trained GRU below -0.5 1, hidden other sizes 1.
- test_mcq_gate_pictures (2 points): two hidden keys of weight 1 (the format checks weigh 0).
- test_pc1_correlation (2 points, weights 6): the line 1, the sign of tracked 1, the cloud far from the
  origin 2, the trained GRU's final states >= 0.7 1, hidden other sizes 1.
- test_input_saliency (3 points, weights 6): finite differences on a GRU Reader 2, each sequence its own
  gradient 1, the trained GRU's share on the last mark >= 0.5 1, hidden: finite differences on an RNN
  Reader 1, the RNN's share below half the GRU's 1.
- test_mcq_saliency_picture (1 point): one hidden key.
gates_over_time calls the learner's gru_cell_with_gates, so a wrong cell also costs points in Exercise 2
(only its shape case survives). Exercise 3's trained case uses the learner's gates too; the wrong cells
below still give a correlation below -0.5 there (measured: -0.60 with the gate blocks swapped, -0.77 with
z and 1 - z swapped, -0.74 with the reset before the product), because every "z" they return still drops
at the marks; each case is explained next to it.
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
    # z taken from the r rows (and r from the z rows): only the shapes and ranges pass (1 of 8): 0.5.
    # Exercise 2 keeps its shape case (1 of 6): 0.5. Exercise 3's trained case still passes: the returned
    # "z" is then the reset gate, which also drops at the marks (-0.60).
    "gate_blocks_swapped": (
        {"gru_cell_with_gates": CELL.format(
            blocks="i_z, i_r, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
                   "    h_z, h_r, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)",
            candidate="torch.tanh(i_n + r * h_n)", new_state="(1 - z) * n + z * h")},
        {"test_gru_cell_with_gates_matches_torch": 0.5, "test_gates_over_time_reproduces_gru": 0.5}),
    # h' = z * n + (1 - z) * h: the gates themselves are right, so the gates-put-together, shapes, r-and-z and
    # n cases pass (4 of 8): 2.0; the h_new cases, other sizes and b_iz = +20 fail. Exercise 2: shapes only.
    "z_and_one_minus_z_swapped": (
        {"gru_cell_with_gates": CELL.format(blocks=PYTORCH_BLOCKS, candidate="torch.tanh(i_n + r * h_n)",
                                            new_state="z * n + (1 - z) * h")},
        {"test_gru_cell_with_gates_matches_torch": 2.0, "test_gates_over_time_reproduces_gru": 0.5}),
    # Cho et al.'s candidate, tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn): shapes, r and z, and b_iz = +20
    # (z = 1 keeps h whatever n is) pass (3 of 8): 1.5. Exercise 2: shapes only (even one step from h = 0
    # differs: b_hn is not multiplied by r).
    "reset_before_product": (
        {"gru_cell_with_gates": CELL.format(
            blocks="H = h.shape[-1]\n"
                   "    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
                   "    h_r, h_z = h @ W_hh[:H].T + b_hh[:H], h @ W_hh[H:2 * H].T + b_hh[H:2 * H]",
            candidate="torch.tanh(i_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])", new_state="(1 - z) * n + z * h")},
        {"test_gru_cell_with_gates_matches_torch": 1.5, "test_gates_over_time_reproduces_gru": 0.5}),
    # a new nn.GRUCell inside: an untrained network's gates. Exercise 2: shapes only (1 of 6): 0.5.
    # Exercise 3's trained case gets the z of a random GRU drawn right after torch.manual_seed(33): its
    # correlation with the marks is +0.25 (measured; above -0.5), so 4 of 5 weights: 1.6.
    "fresh_weights_not_trained": (
        {"gates_over_time": GATES_OVER_TIME.format(
            source="cell = nn.GRUCell(gru.input_size, gru.hidden_size)  # new random weights",
            tensors="cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh")},
        {"test_gates_over_time_reproduces_gru": 0.5, "test_write_hold_correlation": 1.6}),
    # a cosine (no centring): positive gates and 0/1 marks give a positive value, so every case fails
    "cosine_not_correlation": (
        {"write_hold_correlation": CORRELATION.format(centre="pass")},
        {"test_write_hold_correlation": 0.0}),
    # no centring before the SVD: the line through (nearly) the origin still passes, with its sign case
    # (2 of 6); the far cloud, the trained final states (|r| = 0.08) and the hidden cloud fail: 0.67
    "pca_not_centred": (
        {"pc1_correlation": PC1.format(centred="states", direction="vh[0]")},
        {"test_pc1_correlation": 0.67}),
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
    # mean over the batch: every gradient divided by N; the two shares are ratios and survive (2 of 6): 1.0
    "saliency_of_batch_mean": (
        {"input_saliency": SALIENCY.format(reduce="mean")},
        {"test_input_saliency": 1.0}),
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
