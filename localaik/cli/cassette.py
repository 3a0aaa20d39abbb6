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
    from localaik.cli import cassette_diff, cassette_export, cassette_read, cassette_upkeep

    for module in (cassette_read, cassette_diff, cassette_export, cassette_upkeep):
        module.register(cassette)


_register()
