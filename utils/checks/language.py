"""Checkers for the language chapters: byte-pair encoding (chapter 2), attention and
sampling (chapter 3)."""

from __future__ import annotations

import math

import torch

from ..tokenizer import encode_with_merges as _encode_with_merges
from ..tokenizer import merge_pair as _merge_pair
from ..tokenizer import pair_counts as _pair_counts
from .core import exercise


def _as_id_list(check, value, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, int) for i in value):
        check.fail(f"{what} should be a list of ints, got {type(value).__name__}",
                   "build a Python list of token ids")
    return list(value)


@exercise("pair_counts")
def pair_counts(check, answer):
    """``answer(ids)`` -> {(a, b): count} over adjacent pairs."""
    cases = [([1, 2, 3, 1, 2], "a short list"), ([5, 5, 5, 5], "a run of one id (pairs overlap)"),
             ([7], "a single id (no pairs)")]
    for ids, what in cases:
        got = check.call(answer, list(ids), what=f"pair_counts({ids})")
        if not hasattr(got, "items"):
            check.fail(f"for {what} you returned a {type(got).__name__}, expected a dict",
                       "return a dict (or collections.Counter) mapping (a, b) to a count")
        got = {k: v for k, v in got.items() if v}
        expected = dict(_pair_counts(ids))
        if got != expected:
            check.fail(f"for {what} {ids} you counted {got}, expected {expected}",
                       "walk over the pairs zip(ids, ids[1:]); every position starts one pair, so pairs overlap")
        check.passed(f"counts pairs in {what}")


@exercise("merge_pair")
def merge_pair(check, answer):
    """``answer(ids, pair, new_id)`` -> ids with every occurrence of ``pair`` replaced, left to right."""
    cases = [([1, 2, 3, 1, 2], (1, 2), 9, "two separate occurrences"),
             ([5, 5, 5], (5, 5), 9, "an overlapping run (aaa -> Xa, left to right)"),
             ([1, 3, 2], (1, 2), 9, "no occurrence"),
             ([4, 1, 2], (1, 2), 9, "a pair at the very end")]
    for ids, pair, new_id, what in cases:
        result = check.call(answer, list(ids), pair, new_id, what=f"merge_pair({ids}, {pair}, {new_id})")
        got = _as_id_list(check, result, "the result")
        expected = _merge_pair(ids, pair, new_id)
        if got != expected:
            check.fail(f"for {what}, {ids} with {pair} -> {new_id} gave {got}, expected {expected}",
                       "scan left to right; on a match append new_id and skip two positions, else append one id")
        check.passed(f"handles {what}")


@exercise("encode_with_merges")
def encode_with_merges(check, answer):
    """``answer(ids, merges)`` -> ids after applying ``merges`` (pair -> new id) in the order learned."""
    merges = {(97, 98): 256, (256, 99): 257, (98, 99): 258}  # "ab", "abc", "bc"
    cases = [([97, 98, 99], "'abc': 'ab' was learned before 'bc', so it wins"),
             ([98, 99, 97, 98], "'bcab'"),
             ([120], "one byte"),
             ([97, 98, 99, 97, 98, 99], "'abcabc', merged twice over")]
    for ids, what in cases:
        got = _as_id_list(check, check.call(answer, list(ids), dict(merges), what=f"encode_with_merges({ids}, merges)"),
                          "the result")
        expected = _encode_with_merges(ids, merges)
        if got != expected:
            check.fail(f"for {what} you got {got}, expected {expected}",
                       "repeat: among the pairs present, merge the one with the smallest new id (learned first); "
                       "stop when no pair present is in merges")
        check.passed(f"encodes {what}")


@exercise("causal_mask")
def causal_mask(check, answer):
    """``answer(T)`` -> a (T, T) boolean tensor, True where position i may attend to j (j <= i)."""
    for T in (1, 4, 7):
        got = check.call(answer, T, what=f"causal_mask({T})")
        if not isinstance(got, torch.Tensor):
            check.fail(f"causal_mask({T}) returned a {type(got).__name__}, expected a tensor",
                       "build it with torch: torch.ones(T, T, dtype=torch.bool) and torch.tril")
        if got.shape != (T, T):
            check.fail(f"causal_mask({T}) has shape {tuple(got.shape)}, expected ({T}, {T})",
                       "one row per query position and one column per key position: torch.ones(T, T) has the shape")
        expected = torch.ones(T, T).tril().bool()
        if got.dtype != torch.bool:
            check.fail(f"causal_mask({T}) has dtype {got.dtype}, expected torch.bool",
                       "compare with 1, or call .bool(): True means 'may attend'")
        if T > 1 and torch.equal(got, expected.T):
            check.fail("your mask lets each position see the future and not the past",
                       "row i is the query; it may see columns j <= i: a lower triangle (torch.tril)")
        if not torch.equal(got, expected):
            check.fail(f"causal_mask({T}) differs from the lower triangle in "
                       f"{(got != expected).sum().item()} places",
                       "torch.tril(torch.ones(T, T)).bool(); keep the diagonal: a token sees itself")
    check.passed("lower-triangular boolean masks, diagonal included")


def _reference_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


