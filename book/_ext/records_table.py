"""A Sphinx extension that turns the chapters' records into the results page.

Each chapter writes ``_build/records/<chapter>.json`` while it runs (``utils.record``). The
``records-table`` directive leaves a placeholder; the page is filled when it is written, after
every chapter has been read and so executed, and it is rebuilt on every build so that it always
shows the latest records. The page holds:

* a figure, drawn here by matplotlib as an inline SVG, of every promise's margin: its value over
  its threshold, oriented so that more than 1 means held with room to spare;
* one card per chapter, linked to the chapter and titled by its notebook's first heading: each
  promise with its metric, value, text and a held / not held mark, then the rest of the record
  (seconds, FLOPs, MFU, device, profile, the other metrics) folded in a ``<details>`` block.

A promise's mark comes from its text where the text is a comparison (``">= 0.90"``,
``"<= 1.10 x bpc_true = 0.1282"``, ``"< fd_gaussian and < fd_gmm"``): the recorded value is
compared with the threshold. Where the text says something no comparison can check (``"every entry
with a record of this setting equals it"``), the mark is the record's ``checked``: whether the
chapter's own assertion ran and held. The functions above :func:`setup` are pure and tested in
``tests/test_results_page.py``.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from book_html import add_static_path
from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from utils.paths import ROOT, records_dir
from utils.record import HELD, NOT_CHECKED, check_one_setting, load_records

HELD_MARK, NOT_HELD, UNCHECKED, RECORDED = "held", "not held", "not checked", "recorded"
MARKS = {HELD_MARK: "\u2713 held", NOT_HELD: "\u2717 not held", UNCHECKED: "\u2013 not checked",
         RECORDED: "\u00b7 recorded"}
# Words of a metric's key that read better spelled another way; every other word is kept as it is.
WORDS = {"fd": "FD", "gan": "GAN", "ddpm": "DDPM", "ddim": "DDIM", "ddim20": "DDIM-20", "bpc": "BPC",
         "mfu": "MFU", "mlp": "MLP", "hq": "high-quality share", "rougel": "ROUGE-L", "rouge1": "ROUGE-1",
         "rouge2": "ROUGE-2", "bleu": "BLEU", "lr": "logistic regression", "ddp": "DDP", "psnr": "PSNR",
         "sr": "super-resolution", "db": "(dB)", "hf": "Hugging Face", "ns": "non-saturating",
         "bf16": "bf16", "max": "max", "abs": "abs.", "mchars": "M chars", "per": "per", "s": "s",
         "seconds": "seconds", "lora": "LoRA", "eps": "\u03b5-model", "se": "std. error", "gpt": "GPT"}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_OPERATORS = {"<=": "<=", "\u2264": "<=", ">=": ">=", "\u2265": ">=", "<": "<", ">": ">", "==": "=", "=": "="}


def readable_metric(key: str) -> str:
    """A metric's key as a reader reads it: ``"bpc_gpt"`` -> ``"BPC GPT"``... no: ``"BPC gpt"``
    keeps words it does not know as they are, and spells the known ones (:data:`WORDS`)."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"key must be a metric's non-empty name, got {key!r}")
    words = [w for w in key.strip().split("_") if w]
    return " ".join(WORDS.get(w.lower(), w) for w in words)


def chapter_title(notebook: str | Path) -> str | None:
    """The first level-1 markdown heading (``# ...``) of a notebook, without markup; None if there is
    no such notebook or heading."""
    path = Path(notebook)
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return None
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else str(source)).splitlines():
            if line.startswith("# "):
                return re.sub(r"[`*_]", "", line[2:]).strip() or None
    return None


@dataclass
class Clause:
    """One comparison of a promise: ``value <op> threshold`` (``op`` one of ``< <= > >= =``), or
    ``op == "within"``: the value lies within ``tolerance`` (a fraction) of ``threshold``."""

    op: str
    threshold: float
    tolerance: float = 0.0

    def holds(self, value: float) -> bool:
        t = self.threshold
        if self.op == "within":
            return abs(value - t) <= self.tolerance * abs(t) * (1 + 1e-12)
        if self.op == "=":
            return math.isclose(value, t, rel_tol=1e-9, abs_tol=1e-12)
        return {"<": value < t, "<=": value <= t, ">": value > t, ">=": value >= t}[self.op]

    def margin(self, value: float) -> float | None:
        """How far the value is from failing, as a ratio: more than 1 held with room, 1 on the
        threshold, less than 1 not held (``inf`` where nothing is left to divide by, e.g. a value of 0
        under an upper bound); None where the ratio means nothing (a threshold of 0 or below)."""
        t = self.threshold
        if self.op == "within":
            allowed, off = self.tolerance * abs(t), abs(value - t)
            return math.inf if off == 0 else allowed / off
        if t <= 0 or value < 0:
            return None
        if self.op in (">", ">="):
            return value / t
        if self.op in ("<", "<="):
            return math.inf if value == 0 else t / value
        return 1.0 if self.holds(value) else min(value / t, t / value) if value > 0 else 0.0


