"""Small generated cartoon faces of people who do not exist, whose attributes follow known distributions.

Faces are the classic showcase of GANs. Here each picture (3, 16, 16) in [0, 1] is drawn
from a small program, so the truth is known exactly. Every attribute is drawn on its own:

* ``skin``: 0 light, 1 medium light, 2 medium dark, 3 dark, with P = 0.35, 0.3, 0.2, 0.15;
* ``hair``: a cap over the top and upper sides of the head, 0 black, 1 brown, 2 blonde, 3 red,
  with P = 0.35, 0.3, 0.2, 0.15;
* ``shape``: the head is an ellipse, 0 round (as tall as wide) or 1 long (about 1.4 times as tall
  as wide), P(long) = 0.4;
* ``smile``: the mouth is 4 pixels wide, 1 smiling (its corners one row higher than its middle)
  or 0 straight, P(smile) = 0.6;
* ``background``: a plain colour, 0 blue, 1 green, 2 pink, with P = 0.5, 0.3, 0.2.

Two dark blue eyes and the mouth sit at fixed places on the face, and the whole face is
shifted by -1, 0 or +1 pixel (each with P = 1/3) across and down.

:func:`measure_faces` reads the same attributes back from any picture, by classifying each
pixel to the nearest colour of the palette, so generated faces can be scored against the
true distributions (:func:`attribute_match`). An attribute that cannot be read from a
picture (no clear majority colour, no mouth) is given the code ``UNREADABLE`` (-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..metrics import histogram_match
from ..validate import check_int, check_pictures

SIZE = 16
P_SKIN = (0.35, 0.3, 0.2, 0.15)
P_HAIR = (0.35, 0.3, 0.2, 0.15)
P_LONG = 0.4
P_SMILE = 0.6
P_BACKGROUND = (0.5, 0.3, 0.2)
UNREADABLE = -1
# Half-axes (across, down) of the head ellipse, in pixels, for 0 round and 1 long faces.
HEAD_AXES = ((5.6, 5.6), (4.6, 6.6))
# The palette. Every colour is at least 0.3 (Euclidean, in RGB) from every other.
SKIN = ((1.0, 0.87, 0.76), (0.9, 0.68, 0.5), (0.74, 0.5, 0.32), (0.5, 0.32, 0.24))
HAIR = ((0.06, 0.05, 0.05), (0.34, 0.16, 0.02), (1.0, 0.88, 0.24), (0.92, 0.36, 0.04))
BACKGROUND = ((0.4, 0.62, 0.98), (0.5, 0.86, 0.5), (0.96, 0.56, 0.86))
EYE, MOUTH = (0.1, 0.1, 0.45), (0.72, 0.04, 0.22)
SKIN_NAMES = ("light", "medium light", "medium dark", "dark")
HAIR_NAMES = ("black", "brown", "blonde", "red")
SHAPE_NAMES = ("round", "long")
BACKGROUND_NAMES = ("blue", "green", "pink")
# Pixel classes: 0-3 skin tones, 4-7 hair colours, 8-10 backgrounds, 11 eye, 12 mouth.
CLASSES = tuple(f"{s} skin" for s in SKIN_NAMES) + tuple(f"{h} hair" for h in HAIR_NAMES) \
    + tuple(f"{b} background" for b in BACKGROUND_NAMES) + ("eye", "mouth")
_HAIR0, _BACKGROUND0, _EYE, _MOUTH = 4, 8, 11, 12


@dataclass(frozen=True)
class Faces:
    """Pictures (N, 3, 16, 16) and the attributes each was drawn with, as (N,) long codes."""

    images: torch.Tensor
    skin: torch.Tensor  # 0 light, 1 medium light, 2 medium dark, 3 dark
    hair: torch.Tensor  # 0 black, 1 brown, 2 blonde, 3 red
    shape: torch.Tensor  # 0 round, 1 long
    smile: torch.Tensor  # 1 smiling, 0 straight mouth
    background: torch.Tensor  # 0 blue, 1 green, 2 pink


def _choice(probs, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` independent draws of the codes ``0 .. len(probs) - 1`` with the given probabilities."""
    return torch.multinomial(torch.tensor(probs), n, replacement=True, generator=gen)


def _colours() -> torch.Tensor:
    """The palette (13, 3), one colour per pixel class (see ``CLASSES``)."""
    return torch.tensor(SKIN + HAIR + BACKGROUND + (EYE, MOUTH))


