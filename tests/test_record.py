import json

import pytest
import torch

from utils.record import record


def test_record_writes_the_promised_fields(tmp_path, capsys):
    import numpy as np

    record("99_test", {"accuracy": 0.5, "count": 3, "t": torch.tensor(1.5), "np": np.float32(2.0)}, mfu=0.2,
           promises={"accuracy": ">= 0.4"}, directory=tmp_path)
    entry = json.loads((tmp_path / "99_test.json").read_text())
    assert set(entry) >= {"chapter", "profile", "device", "gpu", "torch", "cuda", "tf32_matmul", "precision",
                          "smoke", "seconds", "metrics", "checked"}
    assert entry["metrics"] == {"accuracy": 0.5, "count": 3.0, "t": 1.5, "np": 2.0} and entry["mfu"] == 0.2
    assert entry["checked"] == "held" and entry["smoke"] is False and entry["device"] == "cpu"
    assert str(tmp_path) not in capsys.readouterr().out  # no machine path in a built page


@pytest.mark.parametrize("metrics", [{}, {"a": float("nan")}, {"a": float("inf")}, {"a": "high"}, {"a": True},
                                     {"": 1.0}, {"a": torch.zeros(2)}])
def test_record_rejects_bad_metrics(tmp_path, metrics):
    with pytest.raises(ValueError, match="metrics"):
        record("99_test", metrics, directory=tmp_path)


@pytest.mark.parametrize("kwargs, words", [({"seconds": -1.0}, "seconds"), ({"mfu": float("nan")}, "mfu"),
                                           ({"precision": "fp8"}, "precision"), ({"flops": -5}, "flops")])
def test_record_rejects_bad_numbers_by_name(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        record("99_test", {"x": 1.0}, directory=tmp_path, **kwargs)


def test_a_smoke_run_checks_no_promise_and_records_apart(tmp_path, monkeypatch, capsys):
    from utils.record import check_promise

    monkeypatch.setenv("GENAI_BUILD_DIR", str(tmp_path))
    assert check_promise(True, "fine") is None  # nothing to print under a cell
    with pytest.raises(AssertionError, match="too low"):
        check_promise(False, "too low")
    monkeypatch.setenv("GENAI_SMOKE", "1")
    assert check_promise(False, "too low") is None  # not passed: reported as not checked
    assert "not checked" in capsys.readouterr().out
    record("99_test", {"x": 1.0}, promises={"x": ">= 2"})
    entry = json.loads((tmp_path / "records" / "smoke" / "99_test.json").read_text())
    assert entry["smoke"] is True and entry["checked"] == "not checked (smoke)"
    assert not (tmp_path / "records" / "99_test.json").exists()


def test_summary_refuses_to_mix_profiles_or_smoke_runs(tmp_path, monkeypatch):
    from utils.record import load_records, summary_rows

    record("01_a", {"x": 1.0}, directory=tmp_path)
    monkeypatch.setenv("GENAI_PROFILE", "gpu")
    record("02_b", {"x": 1.0}, directory=tmp_path)
    with pytest.raises(ValueError, match="mix profiles"):
        summary_rows(load_records(tmp_path))


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
    assert summary["rows"][2]["checked"] == "held" and summary["rows"][0]["checked"] is None
    with pytest.raises(ValueError, match="not recorded"):
        record("03_c", {"x": 1.0}, promises={"y": ">= 1"}, directory=tmp_path)
    with pytest.raises(ValueError, match="in words"):
        record("03_c", {"x": 1.0}, promises={"x": 0.5}, directory=tmp_path)
    assert summary_rows(load_records(tmp_path)) == summary["rows"]


def test_recorded_reads_a_metric_only_from_a_record_of_this_setting(tmp_path, monkeypatch):
    from utils.record import recorded

    assert recorded("01_x", "fd_gmm", directory=tmp_path) is None  # no record
    record("01_x", {"fd_gmm": 32.5}, directory=tmp_path)
    assert recorded("01_x", "fd_gmm", directory=tmp_path) == 32.5
    assert recorded("01_x", "missing", directory=tmp_path) is None
    for key, other in (("profile", "gpu"), ("device", "cuda"), ("smoke", True)):
        entry = json.loads((tmp_path / "01_x.json").read_text())
        (tmp_path / "02_y.json").write_text(json.dumps({**entry, key: other}))
        assert recorded("02_y", "fd_gmm", directory=tmp_path) is None, key  # another setting: not this run's
    monkeypatch.setattr("utils.record.records_dir", lambda: tmp_path)
    assert recorded("01_x", "fd_gmm") == 32.5  # by default from the records folder