@dataclass
class ParsedPromise:
    """A promise's text read as comparisons: ``clauses`` that can be checked against the value and
    ``unparsed``, the parts of the text that cannot (checked only by the chapter's own assertion).
    ``recorded_only`` marks a text that records a number without promising anything about it."""

    clauses: list[Clause] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    recorded_only: bool = False


def _threshold(expression: str, metrics: dict) -> float | None:
    """The number a comparison's right-hand side stands for: a number, a metric of the record,
    ``k x metric`` (computed from the record), or anything ending in ``= number`` (as written)."""
    expression = expression.strip()
    if re.fullmatch(_NUMBER, expression):
        return float(expression)
    if re.fullmatch(_NAME, expression) and isinstance(metrics.get(expression), (int, float)):
        return float(metrics[expression])
    scaled = re.fullmatch(rf"({_NUMBER})\s*[x\u00d7*]\s*({_NAME})(?:\s*=\s*{_NUMBER})?", expression)
    if scaled and isinstance(metrics.get(scaled[2]), (int, float)):
        return float(scaled[1]) * float(metrics[scaled[2]])
    written = re.fullmatch(rf".*=\s*({_NUMBER})", expression)
    return float(written[1]) if written else None


def parse_promise(text: str, metrics: dict | None = None) -> ParsedPromise:
    """Read a promise's text (as ``utils.record.record`` stores it) into comparisons.

    Parenthesised remarks are dropped; the rest is split at ``and``, commas and semicolons; each part
    that starts with a comparison (``<, <=, >, >=, =``) whose right-hand side :func:`_threshold`
    understands becomes a :class:`Clause`, ``within p % of ... N`` one of kind ``within``; any other
    part is kept in ``unparsed``. ``metrics`` (the record's) gives the values of metrics the text names.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the promise's text (a str), got {type(text).__name__} {text!r}")
    metrics = {} if metrics is None else metrics
    if not isinstance(metrics, dict):
        raise TypeError(f"metrics must be the record's dict of metric -> value, got {type(metrics).__name__}")
    parsed = ParsedPromise()
    stripped = text.strip()
    if re.match(r"recorded\b", stripped, flags=re.IGNORECASE):
        parsed.recorded_only = True
        return parsed
    while re.search(r"\([^()]*\)", stripped):
        stripped = re.sub(r"\s*\([^()]*\)", "", stripped)
    for part in re.split(r"\s+and\s+|[,;]", stripped):
        part = part.strip()
        if not part:
            continue
        compared = re.fullmatch(r"(<=|>=|==|\u2264|\u2265|<|>|=)\s*(.+)", part)
        within = re.fullmatch(rf"within\s+({_NUMBER})\s*%\s+of\b.*?({_NUMBER})", part)
        threshold = _threshold(compared[2], metrics) if compared else None
        if compared and threshold is not None:
            parsed.clauses.append(Clause(_OPERATORS[compared[1]], threshold))
        elif within:
            parsed.clauses.append(Clause("within", float(within[2]), float(within[1]) / 100))
        else:
            parsed.unparsed.append(part)
    return parsed


@dataclass
class PromiseRow:
    """One promise as the page shows it."""

    metric: str
    label: str
    value: float
    text: str
    status: str  # one of HELD_MARK, NOT_HELD, UNCHECKED, RECORDED
    compared: bool  # True: the mark compares the value with the text; False: it is the record's `checked`
    margin: float | None
    exact: bool = False  # a promise of equality (``= 8``) that holds: its margin is exactly 1


def judge(value: float, parsed: ParsedPromise, checked: str | None) -> tuple[str, bool, float | None]:
    """The mark of one promise: (status, compared, margin).

    Any comparison that fails makes it ``not held``. Where every comparison holds and nothing is
    left unparsed, it is ``held``. What cannot be compared takes the record's ``checked``:
    ``held`` when the chapter's assertion ran and held, ``not checked`` otherwise (a smoke run). The
    margin is the smallest of the comparisons' (the one closest to failing), None if none has one."""
    if parsed.recorded_only:
        return RECORDED, False, None
    margins = [m for m in (c.margin(value) for c in parsed.clauses) if m is not None]
    margin = min(margins) if margins else None
    if any(not c.holds(value) for c in parsed.clauses):
        return NOT_HELD, True, margin
    if parsed.clauses and not parsed.unparsed:
        return HELD_MARK, True, margin
    return (HELD_MARK if checked == HELD else UNCHECKED), False, margin


