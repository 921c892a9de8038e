"""The results page's extension (book/_ext/records_table.py): reading promises, marking them held or
not held, grouping records into chapter cards, the margin figure, and the page's nodes when there are
no records or the records mix settings. No Sphinx build is needed."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))

import records_table as rt  # noqa: E402

from utils.record import HELD, NOT_CHECKED  # noqa: E402


def record(chapter="03_transformer", metrics=None, promises=None, checked=HELD, **extra):
    entry = {"chapter": chapter, "profile": "cpu", "device": "cpu", "gpu": None, "torch": "2.13.0", "smoke": False,
             "seconds": 12.5, "metrics": metrics or {"bpc_gpt": 0.12, "bpc_true": 0.1166, "hero_recall": 0.97},
             "promises": promises if promises is not None else {"bpc_gpt": "<= 1.10 x bpc_true = 0.1282",
                                                                 "hero_recall": ">= 0.90"}}
    if entry["promises"]:
        entry["checked"] = checked
    entry.update(extra)
    return entry


# ---- names and titles -------------------------------------------------------------------------------


@pytest.mark.parametrize("key, name", [
    ("bpc_gpt", "BPC GPT"), ("hero_recall", "hero recall"), ("fd_gan_digits", "FD GAN digits"),
    ("rougeL_finetuned", "ROUGE-L finetuned"), ("caption_accuracy_seen_w0.5", "caption accuracy seen w0.5"),
    ("sr_psnr_gain_db", "super-resolution PSNR gain (dB)"),
])
def test_readable_metric(key, name):
    assert rt.readable_metric(key) == name


def test_readable_metric_refuses_an_empty_name():
    with pytest.raises(ValueError, match="key"):
        rt.readable_metric("  ")


def test_chapter_title_is_the_notebooks_first_heading(tmp_path):
    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["# a comment, not a heading\n"]},
        {"cell_type": "markdown", "source": ["Some words\n", "## A section\n"]},
        {"cell_type": "markdown", "source": ["# The `GPT` chapter\n", "text"]},
        {"cell_type": "markdown", "source": "# A later heading"}]}))
    assert rt.chapter_title(notebook) == "The GPT chapter"
    assert rt.chapter_title(tmp_path / "missing.ipynb") is None
    (tmp_path / "bad.ipynb").write_text("not json")
    assert rt.chapter_title(tmp_path / "bad.ipynb") is None


def test_every_chapter_notebook_has_a_title():
    chapters = sorted((Path(rt.ROOT) / "chapters").glob("*.ipynb"))
    assert chapters, "no chapter notebooks found"
    untitled = [p.name for p in chapters if not rt.chapter_title(p)]
    assert not untitled, f"chapters without a '# ' heading to title their card: {untitled}"


# ---- parsing promise texts -----------------------------------------------------------------------------


def clauses(text, metrics=None):
    parsed = rt.parse_promise(text, metrics)
    return [(c.op, pytest.approx(c.threshold), c.tolerance) for c in parsed.clauses], parsed.unparsed


@pytest.mark.parametrize("text, expected", [
    ("<= 1e-4", [("<=", 1e-4)]),
    (">= 0.90", [(">=", 0.90)]),
    ("> 0 (the mean of 4 samples against bicubic)", [(">", 0.0)]),
    ("= 8 (fewest over 3 seeds, best remedy)", [("=", 8.0)]),
    (">= 0.35 (CPU, 2 threads)", [(">=", 0.35)]),
    (">= average face + 0.2 = 0.479", [(">=", 0.479)]),
    ("<= 1.25 x fd_ddpm_digits = 19.2 (20 steps, eta = 1)", [("<=", 19.2)]),  # no such metric: as written
    ("\u2264 0.5", [("<=", 0.5)]),
])
def test_parse_comparisons(text, expected):
    found, unparsed = clauses(text)
    assert found == [(op, pytest.approx(t), 0.0) for op, t in expected]
    assert unparsed == []


def test_parse_computes_thresholds_from_the_records_metrics():
    metrics = {"bpc_true": 0.11657944, "fd_gaussian": 27.15, "fd_gmm": 32.34}
    # the exact product, not the rounded number the text prints
    found, _ = clauses("<= 1.10 x bpc_true = 0.1282", metrics)
    assert found == [("<=", pytest.approx(1.10 * 0.11657944), 0.0)]
    found, _ = clauses("< fd_gaussian and < fd_gmm", metrics)
    assert found == [("<", pytest.approx(27.15), 0.0), ("<", pytest.approx(32.34), 0.0)]


def test_parse_keeps_what_it_cannot_read():
    found, unparsed = clauses(">= 2.5 and within 2 % of Hugging Face's 2.886")
    assert found == [(">=", pytest.approx(2.5), 0.0), ("within", pytest.approx(2.886), pytest.approx(0.02))]
    assert unparsed == []
    found, unparsed = clauses("= 7, every entry finite")
    assert found == [("=", pytest.approx(7.0), 0.0)] and unparsed == ["every entry finite"]
    found, unparsed = clauses("every entry with a record of this setting equals it (rel. 1e-06)")
    assert found == [] and unparsed == ["every entry with a record of this setting equals it"]
    found, unparsed = clauses("> unknown_metric")  # a name the record does not hold
    assert found == [] and unparsed == ["> unknown_metric"]


def test_parse_recorded_only_and_bad_input():
    assert rt.parse_promise("recorded; sacrebleu nrefs:1|case:mixed").recorded_only
    with pytest.raises(TypeError, match="text"):
        rt.parse_promise(0.5)
    with pytest.raises(TypeError, match="metrics"):
        rt.parse_promise(">= 1", metrics=[1])


# ---- marking held / not held, margins -----------------------------------------------------------------


@pytest.mark.parametrize("text, value, status, compared", [
    (">= 0.90", 0.95, rt.HELD_MARK, True),
    (">= 0.90", 0.85, rt.NOT_HELD, True),
    ("<= 1e-4", 2e-4, rt.NOT_HELD, True),
    ("< 1", 1.0, rt.NOT_HELD, True),
    ("= 8", 8.0, rt.HELD_MARK, True),
    ("= 8", 7.0, rt.NOT_HELD, True),
    (">= 2.5 and within 2 % of HF's 2.886", 2.95, rt.NOT_HELD, True),  # 2.2 % off
    (">= 2.5 and within 2 % of HF's 2.886", 2.90, rt.HELD_MARK, True),
    ("= 7, every entry finite", 7.0, rt.HELD_MARK, False),  # the rest: the chapter's own assertion
    ("= 7, every entry finite", 6.0, rt.NOT_HELD, True),  # a comparison that fails outweighs `checked`
    ("every entry equals its record", 2.0, rt.HELD_MARK, False),
    ("recorded; sacrebleu signature", 97.0, rt.RECORDED, False),
])
def test_judge(text, value, status, compared):
    assert rt.judge(value, rt.parse_promise(text), HELD)[:2] == (status, compared)


def test_judge_without_an_assertion_says_not_checked():
    parsed = rt.parse_promise("every entry equals its record")
    assert rt.judge(1.0, parsed, NOT_CHECKED)[0] == rt.UNCHECKED
    assert rt.judge(1.0, parsed, None)[0] == rt.UNCHECKED


@pytest.mark.parametrize("text, value, margin", [
    (">= 0.9", 0.99, 1.1),
    ("<= 0.2", 0.1, 2.0),  # an upper bound: threshold over value
    ("<= 0.2", 0.4, 0.5),
    ("<= 1e-6", 0.0, math.inf),
    ("= 8", 8.0, 1.0),
    ("> 0", 0.6, None),  # nothing to divide by
    ("every entry equals its record", 1.0, None),
    ("> 1 and > 2", 3.0, 1.5),  # the clause closest to failing
    ("within 2 % of 10", 10.1, 2.0),
])
def test_margin(text, value, margin):
    found = rt.judge(value, rt.parse_promise(text), HELD)[2]
    assert found == (margin if margin is None or math.isinf(margin) else pytest.approx(margin))


# ---- grouping into cards -----------------------------------------------------------------------------


def test_chapter_cards_group_each_records_promises_and_other_metrics():
    records = [record(), record("09_text_to_image", {"final_loss": 0.03}, {}),
               record("04_gans", {"modes": 7.0, "hq": 0.95}, {"modes": "= 8", "hq": ">= 0.9"})]
    cards = rt.chapter_cards(records, {"03_transformer": "Attention and the transformer"})
    assert [c.chapter for c in cards] == ["03_transformer", "09_text_to_image", "04_gans"]
    first, second, third = cards
    assert first.title == "Attention and the transformer" and second.title == "09 text to image"
    assert [p.metric for p in first.promises] == ["bpc_gpt", "hero_recall"]
    assert [p.label for p in first.promises] == ["BPC GPT", "hero recall"]
    assert [k for k, _ in first.other_metrics] == ["bpc_true"]
    assert first.status == rt.HELD_MARK
    assert second.promises == [] and second.status == rt.RECORDED
    assert third.status == rt.NOT_HELD and [p.status for p in third.promises] == [rt.NOT_HELD, rt.HELD_MARK]


def test_a_smoke_record_is_never_marked_held_by_its_checked():
    smoke = record(promises={"hero_recall": "every story names its hero"}, checked=NOT_CHECKED, smoke=True)
    assert rt.promise_rows(smoke)[0].status == rt.UNCHECKED


def test_exact_equality_is_flagged_for_the_figure():
    rows = rt.promise_rows(record("04_gans", {"modes": 8.0}, {"modes": "= 8"}))
    assert rows[0].exact and rows[0].margin == 1.0


@pytest.mark.parametrize("value, text", [(8.0, "8"), (0.96444, "0.9644"), (8.68e-10, "8.68e-10"), (97.777, "97.78")])
def test_format_value(value, text):
    assert rt.format_value(value) == text


# ---- the figure and the page ------------------------------------------------------------------------


def test_margin_figure_is_an_svg_with_one_label_per_promise():
    records = [record(), record("04_gans", {"modes": 8.0, "hq": 0.5, "x": 0.2}, {"modes": "= 8", "hq": ">= 0.9",
                                                                               "x": "> 0"})]
    svg = rt.margin_figure(rt.chapter_cards(records))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "<metadata>" not in svg
    for text in ("BPC GPT", "hero recall", "modes", "high-quality share", "03 transformer", "04 gans"):
        assert f">{text}<" in svg, f"{text!r} is not labelled in the figure"
    all_held = rt.margin_figure(rt.chapter_cards(records[:1]))
    assert svg.count("#d62728") > all_held.count("#d62728"), "the promise that is not held is not drawn in red"
    assert ">x<" not in svg  # a threshold of 0 gives no margin to draw
    width = float(svg.split('width="', 1)[1].split("pt", 1)[0])
    assert width <= 7 * 72, "the figure is wider than 7 inches"
    sizes = {float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)}
    assert sizes and min(sizes) >= 10, f"text smaller than 10 pt in the figure: {sorted(sizes)}"


def test_margin_figure_without_margins_is_none():
    assert rt.margin_figure(rt.chapter_cards([record(promises={})])) is None


def texts(found):
    return " ".join(node.astext() for node in found)


def test_page_without_records_says_so_plainly():
    found = rt.page_nodes([], "book/results", env=None, srcdir=Path("."))
    assert "No results yet" in texts(found) and "make book" in texts(found)


def test_page_refuses_mixed_settings_with_the_records_own_message():
    mixed = [record(), record("04_gans", profile="gpu", device="cuda")]
    found = rt.page_nodes(mixed, "book/results", env=None, srcdir=Path("."))
    assert len(found) == 1
    assert "mix profiles, devices or smoke runs" in texts(found) and "make bench" in texts(found)


class _Env:
    all_docs = {"chapters/03_transformer": 0}


def test_page_links_known_chapters_and_marks_every_promise():
    from docutils import nodes
    from sphinx import addnodes

    records = [record(), record("99_gone", {"a": 1.0}, {"a": ">= 2"})]
    found = rt.page_nodes(records, "book/results", env=_Env(), srcdir=Path(rt.ROOT))
    text = texts(found)
    assert "2 chapters recorded" in text and "3 promises, 2 held, 1 not held" in text
    refs = [n for part in found for n in part.findall(addnodes.pending_xref)]
    assert [r["reftarget"] for r in refs] == ["/chapters/03_transformer"]  # 99_gone has no page: no link
    assert refs[0]["refdoc"] == "book/results" and refs[0].astext().startswith("Attention")
    marks = [n.astext() for part in found for n in part.findall(nodes.inline) if "results-mark" in n["classes"]]
    assert marks == ["\u2713 held", "\u2713 held", "\u2717 not held"]
    assert any(isinstance(n, nodes.raw) and "<details" in n.astext() for part in found for n in part.findall(nodes.raw))
