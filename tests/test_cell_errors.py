"""tests/cell_errors.py: a tqdm bar on standard error is not an error; a warning or a traceback is, even next to a bar."""
import io
import traceback
import warnings

import nbformat
import pytest
from tqdm.std import tqdm

from cell_errors import errors, is_progress_bar


def bar_text(iterable, **options) -> str:
    """What text-mode tqdm writes for a loop over `iterable`, with a loss after every item."""
    stream = io.StringIO()
    bar = tqdm(iterable, file=stream, mininterval=0, **options)
    for step in bar:
        bar.set_postfix(loss=1.0 / (step + 1))
    return stream.getvalue()


def plain_bar_text(iterable, **options) -> str:
    stream = io.StringIO()
    for _ in tqdm(iterable, file=stream, mininterval=0, **options):
        pass
    return stream.getvalue()


def warning_text() -> str:
    return warnings.formatwarning("lengths are not sorted", UserWarning, "/home/learner/nb.py", 12,
                                  "    warnings.warn('lengths are not sorted')")


def traceback_text() -> str:
    try:
        {}["h_n"]
    except KeyError as exc:
        return "".join(traceback.format_exception(exc))


BARS = {
    "desc, total and postfix": bar_text(range(5), desc="training"),
    "total and postfix, no desc": bar_text(range(5)),
    "desc and total, no postfix": plain_bar_text(range(15), desc="epochs"),
    "total only": plain_bar_text(range(3)),
    "no total (a generator), desc and postfix": bar_text((i for i in range(4)), desc="batches"),
    "no total, no desc": plain_bar_text(i for i in range(4)),
    "unit_scale and a unit": plain_bar_text(range(1500), desc="frames", unit="frame", unit_scale=True),
    "two bars, one after the other": bar_text(range(2), desc="a") + bar_text(range(3), desc="b"),
    "the issue's example, as a learner's terminal shows it": " 40%|████      | 2/5 [00:00<00:00, 19.81it/s]\n",
    "before the first item (unknown rate)": "demo:   0%|          | 0/5 [00:00<?, ?it/s]",
    "an hour-long run": "\rtraining: 100%|██████████| 15/15 [1:02:03<00:00, 248.2s/it, loss=0.0123]\n",
}
NOT_BARS = {
    "a warning": warning_text(),
    "a traceback": traceback_text(),
    "a bar followed by a warning": bar_text(range(5), desc="training") + warning_text(),
    "a warning followed by a bar": warning_text() + bar_text(range(5), desc="training"),
    "a warning inside a bar (between two redraws)": "\rtraining:  20%|██        | 1/5 [00:00<00:00]" + warning_text()
                                                  + "\rtraining:  40%|████      | 2/5 [00:00<00:00]",
    "a bar followed by a traceback": bar_text(range(2)) + traceback_text(),
    "a print to stderr": "loss went up at epoch 3\n",
    "a percentage that is not a bar": "accuracy: 95%\n",
    "a bar cut off before its counts": "training:  40%|████      |\n",
}


@pytest.mark.parametrize("text", BARS.values(), ids=BARS.keys())
def test_a_tqdm_bar_is_not_an_error(text):
    assert is_progress_bar(text), text
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stderr", text=text)])
    assert errors(cell) == []


@pytest.mark.parametrize("text", NOT_BARS.values(), ids=NOT_BARS.keys())
def test_a_warning_or_a_traceback_is_an_error_even_next_to_a_bar(text):
    assert not is_progress_bar(text), text
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stderr", text=text)])
    assert len(errors(cell)) == 1


def test_errors_and_other_outputs():
    error = nbformat.v4.new_output("error", ename="KeyError", evalue="'h_n'", traceback=[])
    stdout = nbformat.v4.new_output("stream", name="stdout", text="Traceback (most recent call last):\n")
    widget = nbformat.v4.new_output("display_data", data={
        "text/plain": "training:   0%|          | 0/15 [00:00<?, ?it/s]",
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0}})
    blank = nbformat.v4.new_output("stream", name="stderr", text="\n")
    cell = nbformat.v4.new_code_cell(outputs=[stdout, widget, blank, error])
    assert errors(cell) == [error]  # stdout, a widget bar and a blank line on stderr are no errors


@pytest.mark.slow
def test_in_a_real_kernel_a_text_bar_passes_and_a_warning_beside_it_fails():
    """nbclient records text tqdm the way a kernel sends it; the rule holds on that record."""
    from nbclient import NotebookClient

    loop = ("from tqdm.std import tqdm\nimport time\n"
            "bar = tqdm(range(3), desc='training', mininterval=0)\n"
            "for step in bar:\n    time.sleep(0.01)\n    bar.set_postfix(loss=1.0 / (step + 1))\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(loop),
        nbformat.v4.new_code_cell("import warnings\n" + loop + "warnings.warn('lengths are not sorted')\n")])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    bar_only, with_warning = nb.cells
    assert {o["name"] for o in bar_only.outputs if o["output_type"] == "stream"} == {"stderr"}
    assert errors(bar_only) == [], bar_only.outputs
    assert errors(with_warning), with_warning.outputs
    assert any("UserWarning" in o["text"] for o in errors(with_warning))
