"""How uvicorn serves the app, for `localaik serve` and the pytest plugin alike.

httptools and uvloop ("auto" takes uvloop where it installs, not on Windows) answer replays
~1.5x as fast as h11 and asyncio; see the README's Performance section and
bench/replay_hit.py. Idle keep-alive connections are kept 65 s, longer than the SDKs' pools keep
them (httpx: 5 s), so a client never sends on a connection the server is closing at that moment.
uvicorn is imported only when a server is made. A connection a fault drops (`Dropped`, see
`app.py`) is no error of the app: uvicorn's "Exception in ASGI application" is not logged for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from localaik.families.streaming import Dropped

if TYPE_CHECKING:
    import uvicorn

SERVER_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "auto", "timeout_keep_alive": 65}


def dropped(error: BaseException | None) -> bool:
    """Whether `error` is, or holds (an exception group's), a fault's `Dropped`."""
    if isinstance(error, Dropped):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(dropped(inner) for inner in error.exceptions)
    return False


class QuietDrops(logging.Filter):
    """Leaves out uvicorn's log record of a connection a fault dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and dropped(record.exc_info[1]))


def uvicorn_server(app: Any, **options: Any) -> uvicorn.Server:
    """A uvicorn server for `app` with `SERVER_OPTIONS`, the app's lifespan on, no access log of
    uvicorn's (localaik logs its own), and 5 s for open requests at shutdown; `options` add to
    or override these (host, port, logging)."""
    import uvicorn

    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(known, QuietDrops) for known in errors.filters):
        errors.addFilter(QuietDrops())
    config: dict[str, Any] = {
        **SERVER_OPTIONS,
        "lifespan": "on",
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        **options,
    }
    return uvicorn.Server(uvicorn.Config(app, **config))
