"""The direct upstream client (`upstream/direct.py`, `upstream/connection.py`) against real
loopback servers that answer with exact bytes: keep-alive and when a connection is not kept,
the three ways a body ends, decompression, timeouts, cuts and garbage, the connection cap, and
which URLs it takes."""

from __future__ import annotations

import asyncio
import gc
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from localaik.upstream import connection, direct, transport
from localaik.upstream.connection import ConnectError, LocalProtocolError, RemoteProtocolError
from localaik.upstream.direct import DirectTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BODY = b'{"id":"chatcmpl-1","choices":[]}'


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test ended
        finally:
            writer.close()

    async def request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await reader.readexactly(length)
        self.requests.append(head + body)
        return head + body


@asynccontextmanager
async def serving(answer: Callable[[Server], Handler]) -> AsyncIterator[tuple[Server, str]]:
    server = Server(lambda r, w: answer(server)(r, w))
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/v1/chat/completions"
    finally:
        listener.close()


def answering(*answers: bytes) -> Callable[[Server], Handler]:
    """A server that gives its answers in turn, one per request, on whichever connection."""
    left = list(answers)

    def make(server: Server) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while left:
                await server.request(reader)
                writer.write(left.pop(0))
                await writer.drain()
            await reader.read()  # until the client closes

        return handler

    return make


def answering_once(answer: bytes) -> Callable[[Server], Handler]:
    """A server that answers each connection's first request with `answer`, then closes it."""

    def make(server: Server) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(answer)
            await writer.drain()

        return handler

    return make


def ok(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def fetch(client: DirectTransport, url: str, body: bytes | None = b"{}") -> bytes:
    reply = await client.send("POST", url, headers={"Accept": "*/*"}, body=body)
    try:
        return b"".join([chunk async for chunk in reply.chunks()])
    finally:
        await reply.close()


async def test_a_connection_is_kept_between_requests_and_the_request_is_plain_http() -> None:
    async with serving(answering(ok(), ok())) as (server, url):
        client = DirectTransport(5)
        assert await fetch(client, url) == BODY
        assert await fetch(client, url, b'{"a":1}') == BODY
        await client.aclose()
    assert server.connections == 1
    head, _, body = server.requests[1].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert b"Accept: */*" in lines and b"Content-Length: 7" in lines
    assert b"Accept-Encoding: identity" in lines and body == b'{"a":1}'
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)


async def test_an_idle_connection_is_not_reused_after_the_keepalive() -> None:
    async with serving(answering(ok(), ok())) as (server, url):
        client = DirectTransport(5, keepalive=0.05)
        await fetch(client, url)
        await asyncio.sleep(0.1)
        await fetch(client, url)
        await client.aclose()
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
        b"HTTP/1.1 200 OK\r\n\r\n" + BODY,  # read until the upstream closes
        b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
    ],
    ids=["connection-close", "until-close", "http-1.0"],
)
async def test_an_answer_that_ends_its_connection_is_read_whole_and_not_kept(
    answer: bytes,
) -> None:
    async with serving(answering_once(answer)) as (server, url):
        client = DirectTransport(5)
        assert await fetch(client, url) == BODY
        assert await fetch(client, url) == BODY
        await client.aclose()
    assert server.connections == 2


async def test_a_chunked_answer_arrives_as_its_chunks_and_the_connection_is_kept() -> None:
    frames = [b'data: {"n":%d}\n\n' % n for n in range(3)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in frames) + b"0\r\n\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    async with serving(answering(head + chunked, ok())) as (server, url):
        client = DirectTransport(5)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        assert reply.status == 200 and reply.headers["CONTENT-TYPE"] == "text/event-stream"
        assert b"".join([c async for c in reply.chunks()]) == b"".join(frames)
        await reply.close()
        assert await fetch(client, url) == BODY
        await client.aclose()
    assert server.connections == 1


async def test_a_gzip_answer_is_decompressed() -> None:
    packed = gzip.compress(BODY * 50)
    async with serving(answering(ok(packed, b"Content-Encoding: gzip\r\n"))) as (_, url):
        client = DirectTransport(5)
        assert await fetch(client, url) == BODY * 50
        await client.aclose()


async def test_a_body_left_unread_closes_its_connection() -> None:
    # 4 MiB: reading pauses long before its end, so the answer is not complete when closed.
    async with serving(answering(ok(b"x" * 4 * 1024**2), ok())) as (server, url):
        client = DirectTransport(5)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        await reply.close()  # nothing read
        assert await fetch(client, url) == BODY
        await client.aclose()
    assert server.connections == 2


async def test_an_answer_complete_but_unread_keeps_its_connection() -> None:
    async with serving(answering(ok(b"x" * 1000), ok())) as (server, url):
        client = DirectTransport(5)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        await asyncio.sleep(0.05)  # all of it arrived
        await reply.close()
        assert await fetch(client, url) == BODY
        await client.aclose()
    assert server.connections == 1


