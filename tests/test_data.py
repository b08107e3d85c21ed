"""The shipped datasets: files match data/README.md, and rnnlab.data loads them as documented."""
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab import data

DATA = Path(__file__).resolve().parent.parent / "data"
NOT_DATA = {"README.md", "fetch.py"}


def readme_table() -> dict[str, dict[str, str]]:
    """The rows of data/README.md's file table, by file name."""
    lines = [line.strip() for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines()]
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| file |"))
    header = [cell.strip() for cell in lines[header_at].strip("|").split("|")]
    rows = {}
    for line in lines[header_at + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|"))))
        rows[cells["file"].strip("`")] = cells
    return rows


def test_readme_lists_every_data_file_and_nothing_else():
    shipped = {p.name for p in DATA.iterdir() if p.name not in NOT_DATA and p.name != "__pycache__"}
    assert set(readme_table()) == shipped


@pytest.mark.parametrize("name", sorted(readme_table()))
def test_file_matches_its_readme_row(name):
    row = readme_table()[name]
    content = (DATA / name).read_bytes()
    assert re.fullmatch(r"`[0-9a-f]{64}`", row["sha256"]), f"sha256 cell of {name}: {row['sha256']!r}"
    assert hashlib.sha256(content).hexdigest() == row["sha256"].strip("`")
    assert len(content) == int(row["size"].removesuffix(" B").replace(",", ""))
    for column in ("source", "licence", "produced by"):
        assert row[column], f"{name}: empty {column}"


def test_path_resolves_from_the_package_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.path("sunspots.csv") == DATA / "sunspots.csv"
    with pytest.raises(FileNotFoundError, match="no_such_file.csv"):
        data.path("no_such_file.csv")
    with pytest.raises(ValueError):
        data.path("../README.md")


def test_importing_reads_nothing():
    code = "import rnnlab.data as d; import sys; assert d._sunspots.cache_info().currsize == 0; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "ok\n"


@pytest.mark.parametrize("split, count, per_speaker", [
    ("train", 270, [30] * 9),
    ("test", 370, [31, 35, 88, 44, 29, 24, 40, 50, 29]),
])
def test_japanese_vowels(split, count, per_speaker):
    sequences, labels = data.japanese_vowels(split)
    assert isinstance(sequences, list) and len(sequences) == count
    assert labels.dtype == torch.int64 and labels.shape == (count,)
    assert labels.bincount(minlength=9).tolist() == per_speaker  # speakers 1..9 -> 0..8
    lengths = [len(s) for s in sequences]
    assert 7 <= min(lengths) and max(lengths) <= 29
    for s in sequences:
        assert s.dtype == torch.float32 and s.dim() == 2 and s.shape[1] == 12
        assert torch.isfinite(s).all()


def test_japanese_vowels_first_frame_is_the_uci_one():
    # first line of UCI's ae.train: the file stores dimensions, so a wrong transpose shows here
    first = data.japanese_vowels("train")[0][0]
    assert first.shape == (20, 12)
    assert torch.allclose(first[0, :3], torch.tensor([1.860936, -0.207383, 0.261557]))
    assert torch.allclose(first[1, :2], torch.tensor([1.891651, -0.193249]))


def test_japanese_vowels_lengths_span_7_to_29():
    lengths = [len(s) for split in ("train", "test") for s in data.japanese_vowels(split)[0]]
    assert (min(lengths), max(lengths)) == (7, 29)


@pytest.mark.parametrize("split", ["valid", "TRAIN", "", None])
def test_japanese_vowels_rejects_another_split(split):
    with pytest.raises(ValueError, match="split"):
        data.japanese_vowels(split)


def test_sunspots():
    years, numbers = data.sunspots()
    assert years.dtype == torch.int64 and numbers.dtype == torch.float32
    assert years.shape == numbers.shape == (309,)
    assert torch.equal(years, torch.arange(1700, 2009))
    assert numbers.min() >= 0 and numbers[0] == 5.0 and numbers[-1] == pytest.approx(2.9)


def test_digits():
    images, labels = data.digits()
    assert images.dtype == torch.float32 and images.shape == (1797, 8, 8)
    assert labels.dtype == torch.int64 and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 1
    assert torch.equal(images * 16, (images * 16).round())  # pixel counts 0..16, divided by 16
    assert labels.min() == 0 and labels.max() == 9 and labels.bincount().min() >= 170


def test_python_source():
    text = data.python_source()
    assert isinstance(text, str) and len(text) == 120_223 and text.isascii()
    assert len(set(text)) == 96 and text.count("\n") == 3520
    assert text.startswith('"""Text wrapping and filling.')
    assert "class TextWrapper:" in text and "class Cmd:" in text  # textwrap.py first, cmd.py last
    assert data.python_source() is text  # cached; a str cannot be changed by a caller
    compile(text, "python_stdlib_slice", "exec")  # whole modules: the notebook's tokenize-based features need it


def test_stdlib_slice_names_the_files_fetch_py_pins():
    """data/README.md's row lists exactly the modules fetch.py pins, in its order."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fetch", DATA / "fetch.py")
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    row = readme_table()[fetch.STDLIB_FILE]["source"]
    assert re.findall(r"`(\w+\.py)`", row) == [name for name, _ in fetch.STDLIB_MODULES]


def test_loaders_are_deterministic():
    a, b = data.japanese_vowels("test"), data.japanese_vowels("test")
    assert all(torch.equal(x, y) for x, y in zip(a[0], b[0])) and torch.equal(a[1], b[1])
    assert all(torch.equal(x, y) for x, y in zip(data.digits(), data.digits()))


def test_callers_cannot_corrupt_the_cache():
    sequences, labels = data.japanese_vowels("train")
    reference = [s.clone() for s in sequences], labels.clone()
    sequences[0].fill_(1e9)
    sequences[0].resize_(1, 12)
    sequences.clear()
    labels.zero_()
    again, again_labels = data.japanese_vowels("train")
    assert len(again) == 270 and torch.equal(again_labels, reference[1])
    assert all(torch.equal(x, y) for x, y in zip(again, reference[0]))

    for load in (data.sunspots, data.digits):
        first = load()
        kept = [t.clone() for t in first]
        for t in first:
            t.fill_(-7)
        assert all(torch.equal(x, y) for x, y in zip(load(), kept))
