"""The classical digit models: shapes, range, seeding, and clear errors."""

import pytest
import torch

from utils import baselines
from utils.data import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("draw", [lambda d, n, s: baselines.gaussian_digits(d, n, seed=s)[0],
                                  lambda d, n, s: baselines.mixture_digits(d, n, seed=s),
                                  lambda d, n, s: baselines.kde_digits(d, n, seed=s, bandwidth=0.1)])
def test_samples_are_seeded_digits_in_range(digits, draw):
    a, b, c = draw(digits, 50, 0), draw(digits, 50, 0), draw(digits, 50, 1)
    assert a.shape == (50, 1, 8, 8) and a.dtype == torch.float32
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_gaussian_classes_follow_the_training_frequencies(digits):
    _, labels = baselines.gaussian_digits(digits, 20_000)
    expected = torch.bincount(digits.y_train, minlength=10).float() / len(digits.y_train)
    assert (torch.bincount(labels, minlength=10).float() / 20_000 - expected).abs().max() < 0.01


def test_kde_samples_stay_near_training_digits(digits):
    x = baselines.kde_digits(digits, 200, bandwidth=0.02).flatten(1)
    nearest = torch.cdist(x, digits.x_train.flatten(1)).min(1).values
    assert nearest.median() < 0.02 * 8 * 1.5  # the noise of 64 pixels of std 0.02 has norm about 0.16


def test_bandwidth_is_one_of_the_candidates(digits):
    assert baselines.kde_bandwidth(digits, candidates=(0.05, 0.1)) in (0.05, 0.1)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n_is_named(digits, n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        baselines.mixture_digits(digits, n)


def test_digits_must_be_the_book_split():
    with pytest.raises(TypeError, match="digits must be"):
        baselines.gaussian_digits(torch.zeros(3, 64), 5)
