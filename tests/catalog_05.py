"""Notebook 05 (seeing hidden states): realistic wrong answers and the per-test scores they deserve.

Scores follow from the case weights of the solution's test cells (visible + hidden), rounded to 2 decimals:
- test_pca_project (3 points, weights 9): shapes 1, projection up to sign 2, sign rule 1, explained 2,
  hidden k=3 (projection up to sign and explained) 2, hidden explained of the sine RNN's states 1.
- test_count_turns (2 points, weights 8): circle ccw 1, circle cw 1, circle around (5, 5) 2, hidden ellipse
  around (2, -3) 2, hidden 2.5 turns off the origin 2.
- test_digit_rnn (3 points, weights 4): layers 0.5, logits shape 0.5, logits values 2, hidden H=6 batch of one 1.
- test_train_digit_rnn (2 points, weights 20). A trusted Recorder (a linear model that records the images of
  every batch, the gradient of every step and its weights before every step) is trained on 10 numbered images
  in batches of 4 for 3 epochs: floats 1, every image once per epoch 1, a new order every epoch 1, gradients
  zeroed for every batch 5, one Adam (only the first step is a new Adam's first step) 1, epoch losses weighted
  by batch size 1; then an MLP, 3 epochs: loss down and test accuracy >= 0.85, 5; a GRU stand-in reading
  columns, 8 epochs, >= 0.85, 3; hidden another MLP, 2 epochs, batches of 32, 2. No case uses DigitRNN, so a
  mistake in Exercise 3 costs nothing here. Each of the four loop faults of the issue (the last partial batch
  dropped, one shuffle, a new Adam every epoch, unweighted batch means) fails its own case.
- test_mcq_digit_states (2 points): two hidden keys of weight 1 (the format checks weigh 0).
- test_unit_input_correlation (2 points, weights 8): shape 0.5, vs torch.corrcoef 3, r = -1 and 1 1.5,
  forecaster level unit 0.5, forecaster change unit 0.5, hidden other sizes 2.
- test_sunspot_cycle (2 points): the cycle is 308 / |turns| of the trajectory from the learner's OWN pca_project
  and count_turns (or about 11 years) 1, hidden key 1 (a "not scored" about-11 line and the format check weigh
  0). A mistake in Exercise 1 or 2 therefore costs nothing here.

FUNDAMENTAL lists the mistakes that get an exercise fundamentally wrong (no centring, no wrap, angles around
the origin, the wrong state or layout, gradients never zeroed, no correlation formula); each keeps at most
25 % of its test cell. The loop faults one by one are not fundamental (the loop still trains); they cost
their own case each. They cannot all be made fundamental together with no_zero_grad: each fault is caught
by a case the other faults pass, so their cases and no_zero_grad's split the cell between them.
"""
SOLUTION = "05_hidden_states/05_seeing_hidden_states.ipynb"

FULL = {
    "test_pca_project": 3.0, "test_count_turns": 2.0, "test_digit_rnn": 3.0, "test_train_digit_rnn": 2.0,
    "test_mcq_digit_states": 2.0, "test_unit_input_correlation": 2.0, "test_sunspot_cycle": 2.0,
}

PCA = '''
def pca_project(states, k=2):
    centred = {centred}
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = centred @ vh[:k].T
    {sign}
    explained = {explained}
    return projection, explained
'''
SIGN_RULE = ("biggest = projection.gather(0, projection.abs().argmax(dim=0, keepdim=True))\n"
             "    projection = projection * torch.where(biggest < 0, -1.0, 1.0)")

TURNS = '''
def count_turns(points):
    centred = {centred}
    angles = torch.atan2(centred[:, 1], centred[:, 0])
    steps = {steps}
    return float(steps.sum() / (2 * math.pi))
'''

DIGIT_RNN = '''
class DigitRNN(nn.Module):
    def __init__(self, hidden_size=32):
        super().__init__()
        self.rnn = nn.RNN(8, hidden_size{batch_first})
        self.head = nn.Linear(hidden_size, 10)

    def forward(self, images):
        output, h_n = self.rnn(images)
        return self.head({last})
'''

TRAIN = '''
def train_digit_rnn(model, images, labels, epochs=15, batch_size=64, lr=1e-2, seed=0):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    n = len(images)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            {zero_grad}
            loss.backward()
            optimizer.step()
            total += {batch_loss} * len(batch)
        losses.append(total / n)
    return losses
'''

CORRELATION = '''
def unit_input_correlation(states, signal):
    s = {s}
    x = {x}
    return {r}
'''

