"""Notebook 11 (a character-level GRU): realistic wrong answers and the per-test scores they deserve.

Scores follow from the case weights of the solution's test cells (visible + hidden), rounded to 2 decimals:
- test_char_vocab (3 points, weights 5): sorted vocabulary 1, int64 indices 1, round trip 1, hidden: decode
  of a list 0.5, the corpus's 96 characters 1, the corpus encoded 0.5.
- test_one_hot_linear (2 points, weights 3.5): an nn.Linear(7, 3) without bias 0.5, equal on one-hot vectors 2,
  hidden: other sizes 1.
- test_batchify_streams (2 points, weights 4): shape 0.5, columns are stretches 2, hidden: one stream 0.5, a
  length that divides 1.
- test_windows_shift_by_one (3 points, weights 5.5): count 1, window 0 1, shift and continuity 1, last window
  1, hidden: T - 1 divisible by seq_len 1, seq_len 1 0.5.
- test_char_cross_entropy (3 points, weights 5): vs F.cross_entropy 2, 0-d 0.5, ln V 0.5, hidden: +-1000 1,
  gradient 1.
- test_unigram_baseline (3 points, weights 5): tiny example 1.5, unseen character 1, units 1, hidden: corpus 1,
  zero 0.5.
- test_tbptt_loop (5 points, weights 7.5; two unscored `uses` lines for windows and char_cross_entropy): floats
  0.5, losses vs the reference loop 3, the state passed in 1.5, clipping 1, hidden: one stream 1.5.
- test_mcq_tbptt, test_mcq_sampling (2 points each): two hidden keys of weight 1 (format checks weigh 0).
- test_clip_gradients (3 points, weights 5.5, from_scratch="the clipping": a case whose code calls
  torch.nn.utils' clipping fails): total norm 1, clipped like clip_grad_norm_ 2, below the
  threshold 1, hidden: a parameter without gradient 0.5, four random gradients 1.
- test_sample (4 points, weights 7): dtype and length 0.5, greedy 1.5, T = 1 2, T = 0.5 1, hidden: another
  model at T = 2 1, a longer prime at T = 0.8 1.
- test_entropy_bits (2 points, weights 4): uniform 1, T = 1 1, T = 0.5 1, hidden: (L, N, V) at T = 1.5 0.5,
  a dominant logit 0.5.
- test_gru_states_and_z (4 points, weights 5.5, from_scratch="the gates"): shapes 0.5, states 2, z 1.5,
  hidden: other sizes 1, b_iz = +30 0.5.
- test_best_unit (3 points, weights 4): the unit 1.5, its r 1, types 0.5, hidden: scale does not matter 0.5,
  a constant unit 0.5.

No test depends on the model the learner trains: the training loop is checked on small trusted models
(`CharGRU` with fixed seeds) against a reference loop, the sampler on fixed-weight models against a reference
sampler with the same seed, the gates on random `nn.GRU`s. train_tbptt builds on windows (Exercise 3) and
char_cross_entropy (Exercise 4): its test cell calls `check.uses` for both, so a mistake there costs once.
FUNDAMENTAL lists the mistakes that get an exercise's idea wrong (the layout of the streams, the targets, the
loss's dimensions or reduction, the carried state, nats for bits, the gate equations, a covariance for a
correlation, the shortcut through nn.GRU).
"""
SOLUTION = "11_char_gru/11_char_gru_reads_and_writes.ipynb"

FULL = {
    "test_char_vocab": 3.0, "test_one_hot_linear": 2.0, "test_batchify_streams": 2.0, "test_windows_shift_by_one": 3.0,
    "test_char_cross_entropy": 3.0, "test_unigram_baseline": 3.0, "test_tbptt_loop": 5.0, "test_mcq_tbptt": 2.0,
    "test_clip_gradients": 3.0, "test_sample": 4.0, "test_entropy_bits": 2.0, "test_mcq_sampling": 2.0,
    "test_gru_states_and_z": 4.0, "test_best_unit": 3.0,
}

VOCAB = '''
def build_vocab(text):
    return {build}


def encode(text, chars):
    index = {{c: i for i, c in enumerate(chars)}}
    return torch.tensor([index[c] for c in text], dtype=torch.int64)


def decode(ids, chars):
    return {decode}
'''

BATCHING = '''
def batchify(ids, batch_size):
    T = len(ids) // batch_size
    return {streams}


def windows(streams, seq_len):
    return [({x}, {y}) for k in range({count})]
'''
BATCHIFY_OK = "ids[:T * batch_size].view(batch_size, T).t().contiguous()"
X_OK, Y_OK = "streams[k * seq_len:(k + 1) * seq_len]", "streams[k * seq_len + 1:(k + 1) * seq_len + 1]"
COUNT_OK = "(len(streams) - 1) // seq_len"

