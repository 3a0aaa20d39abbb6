"""`localaik cassette export` and `import`: a cassette as versioned text, and back.

Export opens the cassette read-only; import checks every document before it writes anything,
then writes all of them in one transaction.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from localaik.cassette import export, transcript
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret, shaped_like
from localaik.cassette.store import store_for
from localaik.cli.cassette_access import (
    all_recordings,
    default_cassette,
    one_cassette,
    reading,
)
from localaik.errors import Error

EXPORT_FILE = re.compile(r"^[0-9a-f]{32}\.\d+\.json$")


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
    for command in (export_command, import_command):
        group.add_command(command)


@click.command("export")
@click.argument("path", required=False, type=click.Path())
@click.option(
    "--to",
    "target",
    required=True,
    help="A .jsonl file (one recording per line), - for standard output, or a "
    "directory (one indented .json file per recording).",
)
def export_command(path: str | None, target: str) -> None:
    """Write a cassette's recordings as text: one JSON document per recording, sorted by key,
    versioned ("format": "localaik-recording/1"), the same bytes for the same recordings.

    PATH is one cassette (a folder or glob naming just one will do; several are refused, as
    their recordings would mix): by default LK_CASSETTE when it is set, else the one cassette
    in cassettes/. A directory is made to mirror the cassette: files of recordings it no
    longer holds are removed. `localaik cassette import` reads either form back, byte for byte.
    """
    with reading(one_cassette(path, "export")) as cassette:
        recordings = all_recordings(cassette, label="exporting")
    # A cassette written before localaik knew a kind of token may hold one: not copied out.
    _refuse_secrets(recordings, "exported")
    try:
        if target == "-":
            for line in export.jsonl(recordings):
                click.echo(line, nl=False)
            return
        out = Path(target)
        if out.suffix in (".jsonl", ".json"):
            out.parent.mkdir(parents=True, exist_ok=True)
            temporary = out.with_name(out.name + ".tmp")
            with temporary.open(
                "w", encoding="utf-8", errors="surrogatepass", newline="\n"
            ) as handle:
                handle.writelines(export.jsonl(recordings))
            temporary.replace(out)
        else:
            _export_dir(recordings, out)
    except OSError as exc:
        raise click.ClickException(f"cannot export to {target}: {exc}") from None
    click.echo(f"exported {len(recordings)} recordings from {cassette.path} to {target}", err=True)


def _export_dir(recordings: list[Recording], out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"{out} is a file; give a directory, or a .jsonl file")
    out.mkdir(parents=True, exist_ok=True)
    names = set()
    for document, recording in zip(
        export.sorted_documents(recordings),
        sorted(recordings, key=lambda r: (r.key, r.ordinal)),
        strict=True,
    ):
        name = export.file_name(recording)
        names.add(name)
        (out / name).write_text(
            export.document_text(document) + "\n",
            encoding="utf-8",
            errors="surrogatepass",
            newline="\n",
        )
    for stale in out.iterdir():
        if EXPORT_FILE.match(stale.name) and stale.name not in names:
            stale.unlink()


def _refuse_secrets(recordings: list[Recording], done: str) -> None:
    for recording in recordings:
        found = locate_secret(recording)
        if found is not None:
            raise click.ClickException(
                f"nothing {done}: recording {transcript.short_key(recording)} holds "
                f"{shaped_like(found[0])} in its {found[1]} field; cassettes never hold "
                "secrets (`localaik cassette verify` lists every such recording)"
            )


@click.command("import")
@click.argument("source")
@click.option(
    "--into",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The one cassette to import into (created if missing). "
    "[LK_CASSETTE, else cassettes/localaik.db]",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Overwrite recordings the cassette holds with a different answer.",
)
def import_command(source: str, path: Path | None, replace: bool) -> None:
    """Read recordings exported by `localaik cassette export` into a cassette.

    SOURCE is a .jsonl file, - for standard input, or an export directory. Every document is
    checked first (format version, key matching its request, no secrets); then all are written
    in one transaction, so a failed import changes nothing. A recording the cassette already
    holds with the same answer is skipped; with a different answer the import stops, unless
    --replace.
    """
    recordings = _read_export(source)
    _refuse_secrets(recordings, "imported")
    path = path or default_cassette()
    new, same, different = list(recordings), 0, []
    if path.exists():
        # Compared on a read-only open: a refused import leaves the file byte for byte.
        with reading(path) as held_cassette:
            new = []
            for recording in recordings:
                held = held_cassette.get(recording.key, recording.ordinal)
                if held is None:
                    new.append(recording)
                elif export.answer(held) == export.answer(recording):
                    same += 1
                else:
                    different.append(recording)
    if different and not replace:
        shown = ", ".join(transcript.short_key(r) for r in different[:5])
        raise click.ClickException(
            f"{len(different)} recording(s) in {source} answer differently from those in "
            f"{path} ({shown}); nothing imported. Use --replace to overwrite them"
        )
    if new or different:
        cassette = store_for(path)
        try:
            cassette.open(create=True)
            cassette.save_all(new + different, replace=True)
        except Error as exc:
            raise click.ClickException(exc.message) from None
        finally:
            cassette.close()
    click.echo(
        f"imported {len(new)} new and {len(different)} replaced recordings into {path}; "
        f"{same} already there",
        err=True,
    )


def _read_export(source: str) -> list[Recording]:
    try:
        if source == "-":
            return export.parse_jsonl(sys.stdin.read(), source="standard input")
        where = Path(source)
        if where.is_dir():
            files = sorted(p for p in where.iterdir() if p.suffix == ".json")
            if not files:
                raise click.ClickException(f"{source} holds no .json recordings")
            return [export.from_document(_load(p), where=str(p)) for p in files]
        return export.parse_jsonl(
            where.read_text(encoding="utf-8", errors="surrogatepass"), source=source
        )
    except export.ExportError as exc:
        raise click.ClickException(f"nothing imported: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from None


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="surrogatepass"))
    except ValueError as exc:
        raise export.ExportError(f"{path}: not JSON ({exc})") from None
