"""rnnlab.explorer: the step-by-step trace against torch, the widget built headless, the static fallback."""
import base64
import sys

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from rnnlab import explorer


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def gru_gates_from_outputs(gru, x):
    """r, z, n at every step, computed block by block from nn.GRU's own states (not from the trace)."""
    states = gru(x[:, None])[0][:, 0].detach()
    previous = torch.cat([torch.zeros_like(states[:1]), states[:-1]])
    H = gru.hidden_size
    w_i, w_h, b_i, b_h = (p.detach() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0))

    def block(k):  # rows of gate k: 0 = r, 1 = z, 2 = n (PyTorch's order)
        rows = slice(k * H, (k + 1) * H)
        return F.linear(x, w_i[rows], b_i[rows]), F.linear(previous, w_h[rows], b_h[rows])

    (ir, hr), (iz, hz), (i_n, hn) = block(0), block(1), block(2)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    return r, z, torch.tanh(i_n + r * hn), states, previous


@pytest.mark.parametrize("nonlinearity,bias,batch_first", [("tanh", True, False), ("relu", True, True),
                                                            ("tanh", False, True)])
def test_trace_of_an_rnn_equals_nn_rnn(nonlinearity, bias, batch_first):
    torch.manual_seed(0)
    rnn = nn.RNN(3, 5, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first)
    x = torch.randn(9, 3)
    run = explorer.trace(rnn, x)
    want = rnn(x[None] if batch_first else x[:, None])[0]
    torch.testing.assert_close(run.h, want[0] if batch_first else want[:, 0])
    assert run.kind == "RNN" and run.r is None and list(run.quantities) == ["h_t"] and run.gap < 1e-6
    assert torch.equal(run.inputs, x)


def test_trace_of_a_gru_equals_nn_gru_and_its_gates_the_equations():
    torch.manual_seed(1)
    gru = nn.GRU(2, 6)
    x = torch.randn(12, 2)
    run = explorer.trace(gru, x)
    r, z, n, states, previous = gru_gates_from_outputs(gru, x)
    torch.testing.assert_close(run.h, states)
    torch.testing.assert_close((run.r, run.z, run.n), (r, z, n))
    torch.testing.assert_close((1 - run.z) * run.n + run.z * previous, states)  # the gates make the state
    assert list(run.quantities) == ["r_t", "z_t", "n_t", "h_t"] and run.gap < 1e-6 and len(run) == 12


def test_trace_takes_one_sequence_in_every_layout_and_a_model_with_an_rnn():
    torch.manual_seed(2)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 4, batch_first=True)

    model = Model()
    x = torch.randn(7)
    want = model.rnn(x[None, :, None])[0][0]
    for sequence in (x, x[:, None], x[None, :, None]):
        torch.testing.assert_close(explorer.trace(model, sequence).h, want)
    torch.testing.assert_close(explorer.trace(nn.GRU(1, 4), x[:, None, None]).h.shape, torch.Size([7, 4]))
    batch = torch.randn(3, 7, 1)  # batch_first: 3 sequences
    assert [tuple(s.shape) for s in explorer.sequences_of(batch, model.rnn)] == [(7, 1)] * 3
    assert len(explorer.sequences_of([x, x[:4]], model.rnn)) == 2


def test_trace_runs_the_learners_own_step():
    torch.manual_seed(3)
    gru, rnn = nn.GRU(2, 4), nn.RNN(2, 4)
    x = torch.randn(6, 2)
    calls = []

    def my_gru_step(x_t, h, W_ih, W_hh, b_ih, b_hh):
        calls.append((tuple(x_t.shape), tuple(h.shape)))
        i_r, i_z, i_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=-1)
        h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return z * n + (1 - z) * h, r, z, n  # the other convention: not nn.GRU's

    mine = explorer.trace(gru, x, step=my_gru_step)
    assert calls[0] == ((1, 2), (1, 4)) and len(calls) == 6
    assert mine.gap > 1e-3  # the trace shows the learner's code, and says that it differs from the layer
    fixed = explorer.trace(gru, x, step=lambda *a: (lambda h, r, z, n: ((1 - z) * n + z * a[1], r, z, n))(
        *my_gru_step(*a)))
    assert fixed.gap < 1e-6
    rnn_step = lambda x_t, h, W_ih, W_hh, b_ih, b_hh: torch.tanh(x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)  # noqa: E731
    torch.testing.assert_close(explorer.trace(rnn, x, step=rnn_step).h, rnn(x[:, None])[0][:, 0])


@pytest.mark.parametrize("model,x,message", [
    (nn.LSTM(2, 3), torch.zeros(4, 2), "one-layer, one-direction nn.RNN or nn.GRU"),
    (nn.GRU(2, 3, num_layers=2), torch.zeros(4, 2), "num_layers=2"),
    (nn.RNN(2, 3, bidirectional=True), torch.zeros(4, 2), "bidirectional=True"),
    (nn.GRU(2, 3), torch.zeros(4, 2, 2), "pass one sequence"),
    (nn.GRU(2, 3), torch.zeros(4, 5), "input_size=2"),
    (nn.Linear(2, 3), torch.zeros(4, 2), "got Linear"),
])
def test_bad_input_gives_a_one_line_error(model, x, message):
    with pytest.raises(ValueError, match=message) as error:
        explorer.trace(model, x)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=message):
        explorer.explore(model, [x], static=True, show=False)


