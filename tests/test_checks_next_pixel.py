"""The next-pixel checkers accept the reference answers and reject wrong ones without raising."""

import math

import torch

from tests.checker_cases import checker_tests
from utils import checks


def good_bits_per_dim(nll_nats):
    return nll_nats.mean().item() / (64 * math.log(2))


def good_histograms(levels, alpha):
    counts = torch.zeros(levels.shape[1], 17)
    for pixel in range(levels.shape[1]):
        counts[pixel] = torch.bincount(levels[:, pixel], minlength=17)
    counts += alpha
    return counts / counts.sum(1, keepdim=True)


def good_mask(kernel_size, mask_type):
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c] = 1
    mask[c, :c] = 1
    mask[c, c] = float(mask_type == "B")
    return mask


CASES = {
    checks.bits_per_dim: (good_bits_per_dim, [
        lambda nll: nll.mean().item() / math.log(2),  # bits per image
        lambda nll: nll.mean().item() / 64,  # nats per pixel
        lambda nll: nll.mean().item() / (64 * math.log(10)),  # log10
        lambda nll: nll.sum().item() / (64 * math.log(2)),  # a sum over images
        lambda nll: nll / (64 * math.log(2)),  # not one number
    ]),
    checks.pixel_histograms: (good_histograms, [
        lambda levels, alpha: good_histograms(levels, alpha).T,  # (17, 64)
        lambda levels, alpha: good_histograms(levels, 0.0),  # alpha forgotten
        lambda levels, alpha: good_histograms(levels, alpha) * 2,  # not normalised
        lambda levels, alpha: torch.full((64, 17), 1 / 17),  # uniform
    ]),
    checks.conv_mask: (good_mask, [
        lambda k, t: good_mask(k, "B" if t == "A" else "A"),  # the types swapped
        lambda k, t: good_mask(k, t).T,  # transposed
        lambda k, t: torch.ones(k, k),  # no mask
        lambda k, t: good_mask(k, t).flip(0),  # the rows below
        lambda k, t: good_mask(3, t),  # always 3x3
    ]),
    checks.leaky_bits_per_dim: (lambda: 0.0, [
        lambda: 2.0,  # a typical honest model
        lambda: math.log2(17),  # the uniform guess
        lambda: -1.0,  # impossible
        lambda: "0",  # not a number
    ]),
}

test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests(CASES)
