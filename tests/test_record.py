import json

import pytest
import torch

from utils.record import record


def test_record_writes_the_promised_fields(tmp_path):
    path = record("99_test", {"accuracy": 0.5, "count": 3, "t": torch.tensor(1.5)}, mfu=0.2, directory=tmp_path)
    entry = json.loads(path.read_text())
    assert path.name == "99_test.json"
    assert set(entry) >= {"chapter", "profile", "device", "seconds", "metrics"}
    assert entry["metrics"] == {"accuracy": 0.5, "count": 3.0, "t": 1.5} and entry["mfu"] == 0.2


@pytest.mark.parametrize("metrics", [{}, {"a": float("nan")}, {"a": "high"}, {"a": True}])
def test_record_rejects_bad_metrics(tmp_path, metrics):
    with pytest.raises(ValueError, match="metrics"):
        record("99_test", metrics, directory=tmp_path)


def test_record_rejects_bad_chapter(tmp_path):
    with pytest.raises(ValueError, match="chapter"):
        record("a/b", {"x": 1.0}, directory=tmp_path)


def test_summary_has_one_row_per_metric_and_skips_what_is_not_a_record(tmp_path):
    from utils.record import COLUMNS, load_records, summary_rows, write_summary

    with pytest.raises(FileNotFoundError, match="no chapter records"):
        write_summary(tmp_path)
    record("02_b", {"x": 1.0}, promises={"x": ">= 0.5"}, directory=tmp_path, seconds=3.0)
    record("01_a", {"y": 2.0, "z": 3.0}, flops=5e9, mfu=0.25, directory=tmp_path, seconds=2.0)
    (tmp_path / "broken.json").write_text("{not json")
    path = write_summary(tmp_path)
    assert [r["chapter"] for r in load_records(tmp_path)] == ["01_a", "02_b"]  # summary.json is not a record
    summary = json.loads(path.read_text())
    assert summary["columns"] == list(COLUMNS)
    assert [(r["chapter"], r["metric"], r["value"]) for r in summary["rows"]] == [
        ("01_a", "y", 2.0), ("01_a", "z", 3.0), ("02_b", "x", 1.0)]
    assert summary["rows"][0]["mfu"] == 0.25 and summary["rows"][2]["flops"] is None
    assert summary["rows"][2]["promise"] == ">= 0.5" and summary["rows"][0]["promise"] is None
    with pytest.raises(ValueError, match="not recorded"):
        record("03_c", {"x": 1.0}, promises={"y": ">= 1"}, directory=tmp_path)
    with pytest.raises(ValueError, match="in words"):
        record("03_c", {"x": 1.0}, promises={"x": 0.5}, directory=tmp_path)
    assert summary_rows(load_records(tmp_path)) == summary["rows"]
