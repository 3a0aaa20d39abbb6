"""The reading commands of `localaik cassette`: ls, show, diff, export, import, textconv.

Every command but `import` opens cassettes read-only: looking never changes a committed file.
A PATH left out is the configured cassette (`LK_CASSETTE`, default `cassettes/localaik.db`).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from localaik.cassette import export, transcript, usage
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import CassetteStore, store_for
from localaik.config import Settings, SettingsError
from localaik.errors import Error

EXPORT_FILE = re.compile(r"^[0-9a-f]{32}\.\d+\.json$")


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
    for command in (ls, show, diff, export_command, import_command, textconv):
        group.add_command(command)


# -- shared -----------------------------------------------------------------------------------


def default_cassette() -> Path:
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


def all_recordings(cassette: CassetteStore, *, label: str = "reading") -> list[Recording]:
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
    if not re.fullmatch(r"[0-9a-f]{1,32}", prefix) or (ordinal_text and
                                                         not ordinal_text.isdigit()):
        raise click.ClickException(f"{wanted!r} is not a recording key (hex digits, optionally "
                                   "/ORDINAL), as `localaik cassette ls` shows")
    matches = [s for s in cassette.summaries() if s.key.startswith(prefix)
               and (not ordinal_text or s.ordinal == int(ordinal_text))]
    keys = sorted({s.key for s in matches})
    if not matches:
        raise click.ClickException(f"no recording with key {wanted} in {cassette.path}")
    if len(keys) > 1:
        raise click.ClickException(f"key prefix {prefix} matches {len(keys)} recordings in "
                                   f"{cassette.path} ({', '.join(k[:16] for k in keys[:5])}"
                                   f"{', …' if len(keys) > 5 else ''}); give more of the key")
    chosen = min(matches, key=lambda s: s.ordinal)
    recording = cassette.get(chosen.key, chosen.ordinal)
    assert recording is not None
    return recording


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
    rows = []
    for s in summaries:
        rows.append({"key": s.key, "ordinal": s.ordinal, "family": s.family,
                     "operation": s.operation, "model": s.model, "stream": s.stream,
                     "size": sizes.get(s.id, 0), "recorded_at": s.recorded_at,
                     "last_used": used.get((s.key, s.ordinal))})
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no recordings in {cassette.path}", err=True)
        return
    table = [("KEY", "FAMILY", "OPERATION", "MODEL", "STREAM", "SIZE", "RECORDED", "LAST USED")]
    for row in rows:
        key = row["key"][:12] + (f"/{row['ordinal']}" if row["ordinal"] else "")
        table.append((key, row["family"], row["operation"], row["model"] or "-",
                      "stream" if row["stream"] else "-", _size(row["size"]),
                      _minute(row["recorded_at"]), _minute(row["last_used"]) or "never"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                        strict=True)).rstrip())
    click.echo(f"{len(rows)} recording{'s' * (len(rows) != 1)} in {cassette.path}", err=True)


def _minute(stamp: str | None) -> str:
    """`2026-11-25T10:00:01.250Z` -> `2026-11-25 10:00` (to the minute is enough to scan)."""
    return stamp[:16].replace("T", " ") if stamp else ""


# -- show -------------------------------------------------------------------------------------


@click.command()
@click.argument("key")
@click.option("-c", "--cassette", "path", type=click.Path(path_type=Path, dir_okay=False),
              help="The cassette. [the configured one]")
@click.option("--json", "as_json", is_flag=True,
              help="The recording's document in the export format.")
@click.option("--color/--no-color", default=None,
              help="Colour the output. [on for a terminal]")
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


# -- diff -------------------------------------------------------------------------------------


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("-c", "--cassette", "path", type=click.Path(path_type=Path, dir_okay=False),
              help="The cassette for arguments that are bare keys. [the configured one]")
@click.option("--timing", is_flag=True, help="Also compare frame offsets and durations.")
def diff(a: str, b: str, path: Path | None, timing: bool) -> None:
    """Compare two cassettes, or two recordings.

    A and B are cassette files, or recordings: CASSETTE:KEY, or a bare KEY in the cassette
    given by --cassette. For cassettes: the recordings only one side has, and a unified diff of
    each recording both have with a different answer. Exit status as diff(1): 0 the same,
    1 different.
    """
    left, right = _diff_side(a, path), _diff_side(b, path)
    if isinstance(left, Path) != isinstance(right, Path):
        raise click.UsageError("compare two cassettes or two recordings, not one of each")
    if isinstance(left, Path) and isinstance(right, Path):
        same = _diff_cassettes(left, right, timing)
    else:
        assert isinstance(left, Recording) and isinstance(right, Recording)
        same = _diff_recordings(left, right, a, b, timing)
    sys.exit(0 if same else 1)


def _diff_side(argument: str, path: Path | None) -> Path | Recording:
    if Path(argument).is_file():
        return Path(argument)
    where, colon, key = argument.rpartition(":")
    if colon and Path(where).is_file():
        with reading(Path(where)) as cassette:
            return find(cassette, key)
    if re.fullmatch(r"[0-9a-fA-F]{1,32}(/\d+)?", argument):
        with reading(path) as cassette:
            return find(cassette, argument)
    raise click.ClickException(f"{argument}: no such cassette file, and not CASSETTE:KEY or KEY")


def _diff_recordings(left: Recording, right: Recording, a: str, b: str, timing: bool) -> bool:
    before = transcript.text(left, timing=timing).splitlines(keepends=True)
    after = transcript.text(right, timing=timing).splitlines(keepends=True)
    lines = list(difflib.unified_diff(before, after, a, b))
    for line in lines:
        _echo_diff_line(line)
    return not lines


def _diff_cassettes(a: Path, b: Path, timing: bool) -> bool:
    with reading(a) as cassette:
        left = {(r.key, r.ordinal): r for r in all_recordings(cassette)}
    with reading(b) as cassette:
        right = {(r.key, r.ordinal): r for r in all_recordings(cassette)}
    only_left = sorted(left.keys() - right.keys())
    only_right = sorted(right.keys() - left.keys())
    changed = sorted(slot for slot in left.keys() & right.keys()
                     if _compared(left[slot], timing) != _compared(right[slot], timing))
    for title, slots, source in ((f"only in {a}", only_left, left),
                                 (f"only in {b}", only_right, right)):
        if slots:
            click.echo(click.style(f"{title}:", bold=True))
            for slot in slots:
                click.echo("  " + _one_line(source[slot]))
    for slot in changed:
        click.echo(click.style(f"changed: {_one_line(left[slot])}", bold=True))
        _diff_recordings(left[slot], right[slot], f"{a}:{transcript.short_key(left[slot])}",
                         f"{b}:{transcript.short_key(right[slot])}", timing)
    same = not (only_left or only_right or changed)
    click.echo(f"{len(left)} and {len(right)} recordings: {len(only_left)} only in the first, "
               f"{len(only_right)} only in the second, {len(changed)} with different answers",
               err=True)
    return same


def _compared(recording: Recording, timing: bool) -> Any:
    answer = export.answer(recording)
    if timing:
        return answer, recording.duration_ms, tuple(f.offset_ms for f in recording.frames)
    return answer


def _one_line(recording: Recording) -> str:
    text = transcript.answer_text(recording)
    shown = f"  {text[:60]!r}" if text else ""
    return (f"{transcript.short_key(recording)}  {recording.family} {recording.operation}  "
            f"{recording.model or '-'}{'  stream' if recording.stream else ''}{shown}")


def _echo_diff_line(line: str) -> None:
    color = "green" if line.startswith("+") else "red" if line.startswith("-") else \
        "cyan" if line.startswith("@@") else None
    click.echo(click.style(line.rstrip("\n"), fg=color) if color else line.rstrip("\n"))


# -- export / import --------------------------------------------------------------------------


@click.command("export")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--to", "target", required=True,
              help="A .jsonl file (one recording per line), - for standard output, or a "
                   "directory (one indented .json file per recording).")
def export_command(path: Path | None, target: str) -> None:
    """Write a cassette's recordings as text: one JSON document per recording, sorted by key,
    versioned ("format": "localaik-recording/1"), the same bytes for the same recordings.

    A directory is made to mirror the cassette: files of recordings it no longer holds are
    removed. `localaik cassette import` reads either form back, byte for byte.
    """
    with reading(path) as cassette:
        recordings = all_recordings(cassette, label="exporting")
    try:
        if target == "-":
            for line in export.jsonl(recordings):
                click.echo(line, nl=False)
            return
        out = Path(target)
        if out.suffix in (".jsonl", ".json"):
            out.parent.mkdir(parents=True, exist_ok=True)
            temporary = out.with_name(out.name + ".tmp")
            with temporary.open("w", encoding="utf-8", errors="surrogatepass",
                                newline="\n") as handle:
                handle.writelines(export.jsonl(recordings))
            temporary.replace(out)
        else:
            _export_dir(recordings, out)
    except OSError as exc:
        raise click.ClickException(f"cannot export to {target}: {exc}") from None
    click.echo(f"exported {len(recordings)} recordings from {cassette.path} to {target}",
               err=True)


def _export_dir(recordings: list[Recording], out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"{out} is a file; give a directory, or a .jsonl file")
    out.mkdir(parents=True, exist_ok=True)
    names = set()
    for document, recording in zip(export.sorted_documents(recordings),
                                   sorted(recordings, key=lambda r: (r.key, r.ordinal)),
                                   strict=True):
        name = export.file_name(recording)
        names.add(name)
        (out / name).write_text(export.document_text(document) + "\n", encoding="utf-8",
                                errors="surrogatepass", newline="\n")
    for stale in out.iterdir():
        if EXPORT_FILE.match(stale.name) and stale.name not in names:
            stale.unlink()


@click.command("import")
@click.argument("source")
@click.option("--into", "path", type=click.Path(path_type=Path, dir_okay=False),
              help="The cassette to import into (created if missing). [the configured one]")
@click.option("--replace", is_flag=True,
              help="Overwrite recordings the cassette holds with a different answer.")
def import_command(source: str, path: Path | None, replace: bool) -> None:
    """Read recordings exported by `localaik cassette export` into a cassette.

    SOURCE is a .jsonl file, - for standard input, or an export directory. Every document is
    checked first (format version, key matching its request, no secrets); then all are written
    in one transaction, so a failed import changes nothing. A recording the cassette already
    holds with the same answer is skipped; with a different answer the import stops, unless
    --replace.
    """
    recordings = _read_export(source)
    for recording in recordings:
        found = locate_secret(recording)
        if found is not None:
            raise click.ClickException(
                f"nothing imported: recording {transcript.short_key(recording)} holds something "
                f"shaped like a {found[0]} in its {found[1]} field; cassettes never hold secrets")
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
            f"{path} ({shown}); nothing imported. Use --replace to overwrite them")
    if new or different:
        cassette = store_for(path)
        try:
            cassette.open(create=True)
            cassette.save_all(new + different, replace=True)
        except Error as exc:
            raise click.ClickException(exc.message) from None
        finally:
            cassette.close()
    click.echo(f"imported {len(new)} new and {len(different)} replaced recordings into {path}; "
               f"{same} already there", err=True)


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
        return export.parse_jsonl(where.read_text(encoding="utf-8", errors="surrogatepass"),
                                  source=source)
    except export.ExportError as exc:
        raise click.ClickException(f"nothing imported: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from None


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="surrogatepass"))
    except ValueError as exc:
        raise export.ExportError(f"{path}: not JSON ({exc})") from None


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
