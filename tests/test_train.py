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


# ---- The loop written out: a changed operator, constant or argument in train() changes a number compared here.
import math  # noqa: E402

from utils import train as T  # noqa: E402


def _plain_problem(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    x, y = torch.randn(64, 3), torch.randn(64, 2)
    return model, x, y


def _lr(step, lr, steps, warmup, min_ratio):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _train_by_hand(model, x, y, steps, lr, warmup, min_ratio, weight_decay, clip, betas, batch, seed):
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    vectors = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": matrices, "weight_decay": weight_decay},
                             {"params": vectors, "weight_decay": 0.0}], lr=lr, betas=betas)
    losses, lrs = [], []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, lr, steps, warmup, min_ratio)
        index = torch.randint(len(x), (batch,), generator=torch.Generator().manual_seed(seed * 1_000_003 + step))
        loss = torch.nn.functional.mse_loss(model(x[index]), y[index])
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
    return losses, lrs


@pytest.mark.parametrize("clip", [0.05, None])
def test_train_is_adamw_with_warmup_cosine_and_clipping_written_out(clip):
    args = dict(steps=9, lr=0.05, warmup=3, min_ratio=0.2, weight_decay=0.5, clip=clip, betas=(0.8, 0.95))
    model, x, y = _plain_problem()
    hand, _, _ = _plain_problem()
    losses, lrs = _train_by_hand(hand, x, y, batch=16, seed=2, **args)
    history = train(model, mse, batch_sampler(x, y, batch_size=16, seed=2), steps=9, lr=0.05, warmup=3,
                    min_lr_ratio=0.2, weight_decay=0.5, clip=clip, betas=(0.8, 0.95), progress=False)
    assert history.loss == pytest.approx(losses, rel=1e-5) and history.lr == pytest.approx(lrs, rel=1e-12)
    for a, b in zip(model.parameters(), hand.parameters()):
        torch.testing.assert_close(a, b)


def test_train_defaults():
    model, x, y = _plain_problem()
    hand, _, _ = _plain_problem()
    losses, lrs = _train_by_hand(hand, x, y, steps=4, lr=1e-3, warmup=0, min_ratio=0.1, weight_decay=0.0, clip=1.0,
                                 betas=(0.9, 0.99), batch=8, seed=0)
    history = train(model, mse, batch_sampler(x, y, batch_size=8), steps=4, progress=False)
    assert history.loss == pytest.approx(losses, rel=1e-5) and history.lr == pytest.approx(lrs, rel=1e-12)
    for a, b in zip(model.parameters(), hand.parameters()):
        torch.testing.assert_close(a, b)
    assert history.math_mode == "fp32" and history.evals == [] and model.training


def test_lr_at_is_the_formula():
    for step in range(12):
        assert lr_at(step, lr=0.3, steps=10, warmup=4, min_ratio=0.25) == pytest.approx(_lr(step, 0.3, 10, 4, 0.25))
        assert lr_at(step, lr=2.0, steps=10) == pytest.approx(_lr(step, 2.0, 10, 0, 0.1))
    assert lr_at(0, lr=1.0, steps=5, warmup=5) == pytest.approx(0.2)  # warm-up may take the whole run
    assert lr_at(4, lr=1.0, steps=5, warmup=5) == pytest.approx(1.0)
    assert lr_at(0, lr=1.0, steps=1, min_ratio=0.0) == 1.0 and lr_at(3, lr=1.0, steps=1, min_ratio=1.0) == 1.0


def test_batch_sampler_draws_the_rows_of_its_seed_and_step():
    x, y = torch.arange(50), torch.arange(50) * 10
    for seed in (0, 3):
        get = batch_sampler(x, y, batch_size=7, seed=seed)
        for step in (0, 5):
            index = torch.randint(50, (7,), generator=torch.Generator().manual_seed(seed * 1_000_003 + step))
            bx, by = get(step)
            assert torch.equal(bx, x[index]) and torch.equal(by, y[index])
    assert torch.equal(batch_sampler(x, batch_size=7)(2)[0], batch_sampler(x, batch_size=7, seed=0)(2)[0])
    assert len(batch_sampler(x, batch_size=1)(0)[0]) == 1


def test_crop_to_targets_reads_its_ignore_index():
    x = torch.arange(10).view(2, 5)
    y = torch.tensor([[1, 0, 0, 0, 0], [1, 2, 3, 0, 0]])
    cropped = T.crop_to_targets(lambda step: (x, y), ignore_index=0)(0)
    assert torch.equal(cropped[0], x[:, :3]) and torch.equal(cropped[1], y[:, :3])


