"""Tests of the packaged GPT, its sampling and the mixture-of-experts layer."""

import math
import re

import pytest
import torch
import torch.nn as nn

from utils.gpt import GPT, STORY_GPT, CausalSelfAttention, GPTConfig, sample_next, story_gpt_sizes
from utils.moe import MoEFeedForward


def small(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=8, **kw))


def test_shapes_and_loss_at_initialisation():
    model = small()
    idx = torch.randint(11, (3, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 10, 11)
    assert abs(loss.item() - math.log(11)) < 0.1  # near uniform at the start
    assert model.hidden_states(idx).shape == (3, 10, 8)
    assert model(idx)[1] is None


def test_causality_future_tokens_do_not_change_the_past():
    model = small().eval()
    a = torch.randint(11, (1, 12))
    b = a.clone()
    b[0, 8:] = (b[0, 8:] + 1) % 11
    assert torch.allclose(model(a)[0][:, :8], model(b)[0][:, :8], atol=1e-6)
    encoder = small(causal=False).eval()
    assert not torch.allclose(encoder(a)[0][:, :8], encoder(b)[0][:, :8], atol=1e-6)


def test_ignored_targets_do_not_count():
    model = small()
    idx = torch.randint(11, (2, 6))
    targets = idx.clone()
    targets[:, 3:] = -1
    full = torch.nn.functional.cross_entropy(model(idx)[0][:, :3].flatten(0, 1), idx[:, :3].flatten())
    assert torch.allclose(model(idx, targets)[1], full)


def test_generate_lengths_and_greedy_determinism():
    model = small().eval()
    start = torch.zeros(2, 1, dtype=torch.long)
    out = model.generate(start, 20, temperature=0)
    assert out.shape == (2, 21)
    assert torch.equal(out, model.generate(start, 20, temperature=0))
    gen = torch.Generator().manual_seed(0)
    sampled = model.generate(start, 5, temperature=1.0, top_k=3, top_p=0.9, generator=gen)
    assert sampled.shape == (2, 6) and sampled.max() < 11


def test_sample_next_top_k_and_top_p_keep_only_the_best():
    logits = torch.tensor([[0.0, 5.0, 4.0, -3.0]]).repeat(500, 1)
    gen = torch.Generator().manual_seed(1)
    assert set(sample_next(logits, 1.0, top_k=2, generator=gen).tolist()) <= {1, 2}
    assert set(sample_next(logits, 1.0, top_p=0.5, generator=gen).tolist()) == {1}
    assert set(sample_next(logits, 0.0).tolist()) == {1}
    with pytest.raises(ValueError, match="top_p"):
        sample_next(logits, 1.0, top_p=0.0)
    with pytest.raises(ValueError, match="temperature"):
        sample_next(logits, -1.0)
    with pytest.raises(ValueError, match="logits"):
        sample_next(logits[0])


def test_mixture_of_experts_routes_to_top_k_and_balances():
    torch.manual_seed(0)
    layer = MoEFeedForward(8, 16, n_expert=4, top_k=2)
    x = torch.randn(2, 5, 8)
    y = layer(x)
    assert y.shape == x.shape
    assert math.isclose(layer.last_load.sum().item(), 1.0, rel_tol=1e-6)
    assert layer.aux_loss.item() >= 0.99  # 1 when perfectly even, more otherwise
    # with one expert and top_k = 1 the layer is that expert
    single = MoEFeedForward(8, 16, n_expert=1, top_k=1)
    assert torch.allclose(single(x), single.experts[0](x), atol=1e-6)
    model = small(n_expert=4, top_k=2)
    idx = torch.randint(11, (2, 6))
    loss = model(idx, idx)[1]
    loss.backward()
    assert model.blocks[0].mlp.router.weight.grad is not None


def test_mixture_of_experts_equals_each_token_mixing_its_chosen_experts():
    torch.manual_seed(1)
    layer = MoEFeedForward(8, 16, n_expert=4, top_k=2).eval()
    x = torch.randn(3, 7, 8)
    flat = x.reshape(-1, 8)
    probs = layer.router(flat).softmax(-1)
    weights, chosen = probs.topk(2, dim=-1)
    weights = weights / weights.sum(-1, keepdim=True)
    expected = torch.stack([sum(w * layer.experts[int(e)](row) for w, e in zip(ws, es))
                            for row, ws, es in zip(flat, weights, chosen)])
    torch.testing.assert_close(layer(x).reshape(-1, 8), expected, atol=1e-5, rtol=1e-5)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=5, n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="top_k"):
        GPTConfig(vocab_size=5, n_expert=2, top_k=3)
    model = small()
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="idx must"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="ids in"):
        model(torch.full((1, 4), 11))
    with pytest.raises(ValueError, match="targets"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))


