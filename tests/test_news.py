"""News articles from structured events: facts kept, checkable summaries, rows for training."""

import pytest
import torch

from utils.data.news import (
    END,
    SEPARATOR,
    fact_accuracy,
    facts_stated,
    load_news,
    news_rows,
    sample_articles,
    split_sentences,
)
from utils.gpt import GPT, GPTConfig, complete
from utils.tokenizer import CharTokenizer

ARTICLES = sample_articles(300, seed=0)


def test_sampling_is_seeded_and_splits_differ():
    assert sample_articles(20, seed=3) == sample_articles(20, seed=3)
    splits = load_news(n_train=50, n_val=20, n_test=20)
    assert not {a.text for a in splits.train} & {a.text for a in splits.test}
    with pytest.raises(ValueError, match="n_train"):
        load_news(n_train=0)
    with pytest.raises(ValueError, match="seed"):
        sample_articles(3, seed=-1)


def test_each_article_holds_its_event_and_a_distractor():
    for a in ARTICLES:
        e, d = a.event, a.distractor
        assert f"On {e.when}, {e.who} {e.action}." in a.text and e.where in a.text
        assert f"Last year, {d.who} {d.action} in {d.where}." in a.text
        assert d.number != e.number and d.where != e.where and d.who.split()[1] != e.who.split()[1]
        assert a.summary == f"{e.who} {e.action} in {e.where} on {e.when}."
        sentences = split_sentences(a.text)
        assert " ".join(sentences) == a.text and a.lead == sentences[0]
        core = next(i for i, s in enumerate(sentences) if s.startswith(f"On {e.when},"))
        place = next(i for i, s in enumerate(sentences) if e.where in s)
        assert core < place, "the place sentence refers back to the event"
    firsts = {split_sentences(a.text)[0].split()[0] for a in ARTICLES}
    assert len(firsts) > 3, "sentence order must vary, so the lead sentence is not always the event"


def test_facts_are_checked_exactly_and_the_distractor_counts_against():
    a = ARTICLES[0]
    e, d = a.event, a.distractor
    assert all(facts_stated(a.summary, e, d).values())
    wrong = facts_stated(f"{d.who} {e.action} in {d.where} on {e.when}.", e, d)
    assert not wrong["who"] and not wrong["where"] and wrong["number"] and wrong["when"]
    both = facts_stated(f"{e.who} {e.verb} {e.number} or {d.number} {e.thing} in {e.where} on {e.when}.", e, d)
    assert not both["number"], "hedging between the two numbers is not stating the fact"
    assert not facts_stated(a.summary.replace(str(e.number), str(e.number) + "0"), e)["number"]
    assert fact_accuracy([x.summary for x in ARTICLES], ARTICLES) == 1.0
    assert fact_accuracy([x.lead for x in ARTICLES], ARTICLES) < 0.05
    with pytest.raises(ValueError, match="one summary per article"):
        fact_accuracy(["x"], ARTICLES[:2])
    with pytest.raises(TypeError, match="summary must be a str"):
        facts_stated(None, e)


def test_rows_put_the_summary_after_the_prompt():
    tok = CharTokenizer.from_text("".join(a.text + SEPARATOR + a.target for a in ARTICLES) + END)
    x, y, starts = news_rows(ARTICLES[:5], tok.encode, 320)
    for i, a in enumerate(ARTICLES[:5]):
        n = int((y[i] >= 0).sum())
        assert tok.decode(x[i, :n].tolist()) == END + a.prompt + a.target[:-1]
        assert tok.decode(y[i, starts[i]:n].tolist()) == a.target
        assert tok.decode(y[i, :starts[i]].tolist()) == a.prompt
    with pytest.raises(ValueError, match="block_size"):
        news_rows(ARTICLES[:5], tok.encode, 40)


def test_complete_matches_one_prompt_at_a_time():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=32, n_layer=1, n_head=2, n_embd=16)).eval()
    prompts = [[1, 2, 3], [4, 5], [6, 7, 8], [9]]
    got = complete(model, prompts, 6, stop_token=0, temperature=0)
    for prompt, new in zip(prompts, got):
        alone = model.generate(torch.tensor([prompt]), 6, temperature=0, stop_token=0)[0, len(prompt):].tolist()
        assert new == (alone[:alone.index(0)] if 0 in alone else alone)
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        complete(model, [[1], []], 3)
