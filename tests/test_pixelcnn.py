"""The next-pixel models: masks, no pixel sees its future, the sampler, likelihood and the recipes."""

import math

import pytest
import torch

from utils import baselines
from utils import pixelcnn as PX
from utils.data import load_digits
from utils.data.digits import LEVELS, digit_levels, levels_to_images
from utils.gpt import GPT, GPTConfig


def tiny_gpt(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=LEVELS + 1, block_size=64, n_layer=1, n_head=2, n_embd=16)).eval()


def tiny_cnn(seed=0, layers=3):
    torch.manual_seed(seed)
    return PX.PixelCNN(channels=8, layers=layers).eval()


def test_levels_round_trip_the_digits():
    digits = load_digits()
    levels = digit_levels(digits.x_train)
    assert levels.shape == (len(digits.x_train), 64) and levels.dtype == torch.long
    assert levels.min() == 0 and levels.max() == 16
    assert torch.equal(levels_to_images(levels), digits.x_train)  # the digits are 17 levels already


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_masks_keep_exactly_the_earlier_pixels(k):
    c = k // 2
    for mask_type in "AB":
        mask = PX.conv_mask(k, mask_type)
        for i in range(k):
            for j in range(k):
                earlier = i < c or (i == c and j < c) or (i == c == j and mask_type == "B")
                assert mask[i, j] == float(earlier)


def test_stack_masks_first_layer_hides_the_centre_row_of_the_vertical_stack():
    vertical, horizontal = PX.stack_masks(3, first=True)
    assert vertical.tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]] and horizontal.tolist() == [[1, 0, 0]]
    vertical, horizontal = PX.stack_masks(3, first=False)
    assert vertical.tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]] and horizontal.tolist() == [[1, 1, 0]]


