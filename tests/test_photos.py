"""Photo patches: disjoint train and held-out regions, downsampling, bicubic, PSNR."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.data import bicubic_upsample, downsample, load_photo_patches, psnr
from utils.data import photos as P


def test_patches_shapes_ranges_and_disjoint_regions():
    data = load_photo_patches(16, max_train=300, max_test=100)
    assert data.train.shape == (300, 3, 16, 16) and data.test.shape == (100, 3, 16, 16)
    assert 0 <= data.train.min() and data.train.max() <= 1
    full = load_photo_patches(16)
    # Held-out patches tile every fourth 64-pixel band of both photographs without overlap.
    bands = 640 // P.BAND // P.HELD_OUT_EVERY
    assert len(full.test) == 2 * bands * (427 // 16) * (P.BAND // 16)
    photos = P.load_photos()
    first = (P.HELD_OUT_EVERY - 1) * P.BAND
    assert torch.equal(full.test[0], photos[0, :, :16, first:first + 16])
    # No training patch shares a pixel column with a held-out band.
    held_out_columns = {c for k in range(640 // P.BAND) if k % P.HELD_OUT_EVERY == P.HELD_OUT_EVERY - 1
                        for c in range(k * P.BAND, (k + 1) * P.BAND)}
    train = P.load_photo_patches(16, stride=16).train
    starts = [c for k in range(640 // P.BAND) if k % P.HELD_OUT_EVERY != P.HELD_OUT_EVERY - 1
              for c in range(k * P.BAND, (k + 1) * P.BAND - 15, 16)]
    assert not held_out_columns & {c + i for c in starts for i in range(16)}
    assert len(train) == 2 * (427 // 16) * len(starts)
    assert torch.equal(train[0], photos[0, :, :16, :16])


def test_downsample_averages_blocks_and_bicubic_keeps_constants():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert torch.equal(downsample(x, 2), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    flat = torch.full((2, 3, 4, 4), 0.3)
    assert torch.allclose(bicubic_upsample(flat, 2), torch.full((2, 3, 8, 8), 0.3), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 0.5))
def test_psnr_of_a_constant_error(err):
    ref = torch.full((2, 3, 4, 4), 0.5)
    assert psnr(ref + err, ref) == pytest.approx(10 * math.log10(1 / err**2), rel=1e-4)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="size"):
        load_photo_patches(1)
    with pytest.raises(ValueError, match="max_train"):
        load_photo_patches(16, max_train=0)
    with pytest.raises(ValueError, match="factor"):
        downsample(torch.rand(1, 3, 5, 5), 2)
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    assert psnr(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)) == math.inf
