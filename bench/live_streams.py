"""Part 3 of the live-path benchmark: a 300-frame stream through `localaik serve` in
passthrough against the same stream straight from the no-op upstream (what the figures mean is
in bench/live_path.py's docstring).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import noop
from bench.common import CHAT, ROOT, clean_env, localaik_serve
from bench.live_routes import ROUTES, STRAIGHT
from bench.report import Report, median

STREAM_FRAMES = 300
PACE_US = 1000


def run_client(url: str, path: str, body: bytes, repeats: int, folder: Path) -> list[Any]:
    """bench/stream_client.py in its own process: per stream, [marker, ms] per event."""
    body_file = folder / "stream-body.json"
    body_file.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-m", "bench.stream_client", url, path, str(body_file), str(repeats)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=clean_env(),
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def stream_times(streams: list[Any]) -> tuple[float, float]:
    """(frames per second, time to first frame in ms), medians over the streams."""
    rates = [STREAM_FRAMES / (events[-1][1] / 1000) for events in streams]
    firsts = [next(ms for marker, ms in events if marker is not None) for events in streams]
    return round(median(rates), 1), round(median(firsts), 3)


def streams(report: Report, binary: Path, folder: Path, repeats: int) -> None:
    """Part 3: a 300-frame stream through passthrough against it straight, paced and burst."""
    routes = {r.family: r for r in ROUTES if r.stream and r.family in ("openai", "gemini")}
    straight = STRAIGHT[True].json().replace(b"{unique}", b"stream")
    rounds = max(1, min(4, repeats // 5))
    per_round = max(1, repeats // rounds)
    for pace in (PACE_US, 0):
        kind = f"paced {pace} µs" if pace else "burst"
        with (
            noop.upstream(STREAM_FRAMES, pace, binary) as upstream,
            localaik_serve(
                {
                    "LK_MODE": "passthrough",
                    "LK_UPSTREAM": upstream.url + "/v1",
                    "LK_CASSETTE": str(folder / "streams.db"),
                }
            ) as server,
        ):
            for family, route in routes.items():
                body = route.json().replace(b"{unique}", b"stream")
                run_client(server.url, route.path, body, 2, folder)  # warm up
                run_client(upstream.url, CHAT, straight, 2, folder)
                through: list[Any] = []
                direct: list[Any] = []
                for _ in range(rounds):  # alternating, so drift hits both
                    through += run_client(server.url, route.path, body, per_round, folder)
                    direct += run_client(upstream.url, CHAT, straight, per_round, folder)
                (rate, first), (base_rate, base_first) = stream_times(through), stream_times(direct)
                added = first - base_first
                target = bool(pace)
                report.add(
                    f"300 frames {kind}, {family} stream: frames/s",
                    rate,
                    base_rate,
                    "frames/s",
                    "≥ 0.5×" if target else "",
                    rate >= 0.5 * base_rate if target else None,
                    note=f"last frame at {STREAM_FRAMES / rate * 1000:.1f} ms (straight "
                    f"{STREAM_FRAMES / base_rate * 1000:.1f} ms); medians of {len(through)}",
                )
                report.add(
                    f"300 frames {kind}, {family} stream: first frame",
                    first,
                    base_first,
                    "ms",
                    "added ≤ 1 ms" if target else "",
                    added <= 1.0 if target else None,
                    note=f"added {added:+.2f} ms",
                )
                report.details[f"stream {kind} {family}"] = {
                    "events_through": len(through[0]),
                    "events_straight": len(direct[0]),
                    "last_ms_through": [s[-1][1] for s in through],
                    "last_ms_straight": [s[-1][1] for s in direct],
                }
