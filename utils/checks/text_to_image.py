"""Checkers for the text-to-image chapter: cross-attention with a mask, the masked mean of a caption's
tokens, caption dropout (the training notebook); the guidance formula, strict caption accuracy, the
variety of pictures (the guidance notebook)."""

from __future__ import annotations

import math

import torch

from .core import exercise


@exercise("drop_captions")
def drop_captions(check, answer):
    """``answer(ids (B, L), null (L,), p, generator)`` -> ids with each row replaced by null with probability p."""
    ids = torch.arange(2, 2 + 4000 * 3).view(4000, 3)  # every row differs from null and from every other row
    null = torch.tensor([1, 0, 0])
    for p in (0.0, 1.0):
        got = check.call(answer, ids.clone(), null, p, torch.Generator().manual_seed(0),
                         what=f"drop_captions(ids, null, p={p:g}, generator)")
        check.close(got, ids if p == 0 else null.expand_as(ids), f"the captions at p = {p:g}",
                    "p = 0 keeps every caption and p = 1 replaces every row by null")
    check.passed("p = 0 keeps every caption and p = 1 drops every one")
    before = ids.clone()
    got = check.tensor(check.call(answer, ids, null, 0.25, torch.Generator().manual_seed(1),
                                  what="drop_captions(ids, null, 0.25, generator)"), "the captions at p = 0.25")
    if not torch.equal(ids, before):
        check.fail("your function changed the ids it was given", "build a new tensor (torch.where) instead of "
                   "assigning into ids: the training data must stay as it was")
    if got.shape != ids.shape:
        check.fail(f"the result has shape {tuple(got.shape)}, expected {tuple(ids.shape)}",
                   "keep every caption's row: replace whole rows of ids with null (torch.where with a (B, 1) mask)")
    kept, dropped = (got == ids).all(1), (got == null).all(1)
    if not (kept | dropped).all():
        check.fail("some rows are neither the caption nor null: words were dropped one by one",
                   "draw one random number per row (torch.rand(B)) and replace the whole row, so the model sees "
                   "either the full caption or none")
    rate = dropped.double().mean().item()
    if abs(rate - 0.25) > 4 * math.sqrt(0.25 * 0.75 / len(ids)):
        check.fail(f"{rate:.3f} of the rows were dropped at p = 0.25", "a row is dropped when its random number "
                   "is below p: torch.rand(B, generator=generator) < p")
    check.passed(f"whole rows are dropped, at the rate p ({rate:.3f} of 4000 at p = 0.25), without touching the input")
    again = check.tensor(check.call(answer, ids, null, 0.25, torch.Generator().manual_seed(1),
                                    what="drop_captions with the same seed"), "a second draw")
    if not torch.equal(again, got):
        check.fail("the same generator seed gave different rows", "draw the random numbers with generator=generator")
    check.passed("the draw follows the generator, so training can be repeated exactly")


@exercise("guidance")
def guidance(check, answer):
    """``answer(eps_cond, eps_uncond, w)`` -> the classifier-free guided noise, with w = 0 the conditional model."""
    gen = torch.Generator().manual_seed(2)
    cond, uncond = torch.randn(2, 3, 4, 4, generator=gen), torch.randn(2, 3, 4, 4, generator=gen)
    got = check.call(answer, cond, uncond, 0.0, what="guidance(eps_cond, eps_uncond, 0)")
    other = check.tensor(got, "the guided noise at w = 0")
    if other.shape == cond.shape and torch.allclose(other, uncond.double()):
        check.fail("at w = 0 you return the unconditional noise: that is the other convention, in which w = 1 "
                   "means 'conditional only'",
                   "here w = 0 is the conditional model: eps_cond + w (eps_cond - eps_uncond)")
    check.close(got, cond, "the guided noise at w = 0", "w = 0 must give the conditional prediction unchanged")
    check.passed("w = 0 is the conditional model")
    for w in (1.0, 3.0, 7.5):
        got = check.call(answer, cond, uncond, w, what=f"guidance(eps_cond, eps_uncond, {w:g})")
        check.close(got, (1 + w) * cond - w * uncond, f"the guided noise at w = {w:g}",
                    "start at the conditional prediction and go w times further along the step from the "
                    "unconditional one to it: eps_cond + w (eps_cond - eps_uncond)")
    check.passed("larger w extrapolates past the conditional prediction, away from the unconditional one")


