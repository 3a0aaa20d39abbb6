"""Opening cassettes for the `localaik cassette` commands: the configured default, read-only
opens with one-line errors, and finding a recording by the key prefix `ls` shows."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from localaik.cassette.recording import Recording
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import store_for
from localaik.config import Settings, SettingsError
from localaik.errors import Error


def default_cassette() -> Path:
    """The configured cassette (`LK_CASSETTE`): what a command uses when given no PATH."""
    try:
        return Settings.load().cassette
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


@contextmanager
def reading(path: Path | None) -> Iterator[SQLiteStore]:
    """The cassette at `path` (or the configured one), opened read-only; one-line errors."""
    path = path or default_cassette()
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            raise click.ClickException(f"no cassette at {path}")
        yield cassette
    except Error as exc:
        raise click.ClickException(exc.message) from None
    finally:
        cassette.close()


def all_recordings(cassette: SQLiteStore, *, label: str = "reading") -> list[Recording]:
    """Every recording, with a progress bar on a terminal for big cassettes."""
    count = len(cassette.summaries())
    recordings = cassette.recordings()
    if count > 200 and sys.stderr.isatty():
        with click.progressbar(recordings, length=count, label=label, file=sys.stderr) as bar:
            return list(bar)
    return list(recordings)


def find(cassette: SQLiteStore, wanted: str) -> Recording:
    """The recording named by a key prefix, with `/N` for an ordinal; a clear error otherwise."""
    prefix, _, ordinal_text = wanted.strip().partition("/")
    prefix = prefix.lower()
    if not re.fullmatch(r"[0-9a-f]{1,32}", prefix) or (ordinal_text and not ordinal_text.isdigit()):
        raise click.ClickException(
            f"{wanted!r} is not a recording key (hex digits, optionally "
            "/ORDINAL), as `localaik cassette ls` shows"
        )
    matches = [
        s
        for s in cassette.summaries()
        if s.key.startswith(prefix) and (not ordinal_text or s.ordinal == int(ordinal_text))
    ]
    keys = sorted({s.key for s in matches})
    if not matches:
        raise click.ClickException(f"no recording with key {wanted} in {cassette.path}")
    if len(keys) > 1:
        raise click.ClickException(
            f"key prefix {prefix} matches {len(keys)} recordings in "
            f"{cassette.path} ({', '.join(k[:16] for k in keys[:5])}"
            f"{', …' if len(keys) > 5 else ''}); give more of the key"
        )
    chosen = min(matches, key=lambda s: s.ordinal)
    recording = cassette.get(chosen.key, chosen.ordinal)
    assert recording is not None
    return recording
