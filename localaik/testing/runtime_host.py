"""One bundled llama-server for a whole pytest-xdist session, started when a worker first needs it.

Under pytest-xdist each worker runs its own in-process localaik (`testing.server`). Each used to
start its own bundled llama-server, so `-n 4` loaded the model four times (four times the
memory, four processes on the same cores), although in record mode most requests replay and
the few that record can share one model. Now the controller runs one, for every worker:

* **The controller owns it.** It runs no test, lives from before the first worker starts to
  after the last one ends, and its end is the session's: a normal end or Ctrl-C (pytest still
  runs `pytest_unconfigure`, which stops the model, after xdist has stopped the workers), or a
  crash (llama-server gets the parent-death signal of the controller thread that started it,
  `runtime.llama`, and the group is killed at interpreter exit). A worker that owned it would
  end before the others, or take it down when it crashed.
* **Lazily.** When the session may record with the bundled model (a mode but replay, no
  `LK_UPSTREAM`), the controller reserves the llama-servers' ports (so their URLs reach the
  workers in `workerinput` before anything runs) and answers on a Unix socket in a private
  temporary folder (mode 0700), from a thread (`RuntimeHost`). That is all until a worker asks:
  `prepare` when its server starts (the install check and any model download, once for all
  workers; an install problem fails the session fixture as it does without xdist), then
  `start` and `ready` at the first request that needs the model (the lazy gate of
  `server.gates`). A session whose requests all replay starts no model.
* **One slot, the same answers.** The shared llama-server keeps `-np 1` and no prompt cache
  (`runtime.args`): the workers' requests queue there and each is computed alone, as in a
  session without xdist, so recordings do not depend on which worker asked or when
  (bench/xdist_runtime.py compares them). The queue is why `--localaik-runtime-per-worker`
  remains: with cores to spare, one model per worker answers in parallel.

The protocol, one JSON line each way per connection: `{"op": "prepare" | "start" | "ready",
"runtime": "chat" | "embeddings"}` in, `{"ok": true}` or `{"error": "<why>"}` out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaik.config import Embeddings, Settings
from localaik.runtime.bundled import bundled_runtimes
from localaik.runtime.cache import InstallError
from localaik.runtime.llama import LlamaServer, RuntimeStartError, State

log = logging.getLogger("localaik")

CHAT = "chat"
EMBEDDINGS = "embeddings"
START_TIMEOUT = 10.0  # the host's thread listening
STOP_TIMEOUT = 30.0  # llama-server gets 10 s to end on SIGTERM, then SIGKILL


@dataclass(frozen=True)
class Offer:
    """What the controller gives each worker: the host's socket, and the URL of each runtime."""

    socket: str
    urls: dict[str, str]

    def to_wire(self) -> dict[str, Any]:
        return {"socket": self.socket, "urls": dict(self.urls)}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Offer:
        return cls(str(wire["socket"]), {str(k): str(v) for k, v in wire["urls"].items()})

    def runtimes(self) -> tuple[SharedRuntime, SharedRuntime | None]:
        """The chat runtime and the embeddings one (None with `LK_EMBEDDINGS=off`), once the
        controller prepared them; `InstallError` with its reason when it cannot."""
        reply = _exchange_blocking(self.socket, _ask("prepare", CHAT))
        if "error" in reply:
            raise InstallError(str(reply["error"]))
        embeddings = self.urls.get(EMBEDDINGS)
        return (
            SharedRuntime(self.socket, CHAT, self.urls[CHAT]),
            SharedRuntime(self.socket, EMBEDDINGS, embeddings) if embeddings else None,
        )


# -- the controller's side ---------------------------------------------------------------------


