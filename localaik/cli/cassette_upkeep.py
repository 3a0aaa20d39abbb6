"""The upkeep commands of `localaik cassette`: verify, merge, git-setup, merge-driver (prune
has its own module, `cassette_prune.py`).

These are the commands that change cassettes (merge) or judge them (verify). The work is in
`verify`, `merge` and `gitsetup`; here are the file handling, the printing and the error edge
(`cassette_access.edge`): every localaik `Error`, `OSError` and `GitError` becomes one line and
a non-zero exit.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from localaik.cassette import gitsetup, locate
from localaik.cassette.files import StoredFile
from localaik.cassette.merge import MergeResult, Side, merge
from localaik.cassette.names import SIDE_FILES, refusal
from localaik.cassette.recording import Recording
from localaik.cassette.store import store_for
from localaik.cli.cassette_access import NoCassette, cassettes, edge, plural
from localaik.server.verify import Report, verify

PROGRESS_ABOVE = 50  # recordings; fewer replay in well under a second


# -- verify -------------------------------------------------------------------------------------


class _Bar:
    """A progress bar on stderr, shown only for long runs on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total <= PROGRESS_ABOVE or not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@click.command("verify")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of lines.")
def verify_command(paths: tuple[str, ...], as_json: bool) -> None:
    """Check that cassettes are sound, hold no secrets, and replay.

    Checks SQLite's integrity and the schema, each recording (key, request, stream frames,
    body), the secret scan, and that every recording replays: its request is rebuilt and sent
    through localaik in replay mode, on a copy.

    PATHS are cassettes, folders (every cassette below them) or quoted globs; by default
    LK_CASSETTE when it is set, else every cassette in cassettes/ (serve's and the pytest
    plugin's). Prints one line per problem (over several cassettes, also one line per
    cassette) and a total; exits 1 if there is any problem.
    """
    reports: list[Report] = []
    with edge():
        for path in cassettes(paths):
            bar = _Bar(f"verifying {path}")
            try:
                reports.append(verify(path, progress=bar))
            finally:
                bar.close()
    recordings = sum(r.recordings for r in reports)
    problems = [p for r in reports for p in r.problems]
    if as_json:
        click.echo(json.dumps(_document(reports), indent=2))
    elif len(reports) == 1:
        for problem in problems:
            click.echo(problem.line())
        click.echo(f"{plural(recordings, 'recording')}, {plural(len(problems), 'problem')}")
    else:
        for report in reports:
            found = plural(len(report.problems), "problem") if report.problems else "ok"
            click.echo(f"{report.cassette}: {plural(report.recordings, 'recording')}, {found}")
            for problem in report.problems:
                click.echo(f"  {problem.line()}")
        failed = sum(1 for r in reports if r.problems)
        click.echo(
            f"{plural(recordings, 'recording')} in {plural(len(reports), 'cassette')}, "
            f"{plural(len(problems), 'problem')}"
            + (f" in {plural(failed, 'cassette')}" if failed else "")
        )
    if problems:
        click.get_current_context().exit(1)


def _document(reports: list[Report]) -> dict[str, Any]:
    return {
        "recordings": sum(r.recordings for r in reports),
        "problems": sum(len(r.problems) for r in reports),
        "cassettes": [
            {
                "path": str(r.cassette),
                "recordings": r.recordings,
                "problems": [
                    {"key": p.key, "ordinal": p.ordinal, "problem": p.message} for p in r.problems
                ],
            }
            for r in reports
        ],
    }


# -- merge --------------------------------------------------------------------------------------


def _recordings(path: Path) -> tuple[list[Recording], list[StoredFile]]:
    """Every recording and uploaded file of a cassette, read-only. An empty file (git's
    stand-in for a side where the file did not exist) has none."""
    if path.exists() and path.stat().st_size == 0:
        return [], []
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            raise click.ClickException(f"cassette {path} does not exist")
        return list(cassette.recordings()), list(cassette.files())
    finally:
        cassette.close()


def write_cassette(
    target: Path, recordings: list[Recording], files: Iterable[StoredFile] = ()
) -> None:
    """Replace `target` with a cassette of `recordings`, atomically.

    The result is built in a temporary cassette beside the target and renamed over it, so a
    failure leaves the target as it was, never half a merge. The target's `-wal`/`-shm` go
    first: SQLite would otherwise apply an old write-ahead log to the new file.
    """
    refused = refusal(target)
    if refused is not None:  # renamed into place, it would become another database's file
        raise click.ClickException(refused)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove_with_side_files(temporary)
    try:
        cassette = store_for(temporary)
        try:
            cassette.open(create=True)
            for file in files:
                cassette.save_file(file)
            cassette.save_all(recordings)
        finally:
            cassette.close()
        if target.exists():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        for suffix in SIDE_FILES:
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(temporary, target)
    finally:
        _remove_with_side_files(temporary)


