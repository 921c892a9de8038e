"""The page "How to use this book" names every module of the shared package, and each stays short."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "book" / "how_to_use.md").read_text()
MODULES = sorted(p for p in (ROOT / "utils").rglob("*.py") if p.name != "__init__.py")


def test_the_page_names_every_module():
    table = PAGE[PAGE.index("| module |"):]
    named = set(re.findall(r"`([\w/.]+)`", table))
    missing = [p.relative_to(ROOT).as_posix() for p in MODULES if p.stem not in named
               and p.parent.name not in ("checks",)]  # the checkers are named by their package
    assert not missing, f"book/how_to_use.md's table of modules lacks: {missing}"


def test_every_module_reads_in_one_sitting():
    long = {p.relative_to(ROOT).as_posix(): n for p in MODULES if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"modules over 500 lines (the page promises none): {long}"