def test_key_value_cache_gives_the_same_tokens_as_recomputing():
    model = small().eval()
    idx = torch.randint(11, (3, 4))
    cached = model.generate(idx, 12, temperature=0)  # fits in block_size: uses the cache
    manual = idx
    for _ in range(12):
        manual = torch.cat([manual, model(manual)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(cached, manual)
    longer = model.generate(idx, 20, temperature=0)  # past block_size: re-reads the last 16 tokens
    assert longer.shape == (3, 24) and torch.equal(longer[:, :16], manual)


# ---- exact behaviour: sampling, initialisation, sizes, checks (each test kills a class of mutants) ----

def exact(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern for exactly this message."""
    return "^" + re.escape(message) + "$"


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def draws_from(logits: torch.Tensor, keep: torch.Tensor, seed: int) -> torch.Tensor:
    """What a correct sampler draws with ``seed``: the softmax over the kept logits only."""
    probs = logits.masked_fill(~keep, float("-inf")).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=seeded(seed)).squeeze(-1)


def test_sample_next_divides_by_the_temperature_and_draws_from_the_generator_only():
    logits = torch.randn(400, 6, generator=seeded(0)) * 2
    everything = torch.ones_like(logits, dtype=torch.bool)
    for temperature in (0.5, 2.0):  # the logits are divided by the temperature, not multiplied
        assert torch.equal(sample_next(logits, temperature, generator=seeded(3)),
                           draws_from(logits / temperature, everything, 3))
    assert torch.equal(sample_next(logits, generator=seeded(3)), draws_from(logits, everything, 3))  # default 1
    # The generator alone decides the draw: the global seed does not change it, another seed does.
    torch.manual_seed(0)
    first = sample_next(logits, 1.0, generator=seeded(5))
    torch.manual_seed(1)
    assert torch.equal(sample_next(logits, 1.0, generator=seeded(5)), first)
    assert not torch.equal(sample_next(logits, 1.0, generator=seeded(6)), first)
    assert torch.equal(sample_next(logits, 0.0), logits.argmax(dim=-1))  # temperature 0: greedy
    assert sample_next(logits, 0.0).shape == (400,)


def test_top_k_keeps_exactly_the_k_most_likely_tokens():
    logits = torch.randn(400, 6, generator=seeded(1)) * 2
    for k in (1, 3):
        keep = logits >= torch.topk(logits, k, dim=-1).values[:, -1:]
        assert torch.equal(sample_next(logits, 1.0, top_k=k, generator=seeded(4)), draws_from(logits, keep, 4))
    for k in (6, 9):  # as many tokens as the vocabulary, or more: nothing is cut
        assert torch.equal(sample_next(logits, 1.0, top_k=k, generator=seeded(4)),
                           draws_from(logits, torch.ones_like(keep), 4))
    # One row (fewer rows than k): every one of the k best tokens comes up, no other does.
    row = torch.tensor([[0.0, 1.5, 1.0, -1.0, 0.5]])
    gen = seeded(2)
    assert {sample_next(row, 1.0, top_k=2, generator=gen).item() for _ in range(300)} == {1, 2}
    assert {sample_next(row, 1.0, top_k=1, generator=gen).item() for _ in range(20)} == {1}  # 1 is legal
    with pytest.raises(ValueError, match=exact("top_k must be an int >= 1, got 0")):
        sample_next(row, 1.0, top_k=0)


def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p_boundary_token_included():
    even = torch.zeros(400, 4)  # four tokens of probability 1/4 each: sums are exact in floating point
    for top_p, kept in ((0.25, 1), (0.2500001, 2), (0.5, 2), (0.75, 3), (0.7500001, 4), (1.0, 4)):
        drawn = set(sample_next(even, 1.0, top_p=top_p, generator=seeded(0)).tolist())
        assert len(drawn) == kept, (top_p, drawn)
    logits = torch.randn(400, 6, generator=seeded(2)) * 2
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    before = probs.cumsum(dim=-1) - probs  # the mass of the tokens ranked above each one
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, before < 0.7)
    assert torch.equal(sample_next(logits, 1.0, top_p=0.7, generator=seeded(8)), draws_from(logits, keep, 8))
    with pytest.raises(ValueError, match=exact("top_p must be a finite number in (0, 1], got 0.0")):
        sample_next(even, 1.0, top_p=0.0)
    with pytest.raises(ValueError, match="top_p"):
        sample_next(even, 1.0, top_p=1.0000001)


def test_sample_next_messages_name_the_argument():
    with pytest.raises(ValueError, match=exact("logits must have shape (B, V), got list")):
        sample_next([[0.0, 1.0]])
    with pytest.raises(ValueError, match=exact("logits must have shape (B, V), got (2,)")):
        sample_next(torch.zeros(2))
    with pytest.raises(ValueError, match=exact("temperature must be a finite number >= 0, got -1.0")):
        sample_next(torch.zeros(1, 2), -1.0)


def test_initialisation_is_gpt2s_with_scaled_residual_projections_and_a_tied_head():
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=300, block_size=64, n_layer=3, n_head=4, n_embd=64)
    model = GPT(config)
    assert model.lm_head.weight is model.wte.weight  # the head is the token table
    projections = torch.cat([p.flatten() for n, p in model.named_parameters() if n.endswith("c_proj.weight")])
    others = torch.cat([p.flatten() for n, p in model.named_parameters()
                        if n.endswith("weight") and "ln" not in n and not n.endswith("c_proj.weight")])
    assert projections.numel() == 3 * (64 * 64 + 4 * 64 * 64)
    assert math.isclose(projections.std().item(), 0.02 / math.sqrt(2 * 3), rel_tol=0.05)  # GPT-2: 0.02 / sqrt(2L)
    assert math.isclose(others.std().item(), 0.02, rel_tol=0.05)
    assert abs(projections.mean().item()) < 5e-4 and abs(others.mean().item()) < 5e-4
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            assert torch.equal(p, torch.zeros_like(p)), name  # biases (linear and norm) start at 0
        elif "ln" in name:
            assert torch.equal(p, torch.ones_like(p)), name  # norm gains start at 1


def hand_count(V, T, L, C, ff=4, bias=True):
    """A GPT's parameters by hand: embeddings, per block two norms, attention and MLP, a final norm."""
    b = 1 if bias else 0
    norm = C + b * C
    attention = C * 3 * C + b * 3 * C + C * C + b * C
    mlp = C * ff * C + b * ff * C + ff * C * C + b * C
    return V * C + T * C + L * (2 * norm + attention + mlp) + norm  # the head is tied: no more


@pytest.mark.parametrize("bias", [True, False])
def test_num_params_matches_a_hand_count(bias):
    model = GPT(GPTConfig(vocab_size=13, block_size=10, n_layer=3, n_head=2, n_embd=8, ff_mult=3, bias=bias))
    total = hand_count(13, 10, 3, 8, ff=3, bias=bias)
    assert model.num_params(non_embedding=False) == total
    assert model.num_params() == total - 10 * 8  # by default without the position table
    assert model.num_params(True) == total - 10 * 8


@pytest.mark.parametrize("bias", [True, False])
def test_bias_dropout_and_routing_come_from_the_config(bias):
    for n_expert in (0, 4):
        config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=bias, dropout=0.3,
                           n_expert=n_expert, top_k=3)
        model = GPT(config)
        for name, module in model.named_modules():
            if isinstance(module, (nn.Linear, nn.LayerNorm)) and name != "lm_head" and not name.endswith("router"):
                assert (module.bias is not None) == bias, name
            if isinstance(module, nn.Dropout):
                assert module.p == 0.3, name
        assert model.lm_head.bias is None
        for block in model.blocks:
            assert block.attn.dropout == 0.3
            if n_expert:
                assert block.mlp.top_k == 3 and block.mlp.n_expert == 4


def test_attention_drops_weights_in_training_only():
    torch.manual_seed(0)
    attn = CausalSelfAttention(GPTConfig(vocab_size=5, n_head=2, n_embd=8, dropout=0.5))
    attn.resid_dropout = nn.Identity()  # only the attention weights' own dropout is left
    x = torch.randn(2, 6, 8)
    attn.eval()
    assert torch.equal(attn(x), attn(x))
    quiet = attn(x)
    attn.train()
    assert not torch.allclose(attn(x), quiet)


def test_attention_dropout_can_be_set_apart_from_the_residual_dropout():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, n_layer=2, n_head=2, n_embd=8, dropout=0.5, attn_dropout=0.0))
    for block in model.blocks:
        assert block.attn.dropout == 0.0 and block.attn.resid_dropout.p == 0.5 and block.mlp.dropout.p == 0.5
    attn = model.blocks[0].attn.train()
    attn.resid_dropout = nn.Identity()  # the weights' dropout is off: training is deterministic
    x = torch.randn(2, 6, 8)
    assert torch.equal(attn(x), attn(x))
    assert GPT(GPTConfig(vocab_size=5, n_embd=8, dropout=0.2, attn_dropout=0.7)).blocks[0].attn.dropout == 0.7
    assert GPTConfig(vocab_size=5).attn_dropout is None  # by default as dropout
    for bad in (1.0, -0.1, True, "0.1"):
        with pytest.raises(ValueError) as error:
            GPTConfig(vocab_size=5, attn_dropout=bad)
        assert str(error.value) == f"attn_dropout must be None (the same as dropout) or in [0, 1), got {bad}"
    GPTConfig(vocab_size=5, attn_dropout=0)  # 0 and rates up to 1 are fine
    GPTConfig(vocab_size=5, attn_dropout=0.999)


