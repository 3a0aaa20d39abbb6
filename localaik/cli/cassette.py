"""`localaik cassette …`: look at, compare, move and maintain cassettes.

Reading commands (`ls`, `show`, `diff`, `export`, `textconv`) open cassettes read-only and never
change them. Commands that read or upkeep cassettes take files, folders and globs, expanded by
one function (`cassette/locate.py`, through `cassette_access.cassettes`). Errors are one line on
stderr and a non-zero exit (click's `ClickException`; 2 when the paths name no cassette).
"""

from __future__ import annotations

import click


@click.group()
def cassette() -> None:
    """Look at, compare, export, import and maintain cassettes."""


def _register() -> None:
    from localaik.cli import (
        cassette_diff,
        cassette_export,
        cassette_prune,
        cassette_read,
        cassette_ui,
        cassette_upkeep,
    )

    for module in (cassette_read, cassette_diff, cassette_export, cassette_upkeep, cassette_ui):
        module.register(cassette)
    cassette.add_command(cassette_prune.prune_command)


_register()
