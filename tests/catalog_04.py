"""Notebook 04 (variable-length batches, packing): realistic wrong submissions and the scores they deserve.

A test cell scores points * (weight of the cases passed) / (total weight), rounded to 2 decimals; format
checks of multiple-choice answers have weight 0. The cases, in order (hidden ones marked h), weight 1 unless
given:
- test_mcq_variable_lengths (2 points, 2 cases): h: (a) letter A, h: (b) the set {A, C}.
- test_lengths_from_batch_sizes (3 points, 4 cases): sorted batch (unsorted_indices None) [4, 3, 1];
  the example [2, 4, 3] (unsorted_indices [2, 0, 1], a 3-cycle); five shuffled (3, 6, 1, 5, 2);
  h: eleven shuffled with ties.
- test_last_valid_output (3 points, 4 cases): time first, lengths (2, 6, 4, 1) as a list;
  batch first, same lengths as a tensor; batch first, all lengths equal (3 steps);
  h: batch first, six sequences, lengths (7, 1, 3, 7, 5, 2). Reading the layout is decisive: only one
  case is time first.
- test_encode (7 points, 8 cases, total weight 10): 1 time first, one direction, sorted lengths (5, 3, 2);
  2 time first, one direction, shuffled (2, 5, 4, 3); 3 batch_first=True, one direction, shuffled (weight 2);
  4 batch_first=True, two directions, shuffled (weight 2); 5 batch first with 4 more steps of 9.0 padding
  still equals each sequence alone; 6 the gradient at the padded positions is exactly 0 (batch first);
  h 7 batch_first, 2 layers, 2 directions, lengths (3, 7, 1, 7, 4); h 8 batch_first, 2 layers, lengths
  (4, 9, 2, 6, 9, 1). The batch_first layout is visible and decisive: 8 of the 10 weights are batch first.

FUNDAMENTAL lists the mistakes that get an exercise fundamentally wrong (a wrong count, a wrong order or
layout, no packing, results that belong to other sequences); each keeps at most 25 % of its test cell.
"""
SOLUTION = "04_packing/04_variable_length_batches.ipynb"

FULL = {
    "test_mcq_variable_lengths": 2.0, "test_lengths_from_batch_sizes": 3.0, "test_last_valid_output": 3.0,
    "test_encode": 7.0,
}

LENGTHS = '''
def lengths_from_batch_sizes(batch_sizes, unsorted_indices=None):
    batch_sizes = torch.as_tensor(batch_sizes)
    n = int(batch_sizes[0])
    sorted_lengths = [int((batch_sizes {compare} k).sum()) for k in range(n)]
    if unsorted_indices is None:
        return sorted_lengths
{reorder}
'''
IN_ORIGINAL_ORDER = "    return [sorted_lengths[int(k)] for k in unsorted_indices]\n"

LAST = '''
def last_valid_output(output, lengths, batch_first=False):
    last = torch.as_tensor(lengths) - 1
    rows = torch.arange(len(last))
    return {result}
'''

ENCODE = '''
def encode(rnn, padded, lengths):
{body}
'''

