"""Stream replay: a recorded 300-frame stream, replayed at once and at its recorded pace.

    .venv/bin/python -m bench.stream_replay [--repeats 40] [--paced-repeats 5]

The recording is built directly: 298 content chunks carrying markers ("f000 " … "f297 "), a
finish chunk and `[DONE]`, one every 10 ms (2.99 s in all). It is replayed to the Gemini
(`streamGenerateContent?alt=sse`) and OpenAI (`chat/completions`, stream) routes of
`localaik serve --mode replay`; the client (bench/stream_client.py) is its own process and
times every event from the moment it sends the request.

- speed 0 (LK_REPLAY_SPEED=0): the time until the whole stream is delivered, p95 over the
  repeats. Target ≤ 20 ms.
- speed 1: each frame's lateness against its recorded offset. Target: every frame within
  max(5 ms, 5 % of its offset); the worst is reported.

Baseline: a bare Litestar app under the same ASGI server sending the same client bytes (at once,
or each at its frame's offset with the same asyncio pacing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import CHAT, GEMINI_SSE, ROOT, clean_env, localaik_serve, serve
from bench.replay_hit import SHIPPED
from bench.report import Report, percentile
from localaik import __version__
from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.cassette.recording import Frame, Recording
from localaik.cassette.store import store_for

FRAMES = 300
SPACING_MS = 10.0
ROUTES = {"gemini": GEMINI_SSE, "openai": CHAT}
BODIES: dict[str, Any] = {
    "gemini": {"contents": [{"role": "user", "parts": [{"text": "stream 300 frames"}]}]},
    "openai": {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": "stream 300 frames"}],
    },
}


def upstream_frames() -> list[Frame]:
    def chunk(
        delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None
    ) -> bytes:
        data: dict[str, Any] = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            data["usage"] = usage
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    frames = [chunk({"role": "assistant", "content": "f000 "})]
    frames += [chunk({"content": f"f{i:03d} "}) for i in range(1, FRAMES - 2)]
    frames.append(
        chunk(
            {},
            "stop",
            {"prompt_tokens": 3, "completion_tokens": FRAMES - 2, "total_tokens": FRAMES + 1},
        )
    )
    frames.append(b"data: [DONE]\n\n")
    return [Frame(round((i + 1) * SPACING_MS, 3), data) for i, data in enumerate(frames)]


def build_cassette(path: Path) -> None:
    cassette = store_for(path)
    cassette.open(create=True)
    recordings = []
    for family, body in BODIES.items():
        if family == "gemini":
            request = ClientRequest("gemini", "generateContent", "gemini-2.0-flash", True, body)
        else:
            request = ClientRequest("openai", "chat.completions", "gpt-4o-mini", True, body)
        text = canonical_json(canonical(request))
        recordings.append(
            Recording(
                key=request_key(text),
                ordinal=0,
                family=request.family,
                operation=request.operation,
                model=request.model,
                stream=True,
                request=text,
                upstream_request=json.dumps({"method": "POST", "endpoint": "chat", "body": {}}),
                status=200,
                content_type="text/event-stream",
                body=None,
                frames=upstream_frames(),
                duration_ms=FRAMES * SPACING_MS,
                recorded_at="2026-01-01T00:00:00.000Z",
                localaik_version=__version__,
                upstream="http://bench/v1",
                upstream_model="bench",
                upstream_build=None,
            )
        )
    cassette.save_all(recordings)
    cassette.close()


def run_client(url: str, family: str, repeats: int, folder: Path) -> list[list[list[Any]]]:
    body_file = folder / f"{family}.json"
    body_file.write_text(json.dumps(BODIES[family]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.stream_client",
            url,
            ROUTES[family],
            str(body_file),
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=clean_env(),
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def offset_of(marker: int | None, position: int, count: int) -> float | None:
    """The recorded offset of the frame an event came from (the last event: `[DONE]`'s)."""
    if marker is not None:
        return (marker + 1) * SPACING_MS
    if position == count - 1:
        return FRAMES * SPACING_MS
    return None


def lateness(streams: list[list[list[Any]]]) -> dict[str, Any]:
    """The worst deviation of any frame from its offset, absolute and against its allowance."""
    worst_ms, worst_share, failing, checked = 0.0, 0.0, 0, 0
    for events in streams:
        for position, (marker, arrived) in enumerate(events):
            offset = offset_of(marker, position, len(events))
            if offset is None:
                continue
            deviation = arrived - offset
            allowance = max(5.0, 0.05 * offset)
            checked += 1
            failing += abs(deviation) > allowance
            if abs(deviation) > abs(worst_ms):
                worst_ms = deviation
            worst_share = max(worst_share, abs(deviation) / allowance)
    return {
        "worst_ms": round(worst_ms, 2),
        "worst_of_allowance": round(worst_share, 2),
        "frames_checked": checked,
        "frames_outside": failing,
    }


def client_bytes(url: str, family: str) -> list[list[Any]]:
    """The events localaik sends for the recording, each with its frame's offset."""
    import httpx

    response = httpx.post(url + ROUTES[family], json=BODIES[family], timeout=30)
    assert response.status_code == 200
    separator = "\r\n\r\n" if family == "gemini" else "\n\n"
    events = response.text.split(separator)[:-1]
    out = []
    for position, event in enumerate(events):
        marker = next(
            (
                int(event[i + 1 : i + 4])
                for i in range(len(event) - 4)
                if event[i] == "f" and event[i + 1 : i + 4].isdigit() and event[i + 4] == " "
            ),
            None,
        )
        offset = offset_of(marker, position, len(events))
        out.append([offset if offset is not None else 0.0, event + separator])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40, help="streams at speed 0")
    parser.add_argument("--paced-repeats", type=int, default=5, help="streams at speed 1")
    options = parser.parse_args()
    report = Report("stream_replay")
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        folder = Path(tmp)
        cassette = folder / "stream.db"
        build_cassette(cassette)
        results: dict[tuple[str, str], Any] = {}
        answers: dict[str, Any] = {}
        for speed in ("0", "1"):
            with localaik_serve(
                {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_REPLAY_SPEED": speed}
            ) as server:
                for family in ROUTES:
                    if speed == "0":
                        answers[ROUTES[family]] = {
                            "frames": client_bytes(server.url, family),
                            "content_type": "text/event-stream",
                        }
                    repeats = options.repeats if speed == "0" else options.paced_repeats
                    run_client(server.url, family, 2, folder)  # warm up
                    results[("localaik", speed, family)] = run_client(
                        server.url, family, repeats, folder
                    )
        answers_file = folder / "answers.json"
        answers_file.write_text(json.dumps(answers))
        for speed in ("0", "1"):
            env = clean_env(BENCH_ANSWERS=str(answers_file), BENCH_SPEED=speed)
            with serve(SHIPPED, "bench.apps:baseline_app", env) as base:
                for family in ROUTES:
                    repeats = options.repeats if speed == "0" else options.paced_repeats
                    run_client(base.url, family, 2, folder)
                    results[("baseline", speed, family)] = run_client(
                        base.url, family, repeats, folder
                    )

    for family in ROUTES:
        ours = [s[-1][1] for s in results[("localaik", "0", family)]]
        theirs = [s[-1][1] for s in results[("baseline", "0", family)]]
        events = len(results[("localaik", "0", family)][0])
        report.add(
            f"{family} speed 0: {events} events delivered, p95",
            percentile(ours, 95),
            percentile(theirs, 95),
            "ms",
            "≤ 20 ms",
            percentile(ours, 95) <= 20,
            note=f"p50 {percentile(ours, 50):.2f} ms (bare "
            f"{percentile(theirs, 50):.2f} ms), {len(ours)} streams",
        )
        mine = lateness(results[("localaik", "1", family)])
        base = lateness(results[("baseline", "1", family)])
        report.add(
            f"{family} speed 1: worst frame vs its offset",
            mine["worst_ms"],
            base["worst_ms"],
            "ms",
            "every frame within max(5 ms, 5 %)",
            mine["frames_outside"] == 0,
            note=f"{mine['frames_outside']} of {mine['frames_checked']} frames outside "
            f"(bare: {base['frames_outside']}); worst at "
            f"{mine['worst_of_allowance']:.2f}× its allowance",
        )
        report.details[family] = {"speed1_localaik": mine, "speed1_baseline": base}
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
