"""The packaged U-Net: shapes, conditioning hooks, clear errors."""

import math

import pytest
import torch

from utils.unet import CrossAttention, ResBlock, UNet, timestep_embedding


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


# The forward pass written out with torch's functions, reading the weights by name: a changed operator,
# constant or argument anywhere in the network changes the output. Pictures are 8 x 16 (height differs from
# width, and H*W from every width) so that a swapped dimension cannot pass unnoticed.
def _group_norm(norm, h):
    assert norm.num_groups == math.gcd(h.shape[1], 8)  # up to 8 groups, as many as divide the channels
    return torch.nn.functional.group_norm(h, math.gcd(h.shape[1], 8), norm.weight, norm.bias, eps=1e-5)


def _conv(conv, h, padding):
    return torch.nn.functional.conv2d(h, conv.weight, conv.bias, padding=padding)


def _linear(layer, h):
    return h @ layer.weight.T + layer.bias


def _res_block(block, x, emb, film):
    silu = torch.nn.functional.silu
    h = _conv(block.conv1, silu(_group_norm(block.norm1, x)), 1)
    e = _linear(block.emb, emb)[:, :, None, None]
    if film:
        c = h.shape[1]
        h = _group_norm(block.norm2, h) * (1 + e[:, :c]) + e[:, c:]
    else:
        h = _group_norm(block.norm2, h + e)
    h = _conv(block.conv2, silu(h), 1)
    skip = x if x.shape[1] == h.shape[1] else _conv(block.skip, x, 0)
    return skip + h


def _cross_attention(layer, h, context, mask, heads):
    B, C, H, W = h.shape
    q = _linear(layer.query, _group_norm(layer.norm, h).reshape(B, C, H * W).permute(0, 2, 1))  # (B, HW, C)
    k, v = _linear(layer.key, context), _linear(layer.value, context)  # (B, L, C)
    d = C // heads
    out = torch.empty(B, H * W, C)
    for head in range(heads):
        part = slice(head * d, (head + 1) * d)
        scores = q[:, :, part] @ k[:, :, part].transpose(1, 2) / math.sqrt(d)  # (B, HW, L)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        out[:, :, part] = scores.softmax(-1) @ v[:, :, part]
    return h + _linear(layer.out, out).permute(0, 2, 1).reshape(B, C, H, W)