def test_a_gru_step_must_return_its_gates():
    with pytest.raises(ValueError, match=r"\(h_new, r, z, n\)"):
        explorer.trace(nn.GRU(2, 3), torch.zeros(4, 2), step=lambda x, h, *w: h)


def png_of(ui):
    (shown,) = ui.output.outputs
    return shown["data"]["image/png"], shown["data"]["text/plain"]


def test_the_widget_builds_headless_and_redraws_when_a_control_moves():
    torch.manual_seed(4)
    gru = nn.GRU(2, 5)
    sequences = [torch.randn(10, 2), torch.randn(6, 2), torch.randn(10, 2)]
    ui = explorer.explore(gru, sequences, labels=["a", "b", "c"], static=False, show=False)
    first, text = png_of(ui)
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"
    assert ui.slider.value == 9 and "step 9 of 9" in text and "on a:" in text
    ui.slider.value = 3
    after_slider, text = png_of(ui)
    assert after_slider != first and "step 3 of 9" in text
    ui.picker.value = 1  # a shorter sequence: the slider's range follows
    after_picker, text = png_of(ui)
    assert after_picker != after_slider and "on b:" in text and ui.slider.max == 5 and ui.play.max == 5
    ui.slider.value = 5
    ui.picker.value = 2
    assert ui.slider.max == 9 and "step 5 of 9" in png_of(ui)[1]
    before = png_of(ui)[0]
    ui.unit_range.value = (1, 2)
    assert png_of(ui)[0] != before
    assert sorted(ui.traces) == [0, 1, 2]  # each sequence traced once
    torch.testing.assert_close(ui.traces[1].h, gru(sequences[1][:, None])[0][:, 0])


def test_the_drawing_blanks_the_steps_not_read_yet():
    torch.manual_seed(5)
    run = explorer.trace(nn.GRU(1, 3), torch.randn(8, 1))
    fig = explorer.draw(run, 4)
    strips = [ax for ax in fig.axes if ax.images][-4:]  # r, z, n, h
    for ax, values in zip(strips, (run.r, run.z, run.n, run.h)):
        image = torch.as_tensor(ax.images[0].get_array().filled(float("nan")))
        torch.testing.assert_close(image[:, :5], values[:5].T)
        assert torch.isnan(image[:, 5:]).all()
    with pytest.raises(ValueError, match=r"t must lie in \[0, 8\)"):
        explorer.draw(run, 8)


def test_without_ipywidgets_the_static_picture_is_drawn(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` now raises ImportError
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert explorer.why_static() == "ipywidgets is not installed"
    torch.manual_seed(6)
    gru = nn.GRU(2, 4)
    for static in (None, False):
        fig = explorer.explore(gru, torch.randn(12, 3, 2), static=static, at=[2, 5, 11], show=False)
        out = capsys.readouterr()
        assert out.err == "" and out.out.count("\n") == 1
        assert "needs JupyterLab with ipywidgets (ipywidgets is not installed)" in out.out
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == ["step 2", "step 5", "step 11"]  # the steps side by side
        assert "steps 2, 5, 11 side by side" in fig._suptitle.get_text()


def test_the_rule_for_the_static_picture(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert explorer.why_static() == "run by nbgrader validate"
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert explorer.why_static() == "not running in a Jupyter kernel"  # pytest: no IPython kernel
    fig = explorer.explore(nn.RNN(1, 2), torch.zeros(5, 1), show=False)
    assert fig.axes and not hasattr(fig, "picker")


@pytest.mark.slow
def test_a_plain_nbclient_run_shows_the_widget_or_the_picture_and_writes_no_error():
    """In a kernel run by nbclient (no frontend), as in `jupyter nbconvert --execute`: no error, no stderr."""
    import nbclient
    import nbformat

    setup = ("import os, torch, torch.nn as nn\nos.environ.pop('NBGRADER_EXECUTION', None)\n"
             "from rnnlab import explorer\ntorch.manual_seed(0)\ngru = nn.GRU(2, 4)\nxs = torch.randn(9, 3, 2)")
    cells = [setup,
             "view = explorer.explore(gru, xs, labels=['a', 'b', 'c'])\nview.slider.value = 2",
             "os.environ['NBGRADER_EXECUTION'] = 'validate'\nfig = explorer.explore(gru, xs)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"], cell.outputs
    widget = [o for o in nb.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget
    static = nb.cells[2].outputs
    assert static[0].text.count("\n") == 1 and "needs JupyterLab with ipywidgets (run by nbgrader validate)" in static[0].text
    assert any("image/png" in o.get("data", {}) for o in static)
