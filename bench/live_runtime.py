"""Figures for `localaik serve` with the bundled llama-server and the default model.

    .venv/bin/python bench/live_runtime.py [--starts 3] [--requests 10] [--ttft 7]

Prints the figures and writes them to bench/results/live_runtime.json:
- start to ready: `localaik serve` spawned -> its /health answers 200 (model loaded);
- RSS of llama-server and of localaik after the load and after N chat requests;
- decode speed: llama-server's own `timings.predicted_per_second` in OpenAI non-stream answers;
- time to first token (OpenAI stream, first chunk with content) through localaik, and directly
  against llama-server's own port (the upstream url in localaik's /health);
- `localaik runtime install` on the warm cache (nothing to build or fetch).

localaik runs in passthrough mode, so every request reaches the model (nothing is replayed or
written). Needs `localaik runtime install` first. Figures from a 2-core machine are noisy when
other work runs: the load average at the start is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import openai

from bench.common import rss_mib

RESULTS = Path(__file__).resolve().parent / "results" / "live_runtime.json"
LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")
STARTING = re.compile(r"starting llama-server: \S+ .*?--port (\d+)")
DECODE_PROMPT = [{"role": "user", "content": "Write a long story about a dragon and a knight."}]
TTFT_PROMPT = [{"role": "user", "content": "Say hello."}]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LK_")}
    env.update(extra)
    return env


def children_named(parent: int, name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and Path(argv0).name == name:
            found.append(int(entry.name))
    return found


class Server:
    """`localaik serve --port 0` with the bundled runtime (passthrough), timed to ready."""

    def __init__(self, cassette_dir: str) -> None:
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="localaik-bench-", suffix=".log", delete=False
        )
        env = clean_env(LK_MODE="passthrough", LK_CASSETTE=f"{cassette_dir}/bench.db", LK_LOG="off")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaik", "serve", "--port", "0"],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.url = self._wait(lambda: (m := LISTENING.search(self.log())) and m.group(1))
        while True:
            try:
                response = httpx.get(self.url + "/health", timeout=5)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            self._check_alive(started)
            time.sleep(0.01)
        self.seconds_to_ready = time.monotonic() - started
        self.health = response.json()
        self.llama_url = self.health["upstream"]["url"]  # http://127.0.0.1:PORT/v1
        pids = children_named(self.process.pid, "llama-server")
        assert len(pids) == 1, pids
        self.llama_pid = pids[0]

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def _check_alive(self, started: float) -> None:
        if self.process.poll() is not None or time.monotonic() - started > 120:
            self.stop()
            raise SystemExit(f"localaik did not become ready:\n{self.log()[-3000:]}")

    def _wait(self, probe: Any) -> Any:
        started = time.monotonic()
        while not (value := probe()):
            self._check_alive(started)
            time.sleep(0.01)
        return value

    def stop(self) -> float:
        """SIGTERM; seconds until localaik exited."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        os.unlink(self.log_file.name)
        return time.monotonic() - started


def ttft(client: openai.OpenAI) -> float:
    """Seconds from sending an OpenAI stream request to its first chunk with content."""
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="localaik", messages=TTFT_PROMPT, max_tokens=8, temperature=0, stream=True
    )
    first = None
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic() - started
    assert first is not None, "no content in the stream"
    return first


def summary(values: list[float], digits: int = 1) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time")
    parser.add_argument("--requests", type=int, default=10, help="chat requests for RSS, tok/s")
    parser.add_argument("--decode-tokens", type=int, default=128, help="max_tokens per request")
    parser.add_argument("--ttft", type=int, default=7, help="stream requests per side for TTFT")
    options = parser.parse_args()

    done = subprocess.run(
        [sys.executable, "-m", "localaik", "runtime", "path"],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit("run `localaik runtime install` first: " + done.stderr.strip())

    figures: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "llama_server": done.stdout.strip(),
        "model": "smollm2-135m (default)",
    }

    with tempfile.TemporaryDirectory(prefix="localaik-bench-") as cassettes:
        # Start to ready, several times; the last server stays up for the rest.
        starts, stops = [], []
        for i in range(options.starts):
            server = Server(cassettes)
            starts.append(server.seconds_to_ready)
            if i < options.starts - 1:
                stops.append(server.stop())
        figures["start_to_ready_s"] = summary(starts, 2)
        figures["start_to_ready_s"]["runs"] = [round(s, 2) for s in starts]
        figures["sigterm_to_exit_s"] = summary(stops, 2) if stops else None

        try:
            figures["rss_mib_after_load"] = {
                "llama_server": rss_mib(server.llama_pid),
                "localaik": rss_mib(server.process.pid),
            }
            client = openai.OpenAI(api_key="bench", base_url=server.url + "/v1", max_retries=0)
            direct = openai.OpenAI(api_key="bench", base_url=server.llama_url, max_retries=0)

            rates, tokens, walls = [], [], []
            for _ in range(options.requests):
                started = time.monotonic()
                completion = client.chat.completions.create(
                    model="localaik",
                    messages=DECODE_PROMPT,
                    max_tokens=options.decode_tokens,
                    temperature=0,
                )
                walls.append(time.monotonic() - started)
                timings = completion.model_dump()["timings"]
                rates.append(timings["predicted_per_second"])
                tokens.append(timings["predicted_n"])
            figures["rss_mib_after_requests"] = {
                "requests": options.requests,
                "llama_server": rss_mib(server.llama_pid),
                "localaik": rss_mib(server.process.pid),
            }
            figures["decode_tokens_per_s"] = summary(rates)
            figures["decode_tokens_per_request"] = summary([float(t) for t in tokens], 0)
            figures["non_stream_request_wall_s"] = summary(walls, 3)

            ttft(client), ttft(direct)  # warm both paths once
            through, straight = [], []
            for _ in range(options.ttft):  # alternate, so that drift hits both sides alike
                through.append(ttft(client) * 1000)
                straight.append(ttft(direct) * 1000)
            figures["ttft_ms"] = {
                "through_localaik": summary(through),
                "direct_llama_server": summary(straight),
                "overhead_median": round(
                    statistics.median(through) - statistics.median(straight), 1
                ),
            }
            client.close()
            direct.close()
        finally:
            figures["sigterm_to_exit_s_last"] = round(server.stop(), 2)

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "localaik", "runtime", "install"],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    figures["install_warm_s"] = round(time.monotonic() - started, 2)
    figures["install_warm_ok"] = done.returncode == 0
    if done.returncode != 0:
        figures["install_warm_error"] = done.stderr[-2000:]

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {json.dumps(value)}")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
