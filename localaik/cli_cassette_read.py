"""The reading commands of `localaik cassette`: ls, show, diff, export, import, textconv."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