CROSS_ENTROPY = '''
def char_cross_entropy(logits, targets):
    {body}
'''

UNIGRAM = '''
def unigram_nats(train_ids, test_ids, vocab_size):
    counts = torch.bincount(train_ids, minlength=vocab_size).double(){smoothing}
    return -torch.log(counts / counts.sum())[test_ids].mean().item()


def bits_and_perplexity(nats):
    return {units}
'''

LOOP = '''
def train_tbptt(model, streams, seq_len, optimiser, steps, max_norm=1.0):
    wins = windows(streams, seq_len)
    losses = []
    model.train()
    h = None
    for k in range(steps):
        if k % len(wins) == 0:
            h = None
        x, y = wins[k % len(wins)]
        logits, h_n = model(x, {state_in})
        loss = char_cross_entropy(logits, y)
{zero_grad}        loss.backward({retain})
{clip}        optimiser.step()
        h = {carry}
        losses.append(loss.item())
    model.eval()
    return losses
'''
ZERO_GRAD = "        optimiser.zero_grad()\n"
CLIP = "        nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n"

CLIP_GRADIENTS = '''
def clip_gradients(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.stack([g.norm() for g in grads]).norm()
{body}
    return {returned}
'''
CLIP_TOTAL = '''    if total > max_norm:
        with torch.no_grad():
            for g in grads:
                g.mul_(max_norm / (total + 1e-6))'''

SAMPLE = '''
def sample(model, prime_ids, length, temperature, generator):
    new = []
    with torch.no_grad():
        logits, h = model(prime_ids.view(-1, 1))
        for _ in range(length):
            last = logits[-1, 0]
            if temperature == 0:
                next_id = last.argmax().view(1)
            else:
                next_id = {draw}
            new.append(int(next_id))
            logits, h = model(next_id.view(1, 1){state})
    return torch.tensor(new, dtype=torch.int64)
'''
DRAW_OK = "torch.multinomial(torch.softmax(last / temperature, dim=-1), 1, generator=generator)"

ENTROPY = '''
def entropy_bits(logits, temperature):
    {body}
'''

STATES_AND_Z = '''
def gru_states_and_z(gru, x):
    W_ih, W_hh, b_ih, b_hh = (p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
    H = gru.hidden_size
    h = x.new_zeros(x.shape[1], H)
    states, zs = [], []
    for x_t in x:
        {blocks}
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = {candidate}
        h = {update}
        states.append(h)
        zs.append(z)
    return torch.stack(states), torch.stack(zs)
'''
BLOCKS_OK = ("i_r, i_z, i_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
             "        h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)")

BEST_UNIT = '''
def best_unit(states, feature):
    s = states - states.mean(dim=0)
    f = feature - feature.mean()
    {score}
    unit = int({pick})
    return unit, float(r[unit])
'''
R_OK = "r = (s * f[:, None]).sum(dim=0) / (s.norm(dim=0) * f.norm() + 1e-12)"

