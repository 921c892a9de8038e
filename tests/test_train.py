import os

import pytest
import torch

from utils.flops import count_flops, math_mode, matmul_peak_flops
from utils.train import (
    History,
    WeightAverage,
    batch_sampler,
    load_checkpoint,
    lr_at,
    train,
)


def make_problem(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1))
    x = torch.randn(256, 4)
    y = x.sum(1, keepdim=True) ** 2
    get_batch = batch_sampler(x, y, batch_size=32, seed=seed)
    return model, get_batch


def mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def test_training_lowers_the_loss():
    model, get_batch = make_problem()
    history = train(model, mse, get_batch, steps=300, lr=1e-2, warmup=20, progress=False)
    assert len(history.loss) == 300 and len(history.lr) == 300
    assert sum(history.loss[-20:]) / 20 < 0.3 * sum(history.loss[:20]) / 20


def test_resume_gives_exactly_the_uninterrupted_weights(tmp_path):
    model, get_batch = make_problem()
    train(model, mse, get_batch, steps=60, lr=1e-2, warmup=10, weight_decay=0.1, progress=False)
    reference = {k: v.clone() for k, v in model.state_dict().items()}

    path = tmp_path / "run.pt"
    model, get_batch = make_problem()
    train(model, mse, get_batch, steps=60, lr=1e-2, warmup=10, weight_decay=0.1, checkpoint=path,
          stop_after=25, progress=False)
    model, get_batch = make_problem(seed=0)
    for p in model.parameters():  # a fresh model with other weights: everything must come from the checkpoint
        torch.nn.init.normal_(p)
    history = train(model, mse, get_batch, steps=60, lr=1e-2, warmup=10, weight_decay=0.1, checkpoint=path,
                    progress=False)
    assert len(history.loss) == 60
    for name, value in model.state_dict().items():
        assert torch.equal(value, reference[name]), name


def test_evaluations_are_recorded_and_do_not_disturb_training():
    calls = []

    def evaluate(model):
        calls.append(1)
        torch.randn(10)  # evaluation may consume randomness
        return {"probe": 1.0}

    model, get_batch = make_problem()
    history = train(model, mse, get_batch, steps=40, eval_every=10, evaluate=evaluate, progress=False)
    steps, values = history.metric("probe")
    assert steps == [10, 20, 30, 40] and values == [1.0] * 4
    model2, get_batch2 = make_problem()
    train(model2, mse, get_batch2, steps=40, progress=False)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(KeyError, match="probe"):
        history.metric("missing")


def test_flops_and_mfu_are_measured():
    model, get_batch = make_problem()
    history = train(model, mse, get_batch, steps=20, progress=False)
    # Forward: 2 * batch * weights per linear layer. Backward: the weight gradients of both
    # layers and the input gradient of the second only (the data need no gradient).
    first, second = 2 * 32 * 4 * 16, 2 * 32 * 16 * 1
    assert history.flops_per_step == 2 * first + 3 * second
    assert 0 < history.mfu < 1
    assert history.seconds > 0


def test_profiler_sees_each_timed_step():
    # Chapter 3 sorts a step's time by kind from these marks; the first step is counted, not timed.
    model, get_batch = make_problem()
    with torch.profiler.profile() as prof:
        train(model, mse, get_batch, steps=6, progress=False)
    assert sum(event.name == "train step" for event in prof.events()) == 5


def test_count_flops_of_a_matmul():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert count_flops(torch.matmul, a, b) == 2 * 8 * 16 * 4


def test_count_flops_of_a_gpt_step_is_6n_plus_12lhqt():
    # PaLM's and nanoGPT's formula, per token: 6 x (weights of the matrix products) for the
    # forward and backward passes, plus 12 x layers x width x context for attention, which
    # the CPU's fused kernel hides from PyTorch's own counter.
    from utils.gpt import GPT, GPTConfig

    B, T, L, C, V = 2, 8, 2, 16, 11
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=4, n_embd=C))
    x = torch.randint(V, (B, T))
    weights = sum(p.numel() for name, p in model.named_parameters() if p.ndim == 2 and not name.startswith("wpe"))
    expected = 6 * weights * B * T + 12 * L * C * T * B * T
    assert count_flops(lambda: model(x, x)[1].backward()) == expected


def test_matmul_peak_is_positive_cached_and_per_math_mode():
    first = matmul_peak_flops("cpu")
    assert first > 1e8 and matmul_peak_flops("cpu") == first
    assert matmul_peak_flops("cpu", fresh=True) > 1e8
    assert matmul_peak_flops("cpu", "bf16") > 1e8
    with pytest.raises(ValueError, match="mode"):
        matmul_peak_flops("cpu", "fp8")


def test_math_mode_names_the_arithmetic_really_used():
    assert math_mode("cpu") == "fp32" and math_mode("cpu", "bf16") == "bf16"
    before = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        assert math_mode("cuda") == "tf32" and math_mode("cpu") == "fp32"
        torch.backends.cuda.matmul.allow_tf32 = False
        assert math_mode("cuda") == "fp32"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    model, get_batch = make_problem()
    assert train(model, mse, get_batch, steps=3, precision="bf16", progress=False).math_mode == "bf16"


def test_weight_average_is_a_fused_moving_average_run_after_each_step():
    model, get_batch = make_problem()
    average = WeightAverage(model, decay=0.9)
    start = [p.clone() for p in average.model.parameters()]
    seen = []
    train(model, mse, get_batch, steps=1, lr=1e-2, progress=False,
          on_step=lambda step, m: (seen.append(step), average(step, m)))
    assert seen == [0] and not any(p.requires_grad for p in average.model.parameters())
    for a, s, p in zip(average.model.parameters(), start, model.parameters()):
        torch.testing.assert_close(a, 0.9 * s + 0.1 * p)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, decay=1.0)


