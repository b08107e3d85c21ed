"""Numbers the prose quotes from seeded output agree with that output (tests/quoted_numbers.py).

The notebooks are read from the session's shared run (tests/executed.py): no extra execution.
"""
import copy

import nbformat
import pytest

from conftest import SOLUTIONS, solution_paths
from executed import executed
from quoted_numbers import problems, quotes

PROJECT = SOLUTIONS / "10_project" / "10_speaker_project.ipynb"


def quoting(path) -> bool:
    nb = nbformat.read(str(path), as_version=4)
    return any(quotes(c.source) for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.slow
@pytest.mark.parametrize("solution", [p for p in solution_paths() if quoting(p)], ids=lambda p: p.stem)
def test_quoted_numbers_agree_with_the_output(solution):
    nb, _ = executed(solution)
    assert problems(nb) == []


def test_the_project_quotes_its_numbers():
    nb = nbformat.read(str(PROJECT), as_version=4)
    by_cell = {c.id: len(quotes(c.source)) for c in nb.cells if c.cell_type == "markdown"}
    assert by_cell["c5ee927e"] >= 9 and by_cell["323adacf"] >= 6 and by_cell["explain_project_reflection"] >= 14


# -- the rule, on a small notebook made here: a drift on either side fails ------------------------------

def small_notebook(prose: str, printed: str, comment: str):
    code = nbformat.v4.new_code_cell("...", id="run",
                                     outputs=[nbformat.v4.new_output("stream", name="stdout", text=printed)])
    text = prose + "\n\n<!-- quoted from the output of cell run (checked by tests/test_quoted_numbers.py):\n" + comment + "\n-->"
    return nbformat.v4.new_notebook(cells=[code, nbformat.v4.new_markdown_cell(text, id="prose")])


PRINTED = ("GRU, seeds 0, 1, 2: validation accuracy [0.956, 0.933, 0.944], loss [0.122, 0.155, 0.183]\n"
           "test accuracy 0.976: 9 of 370 wrong (mean-frame baseline 0.924, the length alone 0.284)\n"
           "mean z at t = 0, 1, 2, 5, 10, 15: [0.5, 0.47, 0.46, 0.44, 0.39, 0.38]\n")
CASES = {
    "in order": ("names 97.6 % of the 370\ntest speakers (9 errors)",
                 "names {} of the 370 test speakers ({} errors) = test accuracy {}: {} of"),
    "a percent range": ("the GRU names 93.3–95.6 % of the validation speakers",
                        "GRU names {}–{} of the = range GRU, seeds 0, 1, 2: validation accuracy [{}, {}, {}]"),
    "the highest, rounded": ("the loss stays below about 0.18 in every seed",
                             "below about {} in = highest loss [{}, {}, {}]"),
    "a skipped number": ("falls to 0.39 by frame 10", "falls to {} by frame 10 = 15: [{_}, {_}, {_}, {_}, {},"),
    "rounded coarser": ("92 % of the test utterances", "{} of the test = (mean-frame baseline {},"),
}
DRIFTS = {
    "the prose changed": ("names 97.5 % of the 370\ntest speakers (9 errors)",
                          "names {} of the 370 test speakers ({} errors) = test accuracy {}: {} of"),
    "the prose quotes a fraction as a percent": ("names 0.976 % of the 370 test speakers (9 errors)",
                                                 "names {} of the 370 test speakers ({} errors) = test accuracy {}: {} of"),
    "a range off by one utterance": ("the GRU names 92.2–95.6 % of the validation speakers",
                                     "GRU names {}–{} of the = range GRU, seeds 0, 1, 2: validation accuracy [{}, {}, {}]"),
    "the prose's context is gone": ("the GRU is good", "GRU names {} of the = test accuracy {}:"),
    "the output's context is gone": ("92 % of the test utterances", "{} of the test = (order-blind baseline {},"),
    "two matches: ambiguous": ("names 92 % and names 92 %", "names {} = (mean-frame baseline {},"),
    "fewer numbers than printed": ("falls to 0.39 by frame 10", "falls to {} by frame 10 = 15: [{}, {},"),
}


@pytest.mark.parametrize("prose, comment", CASES.values(), ids=CASES.keys())
def test_a_quote_that_agrees_passes(prose, comment):
    assert problems(small_notebook(prose, PRINTED, comment)) == []


@pytest.mark.parametrize("prose, comment", DRIFTS.values(), ids=DRIFTS.keys())
def test_a_quote_that_drifted_fails(prose, comment):
    assert len(problems(small_notebook(prose, PRINTED, comment))) == 1


def test_an_output_that_drifted_fails():
    prose, comment = CASES["in order"]
    assert len(problems(small_notebook(prose, PRINTED.replace("0.976: 9", "0.973: 10"), comment))) == 1


def test_a_quote_of_a_missing_cell_fails():
    nb = small_notebook(CASES["in order"][0], PRINTED, CASES["in order"][1])
    nb.cells[1].source = nb.cells[1].source.replace("cell run", "cell nowhere")
    assert "no code cell nowhere" in problems(nb)[0]


@pytest.mark.slow
def test_the_project_fails_when_its_prose_or_its_output_drifts():
    """A copy of the shared run of the project, its prose or its output edited: the guard fails."""
    nb, _ = executed(PROJECT)
    cells = {c.id: c for c in nb.cells}

    prose = copy.deepcopy(nb)
    edited = {c.id: c for c in prose.cells}["c5ee927e"]
    edited.source = edited.source.replace("names 94.4 % of the validation", "names 94.7 % of the validation", 1)
    assert any("94.7" in p for p in problems(prose))

    output = copy.deepcopy(nb)
    run = {c.id: c for c in output.cells}["4ff8a427"]
    for o in run.outputs:
        if o.output_type == "stream":
            o.text = o.text.replace("0.44, 0.39, 0.38]", "0.44, 0.47, 0.38]")  # 0.39 drifts to 0.47
    assert "0.44, 0.39, 0.38]" in "".join(o.get("text", "") for o in cells["4ff8a427"].outputs)
    assert sum("4ff8a427" in p for p in problems(output)) == 2  # the prose (0.39) and the model answer (about 0.4)
