"""Hidden multiple-choice keys stay hidden: no name or hint of a hidden choice case gives its key away.

A hidden case's name and hint reach the learner (the text report, Gradescope's visible
results.json, the feedback HTML) every time they self-grade, so a hint that names the key, the key
option's text or its values makes the key public. For every hidden multiple-choice case of every
solution notebook (`check.choice` with a key, and `check.equal` whose key is a set of option
letters), this test finds the key and the options in the exercise's markdown prompt and checks that
what the learner sees names no option letter (naming the others gives the key by elimination), does
not quote the key option's text, and holds none of its tuples or of the numbers only it contains.
"""
from __future__ import annotations

import ast
import re

import pytest

from autograder.notebooks import load_solution
from conftest import solution_paths

STOPWORDS = set("""a an the of to in on at by for with from and or but not no is are be it its this that
these those as into than then so do does did has have had what which who s t""".split())


# -- reading the cases and the options -------------------------------------------------------------

def hidden_choice_cases(test_source: str) -> list[dict]:
    """Every hidden multiple-choice case of a test cell: name, hint, key letters, options, answer variable."""
    lines = test_source.splitlines()
    hidden, inside = set(), False
    for n, line in enumerate(lines, start=1):
        if "### BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "### END HIDDEN TESTS" in line:
            inside = False
        elif inside:
            hidden.add(n)
    cases = []
    for node in ast.walk(ast.parse(test_source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("choice", "equal") and node.lineno in hidden):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        if "want" not in kw or isinstance(kw["want"], ast.Lambda):
            continue
        want = ast.literal_eval(kw["want"])
        options = ast.literal_eval(kw["options"]) if "options" in kw else "ABCD"
        if node.func.attr == "choice":
            keys = {want.strip().upper()}
        elif isinstance(want, (set, frozenset)) and want and all(isinstance(w, str) and len(w) == 1 for w in want):
            keys = set(want)  # a multiple-select answer: a set of option letters
        else:
            continue
        cases.append({"name": ast.literal_eval(node.args[0]), "keys": keys, "options": options,
                      "hint": ast.literal_eval(kw["hint"]) if "hint" in kw else "",
                      "variable": _answer_variable(kw["got"]), "line": node.lineno})
    return sorted(cases, key=lambda c: c["line"])


def _answer_variable(got: ast.expr) -> str | None:
    """The learner's variable a `got=` lambda reads (`mcq_x`, `diagnosis[1]`, `{... for c in x}`)."""
    body = got.body if isinstance(got, ast.Lambda) else got
    bound = {n.id for n in ast.walk(body) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names = [n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id not in bound]
    return names[0] if names else None


_PART = re.compile(r"^\*\*\(([a-z])\)", re.M)
_MARK = re.compile(r"\*\*([A-Z])\.\*\*")


def option_lists(prompt: str) -> dict[str, list[tuple[str | None, dict[str, str]]]]:
    """The option lists of a prompt, by part label ('' before any `**(a)**`).

    Each list is (owner, {letter: text}): owner None for a bulleted list `- **A.** ...`, or the first
    `name` in backticks of a bullet that lists its options inline (`- `mcq_x`: ... **A.** ...; **B.** ...`).
    """
    starts = [(m.start(), m.group(1)) for m in _PART.finditer(prompt)]
    bounds = [(0, "")] + starts
    parts = {}
    for i, (start, label) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else len(prompt)
        parts[label] = _lists_in(prompt[start:end])
    return parts


def _lists_in(text: str) -> list[tuple[str | None, dict[str, str]]]:
    bullets, current = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            current = [line[2:]]
            bullets.append(current)
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line.strip())
        else:
            current = None
    lists, block = [], {}
    for bullet in (" ".join(b) for b in bullets):
        marks = list(_MARK.finditer(bullet))
        if len(marks) == 1 and marks[0].start() == 0:
            block[marks[0].group(1)] = bullet[marks[0].end():].strip()
            continue
        if block:
            lists.append((None, block))
            block = {}
        if marks:
            owner = re.search(r"`(\w+)`", bullet[:marks[0].start()])
            inline = {m.group(1): bullet[m.end():marks[i + 1].start() if i + 1 < len(marks) else None].strip(" ;.")
                      for i, m in enumerate(marks)}
            lists.append((owner.group(1) if owner else None, inline))
    if block:
        lists.append((None, block))
    return lists


def options_of(case: dict, prompt: str) -> dict[str, str]:
    """The options a case's key letters refer to: its part's list (for its variable), else an earlier part's."""
    parts = option_lists(prompt)
    label = re.match(r"\(([a-z])\)", case["name"])
    if label:
        order = list(parts)
        at = order.index(label.group(1)) if label.group(1) in order else -1
        candidates = [parts[p] for p in reversed(order[:at + 1])] if at >= 0 else []
    else:  # a prompt without parts: its one list, or the one its variable owns
        every = [lst for part in parts.values() for lst in part]
        mine = [lst for lst in every if lst[0] == case["variable"]]
        candidates = [mine or (every if len(every) == 1 else [])]
    for lists in candidates:
        mine = [opts for owner, opts in lists if owner == case["variable"]]
        anyone = [opts for owner, opts in lists if owner is None]
        if mine or anyone:
            found = (mine or anyone)
            if len(found) == 1:
                return found[0]
            raise LookupError(f"{case['name']!r}: {len(found)} option lists could be meant")
    raise LookupError(f"{case['name']!r}: no option list found in its prompt")


# -- judging what the learner sees ------------------------------------------------------------------

def _words(text: str) -> list[str]:
    text = re.sub(r"[*`$\\]", " ", text.lower())
    return re.findall(r"[a-z0-9_]+", text)


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if w not in STOPWORDS]


