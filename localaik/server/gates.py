"""The upstreams a server sends to: the one in `LK_UPSTREAM`, or the bundled llama-servers,
whose requests wait at a gate while the model loads (and the embeddings server is started by
the first embeddings request unless `LK_EMBEDDINGS=on`).

A bundled llama-server is a `Runtime`: this process's own `LlamaServer`, or one another
process runs for several servers (the pytest plugin's under pytest-xdist,
`localaik.testing.runtime_host`), which the first request that needs the model starts
(`lazy`)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from localaik.config import Embeddings, Mode, Settings
from localaik.errors import UpstreamStatus
from localaik.runtime.llama import RuntimeStartError, State
from localaik.upstream.client import Upstream
from localaik.upstream.transport import Transport

log = logging.getLogger("localaik")

# The upstream of a replay-only server: never contacted (its gate refuses every call).
UNUSED_UPSTREAM = "http://127.0.0.1:8080/v1"
NO_UPSTREAM = {
    Mode.REPLAY: "localaik started in replay mode without LK_UPSTREAM, so no model runs: this "
    "request is in a mode that asks one (a pytest marker's mode=). Set LK_UPSTREAM, or start "
    "localaik in a recording mode (--localaik-mode=record or once) to run the bundled model",
    Mode.ONCE: "localaik runs in mode once with no model (no LK_UPSTREAM, and no llama-server "
    "installed), so it replays the cassettes that exist and cannot record this request: run "
    "`localaik runtime install` or set LK_UPSTREAM, then run again",
}
NOT_RUNNING = "the bundled llama-server is not running; see localaik's log"


class Runtime(Protocol):
    """A bundled llama-server, as a server uses it (`LlamaServer` is one)."""

    @property
    def url(self) -> str: ...  # the OpenAI-compatible base URL

    @property
    def state(self) -> State: ...

    async def start(self) -> None: ...

    async def wait_ready(self) -> None: ...  # RuntimeStartError when it cannot be

    async def stop(self) -> None: ...


async def upstream_for(
    settings: Settings,
    http: Transport,
    runtime: Runtime | None,
    embed_runtime: Runtime | None,
    *,
    lazy: bool = False,
) -> Upstream:
    """The upstream of this server, its bundled llama-servers started (the embeddings one
    only with `LK_EMBEDDINGS=on`; none with `lazy`: the chat one by the first request that
    needs the model)."""
    gate = None
    cap = settings.upstream_max_bytes
    if runtime is not None and lazy:
        gate = _lazy_gate(runtime, "llama-server", "request that needs the model")
    elif runtime is not None:
        await runtime.start()
        gate = _ready_gate(runtime)
    embeddings = None
    if embed_runtime is not None:
        if settings.embeddings is Embeddings.ON:
            await embed_runtime.start()
            embed_gate = _ready_gate(embed_runtime)
        else:
            embed_gate = _lazy_gate(embed_runtime, "embeddings llama-server", "embeddings request")
        embeddings = Upstream(embed_runtime.url, http, gate=embed_gate, max_bytes=cap)
    elif runtime is not None:
        embeddings = Upstream(runtime.url, http, gate=_embeddings_off, max_bytes=cap)
    url = runtime.url if runtime else settings.upstream or UNUSED_UPSTREAM
    if without_upstream(settings, runtime):
        gate = functools.partial(_no_upstream, NO_UPSTREAM[settings.mode])
    return Upstream(
        url,
        http,
        auth_header=settings.upstream_auth_header,
        gate=gate,
        embeddings=embeddings,
        max_bytes=cap,
    )


def without_upstream(settings: Settings, runtime: Runtime | None) -> bool:
    """Whether this server runs with no upstream: in replay, or in once with no llama-server
    installed, and no LK_UPSTREAM. Its upstream's gate refuses every call, saying why."""
    return runtime is None and not settings.upstream and settings.mode in NO_UPSTREAM


def _ready_gate(runtime: Runtime) -> Callable[[], Awaitable[None]]:
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
            raise UpstreamStatus(503, NOT_RUNNING)
        try:
            await asyncio.shield(ready)
        except RuntimeStartError:  # logged once, by `log_failure`
            raise UpstreamStatus(503, NOT_RUNNING) from None

    return gate


def _lazy_gate(runtime: Runtime, name: str, first: str) -> Callable[[], Awaitable[None]]:
    """Like `_ready_gate`, but the first request that needs the server starts it (`name`:
    which server, `first`: which request, for the log and the error)."""
    gate: Callable[[], Awaitable[None]] | None = None
    lock = asyncio.Lock()

    async def lazy() -> None:
        nonlocal gate
        if gate is None:
            async with lock:
                if gate is None:
                    log.info("starting the %s for the first %s", name, first)
                    try:
                        await runtime.start()
                    except RuntimeStartError as exc:
                        log.error("%s", exc)
                        raise UpstreamStatus(
                            503, f"the bundled {name} cannot start; see localaik's log"
                        ) from None
                    gate = _ready_gate(runtime)
        await gate()

    return lazy


async def _no_upstream(why: str) -> None:
    raise UpstreamStatus(503, why)


async def _embeddings_off() -> None:
    raise UpstreamStatus(
        501,
        "embeddings are off in this localaik (LK_EMBEDDINGS=off): no embeddings llama-server runs",
    )
