"""How good is a generative model? Numbers that compare its samples with the truth.

* :func:`frechet_distance`: the distance between two Gaussians fitted to features.
* :func:`mode_coverage`: the modes covered and the share of high-quality samples on a
  2-D mixture, as defined in the VEEGAN and PacGAN papers.
"""

from __future__ import annotations

import numpy as np
import torch


def _features(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().double().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {x.shape}")
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def frechet_distance(features_a, features_b) -> float:
    """The Frechet distance between Gaussians fitted to two sets of features (N, D).

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the matrix
    square root is the sum of the square roots of the eigenvalues of ``S_a S_b``, which
    are real and non-negative for covariance matrices; this avoids ``sqrtm``'s
    complex round-off.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same width, got {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(eig).sum()
    return float(max(distance, 0.0))


def mode_coverage(samples, modes, std: float, threshold: float = 3.0) -> tuple[int, float]:
    """``(modes covered, share of high-quality samples)`` for samples of a 2-D mixture.

    A sample is high quality if it lies within ``threshold`` standard deviations of its
    nearest mode; a mode is covered if it is the nearest mode of some high-quality
    sample (the measures of the VEEGAN and PacGAN papers).
    """
    x = torch.as_tensor(_features(samples, "samples"))
    m = torch.as_tensor(_features(modes, "modes"))
    if x.shape[1] != m.shape[1]:
        raise ValueError(f"samples and modes must have the same width, got {x.shape[1]} and {m.shape[1]}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    distance, nearest = torch.cdist(x, m).min(dim=1)
    good = distance <= threshold * std
    return int(nearest[good].unique().numel()), float(good.double().mean())
