"""From scratch means from scratch: no library recurrent layer while a from-scratch exercise is checked.

A test cell opens `Check("test_gru_cell", points=4, from_scratch="the gates")`. While its cases run the
learner's code, a `Guard` watches every call (`sys.setprofile`): a call into one of PyTorch's recurrent
layers fails the case with a reason such as "calls torch.gru_cell (through nn.GRUCell): write the gates
yourself". It sees the layer however it is reached, because it watches the call itself, not a name:

- the C functions behind every route: `torch.gru_cell`, `torch._VF.gru_cell`,
  `torch._C._VariableFunctions.gru_cell`, the `forward` of `nn.GRUCell` / `nn.GRU` / `nn.RNN` / `nn.LSTM`,
  `torch.func.functional_call` on them, an alias, `getattr(torch, "gru" + "_cell")`;
- `torch.ops.aten.<layer>` (Python operator objects), PyTorch's Python decompositions of the layers,
  `torch.jit.script` / `torch.jit.trace` (which would hide the calls in compiled code) and the pure-Python
  quantizable layers;
- ways around the watch: starting a thread or a process, and `sys.setprofile` / `threading.setprofile`.

Who made the call decides, not where it happened: the stack is walked from the call upwards, and the
call is the learner's when a frame of the learner's code (any file outside the Python installation, the
course's packages and the test cell itself) comes before a trusted stand-in (`Check.uses`), which may
call the library to play a correct earlier exercise. Tensors, `@`, `torch.sigmoid`, `F.linear`, `einsum`
and the rest of PyTorch stay free.

`FORBIDDEN` below is the tested list of what a from-scratch exercise may not call; `CLIPPING` adds
PyTorch's gradient clipping (`torch.nn.utils.clip_grad_norm_`, `clip_grad_value_` and the helpers they
are built from), for the exercise that writes clipping by the total norm itself (notebook 11).
"""
from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

# C functions of PyTorch's recurrent layers (torch.<name>, torch._VF.<name>, aten::<name>)
FORBIDDEN = frozenset({
    "rnn_tanh", "rnn_tanh_cell", "rnn_relu", "rnn_relu_cell", "gru", "gru_cell", "lstm", "lstm_cell",
    "quantized_rnn_tanh_cell", "quantized_rnn_relu_cell", "quantized_gru_cell", "quantized_lstm_cell",
    "quantized_gru", "quantized_lstm", "_thnn_fused_gru_cell", "_thnn_fused_lstm_cell",
    "_thnn_differentiable_gru_cell_backward", "_thnn_differentiable_lstm_cell_backward",
    "mkldnn_rnn_layer", "mkldnn_rnn", "_cudnn_rnn", "miopen_rnn", "_lstm_mps", "lstm_mps_backward",
})
# C functions that would take the learner's code out of sight of the watch
ESCAPES = {
    "setprofile": "calls sys.setprofile",
    "start_new_thread": "starts a thread", "start_joinable_thread": "starts a thread",
    "fork": "starts a process", "forkpty": "starts a process", "fork_exec": "starts a process",
    "posix_spawn": "starts a process", "posix_spawnp": "starts a process", "system": "starts a process",
    "execv": "starts a process", "execve": "starts a process",
}
_LAYER_WORDS = ("rnn", "gru", "lstm")
# Python functions of torch/nn/utils/clip_grad.py (a call into any function of that file is caught; these
# are the names it is reported by when the call goes through the file's _no_grad wrapper)
CLIPPING_FILE = "nn/utils/clip_grad.py"
CLIPPING = frozenset({"clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                      "clip_grads_with_norm_", "_get_total_norm", "_clip_grads_with_norm_"})
_KERNEL_PARTS = tuple(f"{os.sep}{name}{os.sep}" for name in ("ipykernel", "IPython", "zmq", "tornado", "jupyter_client"))

_TORCH_DIR = ""
_TRUSTED_DIRS: tuple[str, ...] = ()


def _trusted_dirs() -> tuple[str, ...]:
    """Folders of code that is not the learner's: the Python installation and the course's packages."""
    global _TRUSTED_DIRS, _TORCH_DIR
    if not _TRUSTED_DIRS:
        import torch

        _TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
        dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__),
                str(Path(__file__).resolve().parent)}
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            path = sysconfig.get_paths().get(key)
            if path:
                dirs.add(path)
        rnnlab = sys.modules.get("rnnlab")
        if rnnlab is not None and getattr(rnnlab, "__file__", None):
            dirs.add(str(Path(rnnlab.__file__).resolve().parent))
        # both spellings: code objects carry the path a module was imported by (a symlinked .venv)
        dirs |= {os.path.realpath(d) for d in dirs}
        _TRUSTED_DIRS = tuple(sorted(os.path.join(d, "") for d in dirs))
    return _TRUSTED_DIRS


