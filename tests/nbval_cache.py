"""A pytest plugin that lets nbval's run of the notebooks feed the book build.

nbval executes every code cell of a chapter and checks it runs. This plugin keeps the
outputs it saw and, for each notebook whose cells all passed, stores the executed
notebook in the book's jupyter-cache, under the hash of its code. The book build that
follows (``execute_notebooks: cache``) then finds every chapter already executed, so
``make test`` runs each notebook once, not twice.

In a smoke run (``GENAI_SMOKE=1``: the gpu profile's shapes, a handful of steps) nothing is
cached, so the book never shows a smoke run's outputs; instead, every notebook must have written
its smoke record (``_build/records/smoke/<notebook>.json``), and each notebook's time is held to
``SMOKE_SECONDS``.

Use: ``pytest -p tests.nbval_cache --nbval-lax chapters``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SMOKE_SECONDS = 20  # the target for one notebook's smoke run on 2 cores
SMOKE_LIMIT = 180  # past this (three times a slow machine's margin) a smoke run is no longer a smoke test: fail

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
    """How long each chapter ran: the book promises at most 4 minutes on two cores for the CPU profile,
    and a smoke run at most SMOKE_SECONDS."""
    from utils.device import is_smoke

    if _seconds:
        smoke = is_smoke()
        terminalreporter.section("seconds per notebook" + (f" (smoke run, target {SMOKE_SECONDS} s)" if smoke else ""))
        for path, seconds in sorted(_seconds.items()):
            over = "  over the smoke target" if smoke and seconds > SMOKE_SECONDS else ""
            terminalreporter.write_line(f"{seconds:7.1f} s  {Path(path).name}{over}")
        for problem in _smoke_problems:
            terminalreporter.write_line(f"SMOKE RUN FAILED: {problem}", red=True)


_smoke_problems: list[str] = []


def _check_smoke_run(notebooks: dict) -> None:
    """Every notebook that ran in smoke mode wrote its smoke record, and none took too long."""
    import json

    from utils.paths import records_dir

    for path in notebooks:
        name = Path(path).stem
        if path in _failed:
            continue
        record = records_dir(smoke=True) / f"{name}.json"
        entry = json.loads(record.read_text()) if record.exists() else {}
        if not entry.get("smoke"):
            _smoke_problems.append(f"{name} wrote no smoke record at {record.relative_to(ROOT)}")
        if _seconds.get(path, 0.0) > SMOKE_LIMIT:
            _smoke_problems.append(f"{name} took {_seconds[path]:.0f} s, more than {SMOKE_LIMIT} s: "
                                   "give its counts smoke values (utils.device.by_profile(..., smoke=...))")


def pytest_sessionfinish(session, exitstatus):
    from jupyter_cache import get_cache

    from utils.device import is_smoke
    from utils.paths import build_dir

    notebooks = {}
    for item in session.items:
        if _is_notebook_cell(item):
            notebooks[str(item.parent.fspath)] = item.parent
    if not notebooks:
        return
    if is_smoke():  # a smoke run's outputs never reach the book
        _check_smoke_run(notebooks)
        if _smoke_problems and session.exitstatus == 0:
            session.exitstatus = 1
        return
    cache = get_cache(str(build_dir() / ".jupyter_cache"))
    executed_dir = build_dir() / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    for path, parent in notebooks.items():
        cells = [c for c in parent.nb.cells if c.cell_type == "code"]
        if path in _failed or any(c.execution_count is None for c in cells):
            continue  # failed or not run (for example -x stopped early): the book executes it itself
        executed = executed_dir / Path(path).name
        nbformat.write(parent.nb, str(executed))
        cache.cache_notebook_file(str(executed), uri=path, check_validity=False, overwrite=True)
