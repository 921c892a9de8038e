"""The GAN checkers accept the reference answers and reject wrong ones without raising."""

import pytest
import torch
import torch.nn.functional as F

from tests.checker_cases import assert_passes, assert_rejected
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



CASES = {
    checks.gan_losses: (good_losses, [saturating_losses, unstable_losses,
                                      lambda r, f: torch.zeros(3), lambda r, f: (good_losses(r, f)[0] * 1.01,
                                                                                  good_losses(r, f)[1])]),
    checks.mode_coverage: (lambda s, m, std: reference_coverage(s, m, std),
                           [coverage_without_quality, lambda s, m, std: (0, 0.0),
                            lambda s, m, std: torch.zeros(2, 2)]),
    checks.r1_penalty: (good_r1, [detached_r1, summed_r1, lambda d, r: torch.zeros(2, 2)]),
}


@pytest.mark.parametrize("checker", list(CASES), ids=lambda c: c.__name__)
def test_reference_passes(checker, capsys):
    assert_passes(checker, CASES[checker][0], capsys)


@pytest.mark.parametrize("checker", list(CASES), ids=lambda c: c.__name__)
def test_wrong_answers_fail_without_raising(checker, capsys):
    assert_rejected(checker, CASES[checker][1], capsys)