@exercise("attention")
def attention(check, answer):
    """``answer(q, k, v, mask=None)`` -> softmax(q k^T / sqrt(D), masked) v, for (..., T, D) inputs."""
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 5, 8, generator=gen) for _ in range(3))
    got = check.call(answer, q, k, v, what="attention(q, k, v)")
    expected = _reference_attention(q, k, v)
    if check.matches(got, _reference_attention(q * math.sqrt(8), k, v)):
        check.fail("the scores are not scaled", "divide q k^T by sqrt(D), D = q.shape[-1]")
    if check.matches(got, (q @ k.transpose(-2, -1) / math.sqrt(8)).softmax(dim=-2) @ v):
        check.fail("the softmax runs over the wrong axis", "each query's weights over the keys sum to 1: dim=-1")
    check.close(got, expected, "attention without a mask",
                "scores = q @ k.transpose(-2, -1) / sqrt(D); weights = softmax(scores, dim=-1); return weights @ v")
    check.passed("unmasked attention is right")
    mask = torch.ones(5, 5).tril().bool()
    got = check.call(answer, q, k, v, mask, what="attention(q, k, v, mask)")
    check.close(got, _reference_attention(q, k, v, mask), "attention with a causal mask",
                "set the scores where mask is False to -inf before the softmax (scores.masked_fill(~mask, -inf))")
    check.passed("masked positions get no weight")
    heads = torch.randn(2, 3, 4, 6, generator=gen)
    got = check.call(answer, heads, heads * 0.5, heads + 1, what="attention on (B, H, T, D) inputs")
    check.close(got, _reference_attention(heads, heads * 0.5, heads + 1), "attention with a heads dimension",
                "use k.transpose(-2, -1) rather than k.T, so any leading dimensions work")
    check.passed("works with any leading (batch, head) dimensions")


def _reference_top_k(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf")).softmax(dim=-1)


@exercise("top_k_probs")
def top_k_probs(check, answer):
    """``answer(logits (B, V), k)`` -> probabilities (B, V): softmax over the k largest logits, 0 elsewhere."""
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 3.0], [0.0, 0.1, 0.2, 0.3, 0.4]])
    got = check.call(answer, logits, 2, what="top_k_probs(logits, 2)")
    t = check.tensor(got, "the probabilities")
    if t.shape == logits.shape and not torch.allclose(t.sum(-1), torch.ones(2, dtype=t.dtype), atol=1e-5):
        check.fail(f"rows sum to {t.sum(-1).tolist()}, not 1", "renormalise: take the softmax of the kept logits only")
    check.close(got, _reference_top_k(logits, 2), "probabilities with k=2",
                "keep the k largest logits (torch.topk), set the others to -inf, then softmax")
    check.passed("keeps the two most likely tokens and renormalises")
    got = check.call(answer, logits, 5, what="top_k_probs(logits, 5)")
    check.close(got, logits.softmax(-1), "probabilities with k = V", "with k equal to the vocabulary, nothing is cut")
    check.passed("k = V leaves the softmax unchanged")
    got = check.call(answer, logits, 1, what="top_k_probs(logits, 1)")
    check.close(got, _reference_top_k(logits, 1), "probabilities with k=1", "k=1 is greedy: all mass on the argmax")
    check.passed("k = 1 puts all the probability on the most likely token (greedy)")


@exercise("initial_bits")
def initial_bits(check, answer):
    """``answer(vocab_size)`` -> the bits per character of an untrained GPT, predicted before running it.

    The checker measures it: a freshly initialised GPT (small random weights, so nearly equal logits) on
    random characters."""
    from ..gpt import GPT, GPTConfig  # here, not at the top: the checkers load without building models

    for vocab in (5, 27, 300):
        got = check.call(answer, vocab, what=f"initial_bits({vocab})")
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=vocab, block_size=32, n_layer=2, n_head=2, n_embd=32)).eval()
        gen = torch.Generator().manual_seed(1)
        x, y = torch.randint(vocab, (2, 16, 32), generator=gen)  # inputs and unrelated targets
        with torch.no_grad():
            measured = model(x, y)[1].item() / math.log(2)  # nats -> bits
        value = check.tensor(got, f"your prediction for {vocab} characters")
        if value.numel() == 1 and abs(float(value) - math.log(vocab)) < 0.05 * math.log(vocab):
            check.fail(f"for {vocab} characters you predicted {float(value):.3f}: that is in nats",
                       "the loss is in bits per character: log base 2")
        check.close(got, torch.tensor(measured), f"the untrained GPT's bits per character with {vocab} characters "
                    "(measured)", "an untrained model spreads its probability about evenly over the vocabulary; "
                    "how many bits does a uniform choice among V options cost?", atol=0.05 * math.log2(vocab), rtol=0)
    check.passed("an untrained GPT pays log2(V) bits a character, the cost of a uniform guess")


@exercise("merges_for_compression")
def merges_for_compression(check, answer):
    """``answer(merges, text, target)`` -> the fewest of the learned ``merges`` (in order) whose encoding of
    ``text`` reaches ``target`` characters per token."""
    from ..tokenizer import BPETokenizer, train_bpe

    text = "the cat sat on the mat. the cat ate the rat. " * 8 + "a bat and a hat.\n"
    merges = train_bpe(text, 256 + 40).merges
    items = list(merges.items())

    def compression(m):
        return len(text) / len(BPETokenizer(dict(items[:m])).encode(text))

    for target in (1.5, 2.5, 3.0):
        expected = next(m for m in range(len(items) + 1) if compression(m) >= target)
        got = check.call(answer, dict(merges), text, target, what=f"merges_for_compression(merges, text, {target})")
        if not isinstance(got, (int,)) or isinstance(got, bool):
            check.fail(f"for a target of {target} you returned a {type(got).__name__}, expected an int",
                       "return the number of merges m, as an int")
        if got == expected + 1:
            check.fail(f"for a target of {target} you found {got} merges, one too many",
                       "the first m whose compression reaches the target (>=), counting m from 0")
        if got != expected:
            check.fail(f"for a target of {target} you found {got} merges; {expected} reach it "
                       f"({compression(expected):.2f} characters per token)",
                       "try m = 0, 1, 2, ...: encode with dict(list(merges.items())[:m]) and stop at the first m "
                       "whose len(text) / len(ids) reaches the target")
        check.passed(f"{expected} merges reach {target} characters per token")
