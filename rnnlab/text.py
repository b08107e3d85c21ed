"""Text helpers for the character-level notebook (11): features of Python source a unit may track, and
text coloured by a value per character.

`features(text)` names, for every character of a piece of Python source, things a learner can see:
whether it lies inside a string literal or a comment (read with Python's own `tokenize`, so docstrings
and quotes inside strings are right), its column in the line, whether it is part of a line's leading
indentation, and whether it is a word boundary (not a letter, digit or underscore). `colour_html` and
`colour_plot` draw text with each character's background set by a value (a unit's activation, a gate).
"""
from __future__ import annotations

import html
import io
import tokenize

import torch

FEATURES = ("in_string", "in_comment", "column", "indentation", "word_boundary")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    return starts


def features(text: str) -> dict[str, torch.Tensor]:
    """{name: float32 tensor of len(text)} for the names in FEATURES.

    in_string / in_comment: 1.0 for the characters of a string literal (quotes and prefix included; in
    f-strings too) or a comment, else 0.0; `text` must be whole Python source (tokenize reads it from its
    start), so take features of the whole corpus and slice them. column: the character's position in its
    line (0 for the first character; a newline gets the column it ends). indentation: 1.0 for a space or
    tab before the first other character of its line. word_boundary: 1.0 for a character that is not a
    letter, digit or underscore (spaces, punctuation, newlines).
    """
    n = len(text)
    starts = _line_starts(text)
    in_string, in_comment = torch.zeros(n), torch.zeros(n)
    kinds = {tokenize.STRING: in_string, tokenize.COMMENT: in_comment}
    fstring = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
               if hasattr(tokenize, name)}  # Python 3.12+ splits f-strings into these tokens

    def offset(position):
        row, col = position
        return starts[row - 1] + col if row - 1 < len(starts) else n

    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        target = in_string if token.type in fstring else kinds.get(token.type)
        if target is not None:
            target[offset(token.start):offset(token.end)] = 1.0
    column, indentation = torch.zeros(n), torch.zeros(n)
    col, leading = 0, True
    for i, c in enumerate(text):
        column[i] = col
        if c == "\n":
            col, leading = 0, True
            continue
        leading = leading and c in " \t"
        indentation[i] = float(leading)
        col += 1
    word_boundary = torch.tensor([0.0 if (c.isalnum() or c == "_") else 1.0 for c in text])
    return {"in_string": in_string, "in_comment": in_comment, "column": column,
            "indentation": indentation, "word_boundary": word_boundary}


def _rgb(value: float, limit: float) -> str:
    """Blue for negative, white for 0, red for positive values, saturated at +-limit."""
    v = max(-1.0, min(1.0, value / limit)) if limit > 0 else 0.0
    fade = int(round(255 * (1 - abs(v))))
    return f"rgb(255,{fade},{fade})" if v >= 0 else f"rgb({fade},{fade},255)"


def colour_html(text: str, values, limit: float | None = None, title: str = "") -> str:
    """An HTML <pre> block of `text`, each character's background coloured by its value (blue < 0 < red).

    values: one number per character (a tensor or a list); limit: the value shown fully saturated
    (default: the largest |value|). Newlines end lines; a title goes above the block.
    """
    values = torch.as_tensor(values, dtype=torch.float64).flatten().tolist()
    if len(values) != len(text):
        raise ValueError(f"colour_html: {len(text)} characters but {len(values)} values")
    limit = max((abs(v) for v in values), default=1.0) if limit is None else float(limit)
    spans = []
    for c, v in zip(text, values):
        if c == "\n":
            spans.append(f'<span style="background:{_rgb(v, limit)}"> </span>\n')
        else:
            spans.append(f'<span style="background:{_rgb(v, limit)}">{html.escape(c)}</span>')
    head = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (head + '<pre style="font-family:monospace;font-size:12px;line-height:1.25;color:black;'
            'background:white;padding:4px">' + "".join(spans) + "</pre>")


def show_coloured(text: str, values, limit: float | None = None, title: str = "") -> None:
    """Display colour_html(...) in a notebook (IPython), or print the text when there is no display."""
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython is part of the course environment
        print(title, text, sep="\n")
        return
    display(HTML(colour_html(text, values, limit, title)))


def colour_plot(ax, text: str, values, limit: float | None = None, cmap: str = "RdBu_r", fontsize: float = 8):
    """Draw `text` on a matplotlib Axes, one character per cell, coloured by `values` (a static picture
    that survives export to PDF, where HTML does not). Returns the image, for a colour bar."""
    import matplotlib.colors as mcolors

    values = torch.as_tensor(values, dtype=torch.float32).flatten()
    if len(values) != len(text):
        raise ValueError(f"colour_plot: {len(text)} characters but {len(values)} values")
    rows, row, col = [], 0, 0
    for c in text:
        rows.append((row, col))
        if c == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    width = max((c for _, c in rows), default=0) + 1
    grid = torch.full((row + 1, width), float("nan"))
    for (r, c), v in zip(rows, values.tolist()):
        grid[r, c] = v
    limit = float(values.abs().max()) if limit is None else float(limit)
    image = ax.imshow(grid.numpy(), cmap=cmap, norm=mcolors.Normalize(-limit, limit), aspect="auto",
                      interpolation="nearest")
    for (r, c), ch in zip(rows, text):
        if ch not in "\n ":
            ax.text(c, r, ch, ha="center", va="center", fontsize=fontsize, family="monospace")
    ax.set_xticks([])
    ax.set_yticks([])
    return image
