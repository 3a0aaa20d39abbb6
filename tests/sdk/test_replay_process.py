"""Record/replay through real processes and sockets: timing, concurrency, crashes.

Each test drives `localaik serve` (tests.support.LocalaikProcess) in front of the fake
llama-server subprocess, and reads the cassette afterwards with `localaik.store.Cassette` or
plain sqlite3, as a user's tools would.

Timing is measured client side: the moment each event's blank line arrives, relative to the
moment the request was sent, compared with the recorded upstream frame offsets. localaik
re-frames upstream events into client events, so client events are matched to the upstream
frames that produce them (see `producing_frames`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.cassette.recording import Recording
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

MODEL = "gemini-2.0-flash"
GEMINI_SSE = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
GEMINI_PLAIN = f"/v1beta/models/{MODEL}:generateContent"
CHAT = "/v1/chat/completions"
DONE_FRAME = b"data: [DONE]\n\n"

GEMINI_SEPARATOR = b"\r\n\r\n"
OPENAI_SEPARATOR = b"\n\n"


# --------------------------------------------------------------------------------------------
# Helpers


def gemini_body(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat_body(text: str, *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    return body


def integrity(path: Path) -> tuple[str, list[Any]]:
    """`PRAGMA integrity_check` and `PRAGMA foreign_key_check` with the sqlite3 module."""
    conn = sqlite3.connect(path)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchall()
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    return "; ".join(row[0] for row in check), orphans


def stream_chunk(frame: bytes) -> dict[str, Any] | None:
    """The JSON of one recorded upstream SSE frame (None for `[DONE]`)."""
    data = frame.removeprefix(b"data: ").strip()
    return None if data == b"[DONE]" else json.loads(data)


def delta_text(frame: bytes) -> str:
    chunk = stream_chunk(frame)
    if not chunk or not chunk.get("choices"):
        return ""
    return chunk["choices"][0].get("delta", {}).get("content") or ""


def streamed_text(recording: Recording) -> str:
    return "".join(delta_text(frame.data) for frame in recording.frames)


def producing_frames(recording: Recording, family: str) -> list[int]:
    """Indices of the upstream frames that each produce one client event, in order.

    OpenAI: every upstream frame is passed on as one client event (`[DONE]` included).
    Gemini: the role-only chunk, the finish chunk and the usage chunk produce no event; each
    chunk with text produces one, and the last event (finishReason + usageMetadata) goes out
    when `[DONE]` arrives.
    """
    frames = [frame.data for frame in recording.frames]
    if family == "openai":
        return list(range(len(frames)))
    return [index for index, data in enumerate(frames) if delta_text(data) or data == DONE_FRAME]


def find_recording(path: Path, family: str, stream: bool, marker: str) -> Recording:
    found = [
        r
        for r in all_recordings(path)
        if r.family == family and r.stream == stream and marker in r.request
    ]
    assert len(found) == 1, f"{len(found)} recordings for {family} {marker!r} in {path}"
    return found[0]


def stream_arrivals(
    client: httpx.Client, url: str, body: dict[str, Any], separator: bytes
) -> tuple[float, list[tuple[float, bytes]]]:
    """(ms to the response headers, [(ms at which each event was complete, event)]).

    Times are from just before the request is sent. The connection is expected to be warm
    (the caller made a request on `client` before), so connecting is not measured.
    """
    content = json.dumps(body).encode()
    events: list[tuple[float, bytes]] = []
    buffer = b""
    gc.disable()
    try:
        started = time.perf_counter()
        with client.stream(
            "POST", url, content=content, headers={"content-type": "application/json"}
        ) as response:
            headers_ms = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.read()
            for chunk in response.iter_raw():
                now = (time.perf_counter() - started) * 1000
                buffer += chunk
                while separator in buffer:
                    event, buffer = buffer.split(separator, 1)
                    events.append((now, event))
    finally:
        gc.enable()
    assert not buffer.strip(), buffer
    return headers_ms, events


def warm_up(client: httpx.Client) -> None:
    """Open the connection, and have the server open the cassette (a miss), before timing."""
    assert client.get("/health").status_code == 200
    assert client.post(CHAT, json=chat_body("warm up")).status_code == 404


def kill(server: LocalaikProcess) -> None:
    """SIGKILL the server process (no cleanup of any kind runs) and reap it."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def cassette_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cassettes")


@pytest.fixture(scope="module")
def recorder(fake_llama_process: FakeLlama, cassette_dir: Path) -> Iterator[LocalaikProcess]:
    """A record-mode localaik; tests pick their own cassette with X-Localaik-Cassette."""
    with LocalaikProcess(
        {
            "LK_UPSTREAM": fake_llama_process.url + "/v1",
            "LK_MODE": "record",
            "LK_CASSETTE": str(cassette_dir / "default.db"),
        }
    ) as server:
        yield server


