"""How much arithmetic a model does, and how fast this machine can do it.

* :func:`count_flops`: the FLOPs of one call (a training step, say), counted by PyTorch's
  ``FlopCounterMode`` with our own formulas for fused attention (PaLM's convention); :func:`timed`, the
  seconds of one call, the device's queued work included.
* :func:`math_mode`: the arithmetic a run really uses: ``"fp32"``, ``"tf32"`` (float32 tensors whose
  matrix products a GPU runs in TensorFloat-32) or ``"bf16"`` (autocast).
* :func:`matmul_peak_flops`: this machine's *measured* matrix-multiply speed in that mode.
* :func:`datasheet_peak_flops`: the peak its maker states (PaLM's MFU divides by this), where known.

The utilisation that :func:`utils.train.train` reports divides the model's FLOPs per second by
that measured speed. PaLM's MFU divides by the datasheet's peak instead, which no real matrix
product reaches, so ours reads higher than PaLM's for the same run, by the ratio of the
datasheet peak to the measured one: ``mfu * matmul_peak_flops(...) / datasheet_peak_flops(...).flops``
is PaLM's MFU of the same run.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch
from torch.utils.flop_counter import FlopCounterMode

MATH_MODES = ("fp32", "tf32", "bf16")
_DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}
_PEAKS: dict[tuple[str, str], float] = {}
# Every training run of this process: {"steps": timed steps, "seconds": their time}. A smoke run's record
# projects from these how long the profile's full run would take (see utils.record).
RUNS: list[dict] = []


def math_mode(device: torch.device | str, precision: str = "fp32") -> str:
    """The arithmetic of a run at ``precision`` (``"fp32"`` or ``"bf16"``) on ``device``: float32 runs
    become ``"tf32"`` on a GPU that allows TensorFloat-32 matrix products."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    device = torch.device(device)
    if precision == "fp32" and device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32:
        return "tf32"
    return precision


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (a no-op on the CPU): only then does a clock reading mean anything."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable, *args, **kwargs) -> tuple:
    """``(fn(*args, **kwargs), seconds)``: the result and the wall time it took, with the GPUs' queued work
    waited for before the clock is read (a GPU runs asynchronously: without the wait, the clock would time
    only the launching of its work). Where the result is moved to the host inside ``fn``, that copy waits
    too."""
    if not callable(fn):
        raise TypeError(f"fn must be callable (the work to time), got {type(fn).__name__}")
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            synchronize(torch.device("cuda", index))
    return result, time.perf_counter() - start


def matmul_peak_flops(device: torch.device | str = "cpu", mode: str = "fp32", fresh: bool = False) -> float:
    """The machine's measured matrix-multiply speed in FLOP/s in math ``mode`` (median of ten runs).

    The value is kept for the process; ``fresh=True`` measures again, which matters when
    other work shares the machine: a peak measured under a different load than the
    training it is compared with gives a meaningless utilisation.
    """
    if mode not in MATH_MODES:
        raise ValueError(f"mode must be one of {MATH_MODES}, got {mode!r}")
    device = torch.device(device)
    key = (str(device), mode)
    if fresh or key not in _PEAKS:
        n = 1024 if device.type == "cpu" else 8192
        # Its own generator: measuring must not move training's random stream (a resumed run
        # would otherwise draw other dropout masks than an uninterrupted one).
        gen = torch.Generator(device=device).manual_seed(0)
        a = torch.randn(n, n, device=device, generator=gen).to(_DTYPES[mode])
        b = torch.randn(n, n, device=device, generator=gen).to(_DTYPES[mode])
        tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        try:
            times = []
            for _ in range(12):
                synchronize(device)
                start = time.perf_counter()
                a @ b
                synchronize(device)
                times.append(time.perf_counter() - start)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = tf32
        # The median of the runs after two warm-ups: the best single run catches rare bursts
        # of clock speed that training never sees.
        _PEAKS[key] = 2 * n**3 / statistics.median(times[2:])
    return _PEAKS[key]


class DatasheetPeak(NamedTuple):
    """A device's stated peak in FLOP/s and what it rests on (the datasheet, or the arithmetic for a CPU)."""

    flops: float
    basis: str


# Dense (no structured sparsity) peaks in TFLOP/s from NVIDIA's datasheets: fp32, tf32, bf16. Checked in
# order, so "H100 PCIe" comes before "H100" and "L40S" before "L4". None: the GPU has no such arithmetic.
_GPU_DATASHEETS = (
    ("H200", (67.0, 494.7, 989.4)),
    ("H100 PCIe", (51.2, 378.0, 756.0)),
    ("H100", (67.0, 494.7, 989.4)),
    ("A100", (19.5, 156.0, 312.0)),
    ("L40S", (91.6, 183.0, 362.0)),
    ("L4", (30.3, 60.0, 121.0)),
    ("A10", (31.2, 62.5, 125.0)),
    ("T4", (8.1, None, None)),
    ("V100", (15.7, None, None)),
)


def _cpu_mhz() -> float | None:
    """The CPU's clock in MHz: the stated maximum where the kernel knows it, else the clock /proc/cpuinfo reports
    (a virtual machine's nominal clock)."""
    top = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if top.exists():
        return int(top.read_text()) / 1000
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    return None


def _cpu_flags() -> set[str]:
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":")[1].split())
    return set()


def datasheet_peak_flops(device: torch.device | str = "cpu", mode: str = "fp32") -> DatasheetPeak | None:
    """The peak FLOP/s that the maker states for ``device`` in math ``mode``: PaLM's MFU divides by this.

    A GPU's comes from a table of NVIDIA datasheets (dense arithmetic); a CPU's fp32 peak is worked out as
    cores x clock x FLOPs per cycle: 64 per core with AVX-512 (two 512-bit fused multiply-add units, as in
    Xeon Scalable processors: 2 x 16 lanes x 2 FLOPs), 32 with AVX2 and FMA, 8 otherwise. The cores are
    the threads torch uses, at most the machine's. None where the peak is not known (another GPU, a CPU's
    bf16, an MPS device): then only the utilisation of the measured speed can be given.
    """
    if mode not in MATH_MODES:
        raise ValueError(f"mode must be one of {MATH_MODES}, got {mode!r}")
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peaks in _GPU_DATASHEETS:
            if key in name:
                tflops = peaks[MATH_MODES.index(mode)]
                return None if tflops is None else DatasheetPeak(tflops * 1e12, f"{key} datasheet, {mode}, dense")
        return None
    if device.type != "cpu" or mode != "fp32":
        return None
    mhz, flags = _cpu_mhz(), _cpu_flags()
    if mhz is None or not flags:
        return None
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    cores = min(torch.get_num_threads(), os.cpu_count() or 1)
    return DatasheetPeak(cores * mhz * 1e6 * per_cycle,
                         f"{cores} cores x {mhz / 1000:.2f} GHz x {per_cycle} FP32 FLOPs a cycle")


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
    if not callable(fn):
        raise TypeError(f"fn must be callable (the work to count), got {type(fn).__name__}")
    counter = FlopCounterMode(display=False, custom_mapping=_attention_formulas())
    with counter:
        fn(*args)
    return float(counter.get_total_flops())
