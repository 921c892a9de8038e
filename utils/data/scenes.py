"""Small pictures drawn by code from captions, with the facts each caption fixes.

Text-to-image models are judged by whether a picture shows what its caption says. Here
each picture (3, 16, 16) in [0, 1] is drawn by a small program from its caption, so the
facts are known exactly and can be read back from any picture. There are two kinds:

* **object pairs**, P = ``P_PAIR`` = 0.8: "a red ball above a blue box". Two objects on a
  plain light-grey background, one above the other: the top one in rows 1-7, the bottom one
  in rows 9-15, each at most 7x7 pixels, each shifted across on its own (its left column is
  3, 4, 5 or 6, each with P = 1/4). The shapes (``SHAPES``, codes 0-3) are a ``ball`` (a
  filled disc), a ``box`` (a filled 6x6 square), a ``tree`` (a triangle on a short brown
  trunk) and a ``house`` (a square with a doorway under a dark grey triangular roof); the
  colour of the object (``COLOURS``, codes 0-3: red, green, blue, yellow) is the colour of
  the disc, the square, the tree's crown and the house's walls. The two objects may have
  the same shape but never the same colour. Facts: ``top_shape``, ``top_colour``,
  ``bottom_shape``, ``bottom_colour``, and ``scene`` = -1.
* **whole scenes**, P = 0.2 (each P = 0.1): ``SCENES`` 0 "a sunny beach with palm trees"
  (a blue sky, a yellow sun disc, sand on the bottom 4 or 5 rows, one or two palm trees of
  a brown trunk and a green crown) or 1 "a landscape with mountains at night" (a dark navy
  sky, usually 3 to 6 white stars, a pale moon, 2 or 3 dark grey mountains). Fact: ``scene`` (0 or
  1); the four object facts are -1.

**Held-out combinations.** The (colour, shape) pairs ``HELD_OUT`` = (blue, tree), (yellow,
box), (red, house) never appear in training captions, so a model can be asked to compose
what it has only seen apart. :func:`sample_scenes` draws from three splits:

* ``"train"``: object pairs (P = 0.8) uniform over the 126 ordered combinations
  (top colour, top shape, bottom colour, bottom shape) with two different colours and
  neither (colour, shape) pair held out, and whole scenes (P = 0.2);
* ``"heldout"``: object pairs only, uniform over the 66 combinations with two different
  colours where at least one of the two (colour, shape) pairs is held out;
* ``"all"``: object pairs (P = 0.8) uniform over all 192 combinations with two different
  colours (train and heldout together), and whole scenes (P = 0.2).

Because the combinations are uniform, the colours and shapes of the train split are not:
there, green objects (4 allowed shapes) are more common than the others (3 each).

:func:`caption` writes the caption fixed by the facts and :func:`parse_caption` reads the
facts back from any caption the grammar can produce (so a reader can type one).
:func:`read_scenes` reads the facts back from any picture, by classifying each pixel to the
nearest colour of the palette, and :func:`caption_accuracy` scores pictures against their
captions. A fact that cannot be read from a picture is given the code ``UNREADABLE`` (-1).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..validate import check_int, check_pictures, describe

SIZE = 16
P_PAIR = 0.8
UNREADABLE = -1
SHAPES = ("ball", "box", "tree", "house")
COLOURS = ("red", "green", "blue", "yellow")
SCENES = ("a sunny beach with palm trees", "a landscape with mountains at night")
HELD_OUT = (("blue", "tree"), ("yellow", "box"), ("red", "house"))
SPLITS = ("train", "heldout", "all")
FACTS = ("scene", "top_shape", "top_colour", "bottom_shape", "bottom_colour")
TOP_ROW, BOTTOM_ROW = 1, 9  # the first row of the 7x7 stencil of the top and the bottom object
LEFT_COLUMNS = (3, 4, 5, 6)  # the first column of an object's stencil, each with P = 1/4
# Stencils of the objects, 7x7: '#' the object's colour, 'T' brown trunk, 'R' dark grey roof.
STENCILS = {
    "ball": ("..###..",
             ".#####.",
             "#######",
             "#######",
             "#######",
             ".#####.",
             "..###.."),
    "box": (".......",
            "######.",
            "######.",
            "######.",
            "######.",
            "######.",
            "######."),
    "tree": ("...#...",
             "..###..",
             "..###..",
             ".#####.",
             "#######",
             "...T...",
             "...T..."),
    "house": ("...R...",
              "..RRR..",
              ".RRRRR.",
              "RRRRRRR",
              ".#####.",
              ".##.##.",
              ".##.##."),
}
# The palette, one colour per pixel class. Every colour is at least 0.3 (Euclidean, in RGB)
# from every other. Objects use the background, the four object colours, brown (trunks) and
# dark grey (roofs); the beach uses sky, sand, yellow (sun), brown and green (palms); the
# night uses night sky, white (stars and moon) and dark grey (mountains).
BACKGROUND = (0.78, 0.78, 0.78)
OBJECT_COLOURS = ((0.9, 0.1, 0.1), (0.1, 0.75, 0.2), (0.15, 0.3, 0.95), (0.95, 0.85, 0.1))
BROWN, DARK_GREY = (0.45, 0.26, 0.08), (0.32, 0.32, 0.36)
SKY, SAND, NIGHT_SKY, WHITE = (0.45, 0.72, 1.0), (0.95, 0.8, 0.5), (0.04, 0.06, 0.25), (1.0, 1.0, 0.88)
CLASSES = ("background",) + COLOURS + ("brown", "dark grey", "sky", "sand", "night sky", "white")
_BACKGROUND, _COLOUR0, _BROWN, _DARK_GREY, _SKY, _SAND, _NIGHT, _WHITE = 0, 1, 5, 6, 7, 8, 9, 10
_GREEN, _YELLOW = _COLOUR0 + COLOURS.index("green"), _COLOUR0 + COLOURS.index("yellow")
_PAIR_RE = re.compile(r"a (\w+) (\w+) above a (\w+) (\w+)")


@dataclass(frozen=True)
class Scenes:
    """Pictures (N, 3, 16, 16), their captions and the facts each caption fixes, as (N,) long codes."""

    images: torch.Tensor
    captions: list[str]
    scene: torch.Tensor  # 0 beach, 1 night, -1 an object pair
    top_shape: torch.Tensor  # index in SHAPES, -1 for a whole scene
    top_colour: torch.Tensor  # index in COLOURS, -1 for a whole scene
    bottom_shape: torch.Tensor
    bottom_colour: torch.Tensor

    @property
    def facts(self) -> dict[str, torch.Tensor]:
        """The five facts, by name (see ``FACTS``)."""
        return {name: getattr(self, name) for name in FACTS}


def _held_out(colour: int, shape: int) -> bool:
    return (COLOURS[colour], SHAPES[shape]) in HELD_OUT


def _combinations(split: str) -> torch.Tensor:
    """Every (top_shape, top_colour, bottom_shape, bottom_colour) an object pair of ``split`` can show."""
    rows = []
    for ts in range(len(SHAPES)):
        for tc in range(len(COLOURS)):
            for bs in range(len(SHAPES)):
                for bc in range(len(COLOURS)):
                    if tc == bc:
                        continue
                    held = _held_out(tc, ts) or _held_out(bc, bs)
                    if split == "all" or (split == "heldout") == held:
                        rows.append((ts, tc, bs, bc))
    return torch.tensor(rows)


def _colours() -> torch.Tensor:
    """The palette (11, 3), one colour per pixel class (see ``CLASSES``)."""
    return torch.tensor((BACKGROUND,) + OBJECT_COLOURS + (BROWN, DARK_GREY, SKY, SAND, NIGHT_SKY, WHITE))


def _stencils() -> torch.Tensor:
    """The stencils (4, 7, 7) as part codes: 0 empty, 1 the object's colour, 2 trunk, 3 roof."""
    part = {".": 0, "#": 1, "T": 2, "R": 3}
    return torch.tensor([[[part[ch] for ch in line] for line in STENCILS[name]] for name in SHAPES])