def _unet_by_hand(model, x, t, cond=None, image=None, context=None, mask=None, film=False, heads=1):
    emb = timestep_embedding(t, model.emb_dim)
    emb = _linear(model.time_mlp[2], torch.nn.functional.silu(_linear(model.time_mlp[0], emb)))
    if cond is not None:
        emb = emb + _linear(model.cond_proj, cond)
    h = _conv(model.stem, x if image is None else torch.cat([x, image], 1), 1)
    levels, skips = len(model.channels), []
    for level in range(levels):
        h = _res_block(model.down[level], h, emb, film)
        if context is not None and level > 0:
            h = _cross_attention(model.down_attn[level], h, context, mask, heads)
        skips.append(h)
        if level < levels - 1:
            h = h.reshape(*h.shape[:2], h.shape[2] // 2, 2, h.shape[3] // 2, 2).mean((3, 5))  # 2x2 averages
    h = _res_block(model.middle, h, emb, film)
    if context is not None:
        h = _cross_attention(model.middle_attn, h, context, mask, heads)
    for i, level in enumerate(reversed(range(levels))):
        if i > 0:
            h = h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # each pixel copied to 2x2
        h = _res_block(model.up[i], torch.cat([h, skips.pop()], 1), emb, film)
        if context is not None and level > 0:
            h = _cross_attention(model.up_attn[i], h, context, mask, heads)
    norm, conv = model.head[0], model.head[2]
    return _conv(conv, torch.nn.functional.silu(_group_norm(norm, h)), 1)


def _randomised(model):
    # Random norm gains and biases too (they start at 1 and 0, which would hide a swapped norm)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return model


@pytest.mark.parametrize("film, heads", [(False, 1), (True, 2)])
def test_forward_written_out(film, heads):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, t = torch.randn(2, 2, 8, 16, generator=gen), torch.tensor([3, 71])
    plain = _randomised(UNet(2, channels=(4, 12, 6), emb_dim=6, cond_dim=3, film=film))
    cond = torch.randn(2, 3, generator=gen)
    torch.testing.assert_close(plain(x, t, cond), _unet_by_hand(plain, x, t, cond, film=film))
    model = _randomised(UNet(2, out_channels=3, channels=(4, 12, 6), emb_dim=6, image_channels=1,
                             context_dim=5, film=film, heads=heads))
    image, context = torch.randn(2, 1, 8, 16, generator=gen), torch.randn(2, 3, 5, generator=gen)
    mask = torch.tensor([[True, True, False], [True, False, True]])
    for m in (None, mask):
        got = model(x, t, image=image, context=context, context_mask=m)
        assert got.shape == (2, 3, 8, 16)
        torch.testing.assert_close(got, _unet_by_hand(model, x, t, image=image, context=context, mask=m,
                                                      film=film, heads=heads))


def test_defaults_one_input_channel_one_head_and_the_narrowest_widths_allowed():
    model = UNet(context_dim=4)
    assert model.in_channels == 1 and model.stem.in_channels == 1 and model.head[2].out_channels == 1
    assert model.down_attn[1].heads == 1 and model.middle_attn.heads == 1
    assert CrossAttention(4, 3).heads == 1
    UNet(1, out_channels=1, channels=(1, 2), emb_dim=2)  # the smallest legal sizes build
    CrossAttention(1, 1, heads=1)


def _message(call):
    with pytest.raises(ValueError) as error:
        call()
    return str(error.value)


B = 2
_X, _T = torch.zeros(B, 1, 8, 8), torch.zeros(B, dtype=torch.long)
_CTX = UNet(1, channels=(4, 8), emb_dim=4, context_dim=3)
_FULL = UNet(1, channels=(4, 8, 8), emb_dim=4, cond_dim=2, image_channels=1)
# Each bad input's whole message: it names the argument, what was expected, and what came.
MESSAGES = [
    (lambda: UNet(0), "in_channels must be an int >= 1, got 0"),
    (lambda: UNet(1, image_channels=-1), "image_channels must be an int >= 0, got -1"),
    (lambda: UNet(1, out_channels=0), "out_channels must be an int >= 1, got 0"),
    (lambda: UNet(1, emb_dim=4.0), "emb_dim must be an even int >= 2 (sines and cosines of the step), got 4.0"),
    (lambda: UNet(1, emb_dim=True), "emb_dim must be an even int >= 2 (sines and cosines of the step), got True"),
    (lambda: UNet(1, channels=(8, 16.0)), "channels must be a non-empty sequence of positive widths, got (8, 16.0)"),
    (lambda: UNet(1, channels=(True, 8)), "channels must be a non-empty sequence of positive widths, got (True, 8)"),
    (lambda: CrossAttention(0, 3), "channels must be an int >= 1, got 0"),
    (lambda: CrossAttention(4, 0), "context_dim must be an int >= 1, got 0"),
    (lambda: CrossAttention(4, 3, heads=0), "heads must be an int >= 1, got 0"),
    (lambda: CrossAttention(4, 3)(torch.zeros(1, 5, 2, 2), torch.zeros(1, 2, 3)),
     "h must be a feature map (B, 4, H, W), got (1, 5, 2, 2)"),
    (lambda: CrossAttention(4, 3)("h", torch.zeros(1, 2, 3)), "h must be a feature map (B, 4, H, W), got str"),
    (lambda: CrossAttention(4, 3)(torch.zeros(1, 4, 2, 2), torch.zeros(2, 2, 3)),
     "context must be a tensor (1, L, 3), got (2, 2, 3)"),
    (lambda: CrossAttention(4, 3)(torch.zeros(1, 4, 2, 2), [1]), "context must be a tensor (1, L, 3), got list"),
    (lambda: CrossAttention(4, 3)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 3), [True]),
     "mask must be a bool tensor (1, 2) (True: attend), got list"),
    (lambda: ResBlock(4, 4, 6)(torch.zeros(1, 3, 2, 2), torch.zeros(1, 6)),
     "x must be a tensor (B, 4, H, W), got (1, 3, 2, 2)"),
    (lambda: ResBlock(4, 4, 6)([0.0], torch.zeros(1, 6)), "x must be a tensor (B, 4, H, W), got list"),
    (lambda: ResBlock(4, 4, 6)(torch.zeros(1, 4, 2, 2), [0.0]), "emb must be a tensor (1, 6), got list"),
    (lambda: _FULL(_X.numpy(), _T), "x must be a tensor (B, 1, H, W), got ndarray"),
    (lambda: _FULL(torch.zeros(B, 1, 8, 6), _T), "x's height and width must be divisible by 4, got (8, 6)"),
    (lambda: _FULL(torch.zeros(B, 1, 6, 8), _T), "x's height and width must be divisible by 4, got (6, 8)"),
    (lambda: _FULL(_X, 3), "t must be a tensor of shape (2,), got int"),
    (lambda: _FULL(_X, _T, None, _X),
     "cond must be given exactly when the model has cond_dim (cond_dim=2)"),
    (lambda: _FULL(_X, _T, torch.zeros(B, 3), _X), "cond must have shape (2, 2), got (2, 3)"),
    (lambda: _FULL(_X, _T, torch.zeros(B, 2)),
     "image must be given exactly when the model has image_channels > 0 (image_channels=1)"),
    (lambda: _FULL(_X, _T, torch.zeros(B, 2), torch.zeros(B, 1, 8, 4)),
     "image must have shape (2, 1, 8, 8), got (2, 1, 8, 4)"),
    (lambda: _FULL(torch.zeros(B, 1, 8, 12), _T, torch.zeros(B, 2), torch.zeros(B, 1, 8, 4)),
     "image must have shape (2, 1, 8, 12), got (2, 1, 8, 4)"),
    (lambda: _CTX(_X, _T), "context must be given exactly when the model has context_dim (context_dim=3)"),
    (lambda: _CTX(_X, _T, context=torch.zeros(1, 2, 3)), "context must have shape (2, L, 3), got (1, 2, 3)"),
    (lambda: _CTX(_X, _T, context=torch.zeros(B, 2, 3), context_mask=torch.ones(B, 3, dtype=torch.bool)),
     "context_mask must be a bool tensor shaped like context's first two dimensions (2, 2), got torch.bool (2, 3)"),
    (lambda: _FULL(_X, _T, torch.zeros(B, 2), _X, context_mask=torch.ones(B, 3, dtype=torch.bool)),
     "context_mask must be a bool tensor shaped like context's first two dimensions (B, L), got torch.bool (2, 3)"),
]


@pytest.mark.parametrize("call, message", MESSAGES, ids=[m[:40] for _, m in MESSAGES])
def test_every_bad_input_gets_its_whole_message(call, message):
    assert _message(call) == message
