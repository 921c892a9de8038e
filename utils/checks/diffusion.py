"""Checkers for the diffusion chapters: the forward process, the training loss, one DDIM step (chapter 6);
how well two histograms match, the noise behind a predicted picture, PSNR (chapter 7)."""

from __future__ import annotations

import torch

from .. import diffusion as D
from .core import exercise


def _schedule() -> D.Schedule:
    return D.cosine_schedule(50)


@exercise("q_sample")
def q_sample(check, answer):
    """``answer(x0, t, noise, alpha_bar)`` -> x_t, a draw from q(x_t | x_0) using the given noise."""
    schedule = _schedule()
    gen = torch.Generator().manual_seed(0)
    points = torch.randn(6, 2, generator=gen)
    t = torch.tensor([0, 5, 10, 20, 35, 49])
    noise = torch.randn(6, 2, generator=gen)
    got = check.call(answer, points, t, noise, schedule.alpha_bar, what="q_sample(x0, t, noise, alpha_bar)")
    hint = "x_t = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * noise: the square roots scale the *std*"
    check.close(got, D.q_sample(points, t, noise, schedule), "x_t for six 2-D points", hint)
    check.passed("2-D points are noised to the right level for each t")
    images = torch.rand(3, 1, 4, 4, generator=gen)
    noise = torch.randn(3, 1, 4, 4, generator=gen)
    t = torch.tensor([2, 25, 49])
    got = check.call(answer, images, t, noise, schedule.alpha_bar, what="q_sample on images (3, 1, 4, 4)")
    check.close(got, D.q_sample(images, t, noise, schedule), "x_t for three images",
                "alpha_bar[t] has shape (B,); reshape it to (B, 1, 1, 1) (e.g. .view(-1, *[1] * (x0.ndim - 1))) "
                "so it broadcasts over each image")
    check.passed("works for images of any shape (broadcasting over all but the batch dimension)")


