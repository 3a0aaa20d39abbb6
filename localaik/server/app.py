"""The ASGI application: routes, error rendering per API family, collaborators, access log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from localaik.config import Settings
from localaik.errors import (
    Error,
    Internal,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UpstreamStatus,
    render,
)
from localaik.families import embeddings_routes as embeddings
from localaik.families import family_of
from localaik.families.anthropic import routes as anthropic
from localaik.families.gemini import routes as gemini
from localaik.families.openai import responses_routes as responses
from localaik.families.openai import routes as openai
from localaik.media.local import LocalMedia
from localaik.runtime.llama import LlamaServer, RuntimeStartError
from localaik.server import health
from localaik.server.access_log import AccessLog
from localaik.server.common import Services, json_response
from localaik.server.memo import HitMemo
from localaik.server.replay import Cassettes, Replayer
from localaik.upstream.client import Upstream, make_client

log = logging.getLogger("localaik")

ROUTES = [
    gemini.model_action, gemini.list_models, gemini.get_model,
    openai.chat_completions, openai.completions, openai.list_models, openai.get_model,
    responses.create_response, responses.stored_response,
    anthropic.messages, anthropic.count_tokens,
    embeddings.openai_embeddings,
    health.health,
]


def _error_response(request: Request[Any, Any, Any], error: Error,
                    headers: dict[str, str] | None = None) -> Response[Any]:
    family = family_of(request.url.path, dict(request.headers))
    status, body = render(error, family)
    response = json_response(body, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, MethodNotAllowed) and exc.allow:
        return _error_response(request, exc, {"Allow": exc.allow})
    if isinstance(exc, Error):
        return _error_response(request, exc)
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return _error_response(request, NotFound(
                f"no route for {request.method} {request.url.path}"))
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("allow") or (exc.headers or {}).get("Allow")
            return _on_error(request, MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}", allow=allow))
        if exc.status_code == 413:
            limit = request.app.state.services.settings.max_body_size
            return _error_response(request, PayloadTooLarge(
                f"the request body is larger than LK_MAX_BODY_SIZE ({limit} bytes)"))
        error = Error(str(exc.detail))
        error.status = exc.status_code
        return _error_response(request, error)
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_response(request, Internal("internal error in localaik; see its log"))


# The upstream of a replay-only server: never contacted.
UNUSED_UPSTREAM = "http://127.0.0.1:8080/v1"


def _ready_gate(runtime: LlamaServer) -> Callable[[], Awaitable[None]]:
    """Requests that need the model wait while it loads; a failed runtime answers 503."""
    ready = asyncio.ensure_future(runtime.wait_ready())

    def log_failure(task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s", task.exception())

    ready.add_done_callback(log_failure)

    async def gate() -> None:
        if runtime.state == "ready":
            return
        if runtime.state == "failed" or (ready.done() and ready.exception() is not None):
            raise UpstreamStatus(503, "the bundled llama-server is not running; see localaik's "
                                      "log")
        await asyncio.shield(ready)

    return gate


def _lazy_gate(runtime: LlamaServer) -> Callable[[], Awaitable[None]]:
    """Like `_ready_gate`, but the first request that needs the server starts it."""
    gate: Callable[[], Awaitable[None]] | None = None
    lock = asyncio.Lock()

    async def lazy() -> None:
        nonlocal gate
        if gate is None:
            async with lock:
                if gate is None:
                    log.info("starting the embeddings llama-server for the first embeddings "
                             "request")
                    try:
                        await runtime.start()
                    except RuntimeStartError as exc:
                        log.error("%s", exc)
                        raise UpstreamStatus(503, "the bundled embeddings llama-server cannot "
                                                  "start; see localaik's log") from None
                    gate = _ready_gate(runtime)
        await gate()

    return lazy


async def _embeddings_off() -> None:
    raise UpstreamStatus(501, "embeddings are off in this localaik (LK_EMBEDDINGS=off): no "
                              "embeddings llama-server runs")


def services_of(app: Any) -> Services:
    """The services of an app `create_app` built (inside its ASGI layers), once started."""
    while not isinstance(app, Litestar):
        app = app.app
    return app.state.services  # type: ignore[no-any-return]


def create_app(settings: Settings, *, client: httpx.AsyncClient | None = None,
               runtime: LlamaServer | None = None,
               embed_runtime: LlamaServer | None = None) -> Any:
    """The ASGI app. `client` injects the upstream HTTP client (tests use a fake transport);
    `runtime` is the bundled llama-server to start, supervise and stop with the app, and
    `embed_runtime` the one that serves its embeddings (started lazily unless
    `LK_EMBEDDINGS=on`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = client is None
        http = make_client(settings) if own else client
        assert http is not None
        gate = None
        if runtime is not None:
            await runtime.start()
            gate = _ready_gate(runtime)
        embeddings = None
        if embed_runtime is not None:
            if settings.embeddings == "on":
                await embed_runtime.start()
                embed_gate = _ready_gate(embed_runtime)
            else:
                embed_gate = _lazy_gate(embed_runtime)
            embeddings = Upstream(embed_runtime.url, http, gate=embed_gate)
        elif runtime is not None:
            embeddings = Upstream(runtime.url, http, gate=_embeddings_off)
        url = runtime.url if runtime else settings.upstream or UNUSED_UPSTREAM
        upstream = Upstream(url, http, auth_header=settings.upstream_auth_header, gate=gate,
                            embeddings=embeddings)
        cassettes = Cassettes(settings.cassette, readonly=settings.mode == "replay")
        app.state.services = Services(
            settings=settings, upstream=upstream, media=LocalMedia(settings),
            checking_media=LocalMedia(settings, render=False),
            replayer=Replayer(settings, upstream, cassettes))
        app.state.runtime = runtime
        app.state.embed_runtime = embed_runtime
        try:
            yield
        finally:
            await cassettes.close()
            if own:
                await http.aclose()
            if runtime is not None:
                await runtime.stop()
            if embed_runtime is not None:
                await embed_runtime.stop()

    app = Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        exception_handlers={Exception: _on_error},
        request_max_body_size=settings.max_body_size,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    served = HitMemo(app, lambda: getattr(app.state, "services", None))
    return AccessLog(served) if settings.log else served
