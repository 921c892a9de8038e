"""Checkers for the fine-tuning chapter: a loss on the summary tokens only, a LoRA layer's
forward pass, and the ROUGE-1 score of a summary."""

from __future__ import annotations

import numbers
import re
import traceback
from collections import Counter

import torch

from .core import exercise


def _summary_mask(y: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(y.shape[1], device=y.device)
    return y.masked_fill(positions[None, :] < starts[:, None], -1)


def _summary_cases() -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(3, 50, (3, 10), generator=gen)
    y[0, 8:] = -1  # padding after a short row
    starts = torch.tensor([4, 0, 9])  # a row that is all summary, and one whose summary is its last target
    small = torch.randint(3, 50, (2, 5), generator=gen)
    small[1, 3:] = -1
    return [(y, starts, "3 rows of 10 targets, starts [4, 0, 9]"), (small, torch.tensor([2, 1]), "2 rows of 5")]


@exercise("summary_mask")
def summary_mask(check, answer):
    """``answer(y, starts)`` -> y with every target before its row's summary start set to -1."""
    for y, starts, what in _summary_cases():
        original, expected = y.clone(), _summary_mask(y, starts)
        got = check.call(answer, y, starts.clone(), what=f"summary_mask on {what}")
        if not isinstance(got, torch.Tensor):
            check.fail(f"for {what} you returned a {type(got).__name__}, expected a tensor",
                       "return a tensor like y: y.clone() with the article's targets set to -1")
        if got.shape != y.shape:
            check.fail(f"for {what} the result has shape {tuple(got.shape)}, expected {tuple(y.shape)}",
                       "keep every position: set the article's targets to -1 instead of cutting them out")
        if got.dtype != y.dtype:
            check.fail(f"the result has dtype {got.dtype}, expected {y.dtype} like y",
                       "targets are token ids, which cross_entropy wants as int64: start from y.clone() and "
                       "write -1 into it (torch.where with a float value would turn it to floats)")
        positions = torch.arange(y.shape[1])[None, :]
        if torch.equal(got.cpu(), original.masked_fill(positions >= starts[:, None], -1)):
            check.fail(f"for {what} you masked the summary and kept the article",
                       "reverse the comparison: the positions to set to -1 are those < start")
        wrong = (got.cpu() != expected).nonzero()
        if len(wrong):
            row, col = wrong[0].tolist()
            value, start, right = got[row, col].item(), starts[row].item(), expected[row, col].item()
            where = f"for {what}, row {row} (start {start}) position {col} is {value}, expected {right}"
            if col == start and value == -1:
                check.fail(where, "the target at position start is the summary's first token: keep it and "
                                  "mask only positions < start")
            if col < start and value == 0:
                check.fail(where, "mask with -1, the ignore_index the loss skips; 0 is a real token id")
            if col < start:
                check.fail(where, "every target before the row's start belongs to the article: set it to -1 "
                                  "(compare torch.arange(T)[None, :] with starts[:, None])")
            check.fail(where, "targets from the start on are the summary (and its padding): leave them as in y")
        if not torch.equal(y, original):
            check.fail("your function changed its input y",
                       "clone first (out = y.clone()) and write the -1s into the copy: the caller still needs y")
        check.passed(f"masks the article's targets for {what}")
    check.passed("a start of 0 keeps the whole row; padding stays -1; the input is left unchanged")


def _lora_reference(x, weight, bias, A, B, alpha, scaling=None):
    scaling = alpha / A.shape[0] if scaling is None else scaling
    return x @ weight.T + bias + scaling * (x @ A.T @ B.T)


@exercise("lora_linear")
def lora_linear(check, answer):
    """``answer(x, weight, bias, A, B, alpha)`` -> x W^T + b + (alpha / r) x A^T B^T, with r = A.shape[0]."""
    gen = torch.Generator().manual_seed(1)
    cases = [((5, 6), 4, 2, 8.0, "x (5, 6), weight (4, 6), rank 2, alpha 8"),
             ((2, 3, 6), 7, 4, 2.0, "x (2, 3, 6), weight (7, 6), rank 4, alpha 2")]
    for x_shape, out, rank, alpha, what in cases:
        n_in = x_shape[-1]
        x = torch.randn(*x_shape, generator=gen)
        weight, bias = torch.randn(out, n_in, generator=gen), torch.randn(out, generator=gen)
        A = torch.randn(rank, n_in, generator=gen).requires_grad_()
        B = torch.randn(out, rank, generator=gen).requires_grad_()  # nonzero, as after some training
        with torch.no_grad():
            expected = _lora_reference(x, weight, bias, A, B, alpha)
            wrong = [(_lora_reference(x, weight, bias, A, B, alpha, scaling=1.0),
                      "the update is not scaled: multiply x A^T B^T by alpha / r"),
                     (_lora_reference(x, weight, bias, A, B, alpha, scaling=alpha),
                      "the update is scaled by alpha; LoRA scales it by alpha / r, with r = A.shape[0]"),
                     (_lora_reference(x, weight, bias, A, B, alpha, scaling=0.0),
                      "the result is the base layer alone: add the low-rank update (alpha / r) x A^T B^T"),
                     (_lora_reference(x, weight, 0.0, A, B, alpha), "the bias is missing")]
        got = check.call(answer, x, weight, bias, A, B, alpha, what=f"lora_linear with {what}")
        value = check.tensor(got, "the output")
        for candidate, hint in wrong:
            if value.shape == candidate.shape and torch.allclose(value, candidate.double(), atol=1e-4, rtol=1e-4):
                check.fail(f"the output for {what} is off", hint)
        check.close(value, expected, f"the output for {what}",
                    "base layer x @ weight.T + bias, plus (alpha / r) * x @ A.T @ B.T; A is (r, in), B is (out, r)",
                    atol=1e-4, rtol=1e-4)
        check.passed(f"right output for {what}")
    if not (isinstance(got, torch.Tensor) and got.requires_grad):
        check.fail("the output carries no gradient to A and B",
                   "compute it with torch operations (@, +, *), without .detach(), .item() or numpy")
    check.passed("works for any number of leading dimensions, and gradients reach A and B")


def _rouge1_score(hypothesis: str, reference: str) -> float:
    from rouge_score import rouge_scorer  # the package summarisation papers report

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=False)
    return scorer.score(target=reference, prediction=hypothesis)["rouge1"].fmeasure


