"""The bundled llama-server: its command line, and one supervised process.

`llama_server_args` turns the `LK_*` tuning variables into llama-server's argv (a pure function,
an argv list only, nothing reaches a shell). `LlamaServer` runs that argv and looks after it:

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

Decisions:
* Reproducibility by default (model-runtime.md §5): `-np 1 --no-cache-prompt` and a fixed seed.
  `LK_PARALLEL=N` changes only the slot count; the prompt cache stays off unless
  `LK_CACHE_PROMPT=1`, because a cache that remembers earlier (concurrent) traffic changed even
  sequential outputs, while with it off sequential requests were always identical.
* `LK_FLASH_ATTN` is passed as a value (`--flash-attn on|off|auto`): builds since September 2025
  reject the bare flag that the original's entrypoint passed.
* `LK_MLOCK=1` becomes `--load-mode mmap+mlock`: the pinned llama.cpp (0c1e570) replaced
  `--mlock`/`--no-mmap` with `--load-mode`, and mmap is what the default load mode uses.
* `LK_LLAMA_ARGS` comes last, so its flags win, except `--host`/`--port`, which are refused:
  supervision polls the loopback port it chose, and another host would expose the model.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shlex
import signal
import socket
import sys
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

import httpx

from localaik.config import SettingsError

State = Literal["starting", "loading", "ready", "restarting", "failed", "stopped"]

DEFAULT_SEED = 42
DEFAULT_CTX_SIZE = 4096
MAX_RESTARTS = 1
OUTPUT_TAIL_LINES = 20
HEALTH_POLL_SECONDS = 0.05
MAX_LINE_BYTES = 64 * 1024
PR_SET_PDEATHSIG = 1


class RuntimeConfigError(SettingsError):
    """An `LK_*` variable for llama-server has a value that cannot work; names the variable."""


class RuntimeStartError(Exception):
    """llama-server exited or timed out before it answered `/health` with 200.

    `output` holds its last lines of output, which the message repeats.
    """

    def __init__(self, message: str, output: list[str]) -> None:
        if output:
            message += "\nlast output of llama-server:\n" + "\n".join(
                "  " + line for line in output)
        super().__init__(message)
        self.output = output


# -------------------------------------------------------------------------------------------
# The command line
# -------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_FLASH_ATTN = {**dict.fromkeys(_TRUE, "on"), **dict.fromkeys(_FALSE, "off"), "auto": "auto"}

# Variable -> (flag, smallest accepted value).
_INTEGER_FLAGS = {
    "LK_THREADS": ("--threads", 1),
    "LK_THREADS_BATCH": ("--threads-batch", 1),
    "LK_BATCH_SIZE": ("--batch-size", 1),
    "LK_UBATCH_SIZE": ("--ubatch-size", 1),
}
_REFUSED_EXTRA = ("--host", "--port")


def _value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's text, stripped; None when unset or empty (as `LK_X=` in a shell)."""
    text = env.get(name, "").strip()
    return text or None


def _integer(text: str, name: str, minimum: int, maximum: int | None = None) -> int:
    if not _INTEGER.match(text):
        raise RuntimeConfigError(f"{name}={text!r}: expected a whole number")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        allowed = (f"from {minimum} to {maximum}" if maximum is not None
                   else f"of at least {minimum}")
        raise RuntimeConfigError(f"{name}={text!r}: expected a whole number {allowed}")
    return value


