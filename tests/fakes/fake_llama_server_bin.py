#!/usr/bin/env python3
"""A fake `llama-server` executable for supervision tests.

It takes llama-server's command line: `--host`, `--port` and `-m`/`--model` are used, everything
else is ignored. It serves `tests/fakes/fake_llama.py`'s `make_app()` with uvicorn on that port,
printing a few llama-server-like lines first. `executable(directory)` writes a `llama-server`
wrapper there that runs this file with the current Python (the file's own shebang may find a
Python without uvicorn).

Environment knobs (all optional):

FAKE_LLAMA_ARGV_FILE     append this run's argv to that file, one JSON list per line; the number
                         of lines before this run is its start index (0 first)
FAKE_LLAMA_LOAD_SECONDS  answer /health 503 "Loading model" for that long, then 200
FAKE_LLAMA_CRASH_AFTER   exit with code 3 that many seconds after /health turned 200 (so it
                         is always a ready server that crashes); a comma list gives one value
                         per start (needs FAKE_LLAMA_ARGV_FILE), the last value for later
                         starts, and an empty item means "never": `0.5,` crashes only the
                         first start
FAKE_LLAMA_FAIL          print this message (as llama-server prints its errors) and exit at
                         once with code 1
FAKE_LLAMA_IGNORE_SIGTERM  1: ignore SIGTERM (and SIGINT), so only SIGKILL ends it
FAKE_LLAMA_CHILD_PID_FILE  start a long sleeping child process in the same process group and
                         write its pid there (to show that the whole group is stopped)
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT_PATH = Path(__file__).resolve()
ROOT = SCRIPT_PATH.parents[2]
CRASH_CODE = 3


def executable(directory: Path) -> Path:
    """Write `DIRECTORY/llama-server`, an executable that runs this fake; returns its path."""
    path = directory / "llama-server"
    path.write_text("#!/bin/sh\nexec " + shlex.join([sys.executable, str(SCRIPT_PATH)]) + ' "$@"\n')
    path.chmod(0o755)
    return path


def option(argv: list[str], *names: str, default: str) -> str:
    for index, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[index + 1]
    return default


def record_argv(argv: list[str]) -> int:
    """Append argv to FAKE_LLAMA_ARGV_FILE; returns how many runs were recorded before."""
    path = os.environ.get("FAKE_LLAMA_ARGV_FILE")
    if not path:
        return 0
    previous = Path(path).read_text().count("\n") if Path(path).exists() else 0
    with open(path, "a") as file:
        file.write(json.dumps(argv) + "\n")
    return previous


def crash_after(start_index: int) -> float | None:
    items = os.environ.get("FAKE_LLAMA_CRASH_AFTER", "").split(",")
    item = items[min(start_index, len(items) - 1)].strip()
    return float(item) if item else None


def say(line: str) -> None:
    print(line, flush=True)


async def serve(host: str, port: int, load_seconds: float, crash: float | None) -> None:
    import uvicorn

    sys.path.insert(0, str(ROOT))
    from tests.fakes.fake_llama import make_app

    app = make_app()
    app.health_status = 503 if load_seconds > 0 else 200
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        http="h11",
        loop="asyncio",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    async def finish_loading() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        await asyncio.sleep(load_seconds)
        app.health_status = 200
        say("main: model loaded")
        say(f"main: server is listening on http://{host}:{port} - starting the main loop")
        if crash is not None:
            await asyncio.sleep(crash)
            say(f"fake llama-server: crashing on purpose (FAKE_LLAMA_CRASH_AFTER={crash:g})")
            os._exit(CRASH_CODE)

    tasks = [asyncio.ensure_future(finish_loading())]
    if os.environ.get("FAKE_LLAMA_IGNORE_SIGTERM") == "1":
        # uvicorn installs its own handlers when it starts; take them back afterwards.
        async def ignore_signals() -> None:
            while not server.started:
                await asyncio.sleep(0.01)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            say("fake llama-server: ignoring SIGTERM")

        tasks.append(asyncio.ensure_future(ignore_signals()))
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()


def exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    start_index = record_argv(argv)
    host = option(argv, "--host", default="127.0.0.1")
    port = int(option(argv, "--port", default="8080"))
    model = option(argv, "-m", "--model", default="")
    say("build: 1 (fake) with fake compiler for fake-linux")
    say(f"system info: n_threads = 2, argv = {shlex.join(argv)}")
    failure = os.environ.get("FAKE_LLAMA_FAIL")
    if failure:
        print(failure, file=sys.stderr, flush=True)
        return 1
    if child_pid_file := os.environ.get("FAKE_LLAMA_CHILD_PID_FILE"):
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        Path(child_pid_file).write_text(str(child.pid))
    say(f"main: loading model '{model}'")
    load_seconds = float(os.environ.get("FAKE_LLAMA_LOAD_SECONDS") or 0)
    # uvicorn re-raises the signal it handled after its graceful shutdown: exit 0 then, as
    # llama-server does on SIGTERM.
    signal.signal(signal.SIGTERM, exit_quietly)
    signal.signal(signal.SIGINT, exit_quietly)
    try:
        asyncio.run(serve(host, port, load_seconds, crash_after(start_index)))
    except (KeyboardInterrupt, SystemExit):
        pass
    say("main: exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
