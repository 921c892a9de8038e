"""A mixture-of-experts feed-forward layer, routed as in Mixtral: top-2 of n experts.

A small router scores every token against every expert; each token goes to its
``top_k`` best experts, whose outputs are mixed with the softmax of those ``top_k``
scores. Only ``top_k`` experts run per token, so the layer holds ``n_expert`` times
the parameters of one expert but spends about ``top_k`` experts' compute.

Left alone, a router tends to send most tokens to a few experts, which then learn
fastest and attract still more tokens. The load-balancing loss of the Switch
Transformer, ``n_expert * sum_i f_i * P_i`` (``f_i`` the share of routing slots
expert ``i`` received, ``P_i`` its mean router probability), is 1 when the load is
even and grows as it concentrates; the GPT adds it, weighted, to its loss.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .validate import check_int, check_number, describe


class MoEFeedForward(nn.Module):
    """``n_expert`` MLPs of width ``hidden``; each token uses ``top_k`` of them."""

    def __init__(self, n_embd: int, hidden: int, n_expert: int, top_k: int = 2, bias: bool = True,
                 dropout: float = 0.0):
        super().__init__()
        check_int(n_embd, "n_embd", 1)
        check_int(hidden, "hidden", 1)
        check_int(n_expert, "n_expert", 1)
        check_number(dropout, "dropout", 0.0, 1.0, high_open=True)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= n_expert:
            raise ValueError(f"top_k must be between 1 and n_expert={n_expert}, got {top_k}")
        self.n_expert, self.top_k = n_expert, top_k
        self.router = nn.Linear(n_embd, n_expert, bias=False)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(n_embd, hidden, bias=bias), nn.GELU(), nn.Linear(hidden, n_embd, bias=bias))
            for _ in range(n_expert)
        )
        self.dropout = nn.Dropout(dropout)
        self.aux_loss: torch.Tensor | None = None
        self.last_load: torch.Tensor | None = None  # share of routing slots per expert, last batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_embd = self.router.in_features
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != n_embd:
            raise ValueError(f"x must be hidden states (B, T, {n_embd}), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)}")
        B, T, C = x.shape
        flat = x.reshape(-1, C)  # (N, C), N = B * T tokens
        router_probs = self.router(flat).softmax(dim=-1)  # (N, E)
        weights, chosen = router_probs.topk(self.top_k, dim=-1)  # (N, K) each
        weights = weights / weights.sum(dim=-1, keepdim=True)  # renormalise over the chosen K
        # Sort the N * K routing slots by expert, so each expert reads one contiguous run of them;
        # one read of the counts per layer (not one per expert) is all the host waits for.
        slots = chosen.flatten()  # (N*K,) the expert of each slot
        order = slots.argsort(stable=True)  # slots grouped by expert
        token = order // self.top_k  # the token of each sorted slot
        counts = torch.bincount(slots, minlength=self.n_expert).tolist()
        mixed = weights.flatten()[order, None]  # (N*K, 1) each slot's share of its token
        out = torch.zeros_like(flat)
        start = 0
        for expert, count in zip(self.experts, counts):
            if count:
                rows = token[start:start + count]
                out.index_add_(0, rows, mixed[start:start + count] * expert(flat[rows]))
            start += count
        load = F.one_hot(chosen, self.n_expert).float().sum(dim=(0, 1)) / chosen.numel()  # (E,) f_i
        self.aux_loss = self.n_expert * (load * router_probs.mean(dim=0)).sum()
        self.last_load = load.detach()
        return self.dropout(out.view(B, T, C))
