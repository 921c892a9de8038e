"""Real photographs cut into small patches, for image enhancement (super-resolution).

scikit-learn ships two colour photographs, ``china.jpg`` (a temple) and
``flower.jpg`` (a flower), each 427 x 640 pixels, with ``load_sample_images``: real
pictures that need no download. :func:`load_photo_patches` cuts them into square
patches. Each photograph is split into vertical bands 64 pixels wide; every fourth band
gives the held-out patches and the others the training patches. No held-out pixel is
ever seen in training (random patches from one region would overlap and leak), and
both sets see every part of both pictures: with one block of the picture held out
(its right quarter, say) the held-out patches show other things than the training
ones, and a super-resolution network trained on one part does worse than bicubic on the other.

:func:`downsample` makes the low-resolution version of a patch by averaging blocks of
pixels, as a camera sensor with bigger pixels would.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..validate import check_pictures, check_tensor

BAND = 64  # width of the vertical bands, in pixels
HELD_OUT_EVERY = 4  # every fourth band is held out


@dataclass(frozen=True)
class PhotoPatches:
    """Patches (N, 3, size, size), float32 in [0, 1]: ``train`` and ``test`` from disjoint regions."""

    train: torch.Tensor
    test: torch.Tensor
    size: int


def load_photos() -> torch.Tensor:
    """The two sample photographs as a tensor (2, 3, 427, 640) in [0, 1]."""
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    return torch.stack([torch.tensor(im).permute(2, 0, 1).float() / 255.0 for im in images])


def _cut(region: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """All ``size`` x ``size`` patches of ``region`` (3, H, W) on a grid of step ``stride``."""
    patches = region.unfold(1, size, stride).unfold(2, size, stride)  # (3, nH, nW, size, size)
    return patches.permute(1, 2, 0, 3, 4).reshape(-1, 3, size, size)


def load_photo_patches(size: int = 16, stride: int | None = None, max_train: int | None = None,
                       max_test: int | None = None, seed: int = 0) -> PhotoPatches:
    """Patches of the sample photographs: held-out ones from every fourth 64-pixel band, training ones from the rest.

    ``stride`` (default ``size // 2``) spaces the training patches; held-out patches do not
    overlap (stride ``size``). No patch crosses a band's edge. ``max_train`` and ``max_test``
    keep a seeded random subset.
    """
    if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= BAND:
        raise ValueError(f"size must be an int in [2, {BAND}], got {size!r}")
    stride = size // 2 if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    for name, value in (("max_train", max_train), ("max_test", max_test)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be None or a positive int, got {value!r}")
    train, test = [], []
    for photo in load_photos():
        for band, start in enumerate(range(0, photo.shape[-1] - BAND + 1, BAND)):
            region = photo[:, :, start:start + BAND]
            if band % HELD_OUT_EVERY == HELD_OUT_EVERY - 1:
                test.append(_cut(region, size, size))
            else:
                train.append(_cut(region, size, stride))
    train, test = torch.cat(train), torch.cat(test)
    gen = torch.Generator().manual_seed(seed)
    if max_train is not None and max_train < len(train):
        train = train[torch.randperm(len(train), generator=gen)[:max_train]]
    if max_test is not None and max_test < len(test):
        test = test[torch.randperm(len(test), generator=gen)[:max_test]]
    return PhotoPatches(train.contiguous(), test.contiguous(), size)


def downsample(images: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Average ``factor`` x ``factor`` blocks: (N, C, H, W) -> (N, C, H/factor, W/factor)."""
    check_tensor(images, "images", "(N, C, H, W)", ndim=4, floating=True)
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    if images.shape[-1] % factor or images.shape[-2] % factor:
        raise ValueError(f"images' height and width must be divisible by factor={factor}, got {tuple(images.shape)}")
    return F.avg_pool2d(images, factor)


def bicubic_upsample(images: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """The classic baseline: bicubic interpolation of ``images`` (N, C, H, W) in [0, 1] back to full size,
    clipped to [0, 1]."""
    check_pictures(images, "images")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    return F.interpolate(images, scale_factor=factor, mode="bicubic", align_corners=False).clamp(0, 1)


def psnr(images: torch.Tensor, reference: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: ``10 log10(1 / MSE)``, MSE over all pixels."""
    check_pictures(images, "images")
    check_pictures(reference, "reference")
    if images.shape != reference.shape:
        raise ValueError(f"images and reference must have the same shape, got {tuple(images.shape)} "
                         f"and {tuple(reference.shape)}")
    mse = (images.double() - reference.double()).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()
