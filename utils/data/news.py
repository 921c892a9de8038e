"""Short news articles written from structured events, each with a reference summary.

An event fixes five facts: who (a person), what they did (an action and a number of
things), where (a town) and when (a weekday). The article spreads them over sentences
in a random order, among a quotation, a filler sentence and a *distractor*: a second,
older event with another person, number and town::

    Last year, Ben Stone planted 31 trees in Hillview. On Friday, Mia Grant opened 12
    new parks. "We are proud of this work," Grant said. The work was done in Riverton.

    reference summary: Mia Grant opened 12 new parks in Riverton on Friday.

Because the event is kept, whether a summary states the right facts can be checked
exactly (:func:`fact_accuracy`), and the distractor makes the check meaningful: a model
that copies the first name or number it sees gets facts wrong. The lead-sentence
baseline (the first sentence of the article) is right only when the event happens to
come first, and even then lacks the place.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np
import torch

from ..validate import check_callable, check_int, describe
from .stories import token_rows

FIRST_NAMES = ("Ava", "Ben", "Cal", "Dan", "Eve", "Fay", "Gus", "Hal", "Ian", "Joy", "Kit", "Leo",
               "Mia", "Ned", "Oli", "Pam", "Rex", "Sam", "Tom", "Una", "Vic", "Wes", "Zoe")
LAST_NAMES = ("Stone", "Grant", "Parker", "Reed", "Hale", "Moss", "Ford", "Lane", "Cole", "Wade", "Nash", "Price")
ACTIONS = (("opened", "new parks"), ("planted", "trees"), ("hired", "teachers"), ("repaired", "bridges"),
           ("donated", "computers"), ("rescued", "dogs"), ("built", "houses"), ("sold", "paintings"))
TOWNS = ("Riverton", "Lakeside", "Hillview", "Oakdale", "Fairport", "Brookfield", "Elmwood", "Westbury",
         "Redcliff", "Millbrook")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FILLERS = ("The weather was mild.", "Many people came to watch.", "Local shops stayed open late.",
           "The news spread quickly.", "Some roads were closed for the day.")
PLACE_SENTENCES = ("The work was done in {where}.", "It all happened in {where}.", "{where} welcomed the news.")
QUOTES = ('"We are proud of this work," {last} said.', '"This is only the start," {last} said.')
SEPARATOR = " TL;DR:"  # between article and summary, the prompt GPT-2 used for summaries
END = "\n"  # the end-of-text mark, as in the stories
FACTS = ("who", "action", "number", "where", "when")


@dataclass(frozen=True)
class Event:
    """The five facts of one event."""

    who: str
    verb: str
    thing: str
    number: int
    where: str
    when: str

    @property
    def action(self) -> str:
        return f"{self.verb} {self.number} {self.thing}"


@dataclass(frozen=True)
class Article:
    """An article, its reference summary, its event and the distractor event in it."""

    text: str
    summary: str
    event: Event
    distractor: Event

    @property
    def lead(self) -> str:
        """The lead-sentence baseline: the article's first sentence."""
        return split_sentences(self.text)[0]

    @property
    def prompt(self) -> str:
        """What a model is given: the article and the separator."""
        return self.text + SEPARATOR

    @property
    def target(self) -> str:
        """What a model should continue the prompt with: a space, the summary, the end mark. (The
        space starts the summary's first word, as a byte-pair tokenizer attaches spaces to words.)"""
        return " " + self.summary + END


def split_sentences(text: str) -> list[str]:
    """Sentences end with '.' (or '.,"' inside a quote, which does not end one)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    return [s for s in re.split(r'(?<=\.)\s+(?=[A-Z"])', text.strip()) if s]


def _event(rng: random.Random, avoid: Event | None = None) -> Event:
    while True:
        verb, thing = rng.choice(ACTIONS)
        event = Event(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", verb, thing, rng.randint(2, 99),
                      rng.choice(TOWNS), rng.choice(DAYS))
        if avoid is None or (event.who.split()[1] != avoid.who.split()[1] and event.who != avoid.who
                             and event.number != avoid.number and event.where != avoid.where):
            return event


def _sample_one(rng: random.Random) -> Article:
    event = _event(rng)
    other = _event(rng, avoid=event)
    # The distractor does the same kind of thing, so the action alone does not tell them apart.
    other = Event(other.who, event.verb, event.thing, other.number, other.where, other.when)
    core = f"On {event.when}, {event.who} {event.action}."
    place = rng.choice(PLACE_SENTENCES).format(where=event.where)
    distractor = f"Last year, {other.who} {other.action} in {other.where}."
    extras = [distractor, rng.choice(FILLERS)]
    if rng.random() < 0.5:
        extras.append(rng.choice(QUOTES).format(last=event.who.split()[1]))
    sentences = [core, place, *extras]
    rng.shuffle(sentences)
    # The place sentence refers back to the event, so it comes after the core sentence.
    if sentences.index(place) < sentences.index(core):
        i, j = sentences.index(place), sentences.index(core)
        sentences[i], sentences[j] = sentences[j], sentences[i]
    summary = f"{event.who} {event.action} in {event.where} on {event.when}."
    return Article(" ".join(sentences), summary, event, other)


def sample_articles(n: int, seed: int = 0) -> list[Article]:
    """``n`` articles drawn with Python's Mersenne Twister seeded by ``seed``."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = random.Random(int(seed) * 7919 + 1)  # not the stream of the stories with the same seed
    return [_sample_one(rng) for _ in range(n)]


