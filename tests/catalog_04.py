"""Notebook 04 (variable-length batches, packing): realistic wrong submissions and the scores they deserve.

Every scored case of notebook 04's test cells has weight 1 (format checks of multiple-choice answers
have weight 0), so a test cell scores points * (cases passed) / (cases), rounded to 2 decimals.
The cases, in order (hidden ones marked h):
- test_mcq_variable_lengths (2 points, 2 cases): h: (a) letter A, h: (b) the set {A, C}.
- test_lengths_from_batch_sizes (3 points, 4 cases): sorted batch (unsorted_indices None) [4, 3, 1];
  the example [2, 4, 3] (unsorted_indices [2, 0, 1], a 3-cycle); five shuffled (3, 6, 1, 5, 2);
  h: eleven shuffled with ties.
- test_last_valid_output (3 points, 4 cases): time first, lengths (2, 6, 4, 1) as a list;
  batch first, same lengths as a tensor; time first, all lengths equal (3 steps);
  h: batch first, six sequences, lengths (7, 1, 3, 7, 5, 2).
- test_encode (7 points, 7 cases): 1 one direction, sorted lengths (5, 3, 2); 2 one direction, shuffled
  (2, 5, 3); 3 two directions, shuffled; 4 the change caused by 4 more steps of 9.0 padding is 0;
  5 the gradient at the padded positions is exactly 0; h 6 batch_first, 2 layers, 2 directions,
  lengths (3, 7, 1, 7, 4); h 7 time first, 2 layers, lengths (4, 9, 2, 6, 9, 1).
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
    # the last row: right only when all lengths are equal, 1 of 4 cases: 0.75
    "last_row": (
        {"last_valid_output": LAST.format(result="output[:, -1] if batch_first else output[-1]")},
        {"test_last_valid_output": 0.75}),
    # time-first indexing whatever batch_first says: the two time-first cases pass, 2 of 4: 1.5
    "ignores_batch_first_in_last_valid_output": (
        {"last_valid_output": LAST.format(result="output[last, rows]")},
        {"test_last_valid_output": 1.5}),
    # output[lengths]: one step too far, an IndexError whenever the longest sequence fills the tensor,
    # which it does in all 4 cases
    "one_step_too_far": (
        {"last_valid_output": LAST.format(result="output[rows, last + 1] if batch_first else output[last + 1, rows]")},
        {"test_last_valid_output": 0.0}),
    # enforce_sorted left at True: only case 1 (sorted lengths) runs, 1 of 7 cases: 1.0
    "enforce_sorted_default": (
        {"encode": ENCODE.format(body="    return rnn(pack_padded_sequence(padded, lengths, batch_first=rnn.batch_first))[1]")},
        {"test_encode": 1.0}),
    # padding without packing: every batch has shorter sequences, the extra padding changes h_n and the
    # gradient reaches the padding: 0 of 7
    "no_packing": (
        {"encode": ENCODE.format(body="    return rnn(padded)[1]")},
        {"test_encode": 0.0}),
    # sorts by hand and returns h_n in sorted order: passes case 1 (already sorted), case 4 (the same
    # order twice) and case 5 (packed, so no gradient at the padding): 3 of 7: 3.0
    "sorted_by_hand_not_restored": (
        {"encode": ENCODE.format(body=(
            "    lengths = torch.as_tensor(lengths)\n"
            "    sorted_lengths, order = lengths.sort(descending=True)\n"
            "    padded = padded.index_select(0 if rnn.batch_first else 1, order)\n"
            "    return rnn(pack_padded_sequence(padded, sorted_lengths, batch_first=rnn.batch_first))[1]"))},
        {"test_encode": 3.0}),
    # batch_first not passed: only hidden case 6 (batch_first=True) fails, 6 of 7: 6.0
    "ignores_batch_first_in_encode": (
        {"encode": ENCODE.format(body="    return rnn(pack_padded_sequence(padded, lengths, enforce_sorted=False))[1]")},
        {"test_encode": 6.0}),
    # run under torch.no_grad(): right values, but no gradient at all, so case 5 fails: 6 of 7: 6.0
    "no_grad_encoder": (
        {"encode": ENCODE.format(body=(
            "    with torch.no_grad():\n"
            "        packed = pack_padded_sequence(padded, lengths, batch_first=rnn.batch_first, enforce_sorted=False)\n"
            "        return rnn(packed)[1]"))},
        {"test_encode": 6.0}),
}
