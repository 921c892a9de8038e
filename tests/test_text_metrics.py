"""Our BLEU, ROUGE, perplexity and precision/recall against the libraries people trust."""

import math

import numpy as np
import pytest
import sacrebleu
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from utils.metrics import bits_per_char, bleu, perplexity, precision_recall, rouge, tokenize_13a

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "home", "quickly", "running", "runs", "3.5",
         "1,000", "U.S.", "don't", "co-operate", "(hello)", "end.", "5-3", "&amp;", "Paris,", "\"quoted\""]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=14).map(" ".join)
corpus = st.integers(1, 6).flatmap(lambda n: st.tuples(st.lists(sentence, min_size=n, max_size=n),
                                                       st.lists(sentence, min_size=n, max_size=n)))


@settings(max_examples=200, deadline=None)
@given(corpus)
def test_bleu_equals_sacrebleu(pair):
    hyps, refs = pair
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert bleu(hyps, refs) == pytest.approx(expected, abs=1e-4)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_13a_tokens_equal_sacrebleu(text):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    assert tokenize_13a(text) == Tokenizer13a()(text.rstrip()).split()


@settings(max_examples=50, deadline=None)
@given(st.lists(sentence.filter(lambda s: len(s.split()) >= 4), min_size=1, max_size=5))
def test_bleu_of_a_text_with_itself_is_100(texts):
    assert bleu(texts, texts) == pytest.approx(100.0)


@settings(max_examples=200, deadline=None)
@given(corpus)
def test_rouge_equals_rouge_score(pair):
    hyps, refs = pair
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = [scorer.score(r, h) for h, r in zip(hyps, refs)]  # rouge-score takes the target first
    ours = rouge(hyps, refs)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert ours[name] == pytest.approx(np.mean([s[name].fmeasure for s in scores]), abs=1e-4)


def test_rouge_reads_stems():
    assert rouge(["the cats were running"], ["the cat runs"])["rouge1"] > 0.5


@pytest.mark.parametrize("metric", [bleu, rouge])
def test_text_metrics_reject_bad_input(metric):
    with pytest.raises(ValueError, match="empty"):
        metric([], [])
    with pytest.raises(ValueError, match="same length"):
        metric(["a"], ["a", "b"])
    with pytest.raises(TypeError, match="list of strings"):
        metric("a cat", "a cat")
    with pytest.raises(TypeError, match="only strings"):
        metric([1], ["a"])


def test_perplexity_and_bits_per_char():
    assert perplexity([math.log(4)] * 3) == pytest.approx(4.0)
    assert perplexity(torch.tensor([0.0, 0.0])) == pytest.approx(1.0)
    assert bits_per_char(100 * math.log(2), 50) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="nll_nats"):
        perplexity([])
    with pytest.raises(ValueError, match="nll_nats"):
        perplexity([float("nan")])
    with pytest.raises(ValueError, match="n_chars"):
        bits_per_char(1.0, 0)


def test_precision_recall_tell_fidelity_from_coverage():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 2))
    sharp_but_narrow = rng.normal(size=(500, 2)) * 0.3  # all inside the real cloud, covering its core only
    broad_and_off = rng.normal(size=(500, 2)) * 5.0  # covers everything, mostly outside
    p1, r1 = precision_recall(real, sharp_but_narrow)
    p2, r2 = precision_recall(real, broad_and_off)
    assert p1 > 0.95 and r1 < 0.5
    assert p2 < 0.5 and r2 > 0.9
    p, r = precision_recall(real, real + 1e-9)
    assert p == 1.0 and r == 1.0


def test_precision_recall_reject_bad_input():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="k must"):
        precision_recall(a, a, k=10)
    with pytest.raises(ValueError, match="width"):
        precision_recall(a, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="NaN"):
        precision_recall(np.full((10, 3), np.nan), a)
    with pytest.raises(ValueError, match="at least 2"):
        precision_recall(np.zeros((1, 3)), a)


def test_bleu_smooths_an_order_without_matches_and_counts_each_order_apart():
    # No 3- or 4-gram of "a b x c d" is in "a b y c d": their precisions come from sacrebleu's 'exp' smoothing,
    # and the orders must stay apart (shifting the matches of one order onto another changes the score here).
    hypothesis, reference = ["a b x c d"], ["a b y c d"]
    assert bleu(hypothesis, reference) == pytest.approx(sacrebleu.corpus_bleu(hypothesis, [reference]).score)
    assert bleu(hypothesis, reference) == pytest.approx(100 * (4 / 5 * 2 / 4 * 1 / 6 * 1 / 8) ** 0.25)
    for order in (1, 2, 3):
        ours = bleu(hypothesis, reference, max_n=order)
        assert ours == pytest.approx(sacrebleu.metrics.BLEU(max_ngram_order=order).corpus_score(
            hypothesis, [reference]).score)
    assert bleu(["a b c d e"], ["a b c d f"], max_n=1) == pytest.approx(80.0)


def test_13a_tokens_of_a_line_ending_in_a_hyphen_and_newline_are_sacrebleus():
    # sacrebleu's BLEU strips the end of each line before its 13a tokenizer joins "-\n" line breaks.
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    for line in ("well-\n", "  a b-\n", "x -\n"):
        assert tokenize_13a(line) == Tokenizer13a()(line.rstrip()).split()


def test_bleu_of_one_word_and_rouge_stems_only_words_over_three_letters():
    from utils.metrics import rouge_tokens

    assert bleu(["a"], ["a"], max_n=1) == pytest.approx(100.0)
    assert rouge_tokens("Dogs was running") == ["dog", "was", "run"]  # Porter would make "was" "wa"


# Every rule of the 13a tokeniser, each on a line made to need it, against sacrebleu's own.
HARD_LINES = [
    "a <skipped> line", "a hyphen-\nated word", "two\nlines", 'the &quot;quoted&quot; &amp; &lt;b&gt; tags',
    "3-4 years, 1,000.5 dollars; (see: [1]) {x} ~y `z` a-b", "end.", "A.B, c,d 5. 6, 7.8",
    "$5 + 10% = @home / #tag | x^2 _under_ !?", "trailing spaces   ",
]


@pytest.mark.parametrize("line", HARD_LINES)
def test_tokenize_13a_equals_sacrebleu_on_every_rule(line):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    assert tokenize_13a(line) == Tokenizer13a()(line).split()


def _message(call, error):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


TEXT_MESSAGES = [
    (lambda: perplexity([]), ValueError, "nll_nats must hold at least one value"),
    (lambda: perplexity([1.0, -0.5]), ValueError, "nll_nats must be finite and non-negative"),
    (lambda: bits_per_char(-1.0, 5), ValueError, "total_nll_nats must be a finite number >= 0, got -1.0"),
    (lambda: bleu("a b", ["a b"]), TypeError, "hypotheses must be a list of strings, got str"),
    (lambda: bleu(["a b"], None), TypeError, "references must be a list of strings, got NoneType"),
    (lambda: bleu(["a b"], ["a b"], max_n=0), ValueError, "max_n must be an int >= 1, got 0"),
    (lambda: precision_recall({"a": 1}, np.zeros((5, 2))), TypeError,
     "real_features must be a tensor or array of features (N, D), got dict"),
]


@pytest.mark.parametrize("call, error, message", TEXT_MESSAGES, ids=[m[:40] for *_, m in TEXT_MESSAGES])
def test_bad_inputs_get_their_whole_message(call, error, message):
    assert _message(call, error) == message
