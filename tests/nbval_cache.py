"""A pytest plugin that lets nbval's run of the notebooks feed the book build.

nbval executes every code cell of a chapter and checks it runs. This plugin keeps the
outputs it saw and, for each notebook whose cells all passed, stores the executed
notebook in the book's jupyter-cache, under the hash of its code. The book build that
follows (``execute_notebooks: cache``) then finds every chapter already executed, so
``make test`` runs each notebook once, not twice.

Use: ``pytest -p tests.nbval_cache --nbval-lax chapters``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
EXECUTED = ROOT / "_build" / "executed"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

_failed: set[str] = set()
_seconds: dict[str, float] = {}  # each notebook's cells' run time, summed


def _is_notebook_cell(item) -> bool:
    return hasattr(item, "cell") and hasattr(item.parent, "nb")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not _is_notebook_cell(item) or report.when != "call":
        return
    _seconds[str(item.parent.fspath)] = _seconds.get(str(item.parent.fspath), 0.0) + report.duration
    if not report.passed:
        _failed.add(str(item.parent.fspath))
    # A widget's view cannot be shown without its state, which nbval does not keep;
    # every widget in the book has a static figure beside it.
    outputs = [o for o in (item.test_outputs or []) if WIDGET_VIEW not in o.get("data", {})]
    item.cell.outputs = outputs
    item.cell.execution_count = item.cell_num + 1


def pytest_terminal_summary(terminalreporter):
    """How long each chapter ran: the book promises at most 4 minutes on two cores for the CPU profile."""
    if _seconds:
        terminalreporter.section("seconds per notebook")
        for path, seconds in sorted(_seconds.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {Path(path).name}")


def pytest_sessionfinish(session, exitstatus):
    from jupyter_cache import get_cache

    notebooks = {}
    for item in session.items:
        if _is_notebook_cell(item):
            notebooks[str(item.parent.fspath)] = item.parent
    if not notebooks:
        return
    cache = get_cache(str(CACHE))
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for path, parent in notebooks.items():
        cells = [c for c in parent.nb.cells if c.cell_type == "code"]
        if path in _failed or any(c.execution_count is None for c in cells):
            continue  # failed or not run (for example -x stopped early): the book executes it itself
        executed = EXECUTED / Path(path).name
        nbformat.write(parent.nb, str(executed))
        cache.cache_notebook_file(str(executed), uri=path, check_validity=False, overwrite=True)
