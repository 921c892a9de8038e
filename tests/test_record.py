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
