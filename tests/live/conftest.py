"""Fixtures for the live tests: `localaik serve` with the real bundled llama-server and model.

No fake anywhere: the server under test starts its own llama-server (the build and the default
model that `localaik runtime install` cached), and the official SDKs talk to it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import LocalaikProcess, clean_environ

READY_TIMEOUT = 120.0  # seconds from `localaik serve` to /health 200; about 1-7 s on 2 cores
STOP_TIMEOUT = 10.0  # seconds for localaik and its llama-server to be gone after a signal

# "localaik.runtime: starting llama-server: <binary> --host 127.0.0.1 --port N -m <model> ..."
STARTING = re.compile(r"starting llama-server: (\S+) .*?--port (\d+) -m (\S+)")
STOPPING = re.compile(r"stopping llama-server \(pid (\d+)\)")


def runtime_env() -> dict[str, str]:
    """The test environment as LocalaikProcess runs the server (`clean_environ`)."""
    return clean_environ()


@pytest.fixture(scope="session")
def bundled_runtime_installed() -> str:
    """The llama-server binary `localaik serve` will run; the tests FAIL (not skip) without it."""
    done = subprocess.run(
        [sys.executable, "-m", "localaik", "runtime", "path"],
        env=runtime_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        pytest.fail(
            "the bundled runtime is not installed: run `localaik runtime install` "
            "(or `make test`, which runs it) before the live tests\n"
            f"`localaik runtime path` said: {done.stderr.strip()}",
            pytrace=False,
        )
    return done.stdout.strip()


# ---------------------------------------------------------------------------------------------
# llama-server processes, found through /proc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def process_state(pid: int) -> str | None:
    """The one-letter state of a process (`R`, `S`, `Z`, …); None when there is none."""
    stat = _read(Path(f"/proc/{pid}/stat")).decode(errors="replace")
    if not stat:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has exited)."""
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    return [
        arg.decode(errors="replace")
        for arg in _read(Path(f"/proc/{pid}/cmdline")).split(b"\0")
        if arg
    ]


def parent_of(pid: int) -> int | None:
    stat = _read(Path(f"/proc/{pid}/stat")).decode(errors="replace")
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else None


def llama_servers(
    *, port: int | None = None, model: str | None = None, parent: int | None = None
) -> list[int]:
    """Live llama-server processes matching all the given criteria."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        argv = cmdline(pid)
        if not argv or Path(argv[0]).name != "llama-server" or not alive(pid):
            continue
        if port is not None and not _has_option(argv, "--port", str(port)):
            continue
        if model is not None and not _has_option(argv, "-m", model):
            continue
        if parent is not None and parent_of(pid) != parent:
            continue
        found.append(pid)
    return found


def _has_option(argv: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(argv, argv[1:], strict=False))


def rss_kib(pid: int) -> int | None:
    for line in _read(Path(f"/proc/{pid}/status")).decode(errors="replace").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


# ---------------------------------------------------------------------------------------------
# A live server


@dataclass
class LiveServer:
    """A running `localaik serve` with the bundled llama-server, once /health said 200."""

    process: LocalaikProcess
    seconds_to_ready: float
    health_503_bodies: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    llama_port: int = 0
    llama_model: str = ""
    llama_pid: int = 0

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def log(self) -> str:
        return self.process.log()

    def llama_tasks(self) -> int:
        """How many requests llama-server started processing (its `launch_slot_` lines)."""
        return self.log().count("launch_slot_")


def start_live_server(env: dict[str, str]) -> LiveServer:
    """`localaik serve` (bundled runtime: env has no LK_UPSTREAM), waited for until healthy."""
    started = time.monotonic()
    process = LocalaikProcess(env)
    bodies: list[dict[str, Any]] = []
    deadline = started + READY_TIMEOUT
    try:
        while True:
            try:
                response = httpx.get(process.url + "/health", timeout=5)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                health = response.json()
                break
            if response is not None and response.status_code == 503:
                bodies.append(response.json())
            if process.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"localaik with the bundled llama-server was not healthy within "
                    f"{READY_TIMEOUT:g} s (exit code {process.process.poll()}); last /health: "
                    f"{bodies[-1:]}\nlog:\n{process.log()[-4000:]}"
                )
            time.sleep(0.05)
        seconds = time.monotonic() - started
        server = LiveServer(process, seconds, bodies, health)
        match = STARTING.search(process.log())
        assert match, f"no 'starting llama-server' line in the log:\n{process.log()[-4000:]}"
        server.llama_port, server.llama_model = int(match.group(2)), match.group(3)
        pids = llama_servers(port=server.llama_port, model=server.llama_model)
        assert len(pids) == 1, f"expected one llama-server on port {server.llama_port}: {pids}"
        server.llama_pid = pids[0]
        return server
    except BaseException:
        process.stop()
        raise


@dataclass
class Shutdown:
    """What happened after a signal to a live server."""

    signal_name: str
    exit_code: int | None
    localaik_seconds: float | None  # until localaik exited; None if it did not within the limit
    llama_seconds: float | None  # until its llama-server was gone; None if it was not
    leftovers: list[int]  # llama-server processes with its port and model still running
    log: str


def stop_with_signal(
    server: LiveServer, sig: signal.Signals, timeout: float = STOP_TIMEOUT
) -> Shutdown:
    """Send `sig` to localaik; time its exit and the end of its llama-server (SIGKILL after)."""
    started = time.monotonic()
    server.process.process.send_signal(sig)
    localaik_seconds = llama_seconds = None
    deadline = started + timeout
    while time.monotonic() < deadline:
        now = time.monotonic() - started
        if localaik_seconds is None and server.process.process.poll() is not None:
            localaik_seconds = now
        if llama_seconds is None and not alive(server.llama_pid):
            llama_seconds = now
        if localaik_seconds is not None and llama_seconds is not None:
            break
        time.sleep(0.02)
    leftovers = llama_servers(port=server.llama_port, model=server.llama_model)
    exit_code = server.process.process.poll()
    # Clean up whatever the signal left: our own processes, by pid.
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    server.process.stop()
    return Shutdown(sig.name, exit_code, localaik_seconds, llama_seconds, leftovers, server.log())


def replaying(cassette_dir: Path) -> LocalaikProcess:
    """`localaik serve` replaying the module's recordings (`live.db`), with an upstream that
    answers nothing: a request that is not replayed fails."""
    return LocalaikProcess(
        {
            "LK_MODE": "replay",
            "LK_CASSETTE": str(cassette_dir / "live.db"),
            "LK_UPSTREAM": "http://127.0.0.1:9/v1",
        }
    )


@pytest.fixture(scope="module")
def cassette_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-cassettes")


@pytest.fixture(scope="module")
def record_server(bundled_runtime_installed: str, cassette_dir: Path) -> Iterator[LiveServer]:
    """`localaik serve` in record mode with the bundled runtime (no LK_UPSTREAM)."""
    server = start_live_server({"LK_MODE": "record", "LK_CASSETTE": str(cassette_dir / "live.db")})
    try:
        yield server
    finally:
        if server.process.process.poll() is None:
            stop_with_signal(server, signal.SIGTERM)
