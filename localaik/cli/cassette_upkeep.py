"""The upkeep commands of `localaik cassette`: verify, prune, merge, git-setup, merge-driver.

These are the commands that change cassettes (prune, merge) or judge them (verify). The work
is in `verify`, `merge` and `gitsetup`; here are the file handling, the printing and the error
edge: every localaik `Error`, `OSError` and `GitError` becomes one line and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from localaik.cassette import gitsetup
from localaik.cassette.merge import MergeResult, Side, merge
from localaik.cassette.names import SIDE_FILES, refusal
from localaik.cassette.recording import Recording
from localaik.cassette.store import store_for
from localaik.cassette.usage import read_runs, usage_path
from localaik.cli.cassette_access import default_cassette
from localaik.errors import Error
from localaik.server.verify import Report, verify

PROGRESS_ABOVE = 50  # recordings; fewer replay in well under a second


@contextlib.contextmanager
def _edge() -> Iterator[None]:
    """The error boundary of these commands: one clear line, exit status 1."""
    try:
        yield
    except Error as exc:
        raise click.ClickException(exc.message) from None
    except gitsetup.GitError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


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
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of lines.")
def verify_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check that cassettes are sound, hold no secrets, and replay.

    Checks SQLite's integrity and the schema, each recording (key, request, stream frames,
    body), the secret scan, and that every recording replays: its request is rebuilt and sent
    through localaik in replay mode, on a copy.

    PATHS default to the configured cassette (LK_CASSETTE, cassettes/localaik.db). Prints one
    line per problem and exits 1 if there is any.
    """
    reports: list[Report] = []
    with _edge():
        for path in paths or (default_cassette(),):
            bar = _Bar(f"verifying {path}")
            try:
                reports.append(verify(path, progress=bar))
            finally:
                bar.close()
    recordings = sum(r.recordings for r in reports)
    problems = [p for r in reports for p in r.problems]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "recordings": recordings,
                    "problems": len(problems),
                    "cassettes": [
                        {
                            "path": str(r.cassette),
                            "recordings": r.recordings,
                            "problems": [
                                {"key": p.key, "ordinal": p.ordinal, "problem": p.message}
                                for p in r.problems
                            ],
                        }
                        for r in reports
                    ],
                },
                indent=2,
            )
        )
    else:
        for problem in problems:
            click.echo(problem.line())
        click.echo(f"{_count(recordings, 'recording')}, {_count(len(problems), 'problem')}")
    if problems:
        click.get_current_context().exit(1)


# -- prune --------------------------------------------------------------------------------------


@click.command("prune")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--runs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Keep what any of the last N runs used.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def prune_command(path: Path | None, runs: int, dry_run: bool, yes: bool) -> None:
    """Remove the recordings that none of the last N runs used.

    Each server run notes what it served in .localaik/NAME.used.d/ beside the cassette (default:
    the configured cassette). Prune keeps what the last N runs used and removes the rest, so run
    your *whole* test suite first: after a run of only some tests, prune would remove the
    recordings of every other test. With no usage record at all it refuses.
    """
    with _edge():
        path = path or default_cassette()
        history = read_runs(path)
        if not history:
            raise click.ClickException(
                f"no usage record for {path} ({usage_path(path)} is missing or empty): run "
                "your tests against it first; prune never removes everything"
            )
        used = set().union(*(run.used for run in history[-runs:]))
        cassette = store_for(path, readonly=dry_run)
        try:
            if not cassette.open():
                raise click.ClickException(f"cassette {path} does not exist")
            summaries = cassette.summaries()
            unused = [s for s in summaries if (s.key, s.ordinal) not in used]
            which = "the last run" if runs == 1 else f"the last {min(runs, len(history))} runs"
            if not unused:
                click.echo(f"nothing to remove: {which} used all {len(summaries)} recordings")
                return
            for s in unused:
                ordinal = f" ordinal {s.ordinal}" if s.ordinal else ""
                click.echo(f"{s.key[:12]}{ordinal}  {s.family}  {s.operation}  {s.model or '-'}")
            if dry_run:
                click.echo(
                    f"would remove {len(unused)} of {len(summaries)} recordings (unused by {which})"
                )
                return
            if not yes and sys.stdin.isatty():
                click.confirm(f"Remove these {len(unused)} recordings from {path}?", abort=True)
            removed = cassette.delete([s.id for s in unused])
            click.echo(f"removed {removed} of {len(summaries)} recordings (unused by {which})")
        finally:
            cassette.close()


# -- merge --------------------------------------------------------------------------------------


def _recordings(path: Path) -> list[Recording]:
    """Every recording of a cassette, read-only. An empty file (git's stand-in for a side
    where the file did not exist) has none."""
    if path.exists() and path.stat().st_size == 0:
        return []
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            raise click.ClickException(f"cassette {path} does not exist")
        return list(cassette.recordings())
    finally:
        cassette.close()


def write_cassette(target: Path, recordings: list[Recording]) -> None:
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
    base_recordings = _recordings(base) if base is not None and base.exists() else None
    result = merge(_recordings(ours), _recordings(theirs), base_recordings or None, prefer=prefer)
    write_cassette(out, result.recordings)
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

    A recording is matched by request key and ordinal. Two with equal answers are one; two
    with different answers are a conflict: listed with what differs, ours kept, exit 1 (or
    resolved to --prefer's side, exit 0). The result replaces OURS (or --into) atomically.
    """
    with _edge():
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
        with _edge():
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
    with _edge():
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
        prune_command,
        merge_command,
        merge_driver_command,
        git_setup_command,
    ):
        group.add_command(command)
