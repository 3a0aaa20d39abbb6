"""`GET /health`: localaik is up, its mode and cassette, and whether the upstream answers.

The mode by its own name, and by VCR.py's as `record_mode` (`none` for replay; absent for
passthrough, which VCR has not). In replay mode the upstream is never used, so it is neither
shown nor asked.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from localaik import __version__
from localaik.config import Mode
from localaik.server.gates import without_upstream
from localaik.wire.jsontext import dumps


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[Any]:
    svc = request.app.state.services
    mode = svc.replayer.rules.mode  # the settings', or the pytest plugin's test's
    body: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "mode": mode,
        "cassette": str(svc.settings.cassette),
    }
    if mode is Mode.REPLAY:
        # A replay start refuses a missing cassette unless others lie beside it (serve).
        body["cassette_found"] = svc.settings.cassette.exists()
    if mode.vcr is not None:
        body["record_mode"] = mode.vcr
    runtime = request.app.state.runtime
    if mode is Mode.REPLAY or without_upstream(svc.settings, runtime):
        # Replay never needs the upstream (nor `once` without a model, which only replays):
        # health neither depends on it nor shows one (the default URL would name an upstream
        # the user never set).
        return _json(body)
    if runtime is not None and runtime.state == "stopped":
        # Not started yet: a shared runtime starts at the first request that needs the model.
        body["upstream"] = {"url": svc.upstream.shown, "runtime": runtime.state}
        return _json(body)
    if runtime is not None and runtime.state != "ready":
        # The bundled llama-server: loading, restarting after a crash, or failed for good.
        body["status"] = "unhealthy" if runtime.state == "failed" else "loading"
        body["upstream"] = {"url": svc.upstream.shown, "ok": False, "runtime": runtime.state}
        return _json(body, 503)
    ok = await svc.upstream.healthy()
    body["upstream"] = {"url": svc.upstream.shown, "ok": ok}
    if runtime is not None:
        body["upstream"]["runtime"] = runtime.state
    embed_runtime = request.app.state.embed_runtime
    if embed_runtime is not None:
        # The embeddings llama-server: "stopped" until the first embeddings request when lazy;
        # chat answers do not depend on it, so it does not decide the status.
        body["upstream"]["embeddings_runtime"] = embed_runtime.state
    if not ok:
        body["status"] = "unhealthy"
    return _json(body, 200 if ok else 503)


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(
        content=dumps(value).encode(), status_code=status, media_type="application/json"
    )
