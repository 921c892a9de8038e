"""Checkers for the metrics chapter: perplexity from losses, BLEU's modified n-gram precision,
and the Frechet distance between two Gaussians."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import scipy.linalg
import torch

from .core import exercise


@exercise("perplexity")
def perplexity(check, answer):
    """``answer(token_losses)`` (per-token negative log-likelihoods in nats) -> the perplexity."""
    losses = torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0])
    expected = math.exp(losses.mean().item())
    got = check.number(check.call(answer, losses, what="perplexity(token_losses)"), "the perplexity")
    if math.isclose(got, torch.exp(losses).mean().item(), rel_tol=1e-4):
        check.fail("that is the mean of exp(loss) per token",
                   "average the losses first (the log-likelihood per token), then take exp of the average")
    if math.isclose(got, 2 ** losses.mean().item(), rel_tol=1e-4):
        check.fail("that is 2 ** mean loss, but the losses are in nats", "use exp, the inverse of the natural log")
    if math.isclose(got, math.exp(losses.sum().item()), rel_tol=1e-4):
        check.fail("that is exp of the total loss", "perplexity is per token: exp of the MEAN loss")
    if not math.isclose(got, expected, rel_tol=1e-4):
        check.fail(f"got {got:.5g}, expected {expected:.5g}", "perplexity = exp(mean of the per-token losses)")
    check.passed("perplexity is exp of the mean loss per token")
    uniform = torch.full((7,), math.log(50.0))
    got = check.number(check.call(answer, uniform, what="perplexity of a uniform guess over 50 tokens"),
                  "the perplexity")
    if not math.isclose(got, 50.0, rel_tol=1e-4):
        check.fail(f"a model that spreads its bet evenly over 50 tokens should have perplexity 50, got {got:.4g}")
    check.passed("a uniform guess over 50 tokens has perplexity 50: the effective number of choices")


def _reference_precision(hypothesis: list[str], reference: list[str], n: int) -> float:
    hyp = Counter(tuple(hypothesis[i:i + n]) for i in range(len(hypothesis) - n + 1))
    ref = Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
    total = sum(hyp.values())
    return sum(min(count, ref[gram]) for gram, count in hyp.items()) / total if total else 0.0


@exercise("modified_precision")
def modified_precision(check, answer):
    """``answer(hypothesis tokens, reference tokens, n)`` -> BLEU's clipped n-gram precision."""
    cases = [("the the the the the the the", "the cat is on the mat", 1),
             ("the cat sat on the mat", "the cat is on the mat", 1),
             ("the cat sat on the mat", "the cat is on the mat", 2),
             ("on the mat the cat sat", "the cat sat on the mat", 3),
             ("a b", "a b c", 3)]
    for hypothesis, reference, n in cases:
        hyp, ref = hypothesis.split(), reference.split()
        expected = _reference_precision(hyp, ref, n)
        got = check.number(check.call(answer, hyp, ref, n, what=f"modified_precision({hypothesis!r}, {reference!r}, "
                                                             f"{n})"), "the precision")
        if not math.isclose(got, expected, abs_tol=1e-6):
            unclipped = sum(tuple(hyp[i:i + n]) in set(tuple(ref[j:j + n]) for j in range(len(ref) - n + 1))
                            for i in range(len(hyp) - n + 1)) / max(len(hyp) - n + 1, 1)
            hint = ("each n-gram of the hypothesis may count only as often as it occurs in the reference (clip the "
                    "counts): otherwise 'the the the ...' scores 1" if math.isclose(got, unclipped, abs_tol=1e-6)
                    else "count the hypothesis's n-grams, clip each count by the reference's count of the same n-gram, "
                         "and divide the clipped total by the number of hypothesis n-grams (0 when there are none)")
            check.fail(f"for {hypothesis!r} against {reference!r} with n = {n}: got {got:.4g}, expected {expected:.4g}",
                       hint)
    check.passed("clipped counts: 'the the the the the the the' gets 2/7, not 7/7")
    check.passed("bigrams and trigrams, and a hypothesis shorter than n (precision 0)")


def _reference_frechet(mu1, cov1, mu2, cov2) -> float:
    root = scipy.linalg.sqrtm(cov1 @ cov2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1 + cov2 - 2 * root))


