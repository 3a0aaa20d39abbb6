"""`localaik cassette diff`: two cassettes, or two recordings, compared as their clients see them.

Two recordings of the same request answer alike when a client gets the same answer from both:
each is translated as a replay would translate it (`server/client_view.py`), with the
upstream's volatile fields steadied first (`cassette/volatile.py`: the `id` and `created` stamp
every answer gets, llama-server's `timings`, random tool call ids). Recording the same prompts
twice from the same model then shows no difference, and the volatile fields that told the
recordings apart are listed on their own. Timing (`--timing`) is listed apart too: the same
answer is never streamed at the same pace twice.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from localaik.cassette import export, locate, transcript
from localaik.cassette.recording import Recording
from localaik.cassette.volatile import Steadied, differing, steady
from localaik.cli.cassette_access import (
    PATHS_HELP,
    all_recordings,
    cassettes,
    find,
    one_cassette,
    reading,
)
from localaik.server.client_view import client_views


def register(group: click.Group) -> None:
    """Add this module's command to the `cassette` group."""
    group.add_command(diff)


@click.command()
@click.argument("a")
@click.argument("b")
@click.option(
    "-c",
    "--cassette",
    "path",
    type=click.Path(),
    help=f"Where to look for bare keys: {PATHS_HELP}. [LK_CASSETTE, else cassettes/]",
)
@click.option("--timing", is_flag=True, help="Also list frame offsets and durations that differ.")
def diff(a: str, b: str, path: str | None, timing: bool) -> None:
    """Compare two cassettes, or two recordings, as their clients see them.

    A and B are one cassette each (a file, or a folder or glob naming just one), or
    recordings: CASSETTE:KEY (CASSETTE may be a folder or glob, searched), or a bare KEY
    looked for where --cassette says. For cassettes: the recordings only one side has, and a
    unified diff of each recording both have whose client gets a different answer.
    Recordings whose answers differ only in the upstream's volatile fields (id, created,
    timings, …) are counted apart, naming those fields, as timing is with --timing. Exit
    status as diff(1): 0 the same, 1 different.
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


def _diff_side(argument: str, path: str | None) -> Path | Recording:
    if Path(argument).is_file():
        return Path(argument)
    where, colon, key = argument.rpartition(":")
    if colon and (Path(where).exists() or locate.is_pattern(where)):
        return find(cassettes([where]), key)
    if Path(argument).is_dir() or locate.is_pattern(argument):
        return one_cassette(argument, "diff of cassettes")
    if re.fullmatch(r"[0-9a-fA-F]{1,32}(/\d+)?", argument):
        return find(cassettes([path] if path is not None else []), argument)
    raise click.ClickException(f"{argument}: no such cassette file, and not CASSETTE:KEY or KEY")


@dataclass
class _Comparison:
    """Two recordings of one request: what their clients get, and what else tells them apart."""

    left: Steadied
    right: Steadied
    changed: bool = False  # the clients get different answers
    volatile: list[str] = field(default_factory=list)  # volatile fields that differ
    timing: bool = False  # frame offsets or durations differ


def _compare(pairs: Sequence[tuple[Recording, Recording]]) -> list[_Comparison]:
    comparisons = [_Comparison(steady(a), steady(b)) for a, b in pairs]
    unequal = [c for c in comparisons if _answer(c.left) != _answer(c.right)]
    views = client_views([r for c in unequal for r in (c.left.recording, c.right.recording)])
    for n, comparison in enumerate(unequal):
        left, right = views[2 * n], views[2 * n + 1]
        if left is None or right is None:  # not rebuilt: the steadied answers are all there is
            comparison.changed = True
        else:
            comparison.changed = left != right
    for comparison in comparisons:
        comparison.volatile = differing(comparison.left, comparison.right)
        comparison.timing = _timing(comparison.left.recording) != _timing(
            comparison.right.recording
        )
    return comparisons


def _answer(steadied: Steadied) -> object:
    return export.answer(steadied.recording)


def _timing(recording: Recording) -> object:
    return recording.duration_ms, tuple(f.offset_ms for f in recording.frames)


def _diff_recordings(left: Recording, right: Recording, a: str, b: str, timing: bool) -> bool:
    if left.key != right.key:  # two requests: everything about them may differ
        return not _show_diff(steady(left), steady(right), a, b, timing)
    [comparison] = _compare([(left, right)])
    if comparison.changed:
        _show_diff(comparison.left, comparison.right, a, b, timing)
        return False
    _notes(comparison, timing)
    return True


def _diff_cassettes(a: Path, b: Path, timing: bool) -> bool:
    with reading(a) as cassette:
        left = {(r.key, r.ordinal): r for r in all_recordings(cassette)}
    with reading(b) as cassette:
        right = {(r.key, r.ordinal): r for r in all_recordings(cassette)}
    only_left = sorted(left.keys() - right.keys())
    only_right = sorted(right.keys() - left.keys())
    both = sorted(left.keys() & right.keys())
    comparisons = _compare([(left[slot], right[slot]) for slot in both])
    for title, slots, source in (
        (f"only in {a}", only_left, left),
        (f"only in {b}", only_right, right),
    ):
        if slots:
            click.echo(click.style(f"{title}:", bold=True))
            for slot in slots:
                click.echo("  " + _one_line(source[slot]))
    changed = [c for c in comparisons if c.changed]
    for comparison in changed:
        first, second = comparison.left.recording, comparison.right.recording
        click.echo(click.style(f"changed: {_one_line(first)}", bold=True))
        _show_diff(
            comparison.left,
            comparison.right,
            f"{a}:{transcript.short_key(first)}",
            f"{b}:{transcript.short_key(second)}",
            timing,
        )
    if timing:  # the volatile fields are named once, in the summary
        for comparison in comparisons:
            if comparison.timing:
                _timing_note(comparison, transcript.short_key(comparison.left.recording) + ": ")
    volatile = [c for c in comparisons if not c.changed and c.volatile]
    fields = sorted({name for c in volatile for name in c.volatile})
    summary = (
        f"{len(left)} and {len(right)} recordings: {len(only_left)} only in the first, "
        f"{len(only_right)} only in the second, {len(changed)} with different answers, "
        f"{len(volatile)} differing only in volatile upstream fields"
        + (f" ({', '.join(fields)})" if fields else "")
    )
    if timing:
        summary += f", {sum(c.timing for c in comparisons)} with different timing"
    click.echo(summary, err=True)
    return not (only_left or only_right or changed)


def _notes(comparison: _Comparison, timing: bool) -> None:
    """What tells two recordings apart besides the answer their clients get."""
    if comparison.volatile:
        click.echo(f"the same answer; volatile fields differ: {', '.join(comparison.volatile)}")
    if timing and comparison.timing:
        _timing_note(comparison, "")


def _timing_note(comparison: _Comparison, prefix: str) -> None:
    first, second = comparison.left.recording, comparison.right.recording
    click.echo(
        f"{prefix}timing differs: {first.duration_ms:g} ms and {second.duration_ms:g} ms, "
        f"{len(first.frames)} and {len(second.frames)} frames"
    )


def _show_diff(left: Steadied, right: Steadied, a: str, b: str, timing: bool) -> bool:
    """A unified diff of two recordings (volatile fields steadied); whether there was one."""
    before = transcript.text(left.recording, timing=timing).splitlines(keepends=True)
    after = transcript.text(right.recording, timing=timing).splitlines(keepends=True)
    lines = list(difflib.unified_diff(before, after, a, b))
    for line in lines:
        _echo_diff_line(line)
    return bool(lines)


def _one_line(recording: Recording) -> str:
    text = transcript.answer_text(recording)
    shown = f"  {text[:60]!r}" if text else ""
    return (
        f"{transcript.short_key(recording)}  {recording.family} {recording.operation}  "
        f"{recording.model or '-'}{'  stream' if recording.stream else ''}{shown}"
    )


def _echo_diff_line(line: str) -> None:
    color = (
        "green"
        if line.startswith("+")
        else "red"
        if line.startswith("-")
        else "cyan"
        if line.startswith("@@")
        else None
    )
    click.echo(click.style(line.rstrip("\n"), fg=color) if color else line.rstrip("\n"))
