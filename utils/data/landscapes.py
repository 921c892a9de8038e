"""Small generated landscape pictures whose attributes follow known distributions.

Landscapes are the classic showcase of diffusion models. Here each picture (3, 16, 16)
in [0, 1] is drawn from a small program, so the truth is known exactly:

* ``sunset``: the sky is a day sky (blue) or a sunset sky (purple to orange), P(sunset) = 0.3;
* ``sun``: a yellow sun of radius 2 is in the sky with probability 0.6, its centre uniform;
* ``mountains``: a dark ridge, the highest of 1 to 3 peaks of random position and height;
* ``water``: a lake fills the bottom; its surface is at row 10, 11, 12 or 13, each with P = 1/4.

:func:`measure_landscapes` reads the same attributes back from any picture, by
classifying each pixel to the nearest colour of the palette, so generated pictures can
be scored against the true distributions (:func:`attribute_match`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..metrics import histogram_match
from ..validate import check_int, check_pictures

SIZE = 16
P_SUNSET, P_SUN, SUN_RADIUS = 0.3, 0.6, 2.0
WATER_ROWS = (10, 11, 12, 13)
# The palette: (top of the sky, just above the horizon) for the two skies, then single colours.
DAY_SKY = ((0.35, 0.6, 0.95), (0.7, 0.85, 1.0))
SUNSET_SKY = ((0.45, 0.25, 0.55), (0.95, 0.5, 0.3))
SUN, MOUNTAIN, WATER = (1.0, 0.95, 0.35), (0.3, 0.27, 0.25), (0.1, 0.25, 0.55)
CLASSES = ("day sky", "sunset sky", "sun", "mountain", "water")


@dataclass(frozen=True)
class Landscapes:
    """Pictures (N, 3, 16, 16) and the attributes each was drawn with."""

    images: torch.Tensor
    sunset: torch.Tensor  # (N,) bool
    sun: torch.Tensor  # (N,) bool
    ridge: torch.Tensor  # (N,) rows of the highest mountain above the water
    water_row: torch.Tensor  # (N,) the first row of water


def _gradient(top, bottom, rows: torch.Tensor, horizon: torch.Tensor) -> torch.Tensor:
    """A vertical colour gradient (N, 3, H, 1) from ``top`` at row 0 to ``bottom`` at the horizon."""
    u = (rows[None, :] / horizon[:, None].float()).clamp(max=1.0)  # (N, H)
    top, bottom = torch.tensor(top), torch.tensor(bottom)
    return (top[None, :, None] * (1 - u[:, None]) + bottom[None, :, None] * u[:, None])[..., None]


def sample_landscapes(n: int, seed: int = 0) -> Landscapes:
    """``n`` landscapes drawn from the known distributions (seeded)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    rows = torch.arange(SIZE).float()
    cols = torch.arange(SIZE).float()
    sunset = torch.rand(n, generator=gen) < P_SUNSET
    sun = torch.rand(n, generator=gen) < P_SUN
    water_row = torch.tensor(WATER_ROWS)[torch.randint(len(WATER_ROWS), (n,), generator=gen)]
    # Sky: a gradient from the top to the water line, day or sunset.
    day = _gradient(*DAY_SKY, rows, water_row)
    dusk = _gradient(*SUNSET_SKY, rows, water_row)
    image = torch.where(sunset[:, None, None, None], dusk, day).expand(n, 3, SIZE, SIZE).clone()
    # Sun: a disc in the sky, drawn before the mountains so they can hide part of it.
    sun_x = torch.rand(n, generator=gen) * (SIZE - 4) + 2
    sun_y = torch.rand(n, generator=gen) * 3 + 2
    disc = (cols[None, None, :] - sun_x[:, None, None]) ** 2 + (rows[None, :, None] - sun_y[:, None, None]) ** 2
    disc = (disc <= SUN_RADIUS**2) & sun[:, None, None]  # (N, H, W)
    image = torch.where(disc[:, None], torch.tensor(SUN)[None, :, None, None], image)
    # Mountains: the upper envelope of 1 to 3 triangular peaks standing on the water line.
    peaks = torch.randint(1, 4, (n,), generator=gen)
    centre = torch.rand(n, 3, generator=gen) * SIZE
    height = torch.rand(n, 3, generator=gen) * 4 + 2  # 2 to 6 rows
    profile = height[:, :, None] - 0.8 * (cols[None, None, :] - centre[:, :, None]).abs()  # (N, 3, W)
    profile = profile.masked_fill(torch.arange(3)[None, :, None] >= peaks[:, None, None], -1.0)
    profile = profile.max(dim=1).values.clamp(min=0)  # (N, W) rows of mountain above the water
    mountain = rows[None, :, None] >= (water_row[:, None, None] - profile[:, None, :])  # (N, H, W)
    image = torch.where(mountain[:, None], torch.tensor(MOUNTAIN)[None, :, None, None], image)
    # Water: the bottom rows, with a faint band pattern.
    water = rows[None, :, None].expand(n, SIZE, SIZE) >= water_row[:, None, None]
    ripple = 0.04 * torch.cos(rows * 2.0)[None, None, :, None]
    image = torch.where(water[:, None], torch.tensor(WATER)[None, :, None, None] + ripple, image)
    ridge = profile.max(dim=1).values.floor()
    return Landscapes(image.clamp(0, 1).contiguous(), sunset, sun, ridge, water_row)


