"""The reading commands of `localaik cassette`: ls, show, textconv (diff has its own module,
`cassette_diff.py`).

They open cassettes read-only: looking never changes a committed file. A PATH left out is the
configured cassette (`LK_CASSETTE`, default `cassettes/localaik.db`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from localaik.cassette import export, transcript, usage
from localaik.cassette.store import store_for
from localaik.cli.cassette_access import find, reading
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
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per recording.")
def ls(path: Path | None, as_json: bool) -> None:
    """List the recordings in a cassette, one per line.

    Columns: key prefix (/ordinal when not the first), API family, operation, model, stream or
    not, answer size, when it was recorded, and when a run last served it (from the usage file
    beside the cassette; "never" when no run on record used it).
    """
    with reading(path) as cassette:
        summaries = cassette.summaries()
        sizes = cassette.sizes()
        used = usage.last_used(cassette.path)
    rows: list[dict[str, Any]] = []
    for s in summaries:
        rows.append(
            {
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
        )
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no recordings in {cassette.path}", err=True)
        return
    table: list[tuple[str, ...]] = [
        ("KEY", "FAMILY", "OPERATION", "MODEL", "STREAM", "SIZE", "RECORDED", "LAST USED")
    ]
    for row in rows:
        key = row["key"][:12] + (f"/{row['ordinal']}" if row["ordinal"] else "")
        table.append(
            (
                key,
                row["family"],
                row["operation"],
                row["model"] or "-",
                "stream" if row["stream"] else "-",
                _size(row["size"]),
                _minute(row["recorded_at"]),
                _minute(row["last_used"]) or "never",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    click.echo(f"{len(rows)} recording{'s' * (len(rows) != 1)} in {cassette.path}", err=True)


def _minute(stamp: str | None) -> str:
    """`2026-11-25T10:00:01.250Z` -> `2026-11-25 10:00` (to the minute is enough to scan)."""
    return stamp[:16].replace("T", " ") if stamp else ""


# -- show -------------------------------------------------------------------------------------


@click.command()
@click.argument("key")
@click.option(
    "-c",
    "--cassette",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The cassette. [the configured one]",
)
@click.option(
    "--json", "as_json", is_flag=True, help="The recording's document in the export format."
)
@click.option("--color/--no-color", default=None, help="Colour the output. [on for a terminal]")
def show(key: str, path: Path | None, as_json: bool, color: bool | None) -> None:
    """Show one recording: the canonical request, the upstream request, the answer (body, or
    every stream frame with its time offset) and where it came from.

    KEY is a key prefix as `ls` shows it, with /ORDINAL for a later answer to the same request.
    """
    with reading(path) as cassette:
        recording = find(cassette, key)
    if as_json:
        click.echo(export.document_text(export.to_document(recording)))
        return
    for line in transcript.lines(recording, color=color is not False):
        click.echo(line, color=color)


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
