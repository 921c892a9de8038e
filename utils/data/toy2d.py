"""Two-dimensional data sets whose true density is known exactly.

Each set is a mixture of isotropic Gaussians with equal weights:

* ``ring``: 8 Gaussians on a circle of radius 2, standard deviation 0.02, the
  benchmark of the unrolled-GAN, VEEGAN and PacGAN papers.
* ``grid``: 25 Gaussians on the grid {-4, -2, 0, 2, 4}^2, standard deviation 0.05.
* ``moons``: two interleaved half circles, each traced by 500 centres, noise 0.1.
* ``spirals``: two interleaved spiral arms, each traced by 500 centres, noise 0.1.

For moons and spirals the mixture over finely spaced centres *is* the definition of
the distribution, so :meth:`Toy2D.log_density` is exact, not an approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

TOY_NAMES = ("ring", "grid", "moons", "spirals")


@dataclass(frozen=True)
class Toy2D:
    """An equal-weight mixture of isotropic Gaussians in the plane."""

    name: str
    centres: torch.Tensor  # (M, 2) component means
    labels: torch.Tensor  # (M,) class of each component (the moon, the arm, the mode)
    std: float  # standard deviation of every component
    modes: torch.Tensor | None  # (K, 2) the separated modes, or None for curves

    def sample_with_labels(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` points (n, 2) and the class of the component each came from (n,)."""
        _check_count(n, "n")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        gen = torch.Generator().manual_seed(seed)
        index = torch.randint(len(self.centres), (n,), generator=gen)
        noise = torch.randn(n, 2, generator=gen) * self.std
        return self.centres[index] + noise, self.labels[index]

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` points drawn from the distribution, shape (n, 2)."""
        return self.sample_with_labels(n, seed)[0]

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log-density (natural log) at each row of ``x`` (n, 2)."""
        x = _check_points(x, "x")
        sq = torch.cdist(x.double(), self.centres.double()).pow(2)  # (n, M)
        log_norm = -math.log(2 * math.pi * self.std**2)
        log_comp = log_norm - sq / (2 * self.std**2)
        return (torch.logsumexp(log_comp, dim=1) - math.log(len(self.centres))).float()


def toy_2d(name: str) -> Toy2D:
    """The toy distribution called ``name``: one of ``ring``, ``grid``, ``moons``, ``spirals``."""
    if name == "ring":
        angle = torch.arange(8) * (2 * math.pi / 8)
        centres = 2.0 * torch.stack([angle.cos(), angle.sin()], dim=1)
        return Toy2D("ring", centres, torch.arange(8), 0.02, centres)
    if name == "grid":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        centres = torch.cartesian_prod(axis, axis)
        return Toy2D("grid", centres, torch.arange(25), 0.05, centres)
    if name == "moons":
        t = torch.linspace(0, math.pi, 500)
        upper = torch.stack([t.cos(), t.sin()], dim=1)
        lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
        centres = torch.cat([upper, lower]) - torch.tensor([0.5, 0.25])
        labels = torch.cat([torch.zeros(500), torch.ones(500)]).long()
        return Toy2D("moons", centres, labels, 0.1, None)
    if name == "spirals":
        t = torch.linspace(0.25, 1.0, 500) * 3 * math.pi
        arm = torch.stack([t * t.cos(), t * t.sin()], dim=1) / (1.5 * math.pi)
        centres = torch.cat([arm, -arm])
        labels = torch.cat([torch.zeros(500), torch.ones(500)]).long()
        return Toy2D("spirals", centres, labels, 0.1, None)
    raise ValueError(f"name must be one of {TOY_NAMES}, got {name!r}")


def _check_count(n, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


def _check_points(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (n, 2), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x.detach().cpu()
