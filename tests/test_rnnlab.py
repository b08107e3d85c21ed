"""The helper package the notebooks import."""
import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from rnnlab import plots, sequences


def test_pulse_is_zero_but_one_step():
    x = sequences.pulse(seq_len=10, at=3, height=2.0)
    assert x.shape == (10, 1, 1) and x.sum() == 2.0 and x[3, 0, 0] == 2.0
    with pytest.raises(ValueError):
        sequences.pulse(seq_len=5, at=5)


def test_random_batch_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a, b = sequences.random_batch(4, 2, 3, seed=7), sequences.random_batch(4, 2, 3, seed=7)
    assert torch.equal(a, b) and a.shape == (4, 2, 3)
    assert torch.equal(before, torch.random.get_rng_state())


def test_heatmap_draws_units_by_time():
    states = torch.linspace(-1, 1, 30).reshape(10, 1, 3)
    ax = plots.hidden_state_heatmap(states, inputs=torch.zeros(10))
    image = ax.images[0].get_array()
    assert image.shape == (3, 10)  # hidden units down, time across
    assert torch.allclose(torch.as_tensor(image.data), states[:, 0, :].T)
    assert ax.get_xlabel() == "time step t"


def test_heatmap_refuses_a_batch():
    with pytest.raises(ValueError, match="one sequence"):
        plots.hidden_state_heatmap(torch.zeros(5, 2, 3))
