"""Tests of the story grammar: exact probabilities, one derivation per story, disjoint splits."""

import math

import pytest
import torch

from utils.data import stories as st


def test_every_sampled_story_has_exactly_one_derivation():
    for story in st.sample_stories(300, seed=5):
        assert st.count_derivations(story.text) == 1, story.text


def test_parsed_log_prob_equals_the_generators():
    for story in st.sample_stories(100, seed=6):
        assert story.text.startswith(st.STORY_START)
        assert math.isclose(st.story_log_prob(story.text), story.log_prob, rel_tol=1e-12)
        assert math.isclose(st.story_log_prob(story.text + st.END), story.log_prob, rel_tol=1e-12)


def test_texts_the_grammar_cannot_write_have_probability_zero():
    story = st.sample_stories(1, seed=7)[0].text
    for broken in (story[:-1], story + " The end.", story.replace("named", "called"), "", "Once upon a time"):
        assert st.story_log_prob(broken) == -math.inf
        assert st.count_derivations(broken) == 0


def test_probabilities_of_a_small_complete_family_sum_to_one():
    # Fix every choice but the ending: the three endings' probabilities must add up
    # to the probability of the shared prefix of choices.
    story = st.sample_stories(1, seed=8)[0]
    stem = story.text[: story.text.rindex(" and ") + len(" and ")]
    total = sum(math.exp(st.story_log_prob(stem + ending + ".")) for ending in st.ENDINGS)
    assert math.isclose(total, math.exp(story.log_prob) * len(st.ENDINGS), rel_tol=1e-9)


def test_sampling_is_seeded_and_splits_come_from_disjoint_seeds():
    assert [s.text for s in st.sample_stories(20, 3)] == [s.text for s in st.sample_stories(20, 3)]
    splits = st.load_stories(50, 20, 20, seed=1)
    assert [s.text for s in splits.train[:20]] != [s.text for s in splits.val]
    assert [s.text for s in splits.val] == [s.text for s in st.sample_stories(20, 4)]


def test_true_entropy_matches_the_average_information_and_has_a_small_error():
    stories = st.sample_stories(2000, seed=9)
    rate, stderr = st.true_entropy(stories)
    chars = sum(len(s.text) + 1 for s in stories)
    assert math.isclose(rate, sum(s.bits for s in stories) / chars)
    assert 0.05 < rate < 0.3 and 0 < stderr < 0.01 * rate


def test_hero_recall_and_name_position():
    story = st.sample_stories(1, seed=10)[0]
    assert st.hero_of(story.text) == story.hero
    assert story.text[st.HERO_START:st.HERO_START + 3] == story.hero
    assert st.hero_recalled(story.text)
    other = next(n for n in st.NAMES if n != story.hero)
    cut = st.HERO_START + 5
    assert not st.hero_recalled(story.text[:cut] + story.text[cut:].replace(story.hero, other))
    assert not st.hero_recalled("Once upon a time")


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n must be"):
        st.sample_stories(-1)
    with pytest.raises(ValueError, match="seed must be"):
        st.sample_stories(3, seed=-2)
    with pytest.raises(TypeError, match="text must be"):
        st.story_log_prob(None)
    with pytest.raises(ValueError, match="n_val"):
        st.load_stories(10, 0, 10)
    with pytest.raises(ValueError, match="at least 2"):
        st.true_entropy(st.sample_stories(1))


def test_story_rows_start_at_the_story_and_shift_by_one():
    stories = st.sample_stories(5, seed=11)
    encode = lambda text: [ord(c) for c in text]  # noqa: E731
    x, y, lengths = st.story_rows(stories, encode, block_size=st.LONGEST_STORY + 1)
    for i, story in enumerate(stories):
        n = len(story.text) + 1
        assert lengths[i] == n
        assert x[i, 0] == ord("\n") and "".join(map(chr, y[i, :n].tolist())) == story.text + "\n"
        assert (y[i, n:] == -1).all() and torch.equal(x[i, 1:n], y[i, : n - 1])
    with pytest.raises(ValueError, match="block_size"):
        st.story_rows(stories, encode, block_size=20)


def test_longest_story_bounds_every_story():
    assert max(len(s.text) for s in st.sample_stories(3000, seed=12)) <= st.LONGEST_STORY