WRONG = {
    # (a) right, (b) forgets that the loop is correct, only slow: 1 of the 2 hidden cases
    "loop_thought_wrong": (
        {"mcq_variable_lengths": 'mcq_variable_lengths = "A"\napproaches_with_correct_h_n = {"A"}\n'},
        {"test_mcq_variable_lengths": 1.0}),
    "wrong_letters": (
        {"mcq_variable_lengths": 'mcq_variable_lengths = "C"\napproaches_with_correct_h_n = {"c"}\n'},
        {"test_mcq_variable_lengths": 0.0}),
    # batch_sizes[t] >= k: the k-th longest gets the length of the (k-1)-th; every case has two distinct
    # lengths among its longest sequences, so all 4 cases fail
    "off_by_one_count": (
        {"lengths_from_batch_sizes": LENGTHS.format(compare=">=", reorder=IN_ORIGINAL_ORDER)},
        {"test_lengths_from_batch_sizes": 0.0}),
    # lengths in sorted order: only the already sorted batch passes, 1 of 4 cases: 3 * 1/4
    "sorted_order_returned": (
        {"lengths_from_batch_sizes": LENGTHS.format(compare=">", reorder="    return sorted_lengths\n")},
        {"test_lengths_from_batch_sizes": 0.75}),
    # result[unsorted_indices[i]] = sorted_lengths[i] applies the inverse permutation; none of the
    # shuffled batches has a permutation that is its own inverse, so 1 of 4 cases: 0.75
    "permutation_backwards": (
        {"lengths_from_batch_sizes": LENGTHS.format(compare=">", reorder=(
            "    result = [0] * n\n"
            "    for i, k in enumerate(unsorted_indices):\n"
            "        result[int(k)] = sorted_lengths[i]\n"
            "    return result\n"))},
        {"test_lengths_from_batch_sizes": 0.75}),
    # the last row: right only when all lengths are equal (the batch-first case), 1 of 4 cases: 0.75
    "last_row": (
        {"last_valid_output": LAST.format(result="output[:, -1] if batch_first else output[-1]")},
        {"test_last_valid_output": 0.75}),
    # time-first indexing whatever batch_first says: only the time-first case passes (the equal-lengths batch
    # is (4, 3, 5): row 3 of dimension 1 raises an IndexError), 1 of 4: 0.75
    "ignores_batch_first_in_last_valid_output": (
        {"last_valid_output": LAST.format(result="output[last, rows]")},
        {"test_last_valid_output": 0.75}),
    # output[lengths]: one step too far, an IndexError whenever the longest sequence fills the tensor,
    # which it does in all 4 cases (all lengths equal included)
    "one_step_too_far": (
        {"last_valid_output": LAST.format(result="output[rows, last + 1] if batch_first else output[last + 1, rows]")},
        {"test_last_valid_output": 0.0}),
    # enforce_sorted left at True: only case 1 (sorted lengths) runs, weight 1 of 10: 0.7
    "enforce_sorted_default": (
        {"encode": ENCODE.format(body="    return rnn(pack_padded_sequence(padded, lengths, batch_first=rnn.batch_first))[1]")},
        {"test_encode": 0.7}),
    # padding without packing: every batch has shorter sequences, the extra padding changes h_n and the
    # gradient reaches the padding: 0 of 10
    "no_packing": (
        {"encode": ENCODE.format(body="    return rnn(padded)[1]")},
        {"test_encode": 0.0}),
    # sorts by hand and returns h_n in sorted order: passes case 1 (already sorted) and case 6 (packed, so
    # no gradient at the padding); the padding case compares with each sequence alone, so it fails:
    # weight 2 of 10: 1.4
    "sorted_by_hand_not_restored": (
        {"encode": ENCODE.format(body=(
            "    lengths = torch.as_tensor(lengths)\n"
            "    sorted_lengths, order = lengths.sort(descending=True)\n"
            "    padded = padded.index_select(0 if rnn.batch_first else 1, order)\n"
            "    return rnn(pack_padded_sequence(padded, sorted_lengths, batch_first=rnn.batch_first))[1]"))},
        {"test_encode": 1.4}),
    # batch_first not passed: pack_padded_sequence reads a (4, L, 3) batch as 4 time steps of L sequences and
    # raises (4 lengths for a batch of L); only the two time-first cases pass, weight 2 of 10: 1.4
    "ignores_batch_first_in_encode": (
        {"encode": ENCODE.format(body="    return rnn(pack_padded_sequence(padded, lengths, enforce_sorted=False))[1]")},
        {"test_encode": 1.4}),
    # run under torch.no_grad(): right values, but no gradient at all, so case 6 fails: weight 9 of 10: 6.3
    "no_grad_encoder": (
        {"encode": ENCODE.format(body=(
            "    with torch.no_grad():\n"
            "        packed = pack_padded_sequence(padded, lengths, batch_first=rnn.batch_first, enforce_sorted=False)\n"
            "        return rnn(packed)[1]"))},
        {"test_encode": 6.3}),
}

FUNDAMENTAL = {
    "wrong_letters", "off_by_one_count", "sorted_order_returned", "permutation_backwards", "last_row",
    "ignores_batch_first_in_last_valid_output", "one_step_too_far", "enforce_sorted_default", "no_packing",
    "sorted_by_hand_not_restored", "ignores_batch_first_in_encode",
}

