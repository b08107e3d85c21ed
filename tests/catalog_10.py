"""Notebook 10 (closing project, speaker identification): realistic wrong submissions and their scores.

A test cell scores points * (weight of the cases passed) / (total weight), rounded to 2 decimals (half to
even). The cases, in order (hidden ones marked h), weight 1 unless given:
- test_normaliser (3 points, weights 10): N1 fit_normaliser on sequences of 100 and 400 frames; N2 normalise's
  values, inputs unchanged; N3 normalise_splits on four training sequences of 5 frames and a far-away test
  split: the training statistics, returned and applied to both splits (4.5); N4 the normalised frames keep
  float32 (0.5: the GRU's weights are float32, and the prompt says so); h N5 the real data: the training
  statistics and a test utterance normalised with them (3). Test-set statistics in any form fail N3 and N5.
- test_speaker_gru (6 points, weights 8): G1 the layers (0.5); G2 encode on a sorted batch vs each utterance
  alone; G3 the same, shuffled (2); G4 forward == classify(encode) on the sorted batch (0.5); G5 20 more
  frames of padding change no logit (shuffled); G6 two layers, the shuffled batch (1.5); h G7 two layers, six shuffled utterances (1.5).
- test_train_speaker_model (6 points, weights 8), trusted models only (never the learner's SpeakerGRU or
  normalisation, so a mistake there costs in Exercises 1-2 only): T1 one float per epoch (0.5); T2 a recording
  copy of the mean-frame baseline on 20 numbered utterances: every utterance once per epoch, in a new order;
  T3 train mode while training, eval mode after (0.5); T4 the baseline, 15 epochs on raw frames: loss goes
  down and test accuracy >= 0.75 (4); h T5 the baseline, 10 epochs, batches of 16, >= 0.75 (2).
- test_evaluation (3 points, weights 8): E1 a 3-class confusion matrix; E2 predict in chunks of 16; E3 the
  probe's 9-class confusion matrix from predict and confusion_matrix chained, as in §5 (4); h E4 a 5-class
  confusion matrix; h E5 predict with a batch larger than the list.
- test_gru_direction_with_gates (4 points, 4 cases, from_scratch="the gates": a case whose code reaches
  PyTorch's GRU in any form fails): D1 forward h vs nn.GRU; D2 reverse h vs nn.GRU; D3 h_t == (1 - z_t) n_t +
  z_t h_prev from the returned tensors; h D4 h, r, z, n vs PyTorch's equations on another GRU.
- test_speaker_share (3 points, 3 cases): S1 two classes of 3 and 2 points; S2 the mean frames of the 370 raw
  test utterances (24 to 88 per speaker; not the learner's model); h S3 three classes of 7, 21 and 12 points.

No test reads the trained speaker_model any more, so a wrong encoder or normaliser costs points once.
FUNDAMENTAL lists the mistakes that get an exercise fundamentally wrong (test-set statistics, wrong statistics,
no packing or a wrong summary, labels that do not match the utterances, a transposed matrix, labels replaced
by logits, a wrong gate equation or layout, the library's GRU instead of the gates); each keeps at most 25 %
of its test cell. The margins of the trained models (measured with seed 0 when the catalog was written:
reference 0.976 test accuracy; test split with its own statistics 0.970; no packing 0.973, 13 predictions
changed by 20 padding frames) are why accuracy alone could not catch these mistakes.
"""
SOLUTION = "10_project/10_speaker_project.ipynb"

FULL = {
    "test_normaliser": 3.0, "test_speaker_gru": 6.0, "test_train_speaker_model": 6.0, "test_evaluation": 3.0,
    "test_gru_direction_with_gates": 4.0, "test_speaker_share": 3.0,
}

NORMALISER = '''
def fit_normaliser(seqs):
{fit}


def normalise(seqs, mean, std):
{normalise}


def normalise_splits(train_seqs, test_seqs):
{splits}
'''
FIT = "    frames = torch.cat(list(seqs))\n    return frames.mean(dim=0), frames.std(dim=0)"
NORMALISE = "    return [(s - mean) / std for s in seqs]"
SPLITS = ("    mean, std = fit_normaliser(train_seqs)\n"
          "    return normalise(train_seqs, mean, std), normalise(test_seqs, mean, std), mean, std")