def test_lr_schedule_warms_up_then_decays():
    values = [lr_at(s, lr=1.0, steps=100, warmup=10) for s in range(100)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[10:], values[11:]))
    assert values[-1] == pytest.approx(0.1, abs=0.01)


def test_batch_sampler_is_a_function_of_the_step():
    x = torch.arange(100)
    get = batch_sampler(x, batch_size=10, seed=4)
    assert torch.equal(get(7)[0], get(7)[0]) and not torch.equal(get(7)[0], get(8)[0])


def test_bad_arguments_are_named(tmp_path):
    model, get_batch = make_problem()
    with pytest.raises(ValueError, match="steps"):
        train(model, mse, get_batch, steps=0)
    with pytest.raises(ValueError, match="warmup"):
        lr_at(0, lr=1.0, steps=10, warmup=20)
    with pytest.raises(ValueError, match="same length"):
        batch_sampler(torch.zeros(3), torch.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        batch_sampler(torch.zeros(3), batch_size=0)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        load_checkpoint(tmp_path / "none.pt", model)
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "notes.pt", model)


@pytest.mark.parametrize("kwargs, words", [
    ({"clip": -1.0}, "clip"), ({"weight_decay": -0.1}, "weight_decay"), ({"lr": 0.0}, "lr"),
    ({"warmup": 50}, "warmup"), ({"eval_every": 0}, "eval_every"), ({"betas": (0.9,)}, "betas"),
    ({"steps": 2.5}, "steps"),
])
def test_train_refuses_numbers_that_would_train_wrongly(kwargs, words):
    model, get_batch = make_problem()
    with pytest.raises(ValueError, match=words):
        train(model, mse, get_batch, **{"steps": 10, "progress": False, **kwargs})


def test_train_names_callables_and_losses_that_are_not_what_it_needs():
    model, get_batch = make_problem()
    with pytest.raises(TypeError, match="get_batch must be a function"):
        train(model, mse, (torch.zeros(2),), steps=2, progress=False)
    with pytest.raises(TypeError, match="model must be"):
        train("model", mse, get_batch, steps=2, progress=False)
    per_sample = lambda m, b: ((m(b[0]) - b[1]) ** 2).squeeze(1)
    with pytest.raises(ValueError, match="one number"):
        train(model, per_sample, get_batch, steps=2, progress=False)


def test_diverging_loss_is_reported():
    model, get_batch = make_problem()
    with pytest.raises(FloatingPointError, match="lr"):
        train(model, lambda m, b: mse(m, b) * float("nan"), get_batch, steps=3, progress=False)


def test_history_defaults():
    assert History().loss == [] and History().mfu == 0.0


def test_bf16_autocast_trains_and_compile_really_compiles():
    import torch._dynamo.utils

    model, get_batch = make_problem()
    history = train(model, mse, get_batch, steps=300, lr=1e-2, warmup=20, precision="bf16", progress=False)
    assert sum(history.loss[-20:]) < 0.3 * sum(history.loss[:20])
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    model, get_batch = make_problem()
    eager_model, _ = make_problem()
    model[2].p = eager_model[2].p = 0.0  # compiled code draws its dropout masks from another generator
    compiled = train(model, mse, get_batch, steps=5, lr=1e-2, compile=True, progress=False)
    eager = train(eager_model, mse, get_batch, steps=5, lr=1e-2, progress=False)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1, "torch.compile captured no graph"
    assert compiled.flops_per_step == eager.flops_per_step > 0
    for a, b in zip(model.parameters(), eager_model.parameters()):
        assert torch.allclose(a, b, atol=1e-5)


def test_crop_to_targets_cuts_after_the_last_target_of_any_row():
    from utils.train import crop_to_targets

    x = torch.arange(12).view(2, 6)
    y = torch.tensor([[1, 2, -1, -1, -1, -1], [1, -1, 3, 4, -1, -1]])
    cropped = crop_to_targets(lambda step: (x, y, "extra"))(0)
    assert torch.equal(cropped[0], x[:, :4]) and torch.equal(cropped[1], y[:, :4]) and cropped[2] == "extra"
    empty = crop_to_targets(lambda step: (x, torch.full_like(y, -1)))(0)
    assert empty[0].shape == (2, 1)


def test_datasheet_peak_of_this_cpu_is_cores_times_clock_times_simd_width():
    from utils import flops
    peak = flops.datasheet_peak_flops("cpu")
    if peak is None:
        pytest.skip("this machine does not say its clock or its CPU flags")
    flags, mhz = flops._cpu_flags(), flops._cpu_mhz()
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    assert peak.flops == pytest.approx(min(torch.get_num_threads(), os.cpu_count()) * mhz * 1e6 * per_cycle)
    assert "GHz" in peak.basis
    assert flops.datasheet_peak_flops("cpu", "bf16") is None  # not stated for a CPU
    with pytest.raises(ValueError, match="mode must be one of"):
        flops.datasheet_peak_flops("cpu", "fp64")


def test_datasheet_peak_of_a_gpu_is_read_by_name(monkeypatch):
    from utils import flops
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 PCIe")
    assert flops.datasheet_peak_flops("cuda", "bf16").flops == 756e12  # not the SXM's 989.4
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA L40S")
    assert flops.datasheet_peak_flops("cuda", "tf32").flops == 183e12  # not the L4's
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    assert flops.datasheet_peak_flops("cuda", "tf32") is None  # a T4 has no TF32
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Some Future GPU")
    assert flops.datasheet_peak_flops("cuda", "fp32") is None
