"""`localaik cassette prune`: remove, in every cassette named, what its recent runs did not use.

Each cassette is judged by its own usage journal (`.localaik/<name>.used.d/` beside it,
`cassette/usage.py`): a recording stays when any of that cassette's last `--runs` runs served
it. So after a pytest session that wrote per-test cassettes, a test that ran keeps exactly what
it asked for, and the cassette of a test that did not run (deselected, or in a file not given)
keeps everything: its last run is an older session. The plugin's `--localaik-fail-unused`
judges the same way, only the cassettes the session used.

What per-cassette judgement cannot tell is a cassette whose test is gone: no run will use it
again, and its last run still vouches for it. Prune names the cassettes the newest run of all
did not use, for the user to look at; it never deletes a file.

A cassette with no usage record is kept as it is (a fresh clone has none: the journal is never
committed); when no cassette named has one, prune refuses, since it would remove everything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from localaik.cassette.recording import Summary
from localaik.cassette.store import store_for
from localaik.cassette.usage import Run, read_runs, usage_path
from localaik.cli.cassette_access import cassettes, edge, plural, reading


@dataclass
class _Plan:
    """One cassette: its recordings, those its last runs did not use, and those runs."""

    path: Path
    total: int
    unused: list[Summary]
    runs: list[Run]


@click.command("prune")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--runs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Keep what any of a cassette's last N runs used.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def prune_command(paths: tuple[str, ...], runs: int, dry_run: bool, yes: bool) -> None:
    """Remove the recordings that none of the last N runs used.

    PATHS are cassettes, folders (every cassette below them) or quoted globs; by default
    LK_CASSETTE when it is set, else every cassette in cassettes/ (serve's and the pytest
    plugin's per-test ones). Each server run (a `localaik serve`, a pytest session) notes what
    it served in .localaik/NAME.used.d/ beside each cassette; prune keeps what a cassette's last
    N runs used and removes the rest. So run your *whole* test suite first: after a run of only
    some tests, prune would remove from a cassette shared by several tests the recordings of
    those that did not run (a per-test cassette whose test did not run is left alone). A
    cassette with no usage record is kept; when none has one, prune refuses.
    """
    with edge():
        found = cassettes(paths)
        plans = [plan for path in found if (plan := _plan(path, runs)) is not None]
        if not plans:
            _refuse(found)
        _prune(plans, len(found), runs, dry_run, yes)
    unrecorded = [path for path in found if path not in {plan.path for plan in plans}]
    _notes(plans, unrecorded)


def _plan(path: Path, runs: int) -> _Plan | None:
    history = read_runs(path)
    if not history:
        return None
    recent = history[-runs:]
    used = set().union(*(run.used for run in recent))
    with reading(path) as cassette:
        summaries = cassette.summaries()
    unused = [s for s in summaries if (s.key, s.ordinal) not in used]
    return _Plan(path, len(summaries), unused, recent)


def _refuse(found: list[Path]) -> None:
    if len(found) == 1:
        raise click.ClickException(
            f"no usage record for {found[0]} ({usage_path(found[0])} is missing or empty): "
            "run your tests against it first; prune never removes everything"
        )
    raise click.ClickException(
        f"no usage record for any of the {len(found)} cassettes (in .localaik/ beside each): "
        "run your tests against them first; prune never removes everything"
    )


def _prune(plans: list[_Plan], matched: int, runs: int, dry_run: bool, yes: bool) -> None:
    single = matched == 1
    if single:
        which = "the last run" if runs == 1 else f"the last {len(plans[0].runs)} runs"
    else:
        which = "each cassette's last run" if runs == 1 else f"each cassette's last {runs} runs"
    total = sum(plan.total for plan in plans)
    doomed = [plan for plan in plans if plan.unused]
    count = sum(len(plan.unused) for plan in doomed)
    if not doomed:
        click.echo(f"nothing to remove: {which} used all {total} recordings")
        return
    for plan in doomed:
        if not single:
            click.echo(f"{plan.path}:")
        for s in plan.unused:
            ordinal = f" ordinal {s.ordinal}" if s.ordinal else ""
            line = f"{s.key[:12]}{ordinal}  {s.family}  {s.operation}  {s.model or '-'}"
            click.echo(line if single else f"  {line}")
    where = "" if single else f" in {len(doomed)} of {plural(len(plans), 'cassette')}"
    if dry_run:
        click.echo(f"would remove {count} of {total} recordings{where} (unused by {which})")
        return
    if not yes and sys.stdin.isatty():
        target = plans[0].path if single else plural(len(doomed), "cassette")
        click.confirm(f"Remove these {count} recordings from {target}?", abort=True)
    removed = 0
    for plan in doomed:
        cassette = store_for(plan.path)
        try:
            if not cassette.open():
                raise click.ClickException(f"cassette {plan.path} does not exist")
            removed += cassette.delete([s.id for s in plan.unused])
        finally:
            cassette.close()
    click.echo(f"removed {removed} of {total} recordings{where} (unused by {which})")


def _notes(plans: list[_Plan], unrecorded: list[Path]) -> None:
    """On stderr: the cassettes kept for want of a usage record, and those the newest run of
    all did not use (a test that is gone leaves one)."""
    if unrecorded:
        shown = ", ".join(str(path) for path in unrecorded[:3])
        more = ", …" if len(unrecorded) > 3 else ""
        click.echo(
            f"kept as they are: {plural(len(unrecorded), 'cassette')} no run on record used "
            f"({shown}{more})",
            err=True,
        )
    if len(plans) < 2:
        return
    newest = max((plan.runs[-1] for plan in plans), key=lambda run: (run.started, run.id))
    stale = [plan.path for plan in plans if newest.id not in {run.id for run in plan.runs}]
    if stale:
        click.echo(
            f"{plural(len(stale), 'cassette')} not used by the newest run (started "
            f"{newest.started}), each judged by its own last run; delete those whose tests "
            "are gone:",
            err=True,
        )
        for path in stale:
            click.echo(f"  {path}", err=True)
