"""Every internal link of the built book leads somewhere: the file exists, and so does its anchor.

Citations link to the bibliography and cross-references to other chapters by anchors, so a
citation or reference that did not resolve, or a page that moved, shows up here. No browser
is needed; the test skips when the book has not been built.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser.conftest import HTML

LINK_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src")}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif (tag, name) in LINK_ATTRIBUTES:
                self.links.append(value)


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_pages() -> list[Path]:
    if not (HTML / "index.html").exists():
        return []
    return [p for p in sorted(HTML.rglob("*.html")) if not p.relative_to(HTML).parts[0].startswith("_")]


def broken_links(page: Path) -> list[str]:
    broken = []
    for link in parse(page).links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:  # http(s), mailto, data, javascript: not ours to check here
            continue
        target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{link} (no file {target})")
            continue
        anchor = unquote(parts.fragment)
        if anchor and target.suffix == ".html" and anchor not in parse(target).ids:
            broken.append(f"{link} (no id {anchor!r} in {target.relative_to(HTML)})")
    return broken


@pytest.mark.parametrize(
    "html_page", html_pages() or [None], ids=lambda p: p.relative_to(HTML).as_posix() if p else "none"
)
def test_internal_links_resolve(html_page):
    page = html_page
    if page is None:
        pytest.skip(f"the book is not built: {HTML / 'index.html'} is missing (run `make book`)")
    broken = broken_links(page)
    assert not broken, f"{page.relative_to(HTML)} has broken internal links:\n" + "\n".join(broken)


def test_citations_resolve():
    """Every citation in the book links to an entry of the bibliography page."""
    bibliography = HTML / "book" / "bibliography.html"
    if not bibliography.exists():
        pytest.skip(f"the book is not built: {bibliography} is missing (run `make book`)")
    entries = parse(bibliography).ids
    cited = 0
    for page in html_pages():
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.path.endswith("bibliography.html") and parts.fragment:
                cited += 1
                assert unquote(parts.fragment) in entries, f"{page.relative_to(HTML)} cites a missing entry: {link}"
    assert cited, "no page cites the bibliography"
