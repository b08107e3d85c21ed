"""rnnlab.sequences.marked_values: the "remember the last marked value" task of notebook 09."""
import pytest
import torch

from rnnlab import sequences


def test_shapes_dtypes_and_features():
    x, stored, marks = sequences.marked_values(seq_len=12, batch=5, mark_prob=0.3, seed=4)
    assert x.shape == (12, 5, 2) and x.dtype == torch.float32
    assert stored.shape == (12, 5) and stored.dtype == torch.float32
    assert marks.shape == (12, 5) and marks.dtype == torch.bool
    assert torch.equal(x[..., 1], marks.float())  # feature 1 is the mark as 0/1
    assert x[..., 0].abs().max() <= 1.0  # feature 0 is the value, in [-1, 1]


def test_target_is_the_last_marked_value_and_zero_before_the_first_mark():
    x, stored, marks = sequences.marked_values(seq_len=40, batch=30, mark_prob=0.15, seed=1)
    for n in range(30):
        held = 0.0
        for t in range(40):
            if marks[t, n]:
                held = x[t, n, 0].item()
            assert stored[t, n].item() == held, (t, n)


def test_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a = sequences.marked_values(20, 3, seed=7)
    b = sequences.marked_values(20, 3, seed=7)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], sequences.marked_values(20, 3, seed=8)[0])
    assert torch.equal(before, torch.random.get_rng_state())


def test_mark_probability_extremes():
    x, stored, marks = sequences.marked_values(10, 4, mark_prob=0.0)
    assert not marks.any() and torch.equal(stored, torch.zeros(10, 4))
    x, stored, marks = sequences.marked_values(10, 4, mark_prob=1.0)
    assert marks.all() and torch.equal(stored, x[..., 0])  # every step is marked: the target is the value itself
    _, _, marks = sequences.marked_values(200, 50, mark_prob=0.1, seed=3)
    assert 0.08 < marks.float().mean().item() < 0.12


@pytest.mark.parametrize("kwargs", [{"seq_len": 0}, {"batch": 0}, {"mark_prob": -0.1}, {"mark_prob": 1.5}])
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        sequences.marked_values(**kwargs)