def _placed_stencils(top: int) -> torch.Tensor:
    """The part codes (4, 4, H, W) of each shape (first axis) with its stencil's corner at row
    ``top`` and column ``LEFT_COLUMNS[i]`` (second axis)."""
    stencils = _stencils()
    k = stencils.shape[1]
    placed = torch.zeros(len(SHAPES), len(LEFT_COLUMNS), SIZE, SIZE, dtype=torch.uint8)
    for i, left in enumerate(LEFT_COLUMNS):
        placed[:, i, top:top + k, left:left + k] = stencils
    return placed


def _paint_objects(code, shape, colour, left, top: int) -> torch.Tensor:
    """Paint one object per picture onto the class codes ``code`` (N, H, W): stencil ``shape`` (N,)
    in ``colour`` (N,), its corner at row ``top`` and column ``LEFT_COLUMNS[left]`` (``left`` (N,))."""
    part = _placed_stencils(top)[shape, left]  # (N, H, W)
    cls = torch.where(part == 1, (_COLOUR0 + colour[:, None, None]).to(code.dtype),
                      torch.where(part == 2, _BROWN, _DARK_GREY).to(code.dtype))
    return torch.where(part > 0, cls, code)


def _disc(cx: torch.Tensor, cy: torch.Tensor, radius: float) -> torch.Tensor:
    """Masks (N, H, W) of discs of centres (``cx``, ``cy``), each (N,)."""
    rows = torch.arange(SIZE).float()[None, :, None]
    cols = torch.arange(SIZE).float()[None, None, :]
    return (cols - cx[:, None, None]) ** 2 + (rows - cy[:, None, None]) ** 2 <= radius**2


