"""The small real datasets shipped in the repository's data/ folder (sources and licences: data/README.md).

Files are found from this package's location, never the working directory, and read only when a
loader is first called; nothing here touches the network. Parsed data is cached, and every call
returns fresh tensors, so changing what one caller got cannot change what the next caller gets.
"""
from __future__ import annotations

import csv
import gzip
import io
from functools import lru_cache
from pathlib import Path

import torch

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "test")


def path(name: str) -> Path:
    """The file `name` in the repository's data/ folder."""
    if not name or Path(name).name != name:
        raise ValueError(f"expected a plain file name in data/, got {name!r}")
    file = DATA_DIR / name
    if not file.is_file():
        raise FileNotFoundError(f"data file {name!r} not found: expected it at {file} "
                                f"(data/README.md lists the shipped files)")
    return file


def _text(name: str) -> str:
    raw = path(name).read_bytes()
    return (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")


def _parse_ts(text: str) -> tuple[list[list[list[float]]], list[str]]:
    """A multivariate .ts file (sktime / UEA archive format) without missing values or timestamps.

    After the `@data` line each case is one line, `dim_1:dim_2:...:dim_d:label`, and each
    dimension is a comma-separated series. Returns each case as a list of dimensions, and the labels.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    except StopIteration:
        raise ValueError("not a .ts file: no @data line") from None
    cases, labels = [], []
    for number, line in enumerate(lines[start:], start + 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        *dims, label = line.split(":")
        series = [[float(v) for v in dim.split(",")] for dim in dims]
        if len({len(s) for s in series}) != 1:
            raise ValueError(f"line {number}: dimensions of one case have different lengths")
        cases.append(series)
        labels.append(label.strip())
    return cases, labels


@lru_cache(maxsize=None)
def _japanese_vowels(split: str) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    cases, labels = _parse_ts(_text(f"JapaneseVowels_{split.upper()}.ts.gz"))
    # the file stores each case dimension by dimension: transpose to time steps by features
    sequences = tuple(torch.tensor(case, dtype=torch.float32).T.contiguous() for case in cases)
    return sequences, torch.tensor([int(label) - 1 for label in labels], dtype=torch.int64)


def japanese_vowels(split: str = "train") -> tuple[list[torch.Tensor], torch.Tensor]:
    """UCI Japanese Vowels: utterances of /ae/ by nine male speakers, as 12 LPC cepstrum coefficients per frame.

    Returns (sequences, labels): a list of float32 tensors of shape (L_i, 12), L_i from 7 to 29
    frames, and int64 speaker labels 0..8 (speaker 1 is 0). "train" has 270 utterances (30 per
    speaker), "test" 370.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    sequences, labels = _japanese_vowels(split)
    return [s.clone() for s in sequences], labels.clone()


@lru_cache(maxsize=None)
def _sunspots() -> tuple[torch.Tensor, torch.Tensor]:
    rows = list(csv.DictReader(io.StringIO(_text("sunspots.csv"))))
    years = torch.tensor([int(row["YEAR"]) for row in rows], dtype=torch.int64)
    numbers = torch.tensor([float(row["SUNACTIVITY"]) for row in rows], dtype=torch.float32)
    return years, numbers


def sunspots() -> tuple[torch.Tensor, torch.Tensor]:
    """Yearly sunspot numbers 1700-2008: (years int64 (309,), numbers float32 (309,))."""
    years, numbers = _sunspots()
    return years.clone(), numbers.clone()


@lru_cache(maxsize=None)
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    rows = [[int(v) for v in row] for row in csv.reader(io.StringIO(_text("digits.csv.gz"))) if row]
    table = torch.tensor(rows, dtype=torch.int64)  # 64 pixels (0..16, row by row) then the digit
    images = (table[:, :64].to(torch.float32) / 16).reshape(-1, 8, 8)
    return images, table[:, 64].contiguous()


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 8x8 handwritten digits: (images float32 (1797, 8, 8) in [0, 1] = pixel / 16, labels int64 (1797,) in 0..9)."""
    images, labels = _digits()
    return images.clone(), labels.clone()


@lru_cache(maxsize=None)
def _python_source() -> str:
    return _text("python_stdlib_slice.txt.gz")


def python_source() -> str:
    """Thirteen pure-Python modules of CPython 3.11.7's standard library, joined: one str of 120,223
    ASCII characters (96 distinct), for the character-level GRU of notebook 11 (licence: PSF-2.0, see
    data/README.md). A str is immutable, so the cached text cannot be changed by a caller."""
    return _python_source()
