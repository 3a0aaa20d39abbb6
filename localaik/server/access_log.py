"""One access-log line per request: API family, method, path, status, latency.

Pure ASGI so that streamed answers pass through untouched. Never logs headers, bodies or the
query string (a Gemini REST client may put its key in `?key=`), and the path is redacted (a key
used as a Gemini model name is in it: `[redacted google-api-key]`). Successful `/health` probes are
not logged: container health checks would drown everything else.

Where a line goes is a `Lines`: by default the `localaik.access` logger (an app embedded in a
test process, the pytest plugin's, goes through the host's logging); `localaik serve` gives
`StreamLines`, which writes each line to the stream its log handler writes to, as that handler
shows a record, without a log record per request (a record, its handler and its formatter were
a sixth of a first replayed hit's time: bench/replay_hit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import Any, Protocol

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


class Lines(Protocol):
    """Where the access log's lines go, one call per request (the line without its end)."""

    def __call__(self, line: str, /) -> None: ...


def logged(line: str) -> None:
    """A line as a record of the `localaik.access` logger, at INFO."""
    log.info("%s", line)


class StreamLines:
    """Lines written to `handler`'s stream as it shows a `localaik.access` record under
    `localaik serve`'s format (`localaik.access: <line>`), under the handler's lock, as the
    handler writes its own records. A line the stream refuses (a closed pipe) is dropped, as
    logging drops it; the request is answered all the same.

    On an event loop the lines of one turn are written together, when the turn ends: one write
    and flush for the requests the turn finished (up to the connections' count under load;
    a write per line was a tenth of a memoised hit's cost at 16 connections). Nothing comes
    out of order: a record the handler is about to show first writes the lines before it (a
    filter on the handler), and `flush` writes what is left when the server stops. Off a loop
    each line is written at once."""

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self.handler = handler
        self.prefix = f"{log.name}: "
        self._pending: list[str] = []
        handler.addFilter(self._before_record)

    def __call__(self, line: str, /) -> None:
        with self.handler.lock or contextlib.nullcontext():  # a record's flush may be under way
            self._pending.append(f"{self.prefix}{line}\n")
            if len(self._pending) > 1:
                return  # the turn's write is already due
        loop = asyncio._get_running_loop()
        if loop is None:
            self.flush()
        else:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the lines not written yet, in order."""
        handler = self.handler
        with handler.lock or contextlib.nullcontext():
            pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                handler.stream.write("".join(pending))
                handler.stream.flush()
            except (OSError, ValueError):
                pass

    def _before_record(self, record: logging.LogRecord) -> bool:
        if self._pending:
            self.flush()
        return True


class AccessLog:
    def __init__(self, app: Any, lines: Lines = logged) -> None:
        self.app = app
        self.lines = lines

    def wanted(self) -> bool:
        """False when the lines go to the logger and it drops INFO (a test process's logging
        at its default level): the line is not even formatted."""
        return self.lines is not logged or log.isEnabledFor(logging.INFO)

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
            if not (path == "/health" and status == 200) and self.wanted():
                names = tuple(name for name, _ in scope.get("headers", ()))
                family = _family(path, names)
                millis = (time.perf_counter() - start) * 1000
                method = _printable(scope.get("method", ""))
                self.lines(
                    f"{family:<9} {method} {_printable(_redacted(path))} {status or '-'} "
                    f"{millis:.1f}ms"
                )