def _beaches(n: int, gen: torch.Generator) -> torch.Tensor:
    """Class codes (N, H, W) of ``n`` beaches: sky, sun, sand and one or two palm trees."""
    rows = torch.arange(SIZE)[None, :, None]
    cols = torch.arange(SIZE)[None, None, :]
    code = torch.full((n, SIZE, SIZE), _SKY, dtype=torch.uint8)
    # The sun: a disc of 12 pixels in rows 1-4, its centre between pixels (columns 3.5 to 12.5).
    sun = _disc(torch.randint(3, 13, (n,), generator=gen) + 0.5, torch.full((n,), 2.5), 1.6)
    code = torch.where(sun, _YELLOW, code)
    sand_row = torch.randint(11, 13, (n,), generator=gen)[:, None, None]
    code = torch.where(rows >= sand_row, _SAND, code)
    # Palm trees: one on the left (column 2-5) and one on the right (10-13); both with P = 1/2,
    # else only one of them. A trunk of 4 or 5 rows above the sand, a crown of 10 green pixels
    # whose top row (5 or lower) is below the sun.
    both, left_only = torch.rand(n, generator=gen) < 0.5, torch.rand(n, generator=gen) < 0.5
    present = torch.stack((both | left_only, both | ~left_only), 1)  # (N, 2)
    x = torch.stack((torch.randint(2, 6, (n,), generator=gen), torch.randint(10, 14, (n,), generator=gen)), 1)
    crown_row = sand_row[:, :, 0] - torch.randint(4, 6, (n, 2), generator=gen)  # (N, 2)
    for p in range(2):
        on, dx = present[:, p, None, None], (cols - x[:, p, None, None]).abs()
        dy = rows - crown_row[:, p, None, None]
        trunk = on & (dx == 0) & (dy >= 0) & (rows <= sand_row)
        crown = on & (((dy == -1) & (dx <= 1)) | ((dy == 0) & (dx <= 2)) | ((dy == 1) & (dx == 2)))
        code = torch.where(trunk, _BROWN, code)
        code = torch.where(crown, _GREEN, code)
    return code


