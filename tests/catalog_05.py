"""Notebook 05 (seeing hidden states): realistic wrong answers and the per-test scores they deserve.

Scores follow from the case weights of the solution's test cells (visible + hidden), rounded to 2 decimals:
- test_pca_project (3 points, weights 9): shapes 1, projection up to sign 2, sign rule 1, explained 2,
  hidden k=3 (projection up to sign and explained) 2, hidden explained of the sine RNN's states 1.
- test_count_turns (2 points, weights 5): circle ccw 1, circle cw 1, circle around (5, 5) 1, hidden ellipse
  around (2, -3) 1, hidden 2.5 turns 1.
- test_digit_rnn (3 points, weights 5): layers 1, logits shape 1, logits values 2, hidden H=6 batch of one 1.
- test_train_digit_rnn (2 points, weights 5): float losses 1, loss goes down 1, MLP accuracy 1,
  DigitRNN accuracy 1, hidden other MLP accuracy 1.
- test_mcq_digit_states (2 points): two hidden keys of weight 1 (the format checks weigh 0).
- test_unit_input_correlation (2 points, weights 8): shape 1, vs torch.corrcoef 2, r = -1 and 1 1,
  forecaster level unit 1, forecaster change unit 1, hidden other sizes 2.
- test_sunspot_cycle (2 points): cycle length 1, hidden key 1 (format check weighs 0).
Later tests use earlier answers (Exercise 7 uses pca_project and count_turns; Exercise 4 trains DigitRNN),
so some wrong answers also cost points there; each such case is explained next to it.
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

CYCLE = '''
sun_turns = count_turns(pca_project(sun_states, k=2)[0])
sunspot_cycle_years = float((years[-1] - years[0]).item() / {turns})
mcq_state_loop = "{letter}"
'''

WRONG = {
    # SVD of the raw states: only the shapes are right (1 of 9 weights). Exercise 7's trajectory is then the
    # projection on the mean direction and one other: it turns 26.06 times, 308 / 26.06 = 11.82 years,
    # outside 11 +- 0.6, so test_sunspot_cycle loses its cycle case (1 of 2 points).
    "pca_not_centred": (
        {"pca_project": PCA.format(centred="states", sign=SIGN_RULE, explained="s[:k] ** 2 / (s**2).sum()")},
        {"test_pca_project": 0.33, "test_sunspot_cycle": 1.0}),
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
    # no wrap: the changes add up to last angle - first angle, never a whole turn: every case fails, and
    # the sunspot trajectory counts 0.95 turns (325 years per cycle): test_sunspot_cycle loses 1 point
    "turns_not_wrapped": (
        {"count_turns": TURNS.format(centred="points - points.mean(dim=0)", steps="torch.diff(angles)")},
        {"test_count_turns": 0.0, "test_sunspot_cycle": 1.0}),
    # angles around (0, 0): only the two circles around the origin pass (2 of 5). A PCA projection is
    # centred, so Exercise 7 is not affected: the hidden off-centre cases are what catch it.
    "turns_around_origin": (
        {"count_turns": TURNS.format(centred="points",
                                     steps="torch.remainder(torch.diff(angles) + math.pi, 2 * math.pi) - math.pi")},
        {"test_count_turns": 0.8}),
    # output[:, 0]: layers and shape right (2 of 5); the state after the first row classifies at about 0.44,
    # so the DigitRNN accuracy case of test_train_digit_rnn fails (4 of 5 weights: 1.6)
    "first_step_output": (
        {"digit_rnn": DIGIT_RNN.format(batch_first=", batch_first=True", last="output[:, 0]")},
        {"test_digit_rnn": 1.2, "test_train_digit_rnn": 1.6}),
    # no batch_first: the batch is read as time, logits (8, 10) for 5 images: every case fails; training
    # DigitRNN raises (8 logits for 64 labels): the DigitRNN accuracy case fails (1.6)
    "time_major_rnn": (
        {"digit_rnn": DIGIT_RNN.format(batch_first="", last="h_n[-1]")},
        {"test_digit_rnn": 0.0, "test_train_digit_rnn": 1.6}),
    # gradients accumulate: the MLP's loss still ends below its first epoch (1.68 -> 1.14), but no model
    # reaches its accuracy bar (0.61 and 0.56 for the MLPs, chance for DigitRNN): 2 of 5 weights
    "no_zero_grad": (
        {"train_digit_rnn": TRAIN.format(zero_grad="pass", batch_loss="loss.item()")},
        {"test_train_digit_rnn": 0.8}),
    # losses as tensors (loss.detach() instead of loss.item()): only the float-type case fails (4 of 5)
    "losses_as_tensors": (
        {"train_digit_rnn": TRAIN.format(zero_grad="optimizer.zero_grad()", batch_loss="loss.detach()")},
        {"test_train_digit_rnn": 1.6}),
    "wrong_digit_letters": (
        {"mcq_digit_states": 'mcq_digit_clusters = "C"\nmcq_first_step = "B"\n'},
        {"test_mcq_digit_states": 0.0}),
    "one_wrong_digit_letter": (
        {"mcq_digit_states": 'mcq_digit_clusters = "A"\nmcq_first_step = "A"\n'},
        {"test_mcq_digit_states": 1.0}),
    # cosine similarity (no centring): shape right; the formula cases fail (2 + 1 + 2); the forecaster's
    # level (0.97) and change (0.75) units still clear their bars: 3 of 8 weights
    "cosine_not_correlation": (
        {"unit_input_correlation": CORRELATION.format(
            s="states", x="signal", r="(s * x[:, None]).sum(dim=0) / (s.norm(dim=0) * x.norm())")},
        {"test_unit_input_correlation": 0.75}),
    # covariance (mean of products, not divided by the norms): only the shape is right (1 of 8); the
    # forecaster's largest covariances are 0.15 and 0.05, below both bars
    "covariance_not_correlation": (
        {"unit_input_correlation": CORRELATION.format(
            s="states - states.mean(dim=0)", x="signal - signal.mean()", r="(s * x[:, None]).mean(dim=0)")},
        {"test_unit_input_correlation": 0.25}),
    # the signed turn count is negative here (-28.05 turns): -10.98 years fails the cycle case
    "cycle_from_signed_turns": (
        {"sunspot_cycle": CYCLE.format(turns="sun_turns", letter="B")},
        {"test_sunspot_cycle": 1.0}),
    "wrong_loop_letter": (
        {"sunspot_cycle": CYCLE.format(turns="abs(sun_turns)", letter="C")},
        {"test_sunspot_cycle": 1.0}),
}
