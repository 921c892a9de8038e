"""Variational autoencoders: of the digits, and of pictures for latent diffusion.

Chapter 11 builds both step by step.

* :func:`reparameterise` and :func:`gaussian_kl`: a sample of ``N(mu, exp(logvar))`` written as a
  function of fixed noise (so gradients reach ``mu`` and ``logvar``), and its KL divergence from
  ``N(0, I)`` in closed form;
* :class:`DigitVAE`: an encoder from a digit's 64 levels to a Gaussian over a latent vector, a
  decoder from a latent vector to a 17-way categorical per pixel (so its likelihood is in the
  same bits per dimension as chapter 10's models);
* :func:`negative_elbo` and :func:`iwae_bound`: the two upper bounds on a digit's negative
  log-likelihood, in nats (``bits``, from :mod:`utils.pixelcnn`, turns them into bits per dimension);
  :func:`fit_vae`, the chapter's training run (the book's loop,
  early stopping on the validation bound); :func:`sample_digits`, digits drawn from the prior;
* :class:`PictureAutoencoder`: the autoencoder of latent diffusion, from 16x16 colour pictures
  to a small grid of latents and back.

Shapes: B batch, P = 64 pixels, L = 17 levels, D latent dimensions, K importance samples.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .data.digits import LEVELS, SIDE
from .device import check_device
from .pixelcnn import LevelSplits, _check_levels, bits, shifted_batches
from .train import History, KeepBest, train
from .validate import check_int, check_number, check_tensor, describe

PIXELS = SIDE * SIDE  # 64
LOG_2PI = math.log(2 * math.pi)


def _check_pair(mu, logvar) -> None:
    check_tensor(mu, "mu", "(..., D) of means", floating=True)
    check_tensor(logvar, "logvar", "(..., D) of log-variances", floating=True)
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """A sample of ``N(mu, exp(logvar))`` from standard normal ``noise`` of the same shape (or with
    extra leading dimensions, one per sample): ``mu + exp(logvar / 2) * noise``. The randomness is in
    ``noise`` alone, so the sample is a differentiable function of ``mu`` and ``logvar``."""
    _check_pair(mu, logvar)
    check_tensor(noise, "noise", f"(..., {', '.join(map(str, mu.shape))}) of standard normal draws", floating=True)
    if noise.shape[noise.ndim - mu.ndim:] != mu.shape:
        raise ValueError(f"noise must end in mu's shape {tuple(mu.shape)}, got {tuple(noise.shape)}")
    return mu + (0.5 * logvar).exp() * noise


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) in nats, summed over the last dimension: (...,)."""
    _check_pair(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


class DigitVAE(nn.Module):
    """A VAE of the digits as levels (B, 64): ``encode(levels) -> (mu, logvar)``, each (B, D), and
    ``decode(z) -> logits`` (..., 64, 17), every pixel's categorical over the 17 levels given ``z``.
    Both are two-hidden-layer MLPs of width ``hidden``, with dropout after the first."""

    def __init__(self, latent: int = 16, hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        check_int(latent, "latent", 1)
        check_int(hidden, "hidden", 1)
        check_number(dropout, "dropout", 0.0, 1.0, high_open=True)
        self.latent = latent

        def mlp(inputs: int, outputs: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(inputs, hidden), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, outputs))

        self.encoder = mlp(PIXELS, 2 * latent)
        self.decoder = mlp(latent, PIXELS * LEVELS)

    def encode(self, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_levels(levels, "levels")
        mu, logvar = self.encoder(levels.float() / (LEVELS - 1)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", f"(..., {self.latent}) of latent vectors", floating=True)
        if z.shape[-1] != self.latent:
            raise ValueError(f"z must end in the latent size {self.latent}, got shape {tuple(z.shape)}")
        return self.decoder(z).view(*z.shape[:-1], PIXELS, LEVELS)

    def forward(self, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(levels)


def _check_vae(model) -> None:
    if not isinstance(model, DigitVAE):
        raise TypeError(f"model must be a DigitVAE, got {describe(model)}")


def _log_p_levels(logits: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """log p(levels | z) in nats: logits (..., B, 64, 17), levels (B, 64) -> (..., B)."""
    log_probs = logits.log_softmax(-1)
    index = levels.expand(*log_probs.shape[:-1]).unsqueeze(-1)
    return log_probs.gather(-1, index).squeeze(-1).sum(-1)


class Bound(NamedTuple):
    """Per digit, in nats: the negative ELBO = reconstruction + KL."""

    total: torch.Tensor
    reconstruction: torch.Tensor  # -E_q[log p(x | z)], estimated with one z
    kl: torch.Tensor  # KL(q(z | x) || p(z)), exact


def negative_elbo(model: DigitVAE, levels: torch.Tensor, generator: torch.Generator | None = None) -> Bound:
    """The negative evidence lower bound of each digit in ``levels`` (B, 64), with one reparameterised
    sample of z per digit (drawn with ``generator`` on the CPU, if given): an upper bound on
    -log p(x), in nats, split into its reconstruction and KL terms."""
    _check_vae(model)
    mu, logvar = model.encode(levels)
    noise = torch.randn(mu.shape, generator=generator).to(mu.device) if generator is not None \
        else torch.randn_like(mu)
    reconstruction = -_log_p_levels(model.decode(reparameterise(mu, logvar, noise)), levels)
    kl = gaussian_kl(mu, logvar)
    return Bound(reconstruction + kl, reconstruction, kl)


@torch.no_grad()
def iwae_bound(model: DigitVAE, levels: torch.Tensor, k: int = 100, generator: torch.Generator | None = None,
               batch_size: int = 50) -> torch.Tensor:
    """The importance-weighted bound (Burda et al., 2016) on each digit's -log p(x), in nats (B,), on the CPU:
    ``-log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)`` with ``k`` draws ``z_i ~ q(z | x)``. It is never
    above the ELBO's expectation (k = 1) and falls toward -log p(x) as ``k`` grows."""
    _check_vae(model)
    _check_levels(levels, "levels")
    check_int(k, "k", 1)
    check_int(batch_size, "batch_size", 1)
    device = check_device(model)
    was_training = model.training
    model.eval()
    out = []
    for rows in levels.split(batch_size):
        rows = rows.to(device)
        mu, logvar = model.encode(rows)
        noise = torch.randn((k, *mu.shape), generator=generator).to(device)  # (K, B, D)
        z = reparameterise(mu, logvar, noise)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_q = -0.5 * (noise.pow(2) + LOG_2PI + logvar).sum(-1)
        log_w = _log_p_levels(model.decode(z), rows) + log_prior - log_q  # (K, B)
        out.append(-(torch.logsumexp(log_w, 0) - math.log(k)).cpu())
    model.train(was_training)
    return torch.cat(out)


VAE_KEYS = ("steps", "batch", "lr", "weight_decay", "eval_every")


def fit_vae(model: DigitVAE, split: LevelSplits, sizes: dict, seed: int = 0) -> tuple[DigitVAE, History]:
    """Train ``model`` on ``split.fit`` with the book's loop on the negative ELBO (nats per pixel), with a
    recipe's ``sizes`` (:data:`VAE_KEYS`); every ``eval_every`` steps measure the validation digits'
    negative ELBO in bits per dimension (``history.metric("val_bpd")``, the same draws of z each time) and
    keep the best weights. Returns the kept model, in eval mode, and the history."""
    _check_vae(model)
    if not isinstance(split, LevelSplits):
        raise TypeError(f"split must be the LevelSplits of utils.pixelcnn.level_splits(...), got {describe(split)}")
    if not isinstance(sizes, dict) or not set(VAE_KEYS) <= set(sizes):
        raise ValueError(f"sizes must be a recipe's dict with {', '.join(VAE_KEYS)}, got "
                         f"{sorted(sizes) if isinstance(sizes, dict) else describe(sizes)}")
    device = check_device(model)
    val = split.val.to(device)
    keep = KeepBest("val_bpd", lambda m: bits(negative_elbo(m, val, torch.Generator().manual_seed(seed)).total))

    def loss(m, batch):
        return negative_elbo(m, batch[0]).total.mean() / PIXELS

    history = train(model, loss, shifted_batches(split.fit, sizes["batch"], seed=seed), steps=sizes["steps"],
                    lr=sizes["lr"], warmup=min(100, sizes["steps"] // 10), weight_decay=sizes["weight_decay"],
                    evaluate=keep, eval_every=sizes["eval_every"], progress=False)
    return keep.restore(model), history


@torch.no_grad()
def sample_digits(model: DigitVAE, n: int, generator: torch.Generator | None = None,
                  pixels: str = "sample") -> torch.Tensor:
    """``n`` digits from the model, levels (n, 64) on the CPU: z from the prior N(0, I), then each pixel
    drawn from its categorical given z (``pixels="sample"``, the model's own distribution) or set to its
    most likely level (``"mode"``)."""
    _check_vae(model)
    check_int(n, "n", 1)
    if pixels not in ("sample", "mode"):
        raise ValueError(f"pixels must be 'sample' (draw each pixel) or 'mode' (its likeliest level), got {pixels!r}")
    device = check_device(model)
    z = torch.randn((n, model.latent), generator=generator).to(device)
    logits = model.decode(z).cpu()
    if pixels == "mode":
        return logits.argmax(-1)
    uniform = torch.rand((n, PIXELS, 1), generator=generator)
    # inverse CDF: the first level whose cumulative probability passes the uniform draw
    return (logits.softmax(-1).cumsum(-1) < uniform).sum(-1).clamp(max=LEVELS - 1)


class PictureAutoencoder(nn.Module):
    """The autoencoder of latent diffusion, for 16x16 colour pictures in [-1, 1]: ``encode(x) -> (mu, logvar)``,
    each (B, latent, 4, 4), a Gaussian over a grid of latents a quarter of the picture's side; ``decode(z) ->
    pictures`` (B, 3, 16, 16). Convolutions of width ``width``, 2 x width and 4 x width at 16x16, 8x8 and 4x4,
    two strided convolutions down and two nearest-neighbour upsamplings back. Stable Diffusion's autoencoder
    has the same plan at scale: 512x512x3 pictures to 64x64x4 latents."""

    def __init__(self, latent: int = 4, width: int = 16, channels: int = 3):
        super().__init__()
        check_int(latent, "latent", 1)
        check_int(width, "width", 1)
        check_int(channels, "channels", 1)
        self.latent, self.channels = latent, channels
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.SiLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.SiLU(),  # (B, 2w, H/2, W/2)
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.SiLU(),  # (B, 4w, H/4, W/4)
            nn.Conv2d(4 * w, 2 * latent, 3, padding=1))  # the mean and log-variance of every latent
        self.decoder = nn.Sequential(
            nn.Conv2d(latent, 4 * w, 3, padding=1), nn.SiLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(4 * w, 2 * w, 3, padding=1), nn.SiLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(2 * w, w, 3, padding=1), nn.SiLU(),
            nn.Conv2d(w, channels, 3, padding=1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_tensor(x, "x", f"(B, {self.channels}, H, W) of pictures in [-1, 1]", ndim=4, floating=True)
        if x.shape[1] != self.channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"x must be pictures (B, {self.channels}, H, W) with H and W divisible by 4, got "
                             f"{tuple(x.shape)}")
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)  # exp(logvar) neither 0 nor overflowing at the first steps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", f"(B, {self.latent}, h, w) of latents", ndim=4, floating=True)
        if z.shape[1] != self.latent:
            raise ValueError(f"z must have {self.latent} latent channels, shape (B, {self.latent}, h, w), got "
                             f"{tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(x)