@exercise("masked_cross_attention")
def masked_cross_attention(check, answer):
    """``answer(q (B, N, d), k (B, L, d), v (B, L, d), mask (B, L) bool)`` -> (B, N, d), masked tokens ignored."""
    gen = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, n, 8, generator=gen, dtype=torch.float64) for n in (5, 4, 4))
    full = torch.ones(2, 4, dtype=torch.bool)
    weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(8), dim=-1)
    got = check.call(answer, q, k, v, full, what="masked_cross_attention with nothing masked")
    value = check.tensor(got, "the attended values")
    unscaled = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
    if value.shape == unscaled.shape and torch.allclose(value, unscaled):
        check.fail("the scores are not scaled", "divide q k^T by sqrt(d), d = q.shape[-1], before the softmax")
    check.close(got, weights @ v, "the attended values with nothing masked",
                "scores = q @ k.transpose(1, 2) / sqrt(d); softmax over the last dimension (the tokens); then @ v")
    check.passed("with every token visible it is scaled dot-product attention")
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    scores = (q @ k.transpose(1, 2) / math.sqrt(8)).masked_fill(~mask[:, None, :], float("-inf"))
    expected = torch.softmax(scores, dim=-1) @ v
    got = check.call(answer, q, k, v, mask, what="masked_cross_attention with padding masked")
    value = check.tensor(got, "the attended values with padding masked")
    zeroed = (weights * mask[:, None, :]) @ v
    if value.shape == zeroed.shape and torch.allclose(value, zeroed):
        check.fail("the masked weights are zeroed after the softmax, so the rest no longer sum to 1",
                   "mask the *scores* with -inf before the softmax (scores.masked_fill(~mask[:, None, :], -inf))")
    check.close(got, expected, "the attended values with padding masked",
                "set the scores of masked tokens to -inf before the softmax; mask (B, L) must broadcast over the "
                "queries: mask[:, None, :]")
    check.passed("masked tokens get no weight and the visible ones share all of it")
    k2, v2 = k.clone(), v.clone()
    k2[0, 2:], v2[0, 2:] = 1e3, 1e3
    got = check.call(answer, q, k2, v2, mask, what="masked_cross_attention with huge values in the padding")
    check.close(got, expected, "the attended values when the padding holds huge numbers",
                "nothing in a masked token, key or value, may reach the output")
    check.passed("whatever the padding holds cannot leak into the output")


@exercise("masked_mean")
def masked_mean(check, answer):
    """``answer(tokens (B, L, C), mask (B, L) bool)`` -> (B, C), the mean of each row's unmasked tokens."""
    from ..text_to_image import masked_mean as reference

    gen = torch.Generator().manual_seed(4)
    tokens = torch.randn(3, 5, 4, generator=gen)
    full = torch.ones(3, 5, dtype=torch.bool)
    got = check.call(answer, tokens, full, what="masked_mean with nothing masked")
    check.close(got, tokens.mean(1), "the mean with nothing masked", "average over the tokens, dim=1")
    check.passed("with every token real it is the plain mean over the tokens")
    mask = torch.tensor([[True, True, True, False, False], [True] * 5, [True, False, False, False, False]])
    got = check.call(answer, tokens, mask, what="masked_mean with padding")
    value = check.tensor(got, "the mean with padding")
    zeros_counted = (tokens * mask[..., None]).sum(1) / 5
    if value.shape == zeros_counted.shape and torch.allclose(value, zeros_counted.double()):
        check.fail("the padding is zeroed but still counted: a 3-word caption's mean is divided by 5",
                   "divide by the number of real tokens in each row: mask.sum(1, keepdim=True)")
    check.close(got, reference(tokens, mask), "the mean with padding",
                "multiply the tokens by mask[..., None] (as numbers) before summing, and divide by each row's count")
    check.passed("padding neither adds to the sum nor to the count")


@exercise("all_facts_right")
def all_facts_right(check, answer):
    """``answer(read, wanted)`` (dicts of (N,) long tensors, same keys) -> the share of rows where every fact agrees."""
    wanted = {"shape": torch.tensor([0, 1, 2, 3, 0, 1]), "colour": torch.tensor([1, 1, 2, 0, 3, 2]),
              "place": torch.tensor([0, 1, 0, 1, 0, 1])}
    read = {"shape": torch.tensor([0, 1, 2, 0, 0, 1]), "colour": torch.tensor([1, 0, 2, 0, 3, 2]),
            "place": torch.tensor([0, 1, 0, 1, 1, 1])}
    got = check.call(answer, {k: v.clone() for k, v in wanted.items()}, wanted,
                     what="all_facts_right(wanted, wanted)")
    check.close(check.tensor(got, "the share").reshape(()), torch.tensor(1.0), "the share for a perfect reading",
                "return one number: the share of rows whose facts all match")
    check.passed("a perfect reading scores 1")
    got = check.call(answer, read, wanted, what="all_facts_right(read, wanted)")
    value = check.tensor(got, "the share").reshape(-1)
    per_fact = sum((read[k] == wanted[k]).double().mean() for k in wanted) / len(wanted)
    if len(value) == 1 and abs(value.item() - per_fact.item()) < 1e-9:
        check.fail(f"{value.item():.3f} is the average of the per-fact accuracies",
                   "a row counts only when every one of its facts is right: AND the comparisons, then average")
    check.close(value.reshape(()), torch.tensor(3 / 6), "the share of rows with every fact right",
                "start from a tensor of True (N,), AND it with read[k] == wanted[k] for every fact k, "
                "then .float().mean()")
    check.passed("a row counts only when every fact is right (3 of these 6 rows)")