@dataclass
class NewsSplits:
    """Train, validation and test articles, drawn from disjoint seeds."""

    train: list[Article]
    val: list[Article]
    test: list[Article]


def load_news(n_train: int = 8_000, n_val: int = 200, n_test: int = 500, seed: int = 0) -> NewsSplits:
    """Three splits from the seeds ``3 * seed``, ``3 * seed + 1`` and ``3 * seed + 2``."""
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    check_int(seed, "seed", 0)
    return NewsSplits(sample_articles(n_train, 3 * seed), sample_articles(n_val, 3 * seed + 1),
                      sample_articles(n_test, 3 * seed + 2))


def facts_stated(summary: str, event: Event, distractor: Event | None = None) -> dict[str, bool]:
    """Which of the five facts ``summary`` states correctly.

    A fact counts when its exact words appear in the summary (the number as a whole word)
    and, if a ``distractor`` is given, the distractor's different value for it does not.
    """
    if not isinstance(summary, str):
        raise TypeError(f"summary must be a str, got {type(summary).__name__}")
    if not isinstance(event, Event):
        raise TypeError(f"event must be an Event (an article's .event), got {describe(event)}")
    if distractor is not None and not isinstance(distractor, Event):
        raise TypeError(f"distractor must be None or an Event (an article's .distractor), got {describe(distractor)}")
    words = set(re.findall(r"[A-Za-z]+|\d+", summary))

    def has(text: str) -> bool:
        return re.search(rf"(?<![A-Za-z0-9]){re.escape(text)}(?![A-Za-z0-9])", summary) is not None

    right = {"who": has(event.who), "action": has(event.verb) and has(event.thing),
             "number": str(event.number) in words, "where": event.where in words, "when": event.when in words}
    if distractor is not None:
        wrong = {"who": distractor.who.split()[1] in words, "number": str(distractor.number) in words,
                 "where": distractor.where in words, "when": distractor.when != event.when and distractor.when in words}
        right = {k: v and not wrong.get(k, False) for k, v in right.items()}
    return right


def fact_accuracy(summaries: list[str], articles: list[Article]) -> float:
    """The share of summaries that state all five facts of their event correctly."""
    _check_articles(articles)
    if isinstance(summaries, str) or not isinstance(summaries, (list, tuple)) \
            or not all(isinstance(s, str) for s in summaries):
        raise TypeError(f"summaries must be a list of strings, one per article, got {describe(summaries)}")
    if len(summaries) != len(articles) or not articles:
        raise ValueError(f"need one summary per article, got {len(summaries)} summaries for {len(articles)} articles")
    right = [all(facts_stated(s, a.event, a.distractor).values()) for s, a in zip(summaries, articles)]
    return sum(right) / len(articles)


def _check_articles(articles) -> None:
    if not isinstance(articles, (list, tuple)) or not all(isinstance(a, Article) for a in articles):
        raise TypeError(f"articles must be a list of Article (from sample_articles or load_news), got "
                        f"{describe(articles) if not isinstance(articles, (list, tuple)) else 'a list holding other things'}")


def news_rows(articles: list[Article], encode, block_size: int):
    """Articles as training rows ``(x, y, starts)``: the text is ``END + article + SEPARATOR``
    (the prompt), then `` summary`` and ``END``; ``y`` is ``x`` shifted by one, -1 after the end; ``starts[i]`` is the
    position in ``y`` of the first summary target, so that a loss can count the summary only."""
    _check_articles(articles)
    check_callable(encode, "encode", "the tokenizer's encode, text -> list of ids")
    prompts = [encode(END + article.prompt) for article in articles]
    x, y, _ = token_rows([p + encode(a.target) for p, a in zip(prompts, articles)], block_size, what="article")
    starts = torch.tensor([len(p) - 1 for p in prompts], dtype=torch.long)  # y[start]: the summary's first token
    return x, y, starts