TIMING_TEXT = "abcdefghijklmnopqrstu [[slow:40]]"
TIMED = {
    "gemini": (GEMINI_SSE, gemini_body(TIMING_TEXT), GEMINI_SEPARATOR),
    "openai": (CHAT, chat_body(TIMING_TEXT, stream=True), OPENAI_SEPARATOR),
}


LIVE_TIMED: dict[str, bytes] = {}  # what the live recording answered, per family


@pytest.fixture(scope="module")
def timing_cassette(recorder: LocalaikProcess, cassette_dir: Path) -> Path:
    """Two streams recorded live with frames ~40 ms apart (Gemini SSE and OpenAI chat)."""
    for family, (url, body, _) in TIMED.items():
        response = httpx.post(
            recorder.url + url, json=body, timeout=10, headers={"x-localaik-cassette": "timing"}
        )
        assert response.status_code == 200, response.text
        LIVE_TIMED[family] = response.content
    return cassette_dir / "timing.db"


def replay_server(cassette: Path, speed: str) -> LocalaikProcess:
    # No LK_UPSTREAM: nothing must be forwarded in replay mode (port 9 is the discard port).
    return LocalaikProcess(
        {
            "LK_MODE": "replay",
            "LK_CASSETTE": str(cassette),
            "LK_REPLAY_SPEED": speed,
            "LK_UPSTREAM": "http://127.0.0.1:9/v1",
        }
    )


# --------------------------------------------------------------------------------------------
# 1. Timing