def _unigram_scores(hypothesis: str, reference: str, clip: bool = True, lower: bool = True):
    """Precision and recall of ROUGE-1, and variants a reader might write by mistake."""

    def tokens(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower()) if lower else re.findall(r"[A-Za-z0-9]+", text)

    hyp, ref = tokens(hypothesis), tokens(reference)
    if clip:
        overlap = sum((Counter(hyp) & Counter(ref)).values())
    else:  # each hypothesis word counted when it occurs anywhere in the reference
        overlap = sum(word in ref for word in hyp)
    precision = overlap / len(hyp) if hyp else 0.0
    recall = overlap / len(ref) if ref else 0.0
    return precision, recall


def _f(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


_CLIP = ("clip the counts: a word counts at most as often as it occurs in the other text, "
         "min(count in hypothesis, count in reference); Counter(hyp) & Counter(ref) does it")
_CASE = "lowercase both texts before splitting them into words (text.lower())"
_TOKENS = ('tokens are runs of letters and digits: re.findall(r"[a-z0-9]+", text.lower()), '
           "so punctuation separates words and is never part of one")
_ZERO = "with no token in the hypothesis, or none in common, precision and recall are 0 and so is the score"
ROUGE_PAIRS = [  # hypothesis, reference, what it tests, the hint when only this pair goes wrong
    ("the cat sat on the mat", "a cat was sitting on the mat today", "a hypothesis and a longer reference", None),
    ("The Cat sat on the MAT", "the cat sat on the mat today", "words in other cases", _CASE),
    ("cat: sat, on the mat!", "cat sat on the mat", "punctuation between words", _TOKENS),
    ("the the the the cat", "the cat sat", "a word repeated in the hypothesis", _CLIP),
    ("the cat sat", "the the the cat ate", "a word repeated in the reference", _CLIP),
    ("dogs bark loudly", "cats sleep all day", "texts with no word in common", _ZERO),
    ("", "the cat sat on the mat", "an empty hypothesis", _ZERO),
    ("3 cats, 12 dogs", "12 dogs and 3 cats", "numbers", _TOKENS),
]


@exercise("rouge1")
def rouge1(check, answer):
    """``answer(hypothesis, reference)`` -> the ROUGE-1 F-measure, equal to the rouge-score package's."""
    for hypothesis, reference, what, pair_hint in ROUGE_PAIRS:
        call = f"rouge1({hypothesis!r}, {reference!r}) ({what})"
        try:
            got = answer(hypothesis, reference)
        except ZeroDivisionError:
            check.fail(f"{call} divided by zero",
                       "return 0.0 when either text has no tokens or no word is shared (precision + recall = 0)")
        except Exception as error:  # the reader's code may raise anything
            line = traceback.extract_tb(error.__traceback__)[-1].lineno
            check.fail(f"{call} raised {type(error).__name__}: {error} (line {line})",
                       "read the error above; try your function on this pair by hand")
        if got is None:
            check.fail(f"{call} returned None", "it is still the stub: replace `return None` with your code")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            value = got.item()
        elif isinstance(got, numbers.Real) and not isinstance(got, bool):
            value = float(got)
        else:
            check.fail(f"{call} returned a {type(got).__name__}, expected one number",
                       "return the F-measure as a float between 0 and 1")
        expected = _rouge1_score(hypothesis, reference)
        if abs(value - expected) < 1e-6:
            check.passed(f"right for {what}")
            continue
        message = f"{call} gave {value:.4f}, expected {expected:.4f}"
        precision, recall = _unigram_scores(hypothesis, reference)
        for name, share, of in (("recall", recall, "reference"), ("precision", precision, "hypothesis")):
            if precision != recall and abs(value - share) < 1e-6:
                check.fail(message, f"that is the {name} (overlap / {of} tokens); ROUGE-1 is the F-measure "
                                    f"2 P R / (P + R) of precision P = {precision:.4f} and recall R = {recall:.4f}")
        hyp_in_ref, ref_in_hyp = (_unigram_scores(hypothesis, reference, clip=False),
                                  _unigram_scores(reference, hypothesis, clip=False)[::-1])
        # unclipped: hypothesis words found in the reference, reference words found in the hypothesis, or each side's
        unclipped = [_f(*hyp_in_ref), _f(*ref_in_hyp), _f(hyp_in_ref[0], ref_in_hyp[1])]
        if value > 1 or any(abs(value - u) < 1e-6 for u in unclipped):
            check.fail(message, _CLIP)
        if abs(value - _f(*_unigram_scores(hypothesis, reference, lower=False))) < 1e-6:
            check.fail(message, _CASE)
        check.fail(message, pair_hint or "overlap = the shared words, counts clipped; P = overlap / hypothesis "
                                         "tokens, R = overlap / reference tokens; F = 2 P R / (P + R)")
    check.passed("the same F-measure as the rouge-score package: clipped counts, case and punctuation ignored")


def _adapter_count(n_layer: int, n_embd: int, rank: int) -> int:
    """The adapters' weights that utils.lora.add_lora adds to a GPT of this shape, counted on a real model."""
    from ..gpt import GPT, GPTConfig
    from ..lora import add_lora

    model = add_lora(GPT(GPTConfig(vocab_size=16, block_size=8, n_layer=n_layer, n_head=2, n_embd=n_embd)), rank=rank)
    return sum(p.numel() for name, p in model.named_parameters() if name.endswith((".A", ".B")))


@exercise("lora_weight_count")
def lora_weight_count(check, answer):
    """``answer(n_layer, n_embd, rank)`` -> how many weights add_lora's adapters hold in a GPT of that shape
    (the query-key-value projection, n_embd -> 3 n_embd, and the output projection, n_embd -> n_embd, of
    every block, each getting A (rank, d_in) and B (d_out, rank))."""
    for n_layer, n_embd, rank in ((2, 64, 16), (4, 32, 4), (1, 8, 2)):
        got = check.call(answer, n_layer, n_embd, rank, what=f"lora_weight_count({n_layer}, {n_embd}, {rank})")
        value = check.tensor(got, "the count")
        if value.numel() != 1:
            check.fail("the count should be one number", "return an int")
        value, expected = round(value.item()), _adapter_count(n_layer, n_embd, rank)
        if value == expected // 3:
            check.fail(f"{value:,} counts only the output projection", "the query-key-value projection is "
                       "adapted too: it maps n_embd to 3 n_embd, so its A is (r, n_embd) and its B (3 n_embd, r)")
        if value == 4 * expected // 3 and value != expected:
            check.fail(f"{value:,} adapts four square projections", "the GPT computes q, k and v with *one* linear "
                       "layer, n_embd -> 3 n_embd, so it has one A (r, n_embd) and one B (3 n_embd, r)")
        if value != expected:
            check.fail(f"lora_weight_count({n_layer}, {n_embd}, {rank}) is {value:,}, expected {expected:,}",
                       "per block: A and B of the qkv projection, r * n_embd + 3 n_embd * r, plus those of the "
                       "output projection, r * n_embd + n_embd * r; times the number of blocks")
    check.passed("right for three shapes, counted on real GPTs with add_lora")
    from ..gpt import GPT, GPTConfig

    full = sum(p.numel() for p in GPT(GPTConfig(vocab_size=512, block_size=128)).parameters())
    check.passed(f"rank 16 on the chapter's 2 x 64 GPT: {_adapter_count(2, 64, 16):,} adapter weights, "
                 f"{_adapter_count(2, 64, 16) / full:.0%} of its {full:,} weights")
