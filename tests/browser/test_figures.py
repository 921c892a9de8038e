"""Every figure of the built book can be read: its smallest text renders at least ``MIN_TEXT_PX`` tall.

A chapter's figures are PNGs that ``utils.plot``'s house style wrote: each carries the size, in points,
of its smallest text (a PNG text chunk) and its resolution (the PNG's dpi). A figure ``n`` PNG pixels wide
is shown at its width attribute, or at ``n`` CSS pixels without one, shrunk to the column (``COLUMN_PX`` at a
1280 px window) when wider; text of ``s`` points, ``s * dpi / 72`` PNG pixels tall, then renders
``s * dpi / 72 * shown / n`` CSS pixels tall. The first test reads the built HTML and the PNGs (no browser); the
second opens a chapter in Chromium and measures the width each figure really gets, which checks the
column width the first one assumes.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin

from PIL import Image

from tests.browser.conftest import HTML, require_page
from utils.plot import COLUMN_PX, DPI, FONT_KEY, MIN_TEXT_PX


class _Images(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def chapter_figures(page: str) -> list[dict]:
    """The figures of a chapter page: src, the PNG's path, its display width and its smallest text size."""
    parser = _Images()
    parser.feed((HTML / page).read_text(encoding="utf-8"))
    figures = []
    for attrs in parser.images:
        src = attrs.get("src") or ""
        if "_images/" not in src or not src.endswith(".png"):
            continue
        path = ((HTML / page).parent / unquote(src)).resolve()
        with Image.open(path) as image:
            pixels, text, dpi = image.size[0], image.info.get(FONT_KEY), image.info.get("dpi", (DPI,))[0]
        width = float(attrs["width"]) if attrs.get("width") else float(pixels)
        figures.append({"src": src, "path": path, "width": width, "pixels": pixels, "dpi": float(dpi),
                        "text_pt": None if text in (None, "none") else float(text), "styled": text is not None})
    return figures


def text_px(figure: dict, shown: float) -> float:
    """How tall the figure's smallest text renders when the figure is shown ``shown`` CSS pixels wide."""
    return figure["text_pt"] * figure["dpi"] / 72 * shown / figure["pixels"]


def test_every_figure_is_drawn_in_the_house_style_and_readable(chapter):
    require_page(chapter)
    problems = []
    for figure in chapter_figures(chapter):
        name = Path(figure["src"]).name[:12]
        if not figure["styled"]:
            problems.append(f"{name}: not drawn through utils.plot.use_house_style() (no smallest-text size in "
                            f"its PNG, {figure['pixels']} px wide)")
            continue
        shown = min(figure["width"], COLUMN_PX)  # its width in the book's column at 1280 px
        if figure["dpi"] < 1.5 * DPI:
            problems.append(f"{name}: drawn at {figure['dpi']:.0f} dpi, under 1.5 x {DPI}: blurred on a high-DPI "
                            "screen")
        if figure["text_pt"] is not None:
            size = text_px(figure, shown)
            if size < MIN_TEXT_PX:
                problems.append(f"{name}: its smallest text ({figure['text_pt']:g} pt at {figure['dpi']:.0f} dpi, "
                                f"shown {shown:.0f} px wide) renders {size:.1f} px tall, under {MIN_TEXT_PX} px")
    assert not problems, f"{chapter}: " + "; ".join(problems)


# Each chapter figure's display width as the page lays it out, by its src.
RENDERED = """
return Array.from(document.images).filter((img) => img.getAttribute('src').includes('_images/'))
  .map((img) => ({src: img.getAttribute('src'), shown: img.getBoundingClientRect().width}));
"""


def test_figures_get_the_column_width_the_house_style_assumes(driver, site, viewport):
    """In Chromium at 1280 px, the smallest text of every figure of one chapter, at the width it is shown,
    is at least MIN_TEXT_PX tall (this measures the real column, which the test above assumes)."""
    from tests.browser.conftest import chapter_pages

    chapters = chapter_pages()
    page = require_page("chapters/03_transformer.html" if "chapters/03_transformer.html" in chapters
                        else (chapters[0] if chapters else None))
    viewport(1280)
    driver.get(urljoin(site, page))
    shown = {item["src"]: item["shown"] for item in driver.execute_script(RENDERED)}
    small = []
    for figure in chapter_figures(page):
        if figure["text_pt"] is None or figure["src"] not in shown:
            continue
        size = text_px(figure, shown[figure["src"]])
        if size < MIN_TEXT_PX:
            small.append(f"{Path(figure['src']).name[:12]} shown {shown[figure['src']]:.0f} px wide: "
                         f"{size:.1f} px text")
    assert shown, f"{page} shows no figure"
    assert not small, f"{page} at 1280 px: figures whose text renders under {MIN_TEXT_PX} px: {small}"

