"""`localaik cassette ui`: the inspector for cassettes alone, on loopback, without the APIs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from localaik.cli.cassette_access import cassettes

HOST = "127.0.0.1"


def register(group: click.Group) -> None:
    """Add this module's command to the `cassette` group."""
    group.add_command(ui)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--port", default=8091, show_default=True, type=int, help="Port (0: any free one).")
def ui(paths: tuple[str, ...], port: int) -> None:
    """Serve the cassette inspector (read-only pages) on 127.0.0.1 and print its URL.

    PATHS are cassettes, folders (every cassette below them) or quoted globs; by default
    LK_CASSETTE when it is set, else every cassette in cassettes/. A folder is read anew at
    each page, so cassettes recorded meanwhile show up. Serves no API: `localaik serve`
    shows the same pages at /_localaik/, with its run.
    """
    from localaik.inspector.app import folder_of, inspector_app
    from localaik.inspector.catalog import Catalog
    from localaik.server.serving import uvicorn_server

    found = cassettes(paths)
    if len(paths) == 1 and Path(paths[0]).is_dir():
        catalog = Catalog(Path(paths[0]))
    else:
        catalog = Catalog(folder_of(found), listed=found)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    server = uvicorn_server(inspector_app(catalog), host=HOST, port=port, log_level="warning")
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        for sock in server.servers[0].sockets if server.servers else []:
            host, bound = sock.getsockname()[:2]
            click.echo(f"localaik inspector on http://{host}:{bound}/_localaik/", err=True)

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run()
    except KeyboardInterrupt:
        pass
