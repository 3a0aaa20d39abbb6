"""The inspector's routes under `/_localaik/`, their security headers, and the standalone app.

`routes()` are mounted by `localaik serve`'s app (`server/app.py`) beside the APIs, and by
`inspector_app` alone for `localaik cassette ui`. Every page is a GET that reads; none changes
a cassette. Each answer carries `markup.HEADERS` (the Content-Security-Policy among them). The
pages read what they show in a worker thread (`anyio.to_thread`): cassettes are files, and the
server's event loop is the APIs'. `/_localaik/session` is left for a later issue's route.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Litestar, Request, Response, get

from localaik.inspector.catalog import Catalog, Filters
from localaik.inspector.markup import HEADERS, PREFIX, page, tag
from localaik.inspector.pages import cassettes_page, recording_page
from localaik.inspector.run_pages import events_fragment, miss_page, run_page
from localaik.server.events import RunEvents

STATIC = {
    "inspector.js": "text/javascript",
    "inspector.css": "text/css",
    "icon.svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Inspected:
    """What the inspector shows: the cassettes, and this run's events (None without a run)."""

    catalog: Catalog
    events: RunEvents | None = None


def _inspected(request: Request[Any, Any, Any]) -> Inspected:
    """The app's `state.inspector`: a function giving what it shows (made once started)."""
    return request.app.state.inspector()  # type: ignore[no-any-return]


def _html(content: str, status: int = 200) -> Response[str]:
    return Response(content, status_code=status, media_type="text/html", headers=HEADERS)


def _not_found(what: str, live: bool) -> Response[str]:
    return _html(page("Not found", tag("p", what), live=live), 404)


async def _off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


@get([PREFIX, f"{PREFIX}/"])
async def cassettes(request: Request[Any, Any, Any]) -> Response[str]:
    """Every cassette and its recordings, filtered by family, model and text."""
    catalog = _inspected(request).catalog
    query = request.query_params
    filters = Filters(query.get("family", ""), query.get("model", ""), query.get("q", ""))
    return _html(await _off_loop(cassettes_page, catalog, filters))


@get(f"{PREFIX}/recording")
async def recording(request: Request[Any, Any, Any]) -> Response[str]:
    """One recording, named by its cassette (as listed), key and ordinal."""
    catalog = _inspected(request).catalog
    query = request.query_params
    cassette, key, ordinal = query.get("cassette", ""), query.get("key", ""), query.get("ordinal")
    if not ordinal or not ordinal.isdigit():
        ordinal = "0"
    path = await _off_loop(catalog.find, cassette)
    found = await _off_loop(catalog.recording, path, key, int(ordinal)) if path else None
    if found is None:
        return _not_found("No such recording in the cassettes listed.", catalog.live)
    return _html(await _off_loop(recording_page, catalog, cassette, found))


@get(f"{PREFIX}/run")
async def run(request: Request[Any, Any, Any]) -> Response[str]:
    """This run's requests, refreshed in place."""
    inspected = _inspected(request)
    if inspected.events is None:
        return _not_found("This inspector serves no run (localaik cassette ui).", False)
    return _html(run_page(inspected.catalog, inspected.events.after()))


@get(f"{PREFIX}/run/events")
async def run_events(request: Request[Any, Any, Any]) -> Response[str]:
    """The list of this run's requests alone, for the script to swap in."""
    inspected = _inspected(request)
    events = inspected.events.after() if inspected.events is not None else []
    return _html(events_fragment(inspected.catalog, events))


@get(f"{PREFIX}/run/miss/{{seq:int}}")
async def miss(request: Request[Any, Any, Any]) -> Response[str]:
    """A miss of this run beside its nearest recordings."""
    inspected = _inspected(request)
    seq: int = request.path_params["seq"]
    event = inspected.events.get(seq) if inspected.events is not None else None
    if event is None or event.canon is None:
        return _not_found(f"No miss #{seq} in this run's recent requests.", True)
    return _html(await _off_loop(miss_page, inspected.catalog, event))


@get(f"{PREFIX}/static/{{name:str}}")
async def static(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The inspector's own script and style (the only script the CSP lets run)."""
    name: str = request.path_params["name"]
    if name not in STATIC:
        return Response(b"", status_code=404, headers=HEADERS)
    content = resources.files("localaik.inspector").joinpath("static", name).read_bytes()
    return Response(content, media_type=STATIC[name], headers=HEADERS)


def routes() -> list[Any]:
    """The inspector's route handlers, to mount in an app whose `state.inspector` is set."""
    return [cassettes, recording, run, run_events, miss, static]


def inspector_app(catalog: Catalog) -> Litestar:
    """The inspector alone, without the APIs and without a run (`localaik cassette ui`)."""
    app = Litestar(route_handlers=routes(), openapi_config=None, logging_config=None)
    inspected = Inspected(catalog)
    app.state.inspector = lambda: inspected
    return app


def folder_of(paths: list[Path]) -> Path:
    """The folder cassette names are shown relative to: the paths' common parent."""
    parents = [path.resolve().parent for path in paths]
    common = parents[0] if parents else Path.cwd()
    while any(common not in (parent, *parent.parents) for parent in parents):
        common = common.parent
    return common
