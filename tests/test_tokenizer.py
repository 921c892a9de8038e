"""Tests of the from-scratch tokenizers: round trips on any text, merges, errors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from utils.tokenizer import BPETokenizer, CharTokenizer, chunks, encode_with_merges, merge_pair, pair_counts, train_bpe

TEXT = ("Once upon a time in a faraway land, there was a king named Tom. Tom wanted the golden key.\n" * 20
        + "A wise owl helped Tom. Tom found the golden key and lived happily ever after.\n" * 10)
BPE = train_bpe(TEXT, 300)
CHARS = CharTokenizer.from_text(TEXT)


@settings(max_examples=200, deadline=None)
@given(hs.text())
def test_bpe_round_trips_any_text(text):
    assert BPE.decode(BPE.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(hs.text())
def test_char_tokenizer_round_trips_any_text_with_byte_fallback(text):
    assert CHARS.decode(CHARS.encode(text)) == text
    assert all(0 <= i < CHARS.vocab_size for i in CHARS.encode(text))


@given(hs.text())
def test_chunks_cover_the_text(text):
    assert "".join(chunks(text)) == text


def test_out_of_alphabet_policy():
    assert CHARS.encode("é") == [len(CHARS.chars) + b for b in "é".encode()]
    strict = CharTokenizer.from_text(TEXT, byte_fallback=False)
    with pytest.raises(ValueError, match="'é' is not in the alphabet"):
        strict.encode("café")
    assert strict.vocab_size == len(set(TEXT))


def test_bpe_compresses_its_training_text_and_learns_words():
    ids = BPE.encode(TEXT)
    assert len(TEXT) / len(ids) > 2
    assert " golden" in BPE.token_strings(BPE.encode(" golden key"))


def test_the_three_steps():
    assert pair_counts([1, 2, 1, 2]) == {(1, 2): 2, (2, 1): 1}
    assert merge_pair([5, 5, 5], (5, 5), 9) == [9, 5]
    merges = {(97, 98): 256, (256, 99): 257, (98, 99): 258}
    assert encode_with_merges([97, 98, 99], merges) == [257]
    assert encode_with_merges([98, 99, 97], merges) == [258, 97]


def test_training_is_deterministic_and_stops_when_nothing_repeats():
    assert train_bpe(TEXT, 300).merges == BPE.merges
    assert train_bpe("ab", 300).vocab_size == 256


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe(TEXT, 100)
    with pytest.raises(TypeError, match="text must be"):
        BPE.encode(None)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        BPE.decode([10_000])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        CHARS.decode([CHARS.vocab_size])
    with pytest.raises(ValueError, match="merges must map"):
        BPETokenizer({(1, 2): 300})
    with pytest.raises(ValueError, match="alphabet"):
        CharTokenizer("")
