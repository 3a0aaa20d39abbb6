"""Running `localaik serve` as a real process for SDK tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from localaik.cassette.recording import Recording
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import store_for

LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


# LK_* variables that say where this machine keeps things, not how localaik behaves: a test
# server keeps them (`make test` installs the runtime into LK_CACHE_DIR, and the servers the
# tests start must find it there); every other LK_* variable of the shell is dropped.
MACHINE_SETTINGS = ("LK_CACHE_DIR",)


def clean_environ() -> dict[str, str]:
    """This process's environment for a localaik the tests start: no LK_* setting of the shell
    changes how it behaves, and it finds the machine's runtime where `make test` put it."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LK_") or name in MACHINE_SETTINGS
    }


class LocalaikProcess:
    """`python -m localaik serve --port 0` with the given environment; `.url` once listening."""

    def __init__(self, env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="localaik-", suffix=".log")[1])
        environ = clean_environ()
        # A live proxy unless the test says otherwise: nothing is written to a cassette.
        environ["LK_MODE"] = "passthrough"
        environ.update(env or {})
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaik", "serve", "--port", "0", *(args or [])],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environ,
        )
        self.url = self._wait_listening()

    def _wait_listening(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self.log())
            if match:
                return f"http://{match.group(1)}:{match.group(2)}"
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"localaik did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> LocalaikProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def assert_error(response: httpx.Response, status: int, family: str) -> dict[str, Any]:
    """The response is an error of `status` in `family`'s shape; returns the inner error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if family == "anthropic":
        assert set(body) == {"type", "error"} and body["type"] == "error", body
        error = body["error"]
        assert set(error) == {"type", "message"}, error
        assert isinstance(error["message"], str) and error["message"]
        return error  # type: ignore[no-any-return]
    assert set(body) == {"error"}, body
    error = body["error"]
    if family == "gemini":
        assert set(error) == {"code", "message", "status"}, error
        assert error["code"] == status
        assert isinstance(error["status"], str) and error["status"].isupper()
    elif family == "openai":
        assert set(error) == {"message", "type", "param", "code"}, error
        assert isinstance(error["type"], str)
    else:
        assert set(error) == {"code", "message"}, error
        assert error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


@contextlib.contextmanager
def opened(path: Path) -> Iterator[SQLiteStore]:
    """A cassette opened read-only for inspection (the file stays byte for byte), closed
    afterwards."""
    cassette = store_for(path, readonly=True)
    assert cassette.open(), f"cassette {path} does not exist"
    try:
        yield cassette
    finally:
        cassette.close()


def all_recordings(path: Path) -> list[Recording]:
    """Every recording in the cassette at `path` ([] when the file does not exist)."""
    if not path.exists():
        return []
    with opened(path) as cassette:
        found = [cassette.get(s.key, s.ordinal) for s in cassette.summaries()]
    assert all(r is not None for r in found)
    return found  # type: ignore[return-value]
