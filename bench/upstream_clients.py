"""The choice of upstream HTTP client: what one request to a no-op upstream costs in each.

    .venv/bin/python -m bench.upstream_clients [--requests 3000]

The live path is mostly one HTTP exchange with the upstream, so its client sets the floor of
every passthrough and record-mode request. Each client here sends the same ~60-byte chat
completion POST and reads the ~2 KB answer, one request at a time over one keep-alive
connection, to the no-op upstream of bench/live_path.py (bench/noop.py), on uvloop as the
server runs: wall and CPU microseconds per request (medians of three rounds, rounds
interleaved). The baseline is httpx, localaik's client before issue 16.

- httpx: `AsyncClient.send(stream=True)` then the body, as localaik used it.
- httpcore: the pool under httpx, without httpx's request and response models.
- aiohttp: `ClientSession.request` as `upstream/transport.py:AiohttpTransport` makes it
  (trust_env off, no cookies), then the body.
- aiohttp with trust_env: the same with aiohttp's `trust_env=True`, which reads ~/.netrc and
  the proxy variables on a worker thread for every request.
- direct: `upstream/direct.py:DirectTransport`, localaik's client for a plain `http://`
  upstream reached without a proxy (aiohttp takes the others).

Each client is also timed on one request after the process sat idle for 20 ms (median of 30),
as a paced stream's first request is. Target: the client localaik uses for a plain-http
upstream (direct) at most half httpx's time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpcore
import httpx
import uvloop

from bench import noop
from bench.report import Report
from localaik.upstream.direct import DirectTransport

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
DATA = json.dumps(BODY, separators=(",", ":")).encode()
HEADERS = {"Content-Type": "application/json"}

One = Callable[[], Awaitable[None]]


async def timed(one: One, requests: int) -> tuple[float, float, float]:
    """(wall µs, CPU µs) per request back to back, and wall µs of one after 20 ms idle."""
    for _ in range(200):  # warm: the connection, the pools
        await one()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await one()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    paused = []
    for _ in range(30):
        await asyncio.sleep(0.02)
        started = time.perf_counter()
        await one()
        paused.append(time.perf_counter() - started)
    return wall / requests * 1e6, cpu / requests * 1e6, statistics.median(paused) * 1e6


async def with_direct(url: str, requests: int) -> tuple[float, float, float]:
    client = DirectTransport(300.0)
    try:

        async def one() -> None:
            reply = await client.send("POST", url, headers=HEADERS, body=DATA)
            async for _ in reply.chunks():
                pass
            await reply.close()

        return await timed(one, requests)
    finally:
        await client.aclose()


async def with_httpx(url: str, requests: int) -> tuple[float, float, float]:
    async with httpx.AsyncClient(follow_redirects=False) as client:

        async def one() -> None:
            request = client.build_request("POST", url, content=DATA, headers=HEADERS)
            response = await client.send(request, stream=True)
            await response.aread()
            await response.aclose()

        return await timed(one, requests)


async def with_httpcore(url: str, requests: int) -> tuple[float, float, float]:
    async with httpcore.AsyncConnectionPool() as pool:

        async def one() -> None:
            response = await pool.request(
                "POST", url, content=DATA, headers=[(b"content-type", b"application/json")]
            )
            assert response.status == 200

        return await timed(one, requests)


async def with_aiohttp(
    url: str, requests: int, *, trust_env: bool = False
) -> tuple[float, float, float]:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), trust_env=trust_env
    ) as session:

        async def one() -> None:
            response = await session.request(
                "POST", url, data=DATA, headers=HEADERS, allow_redirects=False
            )
            await response.read()
            response.release()

        return await timed(one, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per client and round")
    options = parser.parse_args()
    report = Report("upstream_clients")
    clients: dict[str, Callable[[str, int], Awaitable[tuple[float, float, float]]]] = {
        "httpx": with_httpx,
        "httpcore": with_httpcore,
        "aiohttp": with_aiohttp,
        "aiohttp, trust_env": lambda url, n: with_aiohttp(url, n, trust_env=True),
        "direct": with_direct,
    }
    rounds: dict[str, list[tuple[float, float, float]]] = {name: [] for name in clients}
    with noop.upstream() as upstream:
        url = upstream.url + "/v1/chat/completions"
        for _ in range(3):
            for name, run in clients.items():
                rounds[name].append(uvloop.run(run(url, options.requests)))
    wall = {name: statistics.median(r[0] for r in found) for name, found in rounds.items()}
    cpu = {name: statistics.median(r[1] for r in found) for name, found in rounds.items()}
    paused = {name: statistics.median(r[2] for r in found) for name, found in rounds.items()}
    for name in clients:
        chosen = name == "direct"
        report.add(
            f"{name}: one request",
            round(wall[name], 1),
            round(wall["httpx"], 1),
            "µs",
            "≤ 0.5× httpx" if chosen else "",
            wall[name] <= 0.5 * wall["httpx"] if chosen else None,
            note=f"CPU {cpu[name]:.0f} µs (httpx {cpu['httpx']:.0f} µs); after 20 ms idle "
            f"{paused[name]:.0f} µs (httpx {paused['httpx']:.0f} µs)",
        )
    report.details["rounds"] = rounds
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
