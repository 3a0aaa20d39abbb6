"""The `localaik` command."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from localaik import __version__
from localaik.config import MODES, Embeddings, Mode, Settings, SettingsError

if TYPE_CHECKING:
    from localaik.runtime.llama import LlamaServer


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localaik")
def cli() -> None:
    """localaik: the Gemini, OpenAI and Anthropic APIs on one local port.

    Point an official SDK's base URL at it. Answers are recorded from a local llama.cpp
    server (the upstream) into a SQLite cassette and replayed from it, byte for byte.
    """


@cli.command()
@click.option("--host", default=None, help="Address to listen on. [env LK_HOST; 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port. [env LK_PORT or PORT; 8090]")
@click.option("--upstream", default=None,
              help="OpenAI-compatible base URL. [env LK_UPSTREAM; unset: the bundled "
                   "llama-server]")
@click.option("--mode", default=None, type=click.Choice(MODES, case_sensitive=False),
              help="record, replay, refresh or passthrough. [env LK_MODE; replay when CI is "
                   "true, else record]")
@click.option("--cassette", default=None,
              help="Cassette file. [env LK_CASSETTE; cassettes/localaik.db]")
def serve(**flags: Any) -> None:
    """Serve the APIs on one port, answering from the cassette and the upstream by mode."""
    try:
        settings = Settings.load(**flags)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        run(settings)
    except KeyboardInterrupt:
        # Ctrl-C (SIGINT) is how a person stops the server: a clean exit, not "Aborted!".
        pass


# How uvicorn serves (`serve` and the pytest plugin). httptools and uvloop ("auto" takes uvloop
# where it installs, not on Windows) answer replays ~1.5x as fast as h11 and asyncio; see the
# README's Performance section and bench/replay_hit.py. Idle keep-alive connections are kept
# 65 s, longer than the SDKs' pools keep them (httpx: 5 s), so a client never sends on a
# connection the server is closing at that moment.
SERVER_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "auto", "timeout_keep_alive": 65}


def run(settings: Settings) -> None:
    import uvicorn

    from localaik.server.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not settings.log:
        logging.getLogger("localaik.access").setLevel(logging.WARNING)
    log = logging.getLogger("localaik")
    runtime, embed_runtime = bundled_runtimes(settings, log)
    upstream = "not used" if settings.mode == Mode.REPLAY else settings.upstream_shown
    log.info("mode %s, cassette %s, upstream %s", settings.mode, settings.cassette, upstream)
    config = uvicorn.Config(create_app(settings, runtime=runtime, embed_runtime=embed_runtime),
                            host=settings.host, port=settings.port, **SERVER_OPTIONS,
                            log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)

    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        for sock in server.servers[0].sockets if server.servers else []:
            host, port = sock.getsockname()[:2]
            log.info("listening on http://%s:%s", host, port)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


def bundled_runtimes(settings: Settings,
                     log: logging.Logger) -> tuple[LlamaServer | None, LlamaServer | None]:
    """The llama-servers to start when no upstream is given and the mode may need them: the chat
    server, and the embeddings server (None with `LK_EMBEDDINGS=off`). Neither is started here."""
    if settings.upstream or settings.mode == Mode.REPLAY:
        return None, None
    from localaik.runtime import install
    from localaik.runtime.args import embedding_server_args, llama_server_args
    from localaik.runtime.llama import LlamaServer, free_port

    try:
        binary = install.find_llama_server(settings=settings)
        if binary is None:
            raise install.InstallError(
                "no llama-server found: run `localaik runtime install` (builds it once, about "
                "5 minutes), or set LK_LLAMA_SERVER, or give an upstream with --upstream / "
                "LK_UPSTREAM")
        files = install.ensure_model(settings.model, progress=log.info, mmproj=settings.mmproj,
                                     cache=settings.cache_dir)
        embed_files = files
        if settings.embeddings != Embeddings.OFF and settings.embed_model not in (
                None, settings.model, files.name):
            embed_files = install.ensure_model(settings.embed_model, progress=log.info,
                                               cache=settings.cache_dir)
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    port = free_port()
    args = llama_server_args(settings.runtime, model=files.gguf,
                             chat_template=files.chat_template, mmproj=files.mmproj, port=port)
    log.info("starting %s with model %s", binary, files.name)
    runtime = LlamaServer(binary, args, port, log=logging.getLogger("localaik.runtime"))
    if settings.embeddings == Embeddings.OFF:
        return runtime, None
    embed_port = free_port()
    embed_args = embedding_server_args(settings.runtime, model=embed_files.gguf,
                                       port=embed_port, pooling=settings.embed_pooling)
    log.info("embeddings: %s with model %s (%s)", binary, embed_files.name,
             "started with localaik" if settings.embeddings == Embeddings.ON
             else "started at the first embeddings request")
    embed_runtime = LlamaServer(binary, embed_args, embed_port,
                                log=logging.getLogger("localaik.runtime.embeddings"))
    return runtime, embed_runtime


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list of checks.")
def doctor(as_json: bool) -> None:
    """Check what localaik needs here: Python, settings, llama-server and model, poppler,
    the files root and the cassette. Exits 1 when serve in this mode would not work."""
    import json

    from localaik.runtime import doctor as checks

    found = checks.run()
    if as_json:
        click.echo(json.dumps([check.as_dict() for check in found], indent=2))
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        width = max(len(check.name) for check in found)
        for check in found:
            click.echo(f"{click.style(check.status.ljust(4), fg=colours[check.status])}  "
                       f"{check.name.ljust(width)}  {check.detail}")
    if any(check.status == "fail" for check in found):
        sys.exit(1)


def _register() -> None:
    from localaik.cli.cassette import cassette
    from localaik.cli.runtime import runtime

    cli.add_command(runtime)
    cli.add_command(cassette)


_register()


def main() -> None:
    cli(prog_name="localaik")
