"""rnnlab.text: the features of Python source a hidden unit may track, and text coloured by a value."""
import pytest
import torch

from rnnlab import text


def test_features_mark_strings_comments_columns_indentation_and_boundaries():
    source = 'x = "a #b"  # c\n  if y:\n\tz = f\'q\'\n'
    f = text.features(source)
    assert set(f) == set(text.FEATURES)
    assert all(v.dtype == torch.float32 and v.shape == (len(source),) for v in f.values())
    chars = lambda name: "".join(c for c, v in zip(source, f[name]) if v)  # noqa: E731
    assert chars("in_string") == "\"a #b\"f'q'"  # a # inside a string is no comment; the f prefix counts
    assert chars("in_comment") == "# c"
    assert chars("indentation") == "  \t"
    assert f["column"][:3].tolist() == [0, 1, 2] and f["column"][source.index("if")] == 2
    assert f["column"][source.index("\n")] == 15  # a newline gets the column it ends
    assert chars("word_boundary").replace(" ", "") == '="#"#\n:\n\t=\'\'\n'.replace(" ", "")


def test_features_of_a_docstring_span_its_lines():
    source = 'def f():\n    """one\n    two"""\n    return 1\n'
    f = text.features(source)
    inside = "".join(c for c, v in zip(source, f["in_string"]) if v)
    assert inside == '"""one\n    two"""'


def test_features_need_whole_source():
    with pytest.raises(Exception):
        text.features('x = """never closed\n')


def test_colour_html_escapes_and_colours_each_character():
    page = text.colour_html("<a>\n", [1.0, 0.0, -1.0, 0.5], title="unit 3")
    assert "&lt;" in page and "&gt;" in page and "<b>unit 3</b>" in page
    assert "rgb(255,0,0)" in page and "rgb(255,255,255)" in page and "rgb(0,0,255)" in page
    assert page.count("<span") == 4
    with pytest.raises(ValueError, match="3 characters but 2 values"):
        text.colour_html("abc", [1, 2])


def test_colour_plot_draws_one_cell_per_character():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    image = text.colour_plot(ax, "ab\ncde", torch.tensor([1.0, -1.0, 0.0, 0.5, 0.2, 0.1]))
    grid = image.get_array()
    assert grid.shape == (2, 3) and grid[0, 0] == 1.0 and grid[1, 2] == pytest.approx(0.1)
    assert len(ax.texts) == 5  # the newline draws no letter
    plt.close(fig)
