"""Lookup scaling: hit latency with 100, 10k and 100k recordings; miss diagnosis with 10k.

    .venv/bin/python -m bench.lookup_scaling [--seconds 4] [--sizes 100,10000,100000]

Cassettes are filled directly (one transaction): Gemini and OpenAI requests that differ in
their text and settings, as a suite's recordings do, each with a small chat.completion answer.
`localaik serve --mode replay` serves each cassette; clients run in their own processes.

- p50 of a hit on one recording, over and over (wrk, 1 connection): what a test that repeats a
  request sees. Target: 100k ≤ 1.2× 100.
- p50 of first hits on 400 different recordings (each read from SQLite once, in a fresh
  server): what a suite that asks each question once sees. Informational, with the same ratio.
- miss diagnosis: the first miss (builds the nearest-match index) and p95 of 100 different
  misses after it, each a near variant of a recording, with 10k recordings. Target ≤ 50 ms;
  baseline: the same with 100 recordings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CHAT, GEMINI, ROOT, clean_env, localaik_serve, wrk
from bench.report import Report, percentile
from localaik import __version__
from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.cassette.recording import Recording
from localaik.cassette.store import store_for

TOPICS = ["weather", "invoices", "travel", "recipes", "football", "taxes", "gardening", "code"]


def request_for(i: int, variant: str = "") -> tuple[str, dict[str, Any], ClientRequest]:
    """The i-th recorded request (a variant differs in one word: a near miss)."""
    text = (
        f"Question {i} about {TOPICS[i % len(TOPICS)]}{variant}: what should the user "
        f"do next, in {i % 7 + 1} sentences?"
    )
    if i % 2 == 0:
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "generationConfig": {"temperature": (i % 5) / 10, "maxOutputTokens": 64 + i % 3},
        }
        return (
            GEMINI,
            body,
            ClientRequest("gemini", "generateContent", "gemini-2.0-flash", False, body),
        )
    body = {
        "model": "gpt-4o-mini",
        "temperature": (i % 5) / 10,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
    }
    return CHAT, body, ClientRequest("openai", "chat.completions", "gpt-4o-mini", False, body)


def recording(i: int) -> Recording:
    _, _, request = request_for(i)
    text = canonical_json(canonical(request))
    answer = {
        "id": f"chatcmpl-{i}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": f"Answer {i}: do the next thing, calmly.",
                },
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
    }
    return Recording(
        key=request_key(text),
        ordinal=0,
        family=request.family,
        operation=request.operation,
        model=request.model,
        stream=False,
        request=text,
        upstream_request=json.dumps({"method": "POST", "endpoint": "chat", "body": {}}),
        status=200,
        content_type="application/json",
        body=json.dumps(answer).encode(),
        frames=[],
        duration_ms=100.0,
        recorded_at="2026-01-01T00:00:00.000Z",
        localaik_version=__version__,
        upstream="http://bench/v1",
        upstream_model="bench",
        upstream_build=None,
    )


def build(path: Path, size: int) -> None:
    cassette = store_for(path)
    cassette.open(create=True)
    for start in range(0, size, 5000):
        cassette.save_all([recording(i) for i in range(start, min(size, start + 5000))])
    cassette.close()


CLIENT = """
import json, sys, time, httpx
url, requests = sys.argv[1], json.loads(open(sys.argv[2]).read())
times = []
with httpx.Client(base_url=url, timeout=60) as client:
    client.get("/health")
    for path, body, status in requests:
        started = time.perf_counter()
        response = client.post(path, json=body)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, response.text[:300]
print(json.dumps(times))
"""


def timed(url: str, requests: list[tuple[str, Any, int]], folder: Path) -> list[float]:
    """Milliseconds per request, sent one after another by a client in its own process."""
    file = folder / "requests.json"
    file.write_text(json.dumps(requests))
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, url, str(file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=clean_env(),
    )
    return [float(x) for x in json.loads(done.stdout)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--sizes", default="100,10000,100000")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    report = Report("lookup_scaling")
    repeat, first, misses = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            cassette = folder / f"c{size}.db"
            started = time.perf_counter()
            build(cassette, size)
            report.details[f"build_{size}_s"] = round(time.perf_counter() - started, 1)
            env = {"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}
            # First hits on many recordings, in a fresh server (nothing read before).
            picks = [size * k // 400 for k in range(400)]
            with localaik_serve(env) as server:
                first[size] = timed(server.url, [(*request_for(i)[:2], 200) for i in picks], folder)
            # The same request again and again: the key and the lookup, not the memo in front.
            with localaik_serve({**env, "LK_MEMO": "off"}) as server:
                path, body, _ = request_for(size // 2)
                wrk(server.url, path, json.dumps(body).encode(), connections=1, seconds=1)
                repeat[size] = wrk(
                    server.url,
                    path,
                    json.dumps(body).encode(),
                    connections=1,
                    seconds=options.seconds,
                )
                if size in (100, 10000):
                    near = [
                        (*request_for(size * k // 101, " (reworded)")[:2], 404) for k in range(101)
                    ]
                    misses[size] = timed(server.url, near, folder)

    smallest = sizes[0]
    for size in sizes:
        target = size == 100000 and smallest == 100
        report.add(
            f"hit p50, same request (LK_MEMO=off), {size:,} recordings",
            repeat[size].p50_ms,
            repeat[smallest].p50_ms,
            "ms",
            "100k ≤ 1.2× 100" if target else "",
            repeat[size].p50_ms <= 1.2 * repeat[smallest].p50_ms if target else None,
            note=f"{repeat[size].rps:,.0f} req/s, p99 {repeat[size].p99_ms:.2f} ms",
        )
    for size in sizes:
        report.add(
            f"hit p50, first read, {size:,} recordings",
            percentile(first[size], 50),
            percentile(first[smallest], 50),
            "ms",
            "",
            None,
            note=f"p95 {percentile(first[size], 95):.2f} ms over 400 recordings",
        )
    if 10000 in misses and 100 in misses:
        later, base = misses[10000][1:], misses[100][1:]
        report.add(
            "miss diagnosis p95, 10,000 recordings",
            percentile(later, 95),
            percentile(base, 95),
            "ms",
            "≤ 50 ms",
            percentile(later, 95) <= 50,
            note=f"the first miss (builds the index) {misses[10000][0]:.0f} ms "
            f"(100 recordings: {misses[100][0]:.0f} ms); p50 "
            f"{percentile(later, 50):.1f} ms",
        )
    report.details["repeat"] = {size: vars(load) for size, load in repeat.items()}
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