@pytest.mark.parametrize("make", [tiny_cnn, tiny_gpt], ids=["pixelcnn", "igpt"])
def test_each_pixel_depends_on_every_earlier_pixel_and_no_later_one(make):
    """Change one pixel: the predictions before and at it never move; with the two stacks (and attention)
    some prediction after it does: no blind spot, no leak."""
    model = make()
    base = torch.randint(0, LEVELS, (1, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = PX.pixel_logits(model, base)
        for t in range(64):
            changed = base.clone()
            changed[0, t] = (changed[0, t] + 5) % LEVELS
            moved = (PX.pixel_logits(model, changed) - reference).abs().amax(-1)[0]  # (64,)
            assert moved[:t + 1].max() < 1e-6, f"changing pixel {t} moved an earlier prediction"
            if t < 63:
                assert moved[t + 1:].max() > 0, f"pixel {t} reaches no later prediction"


def test_the_gated_stacks_see_the_whole_past_of_a_pixel():
    """The upper-right wedge that a plain masked stack misses reaches the gated model's output: with
    layers enough to reach row 0 from row 5 (the field grows a row up and a column aside per layer), every
    earlier pixel, and no later one."""
    model = PX.PixelCNN(channels=8, layers=8)
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    v = h = x
    for layer in model.layers:
        v, h = layer(v, h)
    model.head(h)[0, :, 5, 3].sum().backward()
    seen = x.grad[0, 0] != 0
    earlier = torch.arange(64).view(8, 8) < 5 * 8 + 3
    assert torch.equal(seen, earlier)


@pytest.mark.parametrize("make", [tiny_cnn, tiny_gpt], ids=["pixelcnn", "igpt"])
def test_the_sampler_draws_from_the_model_and_keeps_what_is_given(make):
    """Each sampled pixel is the inverse-CDF draw, from the model's own conditional, of its uniform."""
    model = make()
    samples = PX.sample_pixels(model, 6, generator=torch.Generator().manual_seed(3))
    uniforms = torch.rand(6, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        probs = PX.pixel_logits(model, samples).softmax(-1)  # (6, 64, 17)
    cdf = probs.cumsum(-1)
    expected = (cdf < uniforms[..., None] * cdf[..., -1:]).sum(-1).clamp(max=LEVELS - 1)
    assert torch.equal(samples, expected)
    given = samples[:, :20]
    completed = PX.sample_pixels(model, 6, given=given, generator=torch.Generator().manual_seed(4))
    assert torch.equal(completed[:, :20], given)
    assert torch.equal(completed[:, :20], given)
    again = PX.sample_pixels(model, 6, given=given, generator=torch.Generator().manual_seed(4))
    assert torch.equal(completed, again)


def test_the_sampler_batches_give_the_same_digits():
    model = tiny_cnn()
    whole = PX.sample_pixels(model, 5, generator=torch.Generator().manual_seed(0))
    pieces = PX.sample_pixels(model, 5, generator=torch.Generator().manual_seed(0), batch_size=2)
    assert torch.equal(whole, pieces)


def test_an_untrained_model_costs_about_log2_17_bits():
    levels = digit_levels(load_digits().x_test[:50])
    for model in (tiny_cnn(), tiny_gpt()):
        assert abs(PX.bits_per_dim(model, levels) - math.log2(LEVELS)) < 0.3


def test_histograms_are_counts_plus_alpha():
    levels = torch.tensor([[0, 16], [0, 3], [2, 3]])
    levels = torch.cat([levels, torch.zeros(3, 62, dtype=torch.long)], dim=1)
    probs = PX.pixel_histograms(levels, alpha=1.0)
    assert probs.shape == (64, LEVELS) and torch.allclose(probs.sum(1), torch.ones(64))
    close = lambda value, expected: math.isclose(value.item(), expected, rel_tol=1e-6)  # noqa: E731
    assert close(probs[0, 0], 3 / 20) and close(probs[0, 2], 2 / 20)
    assert close(probs[1, 3], 3 / 20) and close(probs[5, 0], 4 / 20)


def test_splits_are_fixed_and_keep_each_digit_with_its_class():
    digits = load_digits()
    split = PX.level_splits(digits)
    again = PX.level_splits(digits)
    assert torch.equal(split.fit, again.fit) and torch.equal(split.val, again.val)
    assert len(split.fit) + len(split.val) == len(digits.x_train) and len(split.val) == PX.VALIDATION_DIGITS
    assert torch.equal(split.test, digit_levels(digits.x_test)) and torch.equal(split.test_labels, digits.y_test)
    # every fitted digit is a training digit of the same class, and none is also a validation digit
    train = {tuple(row): label for row, label in zip(digit_levels(digits.x_train).tolist(), digits.y_train.tolist())}
    assert all(train[tuple(row)] == label for row, label in zip(split.fit.tolist(), split.fit_labels.tolist()))
    assert all(train[tuple(row)] == label for row, label in zip(split.val.tolist(), split.val_labels.tolist()))


def test_shifted_batches_move_digits_by_one_pixel_at_most():
    levels = digit_levels(load_digits().x_train[:40])
    plain = PX.shifted_batches(levels, 16, shift=0.0, seed=1)(7)[0]
    moved = PX.shifted_batches(levels, 16, shift=1.0, seed=1)(7)[0]
    assert plain.shape == moved.shape == (16, 64)
    assert not torch.equal(plain, moved)
    # the same rows, drawn by the same seed: each moved digit keeps at most its own ink
    assert (moved.sum(1) <= plain.sum(1)).all()


def test_fit_keeps_the_best_validation_step():
    split = PX.level_splits(load_digits())
    model = tiny_cnn(layers=2).train()
    model, history = PX.fit_next_pixel(model, split.fit[:200], split.val[:50], steps=6, batch_size=8, lr=1e-2,
                                       eval_every=2)
    _, values = history.metric("val_bpd")
    assert len(values) == 3
    assert math.isclose(PX.bits_per_dim(model, split.val[:50]), min(values), rel_tol=1e-5)
    assert not model.training


def test_a_gpt_with_class_tokens_is_validated_given_the_class():
    split = PX.level_splits(load_digits())
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=LEVELS + 1 + 10, block_size=64, n_layer=1, n_head=2, n_embd=16))
    model, history = PX.fit_next_pixel(model, split.fit[:100], split.val[:30], steps=4, batch_size=8, lr=1e-2,
                                       eval_every=2, train_labels=split.fit_labels[:100],
                                       val_labels=split.val_labels[:30], null_share=0.5)
    given_class = PX.bits_per_dim(model, split.val[:30], PX.class_tokens(split.val_labels[:30]))
    assert math.isclose(given_class, min(history.metric("val_bpd")[1]), rel_tol=1e-5)


def test_class_tokens_and_batches_with_labels():
    assert PX.class_tokens(torch.tensor([0, 9])).tolist() == [PX.START + 1, PX.START + 10]
    levels = digit_levels(load_digits().x_train[:40])
    labels = torch.arange(40) % 10
    rows, first = PX.shifted_batches(levels, 64, labels=labels, null_share=0.0)(0)
    assert rows.shape == (64, 64) and first.min() > PX.START
    _, first = PX.shifted_batches(levels, 64, labels=labels, null_share=1.0)(0)
    assert (first == PX.START).all()


def test_class_likelihoods_and_bayes_give_the_mixture_likelihood():
    """log p(x) = logsumexp_c (log p(c) + log p(x | c)); each column is that class's own likelihood, and
    the first pixels' likelihood is a part of the whole one."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=LEVELS + 1 + 10, block_size=64, n_layer=1, n_head=2, n_embd=16)).eval()
    levels = digit_levels(load_digits().x_test[:6])
    table = PX.class_log_likelihoods(model, levels)
    assert table.shape == (6, 10)
    three = PX.log_likelihoods(model, levels, PX.class_tokens(torch.full((6,), 3)))
    assert torch.allclose(table[:, 3], three)
    top = PX.class_log_likelihoods(model, levels, pixels=32)
    assert (top >= table - 1e-4).all()  # a part of the digit is at least as likely as the whole
    bits = -torch.logsumexp(table + math.log(0.1), dim=1).mean().item() / (64 * math.log(2))
    assert bits <= -table.max(1).values.mean().item() / (64 * math.log(2)) + math.log2(10) / 64 + 1e-6


def test_recipes_build_the_chapters_models():
    from utils.recipes import IGPT_DIGITS, PIXELCNN_DIGITS

    for recipe, kind in ((PIXELCNN_DIGITS, PX.PixelCNN), (IGPT_DIGITS, GPT)):
        for profile in ("cpu", "gpu"):
            model = recipe.build(recipe.sizes[profile])
            assert isinstance(model, kind)
            first = PX.class_tokens(torch.tensor([0, 9])) if kind is GPT else None
            with torch.no_grad():
                logits = PX.pixel_logits(model.eval(), torch.zeros(2, 64, dtype=torch.long), first)
            assert logits.shape == (2, 64, LEVELS)


def test_the_sampler_reads_the_class_token_it_is_given():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=LEVELS + 1 + 10, block_size=64, n_layer=1, n_head=2, n_embd=16)).eval()
    first = PX.class_tokens(torch.tensor([0, 3, 7, 9]))
    samples = PX.sample_pixels(model, 4, first=first, generator=torch.Generator().manual_seed(5))
    uniforms = torch.rand(4, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        cdf = PX.pixel_logits(model, samples, first).softmax(-1).cumsum(-1)
    expected = (cdf < uniforms[..., None] * cdf[..., -1:]).sum(-1).clamp(max=LEVELS - 1)
    assert torch.equal(samples, expected)
    with pytest.raises(ValueError, match="first"):
        PX.sample_pixels(tiny_cnn(), 2, first=first[:2])


@pytest.mark.parametrize("make", [tiny_cnn, tiny_gpt], ids=["pixelcnn", "igpt"])
@pytest.mark.parametrize("pixels", [8, 29, 32, 64])
def test_the_likelihood_of_the_first_pixels_is_read_from_the_whole_digit(make, pixels):
    model = make()
    levels = digit_levels(load_digits().x_test[:5])
    with torch.no_grad():
        nats = torch.nn.functional.cross_entropy(PX.pixel_logits(model, levels).transpose(1, 2), levels,
                                                 reduction="none")  # (5, 64)
    assert torch.allclose(PX.log_likelihoods(model, levels, pixels=pixels), -nats[:, :pixels].sum(1), atol=1e-4)


@pytest.mark.parametrize("classes", [False, True])
def test_fit_with_sizes_is_fit_next_pixel_with_the_recipes_arguments(classes, monkeypatch):
    split = PX.level_splits(load_digits())
    sizes = dict(steps=3, batch=5, lr=2e-3, weight_decay=0.2, shift=0.25, eval_every=2, null_share=0.3,
                 classes=classes)
    seen = {}
    monkeypatch.setattr(PX, "fit_next_pixel", lambda model, fit, val, **kw: seen.update(fit=fit, val=val, **kw))
    PX.fit_with_sizes("model", split, sizes, n_val=7)
    assert torch.equal(seen.pop("fit"), split.fit) and torch.equal(seen.pop("val"), split.val[:7])
    if classes:
        assert torch.equal(seen.pop("train_labels"), split.fit_labels)
        assert torch.equal(seen.pop("val_labels"), split.val_labels[:7])
    assert seen == dict(steps=3, batch_size=5, lr=2e-3, weight_decay=0.2, shift=0.25, eval_every=2, seed=0,
                        null_share=0.3)
    PX.fit_with_sizes("model", split, {k: v for k, v in sizes.items() if k != "null_share"})
    assert seen["null_share"] == 0.1 and len(seen["val"]) == len(split.val)  # the defaults


def test_independent_pixels_keeps_the_alpha_cheapest_on_the_validation_digits():
    split = PX.level_splits(load_digits())
    probs, alpha, val_bpd = baselines.independent_pixels(split.fit, split.val)
    assert list(val_bpd) == list(baselines.ALPHAS) and alpha == min(val_bpd, key=val_bpd.get)
    assert torch.equal(probs, PX.pixel_histograms(split.fit, alpha))
    for a, bits in val_bpd.items():
        p = PX.pixel_histograms(split.fit, a)
        by_hand = -sum(math.log2(p[i, split.val[n, i]].item()) for n in range(len(split.val)) for i in range(64))
        assert math.isclose(bits, by_hand / (64 * len(split.val)), rel_tol=1e-5)
    assert baselines.independent_pixels(split.fit, split.val, alphas=(2.0,))[1] == 2.0
