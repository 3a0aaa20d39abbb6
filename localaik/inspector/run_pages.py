""" "This run": the requests the server answered, live, and a miss beside its nearest recordings.

The list is the pipeline's ring of events (`server/events.py`), newest first. The page holds
it in an element the inspector's script refreshes every second from `/_localaik/run/events`
(a fragment of the same markup), so a request made by a test shows up without a reload. A miss
opens beside the recordings nearest to it (the cassette's `nearest`, as the 404 names them), the
JSON paths that differ marked on both sides.
"""

from __future__ import annotations

import json
from typing import Any

from localaik.cassette.miss import MISSING, Difference
from localaik.inspector.catalog import Catalog
from localaik.inspector.jsonview import canonical_html
from localaik.inspector.markup import PREFIX, Html, join, page, table, tag
from localaik.inspector.pages import recording_href
from localaik.server.events import Outcome, RunEvent

POLL_MS = 1000


def run_page(catalog: Catalog, events: list[RunEvent]) -> str:
    """The page: what the list shows, and the list, refreshed in place by the script."""
    return page(
        "This run",
        tag("p", "Every request this server answered, newest first; the list updates itself."),
        tag(
            "div",
            events_fragment(catalog, events),
            id="events",
            data_poll=f"{PREFIX}/run/events",
            data_every=str(POLL_MS),
        ),
    )


def events_fragment(catalog: Catalog, events: list[RunEvent]) -> Html:
    """The list of `events`, newest first (what the script swaps in)."""
    if not events:
        return tag("p", "No requests yet.", class_="empty")
    rows = []
    for event in reversed(events):
        name = event.model or ""
        rows.append(
            (
                event.seq,
                event.when,
                tag("span", event.outcome.value, class_=f"outcome {event.outcome.value}"),
                event.status,
                f"{event.method} {event.path}",
                " ".join(x for x in (event.family, event.operation) if x),
                name,
                _link(catalog, event),
            )
        )
    head = ("#", "at", "outcome", "status", "request", "operation", "model", "")
    return table(head, rows, class_="events", data_last=str(events[-1].seq))


def _link(catalog: Catalog, event: RunEvent) -> Html | str:
    if event.outcome is Outcome.MISS:
        return tag("a", "beside its nearest", href=f"{PREFIX}/run/miss/{event.seq}", class_="miss")
    if event.cassette is not None and event.recording:
        key, _, ordinal = event.recording.rpartition("/")
        href = recording_href(catalog.name(event.cassette), key, int(ordinal or 0))
        return tag("a", "recording", href=href)
    return ""


def miss_page(catalog: Catalog, event: RunEvent) -> str:
    """A miss beside the recordings nearest to it, the paths that differ marked."""
    canon: dict[str, Any] = event.canon or {}
    cassette = event.cassette
    nearest = catalog.nearest(cassette, canon) if cassette is not None else []
    where = catalog.name(cassette) if cassette is not None else "(none)"
    marked = {d.path for _, found in nearest for d in found}
    ours = tag(
        "div",
        tag("h2", "This request"),
        tag("p", f"missed in {where}"),
        tag("pre", canonical_html(canon, marked), class_="json"),
        class_="side ours",
    )
    theirs = []
    for summary, found in nearest:
        try:
            recorded = json.loads(summary.request)
        except ValueError:
            recorded = summary.request
        href = recording_href(where, summary.key, summary.ordinal)
        theirs.append(
            tag(
                "div",
                tag("h2", tag("a", f"Recording of {summary.recorded_at}", href=href)),
                tag("p", "1 path differs" if len(found) == 1 else f"{len(found)} paths differ"),
                _differences(found),
                tag("pre", canonical_html(recorded, {d.path for d in found}), class_="json"),
                class_="side theirs",
            )
        )
    if not theirs:
        theirs.append(tag("div", tag("p", "The cassette holds no recording."), class_="side"))
    title = f"Miss #{event.seq}: {event.method} {event.path}"
    return page(title, tag("div", ours, join(theirs), class_="sides"))


def _differences(found: list[Difference]) -> Html:
    rows = [(tag("code", d.path), _shown(d.ours), _shown(d.theirs)) for d in found]
    return table(("path", "this request", "the recording"), rows, class_="differences")


def _shown(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 200 else shown[:199] + "…"