def _palette() -> torch.Tensor:
    """Representative colours (K, 3) and the class of each, for nearest-colour classification."""
    colours, classes = [], []
    for c, sky in enumerate((DAY_SKY, SUNSET_SKY)):
        for u in torch.linspace(0, 1, 6):
            colours.append([a * (1 - u) + b * u for a, b in zip(*sky, strict=True)])
            classes.append(c)
    for c, colour in ((2, SUN), (3, MOUNTAIN), (4, WATER)):
        colours.append(list(colour))
        classes.append(c)
    return torch.tensor(colours), torch.tensor(classes)


def classify_pixels(images: torch.Tensor) -> torch.Tensor:
    """The class of every pixel (N, H, W) of ``images`` (N, 3, H, W) in [0, 1]: 0 day sky, 1 sunset sky,
    2 sun, 3 mountain, 4 water."""
    check_pictures(images, "images", channels=3)
    colours, classes = _palette()
    pixels = images.detach().float().cpu().permute(0, 2, 3, 1)  # (N, H, W, 3)
    distance = ((pixels[..., None, :] - colours) ** 2).sum(-1)  # (N, H, W, K)
    return classes[distance.argmin(-1)]


def measure_landscapes(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Read the attributes back from pictures: ``sunset``, ``sun``, ``water_row`` and ``ridge`` per picture."""
    label = classify_pixels(images)  # (N, H, W)
    n, height, _ = label.shape
    sky = (label <= 1).sum((1, 2)).clamp(min=1)
    sunset = (label == 1).sum((1, 2)) > sky / 2
    sun = (label == 2).sum((1, 2)) >= 4
    water_rows = ((label == 4).float().mean(2) > 0.5)  # (N, H): rows that are mostly water
    water_row = height - water_rows.sum(1)
    mountain_rows = (label == 3).float().sum(1)  # (N, W): mountain pixels in each column
    ridge = mountain_rows.max(1).values  # the highest column of mountain
    return {"sunset": sunset, "sun": sun, "water_row": water_row, "ridge": ridge}


def attribute_match(images: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """How closely the attributes of ``images`` follow those of ``reference`` pictures.

    For each attribute, 1 minus the total-variation distance between the two histograms
    (1 = the same distribution, 0 = disjoint); ``"mean"`` averages the four.
    """
    check_pictures(images, "images", channels=3)
    check_pictures(reference, "reference", channels=3)
    a, b = measure_landscapes(images), measure_landscapes(reference)
    match = {name: histogram_match(a[name].long(), b[name].long()) for name in a}
    match["mean"] = sum(match.values()) / len(match)
    return match
