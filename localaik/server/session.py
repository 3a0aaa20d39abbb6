"""`/_localaik/session`: what the requests that follow use, set and read over HTTP, so that a
test helper in any language (the JavaScript and Go ones in this repository) is a few lines.

`POST` with a JSON object `{"cassette": NAME, "mode": MODE, "ignore": [PATHS], "fault": SPEC}`
(every field optional; SPEC one fault or a list) does what the pytest plugin does in-process
between two tests (`testing/server.py`): the cassette becomes the default one (requests without
`X-Localaik-Cassette` use it; absent: the server's own), the rules are the server's switched by
the mode, paths and faults (`rules.py`), and faults count their attempts from 1 again. A field
that cannot be honoured is a 400 naming it, and nothing is switched: a cassette name that is
not valid, an ignore path or a fault that cannot be read, or a mode that needs a model
(`record`, `refresh`, `passthrough`) when the server has none (replay without `LK_UPSTREAM`).

`GET` gives the selection and what happened since it was set, from this run's events
(`events.py`): the keys replayed and recorded, and each miss with its key and its text (the
helpers fail the test with it). `?cassette=NAME` keeps the requests that used one cassette and
`?after=SEQ` starts after an event (a report's `last`): tests that run in parallel on one
server name their cassettes by `X-Localaik-Cassette` instead of selecting (the Go helper), and
each checks its own. The ring keeps the newest `RunEvents.KEEP` events: a selection
older than that many requests reports only the newest.

The switch changes what every client of the server gets, so only clients on loopback may use
it unless `LK_CONTROL_REMOTE` allows others (403). Errors are JSON `{"error": {"code",
"message"}}`: the endpoint belongs to no API family.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post

from localaik.cassette.key import canonical_json, request_key
from localaik.config import MODES_TEXT, Mode
from localaik.errors import BadFault, BadRequest, Error, Forbidden
from localaik.server.events import Outcome, RunEvent
from localaik.server.faults import parse_fault
from localaik.server.gates import without_upstream
from localaik.server.rules import Rules
from localaik.wire.jsontext import dumps, parse_body

PATH = "/_localaik/session"
FIELDS = ("cassette", "mode", "ignore", "fault")
# Modes that send requests to a model: a server without one cannot honour them.
NEEDS_MODEL = (Mode.RECORD, Mode.REFRESH, Mode.PASSTHROUGH)


@dataclass(frozen=True)
class Selection:
    """What a `POST` selected, and the newest event before it (`since`)."""

    cassette: str | None
    mode: Mode
    ignore: tuple[str, ...]
    fault: tuple[str, ...]
    since: int


@get(PATH)
async def read_session(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The selection and what was replayed, recorded and missed since it was set; with
    `?after=SEQ`, since the event numbered SEQ (a report's `last`) instead; with
    `?cassette=NAME`, only the requests that used that cassette (a helper whose tests run in
    parallel, each naming its cassette by header, checks each test's own)."""
    try:
        _allowed(request)
        after = request.query_params.get("after")
        if after is not None and not after.isdigit():
            raise BadRequest(f"after: expected an event number (a report's last), not {after!r}")
        name = request.query_params.get("cassette")
        state = request.app.state
        only = state.services.replayer.cassettes.path_for(name, what="cassette") if name else None
    except Error as exc:
        return _error(exc)
    return _json(_report(state, since=int(after) if after is not None else None, only=only))


