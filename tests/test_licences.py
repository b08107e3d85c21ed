"""The licences: both files complete, stated the same way in pyproject.toml, the README and the data notes."""
import re
import tomllib

from conftest import ROOT

CC_BY_SECTIONS = ["Section 1 – Definitions.", "Section 2 – Scope.", "Section 3 – License Conditions.",
                  "Section 4 – Sui Generis Database Rights.",
                  "Section 5 – Disclaimer of Warranties and Limitation of Liability.",
                  "Section 6 – Term and Termination.", "Section 7 – Other Terms and Conditions.",
                  "Section 8 – Interpretation."]


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_code_licence_is_the_full_mit_text_with_a_copyright_line():
    text = words((ROOT / "LICENSE").read_text())
    assert text.startswith("MIT License Copyright (c) 2026 ")
    for passage in ("Permission is hereby granted, free of charge, to any person obtaining a copy of this software",
                    "The above copyright notice and this permission notice shall be included in all copies or "
                    "substantial portions of the Software.",
                    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND'):
        assert passage in text
    assert "see LICENSE-content" in text and "see data/README.md" in text


def test_content_licence_is_the_full_cc_by_4_0_legal_code():
    text = words((ROOT / "LICENSE-content").read_text())
    assert "Creative Commons Attribution 4.0 International Public License" in text
    positions = [text.index(section) for section in CC_BY_SECTIONS]
    assert positions == sorted(positions)
    assert text.rstrip().endswith("Creative Commons may be contacted at creativecommons.org.")
    assert "https://creativecommons.org/licenses/by/4.0/" in text and "data/README.md" in text


def test_pyproject_and_readme_state_the_same_licences():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    readme = (ROOT / "README.md").read_text()
    reuse = readme[readme.index("\n## Reuse\n"):]
    assert "| MIT | [`LICENSE`](LICENSE) |" in reuse
    assert "| CC BY 4.0 | [`LICENSE-content`](LICENSE-content) |" in reuse


def test_every_shipped_dataset_has_a_licence_the_course_can_redistribute():
    """data/README.md's table: each file's licence is CC BY 4.0, public domain or, for the Python source that
    notebook 11 reads, the PSF License Version 2, whose text data/README.md carries (no NC, no ND, no unknown)."""
    rows = [line.split("|")[1:-1] for line in (ROOT / "data" / "README.md").read_text().splitlines()
            if line.startswith("| `")]
    files = {row[0].strip().strip("`"): row[2] for row in rows}
    assert set(files) == {p.name for p in (ROOT / "data").iterdir() if p.name not in ("README.md", "fetch.py")}
    for name, licence in files.items():
        assert licence.strip().startswith(("CC BY 4.0", "public domain", "PSF-2.0")), f"{name}: {licence}"
        assert not re.search(r"\bNC\b|\bND\b|NonCommercial|NoDerivatives", licence.split(";")[0]), name


def test_the_psf_licence_travels_with_the_python_source():
    """The PSF licence permits redistribution if its agreement and PSF's copyright notice are retained."""
    notes = words((ROOT / "data" / "README.md").read_text())
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in notes
    assert "Python Software Foundation; All Rights Reserved" in notes
    assert "This License Agreement will automatically terminate upon a material breach" in notes
