"""One call that a chapter makes to record its numbers for the results page.

``record("01_discriminative_vs_generative", {"lr_accuracy": 0.96, ...}, promises={...})`` writes
``_build/records/01_discriminative_vs_generative.json`` (a smoke run writes under
``_build/records/smoke``, apart from real records)::

    {"chapter": ..., "profile": ..., "device": ..., "gpu": ..., "torch": ..., "smoke": ...,
     "seconds": ..., "metrics": {...}, "promises": {...}, "checked": ...}

``promises`` maps a metric to the promise the chapter asserted about it, in words
(``{"lr_accuracy": ">= 0.95"}``). A chapter checks each promise with :func:`check_promise`
before it records, so a record of a real run means its promises held (``"checked": "held"``);
in a smoke run nothing is checked, and the record says so (``"not checked (smoke)"``).

``seconds`` is the time since :mod:`utils` was first imported in this process, that
is, how long the notebook has run when it records.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from pathlib import Path

import numpy as np
import torch

from .device import environment, is_smoke
from .paths import records_dir
from .validate import check_number, describe

_STARTED = time.perf_counter()
HELD, NOT_CHECKED = "held", "not checked (smoke)"
PRECISIONS = ("fp32", "tf32", "bf16")


def check_promise(held, message: str) -> None:
    """Assert one of the chapter's promises about its trained models: raise ``AssertionError(message)``
    if it does not hold. In a smoke run (a handful of steps) nothing can be promised: it prints that
    the promise was not checked, and the record says the same. It returns nothing, so a promise at the
    end of a cell leaves no stray ``True`` under it in the book."""
    if not isinstance(message, str) or not message:
        raise ValueError("message must say, in words, what failed (it is shown when the promise does not hold), "
                         f"got {message!r}")
    if isinstance(held, torch.Tensor) and held.numel() != 1:
        raise ValueError(f"held must be one truth value, got a tensor of shape {tuple(held.shape)}: "
                         "combine it with .all() or .any()")
    if not isinstance(held, (bool, np.bool_, torch.Tensor)):
        raise TypeError(f"held must be True or False (the promise's comparison), got {describe(held)}")
    if is_smoke():
        print(f"not checked (smoke run): {message}")
        return
    if isinstance(held, torch.Tensor):
        held = bool(held.item())
    if not held:
        raise AssertionError(message)


def _number(name: str, value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{what}[{name!r}] must be one number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}[{name!r}] must be a finite number, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        # JSON has no NaN or infinity: a record that held one would break every reader of the records.
        raise ValueError(f"{what}[{name!r}] must be a finite number, got {value!r}")
    return float(value)


def record(chapter: str, metrics: dict, *, promises: dict | None = None, flops: float | None = None,
           mfu: float | None = None, seconds: float | None = None, precision: str = "fp32",
           directory: str | Path | None = None) -> None:
    """Write the chapter's metrics as JSON (see the module's docstring for what a record holds)."""
    if not isinstance(chapter, str) or not chapter.strip() or "/" in chapter:
        raise ValueError(f"chapter must be the notebook's name without '/', got {chapter!r}")
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError(f"metrics must be a non-empty dict of name -> number, got {metrics!r}")
    if directory is not None and not isinstance(directory, (str, Path)):
        raise TypeError(f"directory must be None (the records folder) or a path, got {describe(directory)}")
    if not all(isinstance(k, str) and k.strip() for k in metrics):
        raise ValueError(f"metrics must be named by non-empty strings, got {sorted(map(repr, metrics))}")
    clean = {name: _number(name, value, "metrics") for name, value in metrics.items()}
    promises = {} if promises is None else promises
    if not isinstance(promises, dict) or not all(isinstance(v, str) and v for v in promises.values()):
        raise ValueError("promises must be a dict of metric name -> the promise in words, e.g. {'accuracy': '>= 0.9'}")
    unknown = sorted(set(promises) - set(clean))
    if unknown:
        raise ValueError(f"promises name metrics that were not recorded: {unknown}; recorded: {sorted(clean)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    elapsed = time.perf_counter() - _STARTED if seconds is None else _number("seconds", seconds, "record")
    if elapsed < 0:
        raise ValueError(f"seconds must be non-negative, got {elapsed}")
    entry = {"chapter": chapter, **environment(), "precision": precision, "seconds": round(elapsed, 2),
             "metrics": clean, "promises": dict(promises)}
    if promises:
        entry["checked"] = NOT_CHECKED if entry["smoke"] else HELD
    for name, value in (("flops", flops), ("mfu", mfu)):
        if value is not None:
            entry[name] = _number(name, value, "record")
            if entry[name] < 0:
                raise ValueError(f"{name} must be non-negative, got {entry[name]}")
    if entry["smoke"]:
        entry["projection"] = project_full_run(entry["seconds"])
    folder = Path(directory) if directory is not None else records_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chapter}.json").write_text(json.dumps(entry, indent=2) + "\n")
    kept = " (smoke run: kept apart, promises not checked)" if entry["smoke"] else ""
    print(f"recorded {len(clean)} metrics for {chapter}{kept}")


def recorded(chapter: str, metric: str, directory: str | Path | None = None) -> float | None:
    """``metric`` as ``chapter`` recorded it, if that chapter ran in this very setting (the same profile,
    device and kind of run, smoke or not); otherwise None, and the caller computes it again. A chapter
    reuses an earlier chapter's baseline this way without retyping or retraining it."""
    for name, value in (("chapter", chapter), ("metric", metric)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty str (a notebook's name, a metric's name), got {value!r}")
    if directory is not None and not isinstance(directory, (str, Path)):
        raise TypeError(f"directory must be None (the records folder) or a path, got {describe(directory)}")
    path = (Path(directory) if directory is not None else records_dir()) / f"{chapter}.json"
    if not path.exists():
        return None
    entry, here = json.loads(path.read_text()), environment()
    if any(entry.get(key) != here[key] for key in ("profile", "device", "smoke")):
        return None
    return entry["metrics"].get(metric)


def project_full_run(seconds: float) -> dict:
    """A smoke run's estimate of the profile's full run: each training run's time per step (measured at
    the profile's real shapes) times the steps the profile would take (the count by_profile swapped for
    the smoke count), plus the rest of the notebook's time as it was. Runs whose step count matches no
    swapped count are kept as they ran; the projection says how many it matched."""
    from .device import SMOKE_SWAPS
    from .flops import RUNS

    seconds = check_number(seconds, "seconds", 0.0)

    full_of = {}
    for smoke, full in SMOKE_SWAPS:
        if isinstance(smoke, int) and not isinstance(smoke, bool) and isinstance(full, int):
            full_of.setdefault(smoke, full)
    trained = sum(r["seconds"] for r in RUNS)
    projected, matched = 0.0, 0
    for run in RUNS:
        full = full_of.get(run["steps"])
        matched += full is not None
        projected += run["seconds"] / max(1, run["steps"]) * (full if full is not None else run["steps"])
    return {"training_runs": len(RUNS), "matched": matched, "smoke_training_seconds": round(trained, 3),
            "projected_training_seconds": round(projected, 1),
            "projected_seconds": round(max(0.0, seconds - trained) + projected, 1)}


COLUMNS = ("chapter", "metric", "value", "promise", "checked", "seconds", "flops", "mfu", "profile", "device", "gpu",
           "smoke")


def _folder(directory) -> Path:
    """The records' folder: ``directory`` (which must exist), or the default one."""
    if directory is None:
        return records_dir()
    if not isinstance(directory, (str, Path)):
        raise TypeError(f"directory must be None (the records folder) or a path, got {describe(directory)}")
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"no folder {directory}: pass the folder the records were written to")
    return Path(directory)


