"""Where the book's code runs, and at what size.

Every chapter calls :func:`setup`, then reads its sizes with :func:`by_profile`, so one
notebook trains a small model on a laptop CPU and a larger one on a GPU without any other
change. The profile's device (:func:`profile_device`) is where every model trains and
samples: the training loops and samplers check it with :func:`check_device` before any work,
so a chapter cannot train on the CPU while a GPU idles.

The smoke run (``GENAI_SMOKE=1``, with ``GENAI_PROFILE=gpu`` on a machine without a GPU)
runs a chapter at the gpu profile's shapes with a handful of steps: ``by_profile(...,
smoke=5)`` gives the handful, and the chapter's promises are reported as not checked.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

PROFILES = ("cpu", "gpu")
PROFILE_VARIABLE = "GENAI_PROFILE"
SMOKE_VARIABLE = "GENAI_SMOKE"
_FORCED_DEVICE: torch.device | None = None  # set by utils.distributed.start: this process's own device
# In a smoke run, each count that by_profile replaced, as (smoke value, the profile's value): with the
# training loops' timings (utils.flops.RUNS) it projects how long the full run would take.
SMOKE_SWAPS: list[tuple] = []


def get_device() -> torch.device:
    """The best device here: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_profile(device: torch.device | None = None) -> str:
    """The size profile: ``"gpu"`` on an accelerator, ``"cpu"`` otherwise.

    The environment variable ``GENAI_PROFILE`` overrides the choice, for example
    ``GENAI_PROFILE=cpu`` to run the quick version on a GPU machine.
    """
    chosen = os.environ.get(PROFILE_VARIABLE, "").strip().lower()
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(
                f"{PROFILE_VARIABLE} must be one of {PROFILES}, got {chosen!r}"
            )
        return chosen
    device = device if device is not None else get_device()
    return "cpu" if torch.device(device).type == "cpu" else "gpu"


def is_smoke() -> bool:
    """True in a smoke run (``GENAI_SMOKE=1``): the profile's shapes, a handful of steps, no promises checked."""
    value = os.environ.get(SMOKE_VARIABLE, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{SMOKE_VARIABLE} must be 1 or 0, got {value!r}")


def by_profile(cpu, gpu, profile: str | None = None, *, smoke=None):
    """Pick the value for the current profile: ``by_profile(cpu=2_000, gpu=20_000, smoke=5)``.

    ``smoke`` is the value a smoke run takes instead (give it for counts: steps, samples, seeds;
    leave it out for shapes, so that the smoke run exercises the profile's real shapes).
    """
    profile = profile if profile is not None else get_profile()
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    chosen = cpu if profile == "cpu" else gpu
    if smoke is not None and is_smoke():
        SMOKE_SWAPS.append((smoke, chosen))
        return smoke
    return chosen


def profile_device() -> torch.device:
    """Where the profile's models train: the CPU for the ``cpu`` profile, else the best device here
    (under ``torchrun``, this process's own device)."""
    if _FORCED_DEVICE is not None:
        return _FORCED_DEVICE
    return torch.device("cpu") if get_profile() == "cpu" else get_device()


def model_device(model) -> torch.device | None:
    """The device of ``model``'s first parameter (or buffer); None for a plain function or an empty module."""
    if isinstance(model, torch.Tensor):
        return model.device
    if isinstance(model, torch.nn.Module):
        for tensor in model.parameters():
            return tensor.device
        for tensor in model.buffers():
            return tensor.device
    return None


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index is None or b.index is None:
        return True
    return a.index == b.index


def check_device(model, name: str = "model", expected: torch.device | str | None = None) -> torch.device:
    """Raise a clear error unless ``model`` (a module or tensor) is on the profile's device; return it.

    Called once before any work by the training loops and samplers: a model left on the CPU
    while the profile's device is a GPU is refused, not trained slowly. A plain function with
    no weights passes, and its work happens on the expected device.
    """
    expected = profile_device() if expected is None else torch.device(expected)
    found = model_device(model)
    if found is None:
        return expected
    if not _same_device(found, expected):
        raise ValueError(
            f"{name} is on {found}, but the {get_profile()} profile trains and samples on {expected}: "
            f"move it there first ({name} = {name}.to(device), with device from utils.device.setup())")
    return found


def to_device(batch, device: torch.device):
    """``batch`` (a tensor, or a tuple, list or dict of them) moved to ``device``; other values pass."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def environment(device: torch.device | None = None) -> dict:
    """Where work runs, for the records: device, GPU name, torch and CUDA versions, TF32 settings, smoke flag."""
    device = profile_device() if device is None else torch.device(device)
    cuda = device.type == "cuda"
    return {
        "profile": get_profile(),
        "device": device.type,
        "gpu": torch.cuda.get_device_name(device) if cuda else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32) if cuda else None,
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32) if cuda else None,
        "cpu_threads": torch.get_num_threads(),
        "smoke": is_smoke(),
    }


def seed(value: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (every device) so a run can be repeated."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"seed value must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"seed value must be non-negative, got {value}")
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)


def setup(threads: int | None = None) -> tuple[torch.device, str]:
    """The first call of every chapter: returns ``(device, profile)`` and prints them.

    ``device`` is the profile's device (:func:`profile_device`): every model of the chapter
    goes there. On the CPU, PyTorch uses one thread per physical core unless ``threads``
    says otherwise; more threads than cores only adds contention.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int of at least 1, got {threads!r}")
        torch.set_num_threads(threads)
    profile = get_profile()
    device = profile_device()
    smoke = " (smoke run: a handful of steps, promises not checked)" if is_smoke() else ""
    print(f"device: {device}, profile: {profile}{smoke}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    return device, profile
