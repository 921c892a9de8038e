"""Tables a reader compares: HTML in the book and in JupyterLab, aligned text in a terminal.

``table(rows, columns)`` returns a table object; left as a cell's last value it displays as an HTML table
that scrolls inside its own box when it is wider than the page (on a phone), never as fixed-width text cut
off at the right. Numbers are right-aligned and formatted per column.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Callable, Mapping, Sequence

from .validate import describe

_BOX = "overflow-x:auto;max-width:100%;margin:0.5em 0"
_TABLE = "border-collapse:collapse;font-size:0.9em;font-variant-numeric:tabular-nums"
_CELL = "padding:0.2em 0.7em;border-bottom:1px solid #ddd;white-space:nowrap"


class _Table:
    """Rows of cells under named columns; shown as HTML by Jupyter, as aligned text by ``print``."""

    def __init__(self, header: list[str], cells: list[list[str]], numeric: list[bool], caption: str | None):
        self.header, self.cells, self.numeric, self.caption = header, cells, numeric, caption

    def __len__(self) -> int:
        return len(self.cells)

    def _repr_html_(self) -> str:
        def cell(tag: str, text: str, right: bool) -> str:
            align = "right" if right else "left"
            return f'<{tag} style="{_CELL};text-align:{align}">{html.escape(text)}</{tag}>'

        caption = (f'<caption style="caption-side:top;text-align:left;font-weight:600">'
                   f"{html.escape(self.caption)}</caption>") if self.caption else ""
        head = "".join(cell("th", h, right) for h, right in zip(self.header, self.numeric))
        body = "".join("<tr>" + "".join(cell("td", c, right) for c, right in zip(row, self.numeric)) + "</tr>"
                       for row in self.cells)
        return (f'<div class="genai-table" style="{_BOX}"><table style="{_TABLE}">{caption}'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def __str__(self) -> str:
        widths = [max(len(h), *(len(row[i]) for row in self.cells)) if self.cells else len(h)
                  for i, h in enumerate(self.header)]

        def line(texts):
            return "  ".join(t.rjust(w) if right else t.ljust(w)
                             for t, w, right in zip(texts, widths, self.numeric)).rstrip()

        lines = ([self.caption] if self.caption else []) + [line(self.header), line("-" * w for w in widths)]
        return "\n".join(lines + [line(row) for row in self.cells])

    __repr__ = __str__


def _format(value, spec) -> str:
    if value is None:
        return ""
    if callable(spec):
        return str(spec(value))
    if spec:
        return format(value, spec)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(rows, columns: Sequence[str] | None = None, formats: Mapping[str, str | Callable] | None = None,
          caption: str | None = None) -> _Table:
    """A table of ``rows``: dicts (their keys name the columns, in the first row's order unless
    ``columns`` is given) or sequences (``columns`` names them, one name per cell). ``formats`` maps a
    column to a format spec (``".3f"``, ``",d"``, ``".1%"``) or a function of the value; ``None`` is an
    empty cell."""
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a list of dicts or of sequences, got {describe(rows)}")
    if not rows:
        raise ValueError("rows must hold at least one row, got an empty list")
    if columns is not None and (isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence)
                                or not all(isinstance(c, str) for c in columns)):
        raise TypeError(f"columns must be a list of column names (str), got {describe(columns)}")
    if formats is not None and not isinstance(formats, Mapping):
        raise TypeError(f"formats must be a dict of column name -> format spec, got {describe(formats)}")
    formats = dict(formats or {})
    if isinstance(rows[0], Mapping):
        header = list(columns) if columns is not None else list(rows[0])
        values = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise TypeError(f"rows[{i}] must be a dict like rows[0], got {describe(row)}")
            missing = [c for c in header if c not in row]
            if missing:
                raise ValueError(f"rows[{i}] has no value for column(s) {missing}; it has {list(row)}")
            values.append([row[c] for c in header])
    else:
        if columns is None:
            raise ValueError("columns must name the cells when rows are sequences, for example "
                             "columns=['model', 'loss']")
        header = list(columns)
        values = []
        for i, row in enumerate(rows):
            if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
                raise TypeError(f"rows[{i}] must be a sequence of cells, got {describe(row)}")
            if len(row) != len(header):
                raise ValueError(f"rows[{i}] has {len(row)} cells, but columns names {len(header)}: {header}")
            values.append(list(row))
    unknown = [c for c in formats if c not in header]
    if unknown:
        raise ValueError(f"formats names column(s) {unknown} that the table does not have; it has {header}")
    for column, spec in formats.items():
        if not (isinstance(spec, str) or callable(spec)):
            raise TypeError(f"formats[{column!r}] must be a format spec such as '.3f' or a function, got "
                            f"{describe(spec)}")
    cells = []
    for i, row in enumerate(values):
        try:
            cells.append([_format(v, formats.get(c)) for c, v in zip(header, row)])
        except (ValueError, TypeError) as error:
            raise ValueError(f"rows[{i}]: a value does not fit its column's format: {error}") from None
    numeric = [all(isinstance(row[j], numbers.Number) and not isinstance(row[j], bool)
                   for row in values if row[j] is not None) and any(row[j] is not None for row in values)
               for j in range(len(header))]
    return _Table(header, cells, numeric, caption)