class RuntimeHost:
    """The session's bundled llama-servers, in the xdist controller, started at a worker's ask."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = Path(tempfile.mkdtemp(prefix="localaik-"))  # mode 0700
        names = [CHAT] if settings.embeddings == Embeddings.OFF else [CHAT, EMBEDDINGS]
        self._reserved = {name: _reserve_port() for name in names}
        self._ports = {name: int(sock.getsockname()[1]) for name, sock in self._reserved.items()}
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.folder / "runtime.sock"))
        listener.listen(64)
        self.offer = Offer(
            listener.getsockname(),
            {name: f"http://127.0.0.1:{port}/v1" for name, port in self._ports.items()},
        )
        self.runtimes: dict[str, LlamaServer] | None = None  # once prepared
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._listening = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(listener),), name="localaik-runtime", daemon=True
        )
        self._thread.start()
        self._listening.wait(START_TIMEOUT)

    def close(self) -> None:
        """Stop the llama-servers (SIGTERM, then SIGKILL), the thread, and remove the folder."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STOP_TIMEOUT)
        for sock in self._reserved.values():
            sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _serve(self, listener: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_unix_server(self._answer, sock=listener)
        self._listening.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for runtime in (self.runtimes or {}).values():
                await runtime.stop()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ask = json.loads(await reader.readline())
            reply: dict[str, Any] = {"ok": True}
            try:
                await self._do(str(ask["op"]), str(ask["runtime"]))
            except (InstallError, RuntimeStartError) as exc:
                reply = {"error": str(exc)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a worker that went away, or no ask of ours
        finally:
            writer.close()

    async def _do(self, op: str, name: str) -> None:
        async with self._lock:
            if self.runtimes is None:
                ports = (self._ports[CHAT], self._ports.get(EMBEDDINGS, 0))
                # The install check and a model download block: off the loop.
                chat, embeddings = await asyncio.to_thread(
                    bundled_runtimes, self.settings, log, ports
                )
                found = {CHAT: chat, EMBEDDINGS: embeddings}
                self.runtimes = {key: value for key, value in found.items() if value is not None}
            runtime = self.runtimes.get(name)
            if op == "prepare" or runtime is None:
                return
            if name not in self._ready:
                reserved = self._reserved.pop(name, None)
                if reserved is not None:
                    reserved.close()  # the port is llama-server's from now on
                await runtime.start()  # here: this thread lives as long as llama-server
                ready = asyncio.ensure_future(runtime.wait_ready())
                ready.add_done_callback(lambda done: done.cancelled() or done.exception())
                self._ready[name] = ready
        if op == "ready":
            await asyncio.shield(self._ready[name])
            if runtime.state == "failed":
                raise RuntimeStartError("the shared llama-server failed; see the first error", [])


def _reserve_port() -> socket.socket:
    """A bound socket that keeps a loopback port from other processes until it is closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# -- a worker's side ---------------------------------------------------------------------------


class SharedRuntime:
    """The controller's llama-server, as a worker's server sees it (a `server.gates.Runtime`):
    `start` and `wait_ready` ask the controller; `stop` leaves it to the controller."""

    def __init__(self, socket_path: str, name: str, url: str) -> None:
        self.socket_path = socket_path
        self.name = name
        self._url = url
        self._state: State = "stopped"

    @property
    def url(self) -> str:
        return self._url

    @property
    def state(self) -> State:
        return self._state

    async def start(self) -> None:
        await self._ask("start")
        self._state = "starting"

    async def wait_ready(self) -> None:
        await self._ask("ready")
        self._state = "ready"

    async def stop(self) -> None:
        self._state = "stopped"

    async def _ask(self, op: str) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
            try:
                writer.write(_ask(op, self.name))
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
            reply = _reply(line)
        except OSError as exc:
            reply = {"error": f"{GONE} ({exc})"}
        if "error" in reply:
            self._state = "failed"
            raise RuntimeStartError(str(reply["error"]), [])


GONE = (
    "the pytest-xdist controller that runs the shared llama-server did not answer "
    "(--localaik-runtime-per-worker starts one in each worker instead)"
)


def _ask(op: str, name: str) -> bytes:
    return json.dumps({"op": op, "runtime": name}).encode() + b"\n"


def _reply(line: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(line)
    except ValueError:
        reply = None
    return reply if isinstance(reply, dict) else {"error": GONE}


def _exchange_blocking(socket_path: str, ask: bytes) -> dict[str, Any]:
    """One ask and its reply, from a thread with no event loop (a worker's session start)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            sock.sendall(ask)
            with sock.makefile("rb") as answer:
                return _reply(answer.readline())
    except OSError as exc:
        return {"error": f"{GONE} ({exc})"}
