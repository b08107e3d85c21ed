"""rnnlab.batching: checked packing, the reference runs, the picture and the training helpers."""
import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab import batching


def three_sequences():
    return [torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [4.0], [5.0], [6.0]]), torch.tensor([[7.0], [8.0], [9.0]])]


def test_check_lengths_accepts_lists_and_tensors_and_returns_cpu_int64():
    padded = torch.zeros(4, 3, 1)
    for lengths in ([2, 4, 3], torch.tensor([2, 4, 3]), torch.tensor([2.0, 4.0, 3.0]), torch.tensor([2, 4, 3], dtype=torch.int32)):
        got = batching.check_lengths(padded, lengths)
        assert got.dtype == torch.int64 and got.device.type == "cpu" and got.tolist() == [2, 4, 3]
    assert batching.check_lengths(torch.zeros(3, 4, 1), [2, 4, 3], batch_first=True).tolist() == [2, 4, 3]


@pytest.mark.parametrize("lengths,batch_first,message", [
    ([2, 5, 3], True, "sequence 1 has length 5 but padded has only 4 time steps"),
    ([2, 4, 3], False, "got 3 lengths for 4 sequences"),  # a batch-first tensor read time-first
    ([2, 0, 3], True, "sequence 1 has length 0"),
    ([2, 4], True, "got 2 lengths for 3 sequences"),
    ([[2, 4, 3]], True, "lengths must be 1-D"),
    ([2.5, 4, 3], True, "whole numbers"),
])
def test_check_lengths_refuses_what_torch_lets_through(lengths, batch_first, message):
    with pytest.raises(ValueError, match=message):
        batching.check_lengths(torch.zeros(3, 4, 1), lengths, batch_first=batch_first)


def test_torch_itself_does_not_check_lengths_longer_than_the_padding():
    """The reason check_lengths exists (torch 2.13, CPU): no error at packing time."""
    padded = torch.arange(12.0).reshape(3, 4, 1)
    packed = pack_padded_sequence(padded, [2, 5, 3], batch_first=True, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1] and packed.data.shape[0] == 9
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        nn.RNN(1, 2, batch_first=True)(packed)
    with pytest.raises(ValueError, match="only 4 time steps"):
        batching.pack(padded, [2, 5, 3], batch_first=True)


def test_pad_and_pack_matches_pack_sequence_in_any_order():
    packed = batching.pad_and_pack(three_sequences())
    assert packed.data.flatten().tolist() == [3.0, 7.0, 1.0, 4.0, 8.0, 2.0, 5.0, 9.0, 6.0]
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1]
    assert packed.sorted_indices.tolist() == [1, 2, 0] and packed.unsorted_indices.tolist() == [2, 0, 1]
    assert batching.packed_positions(packed) == [(1, 0), (2, 0), (0, 0), (1, 1), (2, 1), (0, 1), (1, 2), (2, 2), (1, 3)]


def test_pad_batch_adds_extra_padding_on_the_time_dimension():
    for batch_first, shape in ((True, (3, 7, 1)), (False, (7, 3, 1))):
        padded, lengths = batching.pad_batch(three_sequences(), batch_first=batch_first, extra=3, padding_value=-1.0)
        assert tuple(padded.shape) == shape and lengths.tolist() == [2, 4, 3]
        assert (padded == -1.0).sum() == 21 - 9


@pytest.mark.parametrize("bidirectional,batch_first,num_layers", [(False, False, 1), (True, True, 2)])
def test_packed_h_n_equals_the_one_by_one_reference(bidirectional, batch_first, num_layers):
    torch.manual_seed(0)
    rnn = nn.RNN(3, 4, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    seqs = [torch.randn(n, 3) for n in (2, 6, 1, 4)]
    padded, lengths = batching.pad_batch(seqs, batch_first=batch_first, extra=2)
    reference = batching.h_n_one_by_one(rnn, padded, lengths)
    assert reference.shape == ((2 if bidirectional else 1) * num_layers, 4, 4)
    with torch.no_grad():
        packed_h_n = rnn(batching.pack(padded, lengths, batch_first=batch_first))[1]
        unpacked_h_n = rnn(padded)[1]
    torch.testing.assert_close(packed_h_n, reference)
    assert (unpacked_h_n - reference).abs().max() > 1e-3


@pytest.mark.parametrize("bidirectional", [False, True])
def test_summary_one_by_one_is_the_last_layer_of_each_sequence_alone(bidirectional):
    torch.manual_seed(1)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=bidirectional)
    seqs = [torch.randn(n, 3) for n in (3, 5, 2)]
    padded, lengths = batching.pad_batch(seqs)
    summary = batching.summary_one_by_one(gru, padded, lengths)
    assert summary.shape == (3, 8 if bidirectional else 4)
    with torch.no_grad():
        for i, seq in enumerate(seqs):
            h_n = gru(seq.unsqueeze(1))[1]
            want = torch.cat([h_n[-2, 0], h_n[-1, 0]]) if bidirectional else h_n[-1, 0]
            torch.testing.assert_close(summary[i], want)


def test_draw_packed_labels_every_data_row():
    top, bottom = batching.draw_packed(batching.pad_and_pack(three_sequences()))
    labels = [t.get_text() for t in top.texts]
    assert sorted(l for l in labels if l.startswith("data[")) == sorted(f"data[{k}]" for k in range(9))
    assert labels.count("pad") == 3
    assert any(t.get_text() == "t=3: 1" for t in bottom.texts)
    matplotlib.pyplot.close("all")


class _Mean(nn.Module):
    """A tiny classifier on the mean of the valid frames: learns quickly, ignores padding."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, padded, lengths):
        mask = torch.arange(padded.shape[1])[None, :] < lengths[:, None]
        return self.linear((padded * mask[..., None]).sum(1) / lengths[:, None])


def test_train_classifier_learns_and_predictions_ignore_extra_padding():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (64,), generator=g)
    seqs = [torch.randn(int(torch.randint(2, 6, (1,), generator=g)), 2, generator=g) + 2.0 * (2 * y - 1)
            for y in labels.tolist()]
    torch.manual_seed(0)
    model = _Mean()
    history = batching.train_classifier(model, seqs, labels, epochs=5, batch_size=16, lr=0.1, seed=0)
    assert len(history["loss"]) == 5 and history["loss"][-1] < history["loss"][0]
    assert len(history["grad_norm"]) == 5 * 4 and all(norm >= 0 for norm in history["grad_norm"])
    logits = batching.predict_logits(model, seqs)
    assert (logits.argmax(1) == labels).float().mean() > 0.95
    torch.testing.assert_close(batching.predict_logits(model, seqs, batch_size=7, extra=5), logits)


def test_minibatches_cover_every_index_once():
    batches = batching.minibatches(10, 4, torch.Generator().manual_seed(1))
    assert [len(b) for b in batches] == [4, 4, 2] and sorted(sum(batches, [])) == list(range(10))
    assert batching.minibatches(5, 2) == [[0, 1], [2, 3], [4]]
