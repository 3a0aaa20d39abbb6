"""`GET /health`: localaik is up; says whether the upstream answers its own health check."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from localaik import __version__
from localaik.routes.common import json_response, services


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[Any]:
    svc = services(request)
    ok = await svc.upstream.healthy()
    body = {"status": "ok" if ok else "unhealthy", "version": __version__,
            "upstream": {"url": svc.upstream.shown, "ok": ok}}
    return json_response(body, 200 if ok else 503)
