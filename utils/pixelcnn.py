"""Next-pixel models of the digits: the PixelCNN, and what it shares with the image GPT.

Chapter 10 builds both step by step. A digit is a sequence of 64 grey levels (0 to 16) in
raster order (:func:`utils.data.digits.digit_levels`); a next-pixel model gives, for every
pixel, a distribution over its 17 levels that depends only on the pixels before it. Here:

* :class:`MaskedConv2d` and :func:`conv_mask`: the masked convolution of PixelCNN (van den
  Oord et al., 2016), type ``"A"`` (the first layer: the pixel itself hidden) or ``"B"``;
* :class:`GatedLayer` and :class:`PixelCNN`: the gated PixelCNN, whose vertical and horizontal
  stacks see every earlier pixel (no blind spot);
* :func:`pixel_logits`, :func:`log_likelihoods`, :func:`bits_per_dim`, :func:`sample_pixels`: one
  interface over the PixelCNN and an image GPT (``utils.gpt.GPT`` over pixel tokens, whose first token is
  a start token or a digit's class token, :func:`class_tokens`); :func:`class_log_likelihoods` for
  Bayes' rule over the classes;
* :func:`level_splits` and :func:`fit_next_pixel`: the chapter's data split and training run,
  which the recipes in :mod:`utils.recipes` reuse; :func:`pixel_histograms`, the independent-pixels
  baseline.

Shapes: B batch, P = 64 pixels, L = 17 levels, C channels; pictures (B, C, 8, 8).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .data.digits import LEVELS, SIDE, Digits, digit_levels, levels_to_images
from .device import check_device
from .gpt import GPT
from .train import History, KeepBest, train
from .validate import check_int, check_number, check_tensor, describe

PIXELS = SIDE * SIDE  # 64
START = LEVELS  # the image GPT's start token (no class): one id after the 17 levels
CLASSES = 10  # digit classes; class c is the image GPT's token START + 1 + c
MASK_TYPES = ("A", "B")


def conv_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The (k, k) mask of a masked convolution: 1 on the rows above the centre, and on the centre row left
    of the centre; the centre itself too for type ``"B"`` (type ``"A"`` hides the pixel being predicted)."""
    check_int(kernel_size, "kernel_size", 1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the mask is centred on a pixel), got {kernel_size}")
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' (the first layer) or 'B' (the others), got {mask_type!r}")
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c] = 1  # every row above the centre
    mask[c, :c] = 1  # the centre row, left of the centre
    if mask_type == "B":
        mask[c, c] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A ``kernel_size`` x ``kernel_size`` convolution (same padding) whose weights are multiplied by
    :func:`conv_mask` on every call, so no output sees a later pixel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str):
        check_int(in_channels, "in_channels", 1)
        check_int(out_channels, "out_channels", 1)
        mask = conv_mask(kernel_size, mask_type)
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", "(B, C, H, W)", ndim=4, floating=True)
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def stack_masks(kernel_size: int, first: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The masks of a gated layer's two stacks: the vertical (k, k) one keeps the rows above the centre
    and, after the first layer, the centre row (whose features already hold only rows above); the
    horizontal (1, k) one keeps the pixels left of the centre, and the centre itself after the first layer."""
    check_int(kernel_size, "kernel_size", 1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the mask is centred on a pixel), got {kernel_size}")
    if not isinstance(first, bool):
        raise TypeError(f"first must be True (the first layer) or False, got {describe(first)}")
    c = kernel_size // 2
    vertical = torch.zeros(kernel_size, kernel_size)
    vertical[:c + (0 if first else 1)] = 1
    horizontal = torch.zeros(1, kernel_size)
    horizontal[0, :c + (0 if first else 1)] = 1
    return vertical, horizontal


class GatedLayer(nn.Module):
    """One layer of the gated PixelCNN (van den Oord et al., 2016b).

    The vertical stack ``v`` sees every pixel in the rows above; the horizontal stack ``h`` sees the
    pixels to the left in the same row and, through a 1x1 link from ``v``, everything above. Each stack
    is gated, ``tanh(a) * sigmoid(b)``; the horizontal one is residual after the first layer."""

    def __init__(self, channels: int, kernel_size: int = 3, first: bool = False, in_channels: int | None = None):
        super().__init__()
        check_int(channels, "channels", 1)
        in_channels = channels if in_channels is None else check_int(in_channels, "in_channels", 1)
        vertical, horizontal = stack_masks(kernel_size, first)
        self.first, self.pad = first, kernel_size // 2
        self.v_conv = nn.Conv2d(in_channels, 2 * channels, (kernel_size, kernel_size), padding=self.pad)
        self.h_conv = nn.Conv2d(in_channels, 2 * channels, (1, kernel_size), padding=(0, self.pad))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.register_buffer("v_mask", vertical)
        self.register_buffer("h_mask", horizontal)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two stacks (B, C, H, W) in, the two stacks out."""
        check_tensor(v, "v", "(B, C, H, W)", ndim=4, floating=True)
        check_tensor(h, "h", "(B, C, H, W)", ndim=4, floating=True)
        if v.shape != h.shape:
            raise ValueError(f"v and h must have the same shape, got {tuple(v.shape)} and {tuple(h.shape)}")
        v_feat, v_new = self.vertical(v)
        return v_new, self.horizontal(h, v_feat)

    def vertical(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertical stack: its features before the gate (handed to the horizontal stack) and after."""
        check_tensor(v, "v", "(B, C, H, W)", ndim=4, floating=True)
        v_feat = F.conv2d(v, self.v_conv.weight * self.v_mask, self.v_conv.bias, padding=self.pad)
        value, gate = v_feat.chunk(2, dim=1)
        return v_feat, torch.tanh(value) * torch.sigmoid(gate)

    def horizontal(self, h: torch.Tensor, v_feat: torch.Tensor) -> torch.Tensor:
        """The horizontal stack, given the vertical stack's features at the same pixels. It works within
        rows only, so the sampler can run it on the one row being drawn."""
        check_tensor(h, "h", "(B, C, H, W)", ndim=4, floating=True)
        check_tensor(v_feat, "v_feat", "(B, 2C, H, W)", ndim=4, floating=True)
        if v_feat.shape[1] != self.v_to_h.in_channels or v_feat.shape[2:] != h.shape[2:]:
            raise ValueError(f"v_feat must be the vertical stack's features ({self.v_to_h.in_channels} channels) at "
                             f"h's pixels {tuple(h.shape[2:])}, got shape {tuple(v_feat.shape)}")
        h_feat = F.conv2d(h, self.h_conv.weight * self.h_mask, self.h_conv.bias, padding=(0, self.pad))
        value, gate = (h_feat + self.v_to_h(v_feat)).chunk(2, dim=1)  # everything above joins the row
        h_new = self.h_out(torch.tanh(value) * torch.sigmoid(gate))
        return h_new if self.first else h + h_new


class PixelCNN(nn.Module):
    """A gated PixelCNN over the digits' levels: ``model(levels)`` with levels (B, 64) in 0..16 returns
    logits (B, 64, 17), the distribution of each pixel given the pixels before it in raster order."""

    def __init__(self, channels: int = 32, layers: int = 5, kernel_size: int = 3, dropout: float = 0.0,
                 levels: int = LEVELS, side: int = SIDE):
        super().__init__()
        check_int(channels, "channels", 1)
        check_int(layers, "layers", 1)
        check_int(levels, "levels", 2)
        check_int(side, "side", 1)
        check_number(dropout, "dropout", 0.0, 1.0, high_open=True)
        self.levels, self.side = levels, side
        self.layers = nn.ModuleList([GatedLayer(channels, kernel_size, first=True, in_channels=1)] + [
            GatedLayer(channels, kernel_size) for _ in range(layers - 1)])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, 4 * channels, 1), nn.ReLU(),
                                  nn.Conv2d(4 * channels, levels, 1))

    def _image(self, levels: torch.Tensor) -> torch.Tensor:
        """Levels (B, P), whole rows, as the network's input picture (B, 1, rows, side) in [-1, 1]."""
        return (levels.float() / (self.levels - 1) * 2 - 1).view(len(levels), 1, -1, self.side)

    def forward(self, levels: torch.Tensor) -> torch.Tensor:
        """``levels`` (B, P): the first rows of digits, P a multiple of the side (64 for whole digits)."""
        x = _check_levels(levels, "levels", self.levels, pixels=None)
        B, P = x.shape
        if P == 0 or P % self.side or P > self.side ** 2:
            raise ValueError(f"levels must have shape (B, P) with P a multiple of {self.side} up to "
                             f"{self.side ** 2} (whole rows of the digits), got {tuple(x.shape)}")
        v = h = self._image(x)
        for layer in self.layers:
            v, h = layer(v, h)
            h = self.dropout(h)
        logits = self.head(h)  # (B, L, rows, side)
        return logits.flatten(2).transpose(1, 2)  # (B, P, L)


def _check_levels(levels, name: str, n_levels: int = LEVELS, pixels: int | None = PIXELS) -> torch.Tensor:
    check_tensor(levels, name, "(B, 64) of grey levels", ndim=2, floating=False)
    if pixels is not None and levels.shape[1] != pixels:
        raise ValueError(f"{name} must have shape (B, {pixels}): one level per pixel, got {tuple(levels.shape)}")
    if levels.device.type == "cpu" and levels.numel() and (levels.min() < 0 or levels.max() >= n_levels):
        raise ValueError(f"{name} must hold levels in 0..{n_levels - 1}, got [{levels.min().item()}, "
                         f"{levels.max().item()}]")
    return levels


def pixel_logits(model: nn.Module, levels: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
    """Logits (B, P, 17) of every pixel given the ones before it, for a :class:`PixelCNN` or an image GPT
    (``utils.gpt.GPT`` over the 17 levels, fed a first token and the pixels but the last). ``first`` (B,),
    for an image GPT only: each row's first token, :data:`START` (the default: no class) or a class token
    (:func:`class_tokens`)."""
    _check_model(model)
    _check_levels(levels, "levels", pixels=None)
    if isinstance(model, GPT):
        first = _first_tokens(model, first, len(levels), levels.device)
        logits, _ = model(torch.cat([first[:, None], levels[:, :-1]], dim=1))  # position t predicts pixel t
        return logits[..., :LEVELS]  # a first token is never a pixel
    if first is not None:
        raise ValueError("first must be None for a PixelCNN: only an image GPT reads a first token")
    return model(levels)


def class_tokens(labels: torch.Tensor) -> torch.Tensor:
    """The image GPT's first token for each digit class in ``labels`` (N,): class c is token 18 + c."""
    check_tensor(labels, "labels", "(N,) of digit classes 0..9", ndim=1, floating=False)
    if labels.device.type == "cpu" and labels.numel() and (labels.min() < 0 or labels.max() >= CLASSES):
        raise ValueError(f"labels must hold digit classes 0..{CLASSES - 1}, got [{labels.min().item()}, "
                         f"{labels.max().item()}]")
    return labels + START + 1


def _first_tokens(model: GPT, first, n: int, device) -> torch.Tensor:
    if first is None:
        return torch.full((n,), START, dtype=torch.long, device=device)
    check_tensor(first, "first", f"({n},) of first tokens", ndim=1, floating=False)
    if len(first) != n:
        raise ValueError(f"first must hold one token per digit, shape ({n},), got {tuple(first.shape)}")
    vocab = model.config.vocab_size
    if first.device.type == "cpu" and first.numel() and (first.min() < START or first.max() >= vocab):
        raise ValueError(f"first must hold the start token {START} or class tokens below vocab_size={vocab} "
                         f"(utils.pixelcnn.class_tokens), got [{first.min().item()}, {first.max().item()}]")
    return first.to(device)


def _check_model(model) -> None:
    if not isinstance(model, (PixelCNN, GPT)):
        raise TypeError(f"model must be a PixelCNN or an image GPT (utils.gpt.GPT), got {describe(model)}")
    if isinstance(model, GPT) and (model.config.vocab_size < LEVELS + 1 or model.config.block_size < PIXELS):
        raise ValueError(f"an image GPT needs vocab_size >= {LEVELS + 1} (17 levels and a start token) and "
                         f"block_size >= {PIXELS}, got {model.config.vocab_size} and {model.config.block_size}")


def next_pixel_loss(model: nn.Module, batch) -> torch.Tensor:
    """The mean cross-entropy (nats per pixel) of a batch ``(levels,)`` or ``(levels, first)``, levels
    (B, 64) and, for an image GPT, each row's first token (B,)."""
    if isinstance(batch, (tuple, list)) and len(batch) in (1, 2):
        levels, first = batch[0], batch[1] if len(batch) == 2 else None
    else:
        levels, first = batch, None
    _check_levels(levels, "batch", pixels=None)
    logits = pixel_logits(model, levels, first)
    return F.cross_entropy(logits.reshape(-1, LEVELS), levels.reshape(-1))


@torch.no_grad()
def log_likelihoods(model: nn.Module, levels: torch.Tensor, first: torch.Tensor | None = None,
                    pixels: int = PIXELS, batch_size: int = 500) -> torch.Tensor:
    """Each digit's log-probability (N,), in nats, of its first ``pixels`` pixels (all 64 by default)
    under the model; ``first`` as in :func:`pixel_logits`. On the CPU."""
    _check_model(model)
    _check_levels(levels, "levels")
    check_int(pixels, "pixels", 1, PIXELS)
    check_int(batch_size, "batch_size", 1)
    device = check_device(model)
    if first is not None and isinstance(model, GPT):
        first = _first_tokens(model, first, len(levels), "cpu")
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(levels), batch_size):
        chunk = levels[i:i + batch_size].to(device)
        rows = None if first is None else first[i:i + batch_size].to(device)
        # The first `pixels` predictions read only the first `pixels` pixels (whole rows, for a PixelCNN)
        whole_rows = isinstance(model, GPT) or pixels % model.side == 0
        logits = pixel_logits(model, chunk[:, :pixels] if whole_rows else chunk, rows)[:, :pixels]  # (B, pixels, L)
        nats = F.cross_entropy(logits.reshape(-1, LEVELS), chunk[:, :pixels].reshape(-1), reduction="none")
        out.append(-nats.view(len(chunk), pixels).sum(1).cpu())
    model.train(was_training)
    return torch.cat(out)


def bits(nats: torch.Tensor) -> float:
    """An average of per-digit costs in nats (N,) (negative log-likelihoods, or bounds on them) in bits
    per dimension: mean / (64 ln 2)."""
    check_tensor(nats, "nats", "(N,) of per-digit nats", ndim=1, floating=True)
    return nats.mean().item() / (PIXELS * math.log(2))


def bits_per_dim(model: nn.Module, levels: torch.Tensor, first: torch.Tensor | None = None,
                 batch_size: int = 500) -> float:
    """The model's average negative log-likelihood of ``levels`` (N, 64), in bits per pixel."""
    return bits(-log_likelihoods(model, levels, first, batch_size=batch_size))


def class_log_likelihoods(model: GPT, levels: torch.Tensor, pixels: int = PIXELS) -> torch.Tensor:
    """For an image GPT with class tokens: log p(first ``pixels`` pixels | class c) for every digit and
    class, (N, 10) in nats. With a prior over the classes, Bayes' rule turns them into the likelihood of
    the digit (a log-sum-exp over classes) or the posterior of its class."""
    if not isinstance(model, GPT) or model.config.vocab_size < START + 1 + CLASSES:
        raise TypeError(f"model must be an image GPT with class tokens (vocab_size >= {START + 1 + CLASSES}), "
                        f"got {describe(model)}")
    _check_levels(levels, "levels")
    return torch.stack([log_likelihoods(model, levels, class_tokens(torch.full((len(levels),), c)), pixels)
                        for c in range(CLASSES)], dim=1)


@torch.no_grad()
def sample_pixels(model: nn.Module, n: int, given: torch.Tensor | None = None, first: torch.Tensor | None = None,
                  temperature: float = 1.0, generator: torch.Generator | None = None,
                  batch_size: int = 1000) -> torch.Tensor:
    """Draw ``n`` digits pixel by pixel: levels (n, 64) on the CPU. ``given`` (n, k) fixes the first k
    pixels (a completion); the rest are drawn, each from the model's distribution given those before.
    ``first``: an image GPT's first token per digit (see :func:`pixel_logits`). ``generator``, a CPU
    generator, makes the draw repeatable on any device."""
    _check_model(model)
    check_int(n, "n", 1)
    check_number(temperature, "temperature", 0.0, low_open=True)
    check_int(batch_size, "batch_size", 1)
    if given is not None:
        _check_levels(given, "given", pixels=None)
        if len(given) != n or given.shape[1] > PIXELS:
            raise ValueError(f"given must have shape ({n}, k) with k <= {PIXELS}: the first k pixels of each "
                             f"digit, got {tuple(given.shape)}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got {describe(generator)}")
    if isinstance(model, GPT):
        first = _first_tokens(model, first, n, "cpu")
    elif first is not None:
        raise ValueError("first must be None for a PixelCNN: only an image GPT reads a first token")
    device = check_device(model)
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, n, batch_size):
        rows = min(batch_size, n - i)
        known = given[i:i + rows] if given is not None else torch.zeros(rows, 0, dtype=torch.long)
        # One uniform draw per pixel, made on the CPU: the same digits on every device.
        uniforms = torch.rand(rows, PIXELS, generator=generator)
        tokens = None if first is None else first[i:i + rows].to(device)
        out.append(_sample_batch(model, known.to(device), uniforms.to(device), temperature, tokens).cpu())
    model.train(was_training)
    return torch.cat(out)


def _draw(logits: torch.Tensor, uniform: torch.Tensor, temperature: float) -> torch.Tensor:
    """Inverse-CDF draw of one level per row from logits (B, L) with uniforms (B,)."""
    cdf = (logits.float() / temperature).softmax(-1).cumsum(-1)
    return (cdf < uniform[:, None] * cdf[:, -1:]).sum(-1).clamp(max=logits.shape[-1] - 1)


def _sample_batch(model, known: torch.Tensor, uniforms: torch.Tensor, temperature: float,
                  first: torch.Tensor | None) -> torch.Tensor:
    B, k = known.shape
    levels = torch.zeros(B, PIXELS, dtype=torch.long, device=known.device)
    levels[:, :k] = known
    if isinstance(model, GPT):
        # The GPT with its key-value cache: one token in, one distribution out, per step.
        caches = [{} for _ in model.blocks]
        hidden = model.hidden_states(torch.cat([first[:, None], known], dim=1), caches)[:, -1]
        for t in range(k, PIXELS):
            levels[:, t] = _draw(model.lm_head(hidden)[:, :LEVELS], uniforms[:, t], temperature)
            if t + 1 < PIXELS:
                hidden = model.hidden_states(levels[:, t:t + 1], caches, start=t + 1)[:, -1]
        return levels
    # The PixelCNN, row by row. The vertical stack at row r sees only the rows above, so it runs once per
    # row; the horizontal stack works within the row, so each pixel reruns only that row's horizontal part.
    side = model.side
    for row in range(k // side, side):
        v = model._image(levels[:, :(row + 1) * side])  # (B, 1, row + 1, side)
        v_feats = []
        for layer in model.layers:
            v_feat, v = layer.vertical(v)
            v_feats.append(v_feat[:, :, row:row + 1])  # (B, 2C, 1, side): all this row needs from above
        for col in range(max(k - row * side, 0), side):
            h = model._image(levels[:, row * side:(row + 1) * side])  # (B, 1, 1, side)
            for layer, v_feat in zip(model.layers, v_feats):
                h = layer.horizontal(h, v_feat)
            logits = model.head(h)[:, :, 0, col]  # (B, L)
            levels[:, row * side + col] = _draw(logits, uniforms[:, row * side + col], temperature)
    return levels


VALIDATION_DIGITS = 200  # training digits held out to watch over-fitting and pick the best step


class LevelSplits(NamedTuple):
    """The digits as levels (N, 64) with their classes (N,): to fit on, to validate on, to report."""

    fit: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    fit_labels: torch.Tensor
    val_labels: torch.Tensor
    test_labels: torch.Tensor


def level_splits(digits: Digits, n_val: int = VALIDATION_DIGITS) -> LevelSplits:
    """The training digits less ``n_val`` (a fixed, seeded choice) to fit on, those ``n_val`` to validate
    on, and the test digits to report, as levels with their classes."""
    if not isinstance(digits, Digits):
        raise TypeError(f"digits must be the Digits of utils.data.load_digits(), got {describe(digits)}")
    check_int(n_val, "n_val", 1, len(digits.x_train) - 1)
    levels = digit_levels(digits.x_train)
    order = torch.randperm(len(levels), generator=torch.Generator().manual_seed(0))
    fit, val = order[n_val:], order[:n_val]
    return LevelSplits(levels[fit], levels[val], digit_levels(digits.x_test), digits.y_train[fit],
                       digits.y_train[val], digits.y_test)


def shifted_batches(levels: torch.Tensor, batch_size: int, shift: float = 0.0, seed: int = 0,
                    labels: torch.Tensor | None = None, null_share: float = 0.0):
    """A function ``step -> batch`` drawing ``batch_size`` random rows of ``levels`` (N, 64), each moved by
    one pixel in a random direction with probability ``shift`` (an augmentation against over-fitting).
    The batch is ``(levels,)``; with ``labels`` (N,), ``(levels, first)``: each row's class token, or with
    probability ``null_share`` the start token, so one image GPT learns digits with and without a class."""
    from .judge import shift_digits

    _check_levels(levels, "levels")
    check_int(batch_size, "batch_size", 1)
    check_number(shift, "shift", 0.0, 1.0)
    check_int(seed, "seed", 0)
    check_number(null_share, "null_share", 0.0, 1.0)
    if labels is not None:
        tokens = class_tokens(labels).cpu()
        if len(tokens) != len(levels):
            raise ValueError(f"labels must hold one class per digit, shape ({len(levels)},), got {tuple(labels.shape)}")
    levels = levels.cpu()

    def get_batch(step: int):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        index = torch.randint(len(levels), (batch_size,), generator=gen)
        rows = levels[index]
        if shift > 0:
            moved = digit_levels(shift_digits(levels_to_images(rows), gen))
            rows = torch.where((torch.rand(batch_size, generator=gen) < shift)[:, None], moved, rows)
        if labels is None:
            return (rows,)
        null = torch.rand(batch_size, generator=gen) < null_share
        return rows, torch.where(null, START, tokens[index])

    return get_batch


def fit_next_pixel(model: nn.Module, train_levels: torch.Tensor, val_levels: torch.Tensor, *, steps: int,
                   batch_size: int, lr: float, weight_decay: float = 0.0, shift: float = 0.0,
                   eval_every: int = 100, seed: int = 0, train_labels: torch.Tensor | None = None,
                   val_labels: torch.Tensor | None = None, null_share: float = 0.1) -> tuple[nn.Module, History]:
    """Train a next-pixel model (a :class:`PixelCNN` or an image GPT) with the book's loop on the
    cross-entropy of every pixel; every ``eval_every`` steps measure the validation bits per dimension
    (``history.metric("val_bpd")``) and keep the best weights: early stopping by validation. With labels,
    an image GPT reads each digit's class token first (the start token instead for a share ``null_share``
    of the rows), and is validated given the class. Returns the best model, in eval mode, and the history."""
    _check_model(model)
    _check_levels(train_levels, "train_levels")
    _check_levels(val_levels, "val_levels")
    check_int(eval_every, "eval_every", 1)
    if (train_labels is None) != (val_labels is None):
        raise ValueError("train_labels and val_labels must be given together (or neither)")
    if train_labels is not None and not isinstance(model, GPT):
        raise ValueError("labels are for an image GPT: a PixelCNN reads no class token")
    device = check_device(model)
    val = val_levels.to(device)
    val_first = None if val_labels is None else class_tokens(val_labels)
    keep = KeepBest("val_bpd", lambda m: bits_per_dim(m, val, val_first))
    batches = shifted_batches(train_levels, batch_size, shift, seed, train_labels, null_share)
    history = train(model, next_pixel_loss, batches, steps=steps, lr=lr, warmup=min(100, steps // 10),
                    weight_decay=weight_decay, evaluate=keep, eval_every=eval_every, progress=False)
    return keep.restore(model), history


RECIPE_KEYS = ("steps", "batch", "lr", "weight_decay", "shift", "eval_every")


def fit_with_sizes(model: nn.Module, split: LevelSplits, sizes: dict, n_val: int | None = None
                   ) -> tuple[nn.Module, History]:
    """:func:`fit_next_pixel` on ``split`` with a recipe's ``sizes`` (:data:`RECIPE_KEYS`; with
    ``classes=True`` an image GPT reads each digit's class token, ``null_share`` of them the start token),
    seed 0: the one place where a recipe's sizes become training arguments, for the chapter and for
    :mod:`utils.recipes` alike. ``n_val`` validates on the first ``n_val`` validation digits only."""
    if not isinstance(split, LevelSplits):
        raise TypeError(f"split must be the LevelSplits of level_splits(...), got {describe(split)}")
    if not isinstance(sizes, dict) or not set(RECIPE_KEYS) <= set(sizes):
        raise ValueError(f"sizes must be a recipe's dict with {', '.join(RECIPE_KEYS)}, got "
                         f"{sorted(sizes) if isinstance(sizes, dict) else describe(sizes)}")
    val = split.val if n_val is None else split.val[:check_int(n_val, "n_val", 1)]
    labels = {"train_labels": split.fit_labels, "val_labels": split.val_labels[:len(val)]} \
        if sizes.get("classes") else {}
    return fit_next_pixel(model, split.fit, val, steps=sizes["steps"], batch_size=sizes["batch"], lr=sizes["lr"],
                          weight_decay=sizes["weight_decay"], shift=sizes["shift"], eval_every=sizes["eval_every"],
                          seed=0, null_share=sizes.get("null_share", 0.1), **labels)


def pixel_histograms(levels: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """Independent pixels: each pixel's own histogram of levels over the digits ``levels`` (N, 64), every
    count plus ``alpha`` (so no level has probability 0), normalised: probabilities (64, 17)."""
    _check_levels(levels, "levels")
    check_number(alpha, "alpha", 0.0)
    counts = torch.zeros(levels.shape[1], LEVELS, device=levels.device)
    counts.scatter_add_(1, levels.T, torch.ones(levels.T.shape, device=levels.device))
    counts += alpha
    return counts / counts.sum(1, keepdim=True)
