"""The book's one training loop, as a plain function a reader can follow top to bottom.

``train(model, loss_fn, get_batch, steps=...)`` runs AdamW with a warm-up + cosine
learning-rate schedule and gradient clipping, keeps a history of losses and
evaluations, saves and resumes checkpoints, and counts the FLOPs of one step so it
can say how much of the machine's measured matrix-multiply speed the model used
(see :mod:`utils.flops`).

The model must already be on the profile's device (:func:`utils.device.check_device`):
the loop takes its device from the model, moves each batch there, and reads the loss
back to the host only every ``LOG_EVERY`` steps, so a GPU never waits on Python.

The same function trains on many processes: started by ``torchrun`` (see
:mod:`utils.distributed`), it wraps the model in ``DistributedDataParallel``, gives each
process its slice of every batch, and leaves the progress bar, evaluations and
checkpoints to rank 0. ``precision="bf16"`` and ``compile=True`` are its two speed options.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from . import distributed
from .device import check_device, to_device
from .flops import RUNS, count_flops, math_mode, matmul_peak_flops, synchronize
from .validate import check_callable, check_int, check_number, describe

PRECISIONS = ("fp32", "bf16")
LOG_EVERY = 25  # steps between reads of the loss on the host (each read waits for the device)


@dataclass
class History:
    """What a run leaves behind: one loss and learning rate per step, evaluations."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)  # [{"step": s, name: value, ...}]
    seconds: float = 0.0  # wall time of training steps (evaluations excluded)
    flops_per_step: float = 0.0  # forward + backward, counted on one real step
    mfu: float = 0.0  # model FLOPs utilisation against the measured matmul speed in math_mode
    math_mode: str = ""  # the arithmetic the steps used: fp32, tf32 or bf16 (utils.flops.math_mode)

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """The steps and values of one evaluated metric, ready to plot."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a metric's name (a str), got {name!r}")
        rows = [e for e in self.evals if name in e]
        if not rows:
            known = sorted({k for e in self.evals for k in e} - {"step"})
            raise KeyError(f"no evaluations of {name!r}; evaluated metrics: {known}")
        return [e["step"] for e in rows], [e[name] for e in rows]


def lr_at(step: int, *, lr: float, steps: int, warmup: int = 0, min_ratio: float = 0.1) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to ``min_ratio * lr``."""
    check_int(steps, "steps", 1)
    check_int(step, "step", 0)
    check_number(lr, "lr", 0.0, low_open=True)
    check_number(min_ratio, "min_ratio", 0.0, 1.0)
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or not 0 <= warmup <= steps:
        raise ValueError(f"warmup must be an int between 0 and steps={steps}, got {warmup!r}")
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return lr * (min_ratio + (1 - min_ratio) * cosine)


def batch_sampler(*tensors: torch.Tensor, batch_size: int, seed: int = 0) -> Callable:
    """A function ``step -> batch`` drawing ``batch_size`` random rows of ``tensors``.

    The rows of step ``s`` depend only on ``(seed, s)``, so a resumed run sees exactly
    the batches an uninterrupted one would have seen.
    """
    if not tensors:
        raise ValueError("batch_sampler needs at least one tensor")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensors must be tensors with one row per example, but tensors[{i}] is {describe(t)}")
    check_int(batch_size, "batch_size", 1)
    check_int(seed, "seed", 0)
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"tensors must have the same length, got {[len(t) for t in tensors]}")

    def get_batch(step: int):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        index = torch.randint(n, (batch_size,), generator=gen)
        return tuple(t[index] for t in tensors)

    return get_batch


def crop_to_targets(get_batch: Callable, ignore_index: int = -1) -> Callable:
    """Wrap ``get_batch`` (of ``(x, y, ...)`` row batches) to cut each batch after the last
    column where some row of ``y`` has a target (not ``ignore_index``): rows padded to the
    longest possible text then cost only as much as the longest text in the batch."""
    check_callable(get_batch, "get_batch", "a function step -> batch, such as batch_sampler(...)")
    check_int(ignore_index, "ignore_index")

    def cropped(step: int):
        x, y, *rest = get_batch(step)
        filled = (y != ignore_index).nonzero()
        n = int(filled[:, 1].max()) + 1 if len(filled) else 1
        return (x[:, :n], y[:, :n], *rest)

    return cropped


