"""The fine-tuning checkers accept the reference answers and reject wrong ones without raising."""

import re
from collections import Counter

import pytest
import torch

from tests.checker_cases import checker_tests
from utils import checks


def ref_summary_mask(y, starts):
    out = y.clone()
    out[torch.arange(y.shape[1])[None, :] < starts[:, None]] = -1
    return out


def loop_summary_mask(y, starts):  # a loop over rows is just as right
    out = y.clone()
    for row, start in enumerate(starts.tolist()):
        out[row, :start] = -1
    return out


def in_place_mask(y, starts):
    y[torch.arange(y.shape[1])[None, :] < starts[:, None]] = -1
    return y


def ref_lora_linear(x, weight, bias, A, B, alpha):
    return x @ weight.T + bias + (alpha / A.shape[0]) * x @ A.T @ B.T


def ref_rouge1(hypothesis, reference):
    hyp, ref = (re.findall(r"[a-z0-9]+", text.lower()) for text in (hypothesis, reference))
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(hyp), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def unclipped_rouge1(hypothesis, reference):  # every hypothesis word found anywhere in the reference counts
    hyp, ref = (re.findall(r"[a-z0-9]+", text.lower()) for text in (hypothesis, reference))
    overlap = sum(word in ref for word in hyp)
    return 0.0 if overlap == 0 else 2 * overlap / (len(hyp) + len(ref))


def recall_only(hypothesis, reference):
    hyp, ref = (re.findall(r"[a-z0-9]+", text.lower()) for text in (hypothesis, reference))
    return sum((Counter(hyp) & Counter(ref)).values()) / len(ref)


def case_sensitive_rouge1(hypothesis, reference):  # forgets to lowercase: "The" and "the" differ
    hyp, ref = (re.findall(r"[A-Za-z0-9]+", text) for text in (hypothesis, reference))
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    return 0.0 if overlap == 0 else 2 * overlap / (len(hyp) + len(ref))


def whitespace_rouge1(hypothesis, reference):  # splits on spaces only: "mat!" is not "mat"
    hyp, ref = hypothesis.lower().split(), reference.lower().split()
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    return 0.0 if overlap == 0 else 2 * overlap / (len(hyp) + len(ref))


def unguarded_rouge1(hypothesis, reference):  # divides by zero on an empty hypothesis
    hyp, ref = (re.findall(r"[a-z0-9]+", text.lower()) for text in (hypothesis, reference))
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    precision, recall = overlap / len(hyp), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


CASES = {
    "summary_mask": (ref_summary_mask, [
        (in_place_mask, "clone first"),
        (lambda y, starts: ref_summary_mask(y, starts + 1), "the summary's first token: keep it"),
        (lambda y, starts: y.masked_fill(torch.arange(y.shape[1])[None, :] < starts[:, None], 0), "mask with -1"),
        (lambda y, starts: ref_summary_mask(y, starts).float(), "int64"),
        (lambda y, starts: y.masked_fill(torch.arange(y.shape[1])[None, :] >= starts[:, None], -1),
         "masked the summary and kept the article"),
    ]),
    "lora_linear": (ref_lora_linear, [
        (lambda x, weight, bias, A, B, alpha: x @ weight.T + bias + x @ A.T @ B.T, "not scaled"),
        (lambda x, weight, bias, A, B, alpha: x @ weight.T + bias + alpha * x @ A.T @ B.T, "scaled by alpha;"),
        (lambda x, weight, bias, A, B, alpha: x @ weight.T + bias + (alpha / A.shape[0]) * x @ A @ B,
         "raised RuntimeError"),  # transposes swapped: a shape error
        (lambda x, weight, bias, A, B, alpha: x @ weight.T + bias, "add the low-rank update"),
        (lambda x, weight, bias, A, B, alpha: ref_lora_linear(x, weight, bias, A, B, alpha).detach(),
         "no gradient"),
    ]),
    "lora_weight_count": (lambda n_layer, n_embd, rank: 6 * n_embd * rank * n_layer, [
        (lambda n_layer, n_embd, rank: 2 * n_embd * rank * n_layer, "counts only the output projection"),
        (lambda n_layer, n_embd, rank: 8 * n_embd * rank * n_layer, "four square projections"),
        (lambda n_layer, n_embd, rank: 6 * n_embd * rank, "times the number of blocks"),
        (lambda n_layer, n_embd, rank: n_layer * 4 * n_embd * n_embd, "per block"),
    ]),
    "rouge1": (ref_rouge1, [
        (unclipped_rouge1, "clip the counts"),
        (recall_only, "that is the recall"),
        (case_sensitive_rouge1, "lowercase both texts"),
        (whitespace_rouge1, "runs of letters and digits"),
        (unguarded_rouge1, "divided by zero"),
    ]),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({getattr(checks.finetuning, name): (reference, [answer for answer, _ in wrong])
                   for name, (reference, wrong) in CASES.items()})


def test_other_right_answers_pass(capsys):
    assert checks.summary_mask(loop_summary_mask)
    assert checks.lora_linear(lambda x, weight, bias, A, B, alpha: torch.nn.functional.linear(x, weight, bias)
                              + alpha / len(A) * (x @ A.T) @ B.T)
    assert checks.rouge1(lambda h, r: torch.tensor(ref_rouge1(h, r)))  # a 0-d tensor is a number too
    assert capsys.readouterr().out.count("all checks passed") == 3


@pytest.mark.parametrize("name, index", [(name, i) for name in CASES for i in range(len(CASES[name][1]))])
def test_wrong_answers_get_their_own_hint(name, index, capsys):
    answer, hint = CASES[name][1][index]
    assert not getattr(checks.finetuning, name)(answer)
    assert hint in capsys.readouterr().out
