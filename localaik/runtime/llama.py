"""One supervised llama-server process (its argv comes from `localaik.runtime.args`).

`LlamaServer` runs an argv and looks after it:

    stopped --start()--> starting --/health 503--> loading --/health 200--> ready
    starting/loading --exits, or no 200 within ready_timeout--> failed
    ready --exits--> restarting --/health 200--> ready      (once per start())
    restarting --exits or times out--> failed;  ready --exits after the restart--> failed
    any state --stop()--> stopped

A process that dies after it was ready is restarted once; the next death leaves the server
"failed" for good (the app reports unhealthy). `stop()` ends it from any state.

No orphans. llama-server runs in its own process group, which `stop()` signals (SIGTERM, then
SIGKILL after a grace period). If the Python process exits without `stop()`, a finalizer kills
the group at interpreter exit; if it dies without running finalizers (SIGKILL, or a signal it has
no handler for), Linux's parent-death signal kills llama-server. A SIGTERM/SIGINT handler that
calls `stop()` remains the clean way out (uvicorn's own handlers do, through the lifespan).
The parent-death signal is tied to the thread that spawned the process: run `start()` on an
event loop whose thread lives as long as llama-server should.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx

State = Literal["starting", "loading", "ready", "restarting", "failed", "stopped"]

MAX_RESTARTS = 1
OUTPUT_TAIL_LINES = 20
HEALTH_POLL_SECONDS = 0.05
MAX_LINE_BYTES = 64 * 1024
PR_SET_PDEATHSIG = 1


class RuntimeStartError(Exception):
    """llama-server exited or timed out before it answered `/health` with 200.

    `output` holds its last lines of output, which the message repeats.
    """

    def __init__(self, message: str, output: list[str]) -> None:
        if output:
            message += "\nlast output of llama-server:\n" + "\n".join(
                "  " + line for line in output
            )
        super().__init__(message)
        self.output = output


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -------------------------------------------------------------------------------------------
# The process
# -------------------------------------------------------------------------------------------


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process group; quiet when it is gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGKILL when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_pdeathsig() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody will stop us
            os.kill(os.getpid(), signal.SIGKILL)

    return set_pdeathsig


def _loggable(argv: list[str]) -> str:
    """The command line for the log, with the value of an `--api-key` hidden."""
    shown = []
    hide_next = False
    for arg in argv:
        if hide_next:
            arg, hide_next = "***", False
        elif arg == "--api-key":
            hide_next = True
        elif arg.startswith("--api-key="):
            arg = "--api-key=***"
        shown.append(arg)
    return shlex.join(shown)


class LlamaServer:
    """One llama-server process on 127.0.0.1:`port`, started, watched, restarted once, stopped."""

    def __init__(
        self,
        binary: Path,
        args: list[str],
        port: int,
        *,
        log: logging.Logger,
        ready_timeout: float = 120,
    ) -> None:
        self.binary = binary
        self.args = list(args)
        self.port = port
        self.log = log
        self.ready_timeout = ready_timeout
        self.restarts = 0
        self._state: State = "stopped"
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._finalizer: weakref.finalize[..., Any] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self._stopping = False

    @property
    def state(self) -> State:
        return self._state

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """The current process id while one runs."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn llama-server; `wait_ready()` then waits for it to load its model."""
        if self._process is not None and self._process.returncode is None:
            raise RuntimeError("llama-server is already running")
        self._stopping = False
        self.restarts = 0
        await self._spawn()
        self._state = "starting"
        self._watcher = asyncio.create_task(self._watch(), name="llama-server watcher")

    async def wait_ready(self) -> None:
        """Wait until `/health` answers 200; RuntimeStartError if it exits or times out."""
        process = self._process
        if process is None:
            raise RuntimeError("llama-server was not started")
        await self._wait_ready(process)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL after `timeout` seconds. Safe to call twice."""
        self._stopping = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            await asyncio.wait({watcher})
        process = self._process
        if process is not None:
            if process.returncode is None:
                self.log.info("stopping llama-server (pid %d)", process.pid)
                _kill_group(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout)
                except TimeoutError:
                    self.log.warning("llama-server ignored SIGTERM for %g s; killing it", timeout)
                    _kill_group(process.pid, signal.SIGKILL)
                    await process.wait()
            _kill_group(process.pid)  # anything it left behind in its group
            await self._drain_output()
        self._forget_finalizer()
        self._state = "stopped"

    # -- internals -----------------------------------------------------------------------

    async def _spawn(self) -> None:
        self._output = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self.log.info("starting llama-server: %s", _loggable([str(self.binary), *self.args]))
        try:
            process = await asyncio.create_subprocess_exec(
                str(self.binary),
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        except OSError as exc:
            self._state = "failed"
            raise RuntimeStartError(f"cannot run {self.binary}: {exc}", []) from None
        self._process = process
        self._forget_finalizer()
        self._finalizer = weakref.finalize(self, _kill_group, process.pid)
        assert process.stdout is not None
        self._pump = asyncio.create_task(
            self._forward_output(process.stdout), name="llama-server output"
        )

    async def _forward_output(self, stream: asyncio.StreamReader) -> None:
        """Each line of output to the log, prefixed; the last lines kept for errors."""
        pending = b""
        while chunk := await stream.read(MAX_LINE_BYTES):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) >= MAX_LINE_BYTES:
                lines.append(pending)
                pending = b""
            for line in lines:
                self._line(line)
        if pending:
            self._line(pending)

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        self._output.append(text)
        self.log.info("llama-server: %s", text)

    async def _drain_output(self) -> None:
        """Let the output pump reach the end of a process's output (bounded)."""
        if self._pump is not None:
            await asyncio.wait({self._pump}, timeout=2.0)

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        health = f"http://127.0.0.1:{self.port}/health"
        async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
            while True:
                if process.returncode is not None:
                    await self._drain_output()
                    self._state = "stopped" if self._stopping else "failed"
                    raise RuntimeStartError(
                        f"llama-server exited with code {process.returncode} before it was ready",
                        list(self._output),
                    )
                try:
                    response = await client.get(health)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 200:
                    if process.returncode is None:
                        self._state = "ready"
                        self.log.info("llama-server is ready at %s", self.url)
                        return
                    continue  # it answered, then died: report that instead
                if response is not None and self._state == "starting":
                    self._state = "loading"
                if loop.time() >= deadline:
                    _kill_group(process.pid)
                    await process.wait()
                    await self._drain_output()
                    self._state = "failed"
                    raise RuntimeStartError(
                        f"llama-server did not become ready within {self.ready_timeout:g} s",
                        list(self._output),
                    )
                await asyncio.sleep(HEALTH_POLL_SECONDS)

    async def _watch(self) -> None:
        """Restart a process that dies after it was ready, once; then stay failed."""
        while True:
            process = self._process
            assert process is not None
            code = await process.wait()
            _kill_group(process.pid)
            await self._drain_output()
            self._forget_finalizer()
            if self._stopping:
                return
            if self._state != "ready":
                self._state = "failed"  # wait_ready() reports it to its caller
                return
            if self.restarts >= MAX_RESTARTS:
                self.log.error(
                    "llama-server exited again (code %s); not restarting it: the "
                    "model is unavailable",
                    code,
                )
                self._state = "failed"
                return
            self.restarts += 1
            self.log.warning(
                "llama-server exited unexpectedly (code %s); restarting it (restart %d of %d)",
                code,
                self.restarts,
                MAX_RESTARTS,
            )
            self._state = "restarting"
            try:
                await self._spawn()
                assert self._process is not None
                await self._wait_ready(self._process)
            except RuntimeStartError as exc:
                self.log.error("llama-server did not come back: %s", exc)
                if self._process is not None:
                    _kill_group(self._process.pid)
                self._forget_finalizer()
                self._state = "failed"
                return

    def _forget_finalizer(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