def _remove_with_side_files(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _merge_files(
    ours: Path, theirs: Path, base: Path | None, out: Path, prefer: Side | None
) -> MergeResult:
    # A missing or empty base is no base: the file is new on both sides.
    base_recordings, base_files = (
        _recordings(base) if base is not None and base.exists() else ([], [])
    )
    (our_recordings, our_files), (their_recordings, their_files) = (
        _recordings(ours),
        _recordings(theirs),
    )
    result = merge(our_recordings, their_recordings, base_recordings or None, prefer=prefer)
    # Uploaded files are content-addressed: the union of the sides', each once.
    files = {file.sha256: file for file in (*base_files, *their_files, *our_files)}
    write_cassette(out, result.recordings, files.values())
    return result


@click.command("merge")
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--base",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The common ancestor: decides conflicts that only one side changed.",
)
@click.option(
    "--into",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the result here instead of into OURS.",
)
@click.option(
    "--prefer",
    type=click.Choice(["ours", "theirs"]),
    help="Resolve conflicts to this side (they are still listed).",
)
def merge_command(
    ours: Path, theirs: Path, base: Path | None, out: Path | None, prefer: Side | None
) -> None:
    """Merge THEIRS into OURS: the union of their recordings.

    OURS, THEIRS, --base and --into are one cassette file each (not folders or globs: a merge
    writes one cassette).

    A recording is matched by request key and ordinal. Two with equal answers are one; two
    with different answers are a conflict: listed with what differs, ours kept, exit 1 (or
    resolved to --prefer's side, exit 0). The result replaces OURS (or --into) atomically.
    """
    for given in (ours, theirs, base, out):
        if given is not None and locate.is_pattern(str(given)):
            raise NoCassette(f"{given}: merge takes one cassette file each, not a glob")
    with edge():
        result = _merge_files(ours, theirs, base, out or ours, prefer)
    for conflict in result.conflicts:
        click.echo(conflict.describe())
    click.echo(result.summary())
    if result.unresolved:
        click.get_current_context().exit(1)


@click.command("merge-driver", hidden=True)
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("name", required=False)
def merge_driver_command(base: Path, ours: Path, theirs: Path, name: str | None) -> None:
    """Git's merge driver (%O %A %B %P): the 3-way cassette merge, written into %A."""
    shown = name or str(ours)
    try:
        with edge():
            result = _merge_files(ours, theirs, base, ours, None)
    except click.ClickException as exc:
        raise click.ClickException(f"cannot merge cassette {shown}: {exc.message}") from None
    if not result.unresolved:
        return
    for conflict in result.conflicts:
        click.echo(f"{shown}: {conflict.describe()}", err=True)
    click.echo(
        f"{shown}: {len(result.conflicts)} recordings were recorded differently on both "
        "branches; the union was written keeping ours for them. Then either `git add` it as "
        f"it is, or take theirs for them: `git show :3:{shown} > theirs.db && localaik "
        f"cassette merge --prefer theirs {shown} theirs.db`, or take one whole side: "
        f"`git checkout --ours -- {shown}` / `git checkout --theirs -- {shown}`.",
        err=True,
    )
    click.get_current_context().exit(1)


# -- git-setup ----------------------------------------------------------------------------------


@click.command("git-setup")
@click.option(
    "--pattern",
    default=gitsetup.DEFAULT_PATTERN,
    show_default=True,
    help="Which files are cassettes (a .gitattributes pattern).",
)
@click.option("--check", is_flag=True, help="Only say what is missing; exit 1 if anything is.")
def git_setup_command(pattern: str, check: bool) -> None:
    """Set git up to diff and merge cassettes.

    Writes the .gitattributes line (commit it), .gitignore lines for SQLite's side files and
    the usage record, and the drivers in this clone's git config (git never runs commands from
    committed files: every clone runs this once)."""
    with edge():
        if check:
            lacking = gitsetup.missing()
            for line in lacking:
                click.echo(line)
            if lacking:
                click.get_current_context().exit(1)
            click.echo("git is set up for cassettes")
            return
        result = gitsetup.setup(pattern)
    top = result.top
    for line in result.attributes:
        click.echo(f"{top / '.gitattributes'}: added {line}")
    for line in result.ignored:
        click.echo(f"{top / '.gitignore'}: added {line}")
    if not result.attributes and not result.ignored:
        click.echo(".gitattributes and .gitignore already had their lines")
    for name, value in result.config.items():
        click.echo(f"git config {name} {shlex.quote(value)}")


def register(group: click.Group) -> None:
    """Add this module's commands to the `cassette` group."""
    for command in (
        verify_command,
        merge_command,
        merge_driver_command,
        git_setup_command,
    ):
        group.add_command(command)
