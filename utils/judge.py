"""The digit judge: a small classifier that scores generated 8x8 digits.

Built and explained in chapter 1. Later chapters use it two ways: to read which digit a
generated image shows (is it the digit we asked for?), and through its penultimate
layer, whose 64 features define FD-digits, the Frechet distance between the features
of two sets of digits (the digits' analogue of FID).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import Digits, load_digits
from .device import check_device, model_device, profile_device
from .device import seed as seed_everything
from .metrics import frechet_distance
from .recipes import Recipe
from .train import batch_sampler, train
from .validate import check_callable, check_int, check_number, check_pictures, describe

STEPS, BATCH, LR = 1500, 64, 2e-3


class DigitJudge(nn.Module):
    """Two 3x3 convolutions, a 2x2 max-pool, 64 features, then 10 class scores."""

    def __init__(self, width: int = 32, features: int = 64, dropout: float = 0.3):
        super().__init__()
        check_int(width, "width", 1)
        check_int(features, "features", 1)
        check_number(dropout, "dropout", 0.0, 1.0, high_open=True)
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)  # (B, 1, 8, 8) -> (B, W, 8, 8)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)  # -> (B, 2W, 8, 8)
        self.hidden = nn.Linear(2 * width * 16, features)  # after pooling: (B, 2W, 4, 4)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer, (B, 64): what FD-digits compares."""
        check_digit_images(x, "x")
        h = F.relu(self.conv1(x))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.hidden(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.features(x)))  # (B, 10) logits


def check_digit_images(x, name: str = "images") -> None:
    """Raise a clear error unless ``x`` is a float tensor of 8x8 digits (N, 1, 8, 8)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 1, 8, 8), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"{name} must have shape (N, 1, 8, 8) with values in [0, 1], got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point with values in [0, 1], got {x.dtype}")


def shift_digits(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Move each digit by up to one pixel in each direction (a cheap augmentation)."""
    check_digit_images(x, "x")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (it draws the shifts), got {describe(generator)}")
    padded = F.pad(x, (1, 1, 1, 1))
    dx, dy = torch.randint(0, 3, (2, len(x)), generator=generator)
    rows = (torch.arange(8) + dy[:, None])[:, None, :, None].expand(-1, 1, 8, 10)
    shifted = padded.gather(2, rows)
    cols = (torch.arange(8) + dx[:, None])[:, None, None, :].expand(-1, 1, 8, 8)
    return shifted.gather(3, cols)


def judge_loss(model: DigitJudge, batch) -> torch.Tensor:
    """Cross-entropy of the judge on a batch ``(images, labels, seed)``, images shifted."""
    check_callable(model, "model", "the judge (a DigitJudge)")
    if not isinstance(batch, (tuple, list)) or len(batch) != 3:
        raise ValueError(f"batch must be (images, labels, seed), got "
                         f"{describe(batch) if not isinstance(batch, (tuple, list)) else f'{len(batch)} items'}")
    images, labels, step_seed = batch
    generator = torch.Generator().manual_seed(int(step_seed))
    return F.cross_entropy(model(shift_digits(images, generator)), labels)


def train_judge(digits: Digits | None = None, seed: int = 0, steps: int = STEPS,
                progress: bool = True, device: torch.device | str | None = None) -> DigitJudge:
    """Train the judge on the training digits (seeded, about ten seconds on a CPU), on ``device``
    (default: the profile's)."""
    if digits is not None and not isinstance(digits, Digits):
        raise TypeError(f"digits must be None or the Digits of utils.data.load_digits(), got {describe(digits)}")
    check_int(seed, "seed", 0)
    check_int(steps, "steps", 1)
    digits = digits if digits is not None else load_digits()
    seed_everything(seed)
    model = DigitJudge().to(profile_device() if device is None else device)
    sample = batch_sampler(digits.x_train, digits.y_train, batch_size=BATCH, seed=seed)

    def get_batch(step):
        return (*sample(step), seed * 100_003 + step)

    def evaluate(m):
        return {"test_accuracy": accuracy(m, digits.x_test, digits.y_test)}

    history = train(model, judge_loss, get_batch, steps=steps, lr=LR, warmup=min(100, steps // 5),
                    weight_decay=1e-4, evaluate=evaluate, eval_every=max(1, steps // 5), progress=progress)
    model.history = history
    return model.eval()


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` (N, 1, 8, 8) in [0, 1] that ``model`` classifies as ``labels`` (one int label per
    image). It reads the pictures' range (a wait for the device): call it to evaluate, not at every step."""
    check_callable(model, "model", "a classifier of digits (a DigitJudge)")
    check_pictures(images, "images", channels=1, size=8)
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),) or labels.is_floating_point():
        raise ValueError(f"labels must be an int tensor of shape ({len(images)},), one per image, got "
                         f"{tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__}")
    device = model_device(model) or images.device
    with torch.no_grad():
        return (model(images.to(device)).argmax(1) == labels.to(device)).float().mean().item()


# The judge is the same network on both profiles, so FD-digits means the same thing everywhere.
JUDGE = Recipe(
    name="judge", chapter="01_discriminative_vs_generative",
    sizes={"cpu": {"steps": STEPS}, "gpu": {"steps": STEPS}, "smoke": {"steps": 5}},
    build=lambda sizes: DigitJudge(),
    fit=lambda model, sizes: train_judge(steps=sizes["steps"], progress=False, device=model_device(model)),
)


def save_judge(model: DigitJudge, path: str | Path | None = None) -> None:
    """Keep the judge so later chapters score with the very same weights (``path``: elsewhere than the cache)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be the judge (a DigitJudge), got {describe(model)}")
    _check_path(path)
    if path is None:
        JUDGE.save(model)
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)


def _check_path(path) -> None:
    if path is not None and not isinstance(path, (str, Path)):
        raise TypeError(f"path must be None or a file path (str or Path), got {describe(path)}")


def load_judge(path: str | Path | None = None, device: torch.device | str | None = None) -> DigitJudge:
    """The judge chapter 1 trained under this profile, or, if it has not been saved here, the same
    training rerun; on ``device`` (default: the profile's). ``path``: a file written by :func:`save_judge`."""
    _check_path(path)
    if path is None:
        return JUDGE.load_or_train(device)
    if not Path(path).exists():
        raise FileNotFoundError(f"no judge at {path}: save one there with save_judge(model, path)")
    model = DigitJudge().to(profile_device() if device is None else device)
    model.load_state_dict(torch.load(path, map_location=model_device(model), weights_only=True))
    return model.eval()


def fd_digits(images_a: torch.Tensor, images_b: torch.Tensor, judge: DigitJudge | None = None) -> float:
    """FD-digits: the Frechet distance between the judge's features of two sets of digits in [0, 1]."""
    check_pictures(images_a, "images_a", channels=1, size=8)  # [0, 1], as load_digits gives them
    check_pictures(images_b, "images_b", channels=1, size=8)
    if judge is not None and not isinstance(judge, DigitJudge):
        raise TypeError(f"judge must be None (the saved judge) or a DigitJudge, got {describe(judge)}")
    judge = judge if judge is not None else load_judge()
    device = check_device(judge, "judge")
    with torch.no_grad():
        return frechet_distance(judge.features(images_a.to(device).float()).cpu(),
                                judge.features(images_b.to(device).float()).cpu())
