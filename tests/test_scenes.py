"""Pictures drawn from captions: facts, captions and held-out combinations as stated, read back from pictures."""

import time

import pytest
import torch

from utils.data import Scenes, parse_caption, read_scenes, sample_scenes
from utils.data import scenes as S
from utils.data.scenes import caption, caption_accuracy, captions, classify_pixels


@pytest.fixture(scope="module")
def pictures():
    return sample_scenes(2000, seed=1, split="all")


def _noisy(images, std, seed=0):
    return (images + std * torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def test_shapes_range_and_seeding():
    a, b = sample_scenes(50, seed=3), sample_scenes(50, seed=3)
    assert isinstance(a, Scenes) and a.images.shape == (50, 3, 16, 16) and a.images.dtype == torch.float32
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert isinstance(a.captions, list) and len(a.captions) == 50 and a.captions == b.captions
    for name in S.FACTS:
        assert getattr(a, name).shape == (50,) and getattr(a, name).dtype == torch.long
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, sample_scenes(50, seed=4).images)


def test_the_palette_colours_are_far_apart():
    colours = S._colours()
    distance = torch.cdist(colours, colours) + 9 * torch.eye(len(colours))
    assert len(colours) == len(S.CLASSES) and distance.min() >= 0.3


def test_facts_are_consistent_and_captions_are_written_from_them():
    d = sample_scenes(500, seed=1, split="all")
    pair = d.scene == -1
    assert pair.any() and (~pair).any()
    assert ((d.scene >= 0) & (d.scene < len(S.SCENES)) | pair).all()
    for name in S.FACTS[1:]:
        assert (getattr(d, name)[~pair] == -1).all() and (getattr(d, name)[pair] >= 0).all()
    assert (d.top_colour[pair] != d.bottom_colour[pair]).all()
    assert d.captions == captions(d) == captions(d.facts)
    for i, text in enumerate(d.captions):
        facts = {name: int(getattr(d, name)[i]) for name in S.FACTS}
        assert text == caption(**facts)
        assert parse_caption(text) == facts
    assert caption(top_shape=0, top_colour=0, bottom_shape=1, bottom_colour=2) == "a red ball above a blue box"
    assert caption(scene=1) == "a landscape with mountains at night"
    assert parse_caption("  A Yellow  House above a green TREE. ") == {
        "scene": -1, "top_shape": 3, "top_colour": 3, "bottom_shape": 2, "bottom_colour": 1}


def _held_pairs(d):
    held = torch.zeros(len(d.captions), dtype=torch.bool)
    for colour, shape in S.HELD_OUT:
        c, s = S.COLOURS.index(colour), S.SHAPES.index(shape)
        held |= ((d.top_colour == c) & (d.top_shape == s)) | ((d.bottom_colour == c) & (d.bottom_shape == s))
    return held


def test_splits_follow_the_stated_distributions():
    assert [len(S._combinations(split)) for split in ("train", "heldout", "all")] == [126, 66, 192]
    train = sample_scenes(10000, seed=0, split="train")
    assert not _held_pairs(train).any()
    assert (train.scene == -1).float().mean().item() == pytest.approx(S.P_PAIR, abs=0.03)
    for code in range(len(S.SCENES)):
        assert (train.scene == code).float().mean().item() == pytest.approx((1 - S.P_PAIR) / 2, abs=0.03)
    heldout = sample_scenes(2000, seed=0, split="heldout")
    assert (heldout.scene == -1).all() and _held_pairs(heldout).all()


def test_the_full_split_is_fast_and_holds_both():
    sample_scenes(10, seed=0)
    start = time.perf_counter()
    everything = sample_scenes(10000, seed=0, split="all")
    assert time.perf_counter() - start < 2.0
    assert (everything.scene == -1).float().mean().item() == pytest.approx(S.P_PAIR, abs=0.03)
    held_share = _held_pairs(everything).float().mean().item()
    assert held_share == pytest.approx(S.P_PAIR * 66 / 192, abs=0.03)


@pytest.mark.parametrize("noise, least", [(0.0, 0.99), (0.05, 0.97)])
def test_the_reader_recovers_every_fact(pictures, noise, least):
    images = _noisy(pictures.images, noise)
    read = read_scenes(images)
    for name in S.FACTS:
        assert read[name].shape == (2000,) and read[name].dtype == torch.long
        assert (read[name] == getattr(pictures, name)).float().mean() >= least, name
    assert caption_accuracy(images, pictures) >= least


def test_caption_accuracy_takes_scenes_facts_or_captions(pictures):
    images = _noisy(pictures.images[:200], 0.1)
    facts = {name: value[:200] for name, value in pictures.facts.items()}
    accuracy = caption_accuracy(images, facts)
    assert 0.3 < accuracy < 1 and caption_accuracy(images, pictures.captions[:200]) == accuracy


def test_the_reader_recovers_held_out_pairs():
    d = sample_scenes(500, seed=2, split="heldout")
    assert caption_accuracy(d.images, d) >= 0.99


def test_shuffled_captions_score_low_and_noise_is_unreadable(pictures):
    d = pictures
    shuffled = d.images[torch.randperm(2000, generator=torch.Generator().manual_seed(0))]
    assert caption_accuracy(shuffled, d) < 0.3
    noise = torch.rand(200, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert caption_accuracy(noise, d.captions[:200]) < 0.05
    blank = torch.tensor([1.0, 0.0, 1.0])[None, :, None, None].expand(3, 3, 16, 16)  # magenta: no scene, no pair
    for name, values in read_scenes(blank).items():
        assert (values == S.UNREADABLE).all(), name


def test_pixels_are_classified_as_drawn():
    d = sample_scenes(200, seed=2, split="all")
    label = classify_pixels(d.images)
    assert label.shape == (200, 16, 16)
    pair = d.scene == -1
    assert (label[pair, 0, 0] == S._BACKGROUND).all() and (label[pair, 8] == S._BACKGROUND).all()
    assert (label[d.scene == 0, 15] == S._SAND).all() and (label[d.scene == 1, 15] == S._DARK_GREY).all()


def test_bad_inputs_raise():
    for n in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n must"):
            sample_scenes(n)
    with pytest.raises(ValueError, match="split must"):
        sample_scenes(10, split="test")
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, 16, 16\)"):
        read_scenes(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, 16, 16\)"):
        read_scenes(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="images"):
        classify_pixels(torch.rand(3, 16, 16))
    for text in ("a red ball below a blue box", "a purple ball above a blue box", "a red ball above a red box",
                 "a sunny beach", "", "a red ball above a blue"):
        with pytest.raises(ValueError, match="cannot parse caption"):
            parse_caption(text)
    with pytest.raises(TypeError, match="text \\(a caption\\) must be a str"):
        parse_caption(3)
    with pytest.raises(ValueError, match="different colours"):
        caption(top_shape=0, top_colour=1, bottom_shape=0, bottom_colour=1)
    with pytest.raises(ValueError, match="whole scene"):
        caption(scene=0, top_shape=1)
    with pytest.raises(ValueError, match="object pair"):
        caption(top_shape=4, top_colour=0, bottom_shape=0, bottom_colour=1)
    d = sample_scenes(5, seed=0)
    with pytest.raises(ValueError, match="must have shape"):
        caption_accuracy(d.images[:4], d)
    with pytest.raises(TypeError, match="truth must be"):
        caption_accuracy(d.images, "a red ball above a blue box")