WRONG = {
    # the order of first appearance: a valid mapping, not the sorted one: 'hello' and the corpus's first three fail
    "vocab_in_order_of_appearance": (
        {"char_vocab": VOCAB.format(build="list(dict.fromkeys(text))", decode='"".join(chars[int(i)] for i in ids)')},
        {"test_char_vocab": 1.8}),
    # " ".join: the round trip and the list case fail, 3.5 of 5
    "decode_joins_with_spaces": (
        {"char_vocab": VOCAB.format(build="sorted(set(text))", decode='" ".join(chars[int(i)] for i in ids)')},
        {"test_char_vocab": 2.1}),
    # nn.Linear's default bias: not bias-free, and every value is off: 0
    "linear_with_its_default_bias": (
        {"one_hot_linear": "def embedding_as_linear(embedding):\n"
                           "    V, E = embedding.weight.shape\n"
                           "    linear = nn.Linear(V, E)\n"
                           "    with torch.no_grad():\n"
                           "        linear.weight.copy_(embedding.weight.T)\n"
                           "    return linear\n"},
        {"test_one_hot_linear": 0.0}),
    # the (V, E) weight assigned to a layer that wants (E, V): the layer is right, calling it fails: 0.5 of 3.5
    "weight_not_transposed": (
        {"one_hot_linear": "def embedding_as_linear(embedding):\n"
                           "    V, E = embedding.weight.shape\n"
                           "    linear = nn.Linear(V, E, bias=False)\n"
                           "    linear.weight.data = embedding.weight.data.clone()\n"
                           "    return linear\n"},
        {"test_one_hot_linear": 0.29}),
    # view(T, B): the columns interleave the text; the shape and one stream pass, 1 of 4
    "streams_interleaved": (
        {"batching": BATCHING.format(streams="ids[:T * batch_size].view(T, batch_size)", x=X_OK, y=Y_OK, count=COUNT_OK)},
        {"test_batchify_streams": 0.5}),
    # y = x: only the count passes, 1 of 5.5
    "targets_not_shifted": (
        {"batching": BATCHING.format(streams=BATCHIFY_OK, x=X_OK, y=X_OK, count=COUNT_OK)},
        {"test_windows_shift_by_one": 0.55}),
    # T // L windows: one too many when L divides T; window 0 and the 21-row case pass, 2 of 5.5
    "one_window_too_many": (
        {"batching": BATCHING.format(streams=BATCHIFY_OK, x=X_OK, y=Y_OK, count="len(streams) // seq_len")},
        {"test_windows_shift_by_one": 1.09}),
    # (L, N, V) straight into F.cross_entropy: it reads dimension 1 as the classes and raises: 0
    "cross_entropy_without_reshape": (
        {"char_cross_entropy": CROSS_ENTROPY.format(body="return F.cross_entropy(logits, targets)")},
        {"test_char_cross_entropy": 0.0}),
    # log of softmax: right until a logit dominates (inf at +-1000): 4 of 5
    "log_of_softmax": (
        {"char_cross_entropy": CROSS_ENTROPY.format(
            body="return -torch.log(torch.softmax(logits, dim=-1)).gather(-1, targets.unsqueeze(-1)).mean()")},
        {"test_char_cross_entropy": 2.4}),
    # the sum: only the 0-d shape passes, 0.5 of 5
    "sum_not_mean": (
        {"char_cross_entropy": CROSS_ENTROPY.format(
            body="return -F.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).sum()")},
        {"test_char_cross_entropy": 0.3}),
    # log_softmax over time: only the 0-d shape passes
    "log_softmax_over_time": (
        {"char_cross_entropy": CROSS_ENTROPY.format(
            body="return -F.log_softmax(logits, dim=0).gather(-1, targets.unsqueeze(-1)).mean()")},
        {"test_char_cross_entropy": 0.3}),
    # raw frequencies: an unseen character costs inf; only the units pass, 1.5 of 5
    "unigram_without_smoothing": (
        {"unigram_baseline": UNIGRAM.format(smoothing="", units="nats / math.log(2), math.exp(nats)")},
        {"test_unigram_baseline": 0.9}),
    # nats * ln 2: only the units case fails (0 passes), 4 of 5
    "bits_times_ln2": (
        {"unigram_baseline": UNIGRAM.format(smoothing=" + 1", units="nats * math.log(2), math.exp(nats)")},
        {"test_unigram_baseline": 2.4}),
    # h = h_n: the second window's backward raises: 0
    "state_not_detached": (
        {"train_tbptt": LOOP.format(state_in="h", zero_grad=ZERO_GRAD, retain="", clip=CLIP, carry="h_n")},
        {"test_tbptt_loop": 0.0}),
    # retain_graph=True instead of detach: the old graph's weights were changed in place by the optimiser: raises
    "retain_graph_instead_of_detach": (
        {"train_tbptt": LOOP.format(state_in="h", zero_grad=ZERO_GRAD, retain="retain_graph=True", clip=CLIP, carry="h_n")},
        {"test_tbptt_loop": 0.0}),
    # a fresh state at every window: the floats and the clipping pass, 1.5 of 7.5
    "state_reset_every_window": (
        {"train_tbptt": LOOP.format(state_in="None", zero_grad=ZERO_GRAD, retain="", clip=CLIP, carry="h_n.detach()")},
        {"test_tbptt_loop": 1.0}),
    # no clipping: the floats and the state pass, 2 of 7.5
    "no_clipping": (
        {"train_tbptt": LOOP.format(state_in="h", zero_grad=ZERO_GRAD, retain="", clip="", carry="h_n.detach()")},
        {"test_tbptt_loop": 1.33}),
    # no zero_grad: gradients add up; the floats, the state and the (clipped) norms pass, 3 of 7.5
    "no_zero_grad": (
        {"train_tbptt": LOOP.format(state_in="h", zero_grad="", retain="", clip=CLIP, carry="h_n.detach()")},
        {"test_tbptt_loop": 2.0}),
    "mcq_tbptt_wrong_letters": (
        {"mcq_tbptt": 'mcq_retain_graph = "A"\nmcq_detach_values = "B"\n'},
        {"test_mcq_tbptt": 0.0}),
    # clipped one parameter at a time: the norm, the small case and the lone gradient pass, 2.5 of 5.5
    "clip_each_parameter_alone": (
        {"clip_gradients": CLIP_GRADIENTS.format(body='''    with torch.no_grad():
        for g in grads:
            if g.norm() > max_norm:
                g.mul_(max_norm / (g.norm() + 1e-6))''', returned="total")},
        {"test_clip_gradients": 1.36}),
    # clip_grad_value_: elements clamped: the norm and the small case pass, 2 of 5.5
    "clamp_each_value": (
        {"clip_gradients": CLIP_GRADIENTS.format(body='''    with torch.no_grad():
        for g in grads:
            g.clamp_(-max_norm, max_norm)''', returned="total")},
        {"test_clip_gradients": 1.09}),
    # the library's clipping called: from scratch means from scratch, every case fails
    "shortcut_clip_grad_norm": (
        {"clip_gradients": "def clip_gradients(parameters, max_norm):\n    return nn.utils.clip_grad_norm_(parameters, max_norm)\n"},
        {"test_clip_gradients": 0.0}),
    "shortcut_get_total_norm_and_clip_grads_with_norm": (
        {"clip_gradients": ("def clip_gradients(parameters, max_norm):\n    params = list(parameters)\n"
                            "    total = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])\n"
                            "    torch.nn.utils.clip_grads_with_norm_(params, max_norm, total)\n    return total\n")},
        {"test_clip_gradients": 0.0}),
    # the norm after clipping: the gradients are right, the returned norm is not: 3 of 5.5
    "returns_the_norm_after_clipping": (
        {"clip_gradients": CLIP_GRADIENTS.format(body=CLIP_TOTAL, returned="torch.stack([g.norm() for g in grads]).norm()")},
        {"test_clip_gradients": 1.64}),
    # the probabilities divided by T: multinomial renormalises, T is ignored: greedy and T = 1 pass, 4 of 7
    "temperature_on_probabilities": (
        {"sample": SAMPLE.format(draw="torch.multinomial(torch.softmax(last, dim=-1) / temperature, 1, generator=generator)",
                                 state=", h")},
        {"test_sample": 2.29}),
    # the global random generator: only the dtype and greedy pass, 2 of 7
    "global_random_generator": (
        {"sample": SAMPLE.format(draw="torch.multinomial(torch.softmax(last / temperature, dim=-1), 1)", state=", h")},
        {"test_sample": 1.14}),
    # the state dropped between characters: only the dtype passes, 0.5 of 7
    "state_not_carried_while_writing": (
        {"sample": SAMPLE.format(draw=DRAW_OK, state="")},
        {"test_sample": 0.29}),
    # nats: only the dominant logit (0 either way) passes, 0.5 of 4
    "entropy_in_nats": (
        {"entropy_bits": ENTROPY.format(body="log_p = F.log_softmax(logits / temperature, dim=-1)\n"
                                             "    return (-(log_p.exp() * log_p).sum(dim=-1)).mean()")},
        {"test_entropy_bits": 0.25}),
    # logits * T: right at T = 1 and for uniform or dominant logits, 2.5 of 4
    "temperature_multiplies_logits": (
        {"entropy_bits": ENTROPY.format(body="log_p = F.log_softmax(logits * temperature, dim=-1)\n"
                                             "    return (-(log_p.exp() * log_p).sum(dim=-1) / math.log(2)).mean()")},
        {"test_entropy_bits": 1.25}),
    # log of softmax: nan for a dominant logit, 3.5 of 4
    "entropy_with_log_of_softmax": (
        {"entropy_bits": ENTROPY.format(body="p = torch.softmax(logits / temperature, dim=-1)\n"
                                             "    return (-(p * torch.log(p)).sum(dim=-1) / math.log(2)).mean()")},
        {"test_entropy_bits": 1.75}),
    "mcq_sampling_wrong_letters": (
        {"mcq_sampling": 'mcq_low_temperature = "A"\nmcq_greedy_loops = "C"\n'},
        {"test_mcq_sampling": 1.0}),
    # Cho's reset before the product: the shapes and b_iz = +30 (state stays 0 either way) pass, 1 of 5.5
    "reset_before_product": (
        {"gru_states_and_z": STATES_AND_Z.format(
            blocks=BLOCKS_OK + "\n        W_hn, b_hn = W_hh[2 * H:], b_hh[2 * H:]",
            candidate="torch.tanh(i_n + (r * h) @ W_hn.T + b_hn)", update="(1 - z) * n + z * h")},
        {"test_gru_states_and_z": 0.73}),
    # (z, r, n): z read from the reset block; only the shapes pass
    "z_from_the_reset_block": (
        {"gru_states_and_z": STATES_AND_Z.format(
            blocks=BLOCKS_OK.replace("i_r, i_z, i_n", "i_z, i_r, i_n").replace("h_r, h_z, h_n", "h_z, h_r, h_n"),
            candidate="torch.tanh(i_n + r * h_n)", update="(1 - z) * n + z * h")},
        {"test_gru_states_and_z": 0.36}),
    # the other convention: z * n + (1 - z) * h; only the shapes pass
    "z_and_one_minus_z_swapped": (
        {"gru_states_and_z": STATES_AND_Z.format(blocks=BLOCKS_OK, candidate="torch.tanh(i_n + r * h_n)",
                                                 update="z * n + (1 - z) * h")},
        {"test_gru_states_and_z": 0.36}),
    # the states from nn.GRU itself (from_scratch="the gates"): every case fails
    "shortcut_states_from_nn_gru": (
        {"gru_states_and_z": '''
def gru_states_and_z(gru, x):
    states = gru(x)[0].detach()
    H = gru.hidden_size
    W_ih, W_hh, b_ih, b_hh = (p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
    previous = torch.cat([torch.zeros(1, x.shape[1], H), states[:-1]])
    z = torch.sigmoid(x @ W_ih[H:2 * H].T + b_ih[H:2 * H] + previous @ W_hh[H:2 * H].T + b_hh[H:2 * H])
    return states, z
'''},
        {"test_gru_states_and_z": 0.0}),
    # the step from torch.gru_cell in the loop, z from the equations: the guard fails every case
    "shortcut_gru_cell_in_the_loop": (
        {"gru_states_and_z": '''
def gru_states_and_z(gru, x):
    W_ih, W_hh, b_ih, b_hh = (p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
    H = gru.hidden_size
    h = x.new_zeros(x.shape[1], H)
    states, zs = [], []
    for x_t in x:
        zs.append(torch.sigmoid(x_t @ W_ih[H:2 * H].T + b_ih[H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H]))
        h = torch.gru_cell(x_t, h, W_ih, W_hh, b_ih, b_hh)
        states.append(h)
    return torch.stack(states), torch.stack(zs)
'''},
        {"test_gru_states_and_z": 0.0}),
    # the largest r, not |r|: the types, the positive-winner and constant cases pass, 1.5 of 4
    "largest_r_not_abs": (
        {"best_unit": BEST_UNIT.format(score=R_OK, pick="r.argmax()")},
        {"test_best_unit": 1.12}),
    # a covariance: the scale wins; the types and the constant unit pass, 1 of 4
    "covariance_not_correlation": (
        {"best_unit": BEST_UNIT.format(score="r = (s * f[:, None]).mean(dim=0)", pick="r.abs().argmax()")},
        {"test_best_unit": 0.75}),
}

