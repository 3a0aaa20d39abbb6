"""The reading commands of `localaik cassette`: ls, show, textconv (diff has its own module,
`cassette_diff.py`).

They open cassettes read-only: looking never changes a committed file. PATHS are cassettes,
folders or globs (`cassette/locate.py`); left out, `LK_CASSETTE` when it is set, else every
cassette in `cassettes/`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from localaik.cassette import export, transcript, usage
from localaik.cassette.files import referenced
from localaik.cassette.store import store_for
from localaik.cli.cassette_access import PATHS_HELP, cassettes, find, plural, reading
from localaik.errors import Error


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
    for command in (ls, show, textconv):
        group.add_command(command)


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024 or unit == "MiB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    raise AssertionError


# -- ls ---------------------------------------------------------------------------------------


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per recording.")
def ls(paths: tuple[str, ...], as_json: bool) -> None:
    """List the recordings in cassettes, one per line.

    PATHS are cassettes, folders (every cassette below them) or quoted globs; by default
    LK_CASSETTE when it is set, else every cassette in cassettes/ (serve's and the pytest
    plugin's). Over several cassettes the recordings are grouped under each cassette's name.

    Columns: key prefix (/ordinal when not the first), API family, operation, model, stream or
    not, answer size, when it was recorded, and when a run last served it (from the usage file
    beside the cassette; "never" when no run on record used it).
    """
    found = cassettes(paths)
    if len(found) == 1:  # one cassette: its rows, or the one line saying why it cannot be read
        [path] = found
        rows = _rows(path)
        if as_json:
            _json(rows)
        elif not rows:
            click.echo(f"no recordings in {path}", err=True)
        else:
            _table([(None, [_columns(row) for row in rows])])
            click.echo(f"{plural(len(rows), 'recording')} in {path}", err=True)
        return
    groups: list[tuple[Path, list[dict[str, Any]] | str]] = []
    for path in found:  # one unreadable cassette hides none of the others
        try:
            groups.append((path, _rows(path)))
        except click.ClickException as exc:
            groups.append((path, exc.message))
    unreadable = [why for _, why in groups if isinstance(why, str)]
    count = sum(len(read) for _, read in groups if not isinstance(read, str))
    if as_json:
        for _, read in groups:
            if not isinstance(read, str):
                _json(read)
        for why in unreadable:
            click.echo(f"Error: {why}", err=True)
    else:
        _table([_group(path, rows) for path, rows in groups])
        not_read = f", {len(unreadable)} unreadable" if unreadable else ""
        click.echo(f"{plural(count, 'recording')} in {len(groups)} cassettes{not_read}", err=True)
    if unreadable:
        click.get_current_context().exit(1)


def _json(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False))


def _group(path: Path, rows: list[dict[str, Any]] | str) -> tuple[str, list[tuple[str, ...]]]:
    """A cassette's heading line and table lines in a listing of several."""
    if isinstance(rows, str):
        return f"{path}  (cannot be read: {rows})", []
    return f"{path}{'' if rows else '  (no recordings)'}", [_columns(row) for row in rows]


def _rows(path: Path) -> list[dict[str, Any]]:
    with reading(path) as cassette:
        summaries = cassette.summaries()
        sizes = cassette.sizes()
        used = usage.last_used(cassette.path)
    return [
        {
            "cassette": str(path),
            "key": s.key,
            "ordinal": s.ordinal,
            "family": s.family,
            "operation": s.operation,
            "model": s.model,
            "stream": s.stream,
            "size": sizes.get(s.id, 0),
            "recorded_at": s.recorded_at,
            "last_used": used.get((s.key, s.ordinal)),
        }
        for s in summaries
    ]


def _columns(row: dict[str, Any]) -> tuple[str, ...]:
    return (
        row["key"][:12] + (f"/{row['ordinal']}" if row["ordinal"] else ""),
        row["family"],
        row["operation"],
        row["model"] or "-",
        "stream" if row["stream"] else "-",
        _size(row["size"]),
        _minute(row["recorded_at"]),
        _minute(row["last_used"]) or "never",
    )


def _table(groups: list[tuple[str | None, list[tuple[str, ...]]]]) -> None:
    """The lines in aligned columns under one heading line; a group with a name (a cassette,
    in a listing of several) has that line first and its lines indented."""
    heading = ("KEY", "FAMILY", "OPERATION", "MODEL", "STREAM", "SIZE", "RECORDED", "LAST USED")
    lines = [heading, *(line for _, group in groups for line in group)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(heading))]
    indent = "  " if any(name is not None for name, _ in groups) else ""

    def echo(line: tuple[str, ...]) -> None:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        click.echo((indent + "  ".join(cells)).rstrip())

    echo(heading)
    for name, group in groups:
        if name is not None:
            click.echo(name)
        for line in group:
            echo(line)


