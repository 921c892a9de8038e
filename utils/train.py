"""The book's one training loop, as a plain function a reader can follow top to bottom.

``train(model, loss_fn, get_batch, steps=...)`` runs AdamW with a warm-up + cosine
learning-rate schedule and gradient clipping, keeps a history of losses and
evaluations, saves and resumes checkpoints, and counts the FLOPs of one step so it
can say how much of the machine's matrix-multiply peak the model used (MFU).

The same function trains on many processes: started by ``torchrun`` (see
:mod:`utils.distributed`), it wraps the model in ``DistributedDataParallel``, gives each
process its slice of every batch, and leaves the progress bar, evaluations and
checkpoints to rank 0. ``precision="bf16"`` and ``compile=True`` are its two speed options.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from . import distributed

PRECISIONS = ("fp32", "bf16")


@dataclass
class History:
    """What a run leaves behind: one loss and learning rate per step, evaluations."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)  # [{"step": s, name: value, ...}]
    seconds: float = 0.0  # wall time of training steps (evaluations excluded)
    flops_per_step: float = 0.0  # forward + backward, counted on one real step
    mfu: float = 0.0  # model FLOPs utilisation against the measured matmul peak

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """The steps and values of one evaluated metric, ready to plot."""
        rows = [e for e in self.evals if name in e]
        if not rows:
            known = sorted({k for e in self.evals for k in e} - {"step"})
            raise KeyError(f"no evaluations of {name!r}; evaluated metrics: {known}")
        return [e["step"] for e in rows], [e[name] for e in rows]


def lr_at(step: int, *, lr: float, steps: int, warmup: int = 0, min_ratio: float = 0.1) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to ``min_ratio * lr``."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not 0 <= warmup <= steps:
        raise ValueError(f"warmup must be between 0 and steps={steps}, got {warmup}")
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
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"tensors must have the same length, got {[len(t) for t in tensors]}")
    if not 1 <= batch_size:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")

    def get_batch(step: int):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        index = torch.randint(n, (batch_size,), generator=gen)
        return tuple(t[index] for t in tensors)

    return get_batch


def crop_to_targets(get_batch: Callable, ignore_index: int = -1) -> Callable:
    """Wrap ``get_batch`` (of ``(x, y, ...)`` row batches) to cut each batch after the last
    column where some row of ``y`` has a target (not ``ignore_index``): rows padded to the
    longest possible text then cost only as much as the longest text in the batch."""

    def cropped(step: int):
        x, y, *rest = get_batch(step)
        filled = (y != ignore_index).nonzero()
        n = int(filled[:, 1].max()) + 1 if len(filled) else 1
        return (x[:, :n], y[:, :n], *rest)

    return cropped


_PEAKS: dict[tuple[str, str], float] = {}


def matmul_peak_flops(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                      fresh: bool = False) -> float:
    """The machine's measured matrix-multiply speed in FLOP/s (median of ten runs).

    The value is kept for the process; ``fresh=True`` measures again, which matters when
    other work shares the machine: a peak measured under a different load than the
    training it is compared with gives a meaningless utilisation.
    """
    device = torch.device(device)
    key = (str(device), str(dtype))
    if fresh or key not in _PEAKS:
        n = 1024 if device.type == "cpu" else 8192
        # Its own generator: measuring must not move training's random stream (a resumed run
        # would otherwise draw other dropout masks than an uninterrupted one).
        gen = torch.Generator(device=device).manual_seed(0)
        a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
        b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
        times = []
        for _ in range(12):
            _synchronize(device)
            start = time.perf_counter()
            a @ b
            _synchronize(device)
            times.append(time.perf_counter() - start)
        # The median of the runs after two warm-ups: the best single run catches rare bursts
        # of clock speed that training never sees.
        _PEAKS[key] = 2 * n**3 / statistics.median(times[2:])
    return _PEAKS[key]


def _attention_flops(query, key, value, *args, **kwargs) -> int:
    """A fused attention's forward pass: the scores Q K^T and the weighted sum P V, two
    matrix products per head, counted in full even under a causal mask (as PaLM's 6N + 12LHQT
    and nanoGPT count them: the convention that makes MFUs comparable)."""
    b, h, t_q, d = query
    t_k, d_v = key[-2], value[-1]
    return 2 * b * h * t_q * t_k * (d + d_v)


def _attention_backward_flops(grad_out, query, key, value, *args, **kwargs) -> int:
    """A fused attention's backward pass: four matrix products, twice the forward. The scores
    a flash kernel recomputes are not counted: MFU counts the model's FLOPs, not the kernel's."""
    return 2 * _attention_flops(query, key, value)


def _attention_formulas() -> dict:
    """Our formulas for every fused attention kernel this torch has. Its own FLOP counter knows
    only the GPU kernels (and counts their recomputation); the CPU's flash kernel it misses."""
    formulas = {}
    for name in ("_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
                 "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu",
                 "_scaled_dot_product_fused_attention_overrideable"):
        for suffix, formula in (("", _attention_flops), ("_backward", _attention_backward_flops)):
            if hasattr(torch.ops.aten, name + suffix):
                formulas[getattr(torch.ops.aten, name + suffix)] = formula
    return formulas


