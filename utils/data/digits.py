"""The scikit-learn handwritten digits: 1,797 real 8x8 images, shipped with the package.

They come from the UCI "Optical Recognition of Handwritten Digits" set: 43 people
wrote digits on forms, which were scanned and reduced to 8x8 blocks of ink counts
from 0 to 16. No download is needed: the file is part of scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validate import check_pictures, check_tensor

TEST_FRACTION = 0.25
SPLIT_SEED = 0


@dataclass(frozen=True)
class Digits:
    """A fixed train/test split. Images are float32 in [0, 1], shape (N, 1, 8, 8)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits() -> Digits:
    """The book's one split of the digits: 1,347 for training, 450 for testing.

    The split is stratified by class and fixed (seed 0), so every chapter trains and
    scores on the same images.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.long)
    index = torch.arange(len(labels))
    train_index, test_index = train_test_split(
        index.numpy(), test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels.numpy()
    )
    train_index, test_index = torch.as_tensor(train_index), torch.as_tensor(test_index)
    return Digits(images[train_index], labels[train_index], images[test_index], labels[test_index])


LEVELS = 17  # the scans' ink counts run from 0 to 16: the digits' own grey levels
SIDE = 8  # pixels per row and per column


def digit_levels(images: torch.Tensor) -> torch.Tensor:
    """Digits (N, 1, 8, 8) in [0, 1] as sequences of grey levels: an int64 tensor (N, 64) in 0..16, the
    pixels in raster order (row by row, left to right), as next-pixel models read them."""
    check_pictures(images, "images", channels=1, size=SIDE)
    return (images.detach() * (LEVELS - 1)).round().clamp(0, LEVELS - 1).long().flatten(1)


def levels_to_images(levels: torch.Tensor) -> torch.Tensor:
    """Sequences of grey levels (N, 64) in 0..16 back to digits (N, 1, 8, 8) in [0, 1]."""
    check_tensor(levels, "levels", "(N, 64) of grey levels 0..16", ndim=2, floating=False)
    if levels.shape[1] != SIDE * SIDE:
        raise ValueError(f"levels must have shape (N, {SIDE * SIDE}), one level per pixel, got {tuple(levels.shape)}")
    if levels.numel() and (levels.min() < 0 or levels.max() >= LEVELS):
        raise ValueError(f"levels must hold grey levels in 0..{LEVELS - 1}, got [{levels.min().item()}, "
                         f"{levels.max().item()}]")
    return (levels.float() / (LEVELS - 1)).view(-1, 1, SIDE, SIDE)