TRAIN_PARTS = '''
def train_digit_rnn(model, images, labels, epochs=15, batch_size=64, lr=1e-2, seed=0):
    {optimizer}
    g = torch.Generator().manual_seed(seed)
    n = len(images)
    losses = []
    {before}
    for _ in range(epochs):
        {each_epoch}
        total = 0.0
        for start in range(0, {stop}, batch_size):
            batch = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += {add}
        losses.append({mean})
    return losses
'''
NEW_ADAM = "optimizer = torch.optim.Adam(model.parameters(), lr=lr)"
LOOP = {"optimizer": NEW_ADAM, "before": "pass", "each_epoch": "order = torch.randperm(n, generator=g)", "stop": "n",
        "add": "loss.item() * len(batch)", "mean": "total / n"}

CYCLE = '''
sun_turns = count_turns(pca_project(sun_states, k=2)[0])
sunspot_cycle_years = float((years[-1] - years[0]).item() / {turns})
mcq_state_loop = "{letter}"
'''

WRONG = {
    # SVD of the raw states: only the shapes are right (1 of 9 weights). Exercise 7's trajectory is then the
    # projection on the mean direction and one other: it turns 26.06 times, and 308 / 26.06 = 11.82 years is
    # what the learner's own functions give, so test_sunspot_cycle keeps its points (one mistake, one cost).
    "pca_not_centred": (
        {"pca_project": PCA.format(centred="states", sign=SIGN_RULE, explained="s[:k] ** 2 / (s**2).sum()")},
        {"test_pca_project": 0.33}),
    # S instead of S**2: the three explained cases fail (2 + 2 + 1 of 9): 4/9 of 3 points
    "singular_values_not_squared": (
        {"pca_project": PCA.format(centred="states - states.mean(dim=0)", sign=SIGN_RULE,
                                   explained="s[:k] / s.sum()")},
        {"test_pca_project": 1.33}),
    # no sign rule: the SVD's own sign is wrong for the second column of the visible cloud, so only the
    # sign-rule case fails (1 of 9): 8/9 of 3 points. Exercise 7 uses |turns|, so it is not affected.
    "no_sign_rule": (
        {"pca_project": PCA.format(centred="states - states.mean(dim=0)", sign="pass",
                                   explained="s[:k] ** 2 / (s**2).sum()")},
        {"test_pca_project": 2.67}),
    # no wrap: the changes add up to last angle - first angle, never a whole turn: every case fails. The
    # sunspot trajectory then counts 0.95 turns, and 325 years per cycle is consistent with the learner's own
    # count_turns: test_sunspot_cycle is not affected
    "turns_not_wrapped": (
        {"count_turns": TURNS.format(centred="points - points.mean(dim=0)", steps="torch.diff(angles)")},
        {"test_count_turns": 0.0}),
    # angles around (0, 0): only the two circles around the origin pass (weight 2 of 8): 0.5. A PCA projection
    # is centred, so Exercise 7 is not affected: the visible circle around (5, 5) and the hidden off-centre
    # cases catch it.
    "turns_around_origin": (
        {"count_turns": TURNS.format(centred="points",
                                     steps="torch.remainder(torch.diff(angles) + math.pi, 2 * math.pi) - math.pi")},
        {"test_count_turns": 0.5}),
    # output[:, 0]: layers and shape right (weight 1 of 4): 0.75. test_train_digit_rnn trains stand-ins, not
    # DigitRNN, so it is not affected
    "first_step_output": (
        {"digit_rnn": DIGIT_RNN.format(batch_first=", batch_first=True", last="output[:, 0]")},
        {"test_digit_rnn": 0.75}),
    # no batch_first: the batch is read as time, logits (8, 10) for 5 images: every case fails
    "time_major_rnn": (
        {"digit_rnn": DIGIT_RNN.format(batch_first="", last="h_n[-1]")},
        {"test_digit_rnn": 0.0}),
    # gradients accumulate: the Recorder sees every step after the first use more than its batch's gradient
    # (weight 5), and no model reaches its accuracy bar (the MLPs and the GRU, 5 + 3 + 2); the feeding, the
    # one Adam, the floats and the weighted means are right: 5 of 20 weights: 0.5
    "no_zero_grad": (
        {"train_digit_rnn": TRAIN.format(zero_grad="pass", batch_loss="loss.item()")},
        {"test_train_digit_rnn": 0.5}),
    # losses as tensors (loss.detach() instead of loss.item()): only the float-type case fails, 19 of 20: 1.9
    "losses_as_tensors": (
        {"train_digit_rnn": TRAIN.format(zero_grad="optimizer.zero_grad()", batch_loss="loss.detach()")},
        {"test_train_digit_rnn": 1.9}),
    # the four loop faults, one at a time: each fails its own Recorder case (weight 1 of 20): 1.9
    "drops_last_partial_batch": (
        {"train_digit_rnn": TRAIN_PARTS.format(**dict(LOOP, stop="n - n % batch_size"))},
        {"test_train_digit_rnn": 1.9}),
    "shuffles_once": (
        {"train_digit_rnn": TRAIN_PARTS.format(**dict(LOOP, before="order = torch.randperm(n, generator=g)",
                                                      each_epoch="pass"))},
        {"test_train_digit_rnn": 1.9}),
    "new_adam_every_epoch": (
        {"train_digit_rnn": TRAIN_PARTS.format(**dict(LOOP, optimizer="pass",
                                                      each_epoch=NEW_ADAM + "\n        " + LOOP["each_epoch"]))},
        {"test_train_digit_rnn": 1.9}),
    "unweighted_batch_means": (
        {"train_digit_rnn": TRAIN_PARTS.format(**dict(LOOP, add="loss.item()", mean="total / len(range(0, n, batch_size))"))},
        {"test_train_digit_rnn": 1.9}),
    # all four together (05's own common-mistakes cell lists two of them): the loop still trains every model
    # past its bar; the feeding, order and Adam cases fail. With the last partial batch dropped every batch
    # it feeds is full, so its unweighted mean IS the mean over the images it fed: 17 of 20: 1.7
    "four_loop_faults": (
        {"train_digit_rnn": TRAIN_PARTS.format(
            before="order = torch.randperm(n, generator=g)", optimizer="pass", each_epoch=NEW_ADAM,
            stop="n - n % batch_size", add="loss.item()", mean="total / (n // batch_size)")},
        {"test_train_digit_rnn": 1.7}),
    "wrong_digit_letters": (
        {"mcq_digit_states": 'mcq_digit_clusters = "C"\nmcq_first_step = "B"\n'},
        {"test_mcq_digit_states": 0.0}),
    "one_wrong_digit_letter": (
        {"mcq_digit_states": 'mcq_digit_clusters = "A"\nmcq_first_step = "A"\n'},
        {"test_mcq_digit_states": 1.0}),
    # cosine similarity (no centring): shape right; the formula cases fail (3 + 1.5 + 2); the forecaster's
    # level (0.97) and change (0.75) units still clear their bars: 1.5 of 8 weights: 0.375, rounded 0.38
    "cosine_not_correlation": (
        {"unit_input_correlation": CORRELATION.format(
            s="states", x="signal", r="(s * x[:, None]).sum(dim=0) / (s.norm(dim=0) * x.norm())")},
        {"test_unit_input_correlation": 0.38}),
    # covariance (mean of products, not divided by the norms): only the shape is right (0.5 of 8); the
    # forecaster's largest covariances are 0.15 and 0.05, below both bars: 0.125, rounded half to even 0.12
    "covariance_not_correlation": (
        {"unit_input_correlation": CORRELATION.format(
            s="states - states.mean(dim=0)", x="signal - signal.mean()", r="(s * x[:, None]).mean(dim=0)")},
        {"test_unit_input_correlation": 0.12}),
    # the signed turn count is negative here (-28.05 turns): -10.98 years is neither 308 / |turns| nor about 11
    "cycle_from_signed_turns": (
        {"sunspot_cycle": CYCLE.format(turns="sun_turns", letter="B")},
        {"test_sunspot_cycle": 1.0}),
    "wrong_loop_letter": (
        {"sunspot_cycle": CYCLE.format(turns="abs(sun_turns)", letter="C")},
        {"test_sunspot_cycle": 1.0}),
}

