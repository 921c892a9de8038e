"""Checkers for the next-pixel chapter (chapter 10): bits per dimension from log-likelihoods, each
pixel's own histogram (the independent-pixels baseline), the mask of a masked convolution, and a
prediction about a PixelCNN whose first layer sees the pixel it predicts."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from .. import pixelcnn as PX
from .core import exercise


@exercise("bits_per_dim")
def bits_per_dim(check, answer):
    """``answer(nll_nats)``: each image's negative log-likelihood in nats (N,) -> bits per pixel (64 pixels)."""
    nll = torch.tensor([120.0, 80.5, 99.25, 140.0])
    expected = nll.mean().item() / (64 * math.log(2))
    got = check.number(check.call(answer, nll, what="bits_per_dim(nll_nats)"), "bits per dimension")
    if math.isclose(got, nll.mean().item() / math.log(2), rel_tol=1e-4):
        check.fail("that is bits per image", "divide by the 64 pixels: bits per *dimension* is per pixel")
    if math.isclose(got, nll.mean().item() / 64, rel_tol=1e-4):
        check.fail("that is nats per pixel", "divide by log(2) to turn nats into bits")
    if math.isclose(got, nll.mean().item() / (64 * math.log(10)), rel_tol=1e-4):
        check.fail("that divides by log(10)", "bits are log base 2: divide nats by log(2)")
    if math.isclose(got, nll.sum().item() / (64 * math.log(2)), rel_tol=1e-4):
        check.fail("that adds the images instead of averaging them", "take the mean over the images")
    if not math.isclose(got, expected, rel_tol=1e-4):
        check.fail(f"got {got:.5g}, expected {expected:.5g}", "mean over images, then / (64 * log(2))")
    check.passed("mean nats per image / (64 pixels x log 2): bits per dimension")
    uniform = torch.full((3,), 64 * math.log(17))
    got = check.number(check.call(answer, uniform, what="bits_per_dim of a uniform guess"), "bits per dimension")
    if not math.isclose(got, math.log2(17), rel_tol=1e-4):
        check.fail(f"a uniform guess over 17 levels costs log2(17) = {math.log2(17):.4f} bits per pixel, got {got:.4g}")
    check.passed("a uniform guess over 17 levels costs log2(17) = 4.09 bits per pixel")


@exercise("pixel_histograms")
def pixel_histograms(check, answer):
    """``answer(levels, alpha)``: levels (N, 64) in 0..16 -> (64, 17) probabilities, counts plus ``alpha``."""
    gen = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 17, (30, 64), generator=gen)
    levels[:, 0] = 0  # a pixel that is always blank, as the digits' corners are
    got = check.tensor(check.call(answer, levels, 0.5, what="pixel_histograms(levels, 0.5)"), "the histograms")
    expected = PX.pixel_histograms(levels, 0.5)
    if got.shape == (17, 64):
        check.fail("the result is (17, 64)", "one row per pixel: shape (64, 17), transpose it")
    check.close(got, expected, "the probabilities (64, 17)",
                "count each level at each pixel (one histogram per pixel, over the N digits), add alpha to every "
                "count, and divide each row by its total")
    if (got.sum(1) - 1).abs().max() > 1e-5:
        check.fail("the rows do not sum to 1", "divide each pixel's counts by that pixel's total")
    check.passed("one histogram of 17 levels per pixel, smoothed by alpha, rows summing to 1")
    got = check.tensor(check.call(answer, levels, 0.0, what="pixel_histograms(levels, 0.0)"), "the histograms")
    check.close(got, PX.pixel_histograms(levels, 0.0), "the probabilities with alpha = 0",
                "alpha = 0 is the raw share of the digits with each level at each pixel")
    check.passed("alpha = 0 gives raw shares: a level never seen at a pixel gets probability 0 (and a test digit "
                 "that has it, infinitely many bits: that is why we smooth)")


@exercise("conv_mask")
def conv_mask(check, answer):
    """``answer(kernel_size, mask_type)`` -> the (k, k) mask of a masked convolution, type "A" or "B"."""
    for k in (3, 5):
        for mask_type in ("A", "B"):
            got = check.tensor(check.call(answer, k, mask_type, what=f"conv_mask({k}, {mask_type!r})"),
                               f"the {k}x{k} mask of type {mask_type}")
            expected = PX.conv_mask(k, mask_type)
            c = k // 2
            if got.shape == expected.shape and got[c, c] != expected[c, c]:
                check.fail(f"the centre of the type-{mask_type} mask is {got[c, c].item():g}",
                           "type A hides the centre (the pixel being predicted, in the first layer); type B keeps "
                           "it (in later layers the centre holds features of earlier pixels only)")
            if got.shape == expected.shape and torch.equal(got, expected.T):
                check.fail(f"the {k}x{k} mask of type {mask_type} is transposed",
                           "rows come first: the mask keeps the rows above the centre, then the centre row's left")
            check.close(got, expected, f"the {k}x{k} mask of type {mask_type}",
                        "1 on every row above the centre and on the centre row left of the centre; 0 elsewhere")
    check.passed("3x3 and 5x5 masks of type A (centre hidden) and B (centre kept)")


@functools.lru_cache(maxsize=1)
def _leaky_bpd() -> float:
    """Train the smallest model that sees the pixel it predicts, as a type-B first mask lets it: logits
    looked up from the pixel's own level (a 1x1 convolution of its one-hot level), for a few hundred
    steps on the training digits; return its bits per dimension on the test digits. The loss over all
    pixels is a sum over the 17 levels, each weighted by how many pixels have it."""
    from ..data import load_digits
    from ..data.digits import LEVELS, digit_levels

    digits = load_digits()
    count = lambda x: torch.bincount(digit_levels(x).flatten(), minlength=LEVELS).float()  # noqa: E731
    train_counts, test_counts = count(digits.x_train), count(digits.x_test)
    levels = torch.arange(LEVELS)
    table = torch.zeros(LEVELS, LEVELS, requires_grad=True)  # logits of the output, given the input level
    optimizer = torch.optim.Adam([table], lr=0.5)
    for _ in range(200):
        nats = F.cross_entropy(table, levels, reduction="none")  # (17,): the cost of each level
        loss = (train_counts * nats).sum() / train_counts.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        nats = F.cross_entropy(table, levels, reduction="none")
        return ((test_counts * nats).sum() / test_counts.sum()).item() / math.log(2)


@exercise("leaky_bits_per_dim")
def leaky_bits_per_dim(check, answer):
    """``answer()`` -> the predicted held-out bits per dimension of a PixelCNN whose first mask is type B."""
    got = check.number(check.call(answer, what="leaky_bits_per_dim()"), "your prediction")
    measured = _leaky_bpd()
    if got < 0:
        check.fail(f"{got:.3g} bits: a negative number of bits is impossible",
                   "a probability is at most 1, so -log2 of it is at least 0")
    if got > 1.0:
        check.fail(f"you predicted {got:.3g} bits per pixel; a model that sees each pixel's own level, "
                   f"trained for a moment, measured {measured:.3f}",
                   "with the centre of the first mask kept, the output at a pixel sees the very value it must "
                   "predict: what does the best such model do, and what does it cost in bits?")
    check.passed(f"a model that sees the answer copies it: measured {measured:.3f} bits per pixel on held-out "
                 "digits after a moment's training, far below any honest model, and worthless for sampling (when "
                 "drawing, the pixel it would copy is not there yet)")
