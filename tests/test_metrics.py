import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.metrics import frechet_distance, histogram_match, mode_coverage


def reference_fd(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.floats(0.0, 3.0))
def test_frechet_distance_matches_sqrtm(seed, dim, shift):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(200, dim))
    b = rng.normal(size=(150, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + shift
    assert frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-4, abs=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).normal(size=(100, 5))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(torch.tensor(a), torch.tensor(a + 1.0)) == pytest.approx(5.0, rel=1e-6)


def test_frechet_distance_rejects_bad_features():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="features_b"):
        frechet_distance(a, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((10, 3), np.nan), a)
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(np.zeros(10), a)


def test_mode_coverage_counts_modes_and_quality():
    modes = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    samples = torch.tensor([[0.01, 0.0], [5.0, 0.02], [2.5, 2.5], [0.0, 0.0]])
    covered, quality = mode_coverage(samples, modes, std=0.1)
    assert covered == 2 and quality == pytest.approx(0.75)
    with pytest.raises(ValueError, match="std"):
        mode_coverage(samples, modes, std=0)


def test_histogram_match_bounds_and_bad_input():
    a = torch.tensor([1, 1, 2, 3])
    assert histogram_match(a, a[[3, 2, 1, 0]]) == 1.0
    assert histogram_match(a, torch.tensor([7, 8])) == 0.0
    assert histogram_match(torch.tensor([0, 1]), torch.tensor([0, 0, 0, 1])) == pytest.approx(0.75)
    empty, square = torch.tensor([], dtype=torch.long), torch.ones(2, 2, dtype=torch.long)
    for bad in (torch.tensor([0.5, 1.0]), empty, [1, 2], square):
        with pytest.raises(ValueError, match="1-D integer tensor"):
            histogram_match(bad, a)


def test_mean_pairwise_distance_averages_over_distinct_pairs():
    import pytest
    import torch

    from utils.metrics import mean_pairwise_distance

    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])  # distances 5, 3 and 4
    assert mean_pairwise_distance(points) == pytest.approx(4.0)
    assert mean_pairwise_distance(torch.ones(5, 3, 2, 2)) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_distance(torch.ones(1, 3))


def test_mode_coverage_counts_a_sample_on_the_threshold_and_not_beyond():
    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    on_edge = torch.tensor([[1.5, 0.0], [10.0, 1.75]])  # 3 and 3.5 standard deviations of 0.5 from their modes
    assert mode_coverage(on_edge, modes, std=0.5) == (1, 0.5)  # the default threshold is 3: only the first
    assert mode_coverage(on_edge, modes, std=0.5, threshold=3.5) == (2, 1.0)
    assert mode_coverage(on_edge, modes, std=0.5, threshold=0.5) == (0, 0.0)  # a threshold below 1 is allowed
    with pytest.raises(ValueError, match="threshold"):
        mode_coverage(on_edge, modes, std=0.5, threshold=0.0)


def test_histogram_match_of_negative_values_and_unequal_ranges():
    # 1 - TV: shares (1/4, 1/4, 1/2) against (1/2, 1/2, 0) differ by 1/4 + 1/4 + 1/2, so TV = 1/2.
    assert histogram_match(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1])) == pytest.approx(0.5)
    assert histogram_match(torch.tensor([-3, -2, -2, -1]), torch.tensor([-3, -2])) == pytest.approx(0.75)
    assert histogram_match(torch.tensor([-3, -2]), torch.tensor([-3])) == pytest.approx(0.5)


def test_perplexity_is_computed_in_double_precision():
    from utils.metrics import perplexity

    assert perplexity([0.1, 0.2]) == pytest.approx(np.exp(0.15), rel=1e-13)
    assert perplexity(torch.tensor([0.3], dtype=torch.float64)) == pytest.approx(np.exp(0.3), rel=1e-13)


def test_precision_recall_by_hand_on_a_line():
    # Real points 0, 1, 2, 3, 10: with the default k = 3 the ball around each reaches its third-nearest real
    # neighbour (radii 3, 2, 2, 3, 9), so of the fakes 0.5, 3.5, 6, 9, 20 only 20 lies outside: precision 0.8.
    # With k = 4 the ball around 10 reaches 0 (radius 10), and takes 20 in.
    from utils.metrics import precision_recall

    line = lambda *xs: torch.tensor([[x, 0.0] for x in xs])
    real, fake = line(0, 1, 2, 3, 10), line(0.5, 3.5, 6, 9, 20)
    assert precision_recall(real, fake) == (0.8, 1.0)
    assert precision_recall(real, fake, k=4) == (1.0, 1.0)
    assert precision_recall(real, line(-1.5, 0.5, 2.5, 16, 17.5), k=1)[0] == 0.6  # radii 1, 1, 1, 1, 7


