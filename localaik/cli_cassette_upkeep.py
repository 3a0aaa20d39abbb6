"""The upkeep commands of `localaik cassette`: verify, prune, merge, git-setup."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