def _switch(text: str, name: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RuntimeConfigError(f"{name}={text!r}: expected 1 or 0 (or true/false, on/off)")


def _parallel(text: str, name: str) -> int:
    if text == "-1":
        return -1  # llama-server: -1 = auto
    return _integer(text, name, 1)


def _gpu_layers(text: str, name: str) -> str:
    if text.lower() in ("auto", "all"):
        return text.lower()
    if not _INTEGER.match(text) or int(text) < 0:
        raise RuntimeConfigError(
            f"{name}={text!r}: expected a number of layers (0 or more), auto or all")
    return str(int(text))


def _flash_attn(text: str, name: str) -> str:
    try:
        return _FLASH_ATTN[text.lower()]
    except KeyError:
        raise RuntimeConfigError(
            f"{name}={text!r}: expected on, off or auto (or 1/0, true/false)") from None


def _extra_args(text: str, name: str) -> list[str]:
    try:
        args = shlex.split(text)
    except ValueError as exc:
        raise RuntimeConfigError(f"{name}={text!r}: {exc}") from None
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in _REFUSED_EXTRA:
            raise RuntimeConfigError(
                f"{name}: {flag} is set by localaik (llama-server listens on a loopback port "
                "it picks); set LK_HOST/LK_PORT for localaik itself")
    return args


def llama_server_args(
    settings_env: Mapping[str, str],
    *,
    model: Path,
    chat_template: Path | None,
    mmproj: Path | None,
    port: int,
    alias: str = "localaik",
) -> list[str]:
    """llama-server's arguments (without the binary) for these `LK_*` variables.

    Raises RuntimeConfigError naming the variable when a value cannot work.
    """
    env = settings_env
    seed = _value(env, "LK_SEED")
    ctx_size = _value(env, "LK_CTX_SIZE")
    args = [
        "--host", "127.0.0.1",
        "--port", str(port),
        "-m", str(model),
        "--jinja",
        "--alias", alias,
        "--offline",
        # -1 asks llama.cpp for a random seed; 4294967295 is the same value unsigned.
        "--seed", str(DEFAULT_SEED if seed is None else _integer(seed, "LK_SEED", -1, 2**32 - 1)),
        "-c", str(DEFAULT_CTX_SIZE if ctx_size is None else _integer(ctx_size, "LK_CTX_SIZE", 0)),
    ]

    parallel = _value(env, "LK_PARALLEL")
    args += ["-np", "1"] if parallel is None else ["--parallel", str(_parallel(parallel,
                                                                                "LK_PARALLEL"))]
    cache_prompt = _value(env, "LK_CACHE_PROMPT")
    if cache_prompt is None or not _switch(cache_prompt, "LK_CACHE_PROMPT"):
        args.append("--no-cache-prompt")

    if chat_template is not None:
        args += ["--chat-template-file", str(chat_template)]
    if mmproj is not None:
        args += ["--mmproj", str(mmproj)]

    for name, (flag, minimum) in _INTEGER_FLAGS.items():
        text = _value(env, name)
        if text is not None:
            args += [flag, str(_integer(text, name, minimum))]
    if (text := _value(env, "LK_GPU_LAYERS")) is not None:
        args += ["--n-gpu-layers", _gpu_layers(text, "LK_GPU_LAYERS")]
    if (text := _value(env, "LK_FLASH_ATTN")) is not None:
        args += ["--flash-attn", _flash_attn(text, "LK_FLASH_ATTN")]
    if (text := _value(env, "LK_CONT_BATCHING")) is not None:
        args.append("--cont-batching" if _switch(text, "LK_CONT_BATCHING")
                    else "--no-cont-batching")
    if (text := _value(env, "LK_MLOCK")) is not None and _switch(text, "LK_MLOCK"):
        args += ["--load-mode", "mmap+mlock"]
    if (text := _value(env, "LK_LLAMA_ARGS")) is not None:
        args += _extra_args(text, "LK_LLAMA_ARGS")
    return args


# The tuning variables the embeddings llama-server shares with the chat one: hardware only.
_EMBEDDING_FLAGS = ("LK_THREADS", "LK_THREADS_BATCH")


def embedding_server_args(
    settings_env: Mapping[str, str],
    *,
    model: Path,
    port: int,
    pooling: str = "mean",
    alias: str = "localaik",
) -> list[str]:
    """The second llama-server's arguments: `--embeddings` with `pooling` (`model`: what the GGUF
    declares), one slot, and one batch as large as the context, because llama.cpp embeds an
    input only when it fits one micro-batch (with the default 512, longer inputs fail).

    Kept out of the chat server: with `--embeddings` llama-server computes an output for every
    prompt token, and a larger micro-batch there would change how chat prompts are batched;
    its one slot would also make embeddings wait behind a generation. `LK_LLAMA_ARGS`, the
    seed, prompt cache and batch settings are the chat server's; threads, GPU layers, flash
    attention and mlock apply to both.
    """
    env = settings_env
    ctx_size = _value(env, "LK_CTX_SIZE")
    ctx = DEFAULT_CTX_SIZE if ctx_size is None else _integer(ctx_size, "LK_CTX_SIZE", 0)
    ctx = ctx or DEFAULT_CTX_SIZE  # 0 (the model's own size) is unknown here
    args = [
        "--host", "127.0.0.1",
        "--port", str(port),
        "-m", str(model),
        "--alias", alias,
        "--offline",
        "--embeddings",
        "-c", str(ctx), "-b", str(ctx), "-ub", str(ctx),
        "-np", "1",
    ]
    if pooling != "model":
        args += ["--pooling", pooling]
    for name in _EMBEDDING_FLAGS:
        text = _value(env, name)
        if text is not None:
            flag, minimum = _INTEGER_FLAGS[name]
            args += [flag, str(_integer(text, name, minimum))]
    if (text := _value(env, "LK_GPU_LAYERS")) is not None:
        args += ["--n-gpu-layers", _gpu_layers(text, "LK_GPU_LAYERS")]
    if (text := _value(env, "LK_FLASH_ATTN")) is not None:
        args += ["--flash-attn", _flash_attn(text, "LK_FLASH_ATTN")]
    if (text := _value(env, "LK_MLOCK")) is not None and _switch(text, "LK_MLOCK"):
        args += ["--load-mode", "mmap+mlock"]
    return args


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

    def __init__(self, binary: Path, args: list[str], port: int, *, log: logging.Logger,
                 ready_timeout: float = 120) -> None:
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
        self._finalizer: weakref.finalize | None = None
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
                str(self.binary), *self.args,
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
        self._pump = asyncio.create_task(self._forward_output(process.stdout),
                                         name="llama-server output")

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
                        f"llama-server exited with code {process.returncode} before it was "
                        "ready", list(self._output))
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
                        list(self._output))
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
                self.log.error("llama-server exited again (code %s); not restarting it: the "
                               "model is unavailable", code)
                self._state = "failed"
                return
            self.restarts += 1
            self.log.warning("llama-server exited unexpectedly (code %s); restarting it "
                             "(restart %d of %d)", code, self.restarts, MAX_RESTARTS)
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
