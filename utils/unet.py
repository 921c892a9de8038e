"""A small time-conditioned U-Net: the denoiser of the diffusion chapters.

Built in chapter 6 for 8x8 digits and small RGB pictures; the text-to-image chapter
reuses it with a caption embedding. The shape is the classic one of DDPM, shrunk:

    x (B, C, H, W) -> conv -> [ResBlock, downsample] per level -> ResBlock (middle)
                   -> [upsample, concatenate the skip, ResBlock] per level -> conv -> (B, C_out, H, W)

Every residual block receives an embedding of the step ``t`` (sinusoidal features, then
an MLP), so one network denoises at every noise level. Two hooks carry conditioning:

* ``cond`` (B, cond_dim): a vector (a class, a caption) projected and *added* to the
  time embedding;
* ``image`` (B, image_channels, H, W): a picture (a low-resolution input upsampled, for
  super-resolution) *concatenated* to ``x`` as extra input channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of the steps ``t`` (B,) -> (B, dim), as for positions in a transformer."""
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even int >= 2, got {dim}")
    t = torch.as_tensor(t)
    if t.ndim != 1:
        raise ValueError(f"t must have shape (B,), got {tuple(t.shape)}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]  # (B, dim/2)
    return torch.cat([angles.cos(), angles.sin()], dim=1)


def _groups(channels: int) -> int:
    return math.gcd(channels, 8)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual path; the embedding shifts the features in between."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_channels)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
        h = h + self.emb(emb)[:, :, None, None]  # the step (and condition) tells the block how noisy x is
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """A U-Net predicting noise: ``model(x_t, t, cond=None, image=None)`` -> (B, out_channels, H, W).

    ``channels`` gives the width of each resolution level; H and W must be divisible by
    ``2 ** (len(channels) - 1)``.
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, channels=(32, 64),
                 emb_dim: int = 64, cond_dim: int | None = None, image_channels: int = 0):
        super().__init__()
        if in_channels < 1 or image_channels < 0:
            raise ValueError(f"in_channels must be >= 1 and image_channels >= 0, got {in_channels}, {image_channels}")
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be a non-empty sequence of positive widths, got {channels}")
        self.in_channels, self.image_channels, self.cond_dim = in_channels, image_channels, cond_dim
        self.channels = tuple(channels)
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond_proj = nn.Linear(cond_dim, emb_dim) if cond_dim else None
        self.stem = nn.Conv2d(in_channels + image_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        width = channels[0]
        for c in channels:
            self.down.append(ResBlock(width, c, emb_dim))
            width = c
        self.middle = ResBlock(width, width, emb_dim)
        self.up = nn.ModuleList()
        for c in reversed(channels):
            self.up.append(ResBlock(width + c, c, emb_dim))  # + c: the skip from the same level
            width = c
        self.head = nn.Sequential(nn.GroupNorm(_groups(width), width), nn.SiLU(),
                                  nn.Conv2d(width, out_channels or in_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                image: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(x, t, cond, image)
        emb = self.time_mlp(timestep_embedding(t, self.emb_dim))  # (B, E)
        if self.cond_proj is not None:
            emb = emb + self.cond_proj(cond)
        h = self.stem(torch.cat([x, image], dim=1) if self.image_channels else x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)  # (B, C, H, W) -> (B, C, H/2, W/2)
        h = self.middle(h, emb)
        for i, block in enumerate(self.up):
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.head(h)

    def _check_inputs(self, x, t, cond, image) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be a tensor (B, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        factor = 2 ** (len(self.channels) - 1)
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(f"x's height and width must be divisible by {factor}, got {tuple(x.shape[2:])}")
        if not isinstance(t, torch.Tensor) or t.shape != (len(x),):
            raise ValueError(f"t must be a tensor of shape ({len(x)},), got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}")
        if (cond is None) != (self.cond_proj is None):
            raise ValueError(f"cond must be given exactly when the model has cond_dim (cond_dim={self.cond_dim})")
        if cond is not None and tuple(cond.shape) != (len(x), self.cond_dim):
            raise ValueError(f"cond must have shape ({len(x)}, {self.cond_dim}), got {tuple(cond.shape)}")
        if (image is None) != (self.image_channels == 0):
            raise ValueError("image must be given exactly when the model has image_channels > 0 "
                             f"(image_channels={self.image_channels})")
        if image is not None and tuple(image.shape) != (len(x), self.image_channels, *x.shape[2:]):
            raise ValueError(f"image must have shape ({len(x)}, {self.image_channels}, {x.shape[2]}, {x.shape[3]}), "
                             f"got {tuple(image.shape)}")
