"""``make gpu-check``'s script, in its CPU dry run: the cheap parts run here for real, the slow ones
(torchrun, the notebooks) are stood in for, and the projection table is read from a fake smoke record."""

import dataclasses
import json

import pytest
import torch

from utils import gpu_check
from utils.judge import DigitJudge

CPU = torch.device("cpu")


def test_environment_and_the_three_measured_peaks():
    env = gpu_check.check_environment(CPU)
    assert env["ok"] and env["torch"] == torch.__version__ and env["environment"]["device"] == "cpu"
    peaks = gpu_check.check_peaks(CPU)
    assert peaks["ok"], peaks
    assert set(peaks["tflops"]) == {"fp32", "tf32", "bf16"} and all(v > 0 for v in peaks["tflops"].values())


def test_gan_fd_runs_on_the_cpu_and_says_the_cuda_half_was_skipped(monkeypatch):
    from utils import gan

    small = {**gan.DIGIT_GAN.sizes["gpu"], "width": 8}  # the gpu width is for a GPU; this checks the code path
    monkeypatch.setattr(gan, "DIGIT_GAN", dataclasses.replace(gan.DIGIT_GAN, sizes={"gpu": small}))
    result = gpu_check.check_gan_fd(CPU, steps=2, samples=200, judge=DigitJudge().eval())
    assert result["ok"] and list(result["rows"]) == ["cpu"] and result["rows"]["cpu"]["fd"] > 0
    assert "no CUDA" in result["note"]


def test_guided_agrees_with_the_formula_by_hand_and_the_device_guard_holds():
    guided = gpu_check.check_guided(CPU, channels=(16, 32))  # the gpu widths are for a GPU
    assert guided["ok"] and guided["relative"]["tf32_on"] <= gpu_check.GUIDED_RTOL
    assert guided["largest_output"] > 0.1  # a fresh network's output is not zero, so the comparison means something
    guard = gpu_check.check_device_guard(CPU)
    assert guard["ok"] and guard["pretended_cuda"] and "cuda" in guard["message"], guard


def test_a_failing_part_is_recorded_not_raised_and_a_slow_command_is_stopped():
    result = gpu_check.soft(lambda: 1 / 0)
    assert result["ok"] is False and result["error"].startswith("ZeroDivisionError") and "seconds" in result
    code, output = gpu_check.run_quietly(["sleep", "30"], timeout=0.5)
    assert code == 124 and "stopped after" in output


def fake_record(folder, stem, projected_seconds, runs=2, matched=2):
    folder.mkdir(parents=True, exist_ok=True)
    projection = {"training_runs": runs, "matched": matched, "smoke_training_seconds": 1.0,
                  "projected_training_seconds": projected_seconds - 3, "projected_seconds": projected_seconds}
    (folder / f"{stem}.json").write_text(json.dumps({"chapter": stem, "smoke": True, "profile": "gpu", "device": "cuda",
                                                     "seconds": 4.0, "metrics": {"x": 1.0}, "projection": projection}))


def test_projection_table_flags_a_notebook_over_five_minutes(tmp_path):
    fake_record(tmp_path, "03_transformer", 90.0)
    fake_record(tmp_path, "07_diffusion_images", 420.0, runs=3, matched=2)
    fast, slow = (gpu_check.read_projection(tmp_path / f"{s}.json") for s in ("03_transformer", "07_diffusion_images"))
    assert fast["projected_minutes"] == 1.5 and not fast["over_limit"] and fast["training_runs"] == 2
    assert slow["projected_minutes"] == 7.0 and slow["over_limit"] and slow["matched"] == 2
    assert gpu_check.read_projection(tmp_path / "missing.json") == {"record": False}
    rows = [{"notebook": "03_transformer", "passed": True, "seconds": 12.3, **fast},
            {"notebook": "07_diffusion_images", "passed": True, "seconds": 30.0, **slow},
            {"notebook": "09b_guidance", "skipped": True, "note": "skipped: the time budget is spent"}]
    text = gpu_check.notebook_table(rows)
    lines = text.splitlines()
    assert "full gpu min" in lines[0] and len(lines) == 4
    assert "over 5 min" in lines[2] and "over" not in lines[1] and "skipped" in lines[3]
    report = {"environment": {"ok": True}, "peaks": {"ok": True}, "checks": {"guided": {"ok": False}},
              "notebooks": rows}
    summary = gpu_check.summarise(report, 12.0)
    assert summary["failed"] == ["guided"] and "03_transformer" in summary["passed"]
    assert summary["skipped"] == ["09b_guidance"] and summary["over_limit"] == ["07_diffusion_images"]


def test_dry_run_writes_the_report_and_skips_notebooks_once_the_budget_is_spent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENAI_PROFILE", "cpu")  # main sets these; monkeypatch puts them back afterwards
    monkeypatch.delenv("GENAI_SMOKE", raising=False)
    monkeypatch.setenv("GENAI_BUILD_DIR", str(tmp_path))
    quick = lambda *args, **kwargs: {"ok": True, "stood_in": True}
    # Each measured by a test above, or slow (torchrun: tests/test_distributed.py runs it).
    for name in ("check_peaks", "check_gan_fd", "check_guided", "check_torchrun"):
        monkeypatch.setattr(gpu_check, name, quick)
    monkeypatch.setattr(gpu_check, "run_notebook", lambda *a: pytest.fail("no notebook may run: the budget is spent"))
    out = tmp_path / "gpu-check.json"
    report = gpu_check.main(["--cpu-dry-run", "--budget", "0", "--notebooks", "02_tokenization", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["mode"] == "cpu dry run" and saved == json.loads(json.dumps(report, default=str))
    assert set(saved) >= {"environment", "peaks", "notebooks", "checks", "summary"}
    assert set(saved["checks"]) == {"gan_fd", "guided", "torchrun_1", "torchrun_2", "device_guard"}
    assert saved["notebooks"] == [{"notebook": "02_tokenization", "skipped": True,
                                   "note": "skipped: the time budget is spent"}]
    assert saved["summary"]["failed"] == [] and saved["summary"]["skipped"] == ["02_tokenization"]
    shown = capsys.readouterr().out
    assert "02_tokenization" in shown and "passed: environment" in shown
