"""Chapter 0's checkers accept the reference answers and reject wrong ones without raising."""

import math

import torch

from tests.checker_cases import checker_tests
from utils import checks


def good_gradients(x, y, w, b):
    error = (torch.sigmoid(x @ w + b) - y) / len(y)  # dL/dz for each example of the mean loss
    return x.T @ error, error.sum()


def autograd_gradients(x, y, w, b):  # right numbers, but by autograd: the checker switches it off
    w, b = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y).backward()
    return w.grad, b.grad


CASES = {
    checks.logistic_gradients: (
        good_gradients,
        [
            lambda x, y, w, b: tuple(-g for g in good_gradients(x, y, w, b)),  # y - p: the sign flipped
            lambda x, y, w, b: tuple(g * len(y) for g in good_gradients(x, y, w, b)),  # the summed loss
            lambda x, y, w, b: (x.T @ (x @ w + b - y) / len(y), (x @ w + b - y).mean()),  # forgot the sigmoid
            lambda x, y, w, b: (good_gradients(x, y, w, b)[0], torch.zeros(())),  # no bias gradient
            lambda x, y, w, b: good_gradients(x, y, w, b)[0],  # not a pair
            lambda x, y, w, b: (x * good_gradients(x, y, w, b)[0], good_gradients(x, y, w, b)[1]),  # wrong shape
            autograd_gradients,
        ],
    ),
    checks.largest_stable_lr: (
        lambda curvatures: 2 / curvatures.max(),
        [
            lambda c: 1 / c.max(),  # the rate of the one-step landing, not of divergence
            lambda c: 2 / c.min(),  # the shallowest direction
            lambda c: 2 / c.mean(),
            lambda c: 2 / c,  # one rate per direction, not one number
            lambda c: float("nan"),
            lambda c: "0.1",
        ],
    ),
    checks.initial_loss: (
        lambda k: math.log(k),
        [
            lambda k: math.log2(k),  # bits, not nats
            lambda k: math.log10(k),
            lambda k: 1 / k,  # the probability, not the loss
            lambda k: -math.log(k),
            lambda k: math.log(k - 1),
            lambda k: 2.3,  # right for 10 classes only: a number remembered, not a prediction
            lambda k: 0.0,
        ],
    ),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({checker: (answer, ["not a function", *wrong]) for checker, (answer, wrong) in CASES.items()})


def test_a_prediction_measured_from_an_untrained_network_passes(capsys):
    # A reader may answer by measuring: a freshly initialised linear layer on unit inputs lands within 2 %.
    def measured(k):
        torch.manual_seed(0)
        logits = torch.nn.Linear(64, k)(torch.randn(4096, 64) * 0.1)
        return torch.nn.functional.cross_entropy(logits, torch.randint(k, (4096,))).item()

    assert checks.initial_loss(measured)
    capsys.readouterr()
