"""The helper package the notebooks import."""
import matplotlib
import matplotlib.axes

matplotlib.use("Agg")

import pytest
import torch

from rnnlab import plots, sequences


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


def test_heatmap_draws_several_input_features_as_an_image():
    states = torch.zeros(8, 4)
    rows = torch.arange(64.0).reshape(8, 8) / 64  # one digit: 8 steps of 8 pixels
    ax = plots.hidden_state_heatmap(states, inputs=rows)
    top = next(a for a in ax.figure.axes if a is not ax and a.images)
    assert torch.allclose(torch.as_tensor(top.images[0].get_array().data), rows.T)  # features down, time across
    with pytest.raises(ValueError, match="seq_len=8"):
        plots.hidden_state_heatmap(states, inputs=torch.zeros(7, 8))


@pytest.mark.parametrize("inputs", [torch.zeros(20), torch.zeros(20, 1, 1), torch.rand(20, 8), torch.zeros(309)])
def test_heatmap_input_sits_exactly_above_its_time_step(inputs):
    """The colour bars take no width from either panel: step t of the input is above column t."""
    seq_len = len(inputs)
    ax = plots.hidden_state_heatmap(torch.zeros(seq_len, 8), inputs=inputs)
    ax.figure.canvas.draw()
    top = next(a for a in ax.figure.axes if a is not ax and (a.lines or a.images))
    for t in (0, seq_len - 1):
        assert abs(top.transData.transform((t, 0))[0] - ax.transData.transform((t, 0))[0]) < 0.5  # pixels
    assert ax.get_xlim() == top.get_xlim() == (-0.5, seq_len - 0.5)


def test_sine_is_a_one_feature_wave():
    x = sequences.sine(seq_len=40, period=10.0, amplitude=2.0)
    assert x.shape == (40, 1, 1)
    assert torch.allclose(x[:, 0, 0], 2.0 * torch.sin(2 * torch.pi * torch.arange(40.0) / 10), atol=1e-6)
    assert torch.allclose(x[10:20], x[:10], atol=1e-5)  # one period later, the same values
    with pytest.raises(ValueError):
        sequences.sine(seq_len=10, period=0.0)


# -- PCA ------------------------------------------------------------------------------------------

def _cloud(seed=0, n=60, features=6, offset=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g) @ torch.randn(features, features, generator=g) + offset


