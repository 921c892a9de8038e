"""One call that a chapter makes to record its numbers for the results page.

``record("01_discriminative_vs_generative", {"lr_accuracy": 0.96, ...})`` writes
``_build/records/01_discriminative_vs_generative.json`` in the repository::

    {"chapter": ..., "profile": ..., "device": ..., "seconds": ..., "metrics": {...}, "promises": {...}}

``promises`` maps a metric to the promise the chapter asserted about it, in words
(``{"lr_accuracy": ">= 0.95"}``), so that the results page can show each number beside its promise.

``seconds`` is the time since :mod:`utils` was first imported in this process, that
is, how long the notebook has run when it records.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from .device import get_device, get_profile

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "_build" / "records"
_STARTED = time.perf_counter()


def record(chapter: str, metrics: dict, *, promises: dict | None = None, flops: float | None = None,
           mfu: float | None = None, seconds: float | None = None, directory: str | Path | None = None) -> Path:
    """Write the chapter's metrics as JSON and return the file's path."""
    if not isinstance(chapter, str) or not chapter or "/" in chapter:
        raise ValueError(f"chapter must be the notebook's name without '/', got {chapter!r}")
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError("metrics must be a non-empty dict of name -> number")
    clean = {}
    for name, value in metrics.items():
        if isinstance(value, torch.Tensor):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metrics[{name!r}] must be a finite number, got {value!r}")
        clean[name] = float(value)
    promises = {} if promises is None else promises
    if not isinstance(promises, dict) or not all(isinstance(v, str) and v for v in promises.values()):
        raise ValueError("promises must be a dict of metric name -> the promise in words, e.g. {'accuracy': '>= 0.9'}")
    unknown = sorted(set(promises) - set(clean))
    if unknown:
        raise ValueError(f"promises name metrics that were not recorded: {unknown}; recorded: {sorted(clean)}")
    entry = {
        "chapter": chapter,
        "profile": get_profile(),
        "device": str(get_device()),
        "seconds": round(time.perf_counter() - _STARTED if seconds is None else seconds, 2),
        "metrics": clean,
        "promises": dict(promises),
    }
    if flops is not None:
        entry["flops"] = float(flops)
    if mfu is not None:
        entry["mfu"] = float(mfu)
    folder = Path(directory) if directory is not None else RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.json"
    path.write_text(json.dumps(entry, indent=2) + "\n")
    print(f"recorded {len(clean)} metrics in {path.relative_to(folder.parent.parent) if directory is None else path}")
    return path


COLUMNS = ("chapter", "metric", "value", "promise", "seconds", "flops", "mfu", "profile", "device")


def load_records(directory: str | Path | None = None) -> list[dict]:
    """Every chapter's record in ``directory`` (default ``_build/records``), sorted by chapter.

    Files that are not records (``summary.json``) or cannot be read are skipped.
    """
    folder = Path(directory) if directory is not None else RECORDS
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "summary.json":
            continue
        try:
            entry = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("metrics"), dict):
            records.append(entry)
    return records


def summary_rows(records: list[dict]) -> list[dict]:
    """One row per recorded metric: its value, the promise made about it (None if none), and its
    chapter's seconds, FLOPs per step, MFU, profile and device.

    The results page and ``make bench``'s ``summary.json`` both show these rows.
    """
    rows = []
    for entry in records:
        for name, value in entry["metrics"].items():
            rows.append({"chapter": entry.get("chapter"), "metric": name, "value": value,
                         "promise": entry.get("promises", {}).get(name),
                         "seconds": entry.get("seconds"), "flops": entry.get("flops"), "mfu": entry.get("mfu"),
                         "profile": entry.get("profile"), "device": entry.get("device")})
    return rows


def write_summary(directory: str | Path | None = None) -> Path:
    """Write ``summary.json`` beside the records: ``{"columns": [...], "rows": [...]}``."""
    folder = Path(directory) if directory is not None else RECORDS
    records = load_records(folder)
    if not records:
        raise FileNotFoundError(f"no chapter records in {folder}: execute the chapters first (make bench)")
    path = folder / "summary.json"
    path.write_text(json.dumps({"columns": list(COLUMNS), "rows": summary_rows(records)}, indent=2) + "\n")
    return path


if __name__ == "__main__":  # python -m utils.record: write the summary of the records there are
    written = write_summary()
    print(f"wrote {written} ({len(load_records())} chapters)")