SPEAKER_GRU = '''
class SpeakerGRU(nn.Module):
    def __init__(self, input_size=12, hidden_size=32, num_layers=1, num_classes=9):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=True)
        self.classify = nn.Linear(2 * hidden_size, num_classes)

    def encode(self, padded, lengths):
{encode}

    def forward(self, padded, lengths):
        return self.classify(self.encode(padded, lengths))
'''

TRAIN = '''
def train_speaker_model(model, seqs, labels, epochs=15, batch_size=32, lr=1e-2, seed=0):
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    labels = torch.as_tensor(labels)
    losses = []
    model.train()
    bar = tqdm(range(epochs), desc="training")
    for _ in bar:
        total = 0.0
        for k, batch in enumerate(batching.minibatches(len(seqs), batch_size, generator)):
            padded, lengths = batching.pad_batch([seqs[i] for i in batch], batch_first=True)
            loss = nn.functional.cross_entropy(model(padded, lengths), {batch_labels})
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            total += loss.item() * len(batch)
        losses.append(total / len(seqs))
        bar.set_postfix(loss=losses[-1])
    model.eval()
    return losses
'''

EVALUATION = '''
def predict(model, seqs, batch_size=64):
    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(seqs), batch_size):
            padded, lengths = batching.pad_batch(seqs[start:start + batch_size], batch_first=True)
            chunks.append({chunk})
    return torch.cat(chunks)


def confusion_matrix(predicted, labels, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for true, guess in zip(torch.as_tensor(labels).tolist(), torch.as_tensor(predicted).tolist()):
        counts[{index}] += 1
    return counts
'''

GATES = '''
def gru_direction_with_gates(gru, seq, reverse=False):
    suffix = "_l0_reverse" if reverse else "_l0"
    W_ih, W_hh = getattr(gru, "weight_ih" + suffix), getattr(gru, "weight_hh" + suffix)
    b_ih, b_hh = getattr(gru, "bias_ih" + suffix), getattr(gru, "bias_hh" + suffix)
    steps = list(range(len(seq) - 1, -1, -1)) if reverse else list(range(len(seq)))
    h = seq.new_zeros(gru.hidden_size)
    found = {{name: [None] * len(seq) for name in "hrzn"}}
    with torch.no_grad():
        for k, t in enumerate(steps):
            {i_gates} = (seq[t] @ W_ih.T + b_ih).chunk(3)
            {h_gates} = (h @ W_hh.T + b_hh).chunk(3)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            n = {candidate}
            h = {update}
            for name, value in zip("hrzn", (h, r, z, n)):
                found[name][{row}] = value
    return tuple(torch.stack(found[name]) for name in "hrzn")
'''
GATE_PARTS = {"i_gates": "i_r, i_z, i_n", "h_gates": "h_r, h_z, h_n", "candidate": "torch.tanh(i_n + r * h_n)",
              "update": "(1 - z) * n + z * h", "row": "t"}

SHARE = '''
def speaker_share(summaries, labels):
    centre = summaries.mean(dim=0)
    total = ((summaries - centre) ** 2).sum()
    between = sum({weight}((summaries[labels == k].mean(dim=0) - centre) ** 2).sum() for k in labels.unique())
    return float(between / total)
'''


def gates(**changed):
    return GATES.format(**dict(GATE_PARTS, **changed))


