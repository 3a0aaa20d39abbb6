"""`localaik doctor`: the checks of `localaik.runtime.doctor`, one line each (or JSON)."""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list of checks.")
def doctor(paths: tuple[str, ...], as_json: bool) -> None:
    """Check what localaik needs here: Python, settings, llama-server and model, poppler,
    the files root, serve's cassette, and that every cassette opens.

    PATHS are the cassettes to check: cassettes, folders (every cassette below them) or quoted
    globs; by default every cassette in cassettes/ (serve's and the pytest plugin's), or only
    LK_CASSETTE when it is set. Exits 1 when serve in this mode would not work, or a cassette
    cannot be read."""
    from localaik.cli.cassette_access import cassettes
    from localaik.runtime import doctor as checks

    found = checks.run(cassettes=cassettes(paths) if paths else None)
    if as_json:
        click.echo(json.dumps([check.as_dict() for check in found], indent=2))
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        width = max(len(check.name) for check in found)
        for check in found:
            status = click.style(check.status.ljust(4), fg=colours[check.status])
            click.echo(f"{status}  {check.name.ljust(width)}  {check.detail}")
    if any(check.status == "fail" for check in found):
        sys.exit(1)
