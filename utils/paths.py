"""Where the book keeps what it writes: one place for every path.

* ``ROOT``: the repository (the folder holding ``utils/`` and ``chapters/``).
* :func:`build_dir`: ``_build`` (``GENAI_BUILD_DIR`` overrides it): the HTML, the execution cache, records.
* :func:`records_dir`: each chapter's numbers, ``_build/records``; a smoke run's go to ``_build/records/smoke``.
* :func:`cache_dir`: trained weights that later chapters reuse, one folder per profile
  (``data/cache/cpu``, ``data/cache/gpu``; ``GENAI_CACHE_DIR`` overrides ``data/cache``), so one
  profile never loads another's weights. A smoke run gets its own throw-away folder under
  ``_build/smoke``, so its tiny models never reach the book.
"""

from __future__ import annotations

import os
from pathlib import Path

from .device import get_profile, is_smoke

ROOT = Path(__file__).resolve().parent.parent
BUILD_VARIABLE, CACHE_VARIABLE = "GENAI_BUILD_DIR", "GENAI_CACHE_DIR"


def build_dir() -> Path:
    """``_build`` in the repository, or the folder ``GENAI_BUILD_DIR`` names."""
    chosen = os.environ.get(BUILD_VARIABLE, "").strip()
    return Path(chosen).expanduser().resolve() if chosen else ROOT / "_build"


def records_dir(smoke: bool | None = None) -> Path:
    """Where :func:`utils.record.record` writes: ``_build/records``, or ``_build/records/smoke`` in a smoke run."""
    smoke = is_smoke() if smoke is None else smoke
    folder = build_dir() / "records"
    return folder / "smoke" if smoke else folder


def cache_dir(profile: str | None = None, smoke: bool | None = None) -> Path:
    """The folder of reusable weights for ``profile`` (default: the current one), created if missing."""
    profile = get_profile() if profile is None else profile
    smoke = is_smoke() if smoke is None else smoke
    if smoke:
        folder = build_dir() / "smoke" / "cache" / profile
    else:
        chosen = os.environ.get(CACHE_VARIABLE, "").strip()
        folder = (Path(chosen).expanduser().resolve() if chosen else ROOT / "data" / "cache") / profile
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def show(path: str | Path) -> str:
    """``path`` as a reader should see it printed: relative to the repository when inside it, so a
    built page never shows the build machine's folders."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return path.name


def link_execution_cache(profile: str | None = None) -> Path:
    """Point ``_build/.jupyter_cache`` (where ``_config.yml`` tells Jupyter Book to cache executed
    chapters) at this profile's own cache, ``_build/jupyter_cache/<profile>``: the cache is keyed by a
    chapter's code alone, so without this a build under one profile would show another's outputs."""
    profile = get_profile() if profile is None else profile
    link, target = build_dir() / ".jupyter_cache", build_dir() / "jupyter_cache" / profile
    target.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    elif link.exists():  # an unkeyed cache from before: it was filled by the cpu profile
        old = build_dir() / "jupyter_cache" / "cpu"
        if not any(old.iterdir()):
            old.rmdir()
            link.rename(old)
        else:
            import shutil

            shutil.rmtree(link)
    link.symlink_to(target.relative_to(link.parent), target_is_directory=True)
    return target


if __name__ == "__main__":  # python -m utils.paths: before a build, use this profile's execution cache
    print(f"execution cache: {show(link_execution_cache())}")
