"""Tokenizers written from scratch: characters, and byte-pair encoding (BPE).

* :class:`CharTokenizer`: one token per character of a training alphabet. A character
  outside the alphabet falls back to its UTF-8 bytes, one token each (``byte_fallback``),
  so any text can be encoded and decoded back unchanged; without the fallback it raises
  an error that names the character.
* :class:`BPETokenizer` (trained by :func:`train_bpe`): byte-level BPE as in GPT-2. Text
  is cut into chunks (a word with its leading space, a run of punctuation, a run of
  spaces), each chunk becomes its UTF-8 bytes (tokens 0-255), and learned merges replace
  frequent adjacent pairs with new tokens, most frequent first. Every text is a sequence
  of bytes, so nothing is ever out of the alphabet.

The three steps of BPE are the chapter's exercises: :func:`pair_counts`,
:func:`merge_pair` and :func:`encode_with_merges`.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

# A word with its leading space, a run of other symbols with its leading space, or spaces.
# Every character is a word character, a space or neither, so the chunks cover any text.
CHUNK_PATTERN = r" ?\w+| ?[^\w\s]+|\s+(?!\S)|\s+"
_CHUNK = re.compile(CHUNK_PATTERN)


def _check_ids(ids, name: str = "ids") -> list[int]:
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, int) and i >= 0 for i in ids):
        if not isinstance(ids, (list, tuple)):
            got = f"a {type(ids).__name__}" + (" (turn a tensor into a list with .tolist())"
                                               if type(ids).__name__ == "Tensor" else "")
        else:
            got = f"{[i for i in ids if not (isinstance(i, int) and i >= 0)][:3]} among them"
        raise TypeError(f"{name} must be a list of non-negative ints, got {got}")
    return list(ids)


def _check_text(text, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    return text


class CharTokenizer:
    """One id per character of ``alphabet``; ids ``len(alphabet) + b`` stand for byte ``b``."""

    def __init__(self, alphabet: str, byte_fallback: bool = True):
        _check_text(alphabet, "alphabet")
        if not alphabet:
            raise ValueError("alphabet must hold at least one character")
        self.chars = sorted(set(alphabet))
        self.byte_fallback = byte_fallback
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars) + (256 if byte_fallback else 0)

    @classmethod
    def from_text(cls, text: str, byte_fallback: bool = True) -> CharTokenizer:
        """The alphabet of ``text``."""
        return cls(_check_text(text), byte_fallback)

    def encode(self, text: str) -> list[int]:
        ids, base = [], len(self.chars)
        for c in _check_text(text):
            i = self.stoi.get(c)
            if i is not None:
                ids.append(i)
            elif self.byte_fallback:
                ids.extend(base + b for b in c.encode("utf-8"))
            else:
                raise ValueError(f"character {c!r} is not in the alphabet and byte_fallback is off")
        return ids

    def decode(self, ids) -> str:
        """Text of ``ids``; byte tokens are gathered and read as UTF-8 (invalid runs become U+FFFD)."""
        out, pending, base = [], bytearray(), len(self.chars)
        for i in _check_ids(ids):
            if i >= self.vocab_size:
                raise ValueError(f"id {i} is outside the vocabulary of {self.vocab_size}")
            if i >= base:
                pending.append(i - base)
                continue
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            out.append(self.chars[i])
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)


def pair_counts(ids, counts: Counter | None = None, weight: int = 1) -> Counter:
    """How often each adjacent pair occurs in ``ids`` (added, ``weight`` times, to ``counts``)."""
    ids = _check_ids(ids)
    if counts is not None and not isinstance(counts, Counter):
        raise TypeError(f"counts must be None or a collections.Counter to add to, got {type(counts).__name__}")
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise TypeError(f"weight must be an int, got {weight!r}")
    counts = Counter() if counts is None else counts
    for pair in pairwise(ids):
        counts[pair] += weight
    return counts


def merge_pair(ids, pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids``, left to right, with ``new_id``."""
    ids = _check_ids(ids)
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise TypeError(f"pair must be a tuple of two ids, got {pair!r}")
    if isinstance(new_id, bool) or not isinstance(new_id, int) or new_id < 0:
        raise TypeError(f"new_id must be a non-negative int, got {new_id!r}")
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def encode_with_merges(ids, merges: dict[tuple[int, int], int]) -> list[int]:
    """Apply learned ``merges`` (pair -> new id, in the order learned) to ``ids``.

    The merge learned first is applied first: at each step the pair present in ``ids``
    with the smallest new id is merged, until no learned pair is left.
    """
    ids = _check_ids(ids)
    if not isinstance(merges, dict):
        raise TypeError(f"merges must be a dict of (id, id) pair -> new id, got {type(merges).__name__}")
    while len(ids) > 1:
        present = {pair for pair in pairwise(ids) if pair in merges}
        if not present:
            break
        pair = min(present, key=merges.__getitem__)
        ids = merge_pair(ids, pair, merges[pair])
    return ids


