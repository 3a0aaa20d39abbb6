"""Record overhead: time to first token and total time through localaik, recording, against
the same llama-server asked directly.

    .venv/bin/python -m bench.record_overhead [--requests 10]

`localaik serve --mode refresh` starts the bundled llama-server with the default model (needs
`localaik runtime install`): every request is forwarded, and its answer stored, as a miss in
record mode is. The baseline is the same llama-server, reached on its own port (the upstream
URL in localaik's /health) with the very body localaik sent it. Requests alternate between the
two, so drift hits both alike. Clients stream with httpx from this process; the servers are
their own processes. TTFT: from sending to the first event carrying text.

- OpenAI chat stream: the client's body is forwarded as it is.
- Gemini stream: through the translation; the direct request is the translated body that the
  cassette recorded.

Target: TTFT through localaik ≤ direct + 5 ms. The model's own jitter on a busy machine is tens
of milliseconds, so two figures are given: the median of the paired differences against the
direct requests, and the overhead inside the same request (the client's TTFT minus the
recorded offset of the upstream's first text frame: the time localaik itself added).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import GEMINI_SSE, localaik_serve
from bench.report import Report, median, percentile

PROMPT = "Say hello to the benchmark in one short sentence."
OPENAI_BODY = {
    "model": "localaik",
    "stream": True,
    "max_tokens": 24,
    "temperature": 0,
    "messages": [{"role": "user", "content": PROMPT}],
}
TEXT = re.compile(r'"(?:content|text)":"[^"]')  # an event that carries text
GEMINI_BODY = {
    "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
    "generationConfig": {"temperature": 0, "maxOutputTokens": 24},
}


def timed_stream(client: httpx.Client, url: str, body: Any) -> tuple[float, float]:
    """(TTFT, total) in ms for one streamed request."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if first is None and TEXT.search(line):
                first = (time.perf_counter() - started) * 1000
    total = (time.perf_counter() - started) * 1000
    assert first is not None, "no text in the stream"
    return first, total


def first_text_offset(cassette: Path, family: str) -> float:
    """When the upstream's first text frame arrived, in ms after localaik sent the request
    upstream, in the recording just made (refresh mode replaces it every time)."""
    with sqlite3.connect(cassette) as db:
        rows = db.execute(
            "SELECT f.offset_ms, f.data FROM frames f JOIN recordings r ON "
            "r.id = f.recording_id WHERE r.family = ? ORDER BY f.seq",
            (family,),
        ).fetchall()
    return next(offset for offset, data in rows if TEXT.search(data.decode()))


def wait_ready(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + "/health", timeout=5)
            if response.status_code == 200:
                return response.json()  # type: ignore[no-any-return]
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the bundled llama-server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="per side and route")
    options = parser.parse_args()
    report = Report("record_overhead")
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        cassette = Path(tmp) / "record.db"
        with localaik_serve(
            {"LK_MODE": "refresh", "LK_CASSETTE": str(cassette), "LK_LOG": "off"}
        ) as server:
            health = wait_ready(server.url)
            llama = health["upstream"]["url"]  # http://127.0.0.1:PORT/v1
            report.details["upstream"] = llama
            with httpx.Client(timeout=120) as client:
                routes = {"openai": (server.url + "/v1/chat/completions", OPENAI_BODY)}
                # The translated body of the Gemini request, as the cassette recorded it.
                timed_stream(client, server.url + GEMINI_SSE, GEMINI_BODY)
                with sqlite3.connect(cassette) as db:
                    (sent,) = db.execute(
                        "SELECT upstream_request FROM recordings WHERE family = 'gemini'"
                    ).fetchone()
                direct = {"openai": OPENAI_BODY, "gemini": json.loads(sent)["body"]}
                routes["gemini"] = (server.url + GEMINI_SSE, GEMINI_BODY)
                for family, (url, body) in routes.items():
                    for _ in range(2):  # warm both paths
                        timed_stream(client, url, body)
                        timed_stream(client, llama + "/chat/completions", direct[family])
                    through, straight, upstream = [], [], []
                    for _ in range(options.requests):
                        through.append(timed_stream(client, url, body))
                        upstream.append(first_text_offset(cassette, family))
                        straight.append(
                            timed_stream(client, llama + "/chat/completions", direct[family])
                        )
                    ttft = [t for t, _ in through]
                    ttft_direct = [t for t, _ in straight]
                    # The model's own jitter (tens of ms) swamps a difference of medians:
                    # the overhead is the median of the paired differences.
                    added = median([a - b for a, b in zip(ttft, ttft_direct, strict=True)])
                    report.add(
                        f"{family} TTFT (median)",
                        median(ttft),
                        median(ttft_direct),
                        "ms",
                        "≤ direct + 5 ms",
                        added <= 5.0,
                        note=f"added {added:+.1f} ms (median of {len(ttft)} paired "
                        f"differences); p95 {percentile(ttft, 95):.1f} ms (direct "
                        f"{percentile(ttft_direct, 95):.1f} ms)",
                    )
                    inside = [t - u for (t, _), u in zip(through, upstream, strict=True)]
                    report.add(
                        f"{family} TTFT added, same request",
                        median(inside),
                        None,
                        "ms",
                        "≤ 5 ms",
                        median(inside) <= 5.0,
                        note="client TTFT minus the recorded offset of the upstream's "
                        "first text frame in that very exchange (free of the "
                        f"model's jitter); p95 {percentile(inside, 95):.1f} ms",
                    )
                    totals = [t for _, t in through]
                    totals_direct = [t for _, t in straight]
                    report.add(
                        f"{family} total (median)",
                        median(totals),
                        median(totals_direct),
                        "ms",
                        "",
                        None,
                        note=f"added {median(totals) - median(totals_direct):+.1f} ms "
                        "(includes writing the recording)",
                    )
        with sqlite3.connect(cassette) as db:
            report.details["recordings_stored"] = db.execute(
                "SELECT count(*) FROM recordings"
            ).fetchone()[0]
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
