"""The chapters' shape: stored clean, set up the same way, with exercises and a record."""

import json
import re
from pathlib import Path

import pytest

from utils.colab import first_cell, repository_url

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("*.ipynb"))
TOC = (Path(__file__).resolve().parent.parent / "_toc.yml").read_text()


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shape(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    sources = ["".join(c["source"]) for c in code]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "store notebooks without outputs"
    assert markdown[0].startswith("# "), "a chapter opens with its title"
    assert sources[0] == first_cell(), "every chapter starts with the same first cell: run `python -m utils.colab`"
    assert nb["metadata"]["language_info"].get("pygments_lexer") == "ipython3", "set the ipython3 lexer"
    exercises = [m for m in markdown if m.startswith(":::{exercise}")]
    solutions = [m for m in markdown if m.startswith(":::{solution-start}")]
    assert len(exercises) >= 3 and len(solutions) == len(exercises), "three or more exercises, each with a solution"
    assert any(re.search(rf'record\(\s*"{re.escape(path.stem)}"', s) for s in sources), \
        "the chapter records its numbers under its own name"
    assert f"chapters/{path.stem}" in TOC, "the chapter is in the table of contents"


def test_the_first_cell_clones_the_repository_that_the_book_names():
    cell = first_cell()
    assert f'REPOSITORY = "{repository_url()}"' in cell and "%pip install" in cell
    assert "google.colab" in cell and "sys.path.insert" in cell


CODE_WIDTH = 80  # characters the book's code box shows at 1280 px without scrolling sideways


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_fits_the_books_code_box(path):
    nb = json.loads(path.read_text())
    long = [(i, line) for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > CODE_WIDTH]
    assert not long, (f"{len(long)} code lines longer than {CODE_WIDTH} characters scroll sideways in the book; "
                      f"the first: cell {long[0][0]}: {long[0][1]!r}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_widgets_are_left_out_of_the_book(path):
    """A widget needs a live kernel: the online book shows its static figure instead (the cell is tagged
    remove-cell), and the widget stays in the notebook."""
    nb = json.loads(path.read_text())
    shown = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
             and ("interact(" in "".join(cell["source"]) or "widgets." in "".join(cell["source"]))
             and "import ipywidgets" not in "".join(cell["source"])
             and "remove-cell" not in cell.get("metadata", {}).get("tags", [])]
    assert not shown, f"widget cells shown in the book (tag them remove-cell): {shown}"
