"""`localaik serve --stop-on-eof`: the server ends when its standard input closes, which is how
the JS and Go helpers have it end with their own process, however that ends (the system closes
the pipe of a process that crashed or was killed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

LISTENING = "listening on http://"


def start(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LK_")}
    env["LK_CASSETTE"] = str(tmp_path / "c.db")
    command = [sys.executable, "-m", "localaik", "serve", "--port", "0", "--mode", "passthrough"]
    process = subprocess.Popen(
        [*command, "--upstream", "http://127.0.0.1:9/v1", *flags],
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    for line in process.stderr:
        if LISTENING in line:
            return process, line.split("listening on ")[1].strip()
        assert time.monotonic() < deadline, "the server did not start"
    raise AssertionError(f"the server exited with {process.wait()}")


def test_the_server_stops_when_its_input_closes(tmp_path: Path) -> None:
    process, url = start(tmp_path, "--stop-on-eof")
    try:
        assert httpx.get(url + "/health", timeout=5).status_code in (200, 503)  # it serves
        assert process.stdin is not None
        process.stdin.close()  # what the system does when the helper's process ends
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_without_the_flag_closed_input_changes_nothing(tmp_path: Path) -> None:
    process, url = start(tmp_path)
    try:
        assert process.stdin is not None
        process.stdin.close()
        time.sleep(1.0)
        assert process.poll() is None
        assert httpx.get(url + "/health", timeout=5).status_code in (200, 503)  # it serves
    finally:
        process.terminate()
        process.wait(timeout=15)
