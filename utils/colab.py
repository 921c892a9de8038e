"""The first cell of every chapter, written from one template.

The cell makes ``utils`` importable: in a clone, from the folder above ``chapters/``; on Colab,
from a fresh clone of the book's repository, after installing the few packages Colab lacks.
The repository's address is read from ``_config.yml`` (``repository.url``), the one place it is
kept. ``python -m utils.colab`` writes the cell into every notebook; a test checks that every
chapter starts with exactly this cell.
"""

from __future__ import annotations

import json
import re
import sys

from .paths import ROOT

COLAB_PACKAGES = ("sacrebleu", "rouge-score", "myst-nb")  # what the chapters import that Colab lacks
TEMPLATE = '''# Setup: make the shared package `utils` importable. On Colab, first fetch
# the book's repository and the packages Colab lacks. (Every chapter starts
# with this cell, written by `python -m utils.colab`.)
import sys
from pathlib import Path

REPOSITORY = "{url}"
COLAB = "google.colab" in sys.modules
if COLAB and not Path("/content/{name}").exists():
    !git clone -q --depth 1 {{REPOSITORY}} /content/{name}
if COLAB:
    %pip install -q {packages}
sys.path.insert(0, "/content/{name}" if COLAB else str(Path.cwd().parent))'''


def repository_url() -> str:
    """The book's repository, as ``_config.yml`` names it."""
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.MULTILINE)
    if not match:
        raise ValueError("_config.yml has no repository.url: the first cell needs the address to clone on Colab")
    return match.group(1)


def first_cell() -> str:
    """The source of every chapter's first code cell."""
    url = repository_url()
    return TEMPLATE.format(url=url, name=url.rstrip("/").split("/")[-1], packages=" ".join(COLAB_PACKAGES))


def write_first_cells() -> list[str]:
    """Put :func:`first_cell` into every chapter's first code cell; returns the chapters changed."""
    changed = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        source = first_cell()
        if "".join(cell["source"]) != source:
            cell["source"] = source.splitlines(keepends=True)
            cell.setdefault("metadata", {})["tags"] = ["hide-input"]
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            changed.append(path.name)
    return changed


if __name__ == "__main__":
    written = write_first_cells()
    print(f"first cell written into {len(written)} chapters" + (f": {', '.join(written)}" if written else ""))
    sys.exit(0)