def _numbers(text: str) -> set[str]:
    return {n.lstrip("0") or "0" for n in re.findall(r"(?<![\w.§])\d+(?:\.\d+)?", text)}  # (not section numbers)


def _tuples(text: str) -> set[str]:
    return {re.sub(r"\s+", "", t) for t in re.findall(r"\(\s*-?\d+(?:\s*,\s*-?\d+)+\s*\)", text)}


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def leaks(shown: str, keys: set[str], options: dict[str, str]) -> list[str]:
    """Why `shown` (a hidden case's name or hint) gives its key away; [] if it does not.

    - it names an option letter: the key names the answer, the others give it by elimination;
    - it quotes the key option's text: the whole of a short option, or three content words in a row;
    - it holds a tuple of the key option, or a number that only the key option contains.
    """
    why = []
    for letter in re.findall(r"(?<![\w$\\])([A-Z])(?!\w)", shown):
        if letter in options:
            why.append(f"names option {letter}" + (" (the key)" if letter in keys else ", so the key by elimination"))
    said = _content(shown)
    for key in sorted(keys):
        text = options.get(key, "")
        words = _content(text)
        if words and (len(words) < 3 and _runs(said, len(words)) & {tuple(words)}):
            why.append(f"quotes option {key}, the key: {text!r}")
        elif _runs(words, 3) & _runs(said, 3):
            run = " ".join(sorted(_runs(words, 3) & _runs(said, 3))[0])
            why.append(f"quotes option {key}, the key ({run!r}): {text!r}")
        for t in sorted(_tuples(text) & _tuples(shown)):
            why.append(f"holds {t}, a value of option {key}, the key")
        others = set().union(*(_numbers(v) for k, v in options.items() if k not in keys))
        for n in sorted((_numbers(text) - others) & _numbers(shown)):
            why.append(f"holds {n}, a number only option {key}, the key, contains")
    return why


# -- the checker can fail ---------------------------------------------------------------------------

OPTIONS = {"A": "`(7, 4, 3)`", "B": "`(3, 4, 7)`", "C": "`(4, 3, 7)`", "D": "`(4, 7, 3)`"}


@pytest.mark.parametrize("hint, expected", [
    ("output is laid out like the input: (batch, seq_len, hidden_size) = (4, 7, 3)", "holds (4,7,3)"),
    ("it is D", "names option D (the key)"),
    ("A, B and C have the batch in the wrong place", "by elimination"),
])
def test_a_leaking_hint_is_caught(hint, expected):
    assert any(expected in why for why in leaks(hint, {"D"}, OPTIONS)), leaks(hint, {"D"}, OPTIONS)


