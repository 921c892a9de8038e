"""How good is a generative model? Numbers that compare its samples with the truth.

* :func:`frechet_distance`: the distance between two Gaussians fitted to features.
* :func:`mode_coverage`: the modes covered and the share of high-quality samples on a
  2-D mixture, as defined in the VEEGAN and PacGAN papers.
* :func:`precision_recall`: fidelity and coverage of samples, told apart.
* :func:`histogram_match`: 1 minus the total-variation distance between two histograms of
  integer values (how often each attribute of a picture occurs, for example).
* :func:`perplexity`, :func:`bits_per_char`: how well a language model predicts text.
* :func:`bleu`, :func:`rouge`: n-gram overlap with reference texts, equal to sacrebleu's
  and rouge-score's numbers (the tests check this).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import torch

from .validate import check_int, check_number, describe


def _features(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().double().cpu().numpy()
    if not isinstance(x, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a tensor or array of features (N, D), got {type(x).__name__}")
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must hold numbers, shaped (N, D): {error}") from None
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {x.shape}")
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def frechet_distance(features_a, features_b) -> float:
    """The Frechet distance between Gaussians fitted to two sets of features (N, D).

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the matrix
    square root is the sum of the square roots of the eigenvalues of ``S_a S_b``, which
    are real and non-negative for covariance matrices; this avoids ``sqrtm``'s
    complex round-off.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same width, got {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    eig = np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(eig).sum()
    return float(max(distance, 0.0))


def mode_coverage(samples, modes, std: float, threshold: float = 3.0) -> tuple[int, float]:
    """``(modes covered, share of high-quality samples)`` for samples of a 2-D mixture.

    A sample is high quality if it lies within ``threshold`` standard deviations of its
    nearest mode; a mode is covered if it is the nearest mode of some high-quality
    sample (the measures of the VEEGAN and PacGAN papers).
    """
    x = torch.as_tensor(_features(samples, "samples"))
    m = torch.as_tensor(_features(modes, "modes"))
    if x.shape[1] != m.shape[1]:
        raise ValueError(f"samples and modes must have the same width, got {x.shape[1]} and {m.shape[1]}")
    check_number(std, "std", 0.0, low_open=True)
    check_number(threshold, "threshold", 0.0, low_open=True)
    distance, nearest = torch.cdist(x, m).min(dim=1)
    good = distance <= threshold * std
    return int(nearest[good].unique().numel()), float(good.double().mean())


def histogram_match(a, b) -> float:
    """``1 - TV(p_a, p_b)``: 1 for the same histogram of values, 0 for histograms with no value in common.

    ``a`` and ``b`` are 1-D integer tensors of any lengths; ``p_a(v)`` is the share of ``a``'s
    entries equal to ``v``, and ``TV = 0.5 * sum_v |p_a(v) - p_b(v)|`` over every value in either.
    """
    for name, values in (("a", a), ("b", b)):
        if not isinstance(values, torch.Tensor) or values.ndim != 1 or len(values) == 0 \
                or values.is_floating_point() or values.is_complex():
            raise ValueError(f"{name} must be a non-empty 1-D integer tensor, got "
                             f"{tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__}"
                             f"{' ' + str(values.dtype) if isinstance(values, torch.Tensor) else ''}")
    values = torch.cat([a, b]).long()
    low, bins = values.min(), int(values.max() - values.min()) + 1
    p_a = torch.bincount(a.long() - low, minlength=bins).double() / len(a)
    p_b = torch.bincount(b.long() - low, minlength=bins).double() / len(b)
    return 1 - 0.5 * (p_a - p_b).abs().sum().item()


def perplexity(nll_nats) -> float:
    """``exp`` of the mean negative log-likelihood per token (in nats): the model is as
    unsure as a uniform choice among this many tokens. Not an accuracy."""
    if nll_nats is None or isinstance(nll_nats, (str, bytes, dict)):
        raise TypeError(f"nll_nats must be a number, a list or a tensor of negative log-likelihoods, got "
                        f"{describe(nll_nats)}")
    nll = torch.as_tensor(nll_nats, dtype=torch.float64).flatten()
    if nll.numel() == 0:
        raise ValueError("nll_nats must hold at least one value")
    if not torch.isfinite(nll).all() or (nll < 0).any():
        raise ValueError("nll_nats must be finite and non-negative")
    return float(nll.mean().exp())


def bits_per_char(total_nll_nats: float, n_chars: int) -> float:
    """The total negative log-likelihood of a text (nats) in bits per character."""
    if not isinstance(n_chars, (int, np.integer)) or n_chars < 1:
        raise ValueError(f"n_chars must be a positive int, got {n_chars!r}")
    total = check_number(total_nll_nats, "total_nll_nats", 0.0)
    return total / (n_chars * math.log(2))  # a Python float, as annotated (numpy's prints as np.float64(...))


def _check_pairs(hypotheses, references) -> None:
    for name, value in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of strings, got {type(value).__name__}")
        if not value:
            raise ValueError(f"{name} must not be empty")
        if not all(isinstance(s, str) for s in value):
            raise TypeError(f"{name} must hold only strings")
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses and references must have the same length, "
                         f"got {len(hypotheses)} and {len(references)}")


# The '13a' tokenisation of the WMT evaluation script (mteval-v13a), sacrebleu's default:
# split off punctuation and symbols; split '.' and ',' unless between digits; split '-' after a digit.
_PUNCTUATION = re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])")
_PERIOD_COMMA_AFTER = re.compile(r"([^0-9])([\.,])")
_PERIOD_COMMA_BEFORE = re.compile(r"([\.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")