FUNDAMENTAL = {"shortcut_clip_grad_norm", "shortcut_get_total_norm_and_clip_grads_with_norm", "weight_not_transposed", "linear_with_its_default_bias", "streams_interleaved", "targets_not_shifted",
               "cross_entropy_without_reshape", "sum_not_mean", "log_softmax_over_time", "state_not_detached",
               "retain_graph_instead_of_detach", "state_reset_every_window", "entropy_in_nats", "reset_before_product",
               "z_from_the_reset_block", "z_and_one_minus_z_swapped", "shortcut_states_from_nn_gru", "shortcut_gru_cell_in_the_loop",
               "covariance_not_correlation"}

# Correct answers in other styles than the solution's; each must score FULL (tests/test_valid_answers.py).
VALID = {
    # plain loops and Python containers; index() lookups; F.one_hot-free; step-by-step loops everywhere
    "loops_and_lists": {
        "char_vocab": '''
def build_vocab(text):
    seen = []
    for c in text:
        if c not in seen:
            seen.append(c)
    seen.sort()
    return seen


def encode(text, chars):
    lookup = {}
    for i, c in enumerate(chars):
        lookup[c] = i
    out = []
    for c in text:
        out.append(lookup[c])
    return torch.LongTensor(out)


def decode(ids, chars):
    pieces = []
    for i in list(ids):
        pieces.append(chars[int(i)])
    return "".join(pieces)
''',
        "one_hot_linear": '''
def embedding_as_linear(embedding):
    vocab, dim = embedding.num_embeddings, embedding.embedding_dim
    layer = nn.Linear(in_features=vocab, out_features=dim, bias=False)
    with torch.no_grad():
        for v in range(vocab):
            layer.weight[:, v] = embedding.weight[v]
    return layer
''',
        "batching": '''
def batchify(ids, batch_size):
    T = len(ids) // batch_size
    columns = []
    for b in range(batch_size):
        columns.append(ids[b * T:(b + 1) * T])
    return torch.stack(columns, dim=1)


def windows(streams, seq_len):
    pairs = []
    k = 0
    while (k + 1) * seq_len + 1 <= len(streams):
        pairs.append((streams[k * seq_len:(k + 1) * seq_len], streams[k * seq_len + 1:(k + 1) * seq_len + 1]))
        k += 1
    return pairs
''',
        "char_cross_entropy": '''
def char_cross_entropy(logits, targets):
    L, N, V = logits.shape
    total = 0.0
    for t in range(L):
        log_probs = torch.log_softmax(logits[t], dim=1)
        for b in range(N):
            total = total - log_probs[b, targets[t, b]]
    return total / (L * N)
''',
        "unigram_baseline": '''
def unigram_nats(train_ids, test_ids, vocab_size):
    counts = [1] * vocab_size
    for i in train_ids.tolist():
        counts[i] += 1
    total = sum(counts)
    loss = 0.0
    for i in test_ids.tolist():
        loss -= math.log(counts[i] / total)
    return loss / len(test_ids)


def bits_and_perplexity(nats):
    bits = nats / math.log(2)
    return [bits, 2 ** bits]
''',
        "train_tbptt": '''
def train_tbptt(model, streams, seq_len, optimiser, steps, max_norm=1.0):
    all_windows = windows(streams, seq_len)
    model.train()
    history = []
    state = None
    position = 0
    for step in range(steps):
        if position == len(all_windows):
            position = 0
        if position == 0:
            state = None
        inputs, targets = all_windows[position]
        position += 1
        optimiser.zero_grad()
        logits, last = model(inputs, state)
        loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
        optimiser.step()
        state = last.detach()
        history.append(float(loss))
    model.eval()
    return history
''',
        "clip_gradients": '''
def clip_gradients(parameters, max_norm):
    grads = []
    for p in parameters:
        if p.grad is not None:
            grads.append(p.grad)
    squares = 0.0
    for g in grads:
        squares += float((g ** 2).sum())
    total = squares ** 0.5
    if total > max_norm:
        factor = max_norm / (total + 1e-6)
        for g in grads:
            g.mul_(factor)
    return total
''',
        "sample": '''
def sample(model, prime_ids, length, temperature, generator):
    written = []
    with torch.no_grad():
        logits, state = model(prime_ids.reshape(len(prime_ids), 1))
        for _ in range(length):
            scores = logits[-1]  # (1, V)
            if temperature == 0:
                choice = int(torch.argmax(scores, dim=-1))
            else:
                choice = int(torch.multinomial(F.softmax(scores / temperature, dim=-1), 1, generator=generator))
            written.append(choice)
            logits, state = model(torch.tensor([[choice]]), state)
    return torch.tensor(written, dtype=torch.long)
''',
        "entropy_bits": '''
def entropy_bits(logits, temperature):
    flat = logits.reshape(-1, logits.shape[-1]) / temperature
    values = []
    for row in flat:
        log_p = torch.log_softmax(row, dim=0)
        values.append(float(-(log_p.exp() * log_p).sum()) / math.log(2))
    return sum(values) / len(values)
''',
        "gru_states_and_z": '''
def gru_states_and_z(gru, x):
    H = gru.hidden_size
    W_ih, W_hh = gru.weight_ih_l0.detach(), gru.weight_hh_l0.detach()
    b_ih, b_hh = gru.bias_ih_l0.detach(), gru.bias_hh_l0.detach()
    L, N, _ = x.shape
    states = torch.zeros(L, N, H)
    zs = torch.zeros(L, N, H)
    h = torch.zeros(N, H)
    for t in range(L):
        r = torch.sigmoid(x[t] @ W_ih[:H].T + b_ih[:H] + h @ W_hh[:H].T + b_hh[:H])
        z = torch.sigmoid(x[t] @ W_ih[H:2 * H].T + b_ih[H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H])
        n = torch.tanh(x[t] @ W_ih[2 * H:].T + b_ih[2 * H:] + r * (h @ W_hh[2 * H:].T + b_hh[2 * H:]))
        h = (1 - z) * n + z * h
        states[t] = h
        zs[t] = z
    return states, zs
''',
        "best_unit": '''
def best_unit(states, feature):
    best, best_r = 0, 0.0
    f = feature - feature.mean()
    for j in range(states.shape[1]):
        s = states[:, j] - states[:, j].mean()
        denominator = float(s.norm() * f.norm())
        r = float((s * f).sum()) / denominator if denominator > 0 else 0.0
        if abs(r) > abs(best_r):
            best, best_r = j, r
    return best, best_r
''',
    },
    # the library where it fits: F.cross_entropy on flattened tensors, torch.corrcoef, Categorical's entropy,
    # F.linear, torch.nn.utils.get_total_norm-free norms with linalg
    "library_calls": {
        "char_vocab": '''
def build_vocab(text):
    return sorted(frozenset(text))


def encode(text, chars):
    return torch.as_tensor(list(map(chars.index, text)), dtype=torch.long)


def decode(ids, chars):
    ids = ids.tolist() if torch.is_tensor(ids) else ids
    return "".join(map(chars.__getitem__, ids))
''',
        "one_hot_linear": '''
def embedding_as_linear(embedding):
    linear = torch.nn.Linear(*embedding.weight.shape, bias=False)
    linear.weight = nn.Parameter(embedding.weight.detach().t().clone())
    return linear
''',
        "batching": '''
def batchify(ids, batch_size):
    usable = (ids.numel() // batch_size) * batch_size
    return ids.narrow(0, 0, usable).reshape(batch_size, -1).transpose(0, 1)


def windows(streams, seq_len):
    n = (streams.shape[0] - 1) // seq_len
    xs = streams[:n * seq_len].split(seq_len)
    ys = streams[1:n * seq_len + 1].split(seq_len)
    return list(zip(xs, ys))
''',
        "char_cross_entropy": '''
def char_cross_entropy(logits, targets):
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
''',
        "unigram_baseline": '''
def unigram_nats(train_ids, test_ids, vocab_size):
    counts = torch.bincount(train_ids, minlength=vocab_size) + 1
    probs = counts.float() / counts.sum()
    return float(F.nll_loss(probs.log().expand(len(test_ids), -1), test_ids))


def bits_and_perplexity(nats):
    return math.log2(math.e) * nats, math.exp(nats)
''',
        "train_tbptt": '''
def train_tbptt(model, streams, seq_len, optimiser, steps, max_norm=1.0):
    wins = windows(streams, seq_len)
    model.train()
    out, hidden = [], None
    for step in range(steps):
        k = step % len(wins)
        hidden = None if k == 0 else hidden.detach()
        x, y = wins[k]
        logits, hidden = model(x, hidden)
        loss = F.cross_entropy(logits.permute(1, 2, 0), y.t())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(list(model.parameters()), max_norm)
        optimiser.step()
        out.append(loss.item())
    model.eval()
    return out
''',
        "clip_gradients": '''
def clip_gradients(parameters, max_norm):
    grads = [p.grad for p in list(parameters) if p.grad is not None]
    total = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    with torch.no_grad():
        torch._foreach_mul_(grads, scale.item())
    return total.item()
''',
        "sample": '''
def sample(model, prime_ids, length, temperature, generator):
    out = torch.empty(length, dtype=torch.int64)
    with torch.inference_mode():
        logits, h = model(prime_ids[:, None])
        for i in range(length):
            if temperature == 0:
                nxt = logits[-1].argmax(dim=-1, keepdim=True)  # (1, 1)
            else:
                nxt = torch.multinomial(torch.softmax(logits[-1] / temperature, dim=-1), 1, generator=generator)
            out[i] = nxt.item()
            logits, h = model(nxt.view(1, 1), h)
    return out
''',
        "entropy_bits": '''
def entropy_bits(logits, temperature):
    return torch.distributions.Categorical(logits=logits / temperature).entropy().mean() / math.log(2)
''',
        "gru_states_and_z": '''
def gru_states_and_z(gru, x):
    W_ih, W_hh = gru.weight_ih_l0.detach(), gru.weight_hh_l0.detach()
    b_ih, b_hh = gru.bias_ih_l0.detach(), gru.bias_hh_l0.detach()
    pre_x = F.linear(x, W_ih, b_ih)  # (L, N, 3H): the input part of every step at once
    h = torch.zeros(x.shape[1], gru.hidden_size, dtype=x.dtype)
    states, zs = [], []
    for t in range(x.shape[0]):
        x_r, x_z, x_n = pre_x[t].chunk(3, -1)
        h_r, h_z, h_n = F.linear(h, W_hh, b_hh).chunk(3, -1)
        z = torch.sigmoid(x_z + h_z)
        h = (1 - z) * torch.tanh(x_n + torch.sigmoid(x_r + h_r) * h_n) + z * h
        states.append(h)
        zs.append(z)
    return torch.stack(states), torch.stack(zs)
''',
        "best_unit": '''
def best_unit(states, feature):
    r = torch.nan_to_num(torch.corrcoef(torch.cat([feature[None, :].to(states.dtype), states.T]))[0, 1:])
    unit = r.abs().argmax().item()
    return unit, r[unit].item()
''',
    },
    # float64 and numpy where natural, einsum, other names
    "float64_numpy_einsum": {
        "char_vocab": '''
import numpy as np


def build_vocab(text):
    return [str(c) for c in np.unique(list(text))]


def encode(text, chars):
    table = dict(zip(chars, range(len(chars))))
    return torch.from_numpy(np.array([table[c] for c in text], dtype=np.int64))


def decode(ids, chars):
    return "".join(np.array(chars)[np.asarray(ids, dtype=np.int64)].tolist())
''',
        "one_hot_linear": '''
def embedding_as_linear(embedding):
    V, E = embedding.weight.shape
    linear = nn.Linear(V, E, bias=False)
    linear.load_state_dict({"weight": embedding.weight.detach().T.contiguous()})
    return linear
''',
        "batching": '''
import numpy as np


def batchify(ids, batch_size):
    T = len(ids) // batch_size
    return torch.from_numpy(np.ascontiguousarray(ids.numpy()[:T * batch_size].reshape(batch_size, T).T))


def windows(streams, seq_len):
    starts = range(0, len(streams) - seq_len, seq_len)
    return [(streams[s:s + seq_len], streams[s + 1:s + seq_len + 1]) for s in starts]
''',
        "char_cross_entropy": '''
def char_cross_entropy(logits, targets):
    logits = logits.double()
    picked = torch.einsum("lnv,lnv->ln", logits, F.one_hot(targets, logits.shape[-1]).double())
    return (torch.logsumexp(logits, dim=-1) - picked).mean()
''',
        "unigram_baseline": '''
import numpy as np


def unigram_nats(train_ids, test_ids, vocab_size):
    counts = np.bincount(train_ids.numpy(), minlength=vocab_size).astype(np.float64) + 1.0
    return float(-np.log(counts / counts.sum())[test_ids.numpy()].mean())


def bits_and_perplexity(nats):
    return (np.float64(nats) / np.log(2.0), np.exp(np.float64(nats)))
''',
        "train_tbptt": '''
def train_tbptt(model, streams, seq_len, optimiser, steps, max_norm=1.0):
    batches = windows(streams, seq_len)
    model.train()
    record = []
    carried = None
    for i in range(steps):
        x, y = batches[i % len(batches)]
        if i % len(batches) == 0:
            carried = None
        logits, h_n = model(x, carried)
        log_p = F.log_softmax(logits, dim=-1)
        loss = -torch.einsum("lnv,lnv->", log_p, F.one_hot(y, logits.shape[-1]).to(log_p.dtype)) / y.numel()
        for p in model.parameters():
            p.grad = None
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimiser.step()
        carried = h_n.detach().clone()
        record.append(round(loss.item(), 10))
    model.eval()
    return record
''',
        "clip_gradients": '''
import numpy as np


def clip_gradients(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = float(np.sqrt(sum(np.sum(g.double().numpy() ** 2) for g in grads)))
    if total > max_norm:
        for g in grads:
            g.copy_(g * (max_norm / (total + 1e-6)))
    return np.float64(total)
''',
        "sample": '''
def sample(model, prime_ids, length, temperature, generator):
    picks = []
    with torch.no_grad():
        out, state = model(prime_ids.unsqueeze(1))
        last = out[-1, 0]
        while len(picks) < length:
            if temperature > 0:
                weights = torch.exp(torch.log_softmax(last / temperature, dim=0))
                pick = torch.multinomial(weights, num_samples=1, generator=generator)
            else:
                pick = torch.argmax(last).reshape(1)
            picks.append(pick.item())
            out, state = model(pick.reshape(1, 1), state)
            last = out[-1, 0]
    return torch.as_tensor(picks, dtype=torch.int64)
''',
        "entropy_bits": '''
def entropy_bits(logits, temperature):
    log2_p = F.log_softmax(logits.double() / temperature, dim=-1) / math.log(2)
    return -torch.einsum("...v,...v->...", log2_p.exp2(), log2_p).mean()
''',
        "gru_states_and_z": '''
def gru_states_and_z(gru, x):
    x = x.double()
    H = gru.hidden_size
    W_ih, W_hh, b_ih, b_hh = (p.detach().double() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))
    h = torch.zeros(x.shape[1], H, dtype=torch.float64)
    hs, zs = [], []
    for x_t in x:
        gi = torch.einsum("ni,gi->ng", x_t, W_ih) + b_ih
        gh = torch.einsum("nh,gh->ng", h, W_hh) + b_hh
        reset = torch.sigmoid(gi[:, :H] + gh[:, :H])
        update = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        candidate = torch.tanh(gi[:, 2 * H:] + reset * gh[:, 2 * H:])
        h = candidate + update * (h - candidate)
        hs.append(h)
        zs.append(update)
    return torch.stack(hs), torch.stack(zs)
''',
        "best_unit": '''
import numpy as np


def best_unit(states, feature):
    S = states.double().numpy()
    f = feature.double().numpy()
    S = S - S.mean(axis=0)
    f = f - f.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.nan_to_num(S.T @ f / (np.linalg.norm(S, axis=0) * np.linalg.norm(f)))
    unit = int(np.argmax(np.abs(r)))
    return unit, float(r[unit])
''',
    },
}
