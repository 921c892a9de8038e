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


def test_cross_attention_reads_the_context_and_ignores_masked_tokens():
    torch.manual_seed(0)
    model = UNet(3, channels=(8, 16), cond_dim=6, context_dim=6, film=True)
    x, t, cond = torch.randn(2, 3, 8, 8), torch.tensor([3, 7]), torch.randn(2, 6)
    context = torch.randn(2, 5, 6)
    mask = torch.tensor([[True, True, True, False, False], [True, True, True, True, True]])
    out = model(x, t, cond=cond, context=context, context_mask=mask)
    changed = context.clone()
    changed[0, 3:] = 100.0  # padding of the first caption: masked out, so no effect on its picture
    again = model(x, t, cond=cond, context=changed, context_mask=mask)
    torch.testing.assert_close(out[0], again[0])
    changed[0, 0] = 100.0  # a real token: it must matter
    assert not torch.allclose(out[0], model(x, t, cond=cond, context=changed, context_mask=mask)[0])
    assert out.shape == (2, 3, 8, 8)
    # only the coarser level and the middle attend; the finest level (8x8 here) does not
    assert sum(not isinstance(m, torch.nn.Identity) for m in [*model.down_attn, model.middle_attn, *model.up_attn]) == 3


def test_film_scales_as_well_as_shifts_and_plain_blocks_keep_their_weights():
    film, plain = UNet(1, channels=(8, 16), film=True), UNet(1, channels=(8, 16))
    assert film.down[0].emb.out_features == 2 * plain.down[0].emb.out_features
    assert set(plain.state_dict()) == set(film.state_dict())  # no new weights, so chapter 6's checkpoints load


def test_context_errors_name_the_argument():
    model = UNet(3, channels=(8, 16), context_dim=4)
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="context must be given"):
        model(x, t)
    with pytest.raises(ValueError, match=r"context must have shape \(2, L, 4\)"):
        model(x, t, context=torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="context_mask must be a bool"):
        model(x, t, context=torch.randn(2, 5, 4), context_mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match="two levels"):
        UNet(3, channels=(8,), context_dim=4)