def test_frechet_distance_of_rank_deficient_features_is_zero_not_nan():
    # Two columns repeat others, so S S has eigenvalues of about -1e-15: clipped at 0, not a NaN square root.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2))
    a = np.c_[a, a[:, 0] - 2 * a[:, 1], a[:, 0]]
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_computes_in_double_precision_from_two_samples_up():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 3)).astype(np.float32), rng.normal(size=(20, 3)).astype(np.float32)
    exact = frechet_distance(a.astype(np.float64), b.astype(np.float64))
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-12)
    assert frechet_distance(a[:2], b[:2]) >= 0  # two samples are enough for a covariance
    with pytest.raises(TypeError, match="features_a must hold numbers"):
        frechet_distance([["a", "b"], ["c", "d"]], b)


def test_mode_coverage_and_precision_recall_errors_name_the_argument():
    from utils.metrics import precision_recall

    samples = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="^modes must be a 2-D"):
        mode_coverage(samples, torch.ones(3), std=0.1)
    with pytest.raises(ValueError, match="samples and modes must have the same width"):
        mode_coverage(samples, torch.ones(3, 3), std=0.1)
    with pytest.raises(ValueError, match="^fake_features must be a 2-D"):
        precision_recall(samples, torch.ones(4))


def test_bits_per_char_from_one_character_up():
    from utils.metrics import bits_per_char

    assert bits_per_char(3 * np.log(2), 1) == pytest.approx(3.0)
    assert bits_per_char(0.5, 2) == pytest.approx(0.25 / np.log(2))
    with pytest.raises(ValueError, match="total_nll_nats"):
        bits_per_char(-0.5, 2)


def test_mean_pairwise_distance_in_double_precision_and_from_two_pictures():
    from utils.metrics import mean_pairwise_distance

    x = torch.tensor([[0.1, 0.2], [0.7, 1.3]])  # float32 pictures; the distance is taken in float64
    expected = float(np.hypot(*(x[1].double() - x[0].double()).numpy()))
    assert mean_pairwise_distance(x) == pytest.approx(expected, rel=1e-13)


def test_bits_per_char_is_a_python_float():
    # numpy's float64 reaches the book's glued prose as "np.float64(...)", which myst-nb cannot format
    from utils.metrics import bits_per_char

    value = bits_per_char(100.0, 50)
    assert type(value) is float and value == pytest.approx(100 / (50 * math.log(2)))


def _message(call, error):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


_OK = np.zeros((4, 2))
METRIC_MESSAGES = [
    (lambda: frechet_distance(_OK, "features"), TypeError,
     "features_b must be a tensor or array of features (N, D), got str"),
    (lambda: frechet_distance(None, _OK), TypeError, "features_a must be a tensor or array of features (N, D), got "
     "NoneType"),
    (lambda: mode_coverage(7, _OK, std=1.0), TypeError,
     "samples must be a tensor or array of features (N, D), got int"),
    (lambda: mode_coverage(_OK, _OK, std=0.0), ValueError, "std must be a finite number > 0, got 0.0"),
    (lambda: mode_coverage(_OK, _OK, std=1.0, threshold=-1.0), ValueError,
     "threshold must be a finite number > 0, got -1.0"),
    (lambda: histogram_match([1, 2], torch.tensor([1])), ValueError,
     "a must be a non-empty 1-D integer tensor, got list"),
    (lambda: histogram_match(torch.tensor([1]), torch.tensor([0.5])), ValueError,
     "b must be a non-empty 1-D integer tensor, got (1,) torch.float32"),
    (lambda: histogram_match(torch.tensor([1]), None), ValueError,
     "b must be a non-empty 1-D integer tensor, got NoneType"),
]


@pytest.mark.parametrize("call, error, message", METRIC_MESSAGES, ids=[m[:40] for *_, m in METRIC_MESSAGES])
def test_bad_inputs_get_their_whole_message(call, error, message):
    assert _message(call, error) == message


def test_mean_pairwise_distance_names_what_it_got():
    from utils.metrics import mean_pairwise_distance

    assert _message(lambda: mean_pairwise_distance([[0.0], [1.0]]), TypeError) == \
        "images must be a tensor (N, ...), got list"