def promise_rows(record: dict) -> list[PromiseRow]:
    """Every promise of one record, in the order the chapter made them."""
    metrics = record.get("metrics", {})
    checked = record.get("checked", HELD) if not record.get("smoke") else NOT_CHECKED
    rows = []
    for name, text in (record.get("promises") or {}).items():
        if name not in metrics:
            continue
        value = float(metrics[name])
        parsed = parse_promise(text, metrics)
        status, compared, margin = judge(value, parsed, checked)
        exact = status == HELD_MARK and margin == 1.0 and any(c.op == "=" for c in parsed.clauses)
        rows.append(PromiseRow(name, readable_metric(name), value, text, status, compared, margin, exact))
    return rows


@dataclass
class ChapterCard:
    """One chapter's part of the page."""

    chapter: str
    title: str
    promises: list[PromiseRow]
    other_metrics: list[tuple[str, float]]
    record: dict

    @property
    def status(self) -> str:
        marks = {p.status for p in self.promises}
        for status in (NOT_HELD, UNCHECKED, HELD_MARK):
            if status in marks:
                return status
        return RECORDED


def chapter_cards(records: list[dict], titles: dict | None = None) -> list[ChapterCard]:
    """The records grouped into one card per chapter, in the records' order. ``titles`` maps a
    chapter to its title (its notebook's heading); a chapter without one is titled by its name."""
    titles = titles or {}
    cards = []
    for record in records:
        chapter = str(record.get("chapter", "?"))
        promises = promise_rows(record)
        promised = {p.metric for p in promises}
        others = [(k, v) for k, v in record.get("metrics", {}).items() if k not in promised]
        cards.append(ChapterCard(chapter, titles.get(chapter) or chapter.replace("_", " "), promises, others,
                                 record))
    return cards