def reference_hidden(model: GPT, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
    """GPT-2's forward pass, written out: token plus position embedding, pre-norm residual blocks, a final norm."""
    x = model.wte.weight[idx] + model.wpe.weight[start:start + idx.shape[1]]
    for block in model.blocks:
        x = x + block.attn(block.ln_1(x))
        x = x + block.mlp(block.ln_2(x))
    return model.ln_f(x)


def test_forward_is_the_pre_norm_residual_stack():
    model = small().eval()
    with torch.no_grad():
        for p in model.parameters():  # weights of a trained size, so that every term shows
            p.normal_(0.0, 0.5)
    idx = torch.randint(11, (2, 7))
    torch.testing.assert_close(model.hidden_states(idx), reference_hidden(model, idx))
    torch.testing.assert_close(model.hidden_states(idx[:, :4], start=12), reference_hidden(model, idx[:, :4], 12))
    torch.testing.assert_close(model(idx)[0], reference_hidden(model, idx) @ model.wte.weight.T)
    block, x = model.blocks[0], torch.randn(2, 5, 8)
    after_attention = x + block.attn(block.ln_1(x))
    torch.testing.assert_close(block(x), after_attention + block.mlp(block.ln_2(after_attention)))


def test_hidden_states_positions_stop_at_block_size():
    model = small()
    idx = torch.zeros(1, 4, dtype=torch.long)
    assert model.hidden_states(idx, start=12).shape == (1, 4, 8)  # positions 12..15: the last four
    with pytest.raises(ValueError, match=exact("positions up to 17 exceed block_size=16")):
        model.hidden_states(idx, start=13)
    with pytest.raises(ValueError, match=exact("start must be an int >= 0, got -1")):
        model.hidden_states(idx, start=-1)
    caches = [{} for _ in model.blocks]
    model.hidden_states(idx, caches)
    with pytest.raises(ValueError, match=exact("with a filled cache, feed one token at a time")):
        model.hidden_states(idx[:, :2], caches, start=4)
    with pytest.raises(ValueError, match=exact("x must be hidden states (B, T, 8), got list")):
        model.blocks[0]([[0.0] * 8])


def test_aux_loss_is_the_blocks_mean_and_counts_in_training_only():
    dense = small()
    dense(torch.zeros(1, 3, dtype=torch.long))
    assert dense.aux_loss() == 0.0
    moe = small(n_expert=4, top_k=2, aux_loss_weight=0.5)
    assert moe.aux_loss() == 0.0  # before any forward pass
    idx = torch.randint(11, (2, 6))
    logits, loss = moe.train()(idx, idx)
    per_block = [block.mlp.aux_loss for block in moe.blocks]
    assert all(value.item() >= 0.99 for value in per_block)
    torch.testing.assert_close(moe.aux_loss(), (per_block[0] + per_block[1]) / 2)
    plain = torch.nn.functional.cross_entropy(logits.flatten(0, 1), idx.flatten())
    torch.testing.assert_close(loss, plain + 0.5 * moe.aux_loss())
    logits, loss = moe.eval()(idx, idx)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits.flatten(0, 1), idx.flatten()))