@exercise("mean_pairwise_distance")
def mean_pairwise_distance(check, answer):
    """``answer(images (N, ...))`` -> the average Euclidean distance over the N (N - 1) / 2 pairs."""
    from ..metrics import mean_pairwise_distance as reference

    same = torch.ones(4, 3, 2, 2)
    got = check.call(answer, same, what="mean_pairwise_distance of four equal pictures")
    check.close(check.tensor(got, "the distance").reshape(()), torch.tensor(0.0), "the variety of identical pictures",
                "identical pictures are at distance 0 from each other")
    check.passed("identical pictures have no variety")
    corners = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]]).view(3, 1, 1, 2)
    got = check.call(answer, corners, what="mean_pairwise_distance of three points")
    value = check.tensor(got, "the distance").reshape(-1)
    if len(value) == 1 and abs(value.item() - 12 / 9) < 1e-6:
        check.fail("the zero distance of each picture to itself is averaged in",
                   "average over the pairs i < j only: N (N - 1) / 2 of them")
    check.close(value.reshape(()), torch.tensor(4.0), "the mean distance of the points (0, 0), (3, 4), (0, 4)",
                "the three distances are 5, 3 and 4; flatten each picture to a vector first")
    pictures = torch.rand(5, 3, 4, 4, generator=torch.Generator().manual_seed(5))
    got = check.call(answer, pictures, what="mean_pairwise_distance of five pictures")
    check.close(check.tensor(got, "the distance").reshape(()), torch.tensor(reference(pictures)),
                "the mean distance of five pictures", "flatten each picture (flatten(1)), then average the "
                "Euclidean distance (not its square) over all pairs")
    check.passed("the mean distance over all pairs of flattened pictures")


@exercise("baseline_losses")
def baseline_losses(check, answer):
    """``answer(x0)`` -> (the noise-prediction loss of always predicting zero, the picture-prediction loss of
    always predicting the average picture), for training pictures ``x0`` (N, C, H, W) and mean-squared losses."""
    gen = torch.Generator().manual_seed(7)
    for shape in ((50, 3, 4, 4), (20, 1, 2, 3)):
        x0 = torch.rand(shape, generator=gen) * 2 - 1
        x0[:, 0] += 0.5  # a mean picture that is not zero, and differs between pixels
        result = check.call(answer, x0, what=f"baseline_losses(x0 of shape {shape})")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            check.fail(f"baseline_losses should return a pair, got {type(result).__name__}", "return eps_loss, x0_loss")
        eps_loss, x0_loss = (check.tensor(v, what) for v, what in zip(result, ("the noise loss", "the picture loss")))
        if eps_loss.numel() != 1 or x0_loss.numel() != 1:
            check.fail("each loss should be one number", "average over every pixel of every picture")
        eps_loss, x0_loss = eps_loss.item(), x0_loss.item()
        if not math.isclose(eps_loss, 1.0, rel_tol=1e-6):
            check.fail(f"the noise loss of predicting zero is {eps_loss:.4f}",
                       "the noise is standard normal: the mean of its square, whatever the pictures, is 1")
        expected = (x0 - x0.mean(0)).pow(2).mean().item()
        if math.isclose(x0_loss, x0.pow(2).mean().item(), rel_tol=1e-6):
            check.fail("that is the loss of predicting an all-zero (mid-grey) picture",
                       "the best constant prediction is the average picture, x0.mean(0): its loss is the variance")
        if math.isclose(x0_loss, (x0 - x0.mean()).pow(2).mean().item(), rel_tol=1e-6):
            check.fail("you subtracted one mean over all pixels", "the average *picture* has its own mean at every "
                       "pixel and channel: x0.mean(0), of shape (C, H, W)")
        if not math.isclose(x0_loss, expected, rel_tol=1e-4):
            check.fail(f"the picture loss is {x0_loss:.4f}, expected {expected:.4f}",
                       "average (x0 - x0.mean(0)) ** 2 over every pixel of every picture")
    check.passed("predicting zero noise costs 1; predicting the average picture costs the pixels' variance")


def guidance_experiment(accuracy_at):
    """A checker for the experiment 'find a guidance strength that helps': ``accuracy_at(w)`` measures the model's
    caption accuracy at strength ``w`` (the notebook's measurement, on its fixed captions and noise)."""

    @exercise("a guidance strength that helps")
    def guidance_strength(check, answer):
        """``answer()`` -> a strength w > 0 at which the model draws more captions right than at w = 0."""
        w = check.call(answer, what="chosen_strength()")
        if isinstance(w, torch.Tensor) and w.numel() == 1:
            w = w.item()
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            check.fail(f"chosen_strength() should return a number, got {w!r}", "return a float such as 1.5")
        if not 0 < w <= 20:
            check.fail(f"w = {w:g} is not a strength from just above 0 to 20",
                       "w = 0 is no guidance, the model alone; a negative w pushes away from the caption")
        base, got = accuracy_at(0.0), accuracy_at(float(w))
        if not got > base:
            check.fail(f"at w = {w:g} the model draws {got:.3f} of the captions right, no more than {base:.3f} "
                       "at w = 0", "a very small w changes little; a very large one overshoots the colours; "
                       "try a few units")
        check.passed(f"at w = {w:g} the model draws {got:.3f} of the captions right, against {base:.3f} at w = 0")

    return guidance_strength
