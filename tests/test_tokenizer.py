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


def test_id_checks_name_the_argument_and_show_the_bad_ids():
    tok = CharTokenizer("ab")
    with pytest.raises(TypeError) as info:
        tok.decode([0, -1, 1.5, -2, -3])
    assert str(info.value) == "ids must be a list of non-negative ints, got [-1, 1.5, -2] among them"
    with pytest.raises(TypeError) as info:
        tok.decode([2.5])  # not an int, even though not negative
    with pytest.raises(TypeError) as info:
        tok.decode("ab")
    assert str(info.value) == "ids must be a list of non-negative ints, got a str"
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as info:
        tok.decode(torch.tensor([0, 1]))
    assert str(info.value) == ("ids must be a list of non-negative ints, got a Tensor "
                               "(turn a tensor into a list with .tolist())")
    with pytest.raises(TypeError) as info:
        CharTokenizer(3)
    assert str(info.value) == "alphabet must be a str, got int"
    with pytest.raises(ValueError) as info:
        CharTokenizer("")
    assert str(info.value) == "alphabet must hold at least one character"
    with pytest.raises(TypeError) as info:
        BPETokenizer([((1, 2), 256)])
    assert str(info.value) == "merges must be a dict of (id, id) pair -> new id, got list"


def test_byte_fallback_is_on_by_default_and_adds_exactly_the_256_bytes():
    tok = CharTokenizer("ab")
    assert tok.byte_fallback is True and tok.vocab_size == 2 + 256
    assert tok.encode("aé") == [0, 2 + 0xC3, 2 + 0xA9]
    assert CharTokenizer("ab", byte_fallback=False).vocab_size == 2


def test_invalid_utf8_decodes_to_the_replacement_character_never_an_error():
    tok = CharTokenizer("ab")
    assert tok.decode([2 + 0xFF, 0, 2 + 0xFF]) == "\ufffda\ufffd"  # bytes pending before a character, and at the end
    bpe = BPETokenizer({(104, 105): 256})
    assert bpe.decode([0xFF, 256]) == "\ufffdhi"
    assert bpe.token_strings([0xFF, 256]) == ["\\xff", "hi"]  # a lone byte shown as its escape
    with pytest.raises(ValueError) as info:
        bpe.decode(list(range(300, 307)))
    assert str(info.value) == "ids [300, 301, 302, 303, 304] are outside the vocabulary of 257"
    with pytest.raises(ValueError) as info:
        bpe.token_strings(list(range(300, 307)))
    assert str(info.value) == "ids [300, 301, 302, 303, 304] are outside the vocabulary of 257"


def test_a_fresh_tokenizer_encodes_with_its_merges_in_the_order_learned():
    bpe = BPETokenizer({(104, 105): 256, (32, 256): 257})
    assert bpe.encode("hi hi") == [256, 257] and bpe.encode("hi hi") == [256, 257]  # again, from the cache
    assert bpe.decode([256, 257]) == "hi hi"
    # the pair learned first (smallest new id) is merged first, whatever the pairs' own order
    assert encode_with_merges([1, 2, 3], {(2, 3): 256, (1, 2): 257}) == [1, 256]
    with pytest.raises(ValueError, match="known pairs"):
        BPETokenizer({(1, 999): 256})  # one id of the pair is unknown


def test_boundaries_of_the_bpe_steps():
    assert merge_pair([1, 2], (1, 2), 0) == [0]  # id 0 is a legal new id
    with pytest.raises(TypeError) as info:
        pair_counts([1, 2], weight=2.5)
    assert str(info.value) == "weight must be an int, got 2.5"
    assert train_bpe("aaaa", 256).vocab_size == 256  # the bytes alone: no merge asked for
    assert train_bpe("a", 300).vocab_size == 256  # no pair at all: stops at once
    assert train_bpe("ab ab", 300).merges == {(97, 98): 256}  # a pair seen twice is merged, then none repeats
