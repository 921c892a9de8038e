"""Where the book's code runs, and at what size.

Every chapter calls :func:`get_device` and :func:`get_profile`, then reads its sizes
with :func:`by_profile`, so one notebook trains a small model on a laptop CPU and a
larger one on a GPU without any other change.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

PROFILES = ("cpu", "gpu")
PROFILE_VARIABLE = "GENAI_PROFILE"


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


def by_profile(cpu, gpu, profile: str | None = None):
    """Pick the value for the current profile: ``by_profile(cpu=2_000, gpu=20_000)``."""
    profile = profile if profile is not None else get_profile()
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return cpu if profile == "cpu" else gpu


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

    On the CPU, PyTorch uses one thread per physical core unless ``threads`` says
    otherwise; more threads than cores only adds contention.
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    device = get_device()
    profile = get_profile(device)
    print(f"device: {device}, profile: {profile}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    return device, profile
