"""Notebook 07 (nn.GRU in practice): realistic wrong submissions and the scores they deserve.

A test cell scores points * (passed weight) / (total weight), rounded to 2 decimals. Format checks of
multiple-choice answers and predicted shapes have weight 0; every other case weighs 1 unless its weight is
given below in brackets. The cases, in order (hidden ones marked h):
- test_make_gru (2 points, total weight 8): sizes (10, 20); [5] parameter names and shapes of nn.GRU(10, 20),
  the decisive case: a wrong class or swapped sizes keep 2 of 8 (0.5); h: other arguments at their defaults;
  h: the class is GRU.
- test_mcq_gru_constructor (2 points, 2 cases): h: (a) B; h: (b) B.
- test_mcq_gru_layout (5 points, 5 cases): h: (a) D; h: (b) A; h: (c) A; h: out shape (5, 10, 4);
  h: h shape (1, 10, 4). The format checks take a tuple or a list of 3 ints.
- test_gru_shapes (3 points, total weight 12): 1 default (L7, N4); [3] 2 batch_first (L7, N4); 3 bidirectional,
  default; [3] 4 two layers, bidirectional, batch_first (L7, N5); h 5 three layers, one direction, default;
  [3] h 6 one step, bidirectional, batch_first (N3). The batch_first cases decide: an h_n laid out batch-first
  keeps 3 of 12 (0.75).
- test_recurrent_param_count (4 points, total weight 17): [2] 1 RNN(10, 20); [2] 2 GRU(10, 20); [2] 3 LSTM(10, 20);
  [2] 4 GRU 2 layers; [2] 5 GRU 2 layers bidirectional; 6 GRU bias=False; [2] h 7 LSTM(3, 7) 3 layers
  bidirectional; h 8 RNN(1, 1) 2 layers bias=False; [2] h 9 GRU(64, 128) bidirectional; h 10 GRU(5, 2) 3 layers
  bias=False. One bias per block keeps only the three bias=False cases, 3 of 17 (0.71).
- test_summarise_timings (2 points, 5 cases): 1 RNN, number=1 (symmetric samples); 2 GRU, number=1;
  3 GRU, number=5; 4 GRU with an outlier in the RNN's samples, number=2; h 5 all three kinds, five
  repeats with an outlier in the GRU's, number=3.
- test_mcq_gru_variable_lengths (1 point, 1 case): h: D.
- test_encode_gru (4 points, 8 cases): 1 bidirectional, sorted lengths (6, 4, 2), default layout; 2 the same
  with a batch_first=True copy of the GRU and the batch transposed (visible, decisive); then each case in
  both layouts (the GRU time-first, and its batch-first copy on the transposed batch): 3 bidirectional,
  shuffled (4, 2, 6); 4 one direction, shuffled; 5 two layers bidirectional, shuffled; 6 4 more padding
  steps of 9.0 change nothing; h 7 batch_first, 2 layers, bidirectional, lengths (3, 7, 1, 7, 4);
  h 8 one direction, 2 layers, lengths (4, 9, 2, 6, 9, 1), both layouts. Ignoring batch_first keeps case 1
  only (0.5).
"""
SOLUTION = "07_gru_in_practice/07_gru_in_practice.ipynb"

FULL = {
    "test_make_gru": 2.0, "test_mcq_gru_constructor": 2.0, "test_mcq_gru_layout": 5.0, "test_gru_shapes": 3.0,
    "test_recurrent_param_count": 4.0, "test_summarise_timings": 2.0, "test_mcq_gru_variable_lengths": 1.0,
    "test_encode_gru": 4.0,
}

LAYOUT_ANSWERS = '''
mcq_batch_first_argument = "{a}"
mcq_batch_first_output = "{b}"
mcq_default_snippet = "{c}"
snippet_out_shape = {out}
snippet_h_shape = {h}
'''

