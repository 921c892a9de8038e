"""The built book in a real headless Chromium, with no network but the book itself.

For every page of the table of contents: it loads with no console error and nothing
requested from another host, its math is typeset by MathJax, and every image has loaded.
For every chapter: a solution dropdown opens on click, and a search for a word of its title
finds it. Pages are found in _build/html, so a new chapter is covered as soon as it is built.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import off_host_requests, require_page, screenshot

# Wait for MathJax (when the page loads it) and for every image, then report what the page shows.
INSPECT = """
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null :
    new Promise((resolve) => { img.addEventListener("load", resolve); img.addEventListener("error", resolve); })));
  done({
    mathjax: !!(window.MathJax && MathJax.startup),
    math: document.querySelectorAll(".math, span.math, div.math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    // The TeX of every formula with an error or an undefined macro (which MathJax prints in red)
    errors: window.MathJax && MathJax.startup && MathJax.startup.document
      ? Array.from(MathJax.startup.document.math)
          .filter((m) => /<merror|mathcolor="red"/.test(MathJax.startup.toMML(m.root))).map((m) => m.math)
      : [],
    untypeset: Array.from(document.querySelectorAll(".math"))
      .filter((e) => !e.querySelector("mjx-container")).map((e) => e.textContent.slice(0, 80)),
    images: images.map((img) => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
  });
})().catch((error) => done({failure: String(error)}));
"""

_reports: dict[str, dict] = {}


def load(driver, site, page: str) -> dict:
    """Open a page; return its console errors, off-host requests, math and images."""
    driver.get_log("browser")  # drop what earlier pages left in the logs
    driver.get_log("performance")
    started = time.perf_counter()
    driver.get(urljoin(site, page))
    report = driver.execute_async_script(INSPECT)
    assert "failure" not in report, f"{page}: inspecting the page failed: {report.get('failure')}"
    report["seconds"] = time.perf_counter() - started
    report["console"] = [
        e["message"]
        for e in driver.get_log("browser")
        # Chromium asks every site for /favicon.ico by itself; the book has none, and that is no page error.
        if e["level"] == "SEVERE" and "/favicon.ico - " not in e["message"]
    ]
    report["off_host"] = off_host_requests(driver.get_log("performance"), site)
    screenshot(driver, page.replace("/", "_").removesuffix(".html") + ".png")
    return report


@pytest.fixture
def report(driver, site, page):
    require_page(page)
    if page not in _reports:
        _reports[page] = load(driver, site, page)
    return _reports[page]


def test_page_loads_without_errors_or_network(report, page):
    assert not report["off_host"], f"{page} tried to load from another host: {report['off_host']}"
    assert not report["console"], f"{page} logged console errors: {report['console']}"


def test_math_is_typeset(report, page):
    if report["math"] == 0:
        pytest.skip(f"{page} has no math")
    assert report["mathjax"], f"{page} has {report['math']} math elements but MathJax did not load"
    assert not report["errors"], f"{page}: MathJax could not typeset: {report['errors']}"
    assert not report["untypeset"], f"{page}: math left untypeset: {report['untypeset']}"
    assert report["typeset"] >= report["math"]


def test_every_image_loads(report, page):
    broken = [img["src"] for img in report["images"] if img["width"] == 0]
    assert not broken, f"{page}: images that did not load: {broken}"


def test_solution_dropdown_opens(driver, site, chapter):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    require_page(chapter)
    driver.get(urljoin(site, chapter))
    solutions = driver.find_elements(By.CSS_SELECTOR, ".solution.dropdown")
    assert solutions, f"{chapter} has no solution folded in a dropdown (every chapter has exercises)"
    solution = solutions[0]
    body = solution.find_element(By.CSS_SELECTOR, ":scope > :not(.admonition-title)")
    WebDriverWait(driver, 30).until(lambda d: solution.find_elements(By.CSS_SELECTOR, ".toggle-button"))
    assert not body.is_displayed(), f"{chapter}: the first solution is shown before it is opened"
    button = solution.find_element(By.CSS_SELECTOR, ".toggle-button")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    WebDriverWait(driver, 10).until(lambda d: body.is_displayed())
    assert "toggle-hidden" not in solution.get_attribute("class")


def title_word(driver, site, chapter: str) -> str:
    """The longest word of a chapter's title: a word that should find the chapter."""
    driver.get(urljoin(site, chapter))
    title = driver.execute_script("return document.querySelector('article h1, main h1')?.textContent || ''")
    words = re.findall(r"[A-Za-z]{4,}", title)
    assert words, f"{chapter}: no word in its title {title!r}"
    return max(words, key=len).lower()


