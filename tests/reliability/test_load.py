"""Load: 200 concurrent clients replaying for 30 s against a real `localaik serve` process.

The server replays a cassette recorded just before (plain and streamed answers of both
families); the clients are this test process, the server its own. Every answer must be a 200
with exactly the recorded bytes (0 errors), and the server's memory must not grow without bound:
its RSS is taken after a warm-up with all 200 connections open, then every second; the growth
over the run and the trend between its middle and last thirds are bounded. The figures are
printed with the test's result. LOCALAIK_TEST_LOAD_SECONDS and LOCALAIK_TEST_LOAD_CLIENTS
change the run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.reliability.families import CHAT, GEMINI, GEMINI_SSE
from tests.support import LocalaikProcess

SECONDS = float(os.environ.get("LOCALAIK_TEST_LOAD_SECONDS", "30"))
CLIENTS = int(os.environ.get("LOCALAIK_TEST_LOAD_CLIENTS", "200"))
WARMUP_SECONDS = 3.0
MIB = 1024 * 1024


def requests() -> list[tuple[str, dict[str, Any]]]:
    """A mix of what tests replay: plain and streamed, Gemini and OpenAI, a few prompts."""
    found = []
    for i in range(4):
        text = f"load test question {i}: tell me about replay"  # ~20-frame streams
        found.append((GEMINI, {"contents": [{"role": "user", "parts": [{"text": text}]}]}))
        found.append((GEMINI_SSE, {"contents": [{"role": "user", "parts": [{"text": text}]}]}))
        found.append(
            (CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]})
        )
        found.append(
            (
                CHAT,
                {
                    "model": "gpt-4o-mini",
                    "stream": True,
                    "messages": [{"role": "user", "content": text}],
                },
            )
        )
    return found


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def client_loop(
    http: httpx.AsyncClient,
    index: int,
    mix: list[tuple[str, Any]],
    expected: list[bytes],
    stop: float,
    counts: Counter[str],
    errors: Counter[str],
) -> None:
    i = index
    while time.monotonic() < stop:
        path, body = mix[i % len(mix)]
        try:
            response = await http.post(path, json=body)
            if response.status_code != 200:
                errors[f"status {response.status_code}"] += 1
            elif response.content != expected[i % len(mix)]:
                errors["different bytes"] += 1
            else:
                counts["ok"] += 1
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
        i += 1


async def run_clients(
    url: str,
    mix: list[tuple[str, Any]],
    expected: list[bytes],
    seconds: float,
    counts: Counter[str],
    errors: Counter[str],
) -> None:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        stop = time.monotonic() + seconds
        await asyncio.gather(
            *(client_loop(http, n, mix, expected, stop, counts, errors) for n in range(CLIENTS))
        )


@pytest.fixture(scope="module")
def cassette(
    fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[bytes]]:
    path = tmp_path_factory.mktemp("load") / "load.db"
    with LocalaikProcess(
        {
            "LK_UPSTREAM": fake_llama_process.url + "/v1",
            "LK_MODE": "record",
            "LK_CASSETTE": str(path),
        }
    ) as server:
        answers = [httpx.post(server.url + p, json=b, timeout=30) for p, b in requests()]
    assert [a.status_code for a in answers] == [200] * len(answers)
    return path, [a.content for a in answers]


# The default 300 s, plus the run itself, which LOCALAIK_TEST_LOAD_SECONDS may lengthen.
@pytest.mark.timeout(300 + WARMUP_SECONDS + SECONDS)
async def test_200_clients_replay_for_30_seconds_without_errors_or_memory_growth(
    cassette: tuple[Path, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, expected = cassette
    mix = requests()
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    with LocalaikProcess(
        {"LK_MODE": "replay", "LK_CASSETTE": str(path), "LK_LOG": "off"}
    ) as server:
        pid = server.process.pid
        await run_clients(server.url, mix, expected, WARMUP_SECONDS, Counter(), errors)
        before = rss(pid)
        samples: list[int] = []

        async def sample() -> None:
            while True:
                await asyncio.sleep(1)
                samples.append(rss(pid))

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        await run_clients(server.url, mix, expected, SECONDS, counts, errors)
        elapsed = time.monotonic() - started
        sampler.cancel()
        after = rss(pid)
        alive = server.process.poll() is None
        log = server.log()

    third = max(1, len(samples) // 3)
    middle = statistics.mean(samples[third : 2 * third] or samples)
    last = statistics.mean(samples[-third:])
    total = counts["ok"] + sum(errors.values())
    with capsys.disabled():
        print(
            f"\n  load: {CLIENTS} clients for {elapsed:.1f} s: {total} replays "
            f"({total / elapsed:.0f}/s), {sum(errors.values())} errors {dict(errors)}; "
            f"localaik RSS {before / MIB:.1f} MiB before, {after / MIB:.1f} MiB after "
            f"({(after - before) / MIB:+.1f} MiB), peak {max(samples, default=after) / MIB:.1f}"
            f" MiB, middle third {middle / MIB:.1f} MiB, last third {last / MIB:.1f} MiB"
        )

    assert alive, log[-3000:]
    assert not errors, dict(errors)
    assert counts["ok"] >= 5 * CLIENTS, "too few requests to call this a load test"
    assert "Traceback" not in log, log[-3000:]
    # Bounded: no more than 32 MiB (or 25 %) above the warm level, and flat at the end.
    assert after - before <= max(32 * MIB, before // 4)
    assert last - middle <= 8 * MIB
