"""Tests of the packaged GPT, its sampling and the mixture-of-experts layer."""

import math

import pytest
import torch

from utils.gpt import GPT, GPTConfig, sample_next
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
