"""Notebook 10 (closing project, speaker identification): realistic wrong submissions and their scores.

Every scored case has weight 1, so a test cell scores points * (cases passed) / (cases), rounded to 2
decimals. The cases, in order (hidden ones marked h):
- test_normaliser (3 points, 4 cases): N1 fit_normaliser on sequences of 100 and 400 frames; N2 normalise's
  values, inputs unchanged; N3 normalise_splits on four training sequences of 5 frames and a far-away test
  split (train statistics, applied to the test split); h N4 the real data's training statistics.
- test_speaker_gru (6 points, 6 cases): G1 the layers; G2 encode on a sorted batch vs each utterance alone;
  G3 the same, shuffled; G4 forward == classify(encode); G5 20 more frames of padding change no logit;
  h G6 two layers, six shuffled utterances.
- test_train_speaker_model (6 points, 6 cases): T1 one float per epoch (mean-frame baseline, 3 epochs);
  T2 the baseline, 15 epochs on raw frames: loss goes down and test accuracy >= 0.75; T3 the trained
  speaker_model's test accuracy >= 0.94; T4 its training accuracy >= 0.98; T5 its predictions unchanged
  by 20 more padding frames and by a reversed batch; h T6 the baseline, 10 epochs, batches of 16, >= 0.75.
- test_evaluation (3 points, 4 cases): E1 a 3-class confusion matrix; E2 predict in chunks of 16;
  h E3 a 5-class confusion matrix; h E4 predict with a batch larger than the list.
- test_gru_direction_with_gates (4 points, 4 cases): D1 forward h vs nn.GRU; D2 reverse h vs nn.GRU;
  D3 h_t == (1 - z_t) n_t + z_t h_prev from the returned tensors; h D4 h, r, z, n vs PyTorch's equations
  on another GRU.
- test_speaker_share (3 points, 3 cases): S1 two classes of 3 and 2 points; S2 the trained model's test
  summaries have a share >= 0.7; h S3 three classes of 7, 21 and 12 points.

The trained-model cases (T3-T5, S2) depend on a training run that is deterministic with the locked seed
and one thread. For wrong answers that change the training, the margins were measured with the same
recipe (seed 0) when the catalog was written, to show that the thresholds are far from the edge:
reference 0.976 test / 1.000 training accuracy / share 0.821; statistics from train+test 0.976 / 1.000 /
0.821; per-sequence statistics 0.978 / 1.000 / 0.802; test split with its own statistics 0.970 / 1.000 /
0.808; no packing 0.973 / 1.000 / 0.880 (and 13 predictions change with 20 more padding frames); backward
summary from the last output 0.981 / 1.000 / 0.825; labels not shuffled with the utterances 0.062 / 0.078
/ 0.531.
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
    bar = progress(range(epochs), desc="training")
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
    # statistics from train + test: N3 and N4 fail, 2 of 4: 1.5 (the model still trains: 0.976)
    "statistics_from_train_and_test": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=NORMALISE, splits=(
            "    mean, std = fit_normaliser(train_seqs + test_seqs)\n"
            "    return normalise(train_seqs, mean, std), normalise(test_seqs, mean, std), mean, std"))},
        {"test_normaliser": 1.5}),
    # the test split normalised with its own statistics: only N3 checks what the test split got, 3 of 4: 2.25
    "test_split_with_its_own_statistics": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=NORMALISE, splits=(
            "    mean, std = fit_normaliser(train_seqs)\n"
            "    return normalise(train_seqs, mean, std), normalise(test_seqs, *fit_normaliser(test_seqs)), mean, std"))},
        {"test_normaliser": 2.25}),
    # mean of per-sequence means and stds: N1 (unequal lengths), N3 (the std of pooled frames differs from the
    # mean of per-sequence stds) and N4 fail; 1 of 4: 0.75
    "per_sequence_statistics": (
        {"normaliser": NORMALISER.format(fit=(
            "    return torch.stack([s.mean(dim=0) for s in seqs]).mean(dim=0), "
            "torch.stack([s.std(dim=0) for s in seqs]).mean(dim=0)"), normalise=NORMALISE, splits=SPLITS)},
        {"test_normaliser": 0.75}),
    # in place: right values, but the caller's tensors change: N2 fails, 3 of 4: 2.25
    "normalise_in_place": (
        {"normaliser": NORMALISER.format(fit=FIT, normalise=(
            "    for s in seqs:\n        s.sub_(mean).div_(std)\n    return seqs"), splits=SPLITS)},
        {"test_normaliser": 2.25}),
    # enforce_sorted left at True: G1, G2 pass (2 of 6: 2.0); training raises on the first shuffled batch, so
    # speaker_model stays untrained and every call on an unsorted batch raises: T3, T4, T5 fail (3 of 6: 3.0),
    # S2 fails (2 of 3: 2.0)
    "enforce_sorted_default": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(pack_padded_sequence(padded, lengths, batch_first=True))\n"
            "        return torch.cat([h_n[-2], h_n[-1]], dim=-1)"))},
        {"test_speaker_gru": 2.0, "test_train_speaker_model": 3.0, "test_speaker_share": 2.0}),
    # no packing: G1 and G4 pass (2 of 6: 2.0); trained, it reaches 0.973 but 20 more padding frames change its
    # predictions: T5 fails (5 of 6: 5.0)
    "no_packing": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(padded)\n"
            "        return torch.cat([h_n[-2], h_n[-1]], dim=-1)"))},
        {"test_speaker_gru": 2.0, "test_train_speaker_model": 5.0}),
    # packed, but both halves read at the last valid frame: the backward half is wrong (G2, G3, G6 fail),
    # padding still changes nothing (G5 passes): 3 of 6: 3.0; trained it is fine (0.981)
    "backward_summary_from_last_output": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)\n"
            "        output, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True)\n"
            "        return output[torch.arange(len(output)), torch.as_tensor(lengths) - 1]"))},
        {"test_speaker_gru": 3.0}),
    # h_n[0], h_n[1]: the first layer's pair; right for one layer, only G6 (two layers) fails: 5 of 6: 5.0
    "first_layer_h_n": (
        {"speaker_gru": SPEAKER_GRU.format(encode=(
            "        _, h_n = self.gru(pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False))\n"
            "        return torch.cat([h_n[0], h_n[1]], dim=-1)"))},
        {"test_speaker_gru": 5.0}),
    # labels of positions k*batch_size.. while the utterances are shuffled: nothing is learned; T1 passes and
    # T5 passes (a packed model ignores padding however badly it is trained): 2 of 6: 2.0; the summaries do
    # not group by speaker (0.531): S2 fails, 2 of 3: 2.0
    "labels_not_shuffled_with_the_utterances": (
        {"train_speaker_model": TRAIN.format(batch_labels="labels[k * batch_size:(k + 1) * batch_size]")},
        {"test_train_speaker_model": 2.0, "test_speaker_share": 2.0}),
    # rows and columns swapped: E1 and E3 fail, 2 of 4: 1.5
    "confusion_matrix_transposed": (
        {"evaluation": EVALUATION.format(chunk="model(padded, lengths).argmax(dim=1)", index="guess, true")},
        {"test_evaluation": 1.5}),
    # logits instead of labels: E2 and E4 fail, 2 of 4: 1.5
    "predict_returns_logits": (
        {"evaluation": EVALUATION.format(chunk="model(padded, lengths)", index="true, guess")},
        {"test_evaluation": 1.5}),
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
    # class means not weighted by their sizes: all three cases fail (S2: the share falls far below 0.7)
    "share_without_class_sizes": (
        {"speaker_share": SHARE.format(weight="")},
        {"test_speaker_share": 0.0}),
}
