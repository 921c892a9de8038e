"""No measured number typed by hand into a chapter's prose.

Every number that a run measures must reach the prose through myst-nb's glue
(``{glue:text}`name:.3f` ``), or be asserted in the code cell above it, so it can never go
stale. This test scans the markdown cells of every chapter for literals that look like
measurements and fails on any that the allowlist does not name.

The rules, kept simple on purpose:

1. Removed before scanning: roles (``{glue:text}`...` ``, ``{glue}`...` ``, ``{cite}`...` ``, any
   ``{role}`...` ``), inline code and fenced code blocks, math (``$...$`` and ``$$...$$``), links and
   images (``[text](target)``, ``![alt](target)``: the whole link), HTML comments, and MyST directive
   lines (``:::{exercise}``, ``:label: ...``).
2. What is left is searched for these patterns (see ``PATTERNS``):
   a decimal (``0.41``, ``15.4``); a percentage (``35 %``, ``8%``, ``12 per cent``); a count of
   times (``8.6 times``); an ``x``-ratio (``1.3 x``, ``2x`` not followed by another number, so the
   sizes ``1024 x 1024`` and ``8x8`` are not ratios); decibels (``6 dB``); and a hedged integer
   (``about 28``, ``roughly 55``, ``nearly 40``, ``~3``), which is how a measured count usually
   reads.
3. A literal found in a chapter passes when ``tests/live_numbers_allowed.json`` lists it for
   that chapter with a reason: numbers that are not measurements, such as a promise's
   threshold, a design constant, a fact from a cited paper, a year. The list is reviewed like
   code; a reason must say which kind the number is. Entries that no longer match anything fail
   too, so the list stays small.

Run ``python tests/test_live_numbers.py [chapter stems]`` to print every literal found, with the
sentence it sits in.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
ALLOWED_FILE = Path(__file__).resolve().parent / "live_numbers_allowed.json"

# Rule 1: what is removed before scanning, in this order (fenced code before inline code, $$ before $).
REMOVED = [
    re.compile(r"<!--.*?-->", re.S),  # HTML comments
    re.compile(r"^(```|~~~).*?^\1", re.S | re.M),  # fenced code blocks
    re.compile(r"^\s*:{3,}.*$|^\s*:[\w-]+:.*$", re.M),  # directive fences and their option lines
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: {glue:text}`...`, {glue}`...`, {cite}`...`, {ref}`...`
    re.compile(r"``.+?``|`[^`\n]*`", re.S),  # inline code
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S),  # amsmath environments
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),  # inline math
    re.compile(r"!?\[[^\]]*\]\([^)]*\)"),  # links and images, whole
]

# Rule 2: what looks like a measured number.
_NUMBER = r"\d+(?:[.,]\d+)*"
PATTERNS = {
    "percentage": re.compile(rf"(?<![\w.]){_NUMBER}\s*(?:%|per ?cent\b)"),
    "times": re.compile(rf"(?<![\w.]){_NUMBER}\s+times\b"),
    "ratio": re.compile(rf"(?<![\w.]){_NUMBER}\s*[x×](?![\w×])(?!\s*\d)"),
    "decibels": re.compile(rf"(?<![\w.]){_NUMBER}\s*dB\b"),
    "hedged": re.compile(rf"(?:\b(?:about|around|roughly|nearly|approximately)\s+|~\s*){_NUMBER}"),
    "decimal": re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\w)"),
}


def strip(markdown: str) -> str:
    """The prose of a markdown cell with everything that rule 1 exempts removed."""
    for pattern in REMOVED:
        markdown = pattern.sub(" ", markdown)
    return markdown


def literals(markdown: str) -> list[str]:
    """The measured-looking literals of one markdown cell (rule 2), each once, in order of appearance.

    A literal inside a longer one (the decimal of ``15.4 %``) is reported as the longer one only.
    """
    prose = strip(markdown)
    spans = sorted(((m.start(), m.end()) for p in PATTERNS.values() for m in p.finditer(prose)),
                   key=lambda span: (span[0], -span[1]))
    found, end = [], -1
    for start, stop in spans:
        if start >= end:  # not inside the previous (longer) literal
            found.append(" ".join(prose[start:stop].split()))
            end = stop
    return list(dict.fromkeys(found))


def chapter_literals(path: Path) -> dict[str, list[str]]:
    """Every literal of a chapter's markdown cells: literal -> the cells' beginnings where it appears."""
    cells = json.loads(path.read_text())["cells"]
    found: dict[str, list[str]] = {}
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            for literal in literals("".join(cell["source"])):
                found.setdefault(literal, []).append(f"cell {index}")
    return found


def allowed() -> dict[str, dict[str, str]]:
    """The allowlist: chapter stem -> {literal: reason}."""
    table = json.loads(ALLOWED_FILE.read_text())
    return {stem: entries for stem, entries in table.items() if not stem.startswith("_")}


# ---- the scanner's own rules -------------------------------------------------------------------

FAKE_CELL = r"""
The GPT reached 1.07 times the entropy, 15.4 % of its steps ran at 0.41 MFU, about 28 bits a story,
2.5x faster, and halving the error adds 6 dB. Exempt: {glue:text}`mfu:.2f` and {glue}`seconds`,
$\sigma = 0.02$, $$H = 1.5$$, `lr=3e-3 and 0.5`, {cite}`bengio2003neural`, [PaLM 2.0](https://x.org/0.5),
a 1024 x 1024 product, 8x8 digits, Mixtral 8x7B, version-like names such as utils.gpt.
:::{exercise} Predict 0.25
:label: ex-03-predict
:::
"""


def test_the_scanner_finds_typed_measurements():
    assert literals(FAKE_CELL) == ["1.07 times", "15.4 %", "0.41", "about 28", "2.5x", "6 dB"]


def test_the_scanner_exempts_glue_math_code_citations_links_and_sizes():
    exempt = FAKE_CELL.split("Exempt:")[1]
    assert literals(exempt) == []


def test_a_newly_typed_number_fails(tmp_path):
    fake = tmp_path / "99_fake.ipynb"
    fake.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["Our model reached 0.93 accuracy."]},
                                          {"cell_type": "code", "source": ["x = 0.93"]}]}))
    assert chapter_literals(fake) == {"0.93": ["cell 0"]}
    assert unexplained(fake, {}) == ["0.93 (cell 0)"]
    assert unexplained(fake, {"99_fake": {"0.93": "a promise's threshold"}}) == []


def test_the_allowlist_gives_a_reason_for_every_number():
    for stem, entries in allowed().items():
        assert (ROOT / "chapters" / f"{stem}.ipynb").exists(), f"the allowlist names no chapter {stem}"
        for literal, reason in entries.items():
            assert isinstance(reason, str) and len(reason.split()) >= 2, f"{stem}: say why {literal!r} is allowed"


# ---- the chapters ------------------------------------------------------------------------------

def unexplained(path: Path, table: dict[str, dict[str, str]]) -> list[str]:
    entries = table.get(path.stem, {})
    return [f"{literal} ({', '.join(cells)})" for literal, cells in chapter_literals(path).items()
            if literal not in entries]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_measured_number_is_typed_by_hand(path):
    bad = unexplained(path, allowed())
    assert not bad, (f"{path.stem}: numbers typed into the prose. Glue each measured one from the cell that "
                     "computes it ({glue:text}`name:.2f`), or assert it in the cell above; a number that is "
                     f"not a measurement goes into {ALLOWED_FILE.name} with its reason: " + "; ".join(bad))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_allowlist_has_no_stale_entries(path):
    stale = set(allowed().get(path.stem, {})) - set(chapter_literals(path))
    assert not stale, f"{path.stem}: the allowlist names literals the chapter no longer has: {sorted(stale)}"


if __name__ == "__main__":  # print what the scanner finds, to fill in glue or the allowlist
    table = allowed()
    for path in CHAPTERS:
        if len(sys.argv) > 1 and path.stem not in sys.argv[1:]:
            continue
        for literal, cells in chapter_literals(path).items():
            mark = "  allowed" if literal in table.get(path.stem, {}) else "UNLISTED"
            print(f"{mark}  {path.stem:32s} {literal!r:18s} {', '.join(cells)}")
