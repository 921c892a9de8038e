"""The GAN checkers accept the reference answers and reject wrong ones without raising."""

import math

import torch
import torch.nn.functional as F

from tests.checker_cases import checker_tests
from utils import checks
from utils.metrics import mode_coverage as reference_coverage


def good_losses(d_real, d_fake):
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean(), F.softplus(-d_fake).mean()


def saturating_losses(d_real, d_fake):
    return good_losses(d_real, d_fake)[0], -F.softplus(d_fake).mean()


def unstable_losses(d_real, d_fake):
    s_real, s_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
    return -(s_real.log().mean() + (1 - s_fake).log().mean()), -s_fake.log().mean()


def good_r1(discriminator, real):
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real).sum(), real, create_graph=True)
    return grad.pow(2).sum(1).mean()


def detached_r1(discriminator, real):
    return good_r1(discriminator, real).detach()


def summed_r1(discriminator, real):
    return good_r1(discriminator, real) * len(real)


def coverage_without_quality(samples, modes, std):
    distance, nearest = torch.cdist(samples, modes).min(1)
    return int(nearest.unique().numel()), (distance <= 3 * std).float().mean().item()


def good_size(size, kernel, stride, padding):
    return (size - 1) * stride - 2 * padding + kernel


def good_projection(features, labels, psi, embed):
    return psi(features).squeeze(1) + (embed(labels) * features).sum(1)


def good_slerp(z0, z1, t):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def unguarded_slerp(z0, z1, t):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


CASES = {
    checks.gan_losses: (good_losses, [saturating_losses, unstable_losses,
                                      lambda r, f: torch.zeros(3), lambda r, f: (good_losses(r, f)[0] * 1.01,
                                                                                  good_losses(r, f)[1])]),
    checks.mode_coverage: (lambda s, m, std: reference_coverage(s, m, std),
                           [coverage_without_quality, lambda s, m, std: (0, 0.0),
                            lambda s, m, std: torch.zeros(2, 2)]),
    checks.r1_penalty: (good_r1, [detached_r1, summed_r1, lambda d, r: torch.zeros(2, 2)]),
    checks.transposed_conv_size: (good_size, [lambda n, k, s, p: (n + 2 * p - k) // s + 1,
                                              lambda n, k, s, p: n * s, lambda n, k, s, p: "8"]),
    checks.projection_logit: (good_projection, [lambda h, y, psi, e: psi(h),
                                                lambda h, y, psi, e: psi(h).squeeze(1),
                                                lambda h, y, psi, e: psi(h).squeeze(1) + e(y) @ h.T,
                                                lambda h, y, psi, e: psi(h).squeeze(1) - (e(y) * h).sum(1)]),
    checks.slerp: (good_slerp, [lambda a, b, t: (1 - t) * a + t * b, unguarded_slerp,
                                lambda a, b, t: good_slerp(b, a, t)]),
}

test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests(CASES)


# The thinking exercise: the high-quality share of a generator that spreads evenly over the plot.
PREDICTION_CASES = {
    checks.uniform_quality_share: (
        lambda n, r, side: n * 3.141592653589793 * r**2 / side**2,
        [lambda n, r, side: n * r**2 / side**2,  # no pi
         lambda n, r, side: 3.141592653589793 * r**2 / side**2,  # one disc
         lambda n, r, side: n * 3.141592653589793 * r**2 / (side / 2) ** 2,  # half the side
         lambda n, r, side: [n * 3.141592653589793 * r**2 / side**2] * 2],  # not one number
    ),
}
test_prediction_passes, test_wrong_predictions_fail, test_a_prediction_in_float64_passes = \
    checker_tests(PREDICTION_CASES)


# The thinking exercise of chapter 4b: the losses at the game's balance.
BALANCE = {
    checks.gans.equilibrium_losses: (lambda: (2 * math.log(2), math.log(2)), [
        lambda: (0.5, 0.5),  # probabilities, not losses
        lambda: (math.log(2), math.log(2)),  # one term in the discriminator's loss
        lambda: (2 * math.log(2), 2 * math.log(2)),  # two terms in the generator's
        lambda: (2 * math.log2(2), math.log2(2)),  # bits, not nats
        lambda: 1.386,  # not a pair
    ]),
}
test_balance_reference_passes, test_balance_wrong_answers_fail, test_balance_in_float64_passes = checker_tests(BALANCE)
