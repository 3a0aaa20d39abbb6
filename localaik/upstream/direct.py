"""Plain HTTP/1.1 straight to an `http://` upstream: the live path's own client.

A forwarded request is mostly one exchange with the upstream, so the client's cost is a floor
under every passthrough and record-mode request. aiohttp spends about 110 µs of Python on one
small exchange, and 0.4 ms when the process sat idle before it (a paced stream's first frame);
this client, one `connection.Connection` per exchange, takes about a fifth of that
(`bench/upstream_clients.py`). It does only what an upstream reached straight needs:

- HTTP/1.1 keep-alive, one pool of at most `MAX_CONNECTIONS` connections; an idle one is
  dropped after `KEEPALIVE_SECONDS`; a reply dropped without being closed frees its slot;
- the read timeout between two reads (and a connect timeout), or one deadline for the whole
  exchange (`timeout`).

Anything else (https, a proxy from the environment, credentials in the URL) goes through
aiohttp: `transport.ServerTransport` chooses per upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from localaik.upstream.connection import (
    ConnectError,
    Connection,
    Headers,
    request_bytes,
    target,
)

CONNECT_TIMEOUT = 10.0
# Idle connections are dropped after this long: under the 5 s that llama-server (cpp-httplib)
# and most servers keep one, so a request never goes out on a connection being closed.
KEEPALIVE_SECONDS = 4.0
MAX_CONNECTIONS = 64


class _DirectReply:
    def __init__(
        self,
        transport: DirectTransport,
        key: tuple[str, int],
        conn: Connection,
        deadline: float | None,
    ) -> None:
        self._owner, self._key, self._conn, self._deadline = transport, key, conn, deadline
        self.status = conn.status
        self.headers = Headers(conn.headers)
        self._closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        read, timeout, deadline = self._conn.read, self._owner.read_timeout, self._deadline
        while chunk := await read(timeout, deadline):
            yield chunk

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.release(self._key, self._conn)

    def __del__(self) -> None:  # a reply dropped without `close`: closed on its loop
        loop = self._conn.loop
        if not self._closed and not loop.is_closed():
            self._closed = True
            loop.call_soon_threadsafe(self._owner.release, self._key, self._conn)


class DirectTransport:
    """HTTP/1.1 over asyncio to plain `http://` upstreams, one pool per server run."""

    def __init__(
        self,
        read_timeout: float | None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        keepalive: float = KEEPALIVE_SECONDS,
        limit: int = MAX_CONNECTIONS,
    ) -> None:
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[tuple[str, int], list[Connection]] = {}

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None = None,
    ) -> _DirectReply:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        key = target(url)[0]
        request = request_bytes(method, url, headers, body)
        await self._slots.acquire()
        conn = None
        try:
            conn = self._reused(key, loop) or await self._connect(key, loop, deadline)
            conn.start(request)
            await conn.head(self.read_timeout, deadline)
        except BaseException:
            if conn is not None:
                conn.close()
            self._slots.release()
            raise
        return _DirectReply(self, key, conn, deadline)

    def release(self, key: tuple[str, int], conn: Connection) -> None:
        """A reply closed: its connection back in the pool if its answer was read to the end."""
        if conn.reusable and not conn.lost:  # set when its answer was read to the end
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()
        self._slots.release()

    def _reused(self, key: tuple[str, int], loop: asyncio.AbstractEventLoop) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable and not conn.lost and loop.time() - conn.idle_since < self.keepalive:
                return conn
            conn.close()
        return None

    async def _connect(
        self, key: tuple[str, int], loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> Connection:
        limit = self.connect_timeout
        if deadline is not None:
            limit = min(limit, max(0.0, deadline - loop.time()))
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(lambda: Connection(loop), *key)
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from None
        return conn

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
