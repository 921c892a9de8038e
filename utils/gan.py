"""Blocks for the GAN chapters: networks trained side by side over seeds, and the R1 penalty.

A GAN's result depends on its seed more than most models', so the chapters measure every
variant over several seeds. :class:`SeedParallelMLP` holds one small MLP per seed in
stacked weight tensors and evaluates them all with one batched matrix product: each seed
keeps its own weights, its own data and, because Adam updates every weight on its own, its
own optimiser state, so training them together is exactly training them one by one, in a
third of the time. The game itself (the losses, the alternating updates) stays in the
notebooks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SeedParallelMLP(nn.Module):
    """``len(seeds)`` independent ReLU MLPs ``inputs -> width x depth -> outputs``.

    ``forward(x)`` maps (S, B, inputs) to (S, B, outputs), row ``s`` through the network
    of ``seeds[s]``. Each network is initialised from its own seed as ``nn.Linear`` is
    (uniform in +-1/sqrt(fan_in)), so its start does not depend on the other seeds.
    """

    def __init__(self, seeds, inputs: int, outputs: int, width: int = 64, depth: int = 3):
        super().__init__()
        seeds = list(seeds)
        if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of non-negative ints, got {seeds!r}")
        for name, value in (("inputs", inputs), ("outputs", outputs), ("width", width), ("depth", depth)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.seeds = seeds
        dims = [inputs] + [width] * depth + [outputs]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for layer, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            weight, bias = torch.empty(len(seeds), fan_in, fan_out), torch.empty(len(seeds), 1, fan_out)
            bound = 1 / math.sqrt(fan_in)
            for row, seed in enumerate(seeds):
                gen = torch.Generator().manual_seed(seed * 1009 + layer)
                weight[row].uniform_(-bound, bound, generator=gen)
                bias[row].uniform_(-bound, bound, generator=gen)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 3:
            raise ValueError(f"x must be a tensor of shape (seeds, batch, inputs), got {getattr(x, 'shape', x)}")
        if x.shape[0] != len(self.seeds) or x.shape[2] != self.weights[0].shape[1]:
            raise ValueError(f"x must have shape ({len(self.seeds)}, batch, {self.weights[0].shape[1]}), "
                             f"got {tuple(x.shape)}")
        last = len(self.weights) - 1
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)  # (S, B, in) @ (S, in, out) + (S, 1, out)
            if layer < last:
                x = F.relu(x)
        return x


def r1_penalty(d_real: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): the mean squared norm of the gradient of D at real data.

    ``real`` (..., B, C) must require grad and ``d_real`` be the discriminator's output on
    it; the last dimension holds a sample's coordinates and the one before it the batch,
    which is averaged over: (B, C) gives a scalar, (S, B, C) one penalty per seed (S,). The result keeps the graph,
    so adding ``gamma / 2 * r1_penalty(...)`` to the discriminator's loss trains it to be
    flat on the data, which stops it pushing the generator past the data it should match.
    """
    if not isinstance(real, torch.Tensor) or not real.requires_grad:
        raise ValueError("real must be a tensor that requires grad (call real.requires_grad_(True) before D(real))")
    if not isinstance(d_real, torch.Tensor) or not d_real.requires_grad:
        raise ValueError("d_real must be the discriminator's output on real, still attached to the graph")
    (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    if real.ndim < 2:
        raise ValueError(f"real must have shape (..., batch, coordinates), got {tuple(real.shape)}")
    return grad.pow(2).sum(-1).mean(-1)