def tokenize_13a(line: str) -> list[str]:
    """Split a line into tokens the way BLEU's reference implementation does."""
    if not isinstance(line, str):
        raise TypeError(f"line must be a str, got {describe(line)}")
    line = line.rstrip().replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    for entity, char in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        line = line.replace(entity, char)
    line = f" {line} "
    line = _PUNCTUATION.sub(r" \1 ", line)
    line = _PERIOD_COMMA_AFTER.sub(r"\1 \2 ", line)
    line = _PERIOD_COMMA_BEFORE.sub(r" \1 \2", line)
    line = _DASH_AFTER_DIGIT.sub(r"\1 \2 ", line)
    return line.split()


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(hypotheses: list[str], references: list[str], max_n: int = 4) -> float:
    """Corpus BLEU from 0 to 100 with one reference per hypothesis, as sacrebleu computes it
    by default: 13a tokens, clipped n-gram precisions pooled over the corpus, their geometric
    mean, a brevity penalty, and 'exp' smoothing (the k-th n-gram order with no match
    counts as precision 1 / (2^k * total))."""
    _check_pairs(hypotheses, references)
    check_int(max_n, "max_n", 1)
    correct, total = np.zeros(max_n), np.zeros(max_n)
    hyp_len = ref_len = 0
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = tokenize_13a(hypothesis), tokenize_13a(reference)
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(ref)
        for n in range(1, max_n + 1):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            correct[n - 1] += sum(min(count, r[gram]) for gram, count in h.items())
            total[n - 1] += max(len(hyp) - n + 1, 0)
    if not correct.any():
        return 0.0  # no n-gram matches at all: smoothing does not give credit for nothing
    log_precisions, halvings = [], 1.0
    for n in range(max_n):
        if total[n] == 0:
            break  # the remaining orders keep precision 0
        if correct[n] == 0:
            halvings *= 2
            log_precisions.append(np.log(100.0 / (halvings * total[n])))
        else:
            log_precisions.append(np.log(100.0 * correct[n] / total[n]))
    if hyp_len == 0 or len(log_precisions) < max_n:
        return 0.0
    penalty = 1.0 if hyp_len >= ref_len else np.exp(1 - ref_len / hyp_len)
    return float(penalty * np.exp(sum(log_precisions) / max_n))


_STEMMER = None


def rouge_tokens(text: str) -> list[str]:
    """ROUGE's tokens: lower case, runs of letters and digits, words over 3 letters Porter-stemmed."""
    global _STEMMER
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    if _STEMMER is None:
        from nltk.stem import porter  # the stemmer of the original ROUGE toolkit's Python port

        _STEMMER = porter.PorterStemmer()
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return [_STEMMER.stem(w) if len(w) > 3 else w for w in words]


def _f_measure(overlap: float, hyp_count: int, ref_count: int) -> float:
    precision = overlap / hyp_count if hyp_count else 0.0
    recall = overlap / ref_count if ref_count else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F-measures (0 to 1) over hypothesis/reference pairs.

    ROUGE-n counts the n-grams a summary shares with its reference; ROUGE-L the longest
    common subsequence of their tokens, which rewards the right order without demanding
    contiguity."""
    _check_pairs(hypotheses, references)
    scores = {"rouge1": [], "rouge2": [], "rougeL": []}
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = rouge_tokens(hypothesis), rouge_tokens(reference)
        for n in (1, 2):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            overlap = sum(min(count, r[gram]) for gram, count in h.items())
            scores[f"rouge{n}"].append(_f_measure(overlap, sum(h.values()), sum(r.values())))
        scores["rougeL"].append(_f_measure(_lcs_length(hyp, ref), len(hyp), len(ref)))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of Kynkaanniemi et al. (2019), from features (N, D).

    Around every real sample, a ball reaching its k-th nearest real neighbour; their union
    estimates the real manifold. Precision is the share of fake samples inside it (fidelity);
    recall, symmetrically, the share of real samples inside the fake manifold (coverage)."""
    real = torch.as_tensor(_features(real_features, "real_features"))
    fake = torch.as_tensor(_features(fake_features, "fake_features"))
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real_features and fake_features must have the same width, "
                         f"got {real.shape[1]} and {fake.shape[1]}")
    if not isinstance(k, int) or not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be an int from 1 to one less than the smaller set's size, got {k!r}")

    def inside(points, support):
        # k-th neighbour distance within `support` (column 0 of the sorted row is the point itself)
        radii = torch.cdist(support, support).sort(dim=1).values[:, k]
        return (torch.cdist(points, support) <= radii[None, :]).any(dim=1).double().mean().item()

    return inside(fake, real), inside(real, fake)


def mean_pairwise_distance(images) -> float:
    """The average Euclidean distance between every two of ``images`` (N >= 2, any shape after N):
    a plain measure of variety, 0 when all are the same."""
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        raise TypeError(f"images must be a tensor (N, ...), got {type(images).__name__}")
    x = torch.as_tensor(images, dtype=torch.float64)
    if x.ndim < 2 or len(x) < 2:
        raise ValueError(f"images must be a batch of at least 2, got shape {tuple(x.shape)}")
    x = x.flatten(1)
    n = len(x)
    return (torch.cdist(x, x).sum() / (n * (n - 1))).item()  # the diagonal is 0; each pair counted twice