FUNDAMENTAL = {
    "pca_not_centred", "turns_not_wrapped", "turns_around_origin", "first_step_output", "time_major_rnn",
    "no_zero_grad", "cosine_not_correlation", "covariance_not_correlation", "wrong_digit_letters",
}

# Correct answers in other styles than the solution's; each must score FULL.
VALID = {
    # float64 computations (returned as float64 where no dtype is asked), numpy's unwrap, a DataLoader
    "float64_numpy": {
        "pca_project": (
            "def pca_project(states, k=2):\n"
            "    X = states.double()\n"
            "    Xc = X - X.mean(dim=0, keepdim=True)\n"
            "    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)\n"
            "    Z = Xc @ Vh[:k].T\n"
            "    for j in range(k):\n"
            "        i = torch.argmax(Z[:, j].abs())\n"
            "        if Z[i, j] < 0:\n"
            "            Z[:, j] = -Z[:, j]\n"
            "    var = S ** 2\n"
            "    return Z, var[:k] / var.sum()\n"),
        "count_turns": (
            "import numpy as np\n\n"
            "def count_turns(points):\n"
            "    p = points.detach().double().numpy()\n"
            "    p = p - p.mean(axis=0)\n"
            "    theta = np.unwrap(np.arctan2(p[:, 1], p[:, 0]))\n"
            "    return float((theta[-1] - theta[0]) / (2 * np.pi))\n"),
        "digit_rnn": (
            "class DigitRNN(nn.Module):\n"
            "    def __init__(self, hidden_size=32):\n"
            "        super().__init__()\n"
            "        self.rnn = nn.RNN(input_size=8, hidden_size=hidden_size, num_layers=1, batch_first=True)\n"
            "        self.head = nn.Linear(in_features=hidden_size, out_features=10)\n\n"
            "    def forward(self, images):\n"
            "        states, _ = self.rnn(images)\n"
            "        return self.head(states[:, -1, :])\n"),
        "train_digit_rnn": (
            "from torch.utils.data import DataLoader, TensorDataset\n\n"
            "def train_digit_rnn(model, images, labels, epochs=15, batch_size=64, lr=1e-2, seed=0):\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    g = torch.Generator().manual_seed(seed)\n"
            "    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True, generator=g)\n"
            "    history = []\n"
            "    for epoch in range(epochs):\n"
            "        running, count = 0.0, 0\n"
            "        for x, y in loader:\n"
            "            opt.zero_grad()\n"
            "            loss = nn.functional.cross_entropy(model(x), y)\n"
            "            loss.backward()\n"
            "            opt.step()\n"
            "            running += loss.item() * x.shape[0]\n"
            "            count += x.shape[0]\n"
            "        history.append(running / count)\n"
            "    return history\n"),
        "unit_input_correlation": (
            "def unit_input_correlation(states, signal):\n"
            "    h = states.double()\n"
            "    x = signal.double()\n"
            "    h = h - h.mean(0)\n"
            "    x = x - x.mean()\n"
            "    return (x @ h) / torch.sqrt((h ** 2).sum(0) * (x ** 2).sum())\n"),
        "sunspot_cycle": (
            "trajectory, _ = pca_project(sun_states)\n"
            "turns = count_turns(trajectory)\n"
            "sunspot_cycle_years = (2008 - 1700) / abs(turns)\n"
            "mcq_state_loop = 'B'\n"),
    },
    # vectorised: the SVD of the transposed states, complex numbers for the angles, a sum-reduced loss
    # over randperm(...).split(batch_size), einsum
    "vectorised": {
        "pca_project": (
            "def pca_project(states, k=2):\n"
            "    centred = states - states.mean(dim=0)\n"
            "    directions, singular, _ = torch.linalg.svd(centred.T, full_matrices=False)   # columns: directions\n"
            "    projection = torch.einsum('nh,hk->nk', centred, directions[:, :k])\n"
            "    signs = torch.sign(projection[projection.abs().argmax(dim=0), torch.arange(k)])\n"
            "    return projection * signs, singular[:k] ** 2 / singular.pow(2).sum()\n"),
        "count_turns": (
            "def count_turns(points):\n"
            "    z = torch.view_as_complex((points - points.mean(dim=0)).contiguous())\n"
            "    return torch.angle(z[1:] / z[:-1]).sum().item() / (2 * math.pi)\n"),
        "digit_rnn": (
            "class DigitRNN(nn.Module):\n"
            "    def __init__(self, hidden_size=32):\n"
            "        super().__init__()\n"
            "        self.rnn = nn.RNN(8, hidden_size, batch_first=True, nonlinearity='tanh')\n"
            "        self.head = nn.Linear(hidden_size, 10)\n\n"
            "    def forward(self, images):\n"
            "        return self.head(self.rnn(images)[1].squeeze(0))\n"),
        "train_digit_rnn": (
            "def train_digit_rnn(model, images, labels, epochs=15, batch_size=64, lr=1e-2, seed=0):\n"
            "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    generator = torch.Generator().manual_seed(seed)\n"
            "    epoch_losses = []\n"
            "    for epoch in range(epochs):\n"
            "        summed = 0.0\n"
            "        for idx in torch.randperm(len(images), generator=generator).split(batch_size):\n"
            "            loss = nn.functional.cross_entropy(model(images[idx]), labels[idx], reduction='sum')\n"
            "            model.zero_grad()\n"
            "            (loss / len(idx)).backward()\n"
            "            optimizer.step()\n"
            "            summed += loss.item()\n"
            "        epoch_losses.append(summed / len(images))\n"
            "    return epoch_losses\n"),
        "unit_input_correlation": (
            "def unit_input_correlation(states, signal):\n"
            "    hc = states - states.mean(0)\n"
            "    xc = signal - signal.mean()\n"
            "    covariance = torch.einsum('tk,t->k', hc, xc)\n"
            "    return covariance / (hc.pow(2).sum(0).sqrt() * xc.pow(2).sum().sqrt())\n"),
        "sunspot_cycle": (
            "projected = pca_project(sun_states, k=2)[0]\n"
            "n_turns = abs(count_turns(projected))\n"
            "sunspot_cycle_years = float(years[-1] - years[0]) / n_turns\n"
            "mcq_state_loop = 'B'\n"),
    },
    # loops and other names: a list returned by pca_project, angles wrapped with while loops, z-scores
    # for the correlation, zero_grad(set_to_none=False), a while loop over the batches
    "loops": {
        "pca_project": (
            "def pca_project(states, k=2):\n"
            "    mu = states.mean(0, keepdim=True)\n"
            "    X = states - mu\n"
            "    _, sing, v_t = torch.linalg.svd(X)\n"
            "    proj = X @ v_t[:k].T\n"
            "    columns = []\n"
            "    for j in range(k):\n"
            "        col = proj[:, j]\n"
            "        columns.append(-col if col[col.abs().argmax()] < 0 else col)\n"
            "    share = sing ** 2 / (sing ** 2).sum()\n"
            "    return [torch.stack(columns, dim=1), share[:k]]\n"),
        "count_turns": (
            "def count_turns(points):\n"
            "    cx, cy = points.mean(0).tolist()\n"
            "    total, previous = 0.0, None\n"
            "    for x, y in points.tolist():\n"
            "        angle = math.atan2(y - cy, x - cx)\n"
            "        if previous is not None:\n"
            "            step = angle - previous\n"
            "            while step >= math.pi:\n"
            "                step -= 2 * math.pi\n"
            "            while step < -math.pi:\n"
            "                step += 2 * math.pi\n"
            "            total += step\n"
            "        previous = angle\n"
            "    return total / (2 * math.pi)\n"),
        "digit_rnn": (
            "class DigitRNN(nn.Module):\n"
            "    def __init__(self, hidden_size=32):\n"
            "        super().__init__()\n"
            "        self.rnn = nn.RNN(8, hidden_size, 1, batch_first=True)\n"
            "        self.head = nn.Linear(hidden_size, 10)\n\n"
            "    def forward(self, images):\n"
            "        out, hidden = self.rnn(images)\n"
            "        last = hidden[self.rnn.num_layers - 1]\n"
            "        return self.head(last)\n"),
        "train_digit_rnn": (
            "def train_digit_rnn(model, images, labels, epochs=15, batch_size=64, lr=1e-2, seed=0):\n"
            "    adam = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    rng = torch.Generator().manual_seed(seed)\n"
            "    out = []\n"
            "    n = images.shape[0]\n"
            "    for epoch in range(epochs):\n"
            "        shuffled = torch.randperm(n, generator=rng).tolist()\n"
            "        batch_losses, sizes = [], []\n"
            "        i = 0\n"
            "        while i < n:\n"
            "            idx = shuffled[i:i + batch_size]\n"
            "            adam.zero_grad(set_to_none=False)\n"
            "            loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])\n"
            "            loss.backward()\n"
            "            adam.step()\n"
            "            batch_losses.append(loss.item())\n"
            "            sizes.append(len(idx))\n"
            "            i += batch_size\n"
            "        out.append(sum(l * s for l, s in zip(batch_losses, sizes)) / sum(sizes))\n"
            "    return out\n"),
        "unit_input_correlation": (
            "def unit_input_correlation(states, signal):\n"
            "    zs = (states - states.mean(0)) / states.std(0, correction=0)\n"
            "    zx = (signal - signal.mean()) / signal.std(correction=0)\n"
            "    return (zs * zx[:, None]).mean(0)\n"),
        "sunspot_cycle": (
            "sunspot_cycle_years = 308 / math.fabs(count_turns(pca_project(sun_states)[0]))\n"
            "mcq_state_loop = 'B'\n"),
    },
}
