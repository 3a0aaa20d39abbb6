"""Replay hits: throughput and latency of a recorded ~2 KB answer, against a bare endpoint.

    .venv/bin/python -m bench.replay_hit [--seconds 5] [--servers all|none|NAME,…]

Part 1, the figures with targets: `localaik serve` as users run it (replay mode, the default
logging) answering a recorded non-stream Gemini and OpenAI answer of about 2 KB, from 1 and 16
keep-alive connections (wrk, its own process), against a bare Litestar app that answers the
same bytes on the same routes under the same ASGI server and options (bench/apps.py).
Targets: ≥ 0.6× the baseline's throughput and ≥ 1,000 req/s; added p50 ≤ 1 ms, p99 ≤ 5 ms.
The same with `LK_MEMO=off` is reported beside them: what a request's first replay costs, when
it is parsed, keyed, looked up and translated rather than answered from the memo.

Part 2, the choice of ASGI server: the same two apps under uvicorn (h11 + asyncio, and
httptools + uvloop), granian and hypercorn, Gemini route, 1 and 16 connections.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    CHAT,
    GEMINI,
    SERVERS,
    Load,
    Report,
    clean_env,
    localaik_serve,
    record,
    serve,
    wrk,
)
from localaik.server.serving import SERVER_OPTIONS

# Long enough that each answer (the fake echoes the prompt) is about 2 KB of JSON.
PROMPT = ("Summarise the following notes for the release of the replay benchmarks. " * 24)[:1700]
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "gemini": (GEMINI, {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}),
    "openai": (CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}),
}
SHIPPED = (
    "uvicorn-httptools-uvloop"
    if SERVER_OPTIONS.get("http") == "httptools"
    else "uvicorn-h11-asyncio"
)


def answers_file(folder: Path, url: str) -> tuple[Path, dict[str, bytes]]:
    """The answers localaik replays, fetched once, for the baseline to send as they are."""
    answers, found = {}, {}
    for family, (path, body) in REQUESTS.items():
        response = httpx.post(url + path, json=body, timeout=30)
        assert response.status_code == 200, response.text
        found[family] = response.content
        answers[path] = {"body": response.text, "content_type": "application/json"}
    file = folder / "answers.json"
    file.write_text(json.dumps(answers))
    return file, found


def load(url: str, family: str, connections: int, seconds: float) -> Load:
    path, body = REQUESTS[family]
    wrk(url, path, json.dumps(body).encode(), connections=connections, seconds=1)  # warm up
    return wrk(url, path, json.dumps(body).encode(), connections=connections, seconds=seconds)


def shipped(report: Report, folder: Path, cassette: Path, seconds: float) -> None:
    with localaik_serve({"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}) as server:
        answers, found = answers_file(folder, server.url)
        sizes = {family: len(body) for family, body in found.items()}
        ours = {(f, c): load(server.url, f, c, seconds) for f in REQUESTS for c in (1, 16)}
    with localaik_serve(
        {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_LOG": "off"}
    ) as server:
        quiet = {c: load(server.url, "gemini", c, seconds) for c in (1, 16)}
    # Every hit parsed, keyed, looked up and translated again: a request's first replay.
    with localaik_serve(
        {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_MEMO": "off"}
    ) as server:
        unmemoised = {(f, c): load(server.url, f, c, seconds) for f in REQUESTS for c in (1, 16)}
    with serve(SHIPPED, "bench.apps:baseline_app", clean_env(BENCH_ANSWERS=str(answers))) as base:
        for family, (path, body) in REQUESTS.items():
            assert httpx.post(base.url + path, json=body).content == found[family]
        theirs = {(f, c): load(base.url, f, c, seconds) for f in REQUESTS for c in (1, 16)}
    report.details["answer_bytes"] = sizes
    report.details["server"] = f"localaik serve ({SHIPPED}); baseline under {SHIPPED}"
    for (family, connections), mine in ours.items():
        base_load = theirs[(family, connections)]
        label = f"{family} c={connections}"
        ratio = mine.rps / base_load.rps
        report.add(
            f"{label} throughput",
            mine.rps,
            base_load.rps,
            "req/s",
            "≥ 0.6× and ≥ 1,000",
            ratio >= 0.6 and mine.rps >= 1000,
            note="" if mine.errors == 0 else f"{mine.errors} errors",
        )
        added50 = mine.p50_ms - base_load.p50_ms
        added99 = mine.p99_ms - base_load.p99_ms
        report.add(
            f"{label} p50",
            mine.p50_ms,
            base_load.p50_ms,
            "ms",
            "added ≤ 1 ms",
            added50 <= 1.0,
            note=f"added {added50:+.2f} ms",
        )
        report.add(f"{label} p95", mine.p95_ms, base_load.p95_ms, "ms", "", None)
        report.add(
            f"{label} p99",
            mine.p99_ms,
            base_load.p99_ms,
            "ms",
            "added ≤ 5 ms",
            added99 <= 5.0,
            note=f"added {added99:+.2f} ms",
        )
        report.details[label] = {"localaik": vars(mine), "baseline": vars(base_load)}
    for (family, connections), mine in unmemoised.items():
        base_load = theirs[(family, connections)]
        report.add(
            f"{family} c={connections} throughput, LK_MEMO=off",
            mine.rps,
            base_load.rps,
            "req/s",
            "",
            None,
            note=f"p50 {mine.p50_ms:.2f} ms, p99 {mine.p99_ms:.2f} ms "
            "(each hit parsed, keyed, looked up and translated: a first replay)",
        )
        report.details[f"{family} c={connections} LK_MEMO=off"] = vars(mine)
    for connections, mine in quiet.items():
        base_load = theirs[("gemini", connections)]
        report.add(
            f"gemini c={connections} throughput, LK_LOG=off",
            mine.rps,
            base_load.rps,
            "req/s",
            "",
            None,
            note=f"p50 {mine.p50_ms:.2f} ms, p99 {mine.p99_ms:.2f} ms"
            " (no access log line per request)",
        )


def servers(
    report: Report, folder: Path, cassette: Path, answers: Path, names: list[str], seconds: float
) -> None:
    """Part 2: localaik's app and the bare app under each ASGI server."""
    compared: dict[str, Any] = {}
    env = clean_env(
        LK_MODE="replay", LK_CASSETTE=str(cassette), LK_LOG="off", BENCH_ANSWERS=str(answers)
    )
    for name in names:
        row: dict[str, Any] = {}
        for app in ("localaik", "baseline"):
            with serve(name, f"bench.apps:{app}_app", env) as server:
                row[app] = {c: vars(load(server.url, "gemini", c, seconds)) for c in (1, 16)}
        compared[name] = row
        for c in (1, 16):
            mine, base = row["localaik"][c], row["baseline"][c]
            report.add(
                f"{name} c={c} localaik",
                mine["rps"],
                base["rps"],
                "req/s",
                "",
                None,
                note=f"p50 {mine['p50_ms']:.2f} ms (bare {base['p50_ms']:.2f} ms), "
                f"p99 {mine['p99_ms']:.2f} ms (bare {base['p99_ms']:.2f} ms)",
            )
    report.details["servers"] = compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="per wrk run")
    parser.add_argument(
        "--servers",
        default="all",
        help="ASGI servers to compare: all, none, or a comma list of " + ", ".join(SERVERS),
    )
    options = parser.parse_args()
    names = (
        list(SERVERS)
        if options.servers == "all"
        else []
        if options.servers == "none"
        else options.servers.split(",")
    )

    report = Report("replay_hit")
    with tempfile.TemporaryDirectory(prefix="bench-hit-") as tmp:
        folder = Path(tmp)
        cassette = folder / "hit.db"
        record(cassette, list(REQUESTS.values()))
        shipped(report, folder, cassette, options.seconds)
        servers(report, folder, cassette, folder / "answers.json", names, options.seconds)
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