def format_value(value: float) -> str:
    """A metric's value in at most 4 significant digits (integers as integers)."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


def margin_figure(cards: list[ChapterCard], clip: tuple[float, float] = (0.8, 4.0)) -> str | None:
    """An SVG (a string, ready to inline) with one dot per promise that has a margin, grouped by
    chapter: the value over its threshold on a log axis, 1 the threshold. Margins outside ``clip``
    are drawn at its edge as arrows. None when no promise has a margin."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    from matplotlib.transforms import blended_transform_factory

    lines = []  # (label, margin, status, exact): a chapter's heading has no margin
    for card in cards:
        dots = [p for p in card.promises if p.margin is not None]
        if dots:
            lines.append((card.chapter.replace("_", " "), None, None, None))
            lines.extend((p.label, p.margin, p.status, p.exact) for p in dots)
    if not lines:
        return None
    low, high = clip
    row = 0.26  # inches per line at 12 pt
    style = {"font.size": 12, "axes.labelsize": 12, "xtick.labelsize": 12, "ytick.labelsize": 12,
             "svg.fonttype": "none", "svg.hashsalt": "results"}
    with plt.rc_context(style):
        fig, ax = plt.subplots(figsize=(6.0, 0.8 + row * len(lines)), layout="constrained")
        ax.set_xscale("log")
        ax.set_xlim(low / 1.15, high * 1.15)
        ax.set_ylim(len(lines) - 0.4, -0.8)
        ax.axvspan(low / 1.15, 1.0, color="#d62728", alpha=0.08, lw=0)
        ax.axvline(1.0, color="0.3", lw=1.2)
        ticks, labels = [], []
        at_left = blended_transform_factory(fig.transFigure, ax.transData)
        for y, (label, margin, status, exact) in enumerate(lines):
            if margin is None:  # a chapter's heading, from the figure's left edge (not squeezed into the axes)
                ax.text(0.01, y, label, transform=at_left, fontweight="bold", va="center", ha="left",
                        in_layout=False)
                continue
            ticks.append(y)
            labels.append(label)
            ax.axhline(y, color="0.9", lw=0.8, zorder=0)
            shown = min(max(margin, low), high)
            marker = ">" if margin > high else "<" if margin < low else "D" if exact else "o"
            color = {HELD_MARK: "#2ca02c", NOT_HELD: "#d62728"}.get(status, "0.5")
            ax.plot([shown], [y], marker=marker, ms=7 if marker == "D" else 8, color=color, zorder=3)
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.set_yticklabels(labels)
        ax.tick_params(axis="y", length=0)
        ax.xaxis.set_major_locator(FixedLocator([t for t in (0.8, 1, 2, 4) if low <= t <= high]))
        ax.xaxis.set_minor_locator(FixedLocator([t for t in (0.9, 1.1, 1.25, 1.5, 3) if low <= t <= high]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(axis="x", which="both", color="0.88", lw=0.8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}\u00d7"))
        ax.set_xlabel("value \u00f7 threshold (> 1: held)")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
    svg = buffer.getvalue()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)
    return svg


# ---- Sphinx -------------------------------------------------------------------------------------------


class records_placeholder(nodes.General, nodes.Element):
    pass


class RecordsTable(SphinxDirective):
    def run(self):
        self.env.note_dependency(__file__)
        self.env.metadata[self.env.docname]["records_page"] = True
        return [records_placeholder()]


def _paragraph(*children, classes=()) -> nodes.paragraph:
    para = nodes.paragraph(classes=list(classes))
    for child in children:
        para += nodes.Text(child) if isinstance(child, str) else child
    return para


def _table(headers: list[str], rows: list[list], classes: list[str], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=w) for w in widths)
    head = nodes.thead()
    line = nodes.row()
    for text in headers:
        line += nodes.entry("", nodes.paragraph(text=text))
    head += line
    group += head
    body = nodes.tbody()
    for cells in rows:
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=str(cell))
            line += entry
        body += line
    group += body
    return table


def _mark(status: str, compared: bool) -> nodes.paragraph:
    text = MARKS[status] + ("" if compared or status != HELD_MARK else "*")
    return _paragraph(nodes.inline(text=text, classes=["results-mark", f"results-{status.replace(' ', '-')}"]))


def _title(card: ChapterCard, docname: str, env) -> nodes.Node:
    target = f"chapters/{card.chapter}"
    label = nodes.inline(text=card.title)
    if target not in env.all_docs:  # a record whose chapter is not in this book: its title, unlinked
        return _paragraph(label, classes=["results-card-title"])
    ref = addnodes.pending_xref("", label, refdomain="std", reftype="doc", reftarget=f"/{target}",
                                refexplicit=True, refwarn=True, refdoc=docname)
    return _paragraph(ref, classes=["results-card-title"])


def _details(card: ChapterCard) -> list[nodes.Node]:
    r = card.record
    facts = [("seconds (notebook, up to its record)", r.get("seconds")),
             ("GFLOP per training step", None if r.get("flops") is None else f"{r['flops'] / 1e9:.3g}"),
             ("MFU (model FLOPs utilisation)", None if r.get("mfu") is None else f"{r['mfu']:.2f}"),
             ("profile", r.get("profile")), ("device", r.get("device")), ("GPU", r.get("gpu")),
             ("precision", r.get("precision")), ("CPU threads", r.get("cpu_threads")), ("torch", r.get("torch"))]
    rows = [[k, str(v)] for k, v in facts if v is not None]
    rows += [[f"{readable_metric(k)} ({k})", format_value(v)] for k, v in card.other_metrics]
    summary = f"Details: time, FLOPs, device and {len(card.other_metrics)} more metrics"
    return [nodes.raw("", f'<details class="results-details"><summary>{html.escape(summary)}</summary>',
                      format="html"),
            _table(["", "value"], rows, ["results-detail-table"], [3, 1]),
            nodes.raw("", "</details>", format="html")]


def _card(card: ChapterCard, docname: str, env) -> nodes.container:
    box = nodes.container(classes=["results-card", f"results-card-{card.status.replace(' ', '-')}"])
    box += _title(card, docname, env)
    if card.promises:
        rows = [[_mark(p.status, p.compared), p.label, format_value(p.value), p.text] for p in card.promises]
        box += _table(["", "metric", "value", "promise"], rows, ["results-promises"], [2, 3, 2, 5])
    else:
        box += _paragraph("This chapter makes no promise here; its numbers are recorded below for comparison.",
                          classes=["results-none"])
    box.extend(_details(card))
    return box


