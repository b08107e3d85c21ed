"""The revision notebooks (solutions/revision/, released to course/revision/, never graded) and rnnlab.revision.

- every quiz key is the right answer: found by running torch where the question is about behaviour,
  from the course where it is about a definition; no key or explanation is readable in the notebooks;
- the plain-text fallback, the widget's buttons and the self-score helper work;
- both notebooks run top to bottom (the session's one run, tests/executed.py) and each recall card's
  proof cell prints what the card's `<!-- proof: ... -->` comment claims; every link reaches a section;
- the tools that walk assignments leave revision/ out, and course/revision is what nbgrader generates.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from autograder.notebooks import REVISION_ASSIGNMENTS, revision_notebooks, solution_notebooks
from cell_errors import errors
from conftest import COURSE, ROOT, SOLUTIONS, release_of, revision_paths, run, source
from executed import executed
from quoted_numbers import output_text
from rnnlab import revision

PROOF = re.compile(r"<!-- proof: the output of cell (\S+) shows[^\n]*\n(.*?)-->", re.S)
LINK = re.compile(r"\]\((\.\./[^)#\s]+\.ipynb)(?:#([^)\s]+))?\)")


def count(layer) -> int:
    return sum(p.numel() for p in layer.parameters())


def raised(call) -> str:
    try:
        call()
    except Exception as error:  # the type is what the question asks about
        return type(error).__name__
    return "nothing"


def run_code(q) -> dict:
    scope = {"torch": torch, "nn": nn}
    exec(q.code, scope)
    return scope


# -- the evidence for each key -------------------------------------------------------------------------
# Each function returns the text of the right option (or a unique part of it), found by running torch, or
# for a definition, the course's answer; the test checks that the stored key is that option.

def _layout_q1(q):
    batch, steps, features = 4, 7, 5
    sizes = {"batch_size": batch, "seq_len": steps, "input_size": features}
    working = []
    for option in q.options:
        shape = [sizes[name.strip()] for name in option.strip("()").split(",")]
        try:
            h_n = nn.RNN(features, 3)(torch.randn(*shape))[1]
        except RuntimeError:
            continue
        if h_n.shape[1] == batch:  # the layer took the batch for the batch
            working.append(option)
    assert len(working) == 1, working
    return working[0]


def _backward_summary_q7(q):
    H = 3
    output, h_n = nn.RNN(5, H, bidirectional=True)(torch.randn(7, 4, 5))
    found = [o for o in q.options if torch.equal(eval(o, {"output": output, "H": H}), h_n[1])]
    assert len(found) == 1, found
    return found[0]


def _batch_first_argument_q2(q):
    found = []
    for option in q.options:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropout with one layer warns
            gru = eval(f"nn.GRU(5, 3, {option})", {"nn": nn})
        if gru(torch.randn(4, 7, 5))[1].shape[1] == 4 and gru(torch.randn(4, 7, 5))[0].shape[:2] == (4, 7):
            found.append(option)
    assert len(found) == 1, found
    return found[0]


def _gru_blocks(gru):
    return dict(zip("rzn", gru.weight_ih_l0.chunk(3))), dict(zip("rzn", gru.weight_hh_l0.chunk(3))), \
        dict(zip("rzn", gru.bias_ih_l0.chunk(3))), dict(zip("rzn", gru.bias_hh_l0.chunk(3)))


def _gate_order_q7(q):
    torch.manual_seed(0)
    gru, x, h = nn.GRU(4, 3), torch.randn(1, 2, 4), torch.randn(1, 2, 3)
    want = gru(x, h)[1][0].detach()
    found = []
    for option in q.options:
        names = [n.strip() for n in option.split(",")]
        if sorted(names) != ["n", "r", "z"]:
            continue
        blocks = [dict(zip(names, p.detach().chunk(3))) for p in
                  (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)]
        Wi, Wh, bi, bh = blocks
        gate = lambda g: torch.sigmoid(x[0] @ Wi[g].T + bi[g] + h[0] @ Wh[g].T + bh[g])  # noqa: E731
        r, z = gate("r"), gate("z")
        n = torch.tanh(x[0] @ Wi["n"].T + bi["n"] + r * (h[0] @ Wh["n"].T + bh["n"]))
        if torch.allclose((1 - z) * n + z * h[0], want, atol=1e-6):
            found.append(option)
    assert len(found) == 1, found
    return found[0]


def _reset_placement_q8(q):
    torch.manual_seed(0)
    gru, x, h = nn.GRU(4, 3), torch.randn(1, 2, 4), torch.randn(1, 2, 3)
    want = gru(x, h)[1][0].detach()
    Wi, Wh, bi, bh = (dict((k, v.detach()) for k, v in d.items()) for d in _gru_blocks(gru))
    x0, h0 = x[0], h[0]
    r = torch.sigmoid(x0 @ Wi["r"].T + bi["r"] + h0 @ Wh["r"].T + bh["r"])
    z = torch.sigmoid(x0 @ Wi["z"].T + bi["z"] + h0 @ Wh["z"].T + bh["z"])
    found = []
    for option in q.options:
        if not option.startswith("n = "):
            continue
        expression = re.sub(r"(\w|\))\s+(W_\w+)\^T", r"\1 @ \2.T", option[4:])  # "x W_in^T" -> "x @ W_in.T"
        scope = {"tanh": torch.tanh, "x": x0, "h": h0, "r": r, "W_in": Wi["n"], "b_in": bi["n"],
                 "W_hn": Wh["n"], "b_hn": bh["n"]}
        n = eval(expression, scope)
        if torch.allclose((1 - z) * n + z * h0, want, atol=1e-6):
            found.append(option)
    assert len(found) == 1, found
    return found[0]


def _z_one_q9(q):
    gru, h_0 = nn.GRU(4, 3), torch.randn(1, 2, 3)
    with torch.no_grad():
        gru.bias_ih_l0[3:6] = 50.0
        assert torch.allclose(gru(torch.randn(9, 2, 4), h_0)[1], h_0)
    return "h_0: the state is carried unchanged"


def _h0_q5(q):
    rnn, x, h_0 = nn.RNN(5, 3), torch.randn(7, 4, 5), torch.randn(1, 4, 3)
    assert not torch.equal(rnn(x, h_0)[1], rnn(x)[1]) and torch.equal(rnn(x, hx=h_0)[1], rnn(x, h_0)[1])
    return "second argument"


def _forget_gate(q):
    assert [n for n, _ in nn.GRU(3, 4).named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert nn.GRU(3, 4).weight_ih_l0.shape[0] == 3 * 4 and nn.LSTM(3, 4).weight_ih_l0.shape[0] == 4 * 4
    return "Forget gate"


def _three_quarters(q):
    assert count(nn.GRU(10, 20)) / count(nn.LSTM(10, 20)) == 0.75
    return "3/4 of the parameters"


def _hidden_size(q):
    out, h_n = nn.GRU(4, 6)(torch.randn(9, 2, 4))
    assert out.shape[-1] == h_n.shape[-1] == 6 and out.shape[0] == 9
    return "hidden state vector"


EVIDENCE = {
    "rnn-q1": _layout_q1,
    "rnn-q2": lambda q: (any(n.endswith("_reverse") for n, _ in nn.RNN(3, 4, bidirectional=True).named_parameters())
                         and "forwards and backwards"),
    "rnn-q3": lambda q: (len(nn.RNN(3, 4)(torch.randn(5, 2, 3))) == 2 and "Predicted class labels"),
    "rnn-q4": lambda q: (nn.RNN(3, 7)(torch.randn(5, 2, 3))[1].shape[-1] == 7 and "hidden state vector"),
    "rnn-q5": _h0_q5,
    "rnn-q6": lambda q: str(tuple(run_code(q)["h_n"].shape)),
    "rnn-q7": _backward_summary_q7,
    "rnn-q8": lambda q: str(count(nn.RNN(10, 20))),
    "rnn-q9": lambda q: "{1} sequences of {0} steps".format(*run_code(q)["output"].shape[:2]),
    "rnn-q10": lambda q: raised(lambda: run_code(q)),
    "rnn-q11": lambda q: raised(lambda: nn.RNN(3, 4, "relu")),
    "gru-q1": lambda q: _z_one_q9(q) and "How much past information to keep",
    "gru-q2": _batch_first_argument_q2,
    "gru-q3": _forget_gate,
    "gru-q4": _three_quarters,
    "gru-q5": _hidden_size,
    "gru-q6": lambda q: str(tuple(nn.GRU(5, 3).weight_ih_l0.shape)),
    "gru-q7": _gate_order_q7,
    "gru-q8": _reset_placement_q8,
    "gru-q9": _z_one_q9,
    "gru-q10": lambda q: raised(lambda: nn.GRU(3, 4, nonlinearity="relu")),
    "gru-q11": lambda q: raised(lambda: nn.GRU(3, 4)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))),
    "gru-q12": lambda q: str(count(nn.GRU(10, 20))),
}


# -- the quiz ------------------------------------------------------------------------------------------

def test_each_part_has_at_least_ten_questions_at_every_level():
    for part, questions in revision.PARTS.items():
        assert len(questions) >= 10, part
        assert {q.level for q in questions} == set(revision.LEVELS), part
        assert sum("multiple choice" in q.origin for q in questions) == 5, f"{part}: the sheet's five questions"
        for q in questions:
            assert q.qid.startswith(part + "-") and len(q.options) == len(q.why) == 4, q.qid
    assert set(revision.KEYS) == set(revision.QUESTIONS) == set(EVIDENCE)


@pytest.mark.parametrize("qid", list(revision.QUESTIONS))
def test_the_key_is_the_answer_found_by_running_torch(qid):
    q = revision.QUESTIONS[qid]
    assert re.fullmatch(r"[0-9a-f]{16}", revision.KEYS[qid]), "keys are stored hashed"
    assert sum(q.is_right(letter) for letter in revision.LETTERS) == 1, "exactly one right option"
    torch.manual_seed(0)
    evidence = EVIDENCE[qid](q)
    assert isinstance(evidence, str) and evidence, f"{qid}: no evidence"
    matching = [letter for letter, option in zip(revision.LETTERS, q.options) if evidence in option]
    assert matching == [q.right], f"{qid}: torch says {evidence!r}, options {q.options}, key {q.right}"


def test_keys_are_spread_over_the_letters():
    for part, questions in revision.PARTS.items():
        letters = [q.right for q in questions]
        assert all(letters.count(letter) <= len(questions) // 2 for letter in revision.LETTERS), (part, letters)


def test_fallback_answer_prints_the_verdict_and_why():
    q = revision.QUESTIONS["rnn-q6"]
    wrong = next(letter for letter in revision.LETTERS if letter != q.right)
    for letter, want, mark in ((q.right, True, "✓"), (wrong, False, "✗"), ("?", None, "?"), ("AB", None, "?")):
        with redirect_stdout(io.StringIO()) as out:
            assert revision.answer("rnn-q6", letter) is want
        text = out.getvalue()
        assert text.startswith(mark), text
        if want is True:  # once right: why each other option is wrong
            assert all(why in text for why in q.why)
        elif want is False:
            assert q.why[revision.LETTERS.index(wrong)] in text and q.why[revision.LETTERS.index(q.right)] not in text
    with redirect_stdout(io.StringIO()) as out:
        assert revision.answer("rnn-q6", f" {q.right.lower()} ") is True  # case and spaces do not matter
        assert revision.answer("nope", "A") is None
    assert "no question 'nope'" in out.getvalue()


def test_static_quiz_prints_every_question_and_no_explanation():
    for part, questions in revision.PARTS.items():
        with redirect_stdout(io.StringIO()) as out:
            assert revision.quiz(part, static=True) is None
        text = out.getvalue()
        assert all(q.text in text and all(o in text for o in q.options) for q in questions)
        assert not any(why in text for q in questions for why in q.why)
        assert f'revision.answer("{part}-q1", "<letter>")' in text


def test_widget_buttons_give_instant_feedback():
    box = revision.quiz("gru", static=False)
    q = revision.GRU[0]
    title, buttons, feedback = box.children[0].children
    assert q.text.split("`")[0] in title.value and len(buttons.children) == 4 and feedback.value == ""
    wrong = next(i for i, letter in enumerate(revision.LETTERS) if letter != q.right)
    buttons.children[wrong].click()
    assert "✗" in feedback.value and "is wrong" in feedback.value and buttons.children[wrong].button_style == "danger"
    buttons.children[revision.LETTERS.index(q.right)].click()
    assert "✓" in feedback.value and buttons.children[wrong].button_style == ""
    import html
    assert all(html.escape(why) in feedback.value for why in q.why)


def test_self_score_counts_concepts():
    good = {
        "rnn-e1": "Step by step, the hidden state h_t carries memory; the same weights are shared at every step; "
                  "h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).",
        "rnn-e2": "A bidirectional layer adds a backward pass and concatenates both directions (2H features), "
                  "so it needs the whole sequence first and cannot run online.",
        "gru-e1": "Step by step with a hidden state: the update gate keeps the old state, the reset gate scales "
                  "it in the candidate (tanh), which helps against vanishing gradients over long ranges.",
        "gru-e2": "nn.GRU(input_size, hidden_size); input (seq_len, batch, input_size) or batch_first=True; "
                  "output has every step; h_n is (num_layers * num_directions, batch, hidden_size); pass h_0 or pack.",
    }
    for pid, prompt in revision.PROMPTS.items():
        assert revision.concepts_named(pid, good[pid]) == [True] * len(prompt.concepts), pid
        assert revision.concepts_named(pid, "I do not know.") == [False] * len(prompt.concepts), pid
    with redirect_stdout(io.StringIO()) as out:
        revision.score_explanation("rnn-e1", "It reads the sequence one step at a time.")
    assert out.getvalue().startswith("you named 1/4 concepts") and "rough self-check" in out.getvalue()
    assert [len(p.concepts) for p in revision.PROMPTS.values()] == [4, 3, 5, 5]  # as the sheets count them


# -- the notebooks' sources ----------------------------------------------------------------------------

def notebook_text(path: Path) -> str:
    return "\n".join(source(c) for c in json.loads(path.read_text())["cells"])


def test_the_revision_notebooks_are_listed_apart_from_the_graded_ones():
    assert [p.name for p in revision_paths()] == ["gru_revision.ipynb", "rnn_revision.ipynb"]
    assert REVISION_ASSIGNMENTS == ("revision",)
    assert not any(p.parent.name == "revision" for p in solution_notebooks(SOLUTIONS))
    assert revision_notebooks(SOLUTIONS) == revision_paths()


@pytest.mark.parametrize("path", revision_paths(), ids=lambda p: p.stem)
def test_no_key_or_explanation_in_the_notebook_source(path):
    for text in (notebook_text(path), notebook_text(release_of(path))):
        assert "KEYS" not in text and "is_right" not in text and ".right" not in text
        for q in revision.QUESTIONS.values():
            assert q.text not in text, f"{q.qid}: the question belongs in rnnlab/revision.py"
            for why in q.why:
                assert why not in text, f"{q.qid}: an explanation is readable in the notebook"
        for qid, letter in re.findall(r'answer\("([\w-]+)",\s*"(\w)"\)', text):
            assert qid not in revision.QUESTIONS or not revision.QUESTIONS[qid].is_right(letter), (qid, letter)


@pytest.mark.parametrize("path", revision_paths(), ids=lambda p: p.stem)
def test_no_graded_cell_and_every_card_has_a_proof_and_a_link(path):
    nb = json.loads(path.read_text())
    assert not any(c.get("metadata", {}).get("nbgrader") for c in nb["cells"]), "revision notebooks grade nothing"
    ids = {c["id"]: c for c in nb["cells"]}
    cards = [c for c in nb["cells"] if c["cell_type"] == "markdown" and source(c).startswith("**Card ")]
    assert len(cards) == 5
    for c in cards:
        text = source(c)
        assert "<details><summary>Answer</summary>" in text and "Taught in [" in text, c["id"]
        (cell_id, _), = PROOF.findall(text)
        assert ids[cell_id]["cell_type"] == "code", cell_id


@pytest.mark.parametrize("path", revision_paths(), ids=lambda p: p.stem)
def test_every_link_reaches_a_course_section(path):
    def anchor(heading: str) -> str:  # JupyterLab's heading ids: the rendered text, spaces as dashes
        return re.sub(r"[`*]", "", heading.lstrip("#").strip()).replace(" ", "-")

    links = LINK.findall(notebook_text(path))
    assert len(links) >= 10
    for target, fragment in links:
        notebook = release_of(path).parent / target
        assert notebook.exists(), target
        if fragment:
            headings = {anchor(line) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "markdown"
                        for line in source(c).splitlines() if line.startswith("#")}
            assert fragment in headings, f"{target}#{fragment}"


# -- the notebooks, run --------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path", revision_paths(), ids=lambda p: p.stem)
def test_the_notebook_runs_and_each_proof_prints_what_its_card_claims(path):
    nb, seconds = executed(path)
    outputs = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.get("execution_count") is not None and not errors(cell), (cell.id, errors(cell))
            outputs[cell.id] = output_text(cell)
    claims = [(cell_id, line) for c in nb.cells if c.cell_type == "markdown"
              for cell_id, body in PROOF.findall(c.source) for line in body.strip().splitlines()]
    assert len(claims) >= 12
    for cell_id, line in claims:
        assert line in outputs[cell_id], f"cell {cell_id} does not print {line!r}; it printed:\n{outputs[cell_id]}"
    quiz = next(text for cid, text in outputs.items() if cid.startswith("quiz_") and cid != "quiz_fallback")
    assert "buttons need JupyterLab" in quiz and not any(why in quiz for q in revision.QUESTIONS.values() for why in q.why)
    assert seconds < 20, f"{path.name} took {seconds:.1f} s"


@pytest.mark.slow
def test_course_revision_is_what_nbgrader_generates_without_a_gradebook(tmp_path):
    from autograder.build import build_course

    shutil.copytree(SOLUTIONS / "revision", tmp_path / "solutions" / "revision")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    build_course(tmp_path, only=["revision"])
    fresh = sorted(p.name for p in (tmp_path / "course" / "revision").iterdir())
    assert fresh == sorted(p.name for p in (COURSE / "revision").iterdir())
    for name in fresh:
        assert (tmp_path / "course" / "revision" / name).read_bytes() == (COURSE / "revision" / name).read_bytes(), \
            f"course/revision/{name} is stale: run `make course`"
    assert not (tmp_path / "grading" / "gradebook.db").exists(), "revision must not create a gradebook row"


# -- the tools that walk assignments leave revision/ out -------------------------------------------------

def test_grade_class_ignores_a_submitted_revision_folder_with_one_note(tmp_path):
    from autograder.classgrade import discover

    first = solution_notebooks(SOLUTIONS)[0]
    for student in ("ann", "bob"):
        (tmp_path / student / "revision").mkdir(parents=True)
        shutil.copy(COURSE / "revision" / "rnn_revision.ipynb", tmp_path / student / "revision")
    (tmp_path / "ann" / first.parent.name).mkdir()
    shutil.copy(release_of(first), tmp_path / "ann" / first.parent.name)
    log = io.StringIO()
    tasks = discover(tmp_path, SOLUTIONS, None, log=log)
    assert {t.assignment for t in tasks} == {first.parent.name}
    assert log.getvalue().count("\n") == 1 and "2 revision folder(s) ignored" in log.getvalue()


def test_gradescope_builds_no_zip_for_revision():
    from autograder import gradescope

    assert "revision" not in gradescope.assignments(SOLUTIONS)
    with pytest.raises(gradescope.BuildError, match="revision notebooks, which are not graded"):
        gradescope.zip_entries("revision", ROOT)


@pytest.mark.parametrize("path", revision_notebooks(SOLUTIONS), ids=lambda p: p.stem)
def test_grading_a_revision_notebook_says_it_has_nothing_to_grade(path, tmp_path):
    """`python -m autograder grade` on a revision page, by its name or with --assignment revision: one
    clear line, not "not a notebook of any assignment"."""
    copy = tmp_path / path.name
    shutil.copy(COURSE / "revision" / path.name, copy)
    for extra in ([], ["--assignment", "revision"]):
        proc = run([sys.executable, "-m", "autograder", "grade", str(copy), *extra])
        assert proc.returncode != 0, proc.stdout
        said = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(said) == 1 and "a revision notebook: it has nothing to grade" in said[0], proc.stderr