def _minute(stamp: str | None) -> str:
    """`2026-11-25T10:00:01.250Z` -> `2026-11-25 10:00` (to the minute is enough to scan)."""
    return stamp[:16].replace("T", " ") if stamp else ""


# -- show -------------------------------------------------------------------------------------


@click.command()
@click.argument("key", required=False)
@click.option(
    "--files", "list_files", is_flag=True, help="List the uploaded files the cassettes keep."
)
@click.option(
    "-c",
    "--cassette",
    "path",
    type=click.Path(),
    help=f"Where to look: {PATHS_HELP}. [LK_CASSETTE, else cassettes/]",
)
@click.option(
    "--json", "as_json", is_flag=True, help="The recording's document in the export format."
)
@click.option("--color/--no-color", default=None, help="Colour the output. [on for a terminal]")
def show(
    key: str | None, list_files: bool, path: str | None, as_json: bool, color: bool | None
) -> None:
    """Show one recording: the canonical request, the upstream request, the answer (body, or
    every stream frame with its time offset) and where it came from.

    KEY is a key prefix as `ls` shows it, with /ORDINAL for a later answer to the same request.
    It is looked for in every cassette --cassette names; when several hold it, name one.
    With --files instead, list the uploaded files (Gemini and OpenAI Files) the cassettes keep:
    hash prefix (as requests refer to it: localaik-file:sha256:...), type, size, name, and how
    many recordings refer to it.
    """
    found = cassettes([path] if path is not None else [])
    if list_files:
        _files(found, as_json)
        return
    if key is None:
        raise click.UsageError("give a KEY, or --files")
    recording = find(found, key)
    if as_json:
        click.echo(export.document_text(export.to_document(recording)))
        return
    for line in transcript.lines(recording, color=color is not False):
        click.echo(line, color=color)


def _files(paths: list[Path], as_json: bool) -> None:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with reading(path) as cassette:
            users = Counter(
                sha for summary in cassette.summaries() for sha in referenced(summary.request)
            )
            for file in cassette.files():
                rows.append(
                    {
                        "cassette": str(path),
                        "sha256": file.sha256,
                        "mime_type": file.mime_type,
                        "size": file.size,
                        "display_name": file.display_name,
                        "recordings": users[file.sha256],
                    }
                )
    if as_json:
        _json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['sha256'][:12]}  {row['mime_type']}  {_size(row['size'])}  "
            f"{row['display_name'] or '-'}  {plural(row['recordings'], 'recording')}"
        )
    click.echo(
        f"{plural(len(rows), 'uploaded file')} in {plural(len(paths), 'cassette')}", err=True
    )


# -- textconv (the git diff driver) -----------------------------------------------------------


@click.command(hidden=True)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def textconv(path: Path) -> None:
    """The git diff driver: a cassette as stable text (set up by `cassette git-setup`).

    Git runs it on each side of a change; whatever the file holds, it prints something and
    exits 0, since a failing textconv breaks `git diff` for the whole repository.
    """
    if not path.exists() or path.stat().st_size == 0:
        click.echo("(empty file)")
        return
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            click.echo("(no file)")
            return
        recordings = sorted(cassette.recordings(), key=lambda r: (r.key, r.ordinal))
    except Error as exc:
        click.echo(f"(not a readable localaik cassette: {exc.message})")
        return
    finally:
        cassette.close()
    click.echo(f"localaik cassette, {len(recordings)} recordings")
    for recording in recordings:
        click.echo("")
        click.echo(transcript.text(recording, timing=False), nl=False)