# Correct answers in other styles than the solution's; each must score FULL.
VALID = {
    # plain Python loops, a list returned in sorted order, pack_padded_sequence called by its module path
    "loops": {
        "lengths_from_batch_sizes": (
            "def lengths_from_batch_sizes(batch_sizes, unsorted_indices=None):\n"
            "    sizes = [int(b) for b in batch_sizes]\n"
            "    lengths = [0] * sizes[0]\n"
            "    for running in sizes:\n"
            "        for k in range(running):\n"
            "            lengths[k] += 1\n"
            "    if unsorted_indices is not None:\n"
            "        lengths = [lengths[int(i)] for i in unsorted_indices]\n"
            "    return lengths\n"),
        "last_valid_output": (
            "def last_valid_output(output, lengths, batch_first=False):\n"
            "    picked = []\n"
            "    for i, n in enumerate(lengths):\n"
            "        n = int(n)\n"
            "        picked.append(output[i, n - 1] if batch_first else output[n - 1, i])\n"
            "    return torch.stack(picked)\n"),
        "encode": (
            "def encode(rnn, padded, lengths):\n"
            "    packed_input = torch.nn.utils.rnn.pack_padded_sequence(\n"
            "        padded, torch.as_tensor(lengths).cpu(), batch_first=rnn.batch_first, enforce_sorted=False)\n"
            "    output, h_n = rnn(packed_input)\n"
            "    return h_n\n"),
    },
    # tensors all the way: a comparison table for the lengths (returned as a tensor), gather, pack_sequence
    # of the unpadded pieces
    "vectorised": {
        "lengths_from_batch_sizes": (
            "def lengths_from_batch_sizes(batch_sizes, unsorted_indices=None):\n"
            "    batch_sizes = torch.as_tensor(batch_sizes)\n"
            "    positions = torch.arange(int(batch_sizes[0]))\n"
            "    sorted_lengths = (batch_sizes[None, :] > positions[:, None]).sum(dim=1)\n"
            "    return sorted_lengths if unsorted_indices is None else sorted_lengths[unsorted_indices]\n"),
        "last_valid_output": (
            "def last_valid_output(output, lengths, batch_first=False):\n"
            "    rows = output if batch_first else output.transpose(0, 1)          # (N, L, F)\n"
            "    index = (torch.as_tensor(lengths) - 1).view(-1, 1, 1).expand(-1, 1, rows.shape[-1])\n"
            "    return rows.gather(1, index).squeeze(1)\n"),
        "encode": (
            "def encode(rnn, padded, lengths):\n"
            "    rows = padded if rnn.batch_first else padded.transpose(0, 1)\n"
            "    pieces = [rows[i, :int(n)] for i, n in enumerate(lengths)]\n"
            "    _, h_n = rnn(pack_sequence(pieces, enforce_sorted=False))\n"
            "    return h_n\n"),
    },
    # counts of sequences ending at each step (a tuple), time-major indexing after a transpose, and a batch
    # sorted by hand whose h_n is put back in the batch's order
    "sorted_by_hand": {
        "lengths_from_batch_sizes": (
            "def lengths_from_batch_sizes(batch_sizes, unsorted_indices=None):\n"
            "    sizes = torch.as_tensor(batch_sizes).tolist()\n"
            "    ending = [now - after for now, after in zip(sizes, sizes[1:] + [0])]   # ending[t]: length t + 1\n"
            "    longest_first = []\n"
            "    for t in reversed(range(len(sizes))):\n"
            "        longest_first += [t + 1] * ending[t]\n"
            "    if unsorted_indices is None:\n"
            "        return tuple(longest_first)\n"
            "    return tuple(longest_first[i] for i in unsorted_indices.tolist())\n"),
        "last_valid_output": (
            "def last_valid_output(output, lengths, batch_first=False):\n"
            "    time_major = output.transpose(0, 1) if batch_first else output\n"
            "    steps = torch.tensor([int(n) - 1 for n in lengths])\n"
            "    return time_major[steps, torch.arange(time_major.shape[1])]\n"),
        "encode": (
            "def encode(rnn, padded, lengths):\n"
            "    lengths = torch.as_tensor(lengths)\n"
            "    order = torch.argsort(lengths, descending=True)\n"
            "    batch_dim = 0 if rnn.batch_first else 1\n"
            "    packed = pack_padded_sequence(padded.index_select(batch_dim, order), lengths[order],\n"
            "                                  batch_first=rnn.batch_first)\n"
            "    h_n = rnn(packed)[1]\n"
            "    return h_n[:, torch.argsort(order)]\n"),
    },
}
