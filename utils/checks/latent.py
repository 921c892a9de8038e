"""Checkers for the VAE and latent diffusion chapter (chapter 11): the reparameterised sample, the
Gaussian KL divergence from the prior, and a prediction of how much cheaper a U-Net call is on a latent
grid than on the pictures."""

from __future__ import annotations

import functools
import math

import torch

from .. import vae as V
from .core import exercise


def _pair():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=gen)
    logvar = torch.randn(4, 3, generator=gen)
    return mu, logvar


@exercise("reparameterise")
def reparameterise(check, answer):
    """``answer(mu, logvar, noise)`` -> mu + exp(logvar / 2) * noise."""
    mu, logvar = _pair()
    noise = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    got = check.tensor(check.call(answer, mu, logvar, noise, what="reparameterise(mu, logvar, noise)"),
                       "the sample")
    for wrong, what, hint in (
            (mu + logvar.exp() * noise, "exp(logvar) is the variance",
             "the noise is scaled by the standard deviation, exp(logvar / 2)"),
            (mu + logvar * noise, "logvar is a log-variance", "the standard deviation is exp(logvar / 2)"),
            (mu + logvar.exp().sqrt(), "the noise is missing", "multiply the standard deviation by noise")):
        if got.shape == wrong.shape and check.matches(got, wrong):
            check.fail(what, hint)
    check.close(got, V.reparameterise(mu, logvar, noise), "the sample (4, 3)",
                "mu plus the standard deviation exp(logvar / 2) times the noise")
    check.passed("z = mu + exp(logvar / 2) * noise: all the randomness is in the noise")
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    got = check.call(answer, mu, logvar, noise, what="reparameterise with gradients")
    if not isinstance(got, torch.Tensor) or got.grad_fn is None:
        check.fail("no gradient reaches mu and logvar", "compute the sample from mu and logvar with torch operations "
                   "(no .detach(), no torch.no_grad(), no .item())")
    got.sum().backward()
    check.close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * noise, "d sample / d logvar",
                "the sample must be mu + exp(logvar / 2) * noise as a torch expression")
    check.passed("gradients reach mu and logvar through the sample: the trick that lets the encoder learn")


@exercise("gaussian_kl")
def gaussian_kl(check, answer):
    """``answer(mu, logvar)`` -> KL(N(mu, exp(logvar)) || N(0, I)), summed over the last dimension."""
    mu, logvar = _pair()
    got = check.tensor(check.call(answer, mu, logvar, what="gaussian_kl(mu, logvar)"), "the KL divergences")
    expected = V.gaussian_kl(mu, logvar)
    per_dimension = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)
    if got.shape == per_dimension.shape and check.matches(got, per_dimension):
        check.fail("the KL is per dimension", "sum over the last dimension: one number per row, shape (4,)")
    if got.shape == expected.shape and check.matches(got, 2 * expected):
        check.fail("twice the KL", "the closed form has a factor 1/2")
    if got.shape == expected.shape and check.matches(got, 0.5 * (mu.pow(2) + logvar.exp() - logvar).sum(-1)):
        check.fail("the -1 per dimension is missing", "without it the KL of N(0, 1) from itself is 1/2, not 0")
    check.close(got, expected, "the KL divergences (4,)",
                "1/2 * sum(mu^2 + exp(logvar) - 1 - logvar) over the last dimension")
    check.passed("KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)")
    zero = check.tensor(check.call(answer, torch.zeros(2, 5), torch.zeros(2, 5), what="gaussian_kl of the prior"),
                        "the KL of N(0, I) from itself")
    check.close(zero, torch.zeros(2), "the KL of N(0, I) from itself", "it must be exactly 0")
    check.passed("the prior's KL from itself is 0")


@functools.lru_cache(maxsize=1)
def _unet_flops_ratio() -> float:
    """FLOPs of one call of a (16, 32) U-Net on a 16x16x3 picture over one call on a 4x4x4 latent grid."""
    from ..flops import count_flops
    from ..unet import UNet

    t = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        pixel = count_flops(UNet(3, channels=(16, 32)), torch.zeros(1, 3, 16, 16), t)
        latent = count_flops(UNet(4, channels=(16, 32)), torch.zeros(1, 4, 4, 4), t)
    return pixel / latent


@exercise("latent_flops_ratio")
def latent_flops_ratio(check, answer):
    """``answer()`` -> the predicted FLOPs ratio of one U-Net call on 16x16 pictures over one on 4x4 latents."""
    got = check.number(check.call(answer, what="latent_flops_ratio()"), "your prediction")
    measured = _unet_flops_ratio()
    if got <= 1:
        check.fail(f"you predicted {got:.3g}: the call on the small grid would cost as much or more",
                   "a convolution does the same work at every position of its grid: how many positions has each?")
    if math.isclose(got, 4, rel_tol=0.1):
        check.fail(f"you predicted {got:.3g}; counted: {measured:.1f}",
                   "the grid is 4 times smaller along each side: count positions, not sides")
    if not math.isclose(got, measured, rel_tol=0.25):
        check.fail(f"you predicted {got:.3g}; counted: {measured:.1f}",
                   "16x16 = 256 positions against 4x4 = 16; the channels, and so each position's work, are the same")
    check.passed(f"counted {measured:.1f}: a convolution's work grows with the number of positions, 256 against 16; "
                 "only the first and last layers see the 3 or 4 input channels")
