"""Generated landscapes: attributes follow the stated distributions and can be read back."""

import pytest
import torch

from utils.data import attribute_match, measure_landscapes, sample_landscapes
from utils.data import landscapes as L


def test_shapes_range_and_seeding():
    a, b = sample_landscapes(50, seed=3), sample_landscapes(50, seed=3)
    assert a.images.shape == (50, 3, 16, 16) and a.images.min() >= 0 and a.images.max() <= 1
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, sample_landscapes(50, seed=4).images)


def test_attributes_follow_the_known_distributions():
    d = sample_landscapes(4000, seed=0)
    assert d.sunset.float().mean().item() == pytest.approx(L.P_SUNSET, abs=0.03)
    assert d.sun.float().mean().item() == pytest.approx(L.P_SUN, abs=0.03)
    counts = torch.bincount(d.water_row, minlength=16)[list(L.WATER_ROWS)].float() / 4000
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)


def test_measuring_reads_back_the_true_attributes():
    d = sample_landscapes(1000, seed=1)
    m = measure_landscapes(d.images)
    assert (m["sunset"] == d.sunset).float().mean() > 0.99
    assert (m["sun"] == d.sun).float().mean() > 0.97
    assert (m["water_row"] == d.water_row).float().mean() > 0.99
    assert (m["ridge"] == d.ridge).float().mean() > 0.97


def test_attribute_match_is_high_for_the_truth_and_low_for_noise():
    real = sample_landscapes(1000, seed=0).images
    assert attribute_match(sample_landscapes(1000, seed=1).images, real)["mean"] > 0.95
    noise = torch.rand(1000, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert attribute_match(noise, real)["mean"] < 0.6


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="n must"):
        sample_landscapes(0)
    with pytest.raises(ValueError, match="images"):
        measure_landscapes(torch.rand(2, 1, 16, 16))