def test_quoting_the_key_option_or_its_own_numbers_is_caught():
    options = {"A": "The input $x_t$, like the first layer",
               "B": "The first layer's hidden state at step $t$, a vector of 20 features",
               "C": "Forget gate", "D": "The input $x_t$ joined to the first layer's state, 30 features"}
    assert leaks("layer 2 reads a vector of 20 features", {"B"}, options)
    assert leaks("weight_ih_l1 is (20, 20)", {"B"}, options)  # 20 is B's alone
    assert leaks("the forget gate belongs to the LSTM", {"C"}, options)
    assert leaks("the second layer reads the first layer's hidden state at step t", {"B"}, options)
    assert not leaks("print weight_ih_l1.shape: its columns are what the second layer reads", {"B"}, options)


def test_a_teaching_hint_passes():
    hint = "output keeps the input's layout, with hidden_size features per step"
    assert leaks(hint, {"D"}, OPTIONS) == []


def test_the_options_of_each_part_are_found():
    prompt = ("### Exercise\n\n**(a)** Which?\n\n- **A.** `(1, 2)`\n- **B.** two\n  lines\n- **C.** c\n- **D.** d\n\n"
              "**(b)** The same for another layer: which option of (a)?\n\n**(c)** Predict:\n\n"
              "- `mcq_x`: then **A.** $h$; **B.** $n$; **C.** $0$; **D.** $(h + n) / 2$.\n"
              "- `mcq_y`: then\n  **A.** one; **B.** two; **C.** three; **D.** four.\n")
    case = {"name": "(b) the other layer", "variable": "mcq_b"}
    assert options_of(case, prompt) == {"A": "`(1, 2)`", "B": "two lines", "C": "c", "D": "d"}
    assert options_of({"name": "(c) x", "variable": "mcq_x"}, prompt)["D"] == "$(h + n) / 2$"
    assert options_of({"name": "(c) y", "variable": "mcq_y"}, prompt)["B"] == "two"
    with pytest.raises(LookupError):
        options_of({"name": "no part", "variable": "mcq_z"}, prompt)  # three lists: which one?


def test_hidden_cases_are_read_from_the_hidden_region_only():
    src = ('"""T."""\ncheck = Check("test_x", points=2)\n'
           'check.choice("format", got=lambda: mcq_x, weight=0)\n'
           '### BEGIN HIDDEN TESTS\n'
           'check.choice("(a) key", got=lambda: mcq_x, want="C", hint="h1")\n'
           'check.equal("(b) set", got=lambda: {c.upper() for c in calls}, want={"B"}, hint="h2")\n'
           'check.equal("(c) shape", got=lambda: shape, want=(1, 2), hint="h3")\n'
           '### END HIDDEN TESTS\ncheck.score()\n')
    cases = hidden_choice_cases(src)
    assert [(c["name"], c["keys"], c["variable"], c["hint"]) for c in cases] == [
        ("(a) key", {"C"}, "mcq_x", "h1"), ("(b) set", {"B"}, "calls", "h2")]


# -- every notebook ---------------------------------------------------------------------------------

def _cases_with_prompts(path):
    sol = load_solution(path)
    prompt = None
    for cell in sol.cells:
        if cell.cell_type == "markdown" and (cell.grade_id or "").startswith("prompt_"):
            prompt = cell.source
        if cell.kind == "test":
            for case in hidden_choice_cases(cell.source):
                yield cell.grade_id, case, prompt


@pytest.mark.parametrize("path", solution_paths(), ids=lambda p: p.stem)
def test_no_hidden_choice_gives_its_key_away(path):
    """What a learner sees of a hidden multiple-choice case (its name and hint) names no option and
    holds no text or value of the key option."""
    problems, seen = [], 0
    for grade_id, case, prompt in _cases_with_prompts(path):
        assert prompt is not None, f"{grade_id}: no prompt_ cell before the test"
        options = options_of(case, prompt)
        assert case["keys"] <= set(options), f"{grade_id} {case['name']!r}: key {case['keys']} not among {sorted(options)}"
        assert set(options) <= set(case["options"]), f"{grade_id} {case['name']!r}: options= misses some of {sorted(options)}"
        seen += 1
        for what in ("name", "hint"):
            problems += [f"{grade_id} {case['name']!r}, {what}: {why}" for why in leaks(case[what], case["keys"], options)]
    assert problems == []
    if path.parent.name != "10_project":  # the project has no multiple choice
        assert seen, "every notebook before the project has hidden multiple-choice cases: the search must find them"
