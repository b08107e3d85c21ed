"""A text progress bar for training loops, printed on standard output.

    bar = progress(range(epochs), desc="training")
    for epoch in bar:
        ...                                   # one epoch
        bar.set_postfix(loss=mean_loss)       # shown at the end of the line

prints, on one line that is redrawn after every item (a carriage return, which Jupyter and terminals
honour), `training |########------------|  6/15 [2.1s<3.2s] loss=0.213`, and a newline at the end.

Why not tqdm: it is not a dependency of the course, and it writes to standard error, which the
notebook tests read as an error. This is the small part of it that a training loop needs.
"""
from __future__ import annotations

import sys
import time


class progress:  # noqa: N801 (used like a function, as tqdm is)
    """Iterate over `iterable`, redrawing a progress line after each item.

    `total` defaults to `len(iterable)` (when it has one; otherwise the line shows a count only).
    `stream` defaults to sys.stdout at the time of drawing, so that Jupyter captures it.
    """

    def __init__(self, iterable, desc: str = "", total: int | None = None, width: int = 20, stream=None):
        if total is None:
            try:
                total = len(iterable)
            except TypeError:
                total = None
        if total is not None and total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.iterable, self.desc, self.total, self.width, self.stream = iterable, desc, total, width, stream
        self.n = 0
        self.postfix = ""
        self._started = None

    def set_postfix(self, **values) -> None:
        """Show `name=value` pairs after the bar (floats with 4 significant digits)."""
        self.postfix = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())

    def line(self) -> str:
        """The current progress line (without the carriage return)."""
        elapsed = 0.0 if self._started is None else time.perf_counter() - self._started
        head = f"{self.desc} " if self.desc else ""
        if self.total:
            filled = min(self.width, self.width * self.n // self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            left = elapsed / self.n * (self.total - self.n) if self.n else 0.0
            digits = len(str(self.total))
            text = f"{head}|{bar}| {self.n:>{digits}}/{self.total} [{elapsed:.1f}s<{left:.1f}s]"
        else:
            text = f"{head}{self.n} [{elapsed:.1f}s]"
        return f"{text} {self.postfix}" if self.postfix else text

    def _draw(self, end: str = "") -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        print("\r" + self.line(), end=end, file=stream, flush=True)

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("this progress bar has no total")
        return self.total

    def __iter__(self):
        self._started = time.perf_counter()
        self.n = 0
        self._draw()
        try:
            for item in self.iterable:
                yield item
                self.n += 1
                self._draw()
        finally:  # also after a `break` or an exception: end the line
            print(file=self.stream if self.stream is not None else sys.stdout, flush=True)