SHAPES = '''
def gru_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    D = 2 if bidirectional else 1
    features = {features}
    output = (batch, seq_len, features) if batch_first else (seq_len, batch, features)
    h_n = {h_n}
    return {{"output": output, "h_n": h_n}}
'''
CORRECT_FEATURES = "D * hidden_size"
CORRECT_H_N = "(D * num_layers, batch, hidden_size)"

COUNT = '''
def recurrent_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    blocks = {blocks}[kind]
    D = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        features_in = {features_in}
        total += D * blocks * (hidden_size * (features_in + hidden_size) + ({biases} if bias else 0))
    return total
'''
BLOCKS = '{"RNN": 1, "GRU": 3, "LSTM": 4}'
FEATURES_IN = "input_size if layer == 0 else D * hidden_size"

TIMINGS = '''
def summarise_timings(samples, number):
    ms = {{kind: 1000 * {average}(values) / {number} for kind, values in samples.items()}}
    return {{kind: ({ratio}) for kind, value in ms.items()}}
'''

ENCODE = '''
def encode_gru(gru, padded, lengths):
    {run}
    if gru.bidirectional:
        return {both}
    return {one}
'''
PACKED = ("_, h_n = gru(pack_padded_sequence(padded, lengths, batch_first=gru.batch_first, "
          "enforce_sorted=False))")