def test_search_finds_the_chapter(driver, site, chapter):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    require_page(chapter)
    word = title_word(driver, site, chapter)
    search_state = (
        # Search is a top-level const of Sphinx's searchtools.js: in scope, but not a property of window.
        "const s = document.querySelector('#search-results .search-summary');"
        "const ok = typeof Search !== 'undefined';"
        "return {summary: s ? s.textContent.trim() : null, pulse: ok ? Search._pulse_status : null,"
        " index: ok && !!Search._index, queued: ok ? Search._queued_query : null};"
    )
    # Sphinx's search writes its summary ("Search finished, found ...") once, when it has listed every
    # result: that is the signal to wait for. (Its progress dots are not: a pulse scheduled before the
    # search stops can start them again, so Search._pulse_status may never return to -1.)
    # The page is loaded afresh once if the summary does not come in time, and the failure then says
    # where the search stood and what the console printed.
    for attempt in (1, 2):
        driver.get(urljoin(site, f"search.html?q={word}"))
        try:
            WebDriverWait(driver, 45).until(lambda d: d.execute_script(search_state)["summary"])
            break
        except TimeoutException:
            if attempt == 2:
                state = driver.execute_script(search_state)
                console = [entry["message"] for entry in driver.get_log("browser")]
                pytest.fail(f"searching {word!r} did not finish in 45 s, twice: the search stood at {state}; "
                            f"the console printed {console}")
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#search-results ul.search a")]
    found = {urlsplit(link).path.lstrip("/") for link in links}
    assert chapter in found, f"searching {word!r} did not find {chapter}; it found {sorted(found)}"


def test_landing_page(driver, site):
    """The site's root redirects to the introduction, which shows the book's title and table of contents."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(site)
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("book/intro.html"))
    screenshot(driver, "landing.png")
    toc = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "nav.bd-docs-nav a")]
    assert any("/chapters/" in href for href in toc), f"the landing page lists no chapter: {toc}"


# ---- Widths: a phone (390 px) and the results page at 1280 px ------------------------------------------

# Every visible element whose visible part (clipped by each ancestor whose overflow-x is not `visible`:
# a box that scrolls, or one that hides what sticks out) reaches past the viewport's edges, and the
# page's own width. An element inside a box that scrolls sideways passes as long as the box fits; the
# theme's layout boxes (the whole article, the main column) do not count as such a box: a reader would
# scroll the whole text sideways.
TOO_WIDE = """
const width = document.documentElement.clientWidth;
const LAYOUT = '.bd-container, .bd-container__inner, .bd-page-width, .bd-main, .bd-content, ' +
  '.bd-article-container, .bd-article, main, article';
