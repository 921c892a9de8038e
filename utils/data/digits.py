"""The scikit-learn handwritten digits: 1,797 real 8x8 images, shipped with the package.

They come from the UCI "Optical Recognition of Handwritten Digits" set: 43 people
wrote digits on forms, which were scanned and reduced to 8x8 blocks of ink counts
from 0 to 16. No download is needed: the file is part of scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
