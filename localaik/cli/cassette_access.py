"""Opening cassettes for the `localaik cassette` commands: the cassettes PATHS name (files,
folders, globs: `cassette/locate.py`) or the default ones, read-only opens with one-line
errors, and finding a recording by the key prefix `ls` shows, in one cassette or several."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from localaik.cassette import gitsetup, locate
from localaik.cassette.recording import Recording, Summary
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import store_for
from localaik.config import Settings, SettingsError, cassette_configured
from localaik.errors import Error

PATHS_HELP = "a cassette, a folder (every cassette below it) or a quoted glob"


class NoCassette(click.ClickException):
    """Arguments (or the default) that name no cassette, or several where one is wanted: a
    usage error, one line, exit status 2 as click's own."""

    exit_code = 2


@contextmanager
def edge() -> Iterator[None]:
    """The error boundary of the commands that change or judge cassettes: every localaik
    `Error`, `OSError` and `GitError` becomes one clear line and exit status 1."""
    try:
        yield
    except Error as exc:
        raise click.ClickException(exc.message) from None
    except gitsetup.GitError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def plural(number: int, noun: str) -> str:
    """`1 recording`, `2 recordings`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def default_cassette() -> Path:
    """The configured cassette (`LK_CASSETTE`, else `cassettes/localaik.db`): where `serve`
    records, and where `import` writes when given no target."""
    try:
        return Settings.load().cassette
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def cassettes(arguments: Sequence[str]) -> list[Path]:
    """The cassettes `arguments` name, or with none the default: `LK_CASSETTE` when it is set,
    else every cassette in `cassettes/`. Naming none is a `NoCassette` error."""
    if arguments:
        try:
            return locate.expand(arguments)
        except locate.NothingFound as exc:
            raise NoCassette(str(exc)) from None
    configured = cassette_configured()
    where = locate.default_location(default_cassette(), configured)
    try:
        return locate.expand([str(where)])
    except locate.NothingFound as exc:
        if configured:
            raise NoCassette(
                f"LK_CASSETTE={where}: {exc.reason}; give PATHS (cassettes, folders or quoted "
                "globs), or unset LK_CASSETTE to read every cassette in cassettes/"
            ) from None
        if where.is_dir():
            raise NoCassette(str(exc)) from None
        raise NoCassette(
            f"no cassettes: there is no {where}/ folder in {Path.cwd()}, where `localaik "
            "serve` and the pytest plugin write them; run this in the project's root, or "
            "give PATHS (cassettes, folders or quoted globs), or set LK_CASSETTE"
        ) from None


def one_cassette(argument: str | None, command: str) -> Path:
    """The one cassette `argument` (or the default) names, for a command that reads one; a
    `NoCassette` error naming them when it names several."""
    found = cassettes([argument] if argument is not None else [])
    if len(found) > 1:
        shown = ", ".join(str(path) for path in found[:3]) + (", …" if len(found) > 3 else "")
        raise NoCassette(
            f"{argument or 'the default'} names {len(found)} cassettes ({shown}); {command} "
            "takes one: give its file"
        )
    return found[0]


@contextmanager
def reading(path: Path) -> Iterator[SQLiteStore]:
    """The cassette at `path`, opened read-only; one-line errors."""
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


def find(paths: Sequence[Path], wanted: str) -> Recording:
    """The recording named by a key prefix, with `/N` for an ordinal, in the one cassette of
    `paths` that holds it; a clear error otherwise."""
    prefix, _, ordinal_text = wanted.strip().partition("/")
    prefix = prefix.lower()
    if not re.fullmatch(r"[0-9a-f]{1,32}", prefix) or (ordinal_text and not ordinal_text.isdigit()):
        raise click.ClickException(
            f"{wanted!r} is not a recording key (hex digits, optionally "
            "/ORDINAL), as `localaik cassette ls` shows"
        )
    matches: dict[Path, list[Summary]] = {}
    unreadable: list[str] = []
    for path in paths:
        try:
            with reading(path) as cassette:
                summaries = cassette.summaries()
        except click.ClickException as exc:
            if len(paths) == 1:
                raise
            unreadable.append(exc.message)  # one damaged cassette hides none of the others
            continue
        found = [
            s
            for s in summaries
            if s.key.startswith(prefix) and (not ordinal_text or s.ordinal == int(ordinal_text))
        ]
        if found:
            matches[path] = found
    where = str(paths[0]) if len(paths) == 1 else f"any of {len(paths)} cassettes"
    keys = sorted({s.key for found in matches.values() for s in found})
    if not matches:
        not_read = f" ({len(unreadable)} could not be read: {unreadable[0]})" if unreadable else ""
        raise click.ClickException(f"no recording with key {wanted} in {where}{not_read}")
    if len(keys) > 1:
        where = str(next(iter(matches))) if len(matches) == 1 else f"{len(matches)} cassettes"
        raise click.ClickException(
            f"key prefix {prefix} matches {len(keys)} recordings in "
            f"{where} ({', '.join(k[:16] for k in keys[:5])}"
            f"{', …' if len(keys) > 5 else ''}); give more of the key"
        )
    if len(matches) > 1:
        shown = ", ".join(str(path) for path in list(matches)[:3])
        raise click.ClickException(
            f"recording {keys[0][:16]} is in {len(matches)} cassettes ({shown}"
            f"{', …' if len(matches) > 3 else ''}); choose one with -c CASSETTE"
        )
    [(path, found)] = matches.items()
    chosen = min(found, key=lambda s: s.ordinal)
    with reading(path) as cassette:
        recording = cassette.get(chosen.key, chosen.ordinal)
    assert recording is not None
    return recording
