"""Data-parallel training with PyTorch's own engine, ``torch.distributed``.

``torchrun --nproc_per_node=K`` starts K copies of one program and tells each, through
environment variables, its rank (0 to K-1) and the world size K. Each copy calls
:func:`start`, which joins the process group (``gloo`` on CPUs, ``nccl`` on GPUs), and then
runs :func:`utils.train.train` unchanged: inside, the loop sees the process group, wraps
the model in ``DistributedDataParallel``, gives each rank its own slice of every batch
(:func:`shard`), and leaves logging, evaluation and checkpoints to rank 0.

Outside ``torchrun`` (a notebook, a plain script) every function here answers as the one
and only process: rank 0 of a world of 1.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist


def active() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's number, 0 to ``world_size() - 1``; 0 outside a process group."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """How many processes train together; 1 outside a process group."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """True on rank 0, the process that logs, evaluates and saves."""
    return rank() == 0


def start(timeout_s: float = 300.0) -> torch.device:
    """Join the process group that ``torchrun`` set up and return this process's device.

    Under ``torchrun`` (``WORLD_SIZE`` is set) this picks ``nccl`` and the GPU numbered
    ``LOCAL_RANK`` when this machine has a GPU for every local process; with more processes
    than GPUs (or none) it says so and uses ``gloo`` on the CPU, splitting the machine's cores
    between the local processes. The device becomes the profile's device of this process
    (:func:`utils.device.profile_device`), so the training loop's device check expects it.
    Without ``torchrun`` it does nothing and returns the profile's device.
    """
    from . import device as device_module

    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if "WORLD_SIZE" not in os.environ:
        return device_module.profile_device()
    missing = [v for v in ("RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if v not in os.environ]
    if missing:
        raise RuntimeError(f"WORLD_SIZE is set but {missing} are not: start the program with "
                           "`torchrun --nproc_per_node=K -m ...`, which sets them all")
    local_rank, local_world = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    wants_gpu = device_module.get_profile() == "gpu"
    if wants_gpu and gpus >= local_world:
        device, backend = torch.device("cuda", local_rank), "nccl"
        torch.cuda.set_device(device)
    else:
        if wants_gpu and gpus and local_rank == 0:
            print(f"{local_world} processes on a machine with {gpus} GPU(s): nccl needs one GPU per process, "
                  "so every process trains on the CPU with gloo (start at most as many processes as GPUs)")
        device, backend = torch.device("cpu"), "gloo"
        # K processes on one machine share its cores: one thread each per core, not each all of them.
        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // local_world))
    device_module._FORCED_DEVICE = device
    if not dist.is_initialized():
        kwargs = {"device_id": device} if backend == "nccl" else {}
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s), **kwargs)
    return device


def stop() -> None:
    """Leave the process group (at the end of a program started by ``torchrun``)."""
    from . import device as device_module

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    device_module._FORCED_DEVICE = None


def shard(batch, rank: int, world_size: int):
    """This rank's slice of a batch: rows ``rank * B/K`` to ``(rank + 1) * B/K``.

    ``batch`` is a tensor or a tuple of tensors whose first dimension is the batch of
    ``B`` rows, and ``B`` must divide evenly by the world size ``K``: every rank then
    takes the same number of rows, so the average of the ranks' gradients is the gradient
    of the whole batch.
    """
    from .validate import check_int

    check_int(world_size, "world_size", 1)
    check_int(rank, "rank")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be between 0 and world_size - 1 = {world_size - 1}, got {rank}")
    if isinstance(batch, torch.Tensor):
        return shard((batch,), rank, world_size)[0]
    if not isinstance(batch, (tuple, list)) or not all(isinstance(t, torch.Tensor) for t in batch):
        raise TypeError(f"batch must be a tensor or a tuple of tensors, got {type(batch).__name__}")
    rows = {len(t) for t in batch}
    if len(rows) != 1:
        raise ValueError(f"the tensors of a batch must have the same number of rows, got {sorted(rows)}")
    n = rows.pop()
    if n % world_size:
        raise ValueError(f"the batch has {n} rows, which {world_size} processes cannot share evenly: "
                         f"make batch_size a multiple of {world_size}")
    per_rank = n // world_size
    return type(batch)(t[rank * per_rank:(rank + 1) * per_rank] for t in batch)


def mean(value: torch.Tensor) -> torch.Tensor:
    """The average of ``value`` over every process (the value itself outside a group)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"value must be a tensor (a loss, say), got {type(value).__name__}")
    if not active():
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / world_size()


def gather(obj) -> list:
    """Every rank's ``obj``, in rank order (``[obj]`` outside a group)."""
    if not active():
        return [obj]
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Wait until every process reaches this point."""
    if active():
        dist.barrier()


def time_all_reduce(numels=(1_000, 10_000, 100_000, 1_000_000, 10_000_000), repeats: int = 10) -> list[dict]:
    """Seconds to all-reduce a float32 tensor of each size (median of ``repeats``), and the
    bus bandwidth they imply: a ring all-reduce sends ``2 (K-1)/K`` times the tensor's bytes
    from every process, half to add up the pieces and half to hand out the sums."""
    import statistics
    import time

    from .validate import check_int

    check_int(repeats, "repeats", 1)
    if isinstance(numels, (str, bytes)) or not hasattr(numels, "__iter__"):
        raise TypeError(f"numels must be a list of tensor sizes, got {type(numels).__name__}")
    for numel in numels:
        check_int(numel, "numels (each size)", 1)
    from .device import profile_device

    rows, device = [], profile_device()
    k = world_size()
    for numel in numels:
        x = torch.ones(int(numel), device=device)
        times = []
        for _ in range(repeats + 1):  # the first is a warm-up
            # Back-to-back all-reduces, as a training step issues them; each timing averages a burst
            # of 5, which smooths out the moments when the operating system runs something else.
            barrier()
            tick = time.perf_counter()
            for _ in range(5):
                if active():
                    dist.all_reduce(x)
            if x.is_cuda:
                torch.cuda.synchronize()
            times.append((time.perf_counter() - tick) / 5)
        seconds = statistics.median(times[1:])
        bus_bytes = 2 * (k - 1) / k * 4 * numel
        rows.append({"numel": int(numel), "megabytes": 4 * numel / 1e6, "seconds": seconds,
                     "bus_gb_per_s": bus_bytes / seconds / 1e9 if k > 1 else 0.0})
    return rows


if __name__ == "__main__":  # torchrun --standalone --nproc_per_node=2 -m utils.distributed OUT.json
    import json
    import sys

    start()
    table = time_all_reduce()
    if is_main():
        text = json.dumps({"world_size": world_size(), "backend": dist.get_backend(), "rows": table}, indent=1)
        if len(sys.argv) > 1:
            with open(sys.argv[1], "w") as f:
                f.write(text)
        print(text)
    stop()
