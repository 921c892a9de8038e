"""A small time-conditioned U-Net: the denoiser of the diffusion chapters.

Built in chapter 6 for 8x8 digits and small RGB pictures; the text-to-image chapter
conditions it on a caption. The shape is the classic one of DDPM, shrunk:

    x (B, C, H, W) -> conv -> [ResBlock, downsample] per level -> ResBlock (middle)
                   -> [upsample, concatenate the skip, ResBlock] per level -> conv -> (B, C_out, H, W)

Every residual block receives an embedding of the step ``t`` (sinusoidal features, then
an MLP), so one network denoises at every noise level. Three hooks carry conditioning:

* ``cond`` (B, cond_dim): a vector (a class, a pooled caption) projected and *added* to the
  time embedding; with ``film=True`` every block turns that embedding into a scale and a
  shift of its features (feature-wise linear modulation, FiLM) instead of a shift alone;
* ``context`` (B, L, context_dim), with ``context_mask`` (B, L): a sequence (a caption's
  token vectors) that the feature maps of the coarser levels read through
  :class:`CrossAttention`, each pixel choosing which tokens to look at;
* ``image`` (B, image_channels, H, W): a picture (a low-resolution input upsampled, for
  super-resolution) *concatenated* to ``x`` as extra input channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .validate import check_int, check_number, describe


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of the steps ``t`` (B,) -> (B, dim), as for positions in a transformer."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even int >= 2, got {dim!r}")
    check_number(max_period, "max_period", 0.0, low_open=True)
    if t is None or isinstance(t, (str, bytes)):
        raise TypeError(f"t must be a tensor of steps (B,), got {describe(t)}")
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
    """Two 3x3 convolutions with a residual path; the embedding shifts the features in between
    (``film=True``: scales and shifts the normalised features, FiLM)."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, film: bool = False):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("emb_dim", emb_dim)):
            check_int(value, name, 1)
        self.film = film
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_channels if film else out_channels)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        channels, emb_dim = self.conv1.in_channels, self.emb.in_features
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(f"x must be a tensor (B, {channels}, H, W), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)}")
        if not isinstance(emb, torch.Tensor) or tuple(emb.shape) != (len(x), emb_dim):
            raise ValueError(f"emb must be a tensor ({len(x)}, {emb_dim}), got "
                             f"{tuple(emb.shape) if isinstance(emb, torch.Tensor) else describe(emb)}")
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
        e = self.emb(emb)[:, :, None, None]  # the step (and condition) tells the block how noisy x is
        if self.film:
            scale, shift = e.chunk(2, dim=1)  # (B, C_out, 1, 1) each: one gain and one offset per channel
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + e)
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class CrossAttention(nn.Module):
    """Every pixel of a feature map attends to the tokens of a context: ``h + out(softmax(q k^T / sqrt(d)) v)``.

    Queries come from the normalised pixels (B, H*W, C); keys and values from the context
    (B, L, context_dim), both projected to ``channels``. ``mask`` (B, L) is True for the tokens
    to attend to (padding is False), so a short caption is not diluted by its padding.
    """

    def __init__(self, channels: int, context_dim: int, heads: int = 1):
        super().__init__()
        for name, value in (("channels", channels), ("context_dim", context_dim), ("heads", heads)):
            check_int(value, name, 1)
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(context_dim, channels)
        self.value = nn.Linear(context_dim, channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, h: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        channels, context_dim = self.query.in_features, self.key.in_features
        if not isinstance(h, torch.Tensor) or h.ndim != 4 or h.shape[1] != channels:
            raise ValueError(f"h must be a feature map (B, {channels}, H, W), got "
                             f"{tuple(h.shape) if isinstance(h, torch.Tensor) else describe(h)}")
        if not isinstance(context, torch.Tensor) or context.ndim != 3 or context.shape[0] != len(h) \
                or context.shape[2] != context_dim:
            raise ValueError(f"context must be a tensor ({len(h)}, L, {context_dim}), got "
                             f"{tuple(context.shape) if isinstance(context, torch.Tensor) else describe(context)}")
        if mask is not None and (not isinstance(mask, torch.Tensor) or mask.shape != context.shape[:2]
                                 or mask.dtype != torch.bool):
            raise ValueError(f"mask must be a bool tensor {tuple(context.shape[:2])} (True: attend), got "
                             f"{describe(mask)}")
        B, C, H, W = h.shape
        split = lambda z: z.view(B, -1, self.heads, C // self.heads).transpose(1, 2)  # (B, heads, n, C/heads)
        q = split(self.query(self.norm(h).flatten(2).transpose(1, 2)))  # (B, heads, H*W, C/heads)
        k, v = split(self.key(context)), split(self.value(context))  # (B, heads, L, C/heads)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask[:, None, None, :])
        attended = attended.transpose(1, 2).reshape(B, H * W, C)
        return h + self.out(attended).transpose(1, 2).reshape(B, C, H, W)


class UNet(nn.Module):
    """A U-Net predicting noise: ``model(x_t, t, cond=None, image=None, context=None, context_mask=None)``
    -> (B, out_channels, H, W).

    ``channels`` gives the width of each resolution level; H and W must be divisible by
    ``2 ** (len(channels) - 1)``. With ``context_dim``, a :class:`CrossAttention` layer follows
    every block of every level but the first (the finest), and the middle block.
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, channels=(32, 64),
                 emb_dim: int = 64, cond_dim: int | None = None, image_channels: int = 0,
                 context_dim: int | None = None, film: bool = False, heads: int = 1):
        super().__init__()
        check_int(in_channels, "in_channels", 1)
        check_int(image_channels, "image_channels", 0)
        if out_channels is not None:
            check_int(out_channels, "out_channels", 1)
        if isinstance(emb_dim, bool) or not isinstance(emb_dim, int) or emb_dim < 2 or emb_dim % 2:
            raise ValueError(f"emb_dim must be an even int >= 2 (sines and cosines of the step), got {emb_dim!r}")
        if not isinstance(channels, (tuple, list)) or not channels \
                or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in channels):
            raise ValueError(f"channels must be a non-empty sequence of positive widths, got {channels!r}")
        if context_dim is not None and len(channels) < 2:
            raise ValueError(f"cross-attention (context_dim) needs at least two levels of channels, got {channels}")
        self.in_channels, self.image_channels, self.cond_dim = in_channels, image_channels, cond_dim
        self.context_dim = context_dim
        self.channels = tuple(channels)
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond_proj = nn.Linear(cond_dim, emb_dim) if cond_dim else None
        self.stem = nn.Conv2d(in_channels + image_channels, channels[0], 3, padding=1)
        self.down, self.down_attn = nn.ModuleList(), nn.ModuleList()
        width = channels[0]
        for level, c in enumerate(channels):
            self.down.append(ResBlock(width, c, emb_dim, film))
            self.down_attn.append(self._attention(c, level, heads))
            width = c
        self.middle = ResBlock(width, width, emb_dim, film)
        self.middle_attn = self._attention(width, len(channels) - 1, heads)
        self.up, self.up_attn = nn.ModuleList(), nn.ModuleList()
        for level, c in reversed(list(enumerate(channels))):
            self.up.append(ResBlock(width + c, c, emb_dim, film))  # + c: the skip from the same level
            self.up_attn.append(self._attention(c, level, heads))
            width = c
        self.head = nn.Sequential(nn.GroupNorm(_groups(width), width), nn.SiLU(),
                                  nn.Conv2d(width, out_channels or in_channels, 3, padding=1))

    def _attention(self, channels: int, level: int, heads: int) -> nn.Module:
        if self.context_dim is None or level == 0:
            return nn.Identity()
        return CrossAttention(channels, self.context_dim, heads)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None,
                image: torch.Tensor | None = None, context: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(x, t, cond, image, context, context_mask)
        emb = self.time_mlp(timestep_embedding(t, self.emb_dim))  # (B, E)
        if self.cond_proj is not None:
            emb = emb + self.cond_proj(cond)

        def attend(layer, h):
            return h if isinstance(layer, nn.Identity) else layer(h, context, context_mask)

        h = self.stem(torch.cat([x, image], dim=1) if self.image_channels else x)
        skips = []
        for i, (block, attn) in enumerate(zip(self.down, self.down_attn)):
            h = attend(attn, block(h, emb))
            skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)  # (B, C, H, W) -> (B, C, H/2, W/2)
        h = attend(self.middle_attn, self.middle(h, emb))
        for i, (block, attn) in enumerate(zip(self.up, self.up_attn)):
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = attend(attn, block(torch.cat([h, skips.pop()], dim=1), emb))
        return self.head(h)

    def _check_inputs(self, x, t, cond, image, context=None, context_mask=None) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be a tensor (B, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        factor = 2 ** (len(self.channels) - 1)
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(f"x's height and width must be divisible by {factor}, got {tuple(x.shape[2:])}")
        if not isinstance(t, torch.Tensor) or t.shape != (len(x),):
            raise ValueError(f"t must be a tensor of shape ({len(x)},), got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else describe(t)}")
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
        if (context is None) != (self.context_dim is None):
            raise ValueError("context must be given exactly when the model has context_dim "
                             f"(context_dim={self.context_dim})")
        if context is not None and (context.ndim != 3 or context.shape[0] != len(x)
                                    or context.shape[2] != self.context_dim):
            raise ValueError(f"context must have shape ({len(x)}, L, {self.context_dim}), got {tuple(context.shape)}")
        if context_mask is not None and (context is None or context_mask.shape != context.shape[:2]
                                         or context_mask.dtype != torch.bool):
            raise ValueError(f"context_mask must be a bool tensor shaped like context's first two dimensions "
                             f"{tuple(context.shape[:2]) if context is not None else '(B, L)'}, got "
                             f"{context_mask.dtype} {tuple(context_mask.shape)}")