def test_pca_matches_torch_up_to_sign_and_fixes_the_sign():
    x = _cloud()
    projection, explained = plots.pca(x, k=3)
    assert projection.shape == (60, 3) and explained.shape == (3,)
    _, s, v = torch.pca_lowrank(x, q=6, center=True)  # q = all components: exact
    reference = (x - x.mean(0)) @ v[:, :3]
    torch.testing.assert_close(projection.abs(), reference.abs(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(explained, (s**2 / (s**2).sum())[:3], atol=1e-5, rtol=1e-5)
    biggest = projection.gather(0, projection.abs().argmax(0, keepdim=True))
    assert (biggest > 0).all()  # the deterministic sign
    flipped, _ = plots.pca(-x, k=3)
    torch.testing.assert_close(flipped, projection, atol=1e-4, rtol=1e-4)  # the sign does not depend on the input's


def test_pca_centres_and_keeps_the_global_rng_alone():
    x = _cloud(offset=100.0)
    before = torch.random.get_rng_state()
    projection, explained = plots.pca(x, k=2)
    assert torch.equal(before, torch.random.get_rng_state())
    torch.testing.assert_close(projection.mean(0), torch.zeros(2), atol=1e-3, rtol=0)
    assert explained.sum() < 1 and explained[0] >= explained[1]


def test_pca_finds_a_plane_and_accepts_rnn_output_for_one_sequence():
    t = torch.linspace(0, 6.28, 50)
    mixing = torch.randn(2, 5, generator=torch.Generator().manual_seed(1))
    plane = torch.stack([torch.cos(t), 0.5 * torch.sin(t)], 1) @ mixing
    _, explained = plots.pca(plane.unsqueeze(1), k=2)  # (L, 1, H): batch of one
    assert explained.sum() > 0.999


@pytest.mark.parametrize("shape,k", [((10, 2, 3), 2), ((10,), 1), ((10, 3), 4), ((10, 3), 0)])
def test_pca_refuses_bad_shapes_and_k(shape, k):
    with pytest.raises(ValueError):
        plots.pca(torch.zeros(shape), k=k)


# -- unit over input, trajectories, scatter ---------------------------------------------------------

def test_unit_over_input_draws_the_unit_and_the_input_from_the_data():
    states = torch.randn(20, 4, generator=torch.Generator().manual_seed(2)).tanh()
    inputs = torch.linspace(0, 5, 20)
    years = torch.arange(1900, 1920)
    ax = plots.unit_over_input(states, inputs.reshape(20, 1, 1), unit=2, time=years, time_label="year")
    assert isinstance(ax, matplotlib.axes.Axes)
    x, y = ax.lines[0].get_data()
    assert torch.allclose(torch.as_tensor(y, dtype=torch.float32), states[:, 2])
    assert torch.equal(torch.as_tensor(x, dtype=torch.float32), years.float())
    assert torch.allclose(torch.as_tensor(ax.twin.lines[0].get_ydata(), dtype=torch.float32), inputs)
    assert "2" in ax.get_ylabel() and ax.get_xlabel() == "year"


@pytest.mark.parametrize("inputs,unit", [(torch.zeros(19), 0), (torch.zeros(20, 2), 0), (torch.zeros(20), 4),
                                         (torch.zeros(20), -1), (torch.zeros(20), 1.0)])
def test_unit_over_input_refuses_bad_inputs_and_units(inputs, unit):
    with pytest.raises(ValueError):
        plots.unit_over_input(torch.zeros(20, 4), inputs, unit=unit)


def test_pca_trajectory_draws_the_projection_coloured_by_the_given_values():
    t = torch.arange(40.0)
    states = torch.stack([torch.cos(t / 3), torch.sin(t / 3), 0.1 * torch.cos(t)], 1).unsqueeze(0)  # (1, L, H)
    colour = torch.linspace(-1, 1, 40)
    ax = plots.pca_trajectory(states, color_by=colour)
    assert isinstance(ax, matplotlib.axes.Axes)
    projection, explained = plots.pca(states, 2)
    line = torch.as_tensor(ax.lines[0].get_xydata(), dtype=torch.float32)
    torch.testing.assert_close(line, projection)
    points = ax.collections[0]
    torch.testing.assert_close(torch.as_tensor(points.get_offsets(), dtype=torch.float32), projection)
    torch.testing.assert_close(torch.as_tensor(points.get_array(), dtype=torch.float32), colour)
    assert f"{100 * explained[0]:.0f}%" in ax.get_xlabel()


def test_pca_trajectory_colours_by_time_by_default_and_refuses_bad_shapes():
    ax = plots.pca_trajectory(torch.randn(12, 3, generator=torch.Generator().manual_seed(3)))
    assert torch.equal(torch.as_tensor(ax.collections[0].get_array()), torch.arange(12.0).double())
    with pytest.raises(ValueError, match="one sequence"):
        plots.pca_trajectory(torch.zeros(12, 2, 3))
    with pytest.raises(ValueError, match="2 hidden units"):
        plots.pca_trajectory(torch.zeros(12, 1))
    with pytest.raises(ValueError, match="color_by"):
        plots.pca_trajectory(torch.randn(12, 3), color_by=torch.zeros(11))


def test_pca_scatter_colours_by_label_and_writes_each_label_at_its_centre():
    g = torch.Generator().manual_seed(4)
    labels = torch.arange(30) % 3
    points = torch.randn(30, 5, generator=g) + 4 * torch.nn.functional.one_hot(labels, 5).float()
    ax = plots.pca_scatter(points, labels)
    projection, _ = plots.pca(points, 2)
    scatter = ax.collections[0]
    torch.testing.assert_close(torch.as_tensor(scatter.get_offsets(), dtype=torch.float32), projection)
    assert torch.equal(torch.as_tensor(scatter.get_array()).long(), labels)
    texts = {t.get_text(): t.xy for t in ax.texts}  # annotations pointing at each label's mean
    assert sorted(texts) == ["0", "1", "2"]
    torch.testing.assert_close(torch.tensor(texts["1"], dtype=torch.float32), projection[labels == 1].mean(0))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"\(n, hidden_size\)"):
        plots.pca_scatter(torch.zeros(4, 3, 2))
    with pytest.raises(ValueError, match="labels"):
        plots.pca_scatter(points, labels[:-1])


def test_pca_scatter_labels_with_close_means_do_not_overlap():
    centres = torch.tensor([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0], [0.0, 1.0]])
    spread = plots._spread_labels(centres)
    gaps = torch.cdist(spread, spread) + torch.eye(4) * 9
    assert gaps.min() >= 0.079  # 8% of the range apart
    torch.testing.assert_close(spread[2:], centres[2:])  # labels with room stay where they are