class _Denoiser(torch.nn.Module):
    """A fixed, small 'model' whose output depends on both x_t and t."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, x, t):
        return self.scale * x + 0.01 * t.float().view(-1, *([1] * (x.ndim - 1)))


@exercise("diffusion_loss")
def diffusion_loss(check, answer):
    """``answer(model, x0, t, noise, alpha_bar)`` -> the mean squared error between model(x_t, t) and noise."""
    schedule = _schedule()
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(8, 2, generator=gen)
    t = torch.randint(50, (8,), generator=gen)
    noise = torch.randn(8, 2, generator=gen)
    model = _Denoiser()
    with torch.no_grad():
        expected = torch.nn.functional.mse_loss(model(D.q_sample(x0, t, noise, schedule), t), noise)
        wrong_target = torch.nn.functional.mse_loss(model(D.q_sample(x0, t, noise, schedule), t), x0)
    got = check.call(answer, model, x0, t, noise, schedule.alpha_bar,
                     what="diffusion_loss(model, x0, t, noise, alpha_bar)")
    value = check.tensor(got, "the loss")
    if value.numel() != 1:
        check.fail(f"the loss should be one number, got shape {tuple(value.shape)}", "take the mean over everything")
    if torch.allclose(value.reshape(()), wrong_target.double(), atol=1e-6):
        check.fail("the loss compares the prediction with x0", "the model predicts the *noise* that was added")
    check.close(value.reshape(()), expected, "the loss",
                "noise x0 to x_t with the closed form, call model(x_t, t), and take the mean of "
                "(prediction - noise) ** 2 over every element")
    check.passed("the loss is the mean squared error between predicted and true noise")
    if not (isinstance(got, torch.Tensor) and got.requires_grad):
        check.fail("the loss carries no gradient to the model's weights",
                   "return a torch tensor computed with torch operations, without .item(), float() or numpy")
    check.passed("gradients flow through the loss")


@exercise("ddim_step")
def ddim_step(check, answer):
    """``answer(x_t, eps, alpha_bar_t, alpha_bar_prev)`` -> x at the earlier noise level (eta = 0)."""
    gen = torch.Generator().manual_seed(2)
    x_t = torch.randn(5, 2, generator=gen)
    eps = torch.randn(5, 2, generator=gen)
    ab_t, ab_prev = torch.tensor(0.3), torch.tensor(0.7)
    got = check.call(answer, x_t, eps, ab_t, ab_prev, what="ddim_step(x_t, eps, 0.3, 0.7)")
    expected = D.ddim_step(x_t, eps, ab_t, ab_prev)
    check.close(got, expected, "x_prev",
                "first x0 = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t); then x_prev = sqrt(ab_prev) x0 + "
                "sqrt(1 - ab_prev) eps, re-using the same eps (no fresh noise)")
    check.passed("one step from alpha_bar 0.3 to 0.7 is right")
    got = check.call(answer, x_t, eps, ab_t, torch.tensor(1.0), what="ddim_step to alpha_bar_prev = 1")
    check.close(got, D.predict_x0(x_t, eps, ab_t), "the last step (alpha_bar_prev = 1)",
                "at alpha_bar_prev = 1 there is no noise left: the step returns the estimate of x0")
    check.passed("the last step returns the estimate of x0")



@exercise("histogram_match")
def histogram_match(check, answer):
    """``answer(a, b)`` -> 1 minus the total-variation distance between the value histograms of a and b."""
    from ..metrics import histogram_match as reference_match

    a = torch.tensor([10, 10, 11, 12, 13, 13, 13, 10])
    got = check.call(answer, a, a.clone(), what="histogram_match(a, a)")
    check.close(check.number(got, "the match"), torch.tensor(1.0, dtype=torch.float64),
                "the match of a set with itself", "identical histograms have total-variation distance 0, so match 1")
    check.passed("a histogram matches itself perfectly")
    got = check.call(answer, torch.tensor([0, 0, 1]), torch.tensor([5, 6]), what="histogram_match of disjoint values")
    check.close(check.number(got, "the match"), torch.tensor(0.0, dtype=torch.float64),
                "the match of sets with no value in common", "histograms with no common value are 1 apart")
    check.passed("disjoint histograms match 0")
    b = torch.tensor([10, 11, 11, 11, 12, 13])
    expected = reference_match(a, b)
    got = check.call(answer, a, b, what="histogram_match(a, b) for sets of 8 and 6 values")
    check.close(check.number(got, "the match"), torch.tensor(expected, dtype=torch.float64),
                "the match of two sets of different sizes",
                "turn counts into shares (divide by each set's own length), then 1 - 0.5 * sum |p_a - p_b| "
                "over every value that occurs in either set")
    check.passed("sets of different sizes are compared through their shares")


@exercise("noise_from_x0")
def noise_from_x0(check, answer):
    """``answer(x_t, x0, alpha_bar_t)`` -> the noise that takes x0 to x_t."""
    gen = torch.Generator().manual_seed(4)
    x0, noise = torch.randn(3, 1, 4, 4, generator=gen), torch.randn(3, 1, 4, 4, generator=gen)
    ab = torch.tensor([0.9, 0.5, 0.05]).view(-1, 1, 1, 1)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    got = check.call(answer, x_t, x0, ab, what="noise_from_x0(x_t, x0, alpha_bar_t)")
    check.close(got, noise, "the recovered noise",
                "solve x_t = sqrt(ab) x0 + sqrt(1 - ab) noise for the noise: (x_t - sqrt(ab) x0) / sqrt(1 - ab)")
    check.passed("the noise is recovered exactly at three noise levels")


@exercise("psnr")
def psnr(check, answer):
    """``answer(images, reference)`` -> PSNR in dB for pixels in [0, 1]."""
    from ..data import psnr as reference_psnr

    gen = torch.Generator().manual_seed(5)
    reference = torch.rand(4, 3, 8, 8, generator=gen)
    images = (reference + 0.05 * torch.randn(4, 3, 8, 8, generator=gen)).clamp(0, 1)
    got = check.call(answer, images, reference, what="psnr(images, reference)")
    value = check.number(got, "the PSNR of the whole set",
                    "average the squared error over every pixel of every image first, then take 10 log10(1 / MSE)")
    check.close(value, reference_psnr(images, reference), "PSNR",
                "PSNR = 10 * log10(1 / MSE), with the MSE over all pixels (the peak value is 1); "
                "a log10 of the RMSE would need 20, not 10")
    check.passed("PSNR of a noisy set of pictures is right")


@exercise("gaussian_floor")
def gaussian_floor(check, answer):
    """``answer(alpha_bar, std)`` -> the least possible noise-prediction loss per coordinate at each level, for
    data N(mu, std^2 I): alpha_bar std^2 / (alpha_bar std^2 + 1 - alpha_bar)."""
    alpha_bar = torch.tensor([0.9995, 0.99, 0.9, 0.5, 0.1, 1e-4], dtype=torch.float64)
    for std in (0.02, 1.0, 0.3):
        expected = alpha_bar * std**2 / (alpha_bar * std**2 + 1 - alpha_bar)
        got = check.call(answer, alpha_bar, std, what=f"gaussian_floor(alpha_bar, std={std})")
        got = check.tensor(got, "the floors")
        if got.shape == expected.shape and torch.allclose(got, 1 - expected, atol=1e-6):
            check.fail(f"for std = {std} you return the part of the noise that x_t gives away",
                       "the floor is what is left: 1 minus the explained share b^2 / v")
        if got.shape == expected.shape and torch.allclose(got, 1 - alpha_bar, atol=1e-6):
            check.fail("the floor does not depend on std", "the data's own spread s^2 is what hides the noise at "
                       "small t: v = alpha_bar s^2 + (1 - alpha_bar) is x_t's variance per coordinate")
        check.close(got, expected, f"the floors for std = {std}",
                    "with a = sqrt(alpha_bar), b = sqrt(1 - alpha_bar): v = a^2 s^2 + b^2 and the floor is "
                    "1 - b^2 / v; use s^2, the variance, not s")
    check.passed("right at six noise levels for data of standard deviation 0.02, 0.3 and 1")
    check.passed("at t = 0 the floor of the ring's modes is near 1/2, at the last step near 0: small steps are hard")


@exercise("psnr_from_rmse")
def psnr_from_rmse(check, answer):
    """``answer(detail_std, ratio)`` -> the PSNR (dB) of a method whose RMSE is ``ratio`` times bicubic's, where
    bicubic's error is the detail, of standard deviation ``detail_std`` (and mean zero), for pixels in [0, 1]."""
    import math

    cases = [(0.05, 1.0), (0.05, 0.5), (0.1, 0.8), (0.02, 2.0)]
    for detail_std, ratio in cases:
        got = check.call(answer, detail_std, ratio, what=f"psnr_from_rmse({detail_std}, {ratio})")
        value = check.number(got, "the PSNR", "return one number, in dB")
        expected = -20 * math.log10(detail_std * ratio)
        if abs(value - expected / 2) < 1e-6:
            check.fail(f"psnr_from_rmse({detail_std}, {ratio}) is half the right value",
                       "PSNR = 10 log10(1 / MSE), and the MSE is the RMSE squared: 20 log10(1 / RMSE)")
        check.close(value, torch.tensor(expected, dtype=torch.float64), f"the PSNR for std {detail_std}, ratio {ratio}",
                    "bicubic's MSE is the detail's variance, detail_std ** 2; the method's RMSE is ratio * detail_std; "
                    "PSNR = 10 log10(1 / MSE)")
    check.passed("right for four detail sizes and ratios")
    check.passed(f"halving the RMSE adds 20 log10(2) = {20 * math.log10(2):.2f} dB, whatever the starting error")