class OnAGPU(torch.Tensor):
    """A CPU tensor that says it is on a GPU, and records every read of its values."""

    reads: list = []

    @property
    def device(self):
        return torch.device("cuda")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("min", "max", "__getitem__", "item"):
            cls.reads.append(func.__name__)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_ids_are_read_every_batch_on_the_cpu_and_first_batch_only_on_a_gpu():
    model = small()
    good, bad = torch.zeros(1, 4, dtype=torch.long), torch.full((1, 4), 11)
    for _ in range(2):  # on the CPU the check is free: every batch
        model(good, good)
        with pytest.raises(ValueError, match=exact("idx must hold ids in [0, 11), got [11, 11]")):
            model(bad)
        with pytest.raises(ValueError, match="targets must hold"):
            model(good, bad)
    model = small()
    with pytest.raises(ValueError, match="idx must hold ids"):
        model._check_idx(bad.as_subclass(OnAGPU))  # the first GPU batch is read
    with pytest.raises(ValueError, match="targets must hold"):
        model._check_targets(bad.as_subclass(OnAGPU), good, -1)
    OnAGPU.reads.clear()
    model._check_idx(bad.as_subclass(OnAGPU))  # later ones are not: a read makes the host wait
    model._check_targets(bad.as_subclass(OnAGPU), good, -1)
    assert OnAGPU.reads == []
    model = small()
    model._check_idx(good.as_subclass(OnAGPU))
    model._check_targets(good.as_subclass(OnAGPU), good, -1)
    assert OnAGPU.reads  # the first batch's values were read
    OnAGPU.reads.clear()
    model._check_idx(bad.as_subclass(OnAGPU))
    model._check_targets(bad.as_subclass(OnAGPU), good, -1)
    assert OnAGPU.reads == []


