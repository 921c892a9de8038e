"""The language checkers accept the reference answers and reject wrong ones without raising."""

import math
from itertools import pairwise

import torch

from tests.checker_cases import checker_tests
from utils import checks
from utils import tokenizer as tk


def reference_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


def reference_top_k(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf")).softmax(dim=-1)


CASES = {
    "pair_counts": (
        lambda ids: dict(tk.pair_counts(ids)),
        [lambda ids: list(pairwise(ids)),  # wrong type
         lambda ids: {p: 1 for p in pairwise(ids)}],  # near miss: no counting
    ),
    "merge_pair": (
        tk.merge_pair,
        [lambda ids, pair, new: torch.tensor([new]),  # wrong shape
         lambda ids, pair, new: [new if p == pair else p[0] for p in pairwise(ids + [None])]],  # near miss
    ),
    "encode_with_merges": (
        tk.encode_with_merges,
        [lambda ids, merges: "abc",  # wrong type
         lambda ids, merges: tk.merge_pair(ids, next(iter(merges)), merges[next(iter(merges))])],  # one merge only
    ),
    "causal_mask": (
        lambda T: torch.ones(T, T).tril().bool(),
        [lambda T: torch.ones(T, T + 1).bool(),  # wrong shape
         lambda T: torch.ones(T, T).triu().bool(),  # future instead of past
         lambda T: torch.ones(T, T).tril(-1).bool(),  # near miss: no diagonal
         lambda T: torch.ones(T, T).tril()],  # float instead of bool
    ),
    "attention": (
        reference_attention,
        [lambda q, k, v, mask=None: v[..., :1],  # wrong shape
         lambda q, k, v, mask=None: reference_attention(q * math.sqrt(q.shape[-1]), k, v, mask),  # unscaled
         lambda q, k, v, mask=None: reference_attention(q, k, v)],  # near miss: ignores the mask
    ),
    "top_k_probs": (
        reference_top_k,
        [lambda logits, k: logits[:, :k],  # wrong shape
         lambda logits, k: logits.softmax(-1) * (logits >= torch.topk(logits, k).values[:, -1:])],  # not renormalised
    ),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({getattr(checks, name): case for name, case in CASES.items()})


def fewest_merges(merges, text, target):
    items = list(merges.items())
    return next(m for m in range(len(items) + 1)
                if len(text) / len(tk.BPETokenizer(dict(items[:m])).encode(text)) >= target)


# The thinking exercises: predict an untrained GPT's loss; find how many merges reach a compression.
PREDICTION_CASES = {
    checks.initial_bits: (
        lambda vocab: math.log2(vocab),
        [lambda vocab: math.log(vocab),  # nats, not bits
         lambda vocab: 1 / vocab,  # a probability, not a cost
         lambda vocab: math.log2(vocab) / 2],
    ),
    checks.merges_for_compression: (
        fewest_merges,
        [lambda merges, text, target: fewest_merges(merges, text, target) + 1,  # one past the first
         lambda merges, text, target: len(merges),  # every merge
         lambda merges, text, target: float(fewest_merges(merges, text, target))],  # not an int
    ),
}
test_prediction_passes, test_wrong_predictions_fail, test_a_prediction_in_float64_passes = \
    checker_tests(PREDICTION_CASES)