def _nights(n: int, gen: torch.Generator) -> torch.Tensor:
    """Class codes (N, H, W) of ``n`` nights: navy sky, stars, a moon and dark grey mountains."""
    rows = torch.arange(SIZE)[None, :, None]
    cols = torch.arange(SIZE)[None, None, :]
    code = torch.full((n, SIZE, SIZE), _NIGHT, dtype=torch.uint8)
    # The moon: a disc of 12 pixels in rows 1-4 or 2-5, its centre between pixels.
    moon_x = torch.randint(3, 13, (n,), generator=gen) + 0.5
    moon_y = torch.randint(2, 4, (n,), generator=gen) + 0.5
    # Stars: 3 to 6 single white pixels in rows 0-6 (above every peak), the first of 8 random
    # places that are more than 3 pixels from the moon's centre (two may share a pixel).
    count = torch.randint(3, 7, (n,), generator=gen)
    star_row = torch.randint(0, 7, (n, 8), generator=gen)
    star_col = torch.randint(0, SIZE, (n, 8), generator=gen)
    far = (star_col - moon_x[:, None]) ** 2 + (star_row - moon_y[:, None]) ** 2 > 9  # (N, 8)
    keep = far & (far.cumsum(1) <= count[:, None])
    star = (rows[:, None] == star_row[..., None, None]) & (cols[:, None] == star_col[..., None, None])
    star = (star & keep[..., None, None]).any(1)
    code = torch.where(star | _disc(moon_x, moon_y, 1.6), _WHITE, code)
    # Mountains: the upper envelope of 2 or 3 peaks 6 to 9 rows high; the bottom 3 rows are all mountain.
    peaks = torch.randint(2, 4, (n,), generator=gen)
    centre = torch.rand(n, 3, generator=gen) * SIZE
    height = torch.rand(n, 3, generator=gen) * 3 + 6
    profile = height[:, :, None] - 1.2 * (cols[:, 0] - centre[:, :, None]).abs()  # (N, 3, W)
    profile = profile.masked_fill(torch.arange(3)[None, :, None] >= peaks[:, None, None], 0.0)
    profile = profile.max(1).values.clamp(min=3)  # (N, W) rows of mountain above the bottom edge
    code = torch.where(rows >= SIZE - profile[:, None, :], _DARK_GREY, code)
    return code