def _check_records(records) -> None:
    if not isinstance(records, (list, tuple)) or not all(isinstance(e, dict) for e in records):
        kinds = sorted({type(e).__name__ for e in records}) if isinstance(records, (list, tuple)) else []
        raise TypeError(f"records must be a list of record dicts (from load_records), got "
                        f"{describe(records) if not kinds else 'a list of ' + ', '.join(kinds)}")
    bad = [e.get("chapter", i) for i, e in enumerate(records) if not isinstance(e.get("metrics"), dict)]
    if bad:
        raise ValueError(f"records must each hold a dict of metrics (as load_records gives them); {bad} do not")


def load_records(directory: str | Path | None = None) -> list[dict]:
    """Every chapter's record in ``directory`` (default ``_build/records``), sorted by chapter.

    Files that are not records (``summary.json``) or cannot be read are skipped.
    """
    folder = _folder(directory)
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


def check_one_setting(records: list[dict]) -> None:
    """Raise a clear error unless every record comes from one profile, one kind of device and one
    kind of run (smoke or real): a table that mixed them would compare unlike things."""
    _check_records(records)
    settings = {(e.get("profile"), e.get("device"), bool(e.get("smoke"))) for e in records}
    if len(settings) > 1:
        listed = "; ".join(f"{e.get('chapter')}: profile {e.get('profile')}, device {e.get('device')}"
                           f"{', smoke' if e.get('smoke') else ''}" for e in records)
        raise ValueError("the records mix profiles, devices or smoke runs, so they cannot share one table: "
                         f"{listed}. Execute every chapter afresh under one profile (make bench).")


def summary_rows(records: list[dict]) -> list[dict]:
    """One row per recorded metric: its value, the promise made about it (None if none) and whether it
    was checked, and its chapter's seconds, FLOPs per step, MFU, profile, device, GPU and smoke flag.

    The results page and ``make bench``'s ``summary.json`` both show these rows; records of mixed
    profiles or devices are refused (:func:`check_one_setting`).
    """
    check_one_setting(records)
    rows = []
    for entry in records:
        for name, value in entry["metrics"].items():
            promise = entry.get("promises", {}).get(name)
            rows.append({"chapter": entry.get("chapter"), "metric": name, "value": value, "promise": promise,
                         "checked": entry.get("checked", HELD) if promise else None,
                         "seconds": entry.get("seconds"), "flops": entry.get("flops"), "mfu": entry.get("mfu"),
                         "profile": entry.get("profile"), "device": entry.get("device"), "gpu": entry.get("gpu"),
                         "smoke": bool(entry.get("smoke"))})
    return rows


def write_summary(directory: str | Path | None = None) -> Path:
    """Write ``summary.json`` beside the records: ``{"columns": [...], "rows": [...]}``."""
    folder = _folder(directory)
    records = load_records(folder)
    if not records:
        raise FileNotFoundError(f"no chapter records in {folder}: execute the chapters first (make bench)")
    path = folder / "summary.json"
    path.write_text(json.dumps({"columns": list(COLUMNS), "rows": summary_rows(records)}, indent=2) + "\n")
    return path


if __name__ == "__main__":  # python -m utils.record: write the summary of the records there are
    written = write_summary()
    print(f"wrote {written} ({len(load_records())} chapters)")
