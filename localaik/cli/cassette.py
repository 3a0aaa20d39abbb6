"""`localaik cassette …`: look at, compare, move and maintain cassettes.

Reading commands (`ls`, `show`, `diff`, `export`, `textconv`) open cassettes read-only and never
change them. Errors are one line on stderr and a non-zero exit (click's `ClickException`).
"""

from __future__ import annotations

import click


@click.group()
def cassette() -> None:
    """Look at, compare, export, import and maintain cassettes."""


def _register() -> None:
    from localaik.cli import cassette_read as cli_cassette_read
    from localaik.cli import cassette_upkeep as cli_cassette_upkeep

    cli_cassette_read.register(cassette)
    cli_cassette_upkeep.register(cassette)


_register()