def test_evaluations_run_in_eval_mode_without_gradients_every_so_often_and_at_the_end():
    model, x, y = _plain_problem()
    seen = []

    def evaluate(m):
        seen.append((m.training, torch.is_grad_enabled()))
        return {"probe": torch.tensor(2.5), "n": len(seen)}

    history = train(model, mse, batch_sampler(x, y, batch_size=8), steps=7, eval_every=3, evaluate=evaluate,
                    progress=False)
    assert history.evals == [{"step": 3, "probe": 2.5, "n": 1.0}, {"step": 6, "probe": 2.5, "n": 2.0},
                             {"step": 7, "probe": 2.5, "n": 3.0}]
    assert all(type(v) is float for e in history.evals for k, v in e.items() if k != "step")
    assert seen == [(False, False)] * 3 and model.training
    assert history.metric("n") == ([3, 6, 7], [1.0, 2.0, 3.0])
    # a run stopped early evaluates where it stopped, when it has something to evaluate
    stopped = train(model, mse, batch_sampler(x, y, batch_size=8), steps=7, stop_after=2, evaluate=evaluate,
                    progress=False)
    assert [e["step"] for e in stopped.evals] == [2] and len(stopped.loss) == 2
    assert train(model, mse, batch_sampler(x, y, batch_size=8), steps=7, stop_after=2, progress=False).evals == []


def test_on_step_runs_after_each_step_without_gradients():
    model, x, y = _plain_problem()
    seen = []
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=3, progress=False,
          on_step=lambda step, m: seen.append((step, m is model, torch.is_grad_enabled())))
    assert seen == [(0, True, False), (1, True, False), (2, True, False)]


def test_checkpoints_are_saved_every_so_often_and_at_the_end(tmp_path, monkeypatch):
    model, x, y = _plain_problem()
    saved = []
    real_save = T.save_checkpoint
    monkeypatch.setattr(T, "save_checkpoint", lambda path, m, opt, step, h: (saved.append((step, len(h.loss))),
                                                                              real_save(path, m, opt, step, h)))
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=7, checkpoint=tmp_path / "c.pt", checkpoint_every=3,
          progress=False)
    assert saved == [(3, 3), (6, 6), (7, 7)]
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["step"] == 7 and len(state["history"]["loss"]) == 7
    assert set(state) == {"model", "optimizer", "step", "rng", "cuda_rng", "history"}
    saved.clear()
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=7, checkpoint_every=3, progress=False)
    assert saved == []  # no path, nothing saved


def test_the_closing_line_says_what_ran(capsys, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    model, x, y = _plain_problem()
    history = train(model, mse, batch_sampler(x, y, batch_size=8), steps=4, evaluate=lambda m: {"probe": 0.125},
                    progress=True)
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out == (f"trained steps 0-4 of 4 in {history.seconds:.1f} s; final loss {history.loss[-1]:.4f}; "
                   "probe 0.125")
    plain = train(model, mse, batch_sampler(x, y, batch_size=8), steps=2, progress=True)
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f"trained steps 0-2 of 2 in {plain.seconds:.1f} s; final loss {plain.loss[-1]:.4f}")  # nothing evaluated
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=2, progress=False)
    assert capsys.readouterr().out == ""


def test_each_run_is_logged_for_the_chapter_clock():
    from utils.flops import RUNS

    model, x, y = _plain_problem()
    before = len(RUNS)
    history = train(model, mse, batch_sampler(x, y, batch_size=8), steps=5, progress=False)
    assert len(RUNS) == before + 1 and RUNS[-1]["steps"] == 5
    assert RUNS[-1]["seconds"] == pytest.approx(history.seconds * 5 / 4)  # four timed steps, scaled to five
    assert 0 < history.mfu


def _message(call, error=ValueError):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


