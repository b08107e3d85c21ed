"""Notebook 08 (why gates help): realistic wrong answers and the per-test scores they deserve.

A test cell scores points * (passed weight) / (total weight), rounded to 2 decimals (the multiple-choice
format checks and the experiment's "every length trained" line weigh 0). The cases, in order (hidden ones
marked h), with their weights:
- test_input_gradient_norms (4 points, weights 16): shape (L,) for an RNN 1, values RNN 3, values GRU 2,
  a 2-layer GRU 3, twice on the same x with x left as it was 4, h: an LSTM 3. Every case but the last visible
  one gets its own copy of x, so a function that makes the caller's x require gradients fails that case only.
- test_make_adding_problem (3 points, weights 16): the layout x (seq_len, n, 2) and y (n,) 6, float32 1 (the
  prompt asks for float32: the experiment's layers would raise on float64), two markers one in each half 2,
  every step can hold a marker 1, y is the marked sum 3, h: values uniform 1, h: seeding and global RNG
  untouched 1, h: odd length 7 (one in each half AND every step possible, one case) 1.
- test_accuracy (2 points, weights 10.5): (N,) predictions above and below the target 4, (N, 1) predictions
  (all above the target, so only the broadcasting fails it) 2, returns a float 0.5 (isinstance: a numpy float
  counts), h: predictions far below the target 2, h: another tolerance 2.
- test_adding_experiment_gru_beats_rnn (2 points, 4 cases of weight 1): both >= 0.9 at L=2, GRU >= 0.7 at
  L=16, RNN <= 0.5 at L=16, h: GRU >= 0.85 at L=8; a first line of weight 0 says "fix Exercise 2 first" when a
  length has no model. It reads the models that the locked experiment cell trains on the learner's
  make_adding_problem (and computes accuracy itself). No library stand-in exists for the generator, and a
  trusted generator in this visible cell would be Exercise 2's answer, so this cell is the end-to-end part of
  Exercise 2's grade ("Graded: your generator, end to end", the prompt says): a generator mistake that changes
  the task or breaks the layout costs points here too. The experiment trains each length on its own, so a
  generator that raises at one length loses that length's case only.
- test_set_update_gate_bias (3 points, weights 9): bias_ih_l0 2, bias_hh_l0 2, value 30 keeps h_0 1, every
  layer and direction of a 2-layer bidirectional GRU 3 (visible: the prompt's "every layer and direction"),
  h: returns the module, parameters trainable 1.
- test_time_per_step (2 points, weights 6.5): a float 0.5, 0.02 s forward + 0.04 s backward in [0.05, 0.15] s
  3, runs the model and fills the gradient 2, h: 0.05 s forward only in [0.04, 0.1] s (repeats=3) 1.
- test_mcq_gru_vs_lstm (2 points): two hidden keys of weight 1.

FUNDAMENTAL lists the mistakes that get an exercise wrong at its core: the gradient of the wrong tensor or
summed over the batch, the batch-first layout, a signed error, the reset gate's rows, a forward-only timing.
Not fundamental, and kept at a larger share: a loss on h_n (right for one-layer RNN/GRU, 62 %), the caller's x
made to require gradients (right on a first call, 75 %), broadcasting (N, 1) predictions (right for the (N,)
predictions the notebook's models return, 81 %), b_hz set to value too (44 %), only the first layer (67 %),
the total of the timed steps (38 %), the last step never marked (88 %; it also raises at seq_len 2, which
costs the experiment's seq_len-2 case).
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
    # shape case passes: 4 * 1/16 = 0.25
    "retain_grad_on_output": (
        {"input_gradient_norms": GRADIENTS.format(body="    output = model(x)[0]\n    output.retain_grad()\n"
                                                       "    output[-1].sum().backward()\n"
                                                       "    return output.grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 0.25}),
    # the gradients of all sequences added before the norm (they cancel): right shape, wrong values: 0.25
    "batch_summed_before_norm": (
        {"input_gradient_norms": GRADIENTS.format(body="    xg = x.detach().clone().requires_grad_(True)\n"
                                                       "    (grad,) = torch.autograd.grad(model(xg)[0][-1].sum(), xg)\n"
                                                       "    return grad.sum(dim=1).norm(dim=1)")},
        {"test_input_gradient_norms": 0.25}),
    # the caller's x made to require gradients and x.grad read: every case that calls it once on its own copy
    # of x passes; the case that calls it twice on one x gets twice the gradient and an x that requires
    # gradients: 4 * 12/16 = 3.0
    "caller_x_requires_grad": (
        {"input_gradient_norms": GRADIENTS.format(body="    x.requires_grad_(True)\n"
                                                       "    model(x)[0][-1].sum().backward()\n"
                                                       "    return x.grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 3.0}),
    # h_n.sum() as the loss: right for one layer; the 2-layer GRU adds layer 0's last state and the LSTM's
    # h_n is a tuple: 4 * 10/16 = 2.5
    "loss_on_h_n": (
        {"input_gradient_norms": GRADIENTS.format(body="    xg = x.detach().clone().requires_grad_(True)\n"
                                                       "    (grad,) = torch.autograd.grad(model(xg)[1].sum(), xg)\n"
                                                       "    return grad.flatten(1).norm(dim=1)")},
        {"test_input_gradient_norms": 2.5}),
    # off by one: randint's upper bound is exclusive, so the last step is never marked; fails "every step"
    # and the odd-length case: 3 * 14/16 = 2.625 -> 2.62. It also makes seq_len=2 impossible (randint(1, 1)
    # raises), so the experiment has no model at L=2 and fails that case; the other lengths train: 2 * 3/4 = 1.5.
    "last_step_never_marked": (
        {"make_adding_problem": ADDING.format(second_high="seq_len - 1", x="x")},
        {"test_make_adding_problem": 2.62, "test_adding_experiment_gru_beats_rnn": 1.5}),
    # x built batch-first (n, seq_len, 2): fails the layout, "one in each half" (sums run over the wrong
    # dimension), the marked sum (shapes (L,) and (n,) do not match) and the odd-length case; passes the
    # dtype, "every step can hold a marker", the values and the seeding: 3 * 4/16 = 0.75. The locked
    # experiment then feeds (64, L, 2) to a batch_first=False layer: mse_loss gets predictions of shape (L,)
    # for 64 targets and raises at every length, no model is trained, and all four experiment cases fail: 0.
    "batch_first_layout": (
        {"make_adding_problem": ADDING.format(second_high="seq_len", x="x.transpose(0, 1)")},
        {"test_make_adding_problem": 0.75, "test_adding_experiment_gru_beats_rnn": 0.0}),
    # (N, 1) - (N,) broadcasts to (N, N): only the (N, 1) case fails: 2 * 8.5/10.5 = 1.62
    "broadcast_column_predictions": (
        {"accuracy": ACCURACY.format(flatten="", error="(predictions - y).abs()")},
        {"test_accuracy": 1.62}),
    # no absolute value: predictions below the target all count; fails the (N,) case (one prediction 0.15
    # below its target), "far below" and "another tolerance" (its predictions 0.0 and 0.1 lie far below the
    # target 0.4); the (N, 1) predictions all lie above: 2 * 2.5/10.5 = 0.48
    "signed_error": (
        {"accuracy": ACCURACY.format(flatten=".reshape(-1)", error="(predictions - y)")},
        {"test_accuracy": 0.48}),
    # rows 0:H are the reset gate: only "returns the module" passes: 3 * 1/9 = 0.33
    "reset_gate_rows": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name.startswith("bias_ih")', which_hh='name.startswith("bias_hh")',
                                                  rows="0:H", hh_value="0.0")},
        {"test_set_update_gate_bias": 0.33}),
    # b_hz set to value too (total 2 * value): fails bias_hh_l0 and the stack; value 30 still keeps h_0:
    # 3 * 4/9 = 1.33
    "both_biases_set_to_value": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name.startswith("bias_ih")', which_hh='name.startswith("bias_hh")',
                                                  rows="H:2 * H", hh_value="value")},
        {"test_set_update_gate_bias": 1.33}),
    # only the first layer's forward direction: fails the 2-layer bidirectional case: 3 * 6/9 = 2.0
    "only_layer_0": (
        {"set_update_gate_bias": GATE_BIAS.format(which_ih='name == "bias_ih_l0"', which_hh='name == "bias_hh_l0"',
                                                  rows="H:2 * H", hh_value="0.0")},
        {"test_set_update_gate_bias": 2.0}),
    # the forward pass only (0.02 s instead of 0.06 s, and no gradient); passes the float and the
    # forward-only case: 2 * 1.5/6.5 = 0.46
    "forward_only": (
        {"time_per_step": TIMING.format(step="model(x)", reduce="statistics.median")},
        {"test_time_per_step": 0.46}),
    # the total of all timed steps (3 * 0.06 = 0.18 s and 3 * 0.05 = 0.15 s): fails both ranges; passes the
    # float and "runs the model and fills the gradient": 2 * 2.5/6.5 = 0.77
    "total_not_per_step": (
        {"time_per_step": TIMING.format(step="model(x)[0].sum().backward()", reduce="sum")},
        {"test_time_per_step": 0.77}),
    # B is an advantage over a plain RNN; A is the reading the measurement refutes
    "wrong_letters": (
        {"mcq_gru_vs_lstm": 'mcq_gru_advantage = "B"\nmcq_gradients_at_init = "A"\n'},
        {"test_mcq_gru_vs_lstm": 0.0}),
    # the sheet's key with the §1 reading wrong: one of two keys: 1.0
    "gates_prevent_vanishing": (
        {"mcq_gru_vs_lstm": 'mcq_gru_advantage = "c"\nmcq_gradients_at_init = "A"\n'},
        {"test_mcq_gru_vs_lstm": 1.0}),
}

FUNDAMENTAL = {"retain_grad_on_output", "batch_summed_before_norm", "batch_first_layout", "signed_error",
               "reset_gate_rows", "forward_only"}

# Correct answers in other styles than the solution's; each must score FULL (tests/test_valid_answers.py).
VALID = {
    # .backward() and .grad, Python loops, explicit names of every layer and direction, a warm-up step of its own
    "loops_and_backward": {
        "input_gradient_norms": '''
def input_gradient_norms(model, x):
    inputs = x.detach().clone()
    inputs.requires_grad = True
    output, _ = model(inputs)
    loss = output[-1].sum()
    loss.backward()
    norms = []
    for t in range(inputs.shape[0]):
        norms.append(torch.sqrt((inputs.grad[t] ** 2).sum()))
    return torch.stack(norms)
''',
        "make_adding_problem": '''
def make_adding_problem(n, seq_len, seed=0):
    gen = torch.Generator()
    gen.manual_seed(seed)
    half = seq_len // 2
    x = torch.zeros(seq_len, n, 2)
    y = torch.zeros(n)
    x[:, :, 0] = torch.rand(seq_len, n, generator=gen)
    for i in range(n):
        a = int(torch.randint(half, (1,), generator=gen))
        b = int(torch.randint(half, seq_len, (1,), generator=gen))
        x[a, i, 1] = 1.0
        x[b, i, 1] = 1.0
        y[i] = x[a, i, 0] + x[b, i, 0]
    return x, y
''',
        "accuracy": '''
def accuracy(model, x, y, tolerance=0.1):
    with torch.no_grad():
        pred = model(x)
    if pred.dim() == 2:
        pred = pred.squeeze(1)
    hits = 0
    for p, t in zip(pred.tolist(), y.tolist()):
        if abs(p - t) < tolerance:
            hits += 1
    return hits / len(y)
''',
        "set_update_gate_bias": '''
def set_update_gate_bias(gru, value):
    H = gru.hidden_size
    suffixes = ["", "_reverse"] if gru.bidirectional else [""]
    with torch.no_grad():
        for layer in range(gru.num_layers):
            for suffix in suffixes:
                getattr(gru, f"bias_ih_l{layer}{suffix}")[H:2 * H].fill_(value)
                getattr(gru, f"bias_hh_l{layer}{suffix}")[H:2 * H].zero_()
    return gru
''',
        "time_per_step": '''
def time_per_step(model, x, repeats=5):
    def one_step():
        model.zero_grad()
        output = model(x)[0]
        output.sum().backward()

    one_step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one_step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
''',
    },
    # numpy where it is handy: a numpy generator for the data, numpy norms, mean and median (numpy floats)
    "numpy": {
        "input_gradient_norms": '''
import numpy as np


def input_gradient_norms(model, x):
    leaf = x.detach().clone().requires_grad_()
    out = model(leaf)[0]
    grad = torch.autograd.grad(out[-1].sum(), leaf)[0]
    return torch.from_numpy(np.linalg.norm(grad.numpy().reshape(len(grad), -1), axis=1))
''',
        "make_adding_problem": '''
import numpy as np


def make_adding_problem(n, seq_len, seed=0):
    rng = np.random.default_rng(seed)
    half = seq_len // 2
    values = rng.random((seq_len, n))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, seq_len, size=n)
    markers = np.zeros((seq_len, n))
    cols = np.arange(n)
    markers[first, cols] = 1
    markers[second, cols] = 1
    x = np.stack([values, markers], axis=-1)
    y = values[first, cols] + values[second, cols]
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()
''',
        "accuracy": '''
import numpy as np


def accuracy(model, x, y, tolerance=0.1):
    with torch.no_grad():
        predictions = model(x).numpy().ravel()
    return np.mean(np.abs(predictions - y.numpy()) < tolerance)
''',
        "set_update_gate_bias": '''
def set_update_gate_bias(gru, value):
    for name, param in gru.named_parameters():
        if "bias" in name:
            r, z, n = param.data.chunk(3)
            z.fill_(value if "_ih_" in name else 0.0)
    return gru
''',
        "time_per_step": '''
import numpy as np


def time_per_step(model, x, repeats=5):
    seconds = []
    for i in range(repeats + 1):
        tic = time.perf_counter()
        model.zero_grad()
        y = model(x)[0]
        y.sum().backward()
        toc = time.perf_counter()
        if i:
            seconds.append(toc - tic)
    return float(np.median(seconds))
''',
    },
    # float64 inside (and a float64 result where no dtype is asked), scatter_, state_dict, nanoseconds
    "float64_vectorised": {
        "input_gradient_norms": '''
def input_gradient_norms(model, x):
    x_leaf = x.detach().clone().requires_grad_(True)
    last = model(x_leaf)[0][-1]
    (grad,) = torch.autograd.grad(last, x_leaf, grad_outputs=torch.ones_like(last))
    return torch.linalg.vector_norm(grad.double(), dim=(1, 2))
''',
        "make_adding_problem": '''
def make_adding_problem(n, seq_len, seed=0):
    gen = torch.Generator().manual_seed(seed)
    v = torch.rand(seq_len, n, generator=gen, dtype=torch.float64)
    pos = torch.stack([torch.randint(0, seq_len // 2, (n,), generator=gen),
                       torch.randint(seq_len // 2, seq_len, (n,), generator=gen)])
    m = torch.zeros(seq_len, n, dtype=torch.float64).scatter_(0, pos, 1.0)
    target = (v * m).sum(dim=0)
    return torch.stack((v, m), dim=-1).float(), target.float()
''',
        "accuracy": '''
def accuracy(model, x, y, tolerance=0.1):
    with torch.no_grad():
        y_hat = model(x).flatten().double()
    correct = (y_hat - y.double()).abs().lt(tolerance)
    return correct.sum().item() / correct.numel()
''',
        "set_update_gate_bias": '''
def set_update_gate_bias(gru, value):
    H = gru.hidden_size
    for key, tensor in gru.state_dict().items():  # the parameters' own storage
        if key.startswith("bias_ih"):
            tensor[H:2 * H] = value
        elif key.startswith("bias_hh"):
            tensor[H:2 * H] = 0
    return gru
''',
        "time_per_step": '''
def time_per_step(model, x, repeats=5):
    def step():
        model.zero_grad()
        model(x)[0].sum().backward()

    step()
    ns = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        step()
        ns.append(time.perf_counter_ns() - start)
    ns.sort()
    mid = len(ns) // 2
    median_ns = ns[mid] if len(ns) % 2 else (ns[mid - 1] + ns[mid]) / 2
    return median_ns / 1e9
''',
    },
}
