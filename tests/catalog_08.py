"""Notebook 08 (why gates help): realistic wrong answers and the per-test scores they deserve.

Every case of notebook 08's test cells has weight 1 (the multiple-choice format checks weigh 0), so a test
cell scores points * (cases passed) / (cases), rounded to 2 decimals. The cases, in order (hidden ones marked h):
- test_input_gradient_norms (4 points, 5 cases): shape (L,) for an RNN, values RNN, values GRU,
  h: 2-layer GRU, h: LSTM twice on the same x with x unchanged afterwards.
- test_make_adding_problem (3 points, 7 cases): shapes and dtypes, two markers one in each half, every step
  can hold a marker, y is the marked sum, h: values uniform, h: seeding and global RNG untouched,
  h: odd length 7 (one in each half AND every step possible, one case).
- test_accuracy (2 points, 5 cases): (N,) predictions, (N, 1) predictions, returns a float,
  h: predictions far below the target, h: another tolerance.
- test_adding_experiment_gru_beats_rnn (2 points, 4 cases): both >= 0.9 at L=2, GRU >= 0.7 at L=16,
  RNN <= 0.5 at L=16, h: GRU >= 0.85 at L=8. It reads the models that the locked experiment cell trains on
  the learner's make_adding_problem (and computes accuracy itself), so only a generator mistake that
  changes the task or breaks the layout costs points here.
- test_set_update_gate_bias (3 points, 5 cases): bias_ih_l0, bias_hh_l0, value 30 keeps h_0,
  h: every layer and direction of a 2-layer bidirectional GRU, h: returns the module, parameters trainable.
- test_time_per_step (2 points, 4 cases): a float, 0.02 s forward + 0.04 s backward in [0.05, 0.15] s,
  h: 0.05 s forward only in [0.04, 0.1] s (repeats=3), h: runs the model and fills the gradient.
- test_mcq_gru_vs_lstm (2 points): two hidden keys of weight 1.
"""
SOLUTION = "08_why_gates/08_why_gates_help.ipynb"

FULL = {
    "test_input_gradient_norms": 4.0, "test_make_adding_problem": 3.0, "test_accuracy": 2.0,
    "test_adding_experiment_gru_beats_rnn": 2.0, "test_set_update_gate_bias": 3.0, "test_time_per_step": 2.0,
    "test_mcq_gru_vs_lstm": 2.0,
}

GRADIENTS = '''
def input_gradient_norms(model, x):
{body}
'''

ADDING = '''
def make_adding_problem(n, seq_len, seed=0):
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(seq_len, n, generator=g)
    first = torch.randint(0, seq_len // 2, (n,), generator=g)
    second = torch.randint(seq_len // 2, {second_high}, (n,), generator=g)
    rows = torch.arange(n)
    markers = torch.zeros(seq_len, n)
    markers[first, rows] = 1.0
    markers[second, rows] = 1.0
    x = torch.stack([values, markers], dim=2)
    return {x}, values[first, rows] + values[second, rows]
'''

ACCURACY = '''
def accuracy(model, x, y, tolerance=0.1):
    with torch.no_grad():
        predictions = model(x){flatten}
    return ({error} < tolerance).float().mean().item()
'''

GATE_BIAS = '''
def set_update_gate_bias(gru, value):
    H = gru.hidden_size
    with torch.no_grad():
        for name, p in gru.named_parameters():
            if {which_ih}:
                p[{rows}] = value
            elif {which_hh}:
                p[{rows}] = {hh_value}
    return gru
'''

TIMING = '''
def time_per_step(model, x, repeats=5):
    durations = []
    for step in range(repeats + 1):
        start = time.perf_counter()
        model.zero_grad()
        {step}
        if step > 0:
            durations.append(time.perf_counter() - start)
    return float({reduce}(durations))
'''

