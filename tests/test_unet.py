"""The packaged U-Net: shapes, conditioning hooks, clear errors."""

import math

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


def test_each_skip_joins_the_level_it_came_from():
    # Forward hooks record what every encoder block hands on and what every decoder block receives: the
    # decoder's input at each resolution must end with the encoder's output of that same level, unchanged,
    # after the upsampled path from below (three levels of distinct widths, so any mix-up shows).
    torch.manual_seed(0)
    model = UNet(1, channels=(4, 8, 16), emb_dim=8)
    encoded, received = [], []
    for block in model.down:
        block.register_forward_hook(lambda module, args, out: encoded.append(out))
    for block in model.up:
        block.register_forward_pre_hook(lambda module, args: received.append(args[0]))
    x = torch.randn(2, 1, 8, 8)
    model(x, torch.tensor([3, 40]))
    assert [tuple(h.shape) for h in encoded] == [(2, 4, 8, 8), (2, 8, 4, 4), (2, 16, 2, 2)]
    assert [tuple(h.shape) for h in received] == [(2, 32, 2, 2), (2, 24, 4, 4), (2, 12, 8, 8)]
    for skip, joined in zip(reversed(encoded), received):
        width = skip.shape[1]
        assert torch.equal(joined[:, -width:], skip)
        assert not torch.equal(joined[:, :-width], torch.zeros_like(joined[:, :-width]))


def test_every_skip_reaches_the_output():
    # Zeroing one level's skip, through a hook on the decoder block that receives it, changes the output; the
    # hook removed, the output is as before.
    torch.manual_seed(0)
    model = UNet(1, channels=(4, 8), emb_dim=8)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 40])
    out = model(x, t)
    for block, skip_width in zip(model.up, reversed(model.channels)):
        def without_skip(module, args, width=skip_width):
            h, emb = args
            return torch.cat([h[:, :-width], torch.zeros_like(h[:, -width:])], dim=1), emb

        handle = block.register_forward_pre_hook(without_skip)
        assert not torch.allclose(out, model(x, t))
        handle.remove()
    torch.testing.assert_close(model(x, t), out)


def test_fits_one_batch():
    # Any wiring mistake that cuts the path from weights to output (or from input to output) stops this:
    # 16 random targets are memorised, the loss falling a hundred-fold in 100 steps of Adam (600-fold here).
    torch.manual_seed(0)
    model = UNet(1, channels=(4, 8), emb_dim=8)
    gen = torch.Generator().manual_seed(0)
    x, target = torch.randn(16, 1, 8, 8, generator=gen), torch.randn(16, 1, 8, 8, generator=gen)
    t = torch.randint(0, 100, (16,), generator=gen)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        loss = ((model(x, t) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100, (losses[0], losses[-1])


def test_timestep_embedding_is_cosines_then_sines_of_geometric_frequencies():
    emb = timestep_embedding(torch.tensor([0, 1, 7]), 4)  # frequencies 1 and 10000^(-1/2) = 0.01
    t = torch.tensor([0.0, 1.0, 7.0])[:, None]
    freqs = torch.tensor([1.0, 0.01])
    torch.testing.assert_close(emb, torch.cat([(t * freqs).cos(), (t * freqs).sin()], dim=1))
    emb = timestep_embedding(torch.tensor([5]), 2, max_period=100.0)
    torch.testing.assert_close(emb, torch.tensor([[math.cos(5.0), math.sin(5.0)]]))
