"""Cold start: from spawning `localaik serve --mode replay` to its first replayed answer.

    .venv/bin/python -m bench.cold_start [--starts 5]

The clock starts at the spawn and stops when a recorded Gemini request, sent again every 5 ms
from the moment the port accepts connections, is answered 200. Baseline: the bare Litestar app
(bench/apps.py) under uvicorn, spawned and asked the same way. Target ≤ 2 s. The imports that
take longest (`python -X importtime`) are kept in the results as the profile of the start.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    GEMINI,
    ROOT,
    Process,
    clean_env,
    free_port,
    localaik_serve,
    record,
    server_command,
)
from bench.replay_hit import REQUESTS, SHIPPED, answers_file
from bench.report import Report, median


def first_answer(command: list[str], env: dict[str, str], port: int, body: bytes) -> float:
    """Seconds from spawning `command` to a 200 for `body` on `port`."""
    started = time.perf_counter()
    process = Process(command, env, url=f"http://127.0.0.1:{port}")
    try:
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    response = client.post(
                        process.url + GEMINI,
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    if response.status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                if process.process.poll() is not None or time.perf_counter() - started > 30:
                    raise SystemExit(f"no answer: {process.log()[-2000:]}")
                time.sleep(0.005)
    finally:
        process.stop()


def slowest_imports(module: str, count: int = 12) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), len(match.group(3)), match.group(4)))
    top = sorted((r for r in rows if r[1] <= 3), reverse=True)[:count]
    return [f"{cumulative / 1000:7.1f} ms  {name}" for cumulative, _, name in top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    options = parser.parse_args()
    report = Report("cold_start")
    body = json.dumps(REQUESTS["gemini"][1]).encode()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        folder = Path(tmp)
        cassette = folder / "cold.db"
        record(cassette, list(REQUESTS.values()))
        with localaik_serve({"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}) as server:
            answers, _ = answers_file(folder, server.url)
        ours, theirs = [], []
        for _ in range(options.starts):  # alternate, so that drift hits both alike
            port = free_port()
            ours.append(
                first_answer(
                    [
                        sys.executable,
                        "-m",
                        "localaik",
                        "serve",
                        "--mode",
                        "replay",
                        "--port",
                        str(port),
                        "--cassette",
                        str(cassette),
                    ],
                    clean_env(),
                    port,
                    body,
                )
            )
            port = free_port()
            theirs.append(
                first_answer(
                    server_command(SHIPPED, "bench.apps:baseline_app", port),
                    clean_env(BENCH_ANSWERS=str(answers)),
                    port,
                    body,
                )
            )
    report.add(
        "start to first replayed answer (median)",
        median(ours),
        median(theirs),
        "s",
        "≤ 2 s",
        median(ours) <= 2.0,
        note=f"runs {', '.join(f'{x:.2f}' for x in ours)} s; bare app "
        f"{', '.join(f'{x:.2f}' for x in theirs)} s",
    )
    report.add(
        "start to first replayed answer (slowest)",
        max(ours),
        max(theirs),
        "s",
        "≤ 2 s",
        max(ours) <= 2.0,
    )
    report.details["slowest_imports_localaik_app"] = slowest_imports("localaik.server.app")
    report.details["slowest_imports_localaik_cli"] = slowest_imports("localaik.cli")
    print("  slowest imports of localaik.server.app (cumulative):")
    for line in report.details["slowest_imports_localaik_app"][:8]:
        print("   ", line)
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