_M, _X, _Y = _plain_problem()
_GET = batch_sampler(_X, _Y, batch_size=4)
TRAIN_MESSAGES = [
    (dict(steps=0), "steps must be an int of at least 1, got 0"),
    (dict(steps=True), "steps must be an int of at least 1, got True"),
    (dict(warmup=-1), "warmup must be an int of at least 0, got -1"),
    (dict(warmup=6), "warmup must be at most steps=5, got 6"),
    (dict(eval_every=0), "eval_every must be an int of at least 1, got 0"),
    (dict(checkpoint_every=0), "checkpoint_every must be an int of at least 1, got 0"),
    (dict(stop_after=0.5), "stop_after must be an int of at least 1, got 0.5"),
    (dict(lr=0.0), "lr must be a finite number > 0.0, got 0.0"),
    (dict(lr=float("inf")), "lr must be a finite number > 0.0, got inf"),
    (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0.0, got -0.1"),
    (dict(weight_decay=True), "weight_decay must be a finite number >= 0.0, got True"),
    (dict(clip=0.0), "clip must be a finite number > 0.0, got 0.0"),
    (dict(min_lr_ratio=-0.5), "min_lr_ratio must be a finite number >= 0.0, got -0.5"),
    (dict(betas=(0.9, 1.0)), "betas must be two numbers in [0, 1), got (0.9, 1.0)"),
    (dict(betas=(-0.1, 0.9)), "betas must be two numbers in [0, 1), got (-0.1, 0.9)"),
    (dict(betas=(0.9,)), "betas must be two numbers in [0, 1), got (0.9,)"),
    (dict(betas=0.9), "betas must be two numbers in [0, 1), got 0.9"),
    (dict(precision="fp16"), "precision must be one of ('fp32', 'bf16'), got 'fp16'"),
]


@pytest.mark.parametrize("kwargs, message", TRAIN_MESSAGES, ids=[m[:40] for _, m in TRAIN_MESSAGES])
def test_train_names_each_bad_number_whole(kwargs, message):
    assert _message(lambda: train(_M, mse, _GET, **{"steps": 5, "progress": False, **kwargs})) == message


def test_train_accepts_the_edges_of_its_ranges():
    model, x, y = _plain_problem()
    train(model, mse, batch_sampler(x, y, batch_size=4), steps=2, warmup=2, weight_decay=0.0, clip=None,
          min_lr_ratio=0.0, betas=[0.0, 0.0],
          eval_every=1, checkpoint_every=1, stop_after=1, progress=False)


def test_train_messages_for_what_is_not_a_model_function_or_loss():
    assert _message(lambda: train("m", mse, _GET, steps=1), TypeError) == "model must be a torch.nn.Module, got str"
    assert _message(lambda: train(_M, None, _GET, steps=1), TypeError) == "loss_fn must be a function, got NoneType"
    assert _message(lambda: train(_M, mse, [1], steps=1), TypeError) == (
        "get_batch must be a function (a function step -> batch, such as batch_sampler(...)), got list")
    assert _message(lambda: train(_M, mse, _GET, steps=1, evaluate=3), TypeError) == \
        "evaluate must be a function, got int"
    assert _message(lambda: train(_M, mse, _GET, steps=1, on_step="x"), TypeError) == \
        "on_step must be a function, got str"
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    assert _message(lambda: train(frozen, mse, _GET, steps=1)) == \
        "model has no parameters that require gradients: there is nothing to train"
    model = _plain_problem()[0]  # the calls below run a step: a model of their own
    assert _message(lambda: train(model, lambda m, b: torch.zeros(3), _GET, steps=1, progress=False)) == (
        "loss_fn must return the batch's loss as one number (a scalar tensor), got (3,); average a per-sample loss "
        "with .mean()")
    assert _message(lambda: train(model, lambda m, b: 0.5, _GET, steps=1, progress=False)) == (
        "loss_fn must return the batch's loss as one number (a scalar tensor), got float; average a per-sample "
        "loss with .mean()")
    assert _message(lambda: train(model, mse, _GET, steps=2, evaluate=lambda m: [1.0], progress=False), TypeError) \
        == "evaluate must return a dict of name -> number, got list"
    assert _message(lambda: train(model, lambda m, b: mse(m, b) * float("inf"), _GET, steps=3, progress=False),
                    FloatingPointError) == "the loss became inf at step 0; try a lower lr or gradient clipping"


def test_helpers_name_their_bad_arguments_whole():
    assert _message(lambda: lr_at(0, lr=1.0, steps=10, warmup=11)) == \
        "warmup must be an int between 0 and steps=10, got 11"
    assert _message(lambda: lr_at(0, lr=1.0, steps=10, warmup=-1)) == \
        "warmup must be an int between 0 and steps=10, got -1"
    assert _message(lambda: lr_at(0, lr=1.0, steps=10, warmup=2.0)) == \
        "warmup must be an int between 0 and steps=10, got 2.0"
    assert _message(lambda: lr_at(0, lr=1.0, steps=10, warmup=True)) == \
        "warmup must be an int between 0 and steps=10, got True"
    assert _message(lambda: batch_sampler(batch_size=2)) == "batch_sampler needs at least one tensor"
    assert _message(lambda: batch_sampler(torch.zeros(3), [1, 2], batch_size=2), TypeError) == \
        "tensors must be tensors with one row per example, but tensors[1] is list"
    assert _message(lambda: batch_sampler(torch.zeros(3), torch.zeros(4), batch_size=2)) == \
        "tensors must have the same length, got [3, 4]"
    assert _message(lambda: History().metric(3), TypeError) == "name must be a metric's name (a str), got 3"
    h = History(evals=[{"step": 1, "a": 1.0, "b": 2.0}])
    assert _message(lambda: h.metric("c"), KeyError) == "\"no evaluations of 'c'; evaluated metrics: ['a', 'b']\""


def test_history_starts_empty():
    h = History()
    assert (h.loss, h.lr, h.evals, h.seconds, h.flops_per_step, h.mfu, h.math_mode) == ([], [], [], 0.0, 0.0, 0.0, "")


def test_weight_average_defaults_and_messages():
    model = torch.nn.Linear(2, 2)
    average = WeightAverage(model)
    assert average.decay == 0.99 and type(average.decay) is float
    WeightAverage(model, decay=0)  # 0 allowed: a copy of the last weights
    assert _message(lambda: WeightAverage(model, decay=-0.1)) == "decay must be a number in [0, 1), got -0.1"
    assert _message(lambda: WeightAverage(model, decay=True)) == "decay must be a number in [0, 1), got True"
    assert _message(lambda: WeightAverage("m"), TypeError) == "model must be a torch.nn.Module, got str"
    assert _message(lambda: average(0, None), TypeError) == \
        "model must be the model being trained (a torch.nn.Module), got NoneType"
    assert _message(lambda: average(0, torch.nn.Linear(3, 2))) == (
        "model must be the model this average was made from: its weights are shaped [(2, 2), (2,)], model's "
        "[(2, 3), (2,)]")
    assert _message(lambda: average(0, torch.nn.Sequential(model, torch.nn.Linear(2, 2)))).startswith(
        "model must be the model this average was made from")


def test_checkpoint_functions_name_their_bad_arguments(tmp_path):
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "c.pt"
    assert _message(lambda: T.save_checkpoint(3, model, opt, 0, History()), TypeError) == \
        "path must be a file path (str or Path), got int"
    assert _message(lambda: T.save_checkpoint(path, "m", opt, 0, History()), TypeError) == \
        "model must be a torch.nn.Module, got str"
    assert _message(lambda: T.save_checkpoint(path, model, None, 0, History()), TypeError) == \
        "optimizer must be a torch optimizer, got NoneType"
    assert _message(lambda: T.save_checkpoint(path, model, opt, -1, History())) == "step must be an int >= 0, got -1"
    assert _message(lambda: T.save_checkpoint(path, model, opt, 0, {}), TypeError) == \
        "history must be a History (from train), got dict"
    assert _message(lambda: load_checkpoint(None, model), TypeError) == \
        "path must be a file path (str or Path), got NoneType"
    assert _message(lambda: load_checkpoint(path, "m"), TypeError) == "model must be a torch.nn.Module, got str"
    assert _message(lambda: load_checkpoint(path, model), FileNotFoundError) == f"no checkpoint at {path}"
    torch.save({"model": model.state_dict()}, path)
    assert _message(lambda: load_checkpoint(path, model)) == (
        f"{path} is not a checkpoint written by utils.train.save_checkpoint (it lacks the model, step, rng or history)")
    # saved and loaded: the weights, the optimizer's state, the step, the history and the random state come back
    T.save_checkpoint(str(path), model, opt, 4, History(loss=[1.0, 0.5]))
    after = torch.rand(3)
    other = torch.nn.Linear(2, 2)
    step, history = load_checkpoint(path, other)
    assert step == 4 and history.loss == [1.0, 0.5] and torch.equal(torch.rand(3), after)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters()))


