"""Fairy tales from a seeded probabilistic grammar, each with its exact probability.

Every story opens "Once upon a time in a faraway land, there was a ...", names a hero
and a quest, tells one or two episodes in which a creature meets the hero, and ends
with the hero finding the quest's object::

    Once upon a time in a faraway land, there was a king named Tom. Tom wanted the
    golden key. A wise owl helped Tom. A sly fox fooled Tom. Tom found the golden key
    and lived happily ever after.

The hero's name and the quest are chosen at the start and come back later, so a model
that sees only the last few characters cannot predict them: that is the long-range
structure a transformer can use and a bigram model cannot.

Why the probability is exact. The grammar is a program that makes random choices
(:func:`_derivation`), and a story's probability is the product of the probabilities
of its choices, *provided no other sequence of choices writes the same text*. The
options of every choice are written out right after it is made and no option is a
prefix of another, so the text determines every choice; :func:`count_derivations`
parses a text back by trying every option at every choice and counts the derivations,
and the tests check that each sampled story has exactly one. Hence
``-log2 p(story)`` is the story's information content and its average over many
stories, divided by their characters, is the true entropy of the text in bits per
character (:func:`true_entropy`).

Characters are counted with one end-of-story mark ``"\\n"`` per story, because a model
must also predict where a story ends. The hero's name starts at the same character in
every story (the roles and names have fixed lengths), which chapter 3 uses.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from ..validate import check_callable, check_id_lists, check_int, describe

STORY_START = "Once upon a time in a faraway land, there was a"
END = "\n"  # the end-of-story mark, counted as one character

ROLES = ("king", "girl", "monk", "bard", "cook", "maid", "duke", "poet")  # all 4 letters
NAMES = ("Ava", "Ben", "Cal", "Dan", "Eve", "Fay", "Gus", "Hal", "Ian", "Joy", "Kit", "Leo",
         "Mia", "Ned", "Oli", "Pam", "Rex", "Sam", "Tom", "Una", "Vic", "Wes", "Zoe")  # 3 letters
QUESTS = ("golden key", "lost crown", "magic lamp", "silver harp", "dragon egg", "blue feather",
          "red rose", "wooden flute")
CREATURES = ("wise owl", "sly fox", "gray wolf", "small mouse", "kind giant", "black cat",
             "tiny fairy", "brown bear")
DEEDS = ("helped", "fooled", "warned", "guided")
ENDINGS = ("lived happily ever after", "went home a hero", "became famous")
HERO_START = len(STORY_START) + len(" king named ")  # the character where the hero's name begins
LONGEST_STORY = (len(f"{STORY_START} king named Tom. Tom wanted the . ") + 2 * max(map(len, QUESTS))
                 + 2 * len(f"A {max(CREATURES, key=len)} {max(DEEDS, key=len)} Tom. ")
                 + len("Tom found the  and .") + max(map(len, ENDINGS)))  # characters, without the end mark


@dataclass(frozen=True)
class _Choice:
    options: tuple
    probs: tuple

    @property
    def cumulative(self) -> list[float]:
        return list(itertools.accumulate(self.probs))


def _uniform(options) -> _Choice:
    return _Choice(tuple(options), tuple([1.0 / len(options)] * len(options)))


def _derivation():
    """The grammar as a program: yields a :class:`_Choice` (and receives the chosen option)
    or a piece of text to write."""
    role = yield _uniform(ROLES)
    hero = yield _uniform(NAMES)
    yield f"{STORY_START} {role} named {hero}. "
    quest = yield _uniform(QUESTS)
    yield f"{hero} wanted the {quest}. "
    episodes = yield _Choice((1, 2), (0.5, 0.5))
    for _ in range(episodes):
        creature = yield _uniform(CREATURES)
        yield f"A {creature} "
        deed = yield _uniform(DEEDS)
        yield f"{deed} {hero}. "
    yield f"{hero} found the {quest} and "
    ending = yield _uniform(ENDINGS)
    yield f"{ending}."


@dataclass(frozen=True)
class Story:
    """One story: its text (without the end mark), log-probability in nats, hero and quest."""

    text: str
    log_prob: float
    hero: str
    quest: str

    @property
    def bits(self) -> float:
        """The story's information content, ``-log2 p(story)``."""
        return -self.log_prob / math.log(2)


def _sample_one(rng: random.Random) -> Story:
    program, text, log_prob, chosen = _derivation(), [], 0.0, []
    value = None
    try:
        while True:
            item = program.send(value)
            value = None
            if isinstance(item, _Choice):
                i = min(bisect.bisect_right(item.cumulative, rng.random()), len(item.options) - 1)
                value = item.options[i]
                log_prob += math.log(item.probs[i])
                chosen.append(value)
            else:
                text.append(item)
    except StopIteration:
        pass
    return Story("".join(text), log_prob, hero=chosen[1], quest=chosen[2])


