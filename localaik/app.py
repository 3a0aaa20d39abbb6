"""The ASGI application: routes, error rendering per API family, collaborators, access log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from localaik.access_log import AccessLog
from localaik.config import Settings
from localaik.errors import Error, Internal, MethodNotAllowed, NotFound, PayloadTooLarge, render
from localaik.media import LocalMedia
from localaik.protocol import family_of
from localaik.replay import Cassettes, Replayer
from localaik.routes import gemini, health, openai
from localaik.routes.common import Services, json_response
from localaik.upstream import Upstream, make_client

log = logging.getLogger("localaik")

ROUTES = [
    gemini.model_action, gemini.list_models, gemini.get_model,
    openai.chat_completions, openai.completions, openai.list_models, openai.get_model,
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


def create_app(settings: Settings, *, client: httpx.AsyncClient | None = None) -> Any:
    """The ASGI app. `client` injects the upstream HTTP client (tests use a fake transport)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = client is None
        http = make_client(settings) if own else client
        assert http is not None
        upstream = Upstream(settings.upstream, http, auth_header=settings.upstream_auth_header)
        cassettes = Cassettes(settings.cassette)
        app.state.services = Services(
            settings=settings, upstream=upstream, media=LocalMedia(settings),
            checking_media=LocalMedia(settings, render=False),
            replayer=Replayer(settings, upstream, cassettes))
        try:
            yield
        finally:
            await cassettes.close()
            if own:
                await http.aclose()

    app = Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        exception_handlers={Exception: _on_error},
        request_max_body_size=settings.max_body_size,
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    return AccessLog(app) if settings.log else app