def test_plots_use_the_agg_backend_and_never_show():
    assert matplotlib.get_backend().lower() == "agg"


def test_gru_cell_diagram_draws_pytorchs_gru_with_the_reset_after_w_hn():
    ax = plots.gru_cell_diagram()
    texts = " ".join(t.get_text() for t in ax.texts)
    for node in ("h_{t-1}", "x_t", "h_t", "r_t = \\sigma", "z_t = \\sigma", "h_{t-1} W_{hn}^\\top + b_{hn}",
                 "x_t W_{in}^\\top + b_{in}", "n_t = \\tanh", "(1 - z_t) \\odot n_t", "reset applied after"):
        assert node in texts, node


def test_pca_scatter_names_its_labels_in_the_legend_title():
    points, labels = torch.randn(12, 4, generator=torch.Generator().manual_seed(0)), torch.arange(12) % 3
    assert plots.pca_scatter(points, labels).get_legend().get_title().get_text() == "label"
    assert plots.pca_scatter(points, labels, legend_title="speaker").get_legend().get_title().get_text() == "speaker"


def _helper_figures():
    """One figure per way the notebooks call a helper of `plots`, on small data."""
    import matplotlib.pyplot as plt

    g = torch.Generator().manual_seed(0)
    states, wave = torch.rand(20, 6, generator=g) * 2 - 1, torch.randn(20, 1, 1, generator=g)
    yield "heatmap", plots.hidden_state_heatmap(states).figure
    yield "heatmap, one input", plots.hidden_state_heatmap(states, inputs=wave).figure
    yield "heatmap, image input", plots.hidden_state_heatmap(states, inputs=torch.rand(20, 8, generator=g)).figure
    fig = plt.figure(layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[40, 1])
    plots.hidden_state_heatmap(states.abs(), ax=fig.add_subplot(grid[0, 0]), cax=fig.add_subplot(grid[0, 1]),
                               cmap="viridis", limits=(0, 1), label="z_t", title=None)
    yield "heatmap, given ax and cax", fig
    yield "unit over input", plots.unit_over_input(states, wave, unit=2).figure
    yield "trajectory", plots.pca_trajectory(states).figure
    yield "scatter", plots.pca_scatter(states).figure
    yield "scatter, labelled", plots.pca_scatter(states, torch.arange(20) % 4).figure
    yield "diagram", plots.gru_cell_diagram().figure


def test_every_helper_figure_is_labelled_has_its_colour_bars_and_fits_a_laptop_window():
    """Issue 13: labelled axes, a colour bar (or legend) wherever colour carries a value, 1280x800 at 100 dpi."""
    for name, fig in _helper_figures():
        width, height = fig.get_size_inches()
        assert width <= 12.5 and height <= 7.0, f"{name}: {width:.1f} x {height:.1f} in does not fit 1280x800"
        for ax in fig.axes:
            colour_bar = getattr(ax, "_colorbar", None)
            if colour_bar is not None:
                assert colour_bar.ax.get_ylabel() or colour_bar.ax.get_xlabel(), f"{name}: a colour bar without a label"
                continue
            if not ax.axison or not ax.get_visible() or not (ax.lines or ax.images or ax.collections or ax.patches):
                continue  # a diagram, or an empty slot kept for alignment
            shares_x = [other for other in fig.axes if other is not ax and ax.get_shared_x_axes().joined(ax, other)]
            assert ax.get_ylabel(), f"{name}: an axes without a y label"
            assert ax.get_xlabel() or any(other.get_xlabel() for other in shares_x), f"{name}: no x label"
            coloured = list(ax.images) + [c for c in ax.collections if c.get_array() is not None]
            for mappable in coloured:
                assert mappable.colorbar is not None or ax.get_legend() is not None, \
                    f"{name}: colour carries a value without a colour bar or legend"
