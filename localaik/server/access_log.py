"""One access-log line per request: API family, method, path, status, latency.

Pure ASGI so that streamed answers pass through untouched. Never logs headers, bodies or the
query string (a Gemini REST client may put its key in `?key=`), and the path is redacted (a key
used as a Gemini model name is in it: `[redacted google-api-key]`). Successful `/health` probes are
not logged: container health checks would drown everything else.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from localaik.cassette.secrets import redact
from localaik.families import family_of

log = logging.getLogger("localaik.access")

# A scan costs ~10 µs, a sixth of a replayed hit; a suite asks the same few paths over and over.
_redacted = functools.lru_cache(maxsize=1024)(redact)


@functools.lru_cache(maxsize=1024)
def _family(path: str, names: tuple[bytes, ...]) -> str:
    """The family's tag, as `family_of` finds it from the path and which headers are sent (a
    family claims a request by the names of its headers, never their values)."""
    return family_of(path, {name.decode("latin-1").lower(): "" for name in names}).tag


def _printable(text: str) -> str:
    """One field: spaces and control characters escaped, so a path cannot fake more fields."""
    if text.isprintable() and " " not in text:
        return text  # the common case, without a pass per character
    return "".join("%20" if c == " " else c if c.isprintable() else repr(c)[1:-1] for c in text)


class AccessLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start" and not status:
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = scope.get("path", "")
            if not (path == "/health" and status == 200):
                names = tuple(name for name, _ in scope.get("headers", ()))
                family = _family(path, names)
                millis = (time.perf_counter() - start) * 1000
                log.info(
                    "%-9s %s %s %s %.1fms",
                    family,
                    _printable(scope.get("method", "")),
                    _printable(_redacted(path)),
                    status or "-",
                    millis,
                )
