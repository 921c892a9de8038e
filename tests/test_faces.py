"""Generated faces: attributes follow the stated distributions and can be read back."""

import pytest
import torch

from utils.data import Faces, measure_faces, sample_faces
from utils.data import faces as F
from utils.data.faces import attribute_match, classify_pixels

ATTRIBUTES = ("skin", "hair", "shape", "smile", "background")


def test_shapes_range_and_seeding():
    a, b = sample_faces(50, seed=3), sample_faces(50, seed=3)
    assert isinstance(a, Faces) and a.images.shape == (50, 3, 16, 16) and a.images.dtype == torch.float32
    assert a.images.min() >= 0 and a.images.max() <= 1
    for name in ATTRIBUTES:
        assert getattr(a, name).shape == (50,) and getattr(a, name).dtype == torch.long
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, sample_faces(50, seed=4).images)


def test_attributes_follow_the_known_distributions():
    d = sample_faces(20000, seed=0)
    for name, probs in (("skin", F.P_SKIN), ("hair", F.P_HAIR), ("background", F.P_BACKGROUND),
                        ("shape", (1 - F.P_LONG, F.P_LONG)), ("smile", (1 - F.P_SMILE, F.P_SMILE))):
        freq = torch.bincount(getattr(d, name), minlength=len(probs)).float() / 20000
        assert torch.allclose(freq, torch.tensor(probs), atol=0.02), name


@pytest.mark.parametrize("noise, least", [(0.0, 0.99), (0.05, 0.97)])
def test_measuring_reads_back_the_true_attributes(noise, least):
    d = sample_faces(2000, seed=1)
    images = (d.images + noise * torch.randn(d.images.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    m = measure_faces(images)
    for name in ATTRIBUTES:
        assert m[name].shape == (2000,)
        assert (m[name] == getattr(d, name)).float().mean() >= least, name


def test_pixels_are_classified_as_drawn():
    d = sample_faces(20, seed=2)
    label = classify_pixels(d.images)
    assert label.shape == (20, 16, 16)
    assert torch.equal(label[:, 0, 0], F._BACKGROUND0 + d.background)  # the corners are background
    assert ((label == F._EYE).sum((1, 2)) == 2).all() and ((label == F._MOUTH).sum((1, 2)) == 4).all()


def test_unreadable_pictures_give_the_dedicated_code():
    blank = torch.zeros(3, 3, 16, 16)  # black everywhere: no skin, no background, no mouth
    m = measure_faces(blank)
    for name in ("skin", "background", "shape", "smile"):
        assert (m[name] == F.UNREADABLE).all(), name


def test_attribute_match_is_high_for_the_truth_and_low_for_mean_faces_and_noise():
    real = sample_faces(2000, seed=0).images
    assert attribute_match(sample_faces(2000, seed=1).images, real)["mean"] > 0.97
    mean_face = real.mean(0, keepdim=True).expand(2000, -1, -1, -1)
    assert attribute_match(mean_face, real)["mean"] < 0.7
    noise = torch.rand(2000, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    match = attribute_match(noise, real)
    assert set(match) == {*ATTRIBUTES, "mean"} and match["mean"] < 0.7


def test_bad_inputs_raise():
    for n in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n must"):
            sample_faces(n)
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, H, W\)"):
        measure_faces(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match="images"):
        measure_faces(torch.rand(3, 16, 16))
    with pytest.raises(TypeError, match="images"):
        classify_pixels([[0.5]])