WRONG = {
    # statistics from train + test: N3 and N5 fail, weight 2.5 of 10 kept: 0.75 (the model still trains: 0.976)
    "statistics_from_train_and_test": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=NORMALISE, splits=(
            "    mean, std = fit_normaliser(train_seqs + test_seqs)\n"
            "    return normalise(train_seqs, mean, std), normalise(test_seqs, mean, std), mean, std"))},
        {"test_normaliser": 0.75}),
    # the test split normalised with its own statistics: N3 and N5 check what the test split got: 2.5 of 10 kept: 0.75
    "test_split_with_its_own_statistics": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=NORMALISE, splits=(
            "    mean, std = fit_normaliser(train_seqs)\n"
            "    return normalise(train_seqs, mean, std), normalise(test_seqs, *fit_normaliser(test_seqs)), mean, std"))},
        {"test_normaliser": 0.75}),
    # mean of per-sequence means and stds: N1 (unequal lengths), N3 (the std of pooled frames differs from the
    # mean of per-sequence stds) and N5 fail; N2 and N4 pass, 1.5 of 10: 0.45
    "per_sequence_statistics": (
        {"normaliser": NORMALISER.format(fit=(
            "    return torch.stack([s.mean(dim=0) for s in seqs]).mean(dim=0), "
            "torch.stack([s.std(dim=0) for s in seqs]).mean(dim=0)"), normalise=NORMALISE, splits=SPLITS)},
        {"test_normaliser": 0.45}),
    # in place: right values, but the caller's tensors change: N2 fails, 9 of 10: 2.7
    "normalise_in_place": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=(
            "    for s in seqs:\n        s.sub_(mean).div_(std)\n    return seqs"), splits=SPLITS)},
        {"test_normaliser": 2.7}),
    # statistics in float64 and frames left in float64: the values are right (float64 == float32 within
    # tolerance), only N4 fails, 9.5 of 10: 2.85; training the float32 GRU on them then raises in §3
    "frames_left_in_float64": (
        {"normaliser": NORMALISER.format(fit="    frames = torch.cat(list(seqs)).double()\n    return frames.mean(dim=0), frames.std(dim=0)",
                                         normalise=NORMALISE, splits=SPLITS)},
        {"test_normaliser": 2.85}),
    # enforce_sorted left at True: G1, G2 and G4 (sorted batches) pass, 2 of 8: 1.5; training raises on the
    # first shuffled batch, but no other test uses SpeakerGRU
    "enforce_sorted_default": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(pack_padded_sequence(padded, lengths, batch_first=True))\n"
            "        return torch.cat([h_n[-2], h_n[-1]], dim=-1)"))},
        {"test_speaker_gru": 1.5}),
    # no packing: G1 and G4 pass (1 of 8: 0.75); trained, it reaches 0.973, but no test depends on it
    "no_packing": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(padded)\n"
            "        return torch.cat([h_n[-2], h_n[-1]], dim=-1)"))},
        {"test_speaker_gru": 0.75}),
    # packed, but both halves read at the last valid frame: the backward half is wrong (G2, G3, G6, G7 fail),
    # padding still changes nothing (G5 passes): 2 of 8: 1.5; trained it is fine (0.981)
    "backward_summary_from_last_output": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)\n"
            "        output, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True)\n"
            "        return output[torch.arange(len(output)), torch.as_tensor(lengths) - 1]"))},
        {"test_speaker_gru": 1.5}),
    # h_n[0], h_n[1]: the first layer's pair; right for the default one layer, the two-layer cases G6 (visible)
    # and G7 fail: 5 of 8: 3.75
    "first_layer_h_n": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False))\n"
            "        return torch.cat([h_n[0], h_n[1]], dim=-1)"))},
        {"test_speaker_gru": 3.75}),
    # labels of positions k*batch_size.. while the utterances are shuffled: nothing is learned; T1, T2 (the
    # feeding is right) and T3 pass: 2 of 8: 1.5. Trained this way the model's summaries do not group by
    # speaker (0.531), but test_speaker_share no longer reads them
    "labels_not_shuffled_with_the_utterances": (
        {"train_speaker_model": TRAIN.format(batch_labels="labels[k * batch_size:(k + 1) * batch_size]")},
        {"test_train_speaker_model": 1.5}),
    # rows and columns swapped: E1, E3 and E4 fail; the predict cases pass, 2 of 8: 0.75
    "confusion_matrix_transposed": (
        {"evaluation": EVALUATION.format(chunk="model(padded, lengths).argmax(dim=1)", index="guess, true")},
        {"test_evaluation": 0.75}),
    # logits instead of labels: E2, E3 and E5 fail; the two small confusion matrices pass, 2 of 8: 0.75
    "predict_returns_logits": (
        {"evaluation": EVALUATION.format(chunk="model(padded, lengths)", index="true, guess")},
        {"test_evaluation": 0.75}),
    # Cho et al.'s candidate: h differs from nn.GRU (D1, D2, D4 fail); it is consistent with its own z and n
    # (D3 passes): 1 of 4: 1.0
    "reset_before_the_product": (
        {"gru_direction_with_gates": gates(candidate="torch.tanh(i_n + (r * h) @ W_hh.T.chunk(3, dim=1)[2] + b_hh.chunk(3)[2])")},
        {"test_gru_direction_with_gates": 1.0}),
    # blocks read as (z, r, n): D1, D2, D4 fail, D3 passes: 1.0
    "gate_order_swapped": (
        {"gru_direction_with_gates": gates(i_gates="i_z, i_r, i_n", h_gates="h_z, h_r, h_n")},
        {"test_gru_direction_with_gates": 1.0}),
    # h = z n + (1 - z) h: every case fails, D3 included (the returned z does not give h in PyTorch's
    # convention): 0.0
    "z_and_one_minus_z_swapped": (
        {"gru_direction_with_gates": gates(update="z * n + (1 - z) * h")},
        {"test_gru_direction_with_gates": 0.0}),
    # reverse states stored in reading order: D1 passes, D2, D3 (reverse part) and D4 fail: 1.0
    "reverse_states_in_reading_order": (
        {"gru_direction_with_gates": gates(row="k")},
        {"test_gru_direction_with_gates": 1.0}),
    # the shortcut: the gates written out, but h taken from PyTorch's own GRU cell reached by another name;
    # under from_scratch="the gates" every case that runs it fails: 0
    "gates_from_the_library_cell": (
        {"gru_direction_with_gates": gates(update="getattr(torch, 'gru_' + 'cell')(seq[t][None], h[None], W_ih, W_hh, b_ih, b_hh)[0]")},
        {"test_gru_direction_with_gates": 0.0}),
    # class means not weighted by their sizes: all three cases fail (S2: 0.0196 instead of 0.712)
    "share_without_class_sizes": (
        {"speaker_share": SHARE.format(weight="")},
        {"test_speaker_share": 0.0}),
}

