"""How uvicorn serves the app, for `localaik serve` and the pytest plugin alike.

httptools and uvloop ("auto" takes uvloop where it installs, not on Windows) answer replays
~1.5x as fast as h11 and asyncio; see the README's Performance section and
bench/replay_hit.py. Idle keep-alive connections are kept 65 s, longer than the SDKs' pools keep
them (httpx: 5 s), so a client never sends on a connection the server is closing at that moment.
uvicorn is imported only when a server is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

SERVER_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "auto", "timeout_keep_alive": 65}


def uvicorn_server(app: Any, **options: Any) -> uvicorn.Server:
    """A uvicorn server for `app` with `SERVER_OPTIONS`, the app's lifespan on, no access log of
    uvicorn's (localaik logs its own), and 5 s for open requests at shutdown; `options` add to
    or override these (host, port, logging)."""
    import uvicorn

    config: dict[str, Any] = {
        **SERVER_OPTIONS,
        "lifespan": "on",
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        **options,
    }
    return uvicorn.Server(uvicorn.Config(app, **config))