def test_lr_at_with_one_step_after_the_warm_up_ends_at_the_floor():
    assert lr_at(2, lr=1.0, steps=2, warmup=1) == pytest.approx(0.1)  # (2 - 1) / (2 - 1): the cosine's end
    assert lr_at(1, lr=1.0, steps=2, warmup=1) == pytest.approx(1.0)


def test_train_defaults_show_progress_and_do_not_compile():
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(train).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults == {"lr": 1e-3, "warmup": 0, "min_lr_ratio": 0.1, "weight_decay": 0.0, "clip": 1.0,
                        "betas": (0.9, 0.99), "evaluate": None, "eval_every": None, "checkpoint": None,
                        "checkpoint_every": None, "stop_after": None, "progress": True, "precision": "fp32",
                        "compile": False, "on_step": None}


@pytest.mark.parametrize("progress, quiet_env, bar", [(True, None, True), (False, None, False), (True, "1", False)])
def test_the_progress_bar_shows_only_when_asked_and_not_silenced(capsys, monkeypatch, progress, quiet_env, bar):
    if quiet_env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", quiet_env)
    model, x, y = _plain_problem()
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=3, progress=progress)
    captured = capsys.readouterr()
    assert ("it/s" in captured.err) == bar, captured.err
    assert ("trained steps 0-3 of 3" in captured.out) == progress