def sample_faces(n: int, seed: int = 0) -> Faces:
    """``n`` faces drawn from the known distributions (seeded)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    skin, hair = _choice(P_SKIN, n, gen), _choice(P_HAIR, n, gen)
    shape = (torch.rand(n, generator=gen) < P_LONG).long()
    smile = (torch.rand(n, generator=gen) < P_SMILE).long()
    background = _choice(P_BACKGROUND, n, gen)
    shift = torch.randint(-1, 2, (n, 2), generator=gen).float()  # (N, 2): across, down
    # Geometry, broadcast as (N, H, W): the head centre sits between pixels.
    rows = torch.arange(SIZE).float()[None, :, None]
    cols = torch.arange(SIZE).float()[None, None, :]
    cx = (SIZE / 2 - 0.5 + shift[:, 0])[:, None, None]
    cy = (SIZE / 2 - 0.5 + shift[:, 1])[:, None, None]
    axes = torch.tensor(HEAD_AXES)[shape]  # (N, 2)
    rho = ((cols - cx) / axes[:, 0, None, None]) ** 2 + ((rows - cy) / axes[:, 1, None, None]) ** 2
    head = rho <= 1
    eye_row = cy - 1.5
    # Hair: the top rows of the head down to one row above the eyes, and its rim down to the eyes.
    hair_mask = head & ((rows < eye_row - 1) | ((rho > 0.6) & (rows <= eye_row)))
    eyes = (rows == eye_row) & ((cols - cx).abs() == 2.5)
    # Mouth: 4 pixels, 2.5 rows below the centre (3.5 for long faces); a smile lifts its corners.
    mouth_row = cy + 2.5 + shape[:, None, None]
    corner = (cols - cx).abs() == 1.5
    mouth = (((cols - cx).abs() == 0.5) & (rows == mouth_row)) \
        | (corner & (rows == mouth_row - smile[:, None, None]))
    # Paint class codes back to front, then look the colours up.
    code = (_BACKGROUND0 + background)[:, None, None].expand(n, SIZE, SIZE)
    code = torch.where(head, skin[:, None, None], code)
    code = torch.where(hair_mask, (_HAIR0 + hair)[:, None, None], code)
    code = torch.where(eyes, torch.tensor(_EYE), code)
    code = torch.where(mouth, torch.tensor(_MOUTH), code)
    images = _colours()[code].permute(0, 3, 1, 2).contiguous()
    return Faces(images, skin, hair, shape, smile, background)


def classify_pixels(images: torch.Tensor) -> torch.Tensor:
    """The class of every pixel (N, H, W), the index of the nearest palette colour in ``CLASSES``:
    0-3 skin tones, 4-7 hair colours, 8-10 backgrounds, 11 eye, 12 mouth. ``images`` (N, 3, H, W) in [0, 1]."""
    check_pictures(images, "images", channels=3)
    pixels = images.detach().float().cpu().permute(0, 2, 3, 1)  # (N, H, W, 3)
    distance = ((pixels[..., None, :] - _colours()) ** 2).sum(-1)  # (N, H, W, K)
    return distance.argmin(-1)


def _vote(counts: torch.Tensor, least: int) -> torch.Tensor:
    """The majority class among ``counts`` (N, K), or ``UNREADABLE`` when it has fewer than
    ``least`` pixels or no more than half of the pixels of these classes."""
    total = counts.sum(1)
    best, winner = counts.max(1)
    return torch.where((best >= least) & (2 * best > total), winner, torch.tensor(UNREADABLE))


def _read_smile(mouth: torch.Tensor) -> torch.Tensor:
    """1 when the end columns of the mouth lie higher than its inner columns, 0 when level,
    ``UNREADABLE`` when there is no small mouth (3 to 8 pixels spanning 3 to 6 columns)."""
    _, height, width = mouth.shape
    m = mouth.float()
    count = m.sum(1)  # (N, W): mouth pixels per column
    row_sum = (m * torch.arange(height).float()[None, :, None]).sum(1)  # (N, W)
    col = torch.arange(width)
    has = count > 0
    left = torch.where(has, col, width).min(1).values.clamp(max=width - 1)
    right = torch.where(has, col, -1).max(1).values.clamp(min=0)
    mean_row = row_sum / count.clamp(min=1)  # (N, W)
    ends = (mean_row.gather(1, left[:, None]) + mean_row.gather(1, right[:, None]))[:, 0] / 2
    inner = has & (col > left[:, None]) & (col < right[:, None])
    inner_row = (row_sum * inner).sum(1) / (count * inner).sum(1).clamp(min=1)
    span, pixels = right - left + 1, m.sum((1, 2))
    readable = (pixels >= 3) & (pixels <= 8) & (span >= 3) & (span <= 6) & inner.any(1)
    return torch.where(readable, (ends < inner_row - 0.5).long(), torch.tensor(UNREADABLE))


def measure_faces(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Read the attributes back from pictures: ``skin``, ``hair``, ``shape``, ``smile`` and
    ``background``, each an (N,) long tensor of the codes of :class:`Faces` (``UNREADABLE`` = -1
    where a picture shows no such attribute)."""
    label = classify_pixels(images)  # (N, H, W)
    n, classes = label.shape[0], len(CLASSES)
    offset = torch.arange(n)[:, None, None] * classes
    counts = torch.bincount((label + offset).flatten(), minlength=n * classes).view(n, classes)
    skin = _vote(counts[:, :_HAIR0], least=10)
    hair = _vote(counts[:, _HAIR0:_BACKGROUND0], least=5)
    background = _vote(counts[:, _BACKGROUND0:_EYE], least=10)
    # Shape: the head is every pixel that is not background; compare its height to its width,
    # counting only rows and columns with at least 2 head pixels (robust to a stray pixel).
    head = (label < _BACKGROUND0) | (label >= _EYE)
    tall = (head.sum(2) >= 2).sum(1)
    wide = (head.sum(1) >= 2).sum(1)
    shape = (tall > 1.2 * wide).long()
    shape = torch.where((background >= 0) & (wide > 0), shape, torch.tensor(UNREADABLE))
    smile = _read_smile(label == _MOUTH)
    return {"skin": skin, "hair": hair, "shape": shape, "smile": smile, "background": background}


def attribute_match(images: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """How closely the attributes of ``images`` follow those of ``reference`` pictures.

    For each attribute, 1 minus the total-variation distance between the two histograms of
    measured codes (``UNREADABLE`` included; 1 = the same distribution, 0 = disjoint);
    ``"mean"`` averages the five.
    """
    check_pictures(images, "images", channels=3)
    check_pictures(reference, "reference", channels=3)
    a, b = measure_faces(images), measure_faces(reference)
    match = {name: histogram_match(a[name].long(), b[name].long()) for name in a}
    match["mean"] = sum(match.values()) / len(match)
    return match
