"""The classical generative models of the digits, packaged for comparison with the deep ones.

Chapter 1 builds the first two in plain sight; the metrics chapter's leaderboard draws from
all three with the same seeds, so that their scores equal the ones chapter 1 recorded:

* :func:`gaussian_digits`: one Gaussian per class with a shrunk covariance (chapter 1);
* :func:`mixture_digits`: a 10-component Gaussian mixture, scikit-learn's ``GaussianMixture``;
* :func:`kde_digits`: a Gaussian kernel density estimate, whose samples are training digits
  plus a little noise: the memoriser every sample-based score must be read against;
* :func:`independent_pixels` and :func:`histogram_bits`: chapter 10's independent pixels, each pixel's
  own histogram of the 17 levels, and its cost in bits per dimension.

Each sampler returns ``n`` images (n, 1, 8, 8) clipped to [0, 1], the range of real ink.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import Digits
from .pixelcnn import pixel_histograms
from .validate import check_int, check_number, check_tensor


def _check(digits, n: int | None = 1, seed: int = 0) -> None:
    if not isinstance(digits, Digits):
        raise TypeError(f"digits must be the Digits of utils.data.load_digits(), got {type(digits).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    check_int(seed, "seed", 0)


def _images(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float32).clamp(0, 1).view(-1, 1, 8, 8)


def gaussian_digits(digits: Digits, n: int, seed: int = 0, shrinkage: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` digits and their classes from one Gaussian per class, fitted by maximum likelihood.

    Each covariance is mixed with ``shrinkage`` times its mean variance on the diagonal, as in
    chapter 1; the class is drawn from the training frequencies.
    """
    _check(digits, n, seed)
    check_number(shrinkage, "shrinkage", 0.0, 1.0)
    x, y = digits.x_train.flatten(1).double(), digits.y_train
    priors = torch.bincount(y, minlength=10).double() / len(y)
    means = torch.stack([x[y == k].mean(0) for k in range(10)])
    covariances = []
    for k in range(10):
        centred = x[y == k] - means[k]
        cov = centred.T @ centred / len(centred)
        covariances.append((1 - shrinkage) * cov + shrinkage * cov.diagonal().mean() * torch.eye(64, dtype=cov.dtype))
    generator = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(priors, n, replacement=True, generator=generator)
    noise = torch.randn(n, 64, generator=generator, dtype=torch.float64)
    chol = torch.linalg.cholesky(torch.stack(covariances))
    return _images(means[labels] + (chol[labels] @ noise[:, :, None]).squeeze(2)), labels


def mixture_digits(digits: Digits, n: int, seed: int = 0, components: int = 10) -> torch.Tensor:
    """``n`` digits from a Gaussian mixture with full covariances (``random_state=seed``), shuffled."""
    from sklearn.mixture import GaussianMixture

    _check(digits, n, seed)
    check_int(components, "components", 1)
    mixture = GaussianMixture(n_components=components, random_state=seed).fit(digits.x_train.flatten(1).numpy())
    samples, _ = mixture.sample(n)
    # scikit-learn returns the samples grouped by component; shuffle them.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return _images(samples)[order]


def kde_bandwidth(digits: Digits, candidates=(0.02, 0.05, 0.1, 0.2, 0.4)) -> float:
    """The kernel width with the best log-likelihood of a held-out quarter of the training digits."""
    from sklearn.neighbors import KernelDensity

    _check(digits)
    if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__len__") or len(candidates) == 0:
        raise ValueError(f"candidates must be a non-empty list of kernel widths, got {candidates!r}")
    for width in candidates:
        check_number(width, "candidates (each kernel width)", 0.0, low_open=True)
    x = digits.x_train.flatten(1).numpy()
    cut = len(x) * 3 // 4
    scores = [KernelDensity(bandwidth=b).fit(x[:cut]).score(x[cut:]) for b in candidates]
    return float(candidates[int(np.argmax(scores))])


def kde_digits(digits: Digits, n: int, seed: int = 0, bandwidth: float | None = None) -> torch.Tensor:
    """``n`` digits from a Gaussian kernel density estimate: a training digit plus noise of std ``bandwidth``."""
    from sklearn.neighbors import KernelDensity

    _check(digits, n, seed)
    bandwidth = kde_bandwidth(digits) if bandwidth is None else check_number(bandwidth, "bandwidth", 0.0,
                                                                              low_open=True)
    kde = KernelDensity(bandwidth=bandwidth).fit(digits.x_train.flatten(1).numpy())
    return _images(kde.sample(n, random_state=seed))


ALPHAS = (0.01, 0.1, 0.5, 1.0, 2.0)  # the smoothings chapter 10 tries


def histogram_bits(probs: torch.Tensor, levels: torch.Tensor) -> float:
    """Independent pixels' cost of ``levels`` (N, 64) under each pixel's histogram ``probs`` (64, 17): the
    mean of -log2 of every pixel's probability of its level, bits per dimension."""
    check_tensor(probs, "probs", "(64, 17) of each pixel's probabilities", ndim=2, floating=True)
    check_tensor(levels, "levels", "(N, 64) of grey levels", ndim=2, floating=False)
    if levels.shape[1] != probs.shape[0]:
        raise ValueError(f"levels must have one level per pixel of probs, shape (N, {probs.shape[0]}), got "
                         f"{tuple(levels.shape)}")
    return -probs[torch.arange(probs.shape[0]), levels].log2().mean().item()


def independent_pixels(fit: torch.Tensor, val: torch.Tensor, alphas=ALPHAS) -> tuple[torch.Tensor, float, dict]:
    """Chapter 10's independent-pixels baseline: :func:`pixel_histograms` of the digits ``fit`` (N, 64) with
    the smoothing among ``alphas`` that costs the validation digits ``val`` fewest bits. Returns the
    probabilities (64, 17), that alpha, and each alpha's validation bits per dimension."""
    check_tensor(val, "val", "(N, 64) of grey levels", ndim=2, floating=False)
    if not isinstance(alphas, (tuple, list)) or not alphas:
        raise ValueError(f"alphas must be a non-empty sequence of smoothings >= 0, got {alphas!r}")
    val_bpd = {a: histogram_bits(pixel_histograms(fit, a), val) for a in alphas}
    alpha = min(val_bpd, key=val_bpd.get)
    return pixel_histograms(fit, alpha), alpha, val_bpd
