"""Fixtures for the tests of the built book: the site served on localhost, and a headless Chromium.

The book in ``_build/html`` is served by Python's http.server on 127.0.0.1 at a free port.
Chromium resolves no other host (``--host-resolver-rules``), so the book must work with no
network, and every request it makes is read back from Chromium's performance log so that a
page that even tries to load something from elsewhere fails its test.

These tests need Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and a built book; without them they skip and say why.
Set ``BOOK_SCREENSHOTS=/some/folder`` to save a screenshot of every page tested, and
``BOOK_HTML=/some/html`` to test a book built elsewhere than ``_build/html``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
# BOOK_HTML points the tests at another built book (e.g. a small build of a few pages).
HTML = Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html").resolve()
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NOT_PAGES = {"genindex.html", "search.html", "index.html"}  # index.html only redirects to the intro
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "devtools"}


def book_pages() -> list[str]:
    """Every page of the table of contents, as a path relative to _build/html.

    Jupyter Book builds only the files in _toc.yml (``only_build_toc_files``), so the built
    pages are the toc's pages: a new chapter is tested as soon as it is in the book.
    """
    if not (HTML / "index.html").exists():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML).as_posix()
        if rel.split("/")[0].startswith("_") or rel in NOT_PAGES:
            continue
        pages.append(rel)
    return pages


def chapter_pages() -> list[str]:
    return [p for p in book_pages() if p.startswith("chapters/")]


def pytest_generate_tests(metafunc):
    for name, pages in (("page", book_pages), ("chapter", chapter_pages)):
        if name in metafunc.fixturenames:
            found = pages()
            metafunc.parametrize(name, found or [None], ids=found or ["no-pages"])


def require_page(page):
    if page is None:
        pytest.skip(f"no book pages: build the book first ({HTML} has no index.html or no chapter)")
    return page


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="session")
def site():
    """The base URL of _build/html served on 127.0.0.1."""
    if not (HTML / "index.html").exists():
        pytest.skip(f"the book is not built: {HTML / 'index.html'} is missing (run `make book`)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def driver():
    """A headless Chromium driven by Selenium through Debian's chromedriver, with no network."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            pytest.skip(f"no {path}: install Debian's {package} to run the browser tests")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="book-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # Timers run at full speed even when Chromium thinks the page is in the background.
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--window-size=1280,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(120)
    browser.set_script_timeout(120)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


def off_host_requests(performance_log, base: str) -> list[str]:
    """The URLs in a Chromium performance log that point anywhere but the served book."""
    host = urlsplit(base).netloc
    urls = []
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            continue
        if parts.netloc != host:
            urls.append(url)
    return urls


def screenshot(driver, name: str) -> None:
    folder = os.environ.get("BOOK_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


@pytest.fixture
def viewport(driver):
    """Emulate a screen of a given CSS width (a phone's with ``mobile=True``) for one test; the
    session's 1280 px window comes back afterwards."""

    def resize(width: int, height: int = 900, mobile: bool = False):
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 3 if mobile else 1, "mobile": mobile})

    yield resize
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
