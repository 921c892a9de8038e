"""Data-parallel training: the shared loop under torchrun (gloo, 2 CPU processes) must give
the weights of one process, resume with any number of processes, and fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from utils import distributed
from utils.launch import main, parse, tiny_problem
from utils.train import train

ROOT = Path(__file__).resolve().parent.parent


def torchrun(nproc, *args, timeout=120):
    """Run ``utils.launch`` on ``nproc`` CPU processes (gloo, the cpu profile); returns the finished process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "utils.launch", *map(str, args)]
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT), "GENAI_PROFILE": "cpu"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def largest_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_outside_torchrun_there_is_one_process():
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert not distributed.active()
    value = torch.tensor([1.0, 2.0])
    assert torch.equal(distributed.mean(value), value)
    assert distributed.gather("x") == ["x"]


def test_shard_splits_a_batch_evenly_and_explains_what_it_cannot_split():
    x, y = torch.arange(12).view(6, 2), torch.arange(6)
    parts = [distributed.shard((x, y), r, 3) for r in range(3)]
    assert torch.equal(torch.cat([p[0] for p in parts]), x) and torch.equal(torch.cat([p[1] for p in parts]), y)
    assert torch.equal(distributed.shard(y, 1, 2), torch.tensor([3, 4, 5]))
    with pytest.raises(ValueError, match="multiple of 4"):
        distributed.shard((x, y), 0, 4)
    with pytest.raises(ValueError, match="rank must be between 0 and world_size - 1 = 1"):
        distributed.shard(y, 2, 2)
    with pytest.raises(ValueError, match="same number of rows"):
        distributed.shard((x, y[:5]), 0, 1)
    with pytest.raises(TypeError, match="tuple of tensors"):
        distributed.shard([1, 2], 0, 1)


def test_launch_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        parse(["tiny", "--steps", "0"])
    with pytest.raises(SystemExit):
        parse(["pictures"])
    model, loss_fn, get_batch, _ = tiny_problem()
    with pytest.raises(ValueError, match="precision must be one of"):
        train(model, loss_fn, get_batch, steps=2, precision="fp8", progress=False)


def test_one_process_launch_is_the_plain_loop(tmp_path):
    result = main(["tiny", "--steps", "20", "--out", str(tmp_path / "one.json")])
    assert result["world_size"] == 1 and result["steps"] == 20
    assert (tmp_path / "one.json").exists()


def test_two_processes_end_at_the_weights_of_one_with_the_whole_batch(tmp_path):
    two = torchrun(2, "tiny", "--steps", 40, "--checkpoint", tmp_path / "two.pt")
    assert two.returncode == 0, two.stderr[-3000:]
    model, loss_fn, get_batch, _ = tiny_problem()
    train(model, loss_fn, get_batch, steps=40, lr=3e-3, warmup=4, progress=False)
    difference = largest_difference(weights(tmp_path / "two.pt"), model.state_dict())
    assert difference < 1e-5, f"2 processes x 16 rows and 1 process x 32 rows differ by {difference}"


def test_a_two_process_run_resumes_exactly_even_with_dropout(tmp_path):
    args = ["tiny", "--steps", 40, "--dropout", 0.3]
    whole = torchrun(2, *args, "--checkpoint", tmp_path / "whole.pt")
    first = torchrun(2, *args, "--checkpoint", tmp_path / "parts.pt", "--stop-after", 15)
    assert torch.load(tmp_path / "parts.pt", weights_only=True)["step"] == 15
    second = torchrun(2, *args, "--checkpoint", tmp_path / "parts.pt")
    for run in (whole, first, second):
        assert run.returncode == 0, run.stderr[-3000:]
    assert largest_difference(weights(tmp_path / "whole.pt"), weights(tmp_path / "parts.pt")) == 0.0


def test_a_two_process_checkpoint_resumes_on_one_process(tmp_path):
    args = ["tiny", "--steps", 40]
    whole = torchrun(2, *args, "--checkpoint", tmp_path / "whole.pt")
    first = torchrun(2, *args, "--checkpoint", tmp_path / "parts.pt", "--stop-after", 15)
    for run in (whole, first):
        assert run.returncode == 0, run.stderr[-3000:]
    main([*map(str, args), "--checkpoint", str(tmp_path / "parts.pt")])
    assert largest_difference(weights(tmp_path / "whole.pt"), weights(tmp_path / "parts.pt")) < 1e-5


def test_a_rank_that_raises_stops_the_whole_job_and_its_error_is_shown():
    run = torchrun(2, "tiny", "--steps", 100_000, "--fail-rank", 1, "--fail-step", 5, timeout=90)
    assert run.returncode != 0
    shown = run.stdout + run.stderr
    assert "rank 1 failed on purpose at step 5" in shown, shown[-3000:]
    assert "rank      : 1" in shown, "torchrun's summary should name the failing rank"


def test_all_reduce_timing_outside_a_group_sends_nothing():
    rows = distributed.time_all_reduce(numels=(10, 1000), repeats=2)
    assert [r["numel"] for r in rows] == [10, 1000] and all(r["bus_gb_per_s"] == 0.0 for r in rows)
    with pytest.raises(ValueError, match="repeats"):
        distributed.time_all_reduce(repeats=0)


def test_all_reduce_timing_on_two_processes(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "utils.distributed", str(tmp_path / "ar.json")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "GENAI_PROFILE": "cpu"})
    assert run.returncode == 0, run.stderr[-3000:]
    import json
    table = json.loads((tmp_path / "ar.json").read_text())
    assert table["world_size"] == 2 and table["backend"] == "gloo"
    assert all(row["seconds"] > 0 and row["bus_gb_per_s"] > 0 for row in table["rows"])


@pytest.mark.cuda
def test_one_process_per_gpu_uses_nccl_and_more_processes_than_gpus_fall_back_to_gloo(tmp_path):
    import json

    env_gpu = {"GENAI_PROFILE": "gpu"}
    one = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
                          "-m", "utils.distributed", str(tmp_path / "one.json")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, **env_gpu, "PYTHONPATH": str(ROOT)})
    assert one.returncode == 0, one.stderr[-3000:]
    assert json.loads((tmp_path / "one.json").read_text())["backend"] == "nccl"
    too_many = torch.cuda.device_count() + 1
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          f"--nproc_per_node={too_many}", "-m", "utils.launch", "tiny", "--steps", "20"],
                         cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, **env_gpu, "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "gloo" in run.stdout + run.stderr


@pytest.mark.cuda
def test_a_gpu_run_resumes_exactly_with_dropout_because_the_cuda_random_state_is_saved(tmp_path):
    def problem():
        model, loss_fn, get_batch, _ = tiny_problem(dropout=0.3)
        return model.cuda(), loss_fn, get_batch

    model, loss_fn, get_batch = problem()
    torch.cuda.manual_seed(0)
    train(model, loss_fn, get_batch, steps=30, progress=False)
    whole = {k: v.clone() for k, v in model.state_dict().items()}
    model, loss_fn, get_batch = problem()
    torch.cuda.manual_seed(0)
    train(model, loss_fn, get_batch, steps=30, progress=False, checkpoint=tmp_path / "run.pt", stop_after=12)
    torch.cuda.manual_seed(123)  # a different stream: only the checkpoint can bring back the right one
    model, loss_fn, get_batch = problem()
    train(model, loss_fn, get_batch, steps=30, progress=False, checkpoint=tmp_path / "run.pt")
    assert largest_difference(model.state_dict(), whole) == 0.0