def test_idx_and_targets_messages():
    model = small()
    idx = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=exact("idx must be a (B, T) tensor of token ids (int64), got "
                                               "torch.float32 of shape (1, 4)")):
        model(idx.float())
    with pytest.raises(ValueError, match=exact("idx must be a (B, T) tensor of token ids (int64), got "
                                               "list of shape ()")):
        model([[0, 1]])
    prefix = "targets must hold token ids in [0, 11) or the padding ignore_index=-1, got "
    model(idx, torch.tensor([[0, 10, -1, 3]]))  # the last id and the padding are fine
    with pytest.raises(ValueError, match=exact(prefix + "11")):  # the first bad id, no hint
        model(idx, torch.tensor([[0, 11, 12, 0]]))
    with pytest.raises(ValueError, match=exact(prefix + "-100: this GPT pads targets with ignore_index=-1; "
                                               "pass ignore_index=-100 or pad with -1")):
        model(idx, torch.tensor([[0, -100, 0, 0]]))
    with pytest.raises(ValueError, match=exact("ignore_index must be an int, got 1.5")):
        model(idx, idx, ignore_index=1.5)


def test_story_gpt_sizes_per_profile_and_in_a_smoke_run(monkeypatch):
    for profile in ("cpu", "gpu"):
        assert story_gpt_sizes(profile) == STORY_GPT[profile]
    monkeypatch.setenv("GENAI_SMOKE", "1")
    smoke = story_gpt_sizes("gpu")
    assert smoke == {**STORY_GPT["gpu"], "n_train": 2_000, "steps": 2}  # smoke counts, the profile's shapes
