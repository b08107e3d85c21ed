"""The self-check quizzes and "explain" prompts of the two revision notebooks (`course/revision/`).

- `quiz(part)` shows a part's questions ("rnn" or "gru"): in JupyterLab one button per option with the
  verdict and the reason at once (why a wrong option is wrong, and, once right, why every other option
  is wrong); elsewhere (no ipywidgets, a script, nbgrader) it prints the questions, and
  `answer("rnn-q3", "B")` prints the verdict and the explanation as text.
- `score_explanation(prompt_id, text)` counts the concepts a written answer names ("you named 2/4
  concepts"), by keywords and synonyms: a rough self-check, not a grade.

The questions, options and explanations are here, not in the notebooks, so that a learner does not read
the answers before answering; the keys are stored as salted hashes (`KEYS`), so that reading this file
does not give them away at a glance either. tests/test_revision.py checks every key, running torch
where the question is about behaviour.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field

LETTERS = "ABCD"
LEVELS = ("easy", "medium", "hard")
_SALT = "rnnlab-revision-2026"


def _digest(qid: str, letter: str) -> str:
    return hashlib.sha256(f"{_SALT}:{qid}:{letter.strip().upper()}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Question:
    qid: str
    level: str
    origin: str  # where it comes from: the cheat sheet's question, or the course
    text: str
    options: tuple[str, str, str, str]
    why: tuple[str, str, str, str]  # one explanation per option, right or wrong
    code: str = ""  # a snippet the question is about, shown under it

    def is_right(self, letter: str) -> bool:
        return _digest(self.qid, letter) == KEYS[self.qid]

    @property
    def right(self) -> str:
        return next(letter for letter in LETTERS if self.is_right(letter))


# ------------------------------------------------------------------------------------- part 1: nn.RNN
RNN = [
    Question("rnn-q1", "easy", "nn.RNN sheet, multiple choice 1",
             "What shape should the input sequence to a default `nn.RNN` (no `batch_first`) have?",
             ("(batch_size, seq_len, input_size)", "(seq_len, batch_size, input_size)",
              "(input_size, seq_len, batch_size)", "(batch_size, input_size, seq_len)"),
             ("That is the layout with `batch_first=True`; a default layer would read the batch as time.",
              "The default layout is time first. (`batch_first=True` makes it batch first; one sequence may "
              "also be 2-D, `(seq_len, input_size)`.)",
              "The features are always the last dimension: `input.size(-1)` must equal `input_size`.",
              "That is a Conv1d layout (channels before length); recurrent layers keep the features last.")),
    Question("rnn-q2", "easy", "nn.RNN sheet, multiple choice 2",
             "What does setting `bidirectional=True` do in `nn.RNN`?",
             ("Processes the sequence forwards and backwards", "Stacks multiple RNN layers",
              "Changes the activation function", "Disables the hidden state"),
             ("A second set of weights reads the sequence from the end; `output` concatenates both "
              "directions (last dimension 2H) and `h_n` stacks them (first dimension doubles).",
              "Stacking is `num_layers`; `bidirectional` keeps one layer but adds a reverse direction.",
              "The activation is `nonlinearity` ('tanh' or 'relu').",
              "Both directions keep a hidden state; `h_n` has one per direction.")),
    Question("rnn-q3", "easy", "nn.RNN sheet, multiple choice 3",
             "Which of these is NOT an output of `nn.RNN`?",
             ("Output for all time steps", "Last hidden state", "Predicted class labels", "None of the above"),
             ("`output` is every step's hidden state (of the last layer).",
              "`h_n` is the last hidden state of every layer and direction.",
              "A recurrent layer returns states; class labels need a head (e.g. `nn.Linear` on `h_n[-1]`) "
              "and an argmax.",
              "One of the options is not an output: `nn.RNN` returns the pair `(output, h_n)` only.")),
    Question("rnn-q4", "easy", "nn.RNN sheet, multiple choice 4",
             "What does the `hidden_size` parameter affect?",
             ("Size of the hidden state vector", "Length of the input sequence", "Number of layers",
              "Batch size"),
             ("It is H: the size of h_t, of `output`'s last dimension (per direction) and of both weights' rows.",
              "The sequence length is not a constructor argument: the same layer runs on any length.",
              "That is `num_layers`.",
              "The batch size comes from the input tensor, not from the layer.")),
    Question("rnn-q5", "medium", "nn.RNN sheet, multiple choice 5",
             "How can you provide an initial hidden state to `nn.RNN`?",
             ("By setting a parameter during initialization", "You cannot provide an initial hidden state",
              "By modifying the input sequence", "By passing it as the second argument to the forward method"),
             ("The constructor has no such parameter: `h_0` belongs to each call, since it depends on the batch.",
              "You can, and without it the layer starts from zeros.",
              "The input holds x_t only; the state is a separate tensor.",
              "`rnn(x, h_0)` (or `hx=h_0`), shaped (num_layers * num_directions, batch, hidden_size), "
              "never batch-first.")),
    Question("rnn-q6", "medium", "course (02, 03)",
             "What is the shape of `h_n` here?",
             ("(5, 4, 4)",
              "(2, 5, 8)",
              "(5, 7, 8)",
              "(4, 5, 4)"),
             ("That is `h_n` made batch-first by mistake: `batch_first` never applies to `h_0` or `h_n`.",
              "`h_n` stacks directions along its first dimension; it does not concatenate them like `output`.",
              "That is `output`: (batch, seq_len, 2 * hidden_size) with `batch_first=True`.",
              "(num_layers * num_directions, batch, hidden_size) = (2 * 2, 5, 4), whatever `batch_first` says."),
             code="rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True)\n"
                  "output, h_n = rnn(torch.randn(5, 7, 3))"),
    Question("rnn-q7", "medium", "course (03)",
             "A one-layer bidirectional `nn.RNN` (hidden size H), default layout: where is the backward "
             "direction's summary of the whole sequence in `output`?",
             ("output[-1, :, H:]", "output[0, :, H:]", "output[-1, :, :H]", "output[0, :, :H]"),
             ("At the last step the backward direction has read one input only: its summary is at step 0.",
              "The backward direction ends at t = 0, so its final state is `output[0, :, H:]`, equal to `h_n[1]`.",
              "That is the forward direction's summary (equal to `h_n[0]`).",
              "That is the forward direction after one input.")),
    Question("rnn-q8", "medium", "course (01)",
             "How many parameters does `nn.RNN(10, 20)` have?",
             ("600", "620", "640", "800"),
             ("That forgets both biases: `bias=True` adds b_ih and b_hh, 20 each.",
              "There are two biases, b_ih and b_hh, not one.",
              "W_ih (20, 10) + W_hh (20, 20) + b_ih (20) + b_hh (20) = H(I + H) + 2H = 640.",
              "W_hh is (H, H) = (20, 20), not (20, 30).")),
    Question("rnn-q9", "hard", "nn.RNN sheet, practice 4, after the fix",
             "The sheet's buggy snippet, fixed by setting `input_size=10`: what does the layer now read?",
             ("It raises: the batch must come first",
              "It depends on hidden_size",
              "5 sequences of 3 steps",
              "3 sequences of 5 steps"),
             ("Nothing raises: any 3-D tensor whose last dimension is 10 is accepted.",
              "hidden_size sets the state size; it has nothing to do with the layout.",
              "Default layout (seq_len, batch, input_size): 3 steps, batch of 5. It runs silently on the wrong "
              "layout: pass `batch_first=True` if the data is batch first.",
              "The comment says batch=3, but a default layer reads dimension 0 as time."),
             code="rnn = nn.RNN(input_size=10, hidden_size=4)\n"
                  "input = torch.randn(3, 5, 10)  # the sheet's comment: batch=3, seq_len=5, input_size=10\n"
                  "output, hn = rnn(input)"),
    Question("rnn-q10", "hard", "course (04)",
             "What does this do?",
             ("It raises an AttributeError",
              "It packs the batch",
              "It packs the batch in a wrong order silently",
              "It raises a RuntimeError"),
             ("An AttributeError is what a Python list of tensors fed to the layer gives, not this.",
              "Only with `enforce_sorted=False`, or lengths sorted in decreasing order.",
              "PyTorch checks the order; with `enforce_sorted=False` it sorts, and unsorts on the way out.",
              "The default `enforce_sorted=True` needs lengths in decreasing order: \"`lengths` array must be "
              "sorted in decreasing order when `enforce_sorted` is True\"."),
             code="from torch.nn.utils.rnn import pack_padded_sequence\n"
                  "pack_padded_sequence(torch.zeros(5, 3, 2), torch.tensor([2, 5, 3]))"),
    Question("rnn-q11", "hard", "course (01)",
             "What does `nn.RNN(3, 4, 'relu')` do?",
             ("Raises a TypeError",
              "Builds a ReLU RNN",
              "Raises a ValueError about the nonlinearity",
              "Builds a tanh RNN and ignores 'relu'"),
             ("'relu' lands in `num_layers`: TypeError: '<=' not supported between instances of 'str' and "
              "'int'. Write `nn.RNN(3, 4, nonlinearity='relu')`.",
              "The third positional argument is `num_layers`; the nonlinearity must be given by keyword.",
              "That is what an unknown `nonlinearity=` keyword gives ('sigmoid', say).",
              "Nothing is ignored: the string is taken as the number of layers, and fails.")),
]

# ------------------------------------------------------------------------------------- part 2: nn.GRU
GRU = [
    Question("gru-q1", "easy", "nn.GRU sheet, multiple choice 1",
             "What does the update gate z in a GRU control?",
             ("How much past information to keep", "How to reset the hidden state", "The input feature size",
              "The output sequence length"),
             ("h' = (1 - z) * n + z * h: in PyTorch's convention z near 1 keeps the old state, z near 0 writes "
              "the candidate n.",
              "That is the reset gate r, which scales the recurrent part of the candidate n.",
              "The input size is `input_size`, fixed when the layer is made.",
              "The output has one step per input step; no gate changes that.")),
    Question("gru-q2", "easy", "nn.GRU sheet, multiple choice 2",
             "Which argument makes `nn.GRU` expect input shaped (batch, seq_len, input_size)?",
             ("dropout=0.5", "bidirectional=True", "num_layers=2", "batch_first=True"),
             ("Dropout acts between stacked layers; it changes no shape.",
              "It doubles `output`'s last dimension and `h_n`'s first; the layout stays time first.",
              "Stacking changes `h_n`'s first dimension only.",
              "`batch_first=True` puts the batch first in the input and `output`, never in `h_0` or `h_n`.")),
    Question("gru-q3", "easy", "nn.GRU sheet, multiple choice 3",
             "Which of these is NOT a gate in a GRU cell?",
             ("Forget gate", "Update gate", "Reset gate", "None of the above"),
             ("The forget gate is the LSTM's; a GRU has a reset gate r and an update gate z (and a candidate n).",
              "z, the update gate, is the GRU's second block of weights.",
              "r, the reset gate, is the GRU's first block of weights.",
              "One option is not a GRU gate.")),
    Question("gru-q4", "medium", "nn.GRU sheet, multiple choice 4, corrected",
             "What is the main advantage of a GRU over an LSTM of the same sizes?",
             ("Requires more memory", "Handles longer sequences better",
              "Simpler: 3 weight blocks instead of 4, so 3/4 of the parameters", "Has more gates"),
             ("It has fewer parameters, so less memory, not more.",
              "Neither is better in general; with a good forget/update-gate bias both carry gradients far (08).",
              "GRU: 3 blocks (r, z, n), LSTM: 4 (i, f, g, o): 1920 against 2560 parameters for (10, 20). "
              "Faster is not guaranteed: on a CPU the LSTM's fused kernel was faster (08, §4).",
              "It has fewer: two gates and a candidate, against the LSTM's three gates and a candidate.")),
    Question("gru-q5", "easy", "nn.GRU sheet, multiple choice 5",
             "What does the `hidden_size` parameter in `nn.GRU` specify?",
             ("The length of the input sequence", "The size of the hidden state vector", "The number of layers",
              "The batch size"),
             ("The layer runs on any length; the length is not an argument.",
              "H: the size of h_t and of each gate, so the weights are (3H, input_size) and (3H, H).",
              "That is `num_layers`.",
              "The batch comes with the input tensor.")),
    Question("gru-q6", "medium", "course (06)",
             "What is the shape of `nn.GRU(5, 3).weight_ih_l0`?",
             ("(3, 5)", "(9, 5)", "(5, 9)", "(9, 3)"),
             ("That is `nn.RNN(5, 3)`'s: a GRU stacks three blocks.",
              "(3 * hidden_size, input_size): the r, z and n blocks stacked along the rows.",
              "PyTorch stores weights as (out, in) and computes x @ W.T.",
              "That is `weight_hh_l0`: (3H, H).")),
    Question("gru-q7", "medium", "course (06)",
             "In which order are the gate blocks stacked in `weight_ih_l0` (rows, top to bottom)?",
             ("i, f, g, o",
              "z, r, n",
              "n, r, z",
              "r, z, n"),
             ("That is the LSTM's order (input, forget, cell, output).",
              "z is the second block, not the first.",
              "The candidate n is the last block.",
              "Reset, update, new: `W_ir, W_iz, W_in = gru.weight_ih_l0.chunk(3)`.")),
    Question("gru-q8", "hard", "course (06)",
             "Where does the reset gate r act in `nn.GRU`'s candidate n?",
             ("n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)",
              "n = tanh(r * (x W_in^T + b_in) + h W_hn^T + b_hn)",
              "n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))",
              "h' = r * n + (1 - r) * h"),
             ("That is Cho et al.'s form, printed in most texts (and d2l's): it does not match `nn.GRU`.",
              "r scales the recurrent part, never the input part.",
              "After the product, including b_hn: PyTorch's form (Keras reset_after=True), as the docstring says.",
              "That mixing is the update gate z's job.")),
    Question("gru-q9", "medium", "course (06, 08)",
             "If the update gate is z = 1 at every step, what is h_n?",
             ("The last candidate n",
              "Zeros",
              "The last input",
              "h_0: the state is carried unchanged"),
             ("That is z = 0: h' = n.",
              "Only if h_0 is zeros: the state is whatever it started as.",
              "h has hidden_size entries; the input is never copied into it.",
              "h' = (1 - z) * n + z * h = h: nothing is written, so h_n = h_0 (and gradients pass unchanged).")),
    Question("gru-q10", "medium", "course (07)",
             "What does `nn.GRU(3, 4, nonlinearity='relu')` do?",
             ("Builds a GRU whose candidate uses ReLU", "Raises a TypeError", "Raises a ValueError",
              "Builds a tanh GRU and ignores the keyword"),
             ("Only `nn.RNN` has a `nonlinearity`; a GRU's gates are sigmoids and its candidate tanh, fixed.",
              "TypeError: RNNBase.__init__() got an unexpected keyword argument 'nonlinearity'.",
              "A ValueError is what `nn.RNN(..., nonlinearity='sigmoid')` gives.",
              "Unknown keywords are refused, never ignored.")),
    Question("gru-q11", "hard", "course (07)",
             "What happens when an LSTM-style state `(h_0, c_0)` is passed to an `nn.GRU`?",
             ("The GRU uses h_0 and ignores c_0",
              "RuntimeError: Expected hidden size ...",
              "AttributeError: 'tuple' object has no attribute 'dim'",
              "It runs and adds c_0 to the state"),
             ("A GRU has one state tensor and does not unpack tuples.",
              "That message is for a tensor of the wrong shape, not for a tuple.",
              "The GRU treats the tuple as its one state tensor and fails at once, with a message that does "
              "not name the cause.",
              "There is no cell state in a GRU.")),
    Question("gru-q12", "medium", "course (07)",
             "How many parameters does `nn.GRU(10, 20)` have?",
             ("640", "1280", "1920", "2560"),
             ("That is `nn.RNN(10, 20)`: a GRU has three such blocks.",
              "That is a bidirectional `nn.RNN(10, 20)`.",
              "3 x [H(I + H) + 2H] = 3 x 640: the r, z and n blocks.",
              "That is `nn.LSTM(10, 20)`: four blocks.")),
]

QUESTIONS = {q.qid: q for q in RNN + GRU}
PARTS = {"rnn": RNN, "gru": GRU}
# salted hashes of the right letters (tests/test_revision.py checks each against torch or the course)
KEYS = {
    "rnn-q1": "8fcbf569bd232844", "rnn-q2": "f99075a2826921c5", "rnn-q3": "949758dab335e681",
    "rnn-q4": "b5a82fc8927ef757", "rnn-q5": "746e465750d73281", "rnn-q6": "0b06846af11d6f2d",
    "rnn-q7": "9fb01cb72064d015", "rnn-q8": "e019e3e9bc3ac3ca", "rnn-q9": "8333af43672d6f57",
    "rnn-q10": "c3e111922641c3eb", "rnn-q11": "30b3b744256134c5", "gru-q1": "d42df5c094884eb5",
    "gru-q2": "a62b41faf4d30167", "gru-q3": "f708994f1835d8d7", "gru-q4": "050a0301aab99ff2",
    "gru-q5": "60bc19465d034cd6", "gru-q6": "efc4468dcb1987a1", "gru-q7": "cfb7ffaa375bd18d",
    "gru-q8": "14079b993ebd222f", "gru-q9": "4b679e9c556e3687", "gru-q10": "81f186c881a3efa3",
    "gru-q11": "0d4b8060b70b3e3f", "gru-q12": "35cfcfddebfd2ca3",
}


# ------------------------------------------------------------------------------------------ answering

def verdict(qid: str, letter: str) -> tuple[bool | None, str]:
    """(right?, the explanation as text); right? is None when the input is not an answer."""
    q = QUESTIONS.get(qid)
    if q is None:
        return None, f"no question {qid!r}; the questions are {', '.join(QUESTIONS)}"
    letter = str(letter).strip().upper()
    if len(letter) != 1 or letter not in LETTERS:
        return None, f"{qid}: {letter!r} is not one of {', '.join(LETTERS)}: answer with one letter"
    why = q.why[LETTERS.index(letter)]
    if q.is_right(letter):
        others = [f"  {other} is wrong: {q.why[LETTERS.index(other)]}" for other in LETTERS if other != letter]
        return True, "\n".join([f"{qid}: {letter} is right. {why}", *others])
    return False, f"{qid}: {letter} is wrong. {why} Try another option."


def answer(qid: str, letter: str) -> bool | None:
    """Print the verdict on one answer and why; returns True (right), False (wrong) or None (not an answer)."""
    right, text = verdict(qid, letter)
    print(("✓ " if right else "✗ " if right is False else "? ") + text)
    return right


def _as_text(q: Question) -> str:
    lines = [f"{q.qid} [{q.level}] ({q.origin}) {q.text}"]
    if q.code:
        lines += ["    " + line for line in q.code.splitlines()]
    lines += [f"  {letter}. {option}" for letter, option in zip(LETTERS, q.options)]
    return "\n".join(lines)


def quiz(part: str, static: bool | None = None):
    """Show the self-check quiz of `part` ("rnn" or "gru"): buttons with instant feedback in JupyterLab,
    the questions as text elsewhere (then answer with `answer(qid, letter)`). Returns the widget, or None."""
    questions = PARTS[part]
    from .explorer import why_static

    reason = "static=True" if static else why_static() if static is None else None
    if reason is None:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            reason = "ipywidgets is not installed"
    if reason is not None:
        counts = ", ".join(f"{sum(q.level == level for q in questions)} {level}" for level in LEVELS)
        print(f"{len(questions)} questions ({counts}); buttons need JupyterLab with ipywidgets ({reason}): "
              f"answer each with revision.answer(\"{questions[0].qid}\", \"<letter>\")\n")
        print("\n\n".join(_as_text(q) for q in questions))
        return None
    return _widget(questions)


def _widget(questions):
    import ipywidgets as widgets
    from IPython.display import display

    boxes = []
    for q in questions:
        title = widgets.HTML(f"<b>{html.escape(q.qid)}</b> <i>[{q.level}]</i> ({html.escape(q.origin)}) "
                             f"{_inline_code(q.text)}" + (f"<pre>{html.escape(q.code)}</pre>" if q.code else ""))
        feedback = widgets.HTML()
        buttons = []
        for letter, option in zip(LETTERS, q.options):
            button = widgets.Button(description=f"{letter}. {option}", layout=widgets.Layout(width="auto"),
                                    tooltip=option)
            button.on_click(_on_click(q, letter, feedback, buttons))
            buttons.append(button)
        boxes.append(widgets.VBox([title, widgets.VBox(buttons), feedback],
                                  layout=widgets.Layout(margin="0 0 12px 0")))
    box = widgets.VBox(boxes)
    display(box)
    return box


def _on_click(q: Question, letter: str, feedback, buttons):
    def clicked(_button):
        right, text = verdict(q.qid, letter)
        lines = text.splitlines()
        for other in buttons:
            other.button_style = ""
        colour = "green" if right else "firebrick"
        feedback.value = (f"<div style='color:{colour}'>{'✓' if right else '✗'} {html.escape(lines[0])}</div>"
                          + "".join(f"<div>{html.escape(line)}</div>" for line in lines[1:]))
        _button.button_style = "success" if right else "danger"
    return clicked


def _inline_code(text: str) -> str:
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


# ------------------------------------------------------------------------------------ explain prompts

@dataclass(frozen=True)
class Concept:
    name: str
    patterns: tuple[str, ...]  # regular expressions, any of which counts (case-insensitive)


@dataclass(frozen=True)
class Prompt:
    pid: str
    text: str
    concepts: tuple[Concept, ...] = field(default_factory=tuple)


PROMPTS = {p.pid: p for p in [
    Prompt("rnn-e1", "Explain how the nn.RNN layer processes a sequence of data step-by-step.", (
        Concept("one time step at a time, in order",
                (r"step[- ]by[- ]step", r"one (time )?step at a time", r"each (time )?step", r"in order",
                 r"sequential", r"time step", r"\bfor t\b", r"one element at a time")),
        Concept("a hidden state carries what was seen to the next step",
                (r"hidden state", r"\bh_?t\b", r"\bh_?\{?t ?- ?1", r"memory", r"previous state", r"carr(y|ies)")),
        Concept("the same weights are reused at every step",
                (r"same weights", r"shared weights", r"weights? (are |is )?shared", r"reuse", r"same parameters",
                 r"same (matrices|matrix)")),
        Concept("the update: tanh of the input and the previous state (two products, two biases)",
                (r"tanh", r"nonlinearit", r"activation", r"W_?ih", r"W_?hh", r"combin\w* .*(input|x).*(previous|h)",
                 r"input and (the )?previous")),
    )),
    Prompt("rnn-e2", "Describe the difference between a unidirectional and a bidirectional nn.RNN layer.", (
        Concept("a second direction reads the sequence backwards, with its own weights",
                (r"backward", r"revers", r"from the end", r"right to left", r"both directions", r"two directions")),
        Concept("each step's output joins both directions (2 x hidden_size features; h_n stacks them)",
                (r"concat", r"2 ?\* ?h", r"2h\b", r"twice", r"doubl", r"both sides", r"past and future",
                 r"future context", r"whole sequence")),
        Concept("it needs the whole sequence first: not for online / streaming prediction",
                (r"online", r"stream", r"real[- ]time", r"whole sequence (first|before|in advance)",
                 r"entire sequence", r"cannot predict .*as", r"not causal", r"causal")),
    )),
    Prompt("gru-e1", "Explain how a GRU layer processes sequence data and why it is useful.", (
        Concept("step by step, with a hidden state carried forward",
                (r"step[- ]by[- ]step", r"each (time )?step", r"hidden state", r"memory", r"sequential")),
        Concept("an update gate z that decides how much of the old state to keep",
                (r"update gate", r"\bz\b", r"keep", r"carry")),
        Concept("a reset gate r that decides how much of the old state enters the candidate",
                (r"reset gate", r"\br\b")),
        Concept("a candidate state n (tanh) mixed with the old state",
                (r"candidate", r"\bn_?t?\b", r"new state", r"tanh", r"interpolat", r"mix")),
        Concept("gates keep gradients and information over long ranges (vanishing gradients)",
                (r"vanish", r"long[- ](range|term)", r"long sequences", r"gradient", r"longer")),
    )),
    Prompt("gru-e2", "Describe how to set up and use an nn.GRU layer in PyTorch, including input and "
                     "output shapes.", (
        Concept("the constructor: nn.GRU(input_size, hidden_size, num_layers=..., bidirectional=...)",
                (r"nn\.GRU\(", r"input_size", r"hidden_size", r"num_layers")),
        Concept("the input: (seq_len, batch, input_size), or batch first with batch_first=True",
                (r"seq_len,? ?batch", r"batch_first", r"\(L, ?N", r"time first")),
        Concept("output: every step's state, last dimension num_directions * hidden_size",
                (r"output", r"out\b", r"every step", r"all (time )?steps")),
        Concept("h_n: (num_layers * num_directions, batch, hidden_size), never batch-first",
                (r"h_n", r"\bhn\b", r"final hidden", r"last hidden", r"num_layers ?\* ?num_directions")),
        Concept("an optional h_0 in the call, and packing for variable lengths",
                (r"h_0", r"\bh0\b", r"initial (hidden )?state", r"pack", r"pad")),
    )),
]}


def concepts_named(pid: str, text: str) -> list[bool]:
    """For each concept of prompt `pid`, whether `text` names it (by keywords and synonyms)."""
    return [any(re.search(p, text, re.I) for p in c.patterns) for c in PROMPTS[pid].concepts]


def score_explanation(pid: str, text: str) -> None:
    """Print which of the prompt's concepts `text` names, and how many (a rough self-check, not a grade)."""
    prompt = PROMPTS[pid]
    named = concepts_named(pid, text)
    print(f"you named {sum(named)}/{len(named)} concepts (a rough self-check by keywords: read the list)")
    for hit, concept in zip(named, prompt.concepts):
        print(f"  {'✓' if hit else '✗'} {concept.name}")
