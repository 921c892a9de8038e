"""A small Sphinx extension for the book's HTML: the book's own static files and style sheet
(``book/_static``, ``chapters.css``: printed output folds at the column), and each inline script
once per page.

Sphinx 7.4 adds again, when it starts writing, the inline scripts that extensions added after
the builder was made (sphinx-togglebutton's and sphinx-thebe's settings), once with the file
name None and once with ''. The copy of ``const THEBE_JS_URL = ...`` then fails in the browser
("Identifier 'THEBE_JS_URL' has already been declared"). This drops such duplicates from every
page. Sphinx 8 fixes it, but Jupyter Book 1 needs Sphinx 7.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "_static"  # book/_static


def add_static_path(app):
    """Serve ``book/_static`` (once, whichever of the book's extensions asks first)."""
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("builder-inited", add_static_path)
    app.add_css_file("chapters.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
