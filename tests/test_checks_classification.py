"""Each checker accepts the reference answer and rejects wrong ones without raising."""

import torch
import torch.nn.functional as F

from tests.checker_cases import checker_tests
from utils import checks


def good_cross_entropy(z, y):
    return F.binary_cross_entropy_with_logits(z, y)


def good_gaussians(x, y, k):
    means = torch.stack([x[y == c].mean(0) for c in range(k)])
    centred = x - means[y]
    return means, centred.T @ centred / len(x), torch.bincount(y, minlength=k).to(x.dtype) / len(y)


def good_posterior(log_lik, log_prior):
    return torch.softmax(log_lik + log_prior, dim=1)



CASES = {
    checks.sigmoid_cross_entropy: (
        good_cross_entropy,
        [
            lambda z, y: -(y * torch.sigmoid(z).log() + (1 - y) * (1 - torch.sigmoid(z)).log()).mean(),  # near miss
            lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"),  # wrong shape
            lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
        ],
    ),
    checks.fit_class_gaussians: (
        good_gaussians,
        [
            lambda x, y, k: (good_gaussians(x, y, k)[0], good_gaussians(x, y, k)[1] * len(x) / (len(x) - k),
                             good_gaussians(x, y, k)[2]),  # near miss: unbiased covariance
            lambda x, y, k: (good_gaussians(x, y, k)[0], torch.cov(x.T), good_gaussians(x, y, k)[2]),
            lambda x, y, k: good_gaussians(x, y, k)[:2],  # wrong shape of answer
            lambda x, y, k: (good_gaussians(x, y, k)[0].T, *good_gaussians(x, y, k)[1:]),
        ],
    ),
    checks.bayes_posterior: (
        good_posterior,
        [
            lambda lik, p: torch.exp(lik + p) / torch.exp(lik + p).sum(1, keepdim=True),  # near miss: unstable
            lambda lik, p: torch.softmax(lik, dim=1),  # forgets the prior
            lambda lik, p: torch.softmax(lik + p, dim=0),
            lambda lik, p: (lik + p).numpy().tolist(),
        ],
    ),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({checker: (answer, ["not a function", *wrong]) for checker, (answer, wrong) in CASES.items()})


# The thinking exercise: predict the share of a class in a generative model's samples.
PREDICTION_CASES = {
    checks.predicted_share: (
        lambda counts, k: counts[k] / sum(counts),
        [lambda counts, k: 1 / len(counts),  # as if the classes were balanced
         lambda counts, k: counts[k] / (sum(counts) - counts[k]),  # odds, not a share
         lambda counts, k: counts[k]],  # a count, not a share
    ),
}
test_prediction_passes, test_wrong_predictions_fail, test_a_prediction_in_float64_passes = \
    checker_tests(PREDICTION_CASES)