const wide = [];
for (const element of document.body.querySelectorAll('*')) {
  const style = getComputedStyle(element);
  if (style.visibility !== 'visible' || style.display === 'none' || style.position === 'fixed') continue;
  const rect = element.getBoundingClientRect();
  if (rect.width < 1 || rect.height < 1) continue;
  // Text that spills out of a box that does not clip it (a long line in a `pre`) counts as part of the box.
  const spills = style.overflowX === 'visible' ? rect.left + element.scrollWidth : rect.right;
  let left = rect.left, right = Math.max(rect.right, spills);
  for (let p = element.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible' && !p.matches(LAYOUT)) {
      const box = p.getBoundingClientRect();
      left = Math.max(left, box.left);
      right = Math.min(right, box.right);
    }
  }
  if (right - left < 1) continue;
  if (right > width + 1 || left < -1) {
    const classes = typeof element.className === 'string' ? element.className.trim().split(/\\s+/) : [];
    const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
      classes.filter((c) => c).map((c) => '.' + c).join('');
    wide.push(`${name} spans ${Math.round(left)}..${Math.round(right)} px: ` +
      JSON.stringify((element.textContent || '').trim().slice(0, 60)));
  }
}
wide.reverse();  // the innermost culprits first, the boxes they widen after them
return {width: width, page: document.documentElement.scrollWidth, wide: wide};
"""

PHONE_WIDTH = 390


def phone_pages() -> list[str]:
    """The landing page, one chapter (the transformer's, if built) and the results page."""
    from tests.browser.conftest import book_pages, chapter_pages

    pages, chapters = book_pages(), chapter_pages()
    chosen = ["book/intro.html"]
    if chapters:
        chosen.append("chapters/03_transformer.html" if "chapters/03_transformer.html" in chapters else chapters[0])
    chosen.append("book/results.html")
    return [p for p in chosen if p in pages] or [None]


def measure(driver, site, page: str, width: int, mobile: bool, viewport) -> dict:
    """Open ``page`` at ``width`` CSS pixels, wait for its math and images, and measure what is too wide."""
    viewport(width, mobile=mobile)
    driver.get(urljoin(site, page))
    inspected = driver.execute_async_script(INSPECT)
    assert "failure" not in inspected, f"{page}: inspecting the page failed: {inspected.get('failure')}"
    screenshot(driver, page.replace("/", "_").removesuffix(".html") + f"_{width}px.png")
    return driver.execute_script(TOO_WIDE)


@pytest.mark.parametrize("phone_page", phone_pages(), ids=lambda p: p or "no-pages")
def test_phone_width_nothing_wider_than_the_screen(driver, site, viewport, phone_page):
    """At a phone's 390 px the page does not scroll sideways, and nothing sticks out of the screen
    unless it sits in a box that scrolls sideways by itself (a wide table or a formula)."""
    require_page(phone_page)
    found = measure(driver, site, phone_page, PHONE_WIDTH, True, viewport)
    assert found["width"] == PHONE_WIDTH, f"the emulated phone is {found['width']} px wide, not {PHONE_WIDTH}"
    assert not found["wide"], (f"{phone_page} at {PHONE_WIDTH} px: elements wider than the screen, outside "
                               f"any box that scrolls: {found['wide'][:10]}")
    assert found["page"] <= PHONE_WIDTH, f"{phone_page} at {PHONE_WIDTH} px scrolls sideways: {found['page']} px wide"


# Where each held / not held mark of the results page is: its box, and the box of the nearest ancestor
# that clips or scrolls it (null if none), and the page's width.
MARKS = """
const marks = Array.from(document.querySelectorAll('.results-card .results-mark'));
const clipper = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
  if (getComputedStyle(p).overflowX !== 'visible') return p; } return null; };
return {width: document.documentElement.clientWidth, cards: document.querySelectorAll('.results-card').length,
  links: Array.from(document.querySelectorAll('.results-card-title a')).map((a) => a.getAttribute('href')),
  marks: marks.map((m) => { const r = m.getBoundingClientRect(); const c = clipper(m);
    const b = c ? c.getBoundingClientRect() : null;
    return {text: m.textContent, left: r.left, right: r.right, clipLeft: b ? b.left : null,
            clipRight: b ? b.right : null}; })};
"""


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_results_page_marks_are_in_view(driver, site, viewport, width):
    """On the results page every chapter is a card linked to its chapter, and every promise's held / not
    held mark is on screen without scrolling sideways, at 1280 px and on a phone."""
    from tests.browser.conftest import book_pages

    if "book/results.html" not in book_pages():
        pytest.skip("no results page in the built book")
    found = measure(driver, site, "book/results.html", width, width < 500, viewport)
    assert not found["wide"], f"the results page at {width} px has elements wider than the screen: {found['wide']}"
    marks = driver.execute_script(MARKS)
    if marks["cards"] == 0:
        pytest.skip("the results page has no records to show (no chapter was executed for this build)")
    assert marks["marks"], "the results page has chapter cards but no held / not held mark"
    assert all(re.match(r"\S held|\S not held|\S not checked|\S recorded", m["text"]) for m in marks["marks"]), (
        f"unexpected marks: {sorted({m['text'] for m in marks['marks']})}")
    outside = [m for m in marks["marks"]
               if m["right"] > marks["width"] + 1 or m["left"] < -1
               or (m["clipRight"] is not None and (m["right"] > m["clipRight"] + 1 or m["left"] < m["clipLeft"] - 1))]
    assert not outside, f"at {width} px, marks hidden until one scrolls sideways: {outside[:5]}"
    assert all(link and "chapters/" in link and link.endswith(".html") for link in marks["links"]), (
        f"chapter titles on the results page that do not link to their chapter: {marks['links']}")