def _check_count(name: str, value, minimum: int = 1, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int of at least {minimum}, got {value!r}")


def _check_number(name: str, value, low: float = 0.0, optional: bool = False, strict: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < low or (strict and value == low):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {value!r}")


def train(
    model: torch.nn.Module,
    loss_fn: Callable,
    get_batch: Callable,
    *,
    steps: int,
    lr: float = 1e-3,
    warmup: int = 0,
    min_lr_ratio: float = 0.1,
    weight_decay: float = 0.0,
    clip: float | None = 1.0,
    betas: tuple[float, float] = (0.9, 0.99),
    evaluate: Callable | None = None,
    eval_every: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    precision: str = "fp32",
    compile: bool = False,
    on_step: Callable | None = None,
) -> History:
    """Train ``model`` for ``steps`` steps and return its :class:`History`.

    ``loss_fn(model, batch)`` returns the scalar loss of one batch; ``get_batch(step)``
    returns the batch of that step (see :func:`batch_sampler`), which the loop moves to the
    model's device. ``evaluate(model)``, if given, returns a dict of numbers and runs every
    ``eval_every`` steps and at the end, in eval mode without gradients. With ``checkpoint``
    a path, the run resumes from it when it exists and saves to it every ``checkpoint_every``
    steps and at the end. ``progress=False`` hides the progress bar and the closing summary
    line. ``stop_after`` ends the run early (as an interruption would) without changing the
    schedule, so that a resumed run continues exactly where it stopped. ``on_step(step,
    model)`` runs after each optimizer step, without gradients: the place for a moving
    average of the weights (:class:`WeightAverage`).

    ``precision="bf16"`` runs the forward pass and the loss under bfloat16 autocast (the
    weights and the optimizer stay in float32); ``compile=True`` runs the model through
    ``torch.compile``. Under ``torchrun`` each process computes the loss on its slice of
    ``get_batch(step)`` (which must divide evenly among them), ``DistributedDataParallel``
    averages the gradients, and the history holds the loss averaged over all processes.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, fn in (("loss_fn", loss_fn), ("get_batch", get_batch), ("evaluate", evaluate), ("on_step", on_step)):
        required = name in ("loss_fn", "get_batch")
        if (fn is not None or required) and not callable(fn):
            hint = " (a function step -> batch, such as batch_sampler(...))" if name == "get_batch" else ""
            raise TypeError(f"{name} must be a function{hint}, got {type(fn).__name__}")
    _check_count("steps", steps)
    _check_count("warmup", warmup, 0)
    if warmup > steps:
        raise ValueError(f"warmup must be at most steps={steps}, got {warmup}")
    for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every), ("stop_after", stop_after)):
        _check_count(name, value, optional=True)
    _check_number("lr", lr, strict=True)
    _check_number("weight_decay", weight_decay)
    _check_number("clip", clip, strict=True, optional=True)
    _check_number("min_lr_ratio", min_lr_ratio)
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2 and all(0 <= b < 1 for b in betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters that require gradients: there is nothing to train")
    device = check_device(model)  # before any work: a model left on the CPU beside a GPU is an error
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=tuple(betas), fused=True,
    )
    history, start = History(), 0
    if checkpoint is not None and os.path.exists(checkpoint):
        start, history = load_checkpoint(checkpoint, model, optimizer)
    history.math_mode = math_mode(device, precision)
    end = steps if stop_after is None else min(steps, stop_after)
    rank, world = distributed.rank(), distributed.world_size()
    # `net` is what computes the loss; `model` (the plain module) is what is evaluated and saved.
    net = model
    if distributed.active():
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    # The FLOP counter cannot see inside a compiled model: the counted first step runs eagerly.
    eager = net
    if compile:
        net = torch.compile(net)
    pending: list[tuple[int, torch.Tensor]] = []  # losses still on the device, read every LOG_EVERY steps

    def flush() -> None:
        if not pending:
            return
        values = torch.stack([loss for _, loss in pending]).tolist()  # one wait for the device, not one per step
        for (step, _), value in zip(pending, values):
            if not math.isfinite(value):
                raise FloatingPointError(f"the loss became {value} at step {step}; "
                                         "try a lower lr or gradient clipping")
        history.loss.extend(values)
        pending.clear()

    def run_evaluation(step: int) -> None:
        if evaluate is None or rank != 0:  # the weights are the same everywhere: rank 0 evaluates
            return
        model.eval()
        # Evaluation may sample; forking the RNG keeps training's random stream unchanged.
        cuda = [device] if device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            values = evaluate(model)
        model.train()
        if not isinstance(values, dict):
            raise TypeError(f"evaluate must return a dict of name -> number, got {type(values).__name__}")
        history.evals.append({"step": step, **{k: float(v) for k, v in values.items()}})

    def one_step(step: int, net=net) -> None:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, lr=lr, steps=steps, warmup=warmup, min_ratio=min_lr_ratio)
        batch = to_device(get_batch(step), device)
        if world > 1:
            batch = distributed.shard(batch, rank, world)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(net, batch)
        if step == start and (not isinstance(loss, torch.Tensor) or loss.numel() != 1):
            raise ValueError("loss_fn must return the batch's loss as one number (a scalar tensor), got "
                             f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}"
                             "; average a per-sample loss with .mean()")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP, this also averages the gradients over the processes
        pending.append((step, distributed.mean(loss.detach().float().reshape(()))))
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if on_step is not None:
            with torch.no_grad():
                on_step(step, model)
        history.lr.append(optimizer.param_groups[0]["lr"])

    model.train()
    # TQDM_DISABLE (set by `make` for executed notebooks) must also stop the notebook widget.
    quiet_bar = not progress or bool(os.environ.get("TQDM_DISABLE")) or rank != 0
    bar = tqdm(range(start, end), initial=start, total=steps, disable=quiet_bar, leave=False)
    timed_steps, timed_seconds, tick = 0, 0.0, None
    for step in bar:
        if step == start and not history.flops_per_step:
            # Count one real step; the counter slows it down, so it is not timed.
            history.flops_per_step = count_flops(one_step, step, eager)
        else:
            if tick is None:  # the clock runs over whole stretches of steps, not step by step
                synchronize(device)
                tick = time.perf_counter()
            with torch.profiler.record_function("train step"):  # a mark for the profiler: see chapter 3
                one_step(step)
            timed_steps += 1
        done = step + 1
        evaluating = eval_every and done % eval_every == 0 and done < end
        saving = checkpoint is not None and checkpoint_every and done % checkpoint_every == 0
        if evaluating or saving or done == end or len(pending) >= LOG_EVERY:
            if tick is not None and (evaluating or saving or done == end):
                synchronize(device)
                timed_seconds += time.perf_counter() - tick
                tick = None
            flush()
            if progress and not quiet_bar:
                bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
        if evaluating:
            run_evaluation(done)
        if saving:
            save_checkpoint(checkpoint, model, optimizer, done, history)
    bar.close()
    flush()
    history.seconds += timed_seconds
    RUNS.append({"steps": end - start, "seconds": timed_seconds * (end - start) / max(1, timed_steps)})
    if timed_steps and timed_seconds > 0:
        # A long run is compared with a peak measured now, under the same load.
        peak = matmul_peak_flops(device, history.math_mode, fresh=timed_seconds > 0.5)
        history.mfu = history.flops_per_step * timed_steps / timed_seconds / peak
    if end == steps or evaluate is not None:
        run_evaluation(end)
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, optimizer, end, history)
    if not progress or rank != 0:
        return history
    last = history.evals[-1] if history.evals else {}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step")
    print(f"trained steps {start}-{end} of {steps} in {timed_seconds:.1f} s; "
          f"final loss {history.loss[-1]:.4f}" + (f"; {shown}" if shown else ""))
    return history


class KeepBest:
    """Early stopping for :func:`train`: pass it as ``evaluate``. Each evaluation measures
    ``measure(model)`` (a number, lower is better), returns ``{name: value}`` for the history, and
    keeps a copy of the weights whenever the value is the lowest so far; after training,
    ``keep.restore(model)`` loads the kept weights (``keep.value`` is their score)."""

    def __init__(self, name: str, measure: Callable):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be the metric's name (a non-empty str), got {name!r}")
        check_callable(measure, "measure", "a function model -> number (lower is better)")
        self.name, self.measure = name, measure
        self.value, self.state = math.inf, None

    def __call__(self, model: torch.nn.Module) -> dict:
        import copy

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be the model being trained (a torch.nn.Module), got {describe(model)}")
        value = check_number(self.measure(model), f"measure(model) (the {self.name})")
        if value < self.value:
            self.value, self.state = value, copy.deepcopy(model.state_dict())
        return {self.name: value}

    def restore(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` with the kept weights loaded, in eval mode."""
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be the model that was trained (a torch.nn.Module), got {describe(model)}")
        if self.state is None:
            raise RuntimeError(f"nothing kept yet: train with evaluate=this KeepBest (measuring {self.name}) first")
        model.load_state_dict(self.state)
        return model.eval()


class WeightAverage:
    """An exponential moving average of a model's weights, for ``train(..., on_step=average)``.

    ``average.model`` is a frozen copy whose every weight becomes ``decay * itself + (1 - decay) *
    the trained weight`` after each step (one fused ``torch._foreach_lerp_`` over all weights,
    so a GPU runs it as a handful of kernels, not one per tensor). With decay 0.99 it averages
    over roughly the last 1 / (1 - 0.99) = 100 steps.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.99):
        import copy

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 <= decay < 1:
            raise ValueError(f"decay must be a number in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.model = copy.deepcopy(model).requires_grad_(False)
        self._averaged = [p for p in self.model.parameters() if p.is_floating_point()]

    @torch.no_grad()
    def __call__(self, step: int, model: torch.nn.Module) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be the model being trained (a torch.nn.Module), got {describe(model)}")
        live = [p for p in model.parameters() if p.is_floating_point()]
        if len(live) != len(self._averaged) or (not getattr(self, "_shapes_checked", False) and any(
                a.shape != b.shape for a, b in zip(self._averaged, live))):
            raise ValueError(f"model must be the model this average was made from: its weights are shaped "
                             f"{[tuple(p.shape) for p in self._averaged][:4]}, model's "
                             f"{[tuple(p.shape) for p in live][:4]}")
        self._shapes_checked = True  # shapes are checked once; the count, which is free, every step
        torch._foreach_lerp_(self._averaged, live, 1 - self.decay)


def save_checkpoint(path, model, optimizer, step: int, history: History) -> None:
    """Save everything a run needs to continue: weights, optimizer, step, RNG, history.

    Under ``torchrun`` every process must call it: rank 0 writes the file, with the random
    state of every rank (each draws its own dropout masks, on the CPU and on its GPU), and the
    others wait for it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or Path), got {describe(path)}")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if not hasattr(optimizer, "state_dict"):
        raise TypeError(f"optimizer must be a torch optimizer, got {describe(optimizer)}")
    check_int(step, "step", 0)
    if not isinstance(history, History):
        raise TypeError(f"history must be a History (from train), got {describe(history)}")
    cuda = torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    rngs = distributed.gather((torch.get_rng_state(), cuda))
    if distributed.is_main():
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "rng": [cpu for cpu, _ in rngs],  # one per rank, in rank order
            "cuda_rng": [gpu for _, gpu in rngs],  # the same for each rank's current GPU (None on a CPU)
            "history": asdict(history),
        }
        tmp = f"{path}.tmp"
        torch.save(state, tmp)
        os.replace(tmp, path)  # a crash mid-save never leaves a broken checkpoint
    distributed.barrier()


def load_checkpoint(path, model, optimizer=None) -> tuple[int, History]:
    """Load a checkpoint saved by :func:`save_checkpoint`; returns ``(step, history)``.

    It resumes with any number of processes. Each rank takes back its own random state
    when the number is the one that saved, so the run continues exactly; with another
    number, the weights and the optimizer are the same and only the random draws
    (dropout masks) and the order of the gradient sums differ.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or Path), got {describe(path)}")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a file of another kind, or one torch cannot read safely
        raise ValueError(f"{path} is not a checkpoint written by utils.train.save_checkpoint: {error}") from error
    if not isinstance(state, dict) or not {"model", "step", "rng", "history"} <= set(state):
        raise ValueError(f"{path} is not a checkpoint written by utils.train.save_checkpoint "
                         "(it lacks the model, step, rng or history)")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    rngs = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]
    me = distributed.rank() % len(rngs)
    torch.set_rng_state(rngs[me].cpu())
    cuda = state.get("cuda_rng") or []
    if me < len(cuda) and cuda[me] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda[me].cpu())
    return state["step"], History(**state["history"])
