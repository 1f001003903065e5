"""Every `docs/physics.md §N` citation in the code, the tests and the README names a section that exists.

Sections of docs/physics.md are headings `## §N title` (N an integer) and `### §N.M title`. A citation is
`docs/physics.md` followed by a list such as `§4`, `§4.2`, `§1–2, §5`; ranges of whole sections expand.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "physics.md"
SOURCES = ("nnqft_engine", "app", "tests")

HEADING = re.compile(r"^(#{2,3}) §(\d+(?:\.\d+)?) \S", re.MULTILINE)
SECTION = r"§\s*\d+(?:\.\d+)?(?:\s*[–-]\s*\d+(?:\.\d+)?)?"
CITATION = re.compile(r"docs/physics\.md((?:\s*,?\s*" + SECTION + r")+)")
ITEM = re.compile(r"§\s*(\d+(?:\.\d+)?)(?:\s*[–-]\s*(\d+(?:\.\d+)?))?")


def _headings() -> dict[str, int]:
    return {num: len(hashes) for hashes, num in HEADING.findall(DOC.read_text(encoding="utf-8"))}


def _cited(text: str) -> list[str]:
    out = []
    for group in CITATION.findall(text):
        for start, end in ITEM.findall(group):
            if end and "." not in start and "." not in end:
                out.extend(str(k) for k in range(int(start), int(end) + 1))
            else:
                out.extend(s for s in (start, end) if s)
    return out


def _citations() -> list[tuple[str, int, str]]:
    files = [p for d in SOURCES for p in sorted((ROOT / d).rglob("*.py"))] + [ROOT / "README.md"]
    found = []
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for sec in _cited(line):
                found.append((str(path.relative_to(ROOT)), lineno, sec))
    return found


def test_citation_parser():
    assert _cited("(docs/physics.md §1–2, §5)") == ["1", "2", "5"]
    assert _cited("docs/physics.md §4.2 and §9") == ["4.2"]
    assert _cited("(docs/physics.md §7, 2307.03223 §4)") == ["7"]


def test_headings_are_numbered_consistently():
    heads = _headings()
    assert heads, "docs/physics.md has no numbered sections"
    for num, level in heads.items():
        assert level == (3 if "." in num else 2), f"§{num} should be a level-{3 if '.' in num else 2} heading"
        if "." in num:
            assert num.split(".")[0] in heads, f"§{num} has no parent section"


def test_every_cited_section_exists():
    heads = _headings()
    cites = _citations()
    assert len(cites) > 20, "expected the engine to cite docs/physics.md"
    missing = [f"{path}:{line} cites §{sec}" for path, line, sec in cites if sec not in heads]
    assert not missing, "citations of missing docs/physics.md sections:\n" + "\n".join(missing)
