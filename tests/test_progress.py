"""rnnlab.progress: the text progress bar of the training loops."""
import io

import pytest

from rnnlab.progress import progress


def lines(text: str) -> list[str]:
    """What a terminal shows: each carriage return redraws the line."""
    return [line.split("\r")[-1] for line in text.split("\n")]


def test_yields_every_item_and_ends_the_line(capsys):
    bar = progress(range(5), desc="training", width=10)
    seen = []
    for item in bar:
        seen.append(item)
        bar.set_postfix(loss=1.0 / (item + 1), epoch=item)
    out, err = capsys.readouterr()
    assert seen == [0, 1, 2, 3, 4]
    assert err == ""
    assert out.endswith("\n") and out.count("\n") == 1
    shown = lines(out)[0]
    assert shown.startswith("training |##########| 5/5 [")
    assert shown.endswith("loss=0.2 epoch=4")
    assert out.count("\r") == 6  # drawn at the start and after each of the 5 items


def test_the_bar_fills_in_proportion():
    stream = io.StringIO()
    bar = progress(range(4), width=8, stream=stream)
    it = iter(bar)
    next(it)
    assert bar.line().startswith("|--------| 0/4")
    next(it)
    assert bar.line().startswith("|##------| 1/4")
    list(it)
    assert bar.line().startswith("|########| 4/4")


def test_a_break_still_ends_the_line():
    stream = io.StringIO()
    for item in progress(range(10), stream=stream):
        if item == 2:
            break
    assert stream.getvalue().endswith("\n")
    assert lines(stream.getvalue())[0].startswith("|####----------------|  2/10")


def test_iterables_without_a_length_show_a_count():
    stream = io.StringIO()
    assert list(progress((i for i in range(3)), desc="batches", stream=stream)) == [0, 1, 2]
    assert lines(stream.getvalue())[0].startswith("batches 3 [")
    with pytest.raises(TypeError):
        len(progress(i for i in range(3)))
    assert len(progress((i for i in range(3)), total=3)) == 3


def test_an_empty_loop_and_bad_arguments():
    stream = io.StringIO()
    assert list(progress([], stream=stream)) == []
    assert stream.getvalue().endswith("\n")
    with pytest.raises(ValueError, match="width"):
        progress(range(3), width=0)
    with pytest.raises(ValueError, match="total"):
        progress(range(3), total=-1)
