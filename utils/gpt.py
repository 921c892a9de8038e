"""The book's GPT: a decoder-only transformer in one readable file.

Chapter 3 builds self-attention step by step and then imports this packaged version,
checking that both give the same outputs for the same weights. Later chapters reuse it:
the fine-tuning chapter pretrains it on stories, and the text-to-image chapter uses its
blocks (with ``causal=False``) as a text encoder, reading :meth:`GPT.hidden_states`.
The sizes of chapter 3's story GPT, per profile, are :data:`STORY_GPT`.

Shapes in comments: B batch, T time (tokens), C channels (``n_embd``), H heads,
D = C / H channels per head, V vocabulary size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .validate import check_id_lists, check_int, check_number, describe


@dataclass
class GPTConfig:
    """The size of a GPT. ``n_expert > 0`` swaps each dense feed-forward layer for a
    mixture of experts (see :mod:`utils.moe`) that routes every token to ``top_k`` of them."""

    vocab_size: int
    block_size: int = 256  # the longest context, in tokens
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    ff_mult: int = 4  # feed-forward width = ff_mult * n_embd
    dropout: float = 0.0
    # dropout of the attention weights; None: the same as ``dropout``. Any rate above 0 sends PyTorch's
    # fused attention to its slower plain path in training (on a CPU, twice the time of a small model's step).
    attn_dropout: float | None = None
    bias: bool = True
    causal: bool = True  # False: every token sees every other (an encoder)
    n_expert: int = 0
    top_k: int = 2
    aux_loss_weight: float = 0.01  # weight of the experts' load-balancing loss

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "ff_mult"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int of at least 1, got {value!r}")
        check_int(self.n_expert, "n_expert", 0)
        check_int(self.top_k, "top_k", 1)
        check_number(self.aux_loss_weight, "aux_loss_weight", 0.0)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.attn_dropout is not None and (isinstance(self.attn_dropout, bool) or not isinstance(
                self.attn_dropout, (int, float)) or not 0.0 <= self.attn_dropout < 1.0):
            raise ValueError(f"attn_dropout must be None (the same as dropout) or in [0, 1), got {self.attn_dropout}")
        if self.n_expert and not 1 <= self.top_k <= self.n_expert:
            raise ValueError(f"top_k must be between 1 and n_expert={self.n_expert}, got {self.top_k}")


def _check_config(config) -> None:
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig (GPTConfig(vocab_size=...)), got {describe(config)}")


def _check_hidden(x, n_embd: int) -> None:
    """A block's input must be hidden states (B, T, n_embd); the shape check costs nothing."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != n_embd:
        raise ValueError(f"x must be hidden states (B, T, {n_embd}), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with PyTorch's fused ``scaled_dot_product_attention``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        _check_config(config)
        self.n_head, self.causal = config.n_head, config.causal
        self.dropout = config.dropout if config.attn_dropout is None else config.attn_dropout  # on the weights
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """``cache``, during generation, keeps the keys and values of earlier tokens, so
        each new token computes only its own (a key-value cache)."""
        _check_hidden(x, self.c_attn.in_features)
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        # (B, T, C) -> (B, H, T, D): every head attends on its own D channels
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        causal = self.causal
        if cache is not None:
            if "k" in cache:  # new tokens attend to every cached one and to each other causally
                if T != 1:
                    raise ValueError("with a filled cache, feed one token at a time")
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
                causal = False  # one query that may see all keys
            cache["k"], cache["v"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class FeedForward(nn.Module):
    """The position-wise MLP: widen, GELU, project back."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        _check_config(config)
        hidden = config.ff_mult * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, hidden, bias=config.bias)
        self.c_proj = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_hidden(x, self.c_fc.in_features)
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One transformer block, pre-norm: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        _check_config(config)
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        if config.n_expert:
            from .moe import MoEFeedForward

            self.mlp = MoEFeedForward(config.n_embd, config.ff_mult * config.n_embd, config.n_expert,
                                      top_k=config.top_k, bias=config.bias, dropout=config.dropout)
        else:
            self.mlp = FeedForward(config)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        _check_hidden(x, self.ln_1.normalized_shape[0])
        x = x + self.attn(self.ln_1(x), cache)  # tokens exchange information
        return x + self.mlp(self.ln_2(x))  # each token computes on what it gathered


class GPT(nn.Module):
    """Token and position embeddings, ``n_layer`` blocks, a final norm and a linear head
    whose weight is tied to the token embedding (as in GPT-2)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        _check_config(config)
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned absolute positions
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters; without the position table by default (the head shares the token table)."""
        if not isinstance(non_embedding, bool):
            raise TypeError(f"non_embedding must be True or False, got {non_embedding!r}")
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def _check_idx(self, idx: torch.Tensor) -> None:
        if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long or idx.ndim != 2:
            raise ValueError(f"idx must be a (B, T) tensor of token ids (int64), got "
                             f"{getattr(idx, 'dtype', type(idx).__name__)} of shape {tuple(getattr(idx, 'shape', ()))}")
        if idx.shape[1] > self.config.block_size:
            raise ValueError(f"idx has {idx.shape[1]} tokens, more than block_size={self.config.block_size}")
        # Reading min and max of a GPU tensor makes the host wait for the device: there, check the first
        # batch only (a wrong vocabulary shows at once); on the CPU the check is free, so always.
        if idx.device.type != "cpu":
            if getattr(self, "_ids_checked", False):
                return
            self._ids_checked = True
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.config.vocab_size):
            raise ValueError(f"idx must hold ids in [0, {self.config.vocab_size}), got "
                             f"[{idx.min().item()}, {idx.max().item()}]")

    def _check_targets(self, targets, idx: torch.Tensor, ignore_index: int) -> None:
        if not isinstance(targets, torch.Tensor) or targets.is_floating_point():
            raise TypeError(f"targets must be a (B, T) tensor of token ids (int64), got {describe(targets)}")
        if targets.shape != idx.shape:
            raise ValueError(f"targets must have idx's shape {tuple(idx.shape)}, got {tuple(targets.shape)}")
        check_int(ignore_index, "ignore_index")
        # As for idx: on a GPU the values are read for the first batch only (a read makes the host wait).
        if targets.device.type != "cpu":
            if getattr(self, "_targets_checked", False):
                return
            self._targets_checked = True
        vocab = self.config.vocab_size
        bad = targets[(targets != ignore_index) & ((targets < 0) | (targets >= vocab))]
        if bad.numel():
            value = bad[0].item()
            hint = (f": this GPT pads targets with ignore_index={ignore_index}; pass ignore_index={value} or pad "
                    f"with {ignore_index}") if value < 0 else ""
            raise ValueError(f"targets must hold token ids in [0, {vocab}) or the padding ignore_index={ignore_index}, "
                             f"got {value}{hint}")

    def hidden_states(self, idx: torch.Tensor, caches: list[dict] | None = None, start: int = 0) -> torch.Tensor:
        """The final normalised hidden states (B, T, C): what a text encoder hands on.

        ``caches`` (one dict per block) and ``start`` (the position of ``idx``'s first
        token) are for generation with a key-value cache."""
        self._check_idx(idx)
        check_int(start, "start", 0)
        B, T = idx.shape
        if start + T > self.config.block_size:
            raise ValueError(f"positions up to {start + T} exceed block_size={self.config.block_size}")
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C) + (T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x)

    def aux_loss(self) -> torch.Tensor | float:
        """The experts' load-balancing loss of the last forward pass (0 for a dense GPT)."""
        losses = [b.mlp.aux_loss for b in self.blocks if getattr(b.mlp, "aux_loss", None) is not None]
        return sum(losses) / len(losses) if losses else 0.0

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, ignore_index: int = -1):
        """Logits (B, T, V) and, given ``targets`` (B, T), the mean cross-entropy in nats
        over targets other than ``ignore_index`` (plus the experts' balancing loss)."""
        logits = self.lm_head(self.hidden_states(idx))  # (B, T, V)
        if targets is None:
            return logits, None
        self._check_targets(targets, idx, ignore_index)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignore_index)
        if self.config.n_expert and self.training:
            loss = loss + self.config.aux_loss_weight * self.aux_loss()
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, stop_token: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue each row of ``idx`` (B, T) by ``max_new_tokens`` tokens.

        ``temperature=0`` is greedy decoding. Rows that produced ``stop_token`` keep
        repeating it, so the batch stays rectangular; cut them at the first one.
        """
        self._check_idx(idx)
        check_int(max_new_tokens, "max_new_tokens", 0)
        check_number(temperature, "temperature", 0.0)
        done = torch.zeros(len(idx), dtype=torch.bool, device=idx.device)
        # With room for every new token, cache keys and values; else re-read the last block_size tokens.
        caches = [{} for _ in self.blocks] if idx.shape[1] + max_new_tokens <= self.config.block_size else None
        for step in range(max_new_tokens):
            if caches is None:
                logits = self.lm_head(self.hidden_states(idx[:, -self.config.block_size:]))
            elif step == 0:
                logits = self.lm_head(self.hidden_states(idx, caches))  # the whole prompt at once
            else:
                logits = self.lm_head(self.hidden_states(idx[:, -1:], caches, start=idx.shape[1] - 1))
            next_id = sample_next(logits[:, -1], temperature, top_k, top_p, generator)  # (B,)
            if stop_token is not None:
                next_id = torch.where(done, torch.full_like(next_id, stop_token), next_id)
                done |= next_id == stop_token
            idx = torch.cat([idx, next_id[:, None]], dim=1)
            if stop_token is not None and done.all():
                break
        return idx


# Chapter 3's story GPT, per profile: its shape, the batches and stories it trains on, and its run.
# Chapter 3 trains it; the appendix trains the same model on several processes (`torchrun -m utils.launch
# stories`). "smoke": the counts a smoke run takes instead (its shapes stay the profile's).
STORY_GPT = {
    "cpu": dict(n_layer=2, n_head=4, n_embd=64, batch=12, n_train=20_000, steps=1_500, lr=3e-3),
    "gpu": dict(n_layer=4, n_head=8, n_embd=256, batch=64, n_train=100_000, steps=4_000, lr=1e-3),
    "smoke": dict(n_train=2_000, steps=2),
}


def story_gpt_sizes(profile: str | None = None) -> dict:
    """:data:`STORY_GPT`'s sizes for ``profile`` (default: the current one); a smoke run takes its smoke counts."""
    from .device import by_profile

    cpu, gpu, smoke = STORY_GPT["cpu"], STORY_GPT["gpu"], STORY_GPT["smoke"]
    return {name: by_profile(cpu=cpu[name], gpu=gpu[name], profile=profile, smoke=smoke.get(name)) for name in cpu}


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row of ``logits`` (B, V).

    The logits are divided by ``temperature`` (0 means take the most likely token),
    then only the ``top_k`` most likely tokens, or the smallest set whose probability
    reaches ``top_p`` (nucleus sampling), keep their chance; the rest get none.
    """
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, V), got "
                         f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else describe(logits)}")
    check_number(temperature, "temperature", 0.0)
    if top_k is not None:
        check_int(top_k, "top_k", 1)
    if top_p is not None:
        check_number(top_p, "top_p", 0.0, 1.0, low_open=True)
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        # drop a token when the tokens ranked above it already reach top_p
        drop = probs.cumsum(dim=-1) - probs >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def complete(model: GPT, prompts: list[list[int]], max_new_tokens: int, stop_token: int | None = None,
             batch_size: int = 256, **sampling) -> list[list[int]]:
    """Continue prompts of different lengths; returns each prompt's new tokens, cut before ``stop_token``.

    Prompts of equal length share a batch, so that :meth:`GPT.generate` can run each batch
    with its key-value cache and no padding. ``sampling`` is passed on (``temperature=0``
    for greedy decoding).
    """
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT, got {describe(model)}")
    check_id_lists(prompts, "prompts", "for one prompt write [ids]")
    check_int(max_new_tokens, "max_new_tokens", 0)
    check_int(batch_size, "batch_size", 1)
    device = next(model.parameters()).device
    by_length: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        if not prompt:
            raise ValueError(f"prompt {i} is empty; every prompt needs at least one token")
        by_length.setdefault(len(prompt), []).append(i)
    out: list[list[int]] = [[] for _ in prompts]
    for length, rows in by_length.items():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            idx = torch.tensor([prompts[i] for i in chunk], device=device)
            new = model.generate(idx, max_new_tokens, stop_token=stop_token, **sampling)[:, length:].tolist()
            for i, tokens in zip(chunk, new):
                out[i] = tokens[:tokens.index(stop_token)] if stop_token in tokens else tokens
    return out