def sample_scenes(n: int, seed: int = 0, split: str = "train") -> Scenes:
    """``n`` pictures with their captions and facts, drawn from ``split`` (seeded): ``"train"``,
    ``"heldout"`` or ``"all"`` (see the module's docstring for their distributions)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    gen = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    combos = _combinations(split)
    pair = torch.rand(n, generator=gen) < (1.0 if split == "heldout" else P_PAIR)
    which = torch.randint(len(SCENES), (n,), generator=gen)
    objects = combos[torch.randint(len(combos), (n,), generator=gen)]  # (N, 4)
    left = torch.randint(len(LEFT_COLUMNS), (n, 2), generator=gen)  # index in LEFT_COLUMNS
    code = torch.full((n, SIZE, SIZE), _BACKGROUND, dtype=torch.uint8)
    code = _paint_objects(code, objects[:, 0], objects[:, 1], left[:, 0], TOP_ROW)
    code = _paint_objects(code, objects[:, 2], objects[:, 3], left[:, 1], BOTTOM_ROW)
    # Whole scenes are drawn only for the pictures that show one.
    whole = ~pair
    m = int(whole.sum())
    if m:
        beach = (which[whole] == 0)[:, None, None]
        code[whole] = torch.where(beach, _beaches(m, gen), _nights(m, gen))
    images = _colours()[code.long()].permute(0, 3, 1, 2).contiguous()
    none = torch.tensor(UNREADABLE)
    facts = {"scene": torch.where(pair, none, which)}
    for i, name in enumerate(FACTS[1:]):
        facts[name] = torch.where(pair, objects[:, i], none)
    return Scenes(images, captions(facts), **facts)


def caption(*, scene: int = UNREADABLE, top_shape: int = UNREADABLE, top_colour: int = UNREADABLE,
            bottom_shape: int = UNREADABLE, bottom_colour: int = UNREADABLE) -> str:
    """The caption fixed by the facts: ``SCENES[scene]`` for a whole scene (the other facts -1),
    else "a <top colour> <top shape> above a <bottom colour> <bottom shape>" (``scene`` = -1)."""
    facts = {"scene": scene, "top_shape": top_shape, "top_colour": top_colour,
             "bottom_shape": bottom_shape, "bottom_colour": bottom_colour}
    for name, value in facts.items():
        integral = isinstance(value, numbers.Integral) or (isinstance(value, torch.Tensor) and value.numel() == 1
                                                             and not value.is_floating_point())
        if not integral or isinstance(value, bool):
            raise TypeError(f"{name} must be an int code (-1 for none), got {value!r}")
    facts = {name: int(value) for name, value in facts.items()}
    objects = [facts[name] for name in FACTS[1:]]
    if facts["scene"] != UNREADABLE:
        if not 0 <= facts["scene"] < len(SCENES) or any(v != UNREADABLE for v in objects):
            raise ValueError(f"a whole scene needs scene in 0..{len(SCENES) - 1} and every other fact -1, got {facts}")
        return SCENES[facts["scene"]]
    ts, tc, bs, bc = objects
    if not (0 <= ts < len(SHAPES) and 0 <= bs < len(SHAPES) and 0 <= tc < len(COLOURS) and 0 <= bc < len(COLOURS)):
        raise ValueError(f"an object pair needs shapes in 0..{len(SHAPES) - 1} and colours in "
                         f"0..{len(COLOURS) - 1}, got {facts}")
    if tc == bc:
        raise ValueError(f"the two objects must have different colours, got {facts}")
    return f"a {COLOURS[tc]} {SHAPES[ts]} above a {COLOURS[bc]} {SHAPES[bs]}"


def captions(facts: Scenes | Mapping[str, torch.Tensor]) -> list[str]:
    """The caption of every picture, from :class:`Scenes` or a mapping of the five (N,) facts."""
    if isinstance(facts, Scenes):
        facts = facts.facts
    if not isinstance(facts, Mapping) or not all(name in facts for name in FACTS):
        raise TypeError(f"facts must be Scenes or a mapping of the five facts {FACTS} to (N,) codes, got "
                        f"{describe(facts)}{' without ' + str([n for n in FACTS if n not in facts]) if isinstance(facts, Mapping) else ''}")
    table = torch.stack([torch.as_tensor(facts[name]).long().cpu() for name in FACTS], 1)  # (N, 5)
    rows, index = torch.unique(table, dim=0, return_inverse=True)  # each distinct caption written once
    texts = [caption(**dict(zip(FACTS, row, strict=True))) for row in rows.tolist()]
    return [texts[i] for i in index.tolist()]


def parse_caption(text: str) -> dict[str, int]:
    """The facts (see ``FACTS``) a caption fixes; the inverse of :func:`caption`.

    Case, surrounding and repeated spaces and a final full stop are ignored. Raises a
    ``ValueError`` for a caption the grammar cannot produce."""
    if not isinstance(text, str):
        raise TypeError(f"text (a caption) must be a str, got {type(text).__name__}")
    clean = " ".join(text.lower().split()).removesuffix(".").strip()
    if clean in SCENES:
        return {"scene": SCENES.index(clean), **{name: UNREADABLE for name in FACTS[1:]}}
    match = _PAIR_RE.fullmatch(clean)
    words = match.groups() if match else ()
    if not match or words[0] not in COLOURS or words[2] not in COLOURS \
            or words[1] not in SHAPES or words[3] not in SHAPES:
        raise ValueError(f"cannot parse caption {text!r}: expected 'a <colour> <shape> above a <colour> <shape>' "
                         f"with colours {COLOURS} and shapes {SHAPES}, or one of {SCENES}")
    if words[0] == words[2]:
        raise ValueError(f"cannot parse caption {text!r}: the two objects must have different colours")
    return {"scene": UNREADABLE, "top_shape": SHAPES.index(words[1]), "top_colour": COLOURS.index(words[0]),
            "bottom_shape": SHAPES.index(words[3]), "bottom_colour": COLOURS.index(words[2])}


def classify_pixels(images: torch.Tensor) -> torch.Tensor:
    """The class of every pixel (N, H, W), the index of the nearest palette colour in ``CLASSES``:
    0 background, 1-4 red, green, blue, yellow, 5 brown, 6 dark grey, 7 sky, 8 sand, 9 night sky, 10 white.
    ``images`` (N, 3, H, W) in [0, 1]."""
    check_pictures(images, "images", channels=3)
    pixels = images.detach().float().cpu().permute(0, 2, 3, 1)  # (N, H, W, 3)
    colours = _colours()
    # The squared distance to each colour, less the square of the pixel, which every colour shares.
    distance = (colours**2).sum(1) - 2 * pixels @ colours.T  # (N, H, W, K)
    return distance.argmin(-1)


def _vote(counts: torch.Tensor, least: int) -> torch.Tensor:
    """The majority class among ``counts`` (N, K), or ``UNREADABLE`` when it has fewer than
    ``least`` pixels or no more than half of the pixels of these classes."""
    best, winner = counts.max(1)
    return torch.where((best >= least) & (2 * best > counts.sum(1)), winner, torch.tensor(UNREADABLE))


def _mean_row(mask: torch.Tensor) -> torch.Tensor:
    """The mean row (N,) of the pixels of each mask (N, H, W); 0 for an empty mask."""
    rows = torch.arange(mask.shape[1]).float()[None, :, None]
    return (mask * rows).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1)


def _read_objects(label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The colour and the shape (M,) of the one object in each half picture of classes ``label`` (M, h, W).

    Colour: the majority object colour, if it has at least 8 pixels and more than half of them.
    Shape, from the object's pixels (its colour, brown and dark grey), when it has at least 8
    pixels of its colour:

    * a ``house`` has at least 4 dark grey (roof) pixels, above its coloured walls on average,
      and fewer than 2 brown pixels;
    * a ``tree`` has at least 2 brown (trunk) pixels, below its coloured crown on average, and
      fewer than 4 dark grey pixels;
    * with at most 1 brown or dark grey pixel, a ``box`` fills at least 0.88 of its bounding
      box (it fills 1.0) and a ``ball`` 0.62 to 0.88 (it fills 37/49 = 0.76), both with a bounding
      box as tall as wide (give or take one pixel). The bounding box spans the rows and the
      columns holding at least 2 of its pixels, so a stray pixel does not stretch it.

    Anything else is ``UNREADABLE``."""
    body = (label >= _COLOUR0) & (label < _COLOUR0 + len(COLOURS))
    roof, trunk = label == _DARK_GREY, label == _BROWN
    thing = body | roof | trunk
    counts = torch.stack([(label == _COLOUR0 + c).sum((1, 2)) for c in range(len(COLOURS))], 1)
    colour = _vote(counts, least=8)
    n_body, n_roof, n_trunk = body.sum((1, 2)), roof.sum((1, 2)), trunk.sum((1, 2))
    row_body = _mean_row(body)
    house = (n_roof >= 4) & (n_trunk < 2) & (_mean_row(roof) < row_body)
    tree = (n_trunk >= 2) & (n_roof < 4) & (_mean_row(trunk) > row_body)
    keep_rows = thing.sum(2) >= 2  # (M, h)
    keep_cols = thing.sum(1) >= 2  # (M, W)
    tall, wide = keep_rows.sum(1), keep_cols.sum(1)
    inside = (thing & keep_rows[:, :, None] & keep_cols[:, None, :]).sum((1, 2))
    # The box spanned by the first and the last kept row and column.
    h_idx, w_idx = torch.arange(label.shape[1]), torch.arange(label.shape[2])
    top = torch.where(keep_rows, h_idx, label.shape[1]).min(1).values
    bottom = torch.where(keep_rows, h_idx, -1).max(1).values
    left = torch.where(keep_cols, w_idx, label.shape[2]).min(1).values
    right = torch.where(keep_cols, w_idx, -1).max(1).values
    height, width = (bottom - top + 1).clamp(min=0), (right - left + 1).clamp(min=0)
    fill = inside / (height * width).clamp(min=1)
    plain = (n_roof + n_trunk <= 1) & (tall > 0) & (wide > 0) & ((height - width).abs() <= 1)
    box = plain & (fill >= 0.88)
    ball = plain & (fill >= 0.62) & (fill < 0.88)
    shape = torch.full_like(colour, UNREADABLE)
    for code, mask in ((SHAPES.index("ball"), ball), (SHAPES.index("box"), box),
                       (SHAPES.index("tree"), tree), (SHAPES.index("house"), house)):
        shape = torch.where(mask, torch.tensor(code), shape)
    shape = torch.where((n_body >= 8) & ((house.long() + tree.long() + box.long() + ball.long()) == 1),
                        shape, torch.tensor(UNREADABLE))
    return colour, shape


