"""A JSON value as indented text, with the parts at some paths marked.

A miss is shown beside its nearest recordings with the paths that differ (`cassette/miss.py`'s
`Difference.path`: `contents[1].parts[0].text`, top-level `model`) highlighted in both. The
paths are spelled here as `miss.py` spells them (`join_path`), over a canonical request: its
top-level fields by name, its body's paths without the `body.` prefix.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from localaik.cassette.miss import join_path
from localaik.inspector.markup import Html, join, tag, text


def canonical_html(canon: Any, marked: Collection[str]) -> Html:
    """A canonical request with the values at `marked` paths highlighted."""
    if not isinstance(canon, dict):
        return value_html(canon, marked, "")
    items = []
    for name, value in canon.items():
        path = "" if name == "body" else name
        inner = value_html(value, marked, path, "  ")
        if name == "body" and "body" in marked:
            inner = tag("mark", inner, class_="differs")
        items.append(join(["  ", json.dumps(name), ": ", inner]))
    return _wrap("{", "}", items, "")


def value_html(value: Any, marked: Collection[str], path: str, indent: str = "") -> Html:
    """`value` as `json.dumps(indent=2)` writes it, the value at each path in `marked` marked."""
    if isinstance(value, dict) and value:
        deeper = indent + "  "
        items = [
            join(
                [
                    deeper,
                    json.dumps(name, ensure_ascii=False),
                    ": ",
                    value_html(item, marked, join_path(path, name), deeper),
                ]
            )
            for name, item in value.items()
        ]
        shown = _wrap("{", "}", items, indent)
    elif isinstance(value, list) and value:
        deeper = indent + "  "
        items = [
            join([deeper, value_html(item, marked, f"{path}[{index}]", deeper)])
            for index, item in enumerate(value)
        ]
        shown = _wrap("[", "]", items, indent)
    else:
        shown = text(json.dumps(value, ensure_ascii=False))
    if path and path in marked:
        return tag("mark", shown, class_="differs", data_path=path)
    return shown


def _wrap(opening: str, closing: str, items: list[Html], indent: str) -> Html:
    return join([opening, "\n", Html(",\n".join(items)), "\n", indent, closing])
