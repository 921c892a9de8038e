"""The packaged U-Net: shapes, conditioning hooks, clear errors."""

import pytest
import torch

from utils.unet import UNet, timestep_embedding


def test_output_shape_for_digits_and_rgb():
    digits = UNet(1, channels=(8, 16))
    assert digits(torch.randn(3, 1, 8, 8), torch.tensor([0, 5, 9])).shape == (3, 1, 8, 8)
    rgb = UNet(3, channels=(8, 16, 16), image_channels=3)
    out = rgb(torch.randn(2, 3, 16, 16), torch.tensor([1, 2]), image=torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3, 16, 16)


def test_time_and_condition_change_the_output():
    torch.manual_seed(0)
    model = UNet(1, channels=(8, 16), cond_dim=4)
    x, cond = torch.randn(2, 1, 8, 8), torch.randn(2, 4)
    a = model(x, torch.tensor([1, 1]), cond=cond)
    assert not torch.allclose(a, model(x, torch.tensor([50, 50]), cond=cond))
    assert not torch.allclose(a, model(x, torch.tensor([1, 1]), cond=cond + 1))


def test_timestep_embedding_is_bounded_and_distinct():
    emb = timestep_embedding(torch.arange(100), 32)
    assert emb.shape == (100, 32) and emb.abs().max() <= 1
    assert torch.cdist(emb, emb).add(torch.eye(100)).min() > 0


def test_bad_inputs_raise_clear_errors():
    model = UNet(1, channels=(8, 16))
    with pytest.raises(ValueError, match="x must"):
        model(torch.randn(2, 3, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="divisible"):
        model(torch.randn(2, 1, 7, 7), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="t must"):
        model(torch.randn(2, 1, 8, 8), torch.tensor([0]))
    with pytest.raises(ValueError, match="cond"):
        model(torch.randn(2, 1, 8, 8), torch.tensor([0, 1]), cond=torch.randn(2, 4))
    with pytest.raises(ValueError, match="image"):
        UNet(3, channels=(8,), image_channels=3)(torch.randn(1, 3, 4, 4), torch.tensor([0]))
    with pytest.raises(ValueError, match="channels"):
        UNet(1, channels=())
    with pytest.raises(ValueError, match="dim"):
        timestep_embedding(torch.arange(3), 7)
