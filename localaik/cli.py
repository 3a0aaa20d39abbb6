"""The `localaik` command."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from localaik import __version__
from localaik.config import MODES, Settings, SettingsError


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
              help="OpenAI-compatible base URL. [env LK_UPSTREAM; http://127.0.0.1:8080/v1]")
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
    run(settings)


def run(settings: Settings) -> None:
    import uvicorn

    from localaik.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not settings.log:
        logging.getLogger("localaik.access").setLevel(logging.WARNING)
    log = logging.getLogger("localaik")
    upstream = "not used" if settings.mode == "replay" else settings.upstream_shown
    log.info("mode %s, cassette %s, upstream %s", settings.mode, settings.cassette, upstream)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
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


def main() -> None:
    cli(prog_name="localaik")