def test_a_run_split_over_two_processes_trains_on_its_share_of_each_batch(monkeypatch):
    # Rank 0 of two, faked: DistributedDataParallel wraps the model (here: recorded, and the model itself), each
    # batch is cut to this rank's first half, and the loss is averaged over the ranks (here: itself).
    from utils import distributed

    wrapped = []
    monkeypatch.setattr(distributed, "active", lambda: True)
    monkeypatch.setattr(distributed, "rank", lambda: 0)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    monkeypatch.setattr(distributed, "mean", lambda loss: loss)  # one process: its own loss is the mean
    monkeypatch.setattr(T, "DistributedDataParallel", lambda model, device_ids: wrapped.append((model, device_ids))
                        or model)
    model, x, y = _plain_problem()
    hand, _, _ = _plain_problem()
    history = train(model, mse, batch_sampler(x, y, batch_size=8), steps=3, lr=0.05, progress=False)
    assert wrapped == [(model, None)]  # no device ids on a CPU
    opt = torch.optim.AdamW([{"params": [p for p in hand.parameters() if p.ndim >= 2], "weight_decay": 0.0},
                             {"params": [p for p in hand.parameters() if p.ndim < 2], "weight_decay": 0.0}],
                            lr=0.05, betas=(0.9, 0.99))
    for step in range(3):
        for group in opt.param_groups:
            group["lr"] = _lr(step, 0.05, 3, 0, 0.1)
        bx, by = batch_sampler(x, y, batch_size=8)(step)
        loss = torch.nn.functional.mse_loss(hand(bx[:4]), by[:4])  # rank 0's four rows of eight
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(hand.parameters(), 1.0)
        opt.step()
        assert history.loss[step] == pytest.approx(loss.item(), rel=1e-5)
    for a, b in zip(model.parameters(), hand.parameters()):
        torch.testing.assert_close(a, b)


def test_crop_to_targets_passes_the_step_on():
    x = torch.arange(12).view(2, 6)
    y = torch.tensor([[1, 2, -1, -1, -1, -1], [1, -1, 3, 4, -1, -1]])
    steps = []
    T.crop_to_targets(lambda step: (steps.append(step), (x, y))[1])(7)
    assert steps == [7]


def test_checkpoints_of_the_older_format_and_the_minimal_one_load(tmp_path):
    model = torch.nn.Linear(2, 2)
    state = {"model": model.state_dict(), "step": 3, "rng": torch.get_rng_state(), "history": {"loss": [0.5]}}
    torch.save(state, tmp_path / "old.pt")  # one random state, not a list; no optimizer, no cuda_rng
    expected = torch.rand(2)
    torch.set_rng_state(torch.zeros_like(torch.get_rng_state()) + torch.get_rng_state())  # moved on
    torch.rand(5)
    step, history = load_checkpoint(tmp_path / "old.pt", torch.nn.Linear(2, 2))
    assert step == 3 and history.loss == [0.5] and torch.equal(torch.rand(2), expected)


class _NotATensor:
    pass


