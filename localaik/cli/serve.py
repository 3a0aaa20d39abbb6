"""`localaik serve`: the APIs on one port, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import gc
import logging
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from localaik.config import MODES, Mode, Settings, SettingsError

if TYPE_CHECKING:
    from localaik.runtime.llama import LlamaServer


@click.command()
@click.option("--host", default=None, help="Address to listen on. [env LK_HOST; 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port. [env LK_PORT or PORT; 8090]")
@click.option(
    "--upstream",
    default=None,
    help="OpenAI-compatible base URL. [env LK_UPSTREAM; unset: the bundled llama-server]",
)
@click.option(
    "--mode",
    default=None,
    type=click.Choice(MODES, case_sensitive=False),
    help="record, replay, refresh, once (record only a cassette that does not exist yet) or "
    "passthrough; VCR.py's new_episodes, none and all are record, replay and refresh. [env "
    "LK_MODE; replay when CI is true, else record]",
)
@click.option(
    "--cassette", default=None, help="Cassette file. [env LK_CASSETTE; cassettes/localaik.db]"
)
@click.option(
    "--stop-on-eof",
    is_flag=True,
    help="Stop when standard input closes: a test helper that starts the server with a pipe "
    "on its input has it end with the helper's process, however that ends.",
)
def serve(stop_on_eof: bool, **flags: Any) -> None:
    """Serve the APIs on one port, answering from the cassette and the upstream by mode."""
    from localaik.server.rules import Rules

    try:
        settings = Settings.load(**flags)
        Rules.of(settings)  # LK_FAULTS read now: a bad one is a usage error, not a traceback
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    from localaik.cassette.names import refusal

    refused = refusal(settings.cassette)
    if refused is not None:
        raise click.UsageError(f"--cassette / LK_CASSETTE: {refused}")
    port_free(settings.host, settings.port)
    replay_has_cassettes(settings)
    try:
        run(settings, stop_on_eof=stop_on_eof)
    except KeyboardInterrupt:
        # Ctrl-C (SIGINT) is how a person stops the server: a clean exit, not "Aborted!".
        pass


def port_free(host: str, port: int) -> None:
    """Refuse, in one line, a port another process listens on: before the bundled model is
    started for nothing, and instead of uvicorn's `[Errno 98]`. Bound as uvicorn binds (with
    SO_REUSEADDR, so a port with connections in TIME_WAIT is free); any other problem is left
    for uvicorn to report."""
    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} on {host} is in use by another program: stop it, or choose "
                "another port with --port or LK_PORT"
            ) from None


def replay_has_cassettes(settings: Settings) -> None:
    """In replay, refuse to start, in one line naming the path, when the cassette is missing
    and no other cassette lies beside it: every request would miss, and the first miss would
    come long after the start (a wrong working directory or `LK_CASSETTE` is the usual cause).
    With other cassettes beside it (chosen by `X-Localaik-Cassette`) it starts, and the start
    line and `/health` say the default one is missing."""
    cassette = settings.cassette
    if settings.mode is not Mode.REPLAY or cassette.exists():
        return
    from localaik.cassette.locate import below

    if cassette.parent.is_dir() and below(cassette.parent):
        return
    shown = str(cassette) if cassette.is_absolute() else f"{cassette} ({cassette.absolute()})"
    raise click.ClickException(
        f"replay: no cassette at {shown} and none beside it, so every request would miss: "
        "pass the committed one with --cassette or LK_CASSETTE, or record it first "
        "(--mode record or once, with a model running)"
    )


def run(settings: Settings, *, stop_on_eof: bool = False) -> None:
    from localaik.inspector.mount import WithInspector
    from localaik.server.access_log import StreamLines, logged
    from localaik.server.app import create_app
    from localaik.server.gates import without_upstream
    from localaik.server.serving import uvicorn_server

    configured = bool(logging.root.handlers)  # by a caller: a test running `serve` in its process
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    # The access log writes straight to the handler set up here, in its format, without a log
    # record per request; a caller whose logging was set up already (a test) gets records.
    handler = logging.root.handlers[0] if not configured else None
    lines = StreamLines(handler) if isinstance(handler, logging.StreamHandler) else logged
    # The format shows no thread, process or source line: not looking them up for each record
    # (the logging HOWTO's "Optimization") halves the cost of a record (the access log's lines
    # are records when the host set logging up).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not settings.log:
        logging.getLogger("localaik.access").setLevel(logging.WARNING)
    log = logging.getLogger("localaik")
    runtime, embed_runtime = runtimes(settings, log)
    upstream = settings.upstream_shown
    if settings.mode == Mode.REPLAY:
        upstream = "not used"
    elif without_upstream(settings, runtime):
        upstream = "none (no llama-server: once replays, and records nothing)"
    log.info("mode %s, cassette %s, upstream %s", settings.mode, settings.cassette, upstream)
    if settings.mode is Mode.REPLAY and not settings.cassette.exists():
        log.warning(
            "no cassette at %s: requests without an X-Localaik-Cassette header will miss",
            settings.cassette,
        )
    app = WithInspector(
        create_app(settings, runtime=runtime, embed_runtime=embed_runtime, access_lines=lines),
        settings,
    )
    server = uvicorn_server(app, host=settings.host, port=settings.port, log_level="warning")
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        for sock in server.servers[0].sockets if server.servers else []:
            host, port = sock.getsockname()[:2]
            log.info("listening on http://%s:%s", host, port)
            log.info("inspector on http://%s:%s/_localaik/", host, port)
        # Everything made by now (the modules, the app) lives as long as the server: moved out
        # of the collector's reach, a full collection no longer walks it, which was the tail
        # of the live path's latency (p99 at 16 connections 42-44 -> 8-15 ms, bench/live_path).
        gc.collect()
        gc.freeze()

    server.startup = startup  # type: ignore[method-assign]
    if stop_on_eof:
        threading.Thread(target=_stop_at_eof, args=(server, log), daemon=True).start()
    try:
        server.run()
    finally:
        if isinstance(lines, StreamLines):
            lines.flush()  # the last turn's access lines


def _stop_at_eof(server: Any, log: logging.Logger) -> None:
    """Read standard input to its end (the helper's pipe closes when its process ends, however
    it ends), then stop the server as SIGTERM does."""
    stream = sys.stdin.buffer if sys.stdin is not None else None
    while stream is not None and stream.read(4096):
        pass
    log.info("standard input closed: stopping")
    server.should_exit = True


def runtimes(
    settings: Settings, log: logging.Logger
) -> tuple[LlamaServer | None, LlamaServer | None]:
    """The bundled llama-servers `serve` runs (`runtime.bundled`); an install problem is a
    one-line error and exit 1."""
    from localaik.runtime.bundled import bundled_runtimes
    from localaik.runtime.cache import InstallError

    try:
        return bundled_runtimes(settings, log)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