def _summary(cards: list[ChapterCard]) -> nodes.paragraph:
    promises = [p for c in cards for p in c.promises if p.status != RECORDED]
    counts = {s: sum(p.status == s for p in promises) for s in (HELD_MARK, NOT_HELD, UNCHECKED)}
    first = cards[0].record
    where = f"profile {first.get('profile')} on {first.get('gpu') or first.get('device')}"
    text = (f"{len(cards)} chapters recorded ({where}, torch {first.get('torch')}): {len(promises)} promises, "
            f"{counts[HELD_MARK]} held, {counts[NOT_HELD]} not held"
            + (f", {counts[UNCHECKED]} not checked" if counts[UNCHECKED] else "") + ".")
    return _paragraph(text, classes=["results-summary"])


def _figure(cards: list[ChapterCard]) -> list[nodes.Node]:
    svg = margin_figure(cards)
    if svg is None:
        return []
    undrawn = [f"{p.label} ({c.chapter})" for c in cards for p in c.promises
               if p.margin is None and p.status != RECORDED]
    alt = ("Each promise's margin, grouped by chapter: its value over its threshold on a log axis, "
           "right of 1 held.")
    out = [nodes.raw("", f'<figure class="results-figure" role="img" aria-label="{html.escape(alt)}">'
                     f'<div class="results-figure-box">{svg}</div></figure>', format="html"),
           _paragraph("Where every chapter stands: one dot per promise, its value divided by its threshold (for an "
                      "upper bound, the threshold divided by the value), so that right of the line means held and "
                      "the distance says by how much. Arrows at an edge are further out than the axis. Green: held; "
                      "red: not held.", classes=["results-caption"])]
    if undrawn:
        out.append(_paragraph("Not drawn, because their threshold is zero or not a number (their marks are in the "
                              "cards below): " + ", ".join(undrawn) + ".", classes=["results-caption"]))
    return out


def _titles(srcdir: Path, records: list[dict]) -> dict:
    titles = {}
    for record in records:
        chapter = str(record.get("chapter", ""))
        for folder in (srcdir / "chapters", ROOT / "chapters"):
            title = chapter_title(folder / f"{chapter}.ipynb")
            if title:
                titles[chapter] = title
                break
    return titles


def page_nodes(records: list[dict], docname: str, env, srcdir: Path) -> list[nodes.Node]:
    """What replaces the directive: a plain note when there is nothing to show or the records mix
    settings, else the summary, the figure and one card per chapter."""
    if not records:
        return [_paragraph("No results yet: no chapter has been executed in this build. Run ",
                           nodes.literal(text="make book"), " (or ", nodes.literal(text="make test"),
                           ") to execute the chapters; each one records its numbers here.",
                           classes=["results-empty"])]
    try:
        check_one_setting(records)  # one profile, one kind of device, no smoke runs on one page
    except ValueError as mixed:
        return [_paragraph(f"No results shown: {mixed}", classes=["results-empty"])]
    cards = chapter_cards(records, _titles(srcdir, records))
    out = [_summary(cards), *_figure(cards)]
    out.extend(_card(card, docname, env) for card in cards)
    if any(not p.compared and p.status == HELD_MARK for c in cards for p in c.promises):
        out.append(_paragraph("* held by the chapter's own assertion: the promise's text is not a comparison this "
                              "page can check against the value.", classes=["results-caption"]))
    return out


class FillResults(SphinxPostTransform):
    """Fill the placeholder before references are resolved (ReferencesResolver runs at 10), so the
    chapters' links are ordinary doc references."""

    default_priority = 5

    def run(self, **kwargs):
        for placeholder in list(self.document.findall(records_placeholder)):
            folder = records_dir(smoke=False)  # never a smoke run's records
            records = load_records(folder) if folder.is_dir() else []
            placeholder.replace_self(page_nodes(records, self.env.docname, self.env, Path(self.app.srcdir)))


def _always_outdated(app, env, added, changed, removed):
    return [doc for doc, meta in env.metadata.items() if meta.get("records_page")]


def setup(app):
    app.add_node(records_placeholder)
    app.add_directive("records-table", RecordsTable)
    app.add_post_transform(FillResults)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("builder-inited", add_static_path)  # results.css lives in book/_static
    app.add_css_file("results.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
