"""HTML building for the inspector: every value escaped on its way in, and the page frame.

A recording's bytes are untrusted (a prompt or an answer may hold `<script>`): they only ever
reach a page through `text` (escaped) or `attr` (escaped, quoted). `Html` marks markup built
here, so a builder can tell it from text and escape only the latter. The Content-Security-Policy
(`CSP`) forbids inline script and any script but the inspector's own file, so even markup that
slipped through could not run.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

PREFIX = "/_localaik"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class Html(str):
    """Markup built by the inspector (never text from a recording)."""


def text(value: Any) -> Html:
    """`value` as text inside an element: escaped (markup passes as it is)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def attr(value: Any) -> str:
    """`value` as an attribute's value, quoted."""
    return '"' + html.escape("" if value is None else str(value), quote=True) + '"'


def tag(element: str, /, *children: Any, **attributes: Any) -> Html:
    """`<element attributes>children</element>`; `class_` is `class`, `data_x` is `data-x`; a
    None or False attribute is left out, True is written bare."""
    parts = [element]
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f"{key}={attr(value)}")
    inner = "".join(text(child) for child in children)
    return Html(f"<{' '.join(parts)}>{inner}</{element}>")


def join(items: Iterable[Any]) -> Html:
    """Pieces one after another, text escaped."""
    return Html("".join(text(item) for item in items))


def pretty(value: Any) -> str:
    """A JSON value as indented text (to be escaped as any text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def table(head: Iterable[str], rows: Iterable[Iterable[Any]], **attributes: Any) -> Html:
    """A table with a header row."""
    header = tag("tr", join(tag("th", name) for name in head))
    body = join(tag("tr", join(tag("td", cell) for cell in row)) for row in rows)
    return tag("table", tag("thead", header), tag("tbody", body), **attributes)


NAV = (("Cassettes", "/"), ("This run", "/run"))


def page(title: str, *body: Any, live: bool = True) -> str:
    """A whole page: head (the inspector's own style and script), navigation, `body`.
    `live`: whether this inspector serves a run (`localaik serve`) to show."""
    links = [tag("a", name, href=PREFIX + path) for name, path in NAV if live or path != "/run"]
    return "<!doctype html>" + tag(
        "html",
        tag(
            "head",
            Html('<meta charset="utf-8">'),
            tag("title", f"{title} · localaik inspector"),
            Html(f'<link rel="stylesheet" href="{PREFIX}/static/inspector.css">'),
            Html(f'<script src="{PREFIX}/static/inspector.js" defer></script>'),
        ),
        tag(
            "body",
            tag("nav", tag("strong", "localaik inspector"), join(links)),
            tag("main", tag("h1", title), join(body)),
        ),
        lang="en",
    )