def chunks(text: str) -> list[str]:
    """Cut ``text`` into the pieces BPE merges within (merges never cross them)."""
    return _CHUNK.findall(_check_text(text))


class BPETokenizer:
    """Byte-level BPE: ids 0-255 are bytes, id ``256 + i`` is the ``i``-th learned merge."""

    def __init__(self, merges: dict[tuple[int, int], int]):
        if not isinstance(merges, dict):
            raise TypeError(f"merges must be a dict of (id, id) pair -> new id, got {type(merges).__name__}")
        self.merges = dict(merges)
        self.vocab = {i: bytes([i]) for i in range(256)}
        for (a, b), new in self.merges.items():  # in the order learned
            if new != len(self.vocab) or a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merges must map known pairs to ids 256, 257, ... in order; got {(a, b)} -> {new}")
            self.vocab[new] = self.vocab[a] + self.vocab[b]
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        ids = []
        for chunk in chunks(text):
            cached = self._cache.get(chunk)
            if cached is None:
                cached = encode_with_merges(list(chunk.encode("utf-8")), self.merges)
                if len(self._cache) < 100_000:
                    self._cache[chunk] = cached
            ids.extend(cached)
        return ids

    def decode(self, ids) -> str:
        ids = _check_ids(ids)
        bad = [i for i in ids if i not in self.vocab]
        if bad:
            raise ValueError(f"ids {bad[:5]} are outside the vocabulary of {self.vocab_size}")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def token_strings(self, ids) -> list[str]:
        """Each token as text (bytes that are not valid UTF-8 on their own are shown escaped)."""
        ids = _check_ids(ids)
        bad = [i for i in ids if i not in self.vocab]
        if bad:
            raise ValueError(f"ids {bad[:5]} are outside the vocabulary of {self.vocab_size}")
        return [self.vocab[i].decode("utf-8", errors="backslashreplace") for i in ids]


def train_bpe(text: str, vocab_size: int) -> BPETokenizer:
    """Learn ``vocab_size - 256`` merges on ``text``: repeatedly merge the most frequent pair.

    Pairs are counted within chunks, each distinct chunk once times its frequency, which
    is what makes training fast. Ties go to the smallest pair. Training stops early when
    no pair occurs twice.
    """
    _check_text(text)
    if not isinstance(vocab_size, int) or vocab_size < 256:
        raise ValueError(f"vocab_size must be an int of at least 256 (the bytes), got {vocab_size!r}")
    words = {tuple(c.encode("utf-8")): n for c, n in Counter(chunks(text)).items()}
    merges: dict[tuple[int, int], int] = {}
    for new_id in range(256, vocab_size):
        counts = Counter()
        for word, n in words.items():
            pair_counts(word, counts, weight=n)
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        if counts[pair] < 2:
            break
        merges[pair] = new_id
        words = {tuple(merge_pair(word, pair, new_id)): n for word, n in words.items()}
    return BPETokenizer(merges)