def test_a_checkpoint_is_read_with_weights_only(tmp_path):
    model = torch.nn.Linear(2, 2)
    torch.save({"model": model.state_dict(), "step": 0, "rng": [torch.get_rng_state()], "history": {},
                "extra": _NotATensor()}, tmp_path / "odd.pt")
    assert _message(lambda: load_checkpoint(tmp_path / "odd.pt", model)).startswith(
        f"{tmp_path / 'odd.pt'} is not a checkpoint written by utils.train.save_checkpoint: ")


def test_more_whole_messages(tmp_path):
    assert _message(lambda: train(_M, mse, None, steps=1), TypeError) == (
        "get_batch must be a function (a function step -> batch, such as batch_sampler(...)), got NoneType")
    assert _message(lambda: train(_M, mse, _GET, steps=None)) == "steps must be an int of at least 1, got None"
    assert _message(lambda: train(_M, mse, _GET, steps=2, lr=None)) == "lr must be a finite number > 0.0, got None"
    assert _message(lambda: lr_at(0, lr=1.0, steps=0)) == "steps must be an int >= 1, got 0"
    assert _message(lambda: lr_at(-1, lr=1.0, steps=3)) == "step must be an int >= 0, got -1"
    assert _message(lambda: lr_at(0, lr=0.0, steps=3)) == "lr must be a finite number > 0, got 0.0"
    assert _message(lambda: lr_at(0, lr=1.0, steps=3, min_ratio=-0.5)) == \
        "min_ratio must be a finite number in [0, 1], got -0.5"
    assert _message(lambda: batch_sampler(torch.zeros(3), batch_size=0)) == "batch_size must be an int >= 1, got 0"
    assert _message(lambda: batch_sampler(torch.zeros(3), batch_size=2, seed=-1)) == "seed must be an int >= 0, got -1"
    assert _message(lambda: T.crop_to_targets(3), TypeError) == \
        "get_batch must be a function step -> batch, such as batch_sampler(...), got int"
    assert _message(lambda: T.crop_to_targets(_GET, ignore_index=0.5)) == "ignore_index must be an int, got 0.5"
    assert _message(lambda: WeightAverage(torch.nn.Linear(1, 1), decay="0.5")) == \
        "decay must be a number in [0, 1), got '0.5'"
    model = torch.nn.Linear(2, 2)
    assert _message(lambda: T.save_checkpoint(tmp_path / "c.pt", model, 3, 0, History()), TypeError) == \
        "optimizer must be a torch optimizer, got int"
    assert _message(lambda: load_checkpoint(3, model), TypeError) == "path must be a file path (str or Path), got int"


def test_by_default_a_run_reports_and_is_not_compiled(capsys, monkeypatch):
    import torch._dynamo.utils

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    torch._dynamo.utils.counters.clear()
    model, x, y = _plain_problem()
    train(model, mse, batch_sampler(x, y, batch_size=8), steps=2)
    assert "trained steps 0-2 of 2" in capsys.readouterr().out
    assert not torch._dynamo.utils.counters["stats"]["unique_graphs"]


def test_bf16_runs_the_loss_under_autocast_and_fp32_does_not():
    model, x, y = _plain_problem()
    seen = []

    def loss(m, batch):
        seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16)
        return mse(m, batch)

    train(model, loss, batch_sampler(x, y, batch_size=8), steps=2, precision="bf16", progress=False)
    train(model, loss, batch_sampler(x, y, batch_size=8), steps=2, progress=False)
    assert seen == [True] * 2 + [False] * 2


def test_timed_returns_the_result_and_the_seconds_it_took(monkeypatch):
    from utils import flops

    clock = iter([10.0, 12.5])
    monkeypatch.setattr(flops.time, "perf_counter", lambda: next(clock))
    waited = []
    monkeypatch.setattr(flops.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(flops.torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(flops, "synchronize", lambda device: waited.append(str(device)))
    assert flops.timed(lambda a, b=0: a + b, 1, b=2) == (3, 2.5)
    assert waited == ["cuda:0", "cuda:1"]  # every GPU's queued work, before the clock is read


def test_keep_best_keeps_the_weights_of_the_lowest_value():
    model = torch.nn.Linear(2, 1)
    values = iter([3.0, 1.0, 2.0])
    keep = T.KeepBest("loss", lambda m: next(values))
    for shift in range(3):
        with torch.no_grad():
            model.bias.fill_(float(shift))
        assert keep(model) == {"loss": [3.0, 1.0, 2.0][shift]}
    assert keep.value == 1.0
    assert keep.restore(model).bias.item() == 1.0 and not model.training