def sample_stories(n: int, seed: int = 0) -> list[Story]:
    """``n`` stories drawn from the grammar with Python's Mersenne Twister seeded by ``seed``."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = random.Random(int(seed))
    return [_sample_one(rng) for _ in range(n)]


def _derivations(text: str, limit: int):
    """Every derivation (log-probability) of ``text``, found by depth-first search over
    choices; a branch ends as soon as its written text stops matching ``text``."""
    found = []

    def replay(choices):
        program, written, log_prob = _derivation(), 0, 0.0
        value, k = None, 0
        try:
            while True:
                item = program.send(value)
                value = None
                if isinstance(item, _Choice):
                    if k == len(choices):
                        return "choose", item, log_prob
                    i = choices[k]
                    value, k = item.options[i], k + 1
                    log_prob += math.log(item.probs[i])
                else:
                    if not text.startswith(item, written):
                        return "mismatch", None, None
                    written += len(item)
        except StopIteration:
            return ("done" if written == len(text) else "mismatch"), None, log_prob

    stack = [[]]
    while stack and len(found) < limit:
        choices = stack.pop()
        state, choice, log_prob = replay(choices)
        if state == "done":
            found.append(log_prob)
        elif state == "choose":
            stack.extend(choices + [i] for i in range(len(choice.options)))
    return found


def count_derivations(text: str, limit: int = 10) -> int:
    """How many ways the grammar can write ``text`` (0: not a story; 1: unambiguous)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return len(_derivations(text.removesuffix(END), check_int(limit, "limit", 1)))


def story_log_prob(text: str) -> float:
    """The exact log-probability (nats) of ``text`` under the grammar; -inf if it cannot
    be derived. A trailing end mark is ignored."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    found = _derivations(text.removesuffix(END), limit=2)
    if not found:
        return -math.inf
    return float(np.logaddexp.reduce(found))


def true_entropy(stories: list[Story]) -> tuple[float, float]:
    """The entropy of the story text in bits per character, and its standard error.

    The estimate is ``sum(bits) / sum(characters)`` over the stories (one end mark each);
    the standard error comes from the delta method for a ratio of means.
    """
    _check_stories(stories)
    if len(stories) < 2:
        raise ValueError(f"stories must hold at least 2 stories, got {len(stories)}")
    bits = np.array([s.bits for s in stories])
    chars = np.array([len(s.text) + len(END) for s in stories], dtype=float)
    rate = bits.sum() / chars.sum()
    residual = bits - rate * chars
    stderr = residual.std(ddof=1) / math.sqrt(len(stories)) / chars.mean()
    return float(rate), float(stderr)


def hero_of(text: str) -> str | None:
    """The hero named in a story's opening sentence, or None if the opening is not the grammar's."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a story's text (a str), got {describe(text)}")
    prefix = f"{STORY_START} "
    if not text.startswith(prefix) or " named " not in text[:HERO_START]:
        return None
    name = text[HERO_START:HERO_START + 3]
    return name if name in NAMES else None


def hero_recalled(text: str) -> bool:
    """True when the story names its hero again later, and every later name is the hero's."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a story's text (a str), got {describe(text)}")
    hero = hero_of(text)
    if hero is None:
        return False
    later = text[HERO_START + 3:]
    mentioned = [name for name in NAMES if name in later]
    return mentioned == [hero]


@dataclass
class StorySplits:
    """Train, validation and test stories, drawn from disjoint seeds."""

    train: list[Story]
    val: list[Story]
    test: list[Story]


def load_stories(n_train: int = 20_000, n_val: int = 1_000, n_test: int = 2_000, seed: int = 0) -> StorySplits:
    """Three splits from the seeds ``3 * seed``, ``3 * seed + 1`` and ``3 * seed + 2``.

    Identical stories can still occur in two splits (short stories repeat by chance);
    what matters is that no split is selected by looking at another.
    """
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    check_int(seed, "seed", 0)
    return StorySplits(sample_stories(n_train, 3 * seed), sample_stories(n_val, 3 * seed + 1),
                       sample_stories(n_test, 3 * seed + 2))


def _check_stories(stories) -> None:
    if not isinstance(stories, (list, tuple)) or not all(isinstance(s, Story) for s in stories):
        kinds = sorted({type(s).__name__ for s in stories}) if isinstance(stories, (list, tuple)) else []
        raise TypeError(f"stories must be a list of Story (from sample_stories or load_stories), got "
                        f"{describe(stories) if not kinds else 'a list of ' + ', '.join(kinds)}")


def story_rows(stories: list[Story], encode, block_size: int):
    """Stories as training rows that each start at a story's beginning: ``(x, y, lengths)``.

    Row ``i`` of ``x`` (N, block_size) is the end mark followed by story ``i``; ``y`` is
    ``x`` shifted by one (the story, then its end mark), padded with -1 where there is no
    target. ``encode(text) -> list[int]`` is the tokenizer; ``lengths`` counts targets.
    """
    _check_stories(stories)
    check_callable(encode, "encode", "the tokenizer's encode, text -> list of ids")
    return token_rows([encode(END + story.text + END) for story in stories], block_size, what="story")


def token_rows(sequences: list[list[int]], block_size: int, what: str = "sequence"):
    """Token sequences as next-token rows ``(x, y, lengths)``: ``x[i]`` is sequence ``i`` without its
    last token, ``y[i]`` without its first, both padded to ``block_size`` (``x`` with 0, ``y`` with -1)."""
    check_int(block_size, "block_size", 2)
    check_id_lists(sequences, "sequences", "wrap one sequence in a list, [ids]")
    x = torch.zeros(len(sequences), block_size, dtype=torch.long)
    y = torch.full((len(sequences), block_size), -1, dtype=torch.long)
    lengths = torch.zeros(len(sequences), dtype=torch.long)
    for i, ids in enumerate(sequences):
        n = len(ids) - 1
        if n > block_size:
            raise ValueError(f"{what} {i} needs {n} positions, more than block_size={block_size}")
        x[i, :n] = torch.tensor(ids[:-1])
        y[i, :n] = torch.tensor(ids[1:])
        lengths[i] = n
    return x, y, lengths
