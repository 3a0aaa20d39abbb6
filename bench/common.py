"""What the benchmarks share: servers in their own processes, the wrk load generator and
cassettes recorded from the fake llama-server. The table and JSON file every benchmark ends
with are bench/report.py's."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.report import ROOT

WRK_SCRIPT = ROOT / "bench" / "wrk" / "post.lua"
LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")

GEMINI = "/v1beta/models/gemini-2.0-flash:generateContent"
GEMINI_SSE = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
CHAT = "/v1/chat/completions"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LK_", "BENCH_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float | None:
    """A process's resident memory (VmRSS) in MiB, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


# The ASGI servers the replay-hit benchmark compares, as command lines for a factory.
def server_command(server: str, factory: str, port: int) -> list[str]:
    python = sys.executable
    if server.startswith("uvicorn"):
        loop, http = (
            ("uvloop", "httptools") if server == "uvicorn-httptools-uvloop" else ("asyncio", "h11")
        )
        return [
            python,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            loop,
            "--http",
            http,
            "--no-access-log",
            "--timeout-keep-alive",
            "65",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ]
    if server == "granian":
        return [
            python,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--runtime-threads",
            "1",
            "--no-ws",
            "--log-level",
            "warning",
            "--loop",
            "uvloop",
            factory,
        ]
    if server == "hypercorn":
        return [
            python,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
            factory + "()",
        ]
    raise ValueError(server)


SERVERS = ("uvicorn-h11-asyncio", "uvicorn-httptools-uvloop", "granian", "hypercorn")


class Process:
    """A server in its own process, its output in a temporary file; stopped with SIGTERM."""

    def __init__(self, command: list[str], env: dict[str, str], url: str | None = None) -> None:
        self.log_file = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdout=self.log_file, stderr=subprocess.STDOUT, env=env
        )
        self.url = url or self._wait(lambda: (m := LISTENING.search(self.log())) and m.group(1))

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def _wait(self, probe: Any, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := probe()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"server did not start: {self.log()[-3000:]}")
            time.sleep(0.01)
        return value

    def wait_answering(self, path: str = "/", timeout: float = 30) -> None:
        def answers() -> bool:
            try:
                httpx.get(self.url + path, timeout=1)
            except httpx.TransportError:
                return False
            return True

        self._wait(answers, timeout)

    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log_file.name)


@contextlib.contextmanager
def serve(server: str, factory: str, env: dict[str, str]) -> Iterator[Process]:
    """`factory` (bench.apps:…) under `server`, answering on a free port."""
    port = free_port()
    process = Process(server_command(server, factory, port), env, f"http://127.0.0.1:{port}")
    try:
        process.wait_answering()
        yield process
    finally:
        process.stop()


@contextlib.contextmanager
def localaik_serve(env: dict[str, str], *args: str) -> Iterator[Process]:
    """`localaik serve --port 0` exactly as users run it."""
    process = Process(
        [sys.executable, "-m", "localaik", "serve", "--port", "0", *args], clean_env(**env)
    )
    try:
        yield process
    finally:
        process.stop()


# --------------------------------------------------------------------------------------------
# Load generator: wrk, in its own process


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(
            "wrk is not installed: run `make bench` (it installs it with apt-get) "
            "or `apt-get install wrk`"
        )
    return wrk


@dataclass
class Load:
    """What wrk measured: throughput and latency percentiles in milliseconds."""

    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int


def wrk(
    url: str,
    path: str,
    body: bytes,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    salt: str | None = None,
    mix: Sequence[tuple[str, bytes]] = (),
) -> Load:
    """POST `body` to `url + path` from `connections` keep-alive connections for `seconds`.

    With `salt`, each "{unique}" in a body becomes the salt and the request's count, so every
    body is new; with `mix`, (path, body) pairs, the requests cycle through them instead.
    """
    with (
        tempfile.NamedTemporaryFile(suffix=".json") as file,
        tempfile.NamedTemporaryFile(suffix=".mix") as mix_file,
    ):
        file.write(body)
        file.flush()
        mix_file.write(b"".join(p.encode() + b" " + b.replace(b"\n", b" ") + b"\n" for p, b in mix))
        mix_file.flush()
        env = {**os.environ, "BENCH_BODY_FILE": file.name}
        if salt is not None:
            env["BENCH_SALT"] = salt
        if mix:
            env["BENCH_MIX_FILE"] = mix_file.name
        command = [
            require_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
        ]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run(
            [*command, url + path],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0:  # say why: wrk's own words, or the script's
        said = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise RuntimeError(f"wrk on {url + path} exited with {done.returncode}: {said}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    figures = json.loads(line.removeprefix("BENCH "))
    seconds_run = figures["duration_us"] / 1e6
    return Load(
        connections,
        figures["requests"],
        round(seconds_run, 2),
        round(figures["requests"] / seconds_run, 1),
        figures["p50"] / 1000,
        figures["p95"] / 1000,
        figures["p99"] / 1000,
        figures["max"] / 1000,
        figures["errors"],
    )


# --------------------------------------------------------------------------------------------
# Cassettes recorded from the fake llama-server


def fake_llama() -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.fakes.fake_llama import FakeLlama

    return FakeLlama.start()


def record(cassette: Path, requests: list[tuple[str, Any]]) -> list[httpx.Response]:
    """Record `requests` (path, JSON body) into `cassette` from the fake llama-server."""
    with (
        fake_llama() as fake,
        localaik_serve(
            {
                "LK_MODE": "record",
                "LK_UPSTREAM": fake.url + "/v1",
                "LK_CASSETTE": str(cassette),
                "LK_LOG": "off",
            }
        ) as server,
    ):
        answers = [httpx.post(server.url + path, json=body, timeout=30) for path, body in requests]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    return answers


# --------------------------------------------------------------------------------------------
# Reporting