WRONG = {
    # valid code, wrong layer GRU(20, 10): fails the sizes and the parameter shapes (weight 1 + 5), 2 of 8 -> 0.5
    "sizes_swapped": ({"make_gru": "def make_gru():\n    return nn.GRU(20, 10)\n"}, {"test_make_gru": 0.5}),
    # the right sizes on the wrong layer: fails the parameter shapes (20 rows, not 60) and the class, 2 of 8 -> 0.5
    "an_rnn_instead": ({"make_gru": "def make_gru():\n    return nn.RNN(10, 20)\n"}, {"test_make_gru": 0.5}),
    # (a) C "runs and is correct" by keyword order reasoning, (b) the sequence length: 0 of 2
    "wrong_constructor_letters": (
        {"mcq_gru_constructor": 'mcq_gru_constructor = "C"\nmcq_gru_hidden_size = "A"\n'},
        {"test_mcq_gru_constructor": 0.0}),
    # (c) "needs batch_first=True" and h predicted batch-first: passes (a), (b) and the out shape, 3 of 5 -> 3.0
    "snippet_read_as_batch_first": (
        {"mcq_gru_layout": LAYOUT_ANSWERS.format(a="D", b="A", c="C", out="(5, 10, 4)", h="(10, 1, 4)")},
        {"test_mcq_gru_layout": 3.0}),
    # bidirectional for (a), the default layout for (b); the snippet right: 3 of 5 -> 3.0
    "wrong_layout_letters": (
        {"mcq_gru_layout": LAYOUT_ANSWERS.format(a="B", b="B", c="A", out="(5, 10, 4)", h="(1, 10, 4)")},
        {"test_mcq_gru_layout": 3.0}),
    # h_n made batch-first with batch_first=True: fails cases 2, 4 and 6 (weight 3 each), 3 of 12 -> 0.75
    "h_n_batch_first": (
        {"gru_shapes": SHAPES.format(
            features=CORRECT_FEATURES,
            h_n="(batch, D * num_layers, hidden_size) if batch_first else (D * num_layers, batch, hidden_size)")},
        {"test_gru_shapes": 0.75}),
    # output features without num_directions: fails the three bidirectional cases 3, 4 and 6, 5 of 12 -> 1.25
    "output_without_directions": (
        {"gru_shapes": SHAPES.format(features="hidden_size", h_n=CORRECT_H_N)},
        {"test_gru_shapes": 1.25}),
    # output features multiplied by num_layers: fails the multi-layer cases 4 and 5, 8 of 12 -> 2.0
    "output_counts_layers": (
        {"gru_shapes": SHAPES.format(features="num_layers * D * hidden_size", h_n=CORRECT_H_N)},
        {"test_gru_shapes": 2.0}),
    # a GRU counted like an LSTM: only the RNN and LSTM cases 1, 3, 7, 8 pass, 7 of 17 -> 1.65
    "gru_counted_as_lstm": (
        {"recurrent_param_count": COUNT.format(blocks='{"RNN": 1, "GRU": 4, "LSTM": 4}', features_in=FEATURES_IN,
                                               biases="2 * hidden_size")},
        {"test_recurrent_param_count": 1.65}),
    # every layer reads input_size: fails the multi-layer cases 4, 5, 7 and 10 (case 8 has I = H = 1), 10 of 17 -> 2.35
    "every_layer_reads_input_size": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in="input_size", biases="2 * hidden_size")},
        {"test_recurrent_param_count": 2.35}),
    # layers above 0 read hidden_size, not D * hidden_size: fails the multi-layer bidirectional cases 5 and 7, 13 of 17 -> 3.06
    "upper_layers_read_one_direction": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in="input_size if layer == 0 else hidden_size",
                                               biases="2 * hidden_size")},
        {"test_recurrent_param_count": 3.06}),
    # one bias per block: only the bias=False cases 6, 8 and 10 (weight 1 each) pass, 3 of 17 -> 0.71
    "one_bias_counted": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in=FEATURES_IN, biases="hidden_size")},
        {"test_recurrent_param_count": 0.71}),
    # the mean: equal to the median on the symmetric samples of cases 1-3, wrong with an outlier (4, 5), 3 of 5 -> 1.2
    "mean_instead_of_median": (
        {"summarise_timings": "import statistics\n" + TIMINGS.format(
            average="statistics.mean", number="number", ratio='value, value / ms["RNN"]')},
        {"test_summarise_timings": 1.2}),
    # not divided by number: right for number=1 only (cases 1 and 2), 2 of 5 -> 0.8
    "forgot_number_of_calls": (
        {"summarise_timings": TIMINGS.format(average="statistics.median", number="1", ratio='value, value / ms["RNN"]')},
        {"test_summarise_timings": 0.8}),
    # RNN / kind: only the RNN's own ratio 1.0 (case 1) passes, 1 of 5 -> 0.4
    "ratio_upside_down": (
        {"summarise_timings": TIMINGS.format(average="statistics.median", number="number", ratio='value, ms["RNN"] / value')},
        {"test_summarise_timings": 0.4}),
    "variable_lengths_raw_list": (
        {"mcq_gru_variable_lengths": 'mcq_gru_variable_lengths = "A"\n'}, {"test_mcq_gru_variable_lengths": 0.0}),
    # enforce_sorted left at True: only the sorted cases 1 and 2 run, 2 of 8 -> 1.0
    "forgot_enforce_sorted": (
        {"encode_gru": ENCODE.format(
            run="_, h_n = gru(pack_padded_sequence(padded, lengths, batch_first=gru.batch_first))",
            both="torch.cat([h_n[-2], h_n[-1]], dim=-1)", one="h_n[-1]")},
        {"test_encode_gru": 1.0}),
    # the first layer's summaries: right for one layer (cases 1-4 and 6), wrong for two (5, 7, 8), 5 of 8 -> 2.5
    "first_layer_summaries": (
        {"encode_gru": ENCODE.format(run=PACKED, both="torch.cat([h_n[0], h_n[1]], dim=-1)", one="h_n[0]")},
        {"test_encode_gru": 2.5}),
    # no packing: every batch has padding, so every case fails, 0 of 7
    "padded_without_packing": (
        {"encode_gru": ENCODE.format(run="_, h_n = gru(padded)", both="torch.cat([h_n[-2], h_n[-1]], dim=-1)",
                                     one="h_n[-1]")},
        {"test_encode_gru": 0.0}),
    # batch_first not passed on: a batch-first batch packed as time-first fails every case that runs the
    # batch-first layout; only case 1 passes, 1 of 8 -> 0.5
    "ignores_batch_first": (
        {"encode_gru": ENCODE.format(
            run="_, h_n = gru(pack_padded_sequence(padded, lengths, enforce_sorted=False))",
            both="torch.cat([h_n[-2], h_n[-1]], dim=-1)", one="h_n[-1]")},
        {"test_encode_gru": 0.5}),
}