@exercise("gaussian_frechet")
def gaussian_frechet(check, answer):
    """``answer(mu1, cov1, mu2, cov2)`` (float64 tensors) -> the squared Frechet distance of two Gaussians."""
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=3), rng.normal(size=3)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    cov1, cov2 = a @ a.T + 0.1 * np.eye(3), b @ b.T + 0.1 * np.eye(3)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    diagonal = (np.zeros(3), np.diag([1.0, 4.0, 9.0]), np.ones(3), np.diag([4.0, 4.0, 4.0]))
    expected = _reference_frechet(*diagonal)
    got = check.number(check.call(answer, *map(t, diagonal), what="gaussian_frechet on diagonal covariances"),
                  "the distance")
    mean_only = float(((diagonal[0] - diagonal[2]) ** 2).sum())
    if math.isclose(got, mean_only, rel_tol=1e-5):
        check.fail("only the means' part is there", "add Tr(C1 + C2 - 2 (C1 C2)^(1/2)), the covariances' part")
    if not math.isclose(got, expected, rel_tol=1e-5):
        check.fail(f"for diagonal covariances got {got:.6g}, expected {expected:.6g}",
                   "|mu1 - mu2|^2 (squared, summed) + Tr(C1 + C2 - 2 (C1 C2)^(1/2)); for diagonal C the root is "
                   "the diagonal of sqrt(c1 * c2)")
    check.passed("diagonal covariances: |mu1 - mu2|^2 + sum of (sqrt(c1) - sqrt(c2))^2")
    expected = _reference_frechet(mu1, cov1, mu2, cov2)
    got = check.number(check.call(answer, t(mu1), t(cov1), t(mu2), t(cov2), what="gaussian_frechet on full "
                                    "covariances"), "the distance")
    if math.isclose(got, float(((mu1 - mu2) ** 2).sum() + np.trace(cov1 + cov2 - 2 * np.sqrt(np.abs(cov1 * cov2)))),
                    rel_tol=1e-5):
        check.fail("the square root was taken entry by entry",
                   "(C1 C2)^(1/2) is a matrix square root: scipy.linalg.sqrtm(C1 @ C2), or through eigenvalues")
    if not math.isclose(got, expected, rel_tol=1e-4):
        check.fail(f"for full covariances got {got:.6g}, expected {expected:.6g}",
                   "(C1 C2)^(1/2) is the MATRIX square root of the product, e.g. scipy.linalg.sqrtm(C1 @ C2).real")
    check.passed("full covariances: the matrix square root of C1 C2")
    got = check.number(check.call(answer, t(mu1), t(cov1), t(mu1), t(cov1), what="gaussian_frechet of a Gaussian "
                                    "with itself"), "the distance")
    if abs(got) > 1e-6:
        check.fail(f"a Gaussian's distance to itself should be 0, got {got:.3g}")
    check.passed("a Gaussian is at distance 0 from itself")


@exercise("initial_loss")
def initial_loss(check, answer):
    """``answer(vocab_size)`` -> (loss in nats, perplexity) of a model that bets evenly on every token."""
    for vocab in (30, 2, 512):
        result = check.call(answer, vocab, what=f"initial_loss({vocab})")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            check.fail(f"initial_loss({vocab}) should return a pair, got {type(result).__name__}",
                       "return loss, perplexity")
        loss, ppl = check.number(result[0], "the loss"), check.number(result[1], "the perplexity")
        if math.isclose(loss, math.log2(vocab), rel_tol=1e-6) and not math.isclose(loss, math.log(vocab)):
            check.fail(f"the loss for {vocab} tokens is in bits", "the loss is in nats: the natural log, math.log")
        if abs(loss - 1 / vocab) < 1e-9:
            check.fail("you returned the probability of one token, not its loss", "the loss is -log(1 / V)")
        if not math.isclose(loss, math.log(vocab), rel_tol=1e-6):
            check.fail(f"initial_loss({vocab})'s loss is {loss:.4f}, expected {math.log(vocab):.4f}",
                       "every token gets probability 1 / V, so each costs -log(1 / V) = log V nats")
        if not math.isclose(ppl, vocab, rel_tol=1e-6):
            check.fail(f"initial_loss({vocab})'s perplexity is {ppl:.4f}, expected {vocab}",
                       "perplexity = exp(loss): a model unsure among V equal choices has perplexity V")
    check.passed("a uniform bet over V tokens costs log V nats per token, perplexity V")