async def test_a_large_body_read_slowly_arrives_whole() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: reading pauses and resumes
    async with serving(answering(ok(big))) as (_, url):
        client = DirectTransport(5)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        parts = []
        async for chunk in reply.chunks():
            parts.append(chunk)
            await asyncio.sleep(0.001)
        await reply.close()
        await client.aclose()
    assert b"".join(parts) == big


async def test_a_cut_body_gives_what_arrived_then_a_protocol_error() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    def cutting(server: Server) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(head + b"data: one\n\n")  # and the cut in the same breath

        return handler

    async with serving(cutting) as (_, url):
        client = DirectTransport(5)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        got = []
        with pytest.raises(RemoteProtocolError, match="complete body"):
            async for chunk in reply.chunks():
                got.append(chunk)
        await reply.close()
        await client.aclose()
    assert got == [b"data: one\n\n"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"", "without sending a response"),
        (b"NOT HTTP AT ALL\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", "exceed"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nxx", "br"),
    ],
    ids=["nothing", "garbage", "huge-headers", "unknown-encoding"],
)
async def test_a_broken_answer_is_a_protocol_error(answer: bytes, message: str) -> None:
    async with serving(answering_once(answer)) as (_, url):
        client = DirectTransport(5)
        with pytest.raises(RemoteProtocolError, match=message):
            await fetch(client, url)
        await client.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    client = DirectTransport(5)
    with pytest.raises(ConnectError):
        await fetch(client, f"http://127.0.0.1:{port}/v1/models")


def silent(server: Server) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        await writer.drain()
        await reader.read()

    return handler


async def test_no_data_within_the_read_timeout_is_a_timeout() -> None:
    async with serving(silent) as (_, url):
        client = DirectTransport(0.1)
        reply = await client.send("POST", url, headers={}, body=b"{}")
        with pytest.raises(TimeoutError):
            async for _ in reply.chunks():
                pass
        await reply.close()
        await client.aclose()


async def test_a_whole_exchange_timeout_bounds_the_body_too() -> None:
    async with serving(silent) as (_, url):
        client = DirectTransport(60)
        reply = await client.send("GET", url, headers={}, body=None, timeout=0.1)
        with pytest.raises(TimeoutError):
            async for _ in reply.chunks():
                pass
        await reply.close()
        await client.aclose()


async def test_a_header_with_a_line_break_is_refused_before_sending() -> None:
    async with serving(answering(ok())) as (server, url):
        client = DirectTransport(5)
        with pytest.raises(LocalProtocolError):
            await client.send("POST", url, headers={"X-A": "b\r\nX-Evil: 1"}, body=b"{}")
        await client.aclose()
    assert server.requests == []


async def test_the_connection_cap_holds_a_request_until_a_reply_is_closed_or_dropped() -> None:
    async with serving(answering(ok(), ok(), ok(), ok())) as (_, url):
        client = DirectTransport(5, limit=1)
        first = await client.send("POST", url, headers={}, body=b"{}")
        second = asyncio.ensure_future(fetch(client, url))
        await asyncio.sleep(0.05)
        assert not second.done()
        await first.close()
        assert await asyncio.wait_for(second, 5) == BODY
        dropped = await client.send("POST", url, headers={}, body=b"{}")
        del dropped  # never closed: its connection is dropped and its slot freed
        gc.collect()
        assert await asyncio.wait_for(fetch(client, url), 5) == BODY
        await client.aclose()


def test_only_plain_http_without_credentials_or_a_proxy_goes_direct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    transport.goes_direct.cache_clear()
    transport._proxy_for.cache_clear()
    assert transport.goes_direct("http://127.0.0.1:8080/v1/chat/completions")
    assert not transport.goes_direct("https://api.example.com/v1/chat/completions")
    assert not transport.goes_direct("http://user:secret@127.0.0.1:8080/v1/models")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    transport.goes_direct.cache_clear()
    transport._proxy_for.cache_clear()
    assert not transport.goes_direct("http://10.0.0.5:8080/v1/models")
    transport.goes_direct.cache_clear()
    transport._proxy_for.cache_clear()


def test_the_request_line_and_host_are_ascii_whatever_the_url() -> None:
    (host, port), head = connection.target("http://bücher.example:8080/v1/chät?a=b%20c")
    assert (host, port) == ("bücher.example", 8080)
    assert head == b"/v1/ch%C3%A4t?a=b%20c HTTP/1.1\r\nHost: xn--bcher-kva.example:8080\r\n"
    assert connection.target("http://[::1]/v1/models")[1].endswith(b"Host: [::1]\r\n")


def test_the_direct_client_keeps_its_limits_in_one_place() -> None:
    assert transport.KEEPALIVE_SECONDS == direct.KEEPALIVE_SECONDS < 5
