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
from localaik.cassette.files import StoredFile, refuse_secret_file
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret, shaped_like
from localaik.cassette.store import store_for
from localaik.cli.cassette_access import (
    all_recordings,
    default_cassette,
    one_cassette,
    reading,
)
from localaik.errors import Error, SecretRefused

EXPORT_FILE = re.compile(r"^([0-9a-f]{32}\.\d+|file\.[0-9a-f]{64})\.json$")


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
        files = list(cassette.files())
    # A cassette written before localaik knew a kind of token may hold one: not copied out.
    _refuse_secrets(recordings, "exported")
    _refuse_secret_files(files, "exported")
    file_lines = [
        export.document_text(export.file_document(file), indent=None) + "\n" for file in files
    ]
    try:
        if target == "-":
            for line in [*export.jsonl(recordings), *file_lines]:
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
                handle.writelines(file_lines)
            temporary.replace(out)
        else:
            _export_dir(recordings, files, out)
    except OSError as exc:
        raise click.ClickException(f"cannot export to {target}: {exc}") from None
    kept = f" and {len(files)} uploaded files" if files else ""
    click.echo(
        f"exported {len(recordings)} recordings{kept} from {cassette.path} to {target}", err=True
    )


def _export_dir(recordings: list[Recording], files: list[StoredFile], out: Path) -> None:
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
    for file in files:
        name = f"file.{file.sha256}.json"
        names.add(name)
        (out / name).write_text(
            export.document_text(export.file_document(file)) + "\n",
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


def _refuse_secret_files(files: list[StoredFile], done: str) -> None:
    try:
        for file in files:
            refuse_secret_file(file, "an export")
    except SecretRefused as exc:
        raise click.ClickException(f"nothing {done}: {exc.message}") from None


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
    recordings, files = _read_export(source)
    _refuse_secrets(recordings, "imported")
    _refuse_secret_files(files, "imported")
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
    if new or different or files:
        cassette = store_for(path)
        try:
            cassette.open(create=True)
            for file in files:  # content-addressed: a file held already is kept as it is
                cassette.save_file(file)
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


def _read_export(source: str) -> tuple[list[Recording], list[StoredFile]]:
    """The recordings and uploaded files of an export."""
    try:
        where = Path(source)
        if source != "-" and where.is_dir():
            paths = sorted(p for p in where.iterdir() if p.suffix == ".json")
            if not paths:
                raise click.ClickException(f"{source} holds no .json recordings")
            documents = [(_load(p), str(p)) for p in paths]
            recordings = [(d, at) for d, at in documents if not export.is_file_document(d)]
            files = [(d, at) for d, at in documents if export.is_file_document(d)]
            return (
                [export.from_document(d, where=at) for d, at in recordings],
                [export.stored_file_of(d, where=at) for d, at in files],
            )
        if source == "-":
            text, source = sys.stdin.read(), "standard input"
        else:
            text = where.read_text(encoding="utf-8", errors="surrogatepass")
        return (
            export.parse_jsonl(text, source=source),
            export.parse_jsonl_files(text, source=source),
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
