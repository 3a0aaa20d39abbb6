"""The ASGI application: the HTTP side of the request pipeline, with its collaborators.

Every API request is handed to the pipeline (`pipeline.py`), which routes it among the
registered API families. `ApiRoute`, a plain ASGI layer, does that for all but HEAD requests
without the framework's per-request machinery (it cost a replayed hit a third of its time);
Litestar serves `/health`, HEAD and OPTIONS (its own answers), and anything else. Around them,
two more plain ASGI layers: the replay memo (`memo.py`) and the access log (`access_log.py`).
Errors outside the pipeline (a body over the size cap, the framework's, anything unexpected)
are rendered in the caller's family envelope like the pipeline's own.

A client that goes away stops the work done for it: while the pipeline waits for the upstream's
answer (reading its body), a disconnect cancels the wait, which closes the upstream connection;
during a stream, `sending.py`'s disconnect watch does the same. Replayed
answers are not watched: they wait for nothing, and a watch costs a replayed hit a third of
its time.

A fault that drops the connection (`reset`, a cut stream: `Dropped`) leaves the app as an
exception, so that uvicorn closes the connection without finishing the answer (`_drop`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
from litestar import HttpMethod, Litestar, Request, Response, route
from litestar.exceptions import HTTPException
from litestar.response import Stream

from localaik.cassette.miss_text import SERVE, Reporting
from localaik.cassette.secrets import redact
from localaik.config import Settings
from localaik.errors import Error, Internal, MethodNotAllowed, PayloadTooLarge
from localaik.families import family_of
from localaik.families.operation import Answer
from localaik.families.streaming import Dropped
from localaik.server import memo
from localaik.server.access_log import AccessLog, Lines, logged
from localaik.server.cassettes import Cassettes
from localaik.server.gates import Runtime, upstream_for
from localaik.server.health import health
from localaik.server.memo import HitMemo
from localaik.server.pipeline import (
    SERVED,
    ClientLeft,
    Incoming,
    Pipeline,
    error_answer,
    identified,
)
from localaik.server.policy import Replayer
from localaik.server.sending import send_answer
from localaik.server.session import read_session, select_session
from localaik.upstream.client import Upstream, make_transport
from localaik.upstream.exchange import Hit

log = logging.getLogger("localaik")
T = TypeVar("T")

METHODS: list[HttpMethod] = [
    HttpMethod.GET,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
    HttpMethod.HEAD,
]


@dataclass
class Services:
    """The collaborators of a started app."""

    settings: Settings
    upstream: Upstream
    replayer: Replayer
    pipeline: Pipeline


@route(["/", "/{path:path}"], http_method=METHODS)
async def api(request: Request[Any, Any, Any]) -> Response[Any]:
    """The API requests `ApiRoute` leaves to the framework (HEAD: the framework sends the
    headers of the answer without its body): the pipeline answers them too."""
    services: Services = request.app.state.services
    limit = services.settings.max_body_size

    async def read_body() -> bytes:
        try:
            return await request.body()
        except HTTPException as exc:
            if exc.status_code == 413:
                raise _too_large(limit) from None
            raise

    answer = await _answered(services, request.scope, request.receive, read_body)
    return _response(answer)


class ApiRoute:
    """The ASGI layer that answers API requests (every path but `/health`, the methods in
    `DIRECT`) with the pipeline, without the framework's routing, request and response
    objects: they cost a replayed hit a third of its time. What the framework did for these
    requests is done here the same way: the body cap (413 in the caller's shape), an
    unexpected error rendered as `_on_error` renders it, the same response headers
    (`sending.py`), a stream stopped when its client leaves.
    Everything else (HEAD, OPTIONS, `/health`, other scopes) goes on to the framework."""

    DIRECT = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        services: Services | None = getattr(self.app.state, "services", None)
        if (
            services is None
            or scope["type"] != "http"
            or scope["method"] not in self.DIRECT
            or scope["path"] in SERVED
        ):
            await self.app(scope, receive, send)
            return
        read_body = functools.partial(_read_body, scope, receive, services.settings.max_body_size)
        try:
            answer = await _answered(services, scope, receive, read_body)
        except Dropped:
            await _drop(send)
            raise
        except Exception as exc:  # what the framework's exception handler did
            answer = _unexpected(scope["method"], scope["path"], _headers(scope), exc)
        await send_answer(answer, scope, receive, send)


async def _drop(send: Any) -> None:
    """Have the server close the connection without a byte of an answer (a `reset` fault).

    An ASGI app cannot say so: uvicorn answers 500 to an app that fails before it started its
    answer, and closes the connection when one fails after. So the answer is started with a
    header value uvicorn refuses before it writes anything (its `Invalid HTTP header value`,
    h11's `LocalProtocolError`): started, nothing sent; `Dropped` raised next closes it. 444
    is nginx's status for the same ("closed without a response"), what the access log shows.
    """
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": 444, "headers": [(b"x-reset", b"\0")]})


async def _read_body(scope: Any, receive: Any, limit: int) -> bytes:
    """The request body, at most `limit` bytes (as the framework's `request_max_body_size`)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientLeft
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than LK_MAX_BODY_SIZE ({limit} bytes)")


def _headers(scope: Any) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _answered(
    services: Services,
    scope: Any,
    receive: Any,
    read_body: Callable[[], Awaitable[bytes]],
) -> Answer:
    """The pipeline's answer to the request in `scope`; the exchanges it made are told to the
    replay memo (`memo.EXCHANGES`)."""
    # Plain dicts straight from the ASGI scope: the pipeline reads a few names, and building
    # the framework's header and query objects cost more than the rest of a replayed hit.
    query = scope.get("query_string", b"")
    incoming = Incoming(
        scope["method"],
        scope["path"],
        dict(parse_qsl(query.decode("latin-1"))) if query else {},
        _headers(scope),
        read_body,
        live=functools.partial(_unless_client_leaves, receive=receive),
    )
    try:
        answer = await services.pipeline.handle(incoming)
    except ClientLeft:
        answer = CLIENT_LEFT
    made: list[Hit | None] | None = scope.get(memo.EXCHANGES)
    if made is not None:
        made.extend(incoming.hits)
    return answer


# The answer to a client that left: nobody reads it (nginx logs the same case as 499).
CLIENT_LEFT = Answer(499, "application/json")


async def _unless_client_leaves(wait: Awaitable[T], *, receive: Any) -> T:
    """What `wait` gives (the upstream's answer, a fault's delay), unless the client
    disconnects first: then `wait` (an upstream call in flight) is cancelled and `ClientLeft`
    raised. The pipeline waits only once the request body was read, so `receive` gives
    nothing but the disconnect.

    `wait` runs in this task; one watcher task cancels it when the disconnect comes (a task
    for `wait` and `asyncio.wait` over both cost a forwarded request ~5 % of its time)."""
    current = asyncio.current_task()
    assert current is not None
    waiting = True
    left = False

    def on_disconnect(watcher: asyncio.Future[None]) -> None:
        nonlocal left
        # (a `receive` that failed is no disconnect; once `wait` is over, nothing to stop)
        if waiting and not watcher.cancelled() and watcher.exception() is None:
            left = True
            current.cancel()

    watcher = asyncio.ensure_future(_disconnect(receive))
    watcher.add_done_callback(on_disconnect)
    try:
        value = await wait
    except asyncio.CancelledError:
        if left and current.uncancel() == 0:
            raise ClientLeft from None
        raise  # this request itself was cancelled
    finally:
        waiting = False
        watcher.cancel()
    if left:  # `wait` made light of its cancellation: the client is gone all the same
        current.uncancel()
        raise ClientLeft
    return value


async def _disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _response(answer: Answer) -> Response[Any]:
    if answer.frames is not None:
        return Stream(
            answer.frames,
            status_code=answer.status,
            media_type=answer.media_type,
            headers=answer.headers,
        )
    return Response(
        content=answer.body,
        status_code=answer.status,
        media_type=answer.media_type,
        headers=answer.headers,
    )


def _on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """What the framework raised outside the pipeline, in the caller's family envelope."""
    return _response(_unexpected(request.method, request.url.path, request.headers, exc))


def _unexpected(method: str, path: str, headers: Mapping[str, str], exc: Exception) -> Answer:
    """An error raised outside the pipeline (the framework's, or a bug), in the caller's
    family envelope: an HTTP error as its status, anything else a 500 that is logged."""
    if not isinstance(exc, Error):
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            allow = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow")
            exc = MethodNotAllowed(f"{method} is not allowed on {path}", allow=allow)
        elif isinstance(exc, HTTPException) and exc.status_code < 500:
            error = Error(str(exc.detail))
            error.status = exc.status_code
            exc = error
        else:
            log.exception("unexpected error on %s %s", method, redact(path))
            exc = Internal("internal error in localaik; see its log")
    family = family_of(path, headers)
    return identified(error_answer(exc, family), family, None)


def services_of(app: Any) -> Services:
    """The services of an app `create_app` built (inside its ASGI layers), once started."""
    while not isinstance(app, Litestar):
        app = app.app
    return app.state.services  # type: ignore[no-any-return]


def create_app(
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    runtime: Runtime | None = None,
    embed_runtime: Runtime | None = None,
    lazy_runtime: bool = False,
    reporting: Reporting = SERVE,
    access_lines: Lines = logged,
) -> Any:
    """The ASGI app. `client` injects the upstream HTTP client (tests use a fake transport);
    `runtime` is the bundled llama-server to start, supervise and stop with the app (with
    `lazy_runtime`, started by the first request that needs it), and `embed_runtime` the one
    that serves its embeddings (started lazily unless `LK_EMBEDDINGS=on`); `reporting` how a
    replay miss reaches the developer (the pytest plugin shows it in its own report);
    `access_lines` where the access log's lines go (`access_log.py`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        http = make_transport(settings, client)  # a given client is its caller's to close
        upstream = await upstream_for(settings, http, runtime, embed_runtime, lazy=lazy_runtime)
        cassettes = Cassettes(settings.cassette)  # read-only where a request replays
        replayer = Replayer(settings, upstream, cassettes, reporting=reporting)
        app.state.services = Services(
            settings, upstream, replayer, Pipeline(settings, upstream, replayer)
        )
        app.state.runtime = runtime
        app.state.embed_runtime = embed_runtime
        try:
            yield
        finally:
            await cassettes.close()
            await http.aclose()
            if runtime is not None:
                await runtime.stop()
            if embed_runtime is not None:
                await embed_runtime.stop()

    app = Litestar(
        route_handlers=[health, read_session, select_session, api],
        lifespan=[lifespan],
        exception_handlers={Exception: _on_error},
        request_max_body_size=settings.max_body_size,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    served = HitMemo(ApiRoute(app), lambda: getattr(app.state, "services", None))
    return AccessLog(served, access_lines) if settings.log else served
