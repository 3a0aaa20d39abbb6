"""The cassettes page and a recording's page (sync: the app calls them off the event loop).

The cassettes page lists every recording of every cassette with what `cassette ls` cannot
show at a glance (whether this run used it, and the text of its prompt and answer to filter
on); a recording's page shows it as its client sent and received it (`server/client_view.py`,
the translation a replay runs), the stream as a timeline, the upstream exchange as stored, and
where it came from. Nothing here writes.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from localaik.cassette.recording import Recording
from localaik.inspector.catalog import Catalog, Filters, Row
from localaik.inspector.conversation import conversation
from localaik.inspector.markup import PREFIX, Html, join, page, pretty, table, tag
from localaik.inspector.timeline import timeline
from localaik.server.client_view import client_views


def recording_href(cassette: str, key: str, ordinal: int) -> str:
    query = urlencode({"cassette": cassette, "key": key, "ordinal": ordinal})
    return f"{PREFIX}/recording?{query}"


def cassettes_page(catalog: Catalog, filters: Filters) -> str:
    """Every cassette and its recordings, narrowed by `filters`."""
    listing = [(path, catalog.rows(path)) for path in catalog.cassettes()]
    families = sorted({row.family for _, rows in listing for row in rows})
    sections = []
    for path, rows in listing:
        kept = [row for row in rows if filters.keeps(row)]
        head = f"{catalog.name(path)}: {len(kept)} of {len(rows)} recordings"
        sections.append(
            tag(
                "section",
                tag("h2", head),
                _rows_table(kept, catalog.live) if kept else tag("p", "None shown."),
                class_="cassette",
            )
        )
    if not listing:
        sections.append(tag("p", f"No cassettes in {catalog.root}."))
    return page("Cassettes", _filter_form(filters, families), join(sections), live=catalog.live)


def _filter_form(filters: Filters, families: list[str]) -> Html:
    options = [tag("option", "any family", value="")] + [
        tag("option", name, value=name, selected=name == filters.family) for name in families
    ]
    return tag(
        "form",
        tag("label", "Family ", tag("select", join(options), name="family")),
        tag("label", "Model ", Html(_input("model", filters.model))),
        tag("label", "Text ", Html(_input("q", filters.text, "in the prompt or the answer"))),
        tag("button", "Filter", type="submit"),
        method="get",
        action=f"{PREFIX}/",
        class_="filters",
    )


def _input(name: str, value: str, hint: str = "") -> str:
    return str(tag("input", name=name, value=value, placeholder=hint or None)).replace(
        "></input>", ">"
    )


def _rows_table(rows: list[Row], live: bool) -> Html:
    head = ["family", "operation", "model", "stream", "status", "size", "recorded"]
    head += ["this run", "last used", "prompt", ""] if live else ["last used", "prompt", ""]
    body = []
    for row in rows:
        cells: list[object] = [
            row.family,
            row.operation,
            row.model or "",
            "stream" if row.stream else "",
            row.status,
            f"{row.size:,} B",
            row.recorded_at,
        ]
        if live:
            cells.append(tag("span", "used", class_="used") if row.this_run else "")
        cells += [
            row.last_used or "",
            tag("span", _gist(row.prompt), class_="gist"),
            tag("a", "open", href=recording_href(row.cassette, row.key, row.ordinal)),
        ]
        body.append(cells)
    return table(head, body, class_="recordings")


def _gist(prompt: str, size: int = 80) -> str:
    """The last text of a canonical request, shortened: what was asked."""
    try:
        value = json.loads(prompt)
    except ValueError:
        return prompt[:size]
    texts: list[str] = []
    _texts(value.get("body") if isinstance(value, dict) else value, texts)
    last = texts[-1] if texts else ""
    return last if len(last) <= size else last[: size - 1] + "…"


_NOT_ASKED = frozenset({"systemInstruction", "system", "instructions", "tools"})


def _texts(value: object, out: list[str]) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            if name in _NOT_ASKED:
                continue
            if name in ("text", "content", "input") and isinstance(item, str):
                out.append(item)
            else:
                _texts(item, out)
    elif isinstance(value, list):
        for item in value:
            _texts(item, out)


def recording_page(catalog: Catalog, name: str, recording: Recording) -> str:
    """One recording: its request as a conversation, its answer as the client sees it, the
    stream's timeline, the upstream exchange as stored, and its provenance."""
    try:
        canon = json.loads(recording.request)
    except ValueError:
        canon = recording.request
    sections = [
        _section("Request", conversation(canon)),
        _section("Answer, as the client sees it", _client_answer(recording)),
    ]
    if recording.stream and recording.frames:
        sections.append(_section("Stream timeline", timeline(recording.frames)))
    sections += [
        _section("Upstream exchange", _upstream(recording)),
        _section("Provenance", _provenance(name, recording)),
    ]
    title = f"{recording.family} {recording.operation} · {recording.model or ''}"
    return page(title, join(sections), live=catalog.live)


def _section(title: str, *body: Html) -> Html:
    return tag("section", tag("h2", title), join(body))


def _client_answer(recording: Recording) -> Html:
    (view,) = client_views([recording])
    if view is None:
        return tag("p", "No operation can rebuild this recording's request.")
    return tag("pre", "\n".join(view.lines()), class_="answer")


def _upstream(recording: Recording) -> Html:
    try:
        sent = pretty(json.loads(recording.upstream_request))
    except ValueError:
        sent = recording.upstream_request
    if recording.frames:
        got = "".join(frame.data.decode("utf-8", "replace") for frame in recording.frames)
    else:
        got = (recording.body or b"").decode("utf-8", "replace")
        try:
            got = pretty(json.loads(got))
        except ValueError:
            pass
    return join(
        [
            tag("h3", "Sent"),
            tag("pre", sent, class_="json"),
            tag("h3", f"Received: {recording.status} {recording.content_type}"),
            tag("pre", got, class_="json"),
        ]
    )


def _provenance(name: str, recording: Recording) -> Html:
    facts = [
        ("cassette", name),
        ("key", recording.key),
        ("ordinal", recording.ordinal),
        ("recorded", recording.recorded_at),
        ("took", f"{recording.duration_ms:.1f} ms"),
        ("localaik", recording.localaik_version),
        ("upstream", recording.upstream),
        ("upstream model", recording.upstream_model or ""),
        ("upstream build", recording.upstream_build or ""),
    ]
    items = join(join([tag("dt", k), tag("dd", v)]) for k, v in facts)
    return tag("dl", items, class_="provenance")