WRONG = {
    # the retain_grad() trap: ||dL/d output[t]|| is 0 before the last step and sqrt(N*H) at it; only the
    # shape case passes: 4 * 1/5 = 0.8
    "retain_grad_on_output": (
        {"input_gradient_norms": GRADIENTS.format(body="    output = model(x)[0]\n    output.retain_grad()\n"
                                                       "    output[-1].sum().backward()\n"
                                                       "    return output.grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 0.8}),
    # the gradients of all sequences added before the norm (they cancel): right shape, wrong values: 0.8
    "batch_summed_before_norm": (
        {"input_gradient_norms": GRADIENTS.format(body="    xg = x.detach().clone().requires_grad_(True)\n"
                                                       "    (grad,) = torch.autograd.grad(model(xg)[0][-1].sum(), xg)\n"
                                                       "    return grad.sum(dim=1).norm(dim=1)")},
        {"test_input_gradient_norms": 0.8}),
    # the caller's x made to require gradients and x.grad read: the shape call fills x_a.grad, so the RNN and
    # GRU values (same x_a) come out accumulated, and the LSTM's second call doubles; the shape case and the
    # 2-layer GRU (a fresh x_b, called once) pass: 4 * 2/5 = 1.6
    "caller_x_requires_grad": (
        {"input_gradient_norms": GRADIENTS.format(body="    x.requires_grad_(True)\n"
                                                       "    model(x)[0][-1].sum().backward()\n"
                                                       "    return x.grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 1.6}),
    # h_n.sum() as the loss: right for one layer; the 2-layer GRU adds layer 0's last state and the LSTM's
    # h_n is a tuple: 3 of 5 -> 2.4
    "loss_on_h_n": (
        {"input_gradient_norms": GRADIENTS.format(body="    xg = x.detach().clone().requires_grad_(True)\n"
                                                       "    (grad,) = torch.autograd.grad(model(xg)[1].sum(), xg)\n"
                                                       "    return grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 2.4}),
    # off by one: randint's upper bound is exclusive, so the last step is never marked; fails "every step"
    # and the odd-length case: 3 * 5/7 = 2.14. It also makes seq_len=2 impossible (randint(1, 1) raises), so
    # the experiment, which starts at L=2, trains no model and all four experiment cases fail: 0.
    "last_step_never_marked": (
        {"make_adding_problem": ADDING.format(second_high="seq_len - 1", x="x")},
        {"test_make_adding_problem": 2.14, "test_adding_experiment_gru_beats_rnn": 0.0}),
    # x built batch-first (n, seq_len, 2): fails shapes, "one in each half" (sums run over the wrong
    # dimension), the marked sum (shapes (L,) and (n,) do not match) and the odd-length case; passes
    # "every step can hold a marker", the values and the seeding: 3 * 3/7 = 1.29. The locked experiment then
    # feeds (64, L, 2) to a batch_first=False layer: mse_loss gets predictions of shape (L,) for 64 targets and
    # raises, no model is trained, and all four experiment cases fail: 0.
    "batch_first_layout": (
        {"make_adding_problem": ADDING.format(second_high="seq_len", x="x.transpose(0, 1)")},
        {"test_make_adding_problem": 1.29, "test_adding_experiment_gru_beats_rnn": 0.0}),
    # (N, 1) - (N,) broadcasts to (N, N): only the (N, 1) case fails: 2 * 4/5 = 1.6
    "broadcast_column_predictions": (
        {"accuracy": ACCURACY.format(flatten="", error="(predictions - y).abs()")},
        {"test_accuracy": 1.6}),
    # no absolute value: predictions below the target all count; fails "far below" and "another tolerance"
    # (its predictions 0.0 and 0.1 lie far below the target 0.4): 2 * 3/5 = 1.2
    "signed_error": (
        {"accuracy": ACCURACY.format(flatten=".reshape(-1)", error="(predictions - y)")},
        {"test_accuracy": 1.2}),
    # rows 0:H are the reset gate: only "returns the module" passes: 3 * 1/5 = 0.6
    "reset_gate_rows": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name.startswith("bias_ih")', which_hh='name.startswith("bias_hh")',
                                                  rows="0:H", hh_value="0.0")},
        {"test_set_update_gate_bias": 0.6}),
    # b_hz set to value too (total 2 * value): fails bias_hh_l0 and the stack; value 30 still keeps h_0: 3 * 3/5 = 1.8
    "both_biases_set_to_value": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name.startswith("bias_ih")', which_hh='name.startswith("bias_hh")',
                                                  rows="H:2 * H", hh_value="value")},
        {"test_set_update_gate_bias": 1.8}),
    # only the first layer's forward direction: fails the 2-layer bidirectional case: 3 * 4/5 = 2.4
    "only_layer_0": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name == "bias_ih_l0"', which_hh='name == "bias_hh_l0"',
                                                  rows="H:2 * H", hh_value="0.0")},
        {"test_set_update_gate_bias": 2.4}),
    # the forward pass only (0.02 s instead of 0.06 s, and no gradient); passes the float and the
    # forward-only case: 2 * 2/4 = 1.0
    "forward_only": (
        {"time_per_step": TIMING.format(step="model(x)", reduce="statistics.median")},
        {"test_time_per_step": 1.0}),
    # the total of all timed steps (3 * 0.06 = 0.18 s and 3 * 0.05 = 0.15 s): fails both ranges: 1.0
    "total_not_per_step": (
        {"time_per_step": TIMING.format(step="model(x)[0].sum().backward()", reduce="sum")},
        {"test_time_per_step": 1.0}),
    # B is an advantage over a plain RNN; A is the reading the measurement refutes
    "wrong_letters": (
        {"mcq_gru_vs_lstm": 'mcq_gru_advantage = "B"\nmcq_gradients_at_init = "A"\n'},
        {"test_mcq_gru_vs_lstm": 0.0}),
    # the sheet's key with the §1 reading wrong: one of two keys: 1.0
    "gates_prevent_vanishing": (
        {"mcq_gru_vs_lstm": 'mcq_gru_advantage = "c"\nmcq_gradients_at_init = "A"\n'},
        {"test_mcq_gru_vs_lstm": 1.0}),
}
