"""A Sphinx extension that turns the chapters' records into the results page's table.

Each chapter writes ``_build/records/<chapter>.json`` while it runs (``utils.record``).
The ``records-table`` directive leaves a placeholder; the table is built when the page is
written, after every chapter has been read and so executed, and the page is rebuilt on
every build so that it always shows the latest records.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from utils.paths import records_dir
from utils.record import check_one_setting, load_records, summary_rows


class records_placeholder(nodes.General, nodes.Element):
    pass


class RecordsTable(SphinxDirective):
    def run(self):
        self.env.note_dependency(__file__)
        self.env.metadata[self.env.docname]["records_page"] = True
        return [records_placeholder()]


def _table(records: list[dict]) -> nodes.Node:
    headers = ["chapter", "metric", "value", "promise", "seconds", "GFLOP / step", "MFU", "profile", "device"]
    table = nodes.table(classes=["records-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in headers)

    def row(cells):
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(cell))
            line += entry
        return line

    head = nodes.thead()
    head += row(headers)
    group += head
    body = nodes.tbody()
    previous = None
    for r in summary_rows(records):
        first = r["chapter"] != previous  # the chapter's own columns only on its first row
        previous = r["chapter"]
        body += row([r["chapter"] if first else "", r["metric"], f"{r['value']:.4g}", r["promise"] or "",
                     r["seconds"] if first and r["seconds"] is not None else "",
                     f"{r['flops'] / 1e9:.3g}" if first and r["flops"] is not None else "",
                     f"{r['mfu']:.2f}" if first and r["mfu"] is not None else "",
                     r["profile"] if first and r["profile"] else "", r["device"] if first and r["device"] else ""])
    group += body
    return table


def _fill(app, doctree, docname):
    for placeholder in doctree.findall(records_placeholder):
        records = load_records(records_dir(smoke=False))  # never a smoke run's records
        try:
            check_one_setting(records)  # one profile, one kind of device, no smoke runs in one table
        except ValueError as mixed:
            placeholder.replace_self(nodes.paragraph(text=f"No table: {mixed}"))
            continue
        if records:
            placeholder.replace_self(_table(records))
        else:
            note = nodes.paragraph(text="No records yet: run `make book` or `make test` to execute the chapters.")
            placeholder.replace_self(note)


def _always_outdated(app, env, added, changed, removed):
    return [doc for doc, meta in env.metadata.items() if meta.get("records_page")]


def setup(app):
    app.add_node(records_placeholder)
    app.add_directive("records-table", RecordsTable)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
