"""Notebook 07 (nn.GRU in practice): realistic wrong submissions and the scores they deserve.

Every scored case of notebook 07's test cells has weight 1 (format checks of multiple-choice answers and
predicted shapes have weight 0), so a test cell scores points * (cases passed) / (cases), rounded to 2
decimals. The cases, in order (hidden ones marked h):
- test_make_gru (2 points, 4 cases): sizes (10, 20); parameter names and shapes; h: other arguments at
  their defaults; h: the class is GRU.
- test_mcq_gru_constructor (2 points, 2 cases): h: (a) B; h: (b) B.
- test_mcq_gru_layout (5 points, 5 cases): h: (a) D; h: (b) A; h: (c) A; h: out shape (5, 10, 4);
  h: h shape (1, 10, 4).
- test_gru_shapes (3 points, 6 cases): 1 default (L7, N4); 2 batch_first (L7, N4); 3 bidirectional, default;
  4 two layers, bidirectional, batch_first (L7, N5); h 5 three layers, one direction, default;
  h 6 one step, bidirectional, batch_first (N3).
- test_recurrent_param_count (4 points, 10 cases): 1 RNN(10, 20); 2 GRU(10, 20); 3 LSTM(10, 20);
  4 GRU 2 layers; 5 GRU 2 layers bidirectional; 6 GRU bias=False; h 7 LSTM(3, 7) 3 layers bidirectional;
  h 8 RNN(1, 1) 2 layers bias=False; h 9 GRU(64, 128) bidirectional; h 10 GRU(5, 2) 3 layers bias=False.
- test_summarise_timings (2 points, 5 cases): 1 RNN, number=1 (symmetric samples); 2 GRU, number=1;
  3 GRU, number=5; 4 GRU with an outlier in the RNN's samples, number=2; h 5 all three kinds, five
  repeats with an outlier in the GRU's, number=3.
- test_mcq_gru_variable_lengths (1 point, 1 case): h: D.
- test_encode_gru (4 points, 7 cases): 1 bidirectional, sorted lengths (6, 4, 2); 2 bidirectional,
  shuffled (4, 2, 6); 3 one direction, shuffled; 4 two layers bidirectional, shuffled; 5 4 more padding
  steps of 9.0 change nothing; h 6 batch_first, 2 layers, bidirectional, lengths (3, 7, 1, 7, 4);
  h 7 one direction, 2 layers, time first, lengths (4, 9, 2, 6, 9, 1).
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
    # valid code, wrong layer GRU(20, 10): fails the sizes and the parameter shapes, 2 of 4 -> 1.0
    "sizes_swapped": ({"make_gru": "def make_gru():\n    return nn.GRU(20, 10)\n"}, {"test_make_gru": 1.0}),
    # the right sizes on the wrong layer: fails the parameter shapes (20 rows, not 60) and the class, 2 of 4 -> 1.0
    "an_rnn_instead": ({"make_gru": "def make_gru():\n    return nn.RNN(10, 20)\n"}, {"test_make_gru": 1.0}),
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
    # h_n made batch-first with batch_first=True: fails cases 2, 4 and 6, 3 of 6 -> 1.5
    "h_n_batch_first": (
        {"gru_shapes": SHAPES.format(
            features=CORRECT_FEATURES,
            h_n="(batch, D * num_layers, hidden_size) if batch_first else (D * num_layers, batch, hidden_size)")},
        {"test_gru_shapes": 1.5}),
    # output features without num_directions: fails the three bidirectional cases 3, 4 and 6, 3 of 6 -> 1.5
    "output_without_directions": (
        {"gru_shapes": SHAPES.format(features="hidden_size", h_n=CORRECT_H_N)},
        {"test_gru_shapes": 1.5}),
    # output features multiplied by num_layers: fails the multi-layer cases 4 and 5, 4 of 6 -> 2.0
    "output_counts_layers": (
        {"gru_shapes": SHAPES.format(features="num_layers * D * hidden_size", h_n=CORRECT_H_N)},
        {"test_gru_shapes": 2.0}),
    # a GRU counted like an LSTM: only the RNN and LSTM cases 1, 3, 7, 8 pass, 4 of 10 -> 1.6
    "gru_counted_as_lstm": (
        {"recurrent_param_count": COUNT.format(blocks='{"RNN": 1, "GRU": 4, "LSTM": 4}', features_in=FEATURES_IN,
                                               biases="2 * hidden_size")},
        {"test_recurrent_param_count": 1.6}),
    # every layer reads input_size: fails the multi-layer cases 4, 5, 7 and 10 (case 8 has I = H = 1), 6 of 10 -> 2.4
    "every_layer_reads_input_size": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in="input_size", biases="2 * hidden_size")},
        {"test_recurrent_param_count": 2.4}),
    # layers above 0 read hidden_size, not D * hidden_size: fails the multi-layer bidirectional cases 5 and 7, 8 of 10 -> 3.2
    "upper_layers_read_one_direction": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in="input_size if layer == 0 else hidden_size",
                                               biases="2 * hidden_size")},
        {"test_recurrent_param_count": 3.2}),
    # one bias per block: only the bias=False cases 6, 8 and 10 pass, 3 of 10 -> 1.2
    "one_bias_counted": (
        {"recurrent_param_count": COUNT.format(blocks=BLOCKS, features_in=FEATURES_IN, biases="hidden_size")},
        {"test_recurrent_param_count": 1.2}),
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
    # enforce_sorted left at True: only the sorted case 1 runs, 1 of 7 -> 0.57
    "forgot_enforce_sorted": (
        {"encode_gru": ENCODE.format(
            run="_, h_n = gru(pack_padded_sequence(padded, lengths, batch_first=gru.batch_first))",
            both="torch.cat([h_n[-2], h_n[-1]], dim=-1)", one="h_n[-1]")},
        {"test_encode_gru": 0.57}),
    # the first layer's summaries: right for one layer (cases 1, 2, 3, 5), wrong for two (4, 6, 7), 4 of 7 -> 2.29
    "first_layer_summaries": (
        {"encode_gru": ENCODE.format(run=PACKED, both="torch.cat([h_n[0], h_n[1]], dim=-1)", one="h_n[0]")},
        {"test_encode_gru": 2.29}),
    # no packing: every batch has padding, so every case fails, 0 of 7
    "padded_without_packing": (
        {"encode_gru": ENCODE.format(run="_, h_n = gru(padded)", both="torch.cat([h_n[-2], h_n[-1]], dim=-1)",
                                     one="h_n[-1]")},
        {"test_encode_gru": 0.0}),
    # batch_first not passed on: only the batch-first hidden case 6 fails, 6 of 7 -> 3.43
    "ignores_batch_first": (
        {"encode_gru": ENCODE.format(
            run="_, h_n = gru(pack_padded_sequence(padded, lengths, enforce_sorted=False))",
            both="torch.cat([h_n[-2], h_n[-1]], dim=-1)", one="h_n[-1]")},
        {"test_encode_gru": 3.43}),
}
