import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.data import TOY_NAMES, load_digits, toy_2d


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_samples_are_seeded(name):
    dist = toy_2d(name)
    a, b = dist.sample(100, seed=1), dist.sample(100, seed=1)
    assert a.shape == (100, 2) and torch.equal(a, b)
    assert not torch.equal(a, dist.sample(100, seed=2))


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_density_integrates_to_one(name):
    dist = toy_2d(name)
    # Riemann sum over a box that holds all the mass.
    lim, n = 5.0, 700
    axis = torch.linspace(-lim, lim, n)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    cell = (2 * lim / (n - 1)) ** 2
    total = dist.log_density(points).double().exp().sum().item() * cell
    assert total == pytest.approx(1.0, abs=0.02)


def test_ring_density_at_a_mode_matches_closed_form():
    ring = toy_2d("ring")
    peak = ring.log_density(ring.modes[:1]).item()
    assert peak == pytest.approx(math.log(1 / 8 / (2 * math.pi * 0.02**2)), abs=1e-3)


def test_ring_samples_lie_near_their_modes():
    ring = toy_2d("ring")
    x, labels = ring.sample_with_labels(2000, seed=0)
    distance = (x - ring.modes[labels]).norm(dim=1)
    assert distance.max() < 6 * ring.std
    assert set(labels.tolist()) == set(range(8))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.integers(min_value=0, max_value=10_000))
def test_sample_count_and_finiteness(n, seed):
    x = toy_2d("grid").sample(n, seed=seed)
    assert x.shape == (n, 2) and torch.isfinite(x).all()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="name"):
        toy_2d("circles")
    with pytest.raises(ValueError, match="n must be"):
        toy_2d("ring").sample(0)
    with pytest.raises(ValueError, match="shape"):
        toy_2d("ring").log_density(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="floating"):
        toy_2d("ring").log_density(torch.zeros(3, 2, dtype=torch.long))


def test_digits_split_is_fixed_and_disjoint():
    a, b = load_digits(), load_digits()
    assert a.x_train.shape == (1347, 1, 8, 8) and a.x_test.shape == (450, 1, 8, 8)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    assert torch.bincount(a.y_test).min() >= 43  # stratified: every class is in the test split
    train_rows = {tuple(r) for r in a.x_train.flatten(1).tolist()}
    overlap = sum(tuple(r) in train_rows for r in a.x_test.flatten(1).tolist())
    assert overlap <= 5  # the raw data holds a few exact duplicates; the split itself is disjoint
