"""The diffusion checkers accept the reference answers and reject wrong ones without raising."""

import math

import torch
import torch.nn.functional as F

from tests.checker_cases import checker_tests
from utils import checks


def ref_q_sample(x0, t, noise, alpha_bar):
    ab = alpha_bar[t].view(-1, *([1] * (x0.ndim - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def ref_loss(model, x0, t, noise, alpha_bar):
    return F.mse_loss(model(ref_q_sample(x0, t, noise, alpha_bar), t), noise)


def ref_ddim_step(x_t, eps, ab_t, ab_prev):
    x0 = (x_t - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()
    return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps


def ref_match(a, b):
    lo = min(a.min(), b.min())
    n = int(max(a.max(), b.max()) - lo) + 1
    pa = torch.bincount(a - lo, minlength=n) / len(a)
    pb = torch.bincount(b - lo, minlength=n) / len(b)
    return 1 - 0.5 * (pa - pb).abs().sum()


def ref_noise(x_t, x0, ab):
    return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()


def ref_psnr(images, reference):
    return 10 * torch.log10(1 / (images - reference).pow(2).mean())


CASES = {
    "q_sample": (ref_q_sample, [
        lambda x0, t, noise, ab: torch.zeros(3),  # wrong shape
        lambda x0, t, noise, ab: ab[t].view(-1, *([1] * (x0.ndim - 1))) * x0
        + (1 - ab[t].view(-1, *([1] * (x0.ndim - 1)))) * noise,  # near miss: no square roots
    ]),
    "diffusion_loss": (ref_loss, [
        lambda model, x0, t, noise, ab: torch.zeros(2),  # wrong shape
        lambda model, x0, t, noise, ab: F.mse_loss(model(ref_q_sample(x0, t, noise, ab), t), x0),  # target x0
        lambda model, x0, t, noise, ab: ref_loss(model, x0, t, noise, ab).item(),  # no gradient
        lambda model, x0, t, noise, ab: F.mse_loss(model(ref_q_sample(x0, t, noise, ab), t), noise,
                                                   reduction="sum"),  # near miss: sum
    ]),
    "ddim_step": (ref_ddim_step, [
        lambda x_t, eps, ab_t, ab_prev: x_t[:1],  # wrong shape
        lambda x_t, eps, ab_t, ab_prev: ab_prev.sqrt() * x_t + (1 - ab_prev).sqrt() * eps,  # near miss: no x0
    ]),
    "histogram_match": (ref_match, [
        lambda a, b: "high",  # not a number
        lambda a, b: torch.ones(2),  # not one number
        lambda a, b: 1 - (torch.bincount(a, minlength=20)[:20] / len(a)
                          - torch.bincount(b, minlength=20)[:20] / len(b)).abs().sum(),  # near miss: no 0.5
        lambda a, b: 1 - 0.5 * (torch.bincount(a, minlength=20)[:20]
                                - torch.bincount(b, minlength=20)[:20]).abs().sum() / len(a),  # counts, not shares
    ]),
    "noise_from_x0": (ref_noise, [
        lambda x_t, x0, ab: x_t - x0,  # near miss
        lambda x_t, x0, ab: (x_t - ab * x0) / (1 - ab),  # no square roots
    ]),
    "psnr": (ref_psnr, [
        lambda images, reference: 10 * torch.log10(1 / (images - reference).pow(2).mean((1, 2, 3))),  # per image
        lambda images, reference: 20 * torch.log10(1 / (images - reference).pow(2).mean()),  # 20, not 10
        lambda images, reference: 10 * torch.log10(1 / (images - reference).pow(2).mean((1, 2, 3))).mean(),  # mean
    ]),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({getattr(checks, name): case for name, case in CASES.items()})


def test_stub_prints_not_yet(capsys):
    assert not checks.q_sample(lambda *a: None)
    assert "returned None" in capsys.readouterr().out


# The thinking exercises of chapters 6 and 7: the floor of one mode, and PSNR predicted from an RMSE.
def ref_floor(alpha_bar, std):
    return alpha_bar * std**2 / (alpha_bar * std**2 + 1 - alpha_bar)


def ref_psnr_from_rmse(detail_std, ratio):
    import math

    return -20 * math.log10(detail_std * ratio)


PREDICTIONS = {
    checks.diffusion.gaussian_floor: (ref_floor, [
        lambda ab, s: 1 - ref_floor(ab, s),  # the explained part, not what is left
        lambda ab, s: 1 - ab,  # the noise's share, without the data's spread
        lambda ab, s: ab * s / (ab * s + 1 - ab),  # std for variance
        lambda ab, s: ref_floor(ab, s).mean(),  # one number, not one per level
    ]),
    checks.diffusion.psnr_from_rmse: (ref_psnr_from_rmse, [
        lambda s, r: ref_psnr_from_rmse(s, r) / 2,  # 10 log10 of the RMSE: forgot to square
        lambda s, r: -20 * math.log10(s) + r,  # the ratio added, not multiplied
        lambda s, r: 20 * math.log10(s * r),  # the sign
        lambda s, r: -20 * math.log10(s / r),  # divided by the ratio
    ]),
}
test_prediction_reference_passes, test_prediction_wrong_answers_fail, test_prediction_in_float64_passes = \
    checker_tests(PREDICTIONS)
