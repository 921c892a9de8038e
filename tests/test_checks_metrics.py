"""The metrics checkers accept the reference answers and reject wrong ones without raising."""

import math
from collections import Counter

import scipy.linalg
import torch

from tests.checker_cases import checker_tests
from utils import checks


def good_perplexity(losses):
    return math.exp(float(torch.as_tensor(losses).mean()))


def good_precision(hyp, ref, n):
    grams = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    ref_grams = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    total = sum(grams.values())
    return sum(min(c, ref_grams[g]) for g, c in grams.items()) / total if total else 0.0


def unclipped_precision(hyp, ref, n):
    ref_grams = {tuple(ref[i:i + n]) for i in range(len(ref) - n + 1)}
    grams = [tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1)]
    return sum(g in ref_grams for g in grams) / len(grams) if grams else 0.0


def good_frechet(mu1, cov1, mu2, cov2):
    root = torch.as_tensor(scipy.linalg.sqrtm((cov1 @ cov2).numpy()).real)
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2 - 2 * root))


def elementwise_frechet(mu1, cov1, mu2, cov2):
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2 - 2 * (cov1 * cov2).abs().sqrt()))


CASES = {
    checks.perplexity: (good_perplexity, [lambda losses: float(torch.exp(torch.as_tensor(losses)).mean()),
                                          lambda losses: 2 ** float(torch.as_tensor(losses).mean()),
                                          lambda losses: math.exp(float(torch.as_tensor(losses).sum())),
                                          lambda losses: "7"]),
    checks.modified_precision: (good_precision, [unclipped_precision, lambda h, r, n: 1.0,
                                                 lambda h, r, n: good_precision(h, r, n) * len(h)]),
    checks.gaussian_frechet: (good_frechet, [elementwise_frechet, lambda m1, c1, m2, c2: float(((m1 - m2) ** 2).sum()),
                                             lambda m1, c1, m2, c2: good_frechet(m1, c1, m2, c2) ** 0.5]),
}

test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests(CASES)


# The thinking exercise: the loss of a fresh model that bets evenly on every token.
INITIAL = {
    checks.metrics.initial_loss: (lambda v: (math.log(v), float(v)), [
        lambda v: (math.log2(v), float(v)),  # bits, not nats
        lambda v: (1 / v, float(v)),  # a probability, not a loss
        lambda v: (math.log(v), math.log(v)),  # the perplexity is exp(loss)
        lambda v: math.log(v),  # not a pair
    ]),
}
test_initial_reference_passes, test_initial_wrong_answers_fail, test_initial_in_float64_passes = checker_tests(INITIAL)