def read_scenes(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Read the facts back from pictures (N, 3, 16, 16): each of ``FACTS``, an (N,) long tensor.

    The kind of picture is the largest of three shares of its pixels, if it is at least 0.3:
    sky and sand (a beach, ``scene`` 0), night sky (a night, ``scene`` 1), or background (an
    object pair, ``scene`` -1). For an object pair, the top object is read from rows 0-7 and
    the bottom one from rows 8-15 (see :func:`_read_objects` for the rules); for a whole scene
    the object facts are -1. A picture of none of the three kinds gives -1 everywhere (which
    matches no caption)."""
    check_pictures(images, "images", channels=3, size=SIZE)
    label = classify_pixels(images)  # (N, H, W)
    n, classes = label.shape[0], len(CLASSES)
    offset = torch.arange(n)[:, None, None] * classes
    counts = torch.bincount((label + offset).flatten(), minlength=n * classes).view(n, classes).float()
    shares = torch.stack((counts[:, _SKY] + counts[:, _SAND], counts[:, _NIGHT], counts[:, _BACKGROUND]), 1)
    best, kind = (shares / SIZE**2).max(1)
    kind = torch.where(best >= 0.3, kind, torch.tensor(UNREADABLE))  # 0 beach, 1 night, 2 pair
    none = torch.tensor(UNREADABLE)
    pair = kind == 2
    colour, shape = _read_objects(label.view(n * 2, SIZE // 2, SIZE))
    colour, shape = colour.view(n, 2), shape.view(n, 2)
    return {"scene": torch.where(kind <= 1, kind, none),
            "top_shape": torch.where(pair, shape[:, 0], none), "top_colour": torch.where(pair, colour[:, 0], none),
            "bottom_shape": torch.where(pair, shape[:, 1], none),
            "bottom_colour": torch.where(pair, colour[:, 1], none)}


def caption_accuracy(images: torch.Tensor, truth: Scenes | Mapping[str, torch.Tensor] | Sequence[str]) -> float:
    """The share of ``images`` whose facts, as read by :func:`read_scenes`, ALL equal the facts
    their caption fixes. ``truth`` is :class:`Scenes`, a mapping of the five (N,) facts, or the
    N captions themselves (parsed by :func:`parse_caption`)."""
    check_pictures(images, "images", channels=3, size=SIZE)
    if isinstance(truth, Scenes):
        truth = truth.facts
    elif not isinstance(truth, Mapping):
        if isinstance(truth, str) or not isinstance(truth, Sequence):
            raise TypeError(f"truth must be Scenes, a mapping of facts or a list of captions, got "
                            f"{type(truth).__name__}")
        parsed = [parse_caption(text) for text in truth]
        truth = {name: torch.tensor([p[name] for p in parsed], dtype=torch.long) for name in FACTS}
    read = read_scenes(images)
    n = read["scene"].shape[0]
    ok = torch.ones(n, dtype=torch.bool)
    for name in FACTS:
        want = torch.as_tensor(truth[name]).long().cpu()
        if want.shape != (n,):
            raise ValueError(f"truth must give one caption per picture: truth[{name!r}] must have shape ({n},) "
                             f"like the {n} images, got {tuple(want.shape)}")
        ok &= read[name] == want
    return ok.float().mean().item()