@pytest.mark.parametrize("speed", [1, 2])
def test_replay_reproduces_recorded_offsets(timing_cassette: Path, speed: int) -> None:
    """Each client event arrives at its upstream frame's recorded offset / speed.

    Tolerance: max(5 ms, 5 % of the offset). The whole stream may be shifted by the request's
    own latency (the time to the response headers, i.e. localaik parsing and looking up the
    request), which is the allowance the first event gets; the others keep pace from there.
    """
    report = []
    with (
        replay_server(timing_cassette, str(speed)) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        warm_up(client)
        for family, (url, body, separator) in TIMED.items():
            recording = find_recording(timing_cassette, family, True, "abcdefghijklmnopqrstu")
            producing = producing_frames(recording, family)
            latency, events = stream_arrivals(client, url, body, separator)
            assert len(events) == len(producing), (family, len(events), len(producing))
            assert latency < 25, f"{family}: {latency:.1f} ms to the response headers"
            worst = (0.0, 0.0, -1, 0.0)  # (share of the tolerance, deviation, event, expected)
            for number, ((arrived, _), frame_index) in enumerate(
                zip(events, producing, strict=True)
            ):
                expected = recording.frames[frame_index].offset_ms / speed
                deviation = arrived - latency - expected
                tolerance = max(5.0, 0.05 * expected)
                worst = max(worst, (abs(deviation) / tolerance, deviation, number, expected))
                assert abs(deviation) <= tolerance, (
                    f"{family} speed {speed}: event {number} arrived at {arrived:.1f} ms, "
                    f"expected {expected:.1f} ms + {latency:.1f} ms latency "
                    f"(deviation {deviation:+.1f} ms, tolerance {tolerance:.1f} ms); "
                    f"all arrivals {[round(t, 1) for t, _ in events]}"
                )
            report.append(
                f"{family}: latency {latency:.1f} ms, worst deviation "
                f"{worst[1]:+.1f} ms (event {worst[2]}, expected {worst[3]:.1f} ms)"
            )
    print(f"\nspeed {speed}: " + "; ".join(report))


def test_replay_speed_zero_sends_at_once(timing_cassette: Path) -> None:
    with (
        replay_server(timing_cassette, "0") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        warm_up(client)
        for family, (url, body, separator) in TIMED.items():
            recording = find_recording(timing_cassette, family, True, "abcdefghijklmnopqrstu")
            _, events = stream_arrivals(client, url, body, separator)
            total = events[-1][0]
            assert len(events) == len(producing_frames(recording, family))
            assert recording.duration_ms > 400, recording.duration_ms
            assert total < 0.2 * recording.duration_ms, (
                f"{family}: whole stream took {total:.1f} ms at speed 0, recorded "
                f"{recording.duration_ms:.1f} ms"
            )
            print(
                f"\nspeed 0 {family}: {total:.1f} ms for a {recording.duration_ms:.0f} ms recording"
            )


def test_replayed_stream_is_the_recorded_one(timing_cassette: Path) -> None:
    """A paced replay delivers the very bytes the live recording delivered."""
    with replay_server(timing_cassette, "4") as server:
        for family, (url, body, _) in TIMED.items():
            replayed = httpx.post(server.url + url, json=body, timeout=10)
            assert replayed.content == LIVE_TIMED[family]


# --------------------------------------------------------------------------------------------
# 2. Concurrency


def distinct_request(number: int) -> tuple[str, dict[str, Any], str]:
    """(path, body, the text the answer must echo) for the number-th distinct request."""
    text = f"distinct request number {number}"
    kind = number % 4
    if kind == 0:
        return GEMINI_PLAIN, gemini_body(text), text
    if kind == 1:
        return GEMINI_SSE, gemini_body(text), text
    if kind == 2:
        return CHAT, chat_body(text), text
    return CHAT, chat_body(text, stream=True), text


def echoed(path: str, content: bytes) -> str:
    """The answer's text, whichever shape it came in."""
    if path == GEMINI_PLAIN:
        return "".join(p["text"] for p in json.loads(content)["candidates"][0]["content"]["parts"])
    if path == GEMINI_SSE:
        events = content.strip().split(GEMINI_SEPARATOR)
        return "".join(
            p.get("text", "")
            for e in events
            for p in json.loads(e.removeprefix(b"data: "))["candidates"][0]["content"]["parts"]
        )
    if content.startswith(b"data:"):
        frames = content.strip().split(OPENAI_SEPARATOR)
        assert frames[-1] == b"data: [DONE]"
        return "".join(
            json.loads(f.removeprefix(b"data: "))["choices"][0]["delta"].get("content") or ""
            for f in frames[:-1]
        )
    return json.loads(content)["choices"][0]["message"]["content"]


async def burst(
    url: str, requests: list[tuple[str, dict[str, Any]]], headers: dict[str, str]
) -> tuple[float, list[httpx.Response]]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(client.post(path, json=body, headers=headers) for path, body in requests)
        )
        return (time.perf_counter() - started) * 1000, list(responses)


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


async def test_64_concurrent_distinct_misses_all_recorded(
    recorder: LocalaikProcess, fake_llama: FakeLlama, cassette_dir: Path
) -> None:
    requests = [distinct_request(number) for number in range(64)]
    headers = {"x-localaik-cassette": "distinct"}

    elapsed, responses = await burst(recorder.url, [(p, b) for p, b, _ in requests], headers)

    assert [r.status_code for r in responses] == [200] * 64, [
        (r.status_code, r.text[:200]) for r in responses if r.status_code != 200
    ]
    for (path, _, text), response in zip(requests, responses, strict=True):
        assert echoed(path, response.content) == "Echo: " + text
    assert len(chat_requests(fake_llama)) == 64
    recordings = all_recordings(cassette_dir / "distinct.db")
    assert len(recordings) == 64
    assert len({(r.key, r.ordinal) for r in recordings}) == 64
    assert all(r.status == 200 for r in recordings)
    print(f"\n64 concurrent distinct misses recorded in {elapsed:.0f} ms")

    # The same burst again: 64 hits, nothing forwarded, the same answers.
    fake_llama.reset()
    _, again = await burst(recorder.url, [(p, b) for p, b, _ in requests], headers)
    assert [r.content for r in again] == [r.content for r in responses]
    assert chat_requests(fake_llama) == []
    assert len(all_recordings(cassette_dir / "distinct.db")) == 64


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GEMINI_SSE, gemini_body("the same slow question [[slow:20]]")),
        (CHAT, chat_body("the same slow question [[slow:20]]", stream=True)),
        (GEMINI_PLAIN, gemini_body("the same slow question [[slow:20]]")),
        (CHAT, chat_body("the same slow question [[slow:20]]")),
    ],
    ids=["gemini-stream", "openai-stream", "gemini-plain", "openai-plain"],
)
async def test_16_concurrent_identical_misses_make_one_upstream_call(
    recorder: LocalaikProcess,
    fake_llama: FakeLlama,
    cassette_dir: Path,
    path: str,
    body: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    # ([[slow]] slows streams only; the non-stream variants overlap less. The app tests hold
    # the upstream answer back to make sure 16 identical non-stream misses overlap.)
    name = f"flight-{request.node.callspec.id}"

    _, responses = await burst(recorder.url, [(path, body)] * 16, {"x-localaik-cassette": name})

    assert [r.status_code for r in responses] == [200] * 16, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert echoed(path, responses[0].content) == "Echo: the same slow question"
    assert len(chat_requests(fake_llama)) == 1
    assert len(all_recordings(cassette_dir / f"{name}.db")) == 1


async def test_client_leaving_mid_stream_does_not_block_the_next_identical_request(
    recorder: LocalaikProcess, fake_llama: FakeLlama, cassette_dir: Path
) -> None:
    """A recording interrupted by its client is not stored, and does not hold up the next."""
    body = chat_body("abcdefghijklmno [[slow:50]]", stream=True)
    headers = {"x-localaik-cassette": "left"}
    async with httpx.AsyncClient(base_url=recorder.url, timeout=30) as client:
        async with client.stream("POST", CHAT, json=body, headers=headers) as response:
            assert response.status_code == 200
            seen = b""
            async for chunk in response.aiter_raw():
                seen += chunk
                if seen.count(OPENAI_SEPARATOR) >= 2:
                    break
        started = time.perf_counter()
        again = await asyncio.wait_for(client.post(CHAT, json=body, headers=headers), 15)
        elapsed = time.perf_counter() - started

    assert again.status_code == 200
    assert again.content.endswith(b"data: [DONE]\n\n")
    assert echoed(CHAT, again.content) == "Echo: abcdefghijklmno"
    assert elapsed < 5, f"the second request waited {elapsed:.1f} s for the abandoned one"
    recordings = all_recordings(cassette_dir / "left.db")
    assert len(recordings) == 1
    assert recordings[0].frames[-1].data == DONE_FRAME


# --------------------------------------------------------------------------------------------
# 3. Crashes


def test_sigkill_mid_stream_leaves_a_sound_cassette_without_the_stream(
    fake_llama_process: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "crash.db"
    env = {
        "LK_UPSTREAM": fake_llama_process.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(cassette),
    }
    slow = chat_body(
        "a long answer that streams slowly, frame by frame " * 2 + "[[slow:100]]", stream=True
    )
    with LocalaikProcess(env) as server:
        anchor = httpx.post(
            server.url + CHAT, json=chat_body("recorded before the crash"), timeout=10
        )
        assert anchor.status_code == 200
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream("POST", CHAT, json=slow) as response,
        ):
            assert response.status_code == 200
            seen = b""
            for chunk in response.iter_raw():
                seen += chunk
                if seen.count(OPENAI_SEPARATOR) >= 3:
                    kill(server)
                    break
        assert server.process.returncode == -signal.SIGKILL

    assert integrity(cassette) == ("ok", [])
    recordings = all_recordings(cassette)
    assert [r.request for r in recordings if "streams slowly" in r.request] == []
    assert len(recordings) == 1 and "recorded before the crash" in recordings[0].request

    # The cassette still serves: the anchor replays, the killed stream is a miss.
    with replay_server(cassette, "0") as server:
        assert (
            httpx.post(
                server.url + CHAT, json=chat_body("recorded before the crash"), timeout=10
            ).content
            == anchor.content
        )
        miss = httpx.post(server.url + CHAT, json=slow, timeout=10)
        assert miss.status_code == 404 and miss.json()["error"]["code"] == "replay_miss"


async def test_sigkill_during_a_burst_of_recordings_keeps_every_recording_whole(
    fake_llama_process: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "burst.db"
    env = {
        "LK_UPSTREAM": fake_llama_process.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(cassette),
    }
    total, kill_after = 240, 40
    texts = [f"burst {number} " + "x" * (number % 17) + " [[slow:2]]" for number in range(total)]
    finished: list[str] = []  # texts whose stream the client received whole ([DONE])

    with LocalaikProcess(env) as server:
        killed = asyncio.Event()

        async def one(client: httpx.AsyncClient, text: str) -> None:
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post(CHAT, json=chat_body(text, stream=True))
                if response.content.endswith(DONE_FRAME):
                    finished.append(text)
                    if len(finished) >= kill_after and not killed.is_set():
                        killed.set()
                        kill(server)

        limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
        async with httpx.AsyncClient(base_url=server.url, timeout=20, limits=limits) as client:
            await asyncio.wait_for(asyncio.gather(*(one(client, t) for t in texts)), 60)
        assert killed.is_set(), "the burst finished before the kill"

    assert integrity(cassette) == ("ok", [])
    recordings = all_recordings(cassette)
    stored = {}
    for recording in recordings:
        frames = [frame.data for frame in recording.frames]
        assert frames and frames[-1] == DONE_FRAME, (recording.key, frames[-2:])
        assert stream_chunk(frames[0])["choices"][0]["delta"].get("role") == "assistant"
        text = json.loads(recording.request)["body"]["messages"][0]["content"]
        assert streamed_text(recording) == "Echo: " + text.replace("[[slow:2]]", "").strip()
        stored[text] = recording
    missing = [text for text in finished if text not in stored]
    assert missing == [], f"{len(missing)} streams the client got whole were not stored"
    conn = sqlite3.connect(cassette)
    try:
        gaps = conn.execute(
            "SELECT recording_id, count(*), max(seq) FROM frames "
            "GROUP BY recording_id HAVING count(*) != max(seq) + 1"
        ).fetchall()
    finally:
        conn.close()
    assert gaps == []
    print(
        f"\nkilled after {len(finished)} whole streams; {len(recordings)} recordings stored, "
        f"all whole"
    )