@post(PATH, status_code=200)
async def select_session(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Switch the cassette, mode, ignored paths and faults of the requests that follow."""
    try:
        _allowed(request)
        selection = await _select(request.app.state, await request.body())
    except Error as exc:
        return _error(exc)
    return _json(_report(request.app.state, selection))


def _allowed(request: Request[Any, Any, Any]) -> None:
    """Refuse a client that is not on loopback, unless `LK_CONTROL_REMOTE` allows it."""
    if request.app.state.services.settings.control_remote:
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden(
            f"{PATH} switches what every client of this server gets, so only clients on "
            "loopback may use it; set LK_CONTROL_REMOTE=on to allow others"
        )


async def _select(state: Any, raw: bytes) -> Selection:
    """Read a selection (400 naming what is wrong), then switch to it on this loop."""
    body = parse_body(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise BadRequest(f"{PATH}: the body must be a JSON object with {', '.join(FIELDS)}")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest(
            f"{PATH}: unknown field {', '.join(map(repr, unknown))}; expected {', '.join(FIELDS)}"
        )
    services = state.services
    settings = services.settings
    replayer = services.replayer
    name = _text(body.get("cassette"), "cassette")
    path = replayer.cassettes.path_for(name, what="cassette") if name else settings.cassette
    mode = _mode(body.get("mode"), state)
    ignore = _texts(body.get("ignore"), "ignore")
    fault = _texts(body.get("fault"), "fault")
    try:
        faults = [parse_fault(spec, "fault") for spec in fault]
    except BadFault as exc:
        raise BadRequest(exc.message) from None
    try:
        rules = Rules.of(settings).switched(mode, ignore, faults)
    except ValueError as exc:
        raise BadRequest(f"ignore: {exc}") from None
    selection = Selection(name, rules.mode, ignore, fault, services.pipeline.events.last)
    previous = replayer.cassettes.default
    await replayer.cassettes.select(path)
    if previous not in (path, settings.cassette):
        await replayer.cassettes.release(previous)  # one thread and connection each
    replayer.rules = rules
    services.pipeline.attempts.clear()  # this selection's faults count their own attempts
    state.session = selection
    return selection


def _mode(value: Any, state: Any) -> Mode | None:
    text = _text(value, "mode")
    if text is None:
        return None
    try:
        mode = Mode.of(text)
    except ValueError:
        raise BadRequest(f"mode: {text[:40]!r} is not a mode; expected {MODES_TEXT}") from None
    settings = state.services.settings
    if mode in NEEDS_MODEL and without_upstream(settings, state.runtime):
        raise BadRequest(
            f"mode: {mode} needs a model, and this localaik runs without one (started in "
            f"{settings.mode} with no LK_UPSTREAM and no bundled llama-server): start it in "
            "record mode, or with LK_UPSTREAM, to record"
        )
    return mode


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field}: expected a string")
    return value or None


def _texts(value: Any, field: str) -> tuple[str, ...]:
    """One string or a list of them."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise BadRequest(f"{field}: expected a string or a list of strings")
    return tuple(items)


def _report(
    state: Any,
    selection: Selection | None = None,
    *,
    since: int | None = None,
    only: Path | None = None,
) -> dict[str, Any]:
    """The selection now, and the requests answered since it was set (or since the event
    `since`), all of them or those that used the cassette `only`."""
    services = state.services
    events = services.pipeline.events
    chosen: Selection | None = selection or getattr(state, "session", None)
    default: Path = services.replayer.cassettes.default
    if since is None:
        since = chosen.since if chosen is not None else 0
    report: dict[str, Any] = {
        "cassette": chosen.cassette if chosen is not None else None,
        "path": str(default),
        "mode": services.replayer.rules.mode,
        "ignore": list(chosen.ignore) if chosen is not None else [],
        "fault": list(chosen.fault) if chosen is not None else [],
        "replayed": [],
        "recorded": [],
        "missed": [],
        "requests": 0,
        "last": events.last,
    }
    for event in events.after(since):
        if only is not None and event.cassette != only:
            continue
        report["requests"] += 1
        if event.outcome is Outcome.HIT:
            report["replayed"].append(_entry(event))
        elif event.outcome is Outcome.RECORDED:
            report["recorded"].append(_entry(event))
        elif event.outcome is Outcome.MISS:
            report["missed"].append(_entry(event))
    return report


def _entry(event: RunEvent) -> dict[str, Any]:
    """One request: what it asked, its key (and ordinal), a miss's text."""
    entry: dict[str, Any] = {"method": event.method, "path": event.path}
    if event.operation is not None:
        entry["operation"] = event.operation
    if event.recording is not None:
        key, _, ordinal = event.recording.partition("/")
        entry["key"] = key
        if ordinal.isdigit():
            entry["ordinal"] = int(ordinal)
    elif event.canon is not None:
        entry["key"] = request_key(canonical_json(event.canon))
    if event.cassette is not None:
        entry["cassette"] = event.cassette.name
    if event.miss is not None:
        entry["miss"] = event.miss
    return entry


def _json(value: Any) -> Response[bytes]:
    return Response(content=dumps(value).encode(), media_type="application/json")


def _error(error: Error) -> Response[bytes]:
    body = {"error": {"code": error.code, "message": error.message}}
    return Response(
        content=dumps(body).encode(), status_code=error.status, media_type="application/json"
    )
