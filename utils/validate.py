"""What the package's functions check about their inputs, in one place: pictures and their value ranges.

Pictures come in four usual ranges: floats in [0, 1] (what the data sets, the readers of attributes, the
metrics and the plots take), floats in [-1, 1] (what a GAN's tanh and a diffusion model work in), floats
in 0..255 and bytes (uint8, how image files store them). A picture in the wrong range is the quietest
mistake there is: every function still returns a number, just a wrong one. :func:`pixel_range` says which
range a tensor looks like it is in, and :func:`check_pictures` refuses pictures in another range than the
one a function expects, saying how to map them.

Reading a tensor's smallest and largest value makes the host wait for the device, so a training loop checks
its pictures once, before the first step, never per step; shape and dtype checks cost nothing.
"""

from __future__ import annotations

import math
import numbers

import torch

RANGES = ("[0, 1]", "[-1, 1]", "0..255", "uint8")
SLACK = 0.01  # pictures a model drew may overshoot their range by a little; a different range overshoots by far
# How to map pictures from one range to another (x is the tensor).
CONVERSIONS = {
    ("[-1, 1]", "[0, 1]"): "(x + 1) / 2",
    ("0..255", "[0, 1]"): "x / 255",
    ("uint8", "[0, 1]"): "x.float() / 255",
    ("[0, 1]", "[-1, 1]"): "x * 2 - 1",
    ("0..255", "[-1, 1]"): "x / 127.5 - 1",
    ("uint8", "[-1, 1]"): "x.float() / 127.5 - 1",
}


def describe(x) -> str:
    """What came, as an error message shows it: a tensor's dtype and shape, else the value's type."""
    if isinstance(x, torch.Tensor):
        return f"a {str(x.dtype).removeprefix('torch.')} tensor of shape {tuple(x.shape)}"
    return type(x).__name__


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (a Python or numpy integer, not a bool) within ``[minimum, maximum]``, or a
    ValueError naming ``name``."""
    inside = (minimum is None or value >= minimum) and (maximum is None or value <= maximum) \
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) else False
    if not inside:
        bounds = ("" if minimum is None else f" >= {minimum}") + \
            ("" if maximum is None else f"{' and' if minimum is not None else ''} <= {maximum}")
        raise ValueError(f"{name} must be an int{bounds}, got {value!r}")
    return int(value)


def check_number(value, name: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float (a Python, numpy or one-element tensor number, not a bool) within the
    interval from ``low`` to ``high`` (each end open if asked), or a ValueError naming ``name``."""
    number = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
    ok = isinstance(number, numbers.Real) and not isinstance(number, bool) and math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        if low is not None and high is not None:
            where = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            where = f" {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            where = f" {'<' if high_open else '<='} {high:g}"
        else:
            where = ""
        raise ValueError(f"{name} must be a finite number{where}, got {value!r}")
    return float(number)


def check_tensor(x, name: str, shape: str = "", *, ndim: int | None = None, floating: bool | None = None) -> None:
    """Raise a clear error unless ``x`` is a tensor (with ``ndim`` dimensions, floating point or integer as
    asked); ``shape`` is how the message writes the expected shape, such as ``"(B, T)"``."""
    wanted = f"a tensor{' ' + shape if shape else ''}"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be {wanted}, got {describe(x)}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {wanted}, got shape {tuple(x.shape)}")
    if floating is True and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor{' ' + shape if shape else ''}, got {x.dtype}")
    if floating is False and (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{name} must be an integer tensor{' ' + shape if shape else ''}, got {x.dtype}")


def check_callable(fn, name: str, what: str = "a function") -> None:
    """Raise a TypeError naming ``name`` unless ``fn`` can be called (``what`` says what it should be)."""
    if not callable(fn):
        raise TypeError(f"{name} must be {what}, got {describe(fn)}")


def check_id_lists(value, name: str, one: str) -> None:
    """Refuse anything but a list of lists of token ids, naming ``name``; ``one`` says how to pass a single one."""
    if isinstance(value, (str, torch.Tensor)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of lists of token ids, got {describe(value)}")
    flat = [i for i, ids in enumerate(value) if not isinstance(ids, (list, tuple))]
    if flat:
        raise TypeError(f"{name} must be a list of lists of token ids, but {name}[{flat[0]}] is "
                        f"{describe(value[flat[0]])}: {one}")


def pixel_range(images) -> str:
    """Which usual range the values of ``images`` look like they are in: ``"uint8"`` (by dtype), else, by
    their smallest and largest value, ``"[0, 1]"``, ``"[-1, 1]"`` or ``"0..255"`` (the first that holds them,
    give or take ``SLACK``), or ``"other"`` (NaN, infinite or beyond all three).

    It only looks: a picture in [-1, 1] with no value below 0 looks like [0, 1]."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor of pictures, got {describe(images)}")
    if images.numel() == 0:
        raise ValueError(f"images is empty ({describe(images)}): an empty tensor has no range")
    if images.dtype == torch.uint8:
        return "uint8"
    values = images.detach().float()
    if not torch.isfinite(values).all():
        return "other"
    low, high = values.min().item(), values.max().item()
    if low >= -SLACK and high <= 1 + SLACK:
        return "[0, 1]"
    if low >= -1 - SLACK and high <= 1 + SLACK:
        return "[-1, 1]"
    if low >= -SLACK and high <= 255 + SLACK:
        return "0..255"
    return "other"


def check_pictures(images, name: str = "images", *, expected: str = "[0, 1]", channels: int | None = None,
                   size: int | None = None) -> None:
    """Raise a clear error unless ``images`` is a float tensor (N, C, H, W) of pictures in the range
    ``expected`` (``"[0, 1]"`` or ``"[-1, 1]"``), with ``channels`` channels and ``size`` x ``size`` pixels
    when these are given; ``name`` is the argument's name in the message."""
    if expected not in ("[0, 1]", "[-1, 1]"):
        raise ValueError(f"expected must be '[0, 1]' or '[-1, 1]', got {expected!r}")
    c = "C" if channels is None else channels
    h, w = ("H", "W") if size is None else (size, size)
    shape = f"(N, {c}, {h}, {w})"
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a tensor {shape} of pictures in {expected}, got {describe(images)}")
    if images.ndim != 4 or images.shape[0] < 1 or (channels is not None and images.shape[1] != channels) \
            or (size is not None and tuple(images.shape[2:]) != (size, size)):
        raise ValueError(f"{name} must have shape {shape} with N >= 1, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        raise TypeError(f"{name} must be floating point with values in {expected}, got uint8 pixels (0..255): "
                        f"map them with {CONVERSIONS[('uint8', expected)]}")
    if not images.is_floating_point():
        raise TypeError(f"{name} must be floating point with values in {expected}, got {images.dtype}")
    found = pixel_range(images)
    if found == expected or (expected == "[-1, 1]" and found == "[0, 1]"):  # [0, 1] values lie in [-1, 1] too
        return
    values = images.detach().float()
    shown = f"[{values.min().item():.3g}, {values.max().item():.3g}]"
    hint = f": map them with {CONVERSIONS[(found, expected)]}" if (found, expected) in CONVERSIONS else ""
    looks = f", which looks like {found}" if found != "other" else ""
    raise ValueError(f"{name} must hold pixels in {expected}, got values in {shown}{looks}{hint}")
