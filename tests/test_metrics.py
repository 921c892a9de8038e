import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.metrics import frechet_distance, histogram_match, mode_coverage


def reference_fd(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.floats(0.0, 3.0))
def test_frechet_distance_matches_sqrtm(seed, dim, shift):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(200, dim))
    b = rng.normal(size=(150, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + shift
    assert frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-4, abs=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).normal(size=(100, 5))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(torch.tensor(a), torch.tensor(a + 1.0)) == pytest.approx(5.0, rel=1e-6)


def test_frechet_distance_rejects_bad_features():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="features_b"):
        frechet_distance(a, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((10, 3), np.nan), a)
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(np.zeros(10), a)


def test_mode_coverage_counts_modes_and_quality():
    modes = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    samples = torch.tensor([[0.01, 0.0], [5.0, 0.02], [2.5, 2.5], [0.0, 0.0]])
    covered, quality = mode_coverage(samples, modes, std=0.1)
    assert covered == 2 and quality == pytest.approx(0.75)
    with pytest.raises(ValueError, match="std"):
        mode_coverage(samples, modes, std=0)


def test_histogram_match_bounds_and_bad_input():
    a = torch.tensor([1, 1, 2, 3])
    assert histogram_match(a, a[[3, 2, 1, 0]]) == 1.0
    assert histogram_match(a, torch.tensor([7, 8])) == 0.0
    assert histogram_match(torch.tensor([0, 1]), torch.tensor([0, 0, 0, 1])) == pytest.approx(0.75)
    empty, square = torch.tensor([], dtype=torch.long), torch.ones(2, 2, dtype=torch.long)
    for bad in (torch.tensor([0.5, 1.0]), empty, [1, 2], square):
        with pytest.raises(ValueError, match="1-D integer tensor"):
            histogram_match(bad, a)


def test_mean_pairwise_distance_averages_over_distinct_pairs():
    import pytest
    import torch

    from utils.metrics import mean_pairwise_distance

    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])  # distances 5, 3 and 4
    assert mean_pairwise_distance(points) == pytest.approx(4.0)
    assert mean_pairwise_distance(torch.ones(5, 3, 2, 2)) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_distance(torch.ones(1, 3))
