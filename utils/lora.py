"""LoRA: fine-tune a large model by training two small matrices per layer.

Hu et al. (2021), "LoRA: Low-Rank Adaptation of Large Language Models", observed that the
change fine-tuning makes to a weight matrix has a low "intrinsic rank". So instead of
updating ``W`` (out x in) they freeze it and learn ``W + (alpha / r) * B @ A`` with ``A``
(r x in) and ``B`` (out x r), r a few units: the optimizer then keeps state for
``r * (in + out)`` numbers per layer instead of ``in * out``, and one frozen base model can
serve many tasks, each a file of adapters a few hundred kilobytes large.

``B`` starts at zero, so a freshly adapted model computes exactly what the base model did
and training starts from the pretrained behaviour, not from a random perturbation of it.
``A`` starts random (as ``nn.Linear`` initialises its weight): were both zero, neither would
ever get a gradient. ``alpha / r`` fixes the size of the update's contribution as ``r``
changes, so a learning rate tuned at one rank still works at another.

After training, :func:`merge_lora` folds each update into its weight, giving back a plain
model that costs nothing extra at inference.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn as nn

from .validate import describe

ATTENTION_TARGETS = ("attn.c_attn", "attn.c_proj")  # the attention projections of utils.gpt.GPT


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) * x A^T B^T``: a frozen ``nn.Linear`` plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float = 8.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        _check_rank_alpha(rank, alpha)
        self.base = base
        for p in base.parameters():  # the pretrained weights stay as they are
            p.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.rank, self.alpha, self.scaling = rank, float(alpha), alpha / rank
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.A = nn.Parameter(torch.empty(rank, self.in_features, **factory))
        self.B = nn.Parameter(torch.zeros(self.out_features, rank, **factory))  # zero: starts as the base layer
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as nn.Linear initialises its weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must be a tensor (..., {self.in_features}), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)}")
        # Through the rank-r bottleneck first: two thin products, never the full (out, in) update.
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / rank) * B @ A`` (out, in) that the adapter adds to the base weight."""
        return self.scaling * self.B @ self.A

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing the same function, for inference: weight ``W + (alpha / rank) B A``.

        Its parameters require gradients as the base's did (frozen, after :func:`add_lora`)."""
        base = self.base
        linear = nn.Linear(self.in_features, self.out_features, bias=base.bias is not None,
                           device=base.weight.device, dtype=base.weight.dtype)
        linear.weight.copy_(base.weight + self.delta_weight())
        linear.weight.requires_grad_(base.weight.requires_grad)
        if base.bias is not None:
            linear.bias.copy_(base.bias)
            linear.bias.requires_grad_(base.bias.requires_grad)
        linear.train(self.training)
        return linear

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}, scaling={self.scaling:g}"


def _check_rank_alpha(rank: int, alpha: float) -> None:
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an integer of at least 1, got {rank!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")


def _matches(name: str, targets: tuple[str, ...]) -> bool:
    """Whether a dotted module name ends with a target at a dot boundary ("xattn.c_proj" is not "attn.c_proj")."""
    return any(name == t or name.endswith("." + t) for t in targets)


def add_lora(model: nn.Module, rank: int = 4, alpha: float = 8.0,
             targets: Iterable[str] = ATTENTION_TARGETS) -> nn.Module:
    """Freeze ``model`` and wrap each ``nn.Linear`` whose dotted name ends with one of ``targets``
    in a :class:`LoRALinear`, in place; returns ``model``.

    Afterwards only the adapters' ``A`` and ``B`` require gradients, so an optimizer built from
    ``p for p in model.parameters() if p.requires_grad`` (as :func:`utils.train.train` does)
    trains them alone. Freezing flips ``requires_grad`` on the existing parameters and replaces
    none, so weights shared between modules (the GPT's head and token embedding) stay shared.
    The default targets are the attention projections of :class:`utils.gpt.GPT`,
    ``blocks.{i}.attn.c_attn`` and ``blocks.{i}.attn.c_proj``, as in the paper's experiments;
    the feed-forward ``blocks.{i}.mlp.c_proj`` does not end with ``attn.c_proj`` and stays as it is.
    """
    _check_model(model)
    _check_rank_alpha(rank, alpha)
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    if not targets or not all(isinstance(t, str) and t for t in targets):
        raise ValueError(f"targets must be non-empty module names such as 'attn.c_attn', got {targets!r}")
    wrapped = [name for name, m in model.named_modules() if isinstance(m, LoRALinear)]
    if wrapped:
        raise ValueError(f"model already has LoRA adapters (on {', '.join(wrapped[:3])}); "
                         "call merge_lora(model) before adding new ones")
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear) and name]
    chosen = [name for name in linears if _matches(name, targets)]
    if not chosen:
        shown = ", ".join(linears[:6]) + (f", ... ({len(linears)} in all)" if len(linears) > 6 else "")
        raise ValueError(f"no nn.Linear in the model has a name ending with one of targets={targets}; "
                         f"its Linear layers are: {shown or 'none'}")
    for p in model.parameters():
        p.requires_grad_(False)
    for name in chosen:
        _replace(model, name, LoRALinear(model.get_submodule(name), rank=rank, alpha=alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRALinear` in ``model`` by its :meth:`~LoRALinear.merged` Linear, in place;
    returns ``model``.

    The merged model has the original module names again (``...attn.c_attn.weight``), so its
    state dict loads into a fresh model of the original class. Its parameters stay frozen."""
    _check_model(model)
    for name in [name for name, m in model.named_modules() if isinstance(m, LoRALinear) and name]:
        _replace(model, name, model.get_submodule(name).merged())
    return model


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """The number of parameters (each shared tensor once), by default only those that require gradients."""
    _check_model(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