FUNDAMENTAL = {
    "statistics_from_train_and_test", "test_split_with_its_own_statistics", "per_sequence_statistics",
    "enforce_sorted_default", "no_packing", "backward_summary_from_last_output",
    "labels_not_shuffled_with_the_utterances", "confusion_matrix_transposed", "predict_returns_logits",
    "reset_before_the_product", "gate_order_swapped", "z_and_one_minus_z_swapped", "reverse_states_in_reading_order",
    "gates_from_the_library_cell", "share_without_class_sizes",
}

# Correct answers in other styles than the solution's; each must score FULL.
VALID = {
    # float64 where no dtype is asked (statistics, the gates, the share), keyword arguments, h_n viewed as
    # (layers, directions, N, H), a decorated predict
    "float64": {
        "normaliser": (
            "def fit_normaliser(seqs):\n"
            "    frames = torch.cat([s.double() for s in seqs])\n"
            "    return frames.mean(0), frames.std(0)\n\n\n"
            "def normalise(seqs, mean, std):\n"
            "    return [((s.double() - mean) / std).to(s.dtype) for s in seqs]\n\n\n"
            "def normalise_splits(train_seqs, test_seqs):\n"
            "    stats = fit_normaliser(train_seqs)\n"
            "    return normalise(train_seqs, *stats), normalise(test_seqs, *stats), stats[0], stats[1]\n"),
        "speaker_gru": (
            "class SpeakerGRU(nn.Module):\n"
            "    def __init__(self, input_size=12, hidden_size=32, num_layers=1, num_classes=9):\n"
            "        super().__init__()\n"
            "        self.gru = nn.GRU(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,\n"
            "                          batch_first=True, bidirectional=True)\n"
            "        self.classify = nn.Linear(hidden_size * 2, num_classes)\n\n"
            "    def encode(self, padded, lengths):\n"
            "        packed = nn.utils.rnn.pack_padded_sequence(padded, torch.as_tensor(lengths).cpu(), batch_first=True,\n"
            "                                                   enforce_sorted=False)\n"
            "        h_n = self.gru(packed)[1]\n"
            "        last = h_n.view(self.gru.num_layers, 2, h_n.shape[1], self.gru.hidden_size)[-1]\n"
            "        return torch.cat([last[0], last[1]], dim=1)\n\n"
            "    def forward(self, padded, lengths):\n"
            "        summary = self.encode(padded, lengths)\n"
            "        return self.classify(summary)\n"),
        "train_speaker_model": (
            "def train_speaker_model(model, seqs, labels, epochs=15, batch_size=32, lr=1e-2, seed=0):\n"
            "    labels = torch.as_tensor(labels)\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    gen = torch.Generator().manual_seed(seed)\n"
            "    model.train()\n"
            "    history = []\n"
            "    bar = tqdm(range(epochs), desc='epochs')\n"
            "    for epoch in bar:\n"
            "        loss_sum, seen = 0.0, 0\n"
            "        for idx in batching.minibatches(len(seqs), batch_size, gen):\n"
            "            x, lengths = batching.pad_batch([seqs[i] for i in idx], batch_first=True)\n"
            "            opt.zero_grad()\n"
            "            loss = nn.functional.cross_entropy(model(x, lengths), labels[idx])\n"
            "            loss.backward()\n"
            "            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
            "            opt.step()\n"
            "            loss_sum += loss.item() * len(idx)\n"
            "            seen += len(idx)\n"
            "        history.append(loss_sum / seen)\n"
            "        bar.set_postfix(loss=history[-1])\n"
            "    model.eval()\n"
            "    return history\n"),
        "evaluation": (
            "@torch.no_grad()\n"
            "def predict(model, seqs, batch_size=64):\n"
            "    model.eval()\n"
            "    found = []\n"
            "    for start in range(0, len(seqs), batch_size):\n"
            "        padded, lengths = batching.pad_batch(seqs[start:start + batch_size], batch_first=True)\n"
            "        found.extend(model(padded, lengths).argmax(dim=-1).tolist())\n"
            "    return torch.tensor(found, dtype=torch.int64)\n\n\n"
            "def confusion_matrix(predicted, labels, num_classes):\n"
            "    counts = torch.zeros(num_classes, num_classes, dtype=torch.float64)\n"
            "    for t, p in zip(labels, predicted):\n"
            "        counts[int(t), int(p)] += 1\n"
            "    return counts.to(torch.int64)\n"),
        "gru_direction_with_gates": (
            "def gru_direction_with_gates(gru, seq, reverse=False):\n"
            "    tag = '_l0_reverse' if reverse else '_l0'\n"
            "    W_ih = getattr(gru, f'weight_ih{tag}').detach().double()\n"
            "    W_hh = getattr(gru, f'weight_hh{tag}').detach().double()\n"
            "    b_ih = getattr(gru, f'bias_ih{tag}').detach().double()\n"
            "    b_hh = getattr(gru, f'bias_hh{tag}').detach().double()\n"
            "    H = gru.hidden_size\n"
            "    x = seq.detach().double()\n"
            "    L = x.shape[0]\n"
            "    hs, rs, zs, ns = (torch.zeros(L, H, dtype=torch.float64) for _ in range(4))\n"
            "    h = torch.zeros(H, dtype=torch.float64)\n"
            "    for t in (range(L - 1, -1, -1) if reverse else range(L)):\n"
            "        gi = W_ih @ x[t] + b_ih\n"
            "        gh = W_hh @ h + b_hh\n"
            "        r = torch.sigmoid(gi[:H] + gh[:H])\n"
            "        z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])\n"
            "        n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])\n"
            "        h = (1 - z) * n + z * h\n"
            "        hs[t], rs[t], zs[t], ns[t] = h, r, z, n\n"
            "    return hs, rs, zs, ns\n"),
        "speaker_share": (
            "def speaker_share(summaries, labels):\n"
            "    S = summaries.double()\n"
            "    onehot = nn.functional.one_hot(labels).double()          # (N, classes)\n"
            "    counts = onehot.sum(0)\n"
            "    means = (onehot.T @ S) / counts[:, None].clamp(min=1)\n"
            "    centre = S.mean(0)\n"
            "    between = (counts * ((means - centre) ** 2).sum(1)).sum()\n"
            "    return float(between / ((S - centre) ** 2).sum())\n"),
    },
    # vectorised: one concatenation split back, pack_sequence of the unpadded pieces, a sum-reduced loss,
    # index_put_ with accumulate, F.linear for all input projections at once and torch.lerp, index_add_
    "vectorised": {
        "normaliser": (
            "def fit_normaliser(seqs):\n"
            "    stacked = torch.cat(tuple(seqs), dim=0)\n"
            "    return stacked.mean(0), stacked.var(0).sqrt()\n\n\n"
            "def normalise(seqs, mean, std):\n"
            "    sizes = [len(s) for s in seqs]\n"
            "    return list(((torch.cat(list(seqs)) - mean) / std).split(sizes))\n\n\n"
            "def normalise_splits(train_seqs, test_seqs):\n"
            "    mean, std = fit_normaliser(train_seqs)\n"
            "    return normalise(train_seqs, mean, std), normalise(test_seqs, mean, std), mean, std\n"),
        "speaker_gru": (
            "class SpeakerGRU(nn.Module):\n"
            "    def __init__(self, input_size=12, hidden_size=32, num_layers=1, num_classes=9):\n"
            "        super().__init__()\n"
            "        self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)\n"
            "        self.classify = nn.Linear(2 * hidden_size, num_classes)\n\n"
            "    def encode(self, padded, lengths):\n"
            "        pieces = [padded[i, :int(n)] for i, n in enumerate(lengths)]\n"
            "        _, h_n = self.gru(nn.utils.rnn.pack_sequence(pieces, enforce_sorted=False))\n"
            "        return h_n[-2:].transpose(0, 1).reshape(len(pieces), -1)\n\n"
            "    def forward(self, padded, lengths):\n"
            "        return self.classify(self.encode(padded, lengths))\n"),
        "train_speaker_model": (
            "from torch.nn.utils.rnn import pad_sequence\n\n\n"
            "def train_speaker_model(model, seqs, labels, epochs=15, batch_size=32, lr=1e-2, seed=0):\n"
            "    optimiser = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    generator = torch.Generator().manual_seed(seed)\n"
            "    targets = torch.as_tensor(labels)\n"
            "    model.train()\n"
            "    mean_losses = []\n"
            "    bar = tqdm(range(epochs), desc='training')\n"
            "    for _ in bar:\n"
            "        summed = 0.0\n"
            "        for batch in batching.minibatches(len(seqs), batch_size, generator):\n"
            "            chunk = [seqs[i] for i in batch]\n"
            "            padded = pad_sequence(chunk, batch_first=True)\n"
            "            lengths = torch.tensor([len(s) for s in chunk])\n"
            "            loss_sum = nn.functional.cross_entropy(model(padded, lengths), targets[batch], reduction='sum')\n"
            "            optimiser.zero_grad()\n"
            "            (loss_sum / len(batch)).backward()\n"
            "            nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "            optimiser.step()\n"
            "            summed += loss_sum.item()\n"
            "        mean_losses.append(summed / len(seqs))\n"
            "        bar.set_postfix(loss=mean_losses[-1])\n"
            "    model.eval()\n"
            "    return mean_losses\n"),
        "evaluation": (
            "def predict(model, seqs, batch_size=64):\n"
            "    model.eval()\n"
            "    with torch.inference_mode():\n"
            "        parts = [model(*batching.pad_batch(seqs[i:i + batch_size], batch_first=True)).argmax(1)\n"
            "                 for i in range(0, len(seqs), batch_size)]\n"
            "    return torch.cat(parts)\n\n\n"
            "def confusion_matrix(predicted, labels, num_classes):\n"
            "    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)\n"
            "    index = (torch.as_tensor(labels).long(), torch.as_tensor(predicted).long())\n"
            "    return counts.index_put_(index, torch.ones(len(index[0]), dtype=torch.long), accumulate=True)\n"),
        "gru_direction_with_gates": (
            "def gru_direction_with_gates(gru, seq, reverse=False):\n"
            "    sfx = '_l0_reverse' if reverse else '_l0'\n"
            "    p = {name: getattr(gru, name + sfx) for name in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh')}\n"
            "    H = gru.hidden_size\n"
            "    with torch.no_grad():\n"
            "        inputs = nn.functional.linear(seq, p['weight_ih'], p['bias_ih'])       # (L, 3H): every step at once\n"
            "        out = seq.new_empty(4, len(seq), H)\n"
            "        h = seq.new_zeros(H)\n"
            "        for t in (reversed(range(len(seq))) if reverse else range(len(seq))):\n"
            "            a_r, a_z, a_n = inputs[t].split(H)\n"
            "            b_r, b_z, b_n = nn.functional.linear(h, p['weight_hh'], p['bias_hh']).split(H)\n"
            "            r = (a_r + b_r).sigmoid()\n"
            "            z = (a_z + b_z).sigmoid()\n"
            "            n = (a_n + r * b_n).tanh()\n"
            "            h = torch.lerp(n, h, z)                                                # (1 - z) n + z h\n"
            "            out[:, t] = torch.stack([h, r, z, n])\n"
            "    return tuple(out)\n"),
        "speaker_share": (
            "def speaker_share(summaries, labels):\n"
            "    centre = summaries.mean(0)\n"
            "    classes, inverse, counts = labels.unique(return_inverse=True, return_counts=True)\n"
            "    sums = torch.zeros(len(classes), summaries.shape[1]).index_add_(0, inverse, summaries)\n"
            "    means = sums / counts[:, None]\n"
            "    between = (counts[:, None] * (means - centre) ** 2).sum()\n"
            "    return (between / ((summaries - centre) ** 2).sum()).item()\n"),
    },
    # loops: running sums for the statistics, a batch sorted by hand and restored, a while loop over the
    # batches, minibatches without a generator for predict, one-hot products, einsum per gate block and the
    # reverse direction computed in reading order then flipped (a list returned), Python floats for the share
    "loops": {
        "normaliser": (
            "def fit_normaliser(seqs):\n"
            "    count = sum(len(s) for s in seqs)\n"
            "    mean = sum(s.sum(dim=0) for s in seqs) / count\n"
            "    var = sum(((s - mean) ** 2).sum(dim=0) for s in seqs) / (count - 1)\n"
            "    return mean, var.sqrt()\n\n\n"
            "def normalise(seqs, mean, std):\n"
            "    out = []\n"
            "    for s in seqs:\n"
            "        out.append(s.sub(mean).div(std))\n"
            "    return out\n\n\n"
            "def normalise_splits(train_seqs, test_seqs):\n"
            "    mean, std = fit_normaliser(train_seqs)\n"
            "    train_norm = normalise(train_seqs, mean, std)\n"
            "    test_norm = normalise(test_seqs, mean, std)\n"
            "    return train_norm, test_norm, mean, std\n"),
        "speaker_gru": (
            "class SpeakerGRU(nn.Module):\n"
            "    def __init__(self, input_size=12, hidden_size=32, num_layers=1, num_classes=9):\n"
            "        super().__init__()\n"
            "        self.gru = nn.GRU(input_size, hidden_size, num_layers=num_layers, bidirectional=True, batch_first=True)\n"
            "        self.classify = nn.Linear(hidden_size + hidden_size, num_classes)\n\n"
            "    def encode(self, padded, lengths):\n"
            "        lengths = torch.as_tensor(lengths)\n"
            "        order = lengths.argsort(descending=True)\n"
            "        packed = pack_padded_sequence(padded[order], lengths[order], batch_first=True)\n"
            "        _, h_n = self.gru(packed)\n"
            "        summary = torch.cat((h_n[-2], h_n[-1]), dim=1)\n"
            "        restored = torch.empty_like(summary)\n"
            "        restored[order] = summary\n"
            "        return restored\n\n"
            "    def forward(self, padded, lengths):\n"
            "        logits = self.classify(self.encode(padded, lengths))\n"
            "        return logits\n"),
        "train_speaker_model": (
            "def train_speaker_model(model, seqs, labels, epochs=15, batch_size=32, lr=1e-2, seed=0):\n"
            "    optimiser = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    rng = torch.Generator().manual_seed(seed)\n"
            "    model.train()\n"
            "    per_epoch = []\n"
            "    bar = tqdm(range(epochs), desc='training')\n"
            "    for epoch in bar:\n"
            "        batches = batching.minibatches(len(seqs), batch_size, rng)\n"
            "        sizes, values = [], []\n"
            "        while batches:\n"
            "            batch = batches.pop(0)\n"
            "            padded, lengths = batching.pad_batch([seqs[i] for i in batch], batch_first=True)\n"
            "            target = torch.stack([torch.as_tensor(labels[i]) for i in batch])\n"
            "            model.zero_grad()\n"
            "            loss = nn.functional.cross_entropy(model(padded, lengths), target)\n"
            "            loss.backward()\n"
            "            nn.utils.clip_grad_norm_(list(model.parameters()), 1.0)\n"
            "            optimiser.step()\n"
            "            sizes.append(len(batch))\n"
            "            values.append(loss.item())\n"
            "        per_epoch.append(sum(v * n for v, n in zip(values, sizes)) / sum(sizes))\n"
            "        bar.set_postfix(loss=per_epoch[-1])\n"
            "    model.eval()\n"
            "    return per_epoch\n"),
        "evaluation": (
            "def predict(model, seqs, batch_size=64):\n"
            "    model.eval()\n"
            "    guesses = []\n"
            "    with torch.no_grad():\n"
            "        for batch in batching.minibatches(len(seqs), batch_size):      # no generator: in order\n"
            "            padded, lengths = batching.pad_batch([seqs[i] for i in batch], batch_first=True)\n"
            "            guesses.append(torch.argmax(model(padded, lengths), dim=1))\n"
            "    return torch.cat(guesses)\n\n\n"
            "def confusion_matrix(predicted, labels, num_classes):\n"
            "    true_rows = nn.functional.one_hot(torch.as_tensor(labels).long(), num_classes)\n"
            "    guess_columns = nn.functional.one_hot(torch.as_tensor(predicted).long(), num_classes)\n"
            "    return true_rows.T @ guess_columns\n"),
        "gru_direction_with_gates": (
            "def gru_direction_with_gates(gru, seq, reverse=False):\n"
            "    end = '_l0_reverse' if reverse else '_l0'\n"
            "    W_ir, W_iz, W_in = getattr(gru, 'weight_ih' + end).detach().chunk(3)\n"
            "    W_hr, W_hz, W_hn = getattr(gru, 'weight_hh' + end).detach().chunk(3)\n"
            "    b_ir, b_iz, b_in = getattr(gru, 'bias_ih' + end).detach().chunk(3)\n"
            "    b_hr, b_hz, b_hn = getattr(gru, 'bias_hh' + end).detach().chunk(3)\n"
            "    frames = seq.flip(0) if reverse else seq\n"
            "    h = torch.zeros(gru.hidden_size)\n"
            "    hs, rs, zs, ns = [], [], [], []\n"
            "    for x in frames:\n"
            "        r = torch.sigmoid(torch.einsum('ij,j->i', W_ir, x) + b_ir + torch.einsum('ij,j->i', W_hr, h) + b_hr)\n"
            "        z = torch.sigmoid(torch.einsum('ij,j->i', W_iz, x) + b_iz + torch.einsum('ij,j->i', W_hz, h) + b_hz)\n"
            "        n = torch.tanh(torch.einsum('ij,j->i', W_in, x) + b_in + r * (torch.einsum('ij,j->i', W_hn, h) + b_hn))\n"
            "        h = (1 - z) * n + z * h\n"
            "        hs.append(h)\n"
            "        rs.append(r)\n"
            "        zs.append(z)\n"
            "        ns.append(n)\n"
            "    result = [torch.stack(v) for v in (hs, rs, zs, ns)]\n"
            "    return [v.flip(0) for v in result] if reverse else result\n"),
        "speaker_share": (
            "def speaker_share(summaries, labels):\n"
            "    overall = summaries.mean(0)\n"
            "    total = float(((summaries - overall) ** 2).sum())\n"
            "    between = 0.0\n"
            "    for k in set(labels.tolist()):\n"
            "        members = summaries[labels == k]\n"
            "        between += len(members) * float(((members.mean(0) - overall) ** 2).sum())\n"
            "    return between / total\n"),
    },
}