# the mistakes that get an exercise fundamentally wrong; each keeps at most 25 % of its test cell
FUNDAMENTAL = {"sizes_swapped", "an_rnn_instead", "h_n_batch_first", "one_bias_counted", "forgot_enforce_sorted",
               "padded_without_packing", "ignores_batch_first"}

# correct answers in other styles than the solution's: each style scores full marks
VALID = {
    # positional arguments, lists for tuples, a closed formula, numpy's median, h_n viewed per layer
    "positional_lists_numpy": {
        "make_gru": "def make_gru():\n    return nn.GRU(10, 20)\n",
        "gru_shapes": '''
def gru_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    num_directions = 2 if bidirectional else 1
    out = [seq_len, batch, num_directions * hidden_size]
    if batch_first:
        out[0], out[1] = out[1], out[0]
    return {"output": out, "h_n": [num_directions * num_layers, batch, hidden_size]}
''',
        "recurrent_param_count": '''
def recurrent_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    D = 2 if bidirectional else 1
    H = hidden_size
    b = 2 * H if bias else 0
    first = gates * (H * input_size + H * H + b)
    upper = gates * (H * D * H + H * H + b)
    return D * (first + (num_layers - 1) * upper)
''',
        "summarise_timings": '''
import numpy as np


def summarise_timings(samples, number):
    per_call = {k: np.median(np.array(v)) / number * 1e3 for k, v in samples.items()}
    base = per_call["RNN"]
    return {k: [t, t / base] for k, t in per_call.items()}
''',
        "encode_gru": '''
def encode_gru(gru, padded, lengths):
    D = 2 if gru.bidirectional else 1
    packed = nn.utils.rnn.pack_padded_sequence(padded, torch.as_tensor(lengths), batch_first=gru.batch_first,
                                               enforce_sorted=False)
    h_n = gru(packed)[1]
    last = h_n.view(gru.num_layers, D, h_n.shape[1], gru.hidden_size)[-1]   # (D, N, H)
    return last.transpose(0, 1).reshape(h_n.shape[1], D * gru.hidden_size)
''',
    },
    # keywords in another order, torch.Size shapes, a parameter-by-parameter count, loops
    "keywords_sizes_loops": {
        "make_gru": "def make_gru():\n    layer = nn.GRU(hidden_size=20, input_size=10)\n    return layer\n",
        "gru_shapes": '''
def gru_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    n_dir = 1 + int(bidirectional)
    dims = (batch, seq_len) if batch_first else (seq_len, batch)
    return {"output": torch.Size([*dims, n_dir * hidden_size]), "h_n": torch.Size([num_layers * n_dir, batch, hidden_size])}
''',
        "recurrent_param_count": '''
import math


def recurrent_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    rows = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind] * hidden_size
    shapes = []
    for layer in range(num_layers):
        cols = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
        for _direction in range(2 if bidirectional else 1):
            shapes += [(rows, cols), (rows, hidden_size)]
            if bias:
                shapes += [(rows,), (rows,)]
    return sum(math.prod(s) for s in shapes)
''',
        "summarise_timings": '''
def summarise_timings(samples, number):
    rnn_ms = statistics.median(samples["RNN"]) * 1000 / number
    result = {}
    for kind in samples:
        ms_per_call = statistics.median(samples[kind]) * 1000 / number
        result[kind] = (ms_per_call, ms_per_call / rnn_ms)
    return result
''',
        "encode_gru": '''
from torch.nn.utils.rnn import pack_padded_sequence as pack_it


def encode_gru(gru, padded, lengths):
    D = 2 if gru.bidirectional else 1
    _, hidden = gru(pack_it(padded, lengths, gru.batch_first, False))
    return torch.cat(list(hidden[-D:]), dim=-1)
''',
    },
    # every argument spelled out, integer arithmetic in numpy, time-first packing whatever the layout
    "explicit_float_time_first": {
        "make_gru": '''
def make_gru():
    return nn.GRU(input_size=10, hidden_size=20, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                  bidirectional=False)
''',
        "gru_shapes": '''
def gru_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    features = hidden_size * (2 if bidirectional else 1)
    time_first = (seq_len, batch, features)
    output = (time_first[1], time_first[0], time_first[2]) if batch_first else time_first
    h_n = (num_layers * (2 if bidirectional else 1), batch, hidden_size)
    return dict(output=tuple(int(d) for d in output), h_n=tuple(int(d) for d in h_n))
''',
        "recurrent_param_count": '''
import numpy as np


def recurrent_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    D = 2 if bidirectional else 1
    inputs = np.array([input_size] + [D * hidden_size] * (num_layers - 1), dtype=np.int64)
    per_direction = G * hidden_size * (inputs + hidden_size) + (2 * G * hidden_size if bias else 0)
    return D * per_direction.sum()
''',
        "summarise_timings": '''
def summarise_timings(samples, number):
    def median(xs):
        xs = sorted(xs)
        mid = len(xs) // 2
        return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2

    ms = {kind: median(times) / number * 1000.0 for kind, times in samples.items()}
    return {kind: (ms[kind], ms[kind] / ms["RNN"]) for kind in ms}
''',
        "encode_gru": '''
def encode_gru(gru, padded, lengths):
    time_first = padded.transpose(0, 1) if gru.batch_first else padded
    packed = torch.nn.utils.rnn.pack_padded_sequence(time_first, lengths, enforce_sorted=False)
    output, h_n = gru(packed)   # a PackedSequence has no layout: batch_first does not apply to it
    if gru.bidirectional:
        forward, backward = h_n[-2], h_n[-1]
        return torch.cat((forward, backward), 1)
    return h_n[-1]
''',
    },
    # sort the batch by hand (enforce_sorted=True) and put the summaries back in the batch's order
    "sorted_by_hand": {
        "make_gru": "def make_gru():\n    return torch.nn.GRU(10, hidden_size=20)\n",
        "gru_shapes": '''
def gru_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False):
    D = 2 if bidirectional else 1
    shapes = {}
    shapes["output"] = (batch, seq_len, D * hidden_size) if batch_first else (seq_len, batch, D * hidden_size)
    shapes["h_n"] = tuple([D * num_layers, batch, hidden_size])
    return shapes
''',
        "recurrent_param_count": '''
def recurrent_param_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True):
    blocks = dict(RNN=1, GRU=3, LSTM=4)[kind]
    directions = 2 if bidirectional else 1
    count, features = 0, input_size
    for _ in range(num_layers):
        count += directions * blocks * hidden_size * (features + hidden_size + 2 * bias)
        features = directions * hidden_size
    return count
''',
        "summarise_timings": '''
def summarise_timings(samples, number):
    ms_per_call = {}
    for kind, secs in samples.items():
        ms_per_call[kind] = statistics.median([s * 1000 / number for s in secs])
    return {kind: (ms_per_call[kind], ms_per_call[kind] / ms_per_call["RNN"]) for kind in ms_per_call}
''',
        "encode_gru": '''
from torch.nn.utils.rnn import pack_padded_sequence


def encode_gru(gru, padded, lengths):
    lengths = torch.as_tensor(lengths)
    order = torch.argsort(lengths, descending=True)
    batch_dim = 0 if gru.batch_first else 1
    packed = pack_padded_sequence(padded.index_select(batch_dim, order), lengths[order], batch_first=gru.batch_first)
    _, h_n = gru(packed)
    summary = torch.cat([h_n[-2], h_n[-1]], dim=-1) if gru.bidirectional else h_n[-1]
    return summary[torch.argsort(order)]
''',
    },
}