def count_flops(fn: Callable, *args) -> float:
    """The FLOPs that ``fn(*args)`` performs: the matrix products PyTorch's FlopCounterMode
    counts, with fused attention counted by :func:`_attention_flops` on every device."""
    counter = FlopCounterMode(display=False, custom_mapping=_attention_formulas())
    with counter:
        fn(*args)
    return float(counter.get_total_flops())


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
) -> History:
    """Train ``model`` for ``steps`` steps and return its :class:`History`.

    ``loss_fn(model, batch)`` returns the scalar loss of one batch; ``get_batch(step)``
    returns the batch of that step (see :func:`batch_sampler`). ``evaluate(model)``, if
    given, returns a dict of numbers and runs every ``eval_every`` steps and at the end,
    in eval mode without gradients. With ``checkpoint`` a path, the run resumes from it
    when it exists and saves to it every ``checkpoint_every`` steps and at the end.
    ``progress=False`` hides the progress bar and the closing summary line.
    ``stop_after`` ends the run early (as an interruption would) without changing the
    schedule, so that a resumed run continues exactly where it stopped.

    ``precision="bf16"`` runs the forward pass and the loss under bfloat16 autocast (the
    weights and the optimizer stay in float32); ``compile=True`` runs the model through
    ``torch.compile``. Under ``torchrun`` each process computes the loss on its slice of
    ``get_batch(step)`` (which must divide evenly among them), ``DistributedDataParallel``
    averages the gradients, and the history holds the loss averaged over all processes.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be at least 1, got {eval_every}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=betas, fused=True,
    )
    history, start = History(), 0
    if checkpoint is not None and os.path.exists(checkpoint):
        start, history = load_checkpoint(checkpoint, model, optimizer)
    device = next(model.parameters()).device
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

    def run_evaluation(step: int) -> None:
        if evaluate is None or rank != 0:  # the weights are the same everywhere: rank 0 evaluates
            return
        model.eval()
        # Evaluation may sample; forking the RNG keeps training's random stream unchanged.
        cuda = [device] if device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            values = evaluate(model)
        model.train()
        history.evals.append({"step": step, **{k: float(v) for k, v in values.items()}})

    def one_step(step: int, net=net) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, lr=lr, steps=steps, warmup=warmup, min_ratio=min_lr_ratio)
        batch = get_batch(step)
        if world > 1:
            batch = distributed.shard(batch, rank, world)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(net, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP, this also averages the gradients over the processes
        logged = distributed.mean(loss.detach()).item()  # every process sees the same number
        if not math.isfinite(logged):
            raise FloatingPointError(f"the loss became {logged} at step {step}; "
                                     "try a lower lr or gradient clipping")
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return logged

    model.train()
    timed_steps, timed_seconds = 0, 0.0
    # TQDM_DISABLE (set by `make` for executed notebooks) must also stop the notebook widget.
    quiet_bar = not progress or bool(os.environ.get("TQDM_DISABLE")) or rank != 0
    bar = tqdm(range(start, end), initial=start, total=steps, disable=quiet_bar, leave=False)
    for step in bar:
        if step == start and not history.flops_per_step:
            # Count one real step; the counter slows it down, so it is not timed.
            history.flops_per_step = count_flops(lambda s: history.loss.append(one_step(s, eager)), step)
        else:
            _synchronize(device)
            tick = time.perf_counter()
            with torch.profiler.record_function("train step"):  # a mark for the profiler: see chapter 3
                history.loss.append(one_step(step))
            _synchronize(device)
            timed_seconds += time.perf_counter() - tick
            timed_steps += 1
        history.lr.append(optimizer.param_groups[0]["lr"])
        if step % 50 == 0:
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
        done = step + 1
        if eval_every and done % eval_every == 0 and done < end:
            run_evaluation(done)
        if checkpoint is not None and checkpoint_every and done % checkpoint_every == 0:
            save_checkpoint(checkpoint, model, optimizer, done, history)
    bar.close()
    history.seconds += timed_seconds
    if timed_steps:
        # A long run is compared with a peak measured now, under the same load.
        peak = matmul_peak_flops(device, fresh=timed_seconds > 0.5)
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


def save_checkpoint(path, model, optimizer, step: int, history: History) -> None:
    """Save everything a run needs to continue: weights, optimizer, step, RNG, history.

    Under ``torchrun`` every process must call it: rank 0 writes the file, with the random
    state of every rank (each draws its own dropout masks), and the others wait for it.
    """
    rngs = distributed.gather(torch.get_rng_state())
    if distributed.is_main():
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "rng": rngs,  # one per rank, in rank order
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
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    rngs = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]
    torch.set_rng_state(rngs[distributed.rank() % len(rngs)].cpu())
    return state["step"], History(**state["history"])


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