def _python_route(frame) -> str | None:
    """The name of a recurrent layer reached through Python code of PyTorch (frame: the callee's), or None."""
    code = frame.f_code
    path = code.co_filename
    if not path.startswith(_TORCH_DIR):
        if code.co_name == "setprofile" and path.endswith("threading.py"):
            return "!calls threading.setprofile"
        if code.co_name == "start" and path.endswith("threading.py"):
            return "!starts a thread"
        return None
    rel = path[len(_TORCH_DIR):].replace(os.sep, "/")
    if rel == "_ops.py" and code.co_name == "__call__":
        op = frame.f_locals.get("self")
        name = str(getattr(op, "_name", "") or getattr(op, "_qualified_op_name", "") or "")
        base = name.split("::")[-1].split(".")[0]
        if base in FORBIDDEN:
            return f"torch.ops.aten.{base}"
    elif rel.startswith(("_decomp/", "_refs/")) and any(w in code.co_name.lower() for w in _LAYER_WORDS):
        return f"PyTorch's decomposition {code.co_name}"
    elif rel in ("jit/_script.py", "jit/_trace.py") and code.co_name in ("script", "trace", "trace_module"):
        return f"torch.jit.{code.co_name}"
    elif rel == CLIPPING_FILE and not code.co_name.startswith(("<", "_has_", "_device_")):
        name = code.co_name
        if name == "_no_grad_wrapper":  # the decorator around the public functions: name the one it wraps
            name = getattr(frame.f_locals.get("func"), "__name__", name)
        return f"torch.nn.utils.{name.lstrip('_') if name.lstrip('_') in CLIPPING else name}"
    elif rel.startswith("ao/nn/") and rel.endswith("rnn.py") and code.co_name == "forward":
        layer = frame.f_locals.get("self")
        return f"{type(layer).__module__}.{type(layer).__name__}"
    return None


def _through(frame) -> str:
    """' (through nn.GRUCell)' when the call came from a recurrent module's forward."""
    while frame is not None:
        if frame.f_code.co_name == "forward":
            layer = frame.f_locals.get("self")
            name = type(layer).__name__
            if layer is not None and any(w in name.lower() for w in _LAYER_WORDS) \
                    and type(layer).__module__.startswith("torch."):
                return f" (through nn.{name})"
        frame = frame.f_back
    return ""


class Guard:
    """Watches calls while a from-scratch exercise's cases run; collects the learner's forbidden calls.

    `phrase` completes "write ... yourself" ("the gates"); `trusted_files` are the test cell's own code;
    `trusted_codes` the stand-ins of `Check.uses`. Use as a context manager around the learner's calls, or
    `start()`/`stop()`; `violations` then lists one reason per forbidden call (the first of each kind).
    """

    def __init__(self, phrase: str, trusted_files=(), trusted_codes=()):
        self.phrase = str(phrase)
        self.trusted_files = set(trusted_files)
        self.trusted_codes = set(trusted_codes)
        self.dirs = _trusted_dirs()
        self.violations: list[str] = []
        self._previous = None
        self._active = False

    # the profile function: every Python call, C call and return while active
    def _watch(self, frame, event, arg):
        if not self._active:
            return
        if event == "c_call":
            name = getattr(arg, "__name__", None)
            if name in FORBIDDEN:
                self._seen(frame, f"torch.{name}{_through(frame)}")
            elif name in ESCAPES and type(arg).__name__ == "builtin_function_or_method":
                self._seen(frame, "!" + ESCAPES[name])
        elif event == "call":
            what = _python_route(frame)
            if what is not None:
                self._seen(frame.f_back, what)

    def _learners(self, frame, escape: bool = False) -> bool:
        """Whether the learner's code made this call: walking up from it, a frame of the learner's code
        comes before a trusted stand-in or the test cell (whatever ran the test cell is not the learner).
        A thread or process that the kernel's own machinery starts (a print that wakes ipykernel's output
        thread) is not the learner's either."""
        while frame is not None:
            code = frame.f_code
            path = code.co_filename
            if code in self.trusted_codes or path in self.trusted_files:
                return False
            if escape and any(part in path for part in _KERNEL_PARTS):
                return False
            if not path.startswith(self.dirs) and not path.startswith("<frozen"):
                return True
            frame = frame.f_back
        return False

    def _seen(self, frame, what: str) -> None:
        if not self._learners(frame, escape=what.startswith("!")):
            return
        if what.startswith("!"):
            reason = f"{what[1:]}, {_ESCAPE_TAIL} (write {self.phrase} yourself, in plain PyTorch)"
        else:
            reason = f"calls {what}: write {self.phrase} yourself"
        if reason not in self.violations:
            self.violations.append(reason)

    def start(self) -> "Guard":
        self._previous = sys.getprofile()
        self._active = True
        sys.setprofile(self._watch)
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        current = sys.getprofile()
        sys.setprofile(self._previous)
        if getattr(current, "__self__", None) is not self:
            reason = (f"switched off the grader's from-scratch check while it ran (write {self.phrase} "
                      "yourself, in plain PyTorch)")  # ends like every reason: is_scratch_reason
            if reason not in self.violations:
                self.violations.append(reason)

    def __enter__(self) -> "Guard":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    @property
    def reason(self) -> str:
        return self.violations[0] if self.violations else ""


_ESCAPE_TAIL = "which a from-scratch exercise may not do while it is checked"


def is_scratch_reason(text: str) -> bool:
    """Whether a case's failure reason is the guard's (its hint, about another cause, is then left out)."""
    text = str(text)
    return (text.startswith(("calls ", "your code calls ")) and text.endswith(" yourself")) \
        or text.endswith("yourself, in plain PyTorch)")


def phrase_of(source: str) -> str | None:
    """The `from_scratch=` phrase of a test cell's `Check(...)`, read from its source (None if none)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
            for kw in node.keywords:
                if kw.arg == "from_scratch" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    return kw.value.value
    return None
