"""Merging cassettes: every 3-way case of `localaik.merge`, then the command on real files."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from localaik.cassette.merge import conflict_between, first_difference, merge
from localaik.cassette.recording import Frame, Recording
from localaik.cli import cli
from tests.support import all_recordings
from tests.unit.test_store import make_recording
from tests.unit.test_verify import chat, record_cassette


def rec(slot: str, answer: str = "A", *, ordinal: int = 0, **changes: object) -> Recording:
    """A recording in slot (`slot` * 32, `ordinal`) whose answer is `{"answer": answer}`."""
    return make_recording(slot * 32, ordinal, frames=0, body=body(answer), **changes)


def slots(recordings: list[Recording]) -> dict[tuple[str, int], bytes | None]:
    return {(r.key[:1], r.ordinal): r.body for r in recordings}


def body(answer: str) -> bytes:
    return f'{{"answer": "{answer}"}}'.encode()


# -- the table of cases, one test each -----------------------------------------------------------


def test_equal_answers_are_one_recording_whatever_their_timing() -> None:
    ours = rec("a", recorded_at="2026-01-01T00:00:00.000Z", duration_ms=10.0)
    theirs = rec("a", recorded_at="2027-01-01T00:00:00.000Z", duration_ms=99.0)
    result = merge([ours], [theirs])
    assert [r.recorded_at for r in result.recordings] == ["2026-01-01T00:00:00.000Z"]
    assert (result.kept, result.added, result.dropped, result.conflicts) == (1, 0, 0, [])


def test_each_side_adds_its_own() -> None:
    result = merge([rec("a"), rec("b")], [rec("a"), rec("c")], base=[rec("a")])
    assert slots(result.recordings) == {
        ("a", 0): body("A"),
        ("b", 0): body("A"),
        ("c", 0): body("A"),
    }
    assert (result.kept, result.added, result.dropped) == (2, 1, 0)
    assert result.summary() == "kept 2, added 1 from theirs, dropped 0, conflicts 0"


def test_ordinals_are_separate_slots() -> None:
    result = merge([rec("a", ordinal=0)], [rec("a", ordinal=0), rec("a", "B", ordinal=1)])
    assert slots(result.recordings) == {("a", 0): body("A"), ("a", 1): body("B")}


def test_only_theirs_changed_it_takes_theirs() -> None:
    result = merge([rec("a", "A")], [rec("a", "B")], base=[rec("a", "A")])
    assert slots(result.recordings) == {("a", 0): body("B")}
    assert (result.kept, result.added, result.conflicts) == (0, 1, [])


def test_only_ours_changed_it_keeps_ours() -> None:
    result = merge([rec("a", "B")], [rec("a", "A")], base=[rec("a", "A")])
    assert slots(result.recordings) == {("a", 0): body("B")}
    assert (result.kept, result.added, result.conflicts) == (1, 0, [])


@pytest.mark.parametrize("base", [None, [rec("a", "C")], []])
def test_both_changed_it_is_a_conflict_keeping_ours(base: list[Recording] | None) -> None:
    result = merge([rec("a", "A", model="m1")], [rec("a", "B")], base=base)
    assert slots(result.recordings) == {("a", 0): body("A")}
    [conflict] = result.conflicts
    assert conflict.resolved is None and result.unresolved == [conflict]
    assert conflict.describe() == (
        f"conflict {'a' * 12} model m1: body differs, ours "
        '\'{"answer": "A"}\' vs theirs \'{"answer": "B"}\' '
        "(kept ours)"
    )
    assert result.summary() == "kept 1, added 0 from theirs, dropped 0, conflicts 1"


@pytest.mark.parametrize("prefer", ["ours", "theirs"])
def test_prefer_resolves_a_conflict_to_one_side(prefer: str) -> None:
    result = merge([rec("a", "A")], [rec("a", "B")], prefer=prefer)  # type: ignore[arg-type]
    assert slots(result.recordings) == {("a", 0): body("A" if prefer == "ours" else "B")}
    [conflict] = result.conflicts
    assert conflict.resolved == prefer and result.unresolved == []
    assert conflict.describe().endswith(f"(took {prefer})")


def test_deleted_by_theirs_and_untouched_by_ours_is_dropped() -> None:
    result = merge([rec("a"), rec("b")], [rec("b")], base=[rec("a"), rec("b")])
    assert slots(result.recordings) == {("b", 0): body("A")}
    assert (result.kept, result.dropped) == (1, 1)


def test_deleted_by_ours_and_untouched_by_theirs_is_dropped() -> None:
    result = merge([rec("b")], [rec("a"), rec("b")], base=[rec("a"), rec("b")])
    assert slots(result.recordings) == {("b", 0): body("A")}
    assert (result.added, result.dropped) == (0, 1)


def test_deleted_by_theirs_but_changed_by_ours_keeps_ours() -> None:
    result = merge([rec("a", "B")], [], base=[rec("a", "A")])
    assert slots(result.recordings) == {("a", 0): body("B")}
    assert (result.kept, result.dropped, result.conflicts) == (1, 0, [])


def test_deleted_by_ours_but_changed_by_theirs_takes_theirs() -> None:
    result = merge([], [rec("a", "B")], base=[rec("a", "A")])
    assert slots(result.recordings) == {("a", 0): body("B")}
    assert (result.added, result.dropped, result.conflicts) == (1, 0, [])


def test_deleted_on_both_sides_stays_deleted() -> None:
    result = merge([rec("b")], [rec("b")], base=[rec("a"), rec("b")])
    assert slots(result.recordings) == {("b", 0): body("A")}


def test_without_a_base_one_sided_recordings_are_kept() -> None:
    result = merge([rec("a")], [rec("b")])
    assert slots(result.recordings) == {("a", 0): body("A"), ("b", 0): body("A")}
    assert (result.kept, result.added, result.dropped) == (1, 1, 0)


def test_what_differs_is_named() -> None:
    assert conflict_between(rec("a"), rec("a", status=404)).differs == "status"
    assert conflict_between(rec("a"), rec("a", content_type="text/plain")).differs == "content type"
    streamed = make_recording("a" * 32, frames=3)
    changed = dataclasses.replace(
        streamed, frames=[*streamed.frames[:2], Frame(40.0, b'data: {"seq": 9}\n\n')]
    )
    conflict = conflict_between(streamed, changed)
    assert (conflict.differs, conflict.ours, conflict.theirs) == (
        "frames",
        '\ndata: {"seq": 2}\n\n',
        '\ndata: {"seq": 9}\n\n',
    )


def test_the_first_difference_is_shown_in_context() -> None:
    text = "The answer is " + "long " * 30
    ours, theirs = first_difference(text.encode() + b"yes", text.encode() + b"no")
    assert ours.startswith("long") and ours.endswith("yes")
    assert theirs.endswith("no") and len(ours) <= 60
    assert first_difference(b"same", b"same and more") == ("same", "same and more")


# -- the command, on cassettes recorded for real -------------------------------------------------


@pytest.fixture()
def sides(tmp_path: Path) -> tuple[Path, Path]:
    """Two cassettes with one request in common and one of their own each."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    record_cassette(ours, [chat("common"), chat("ours only")])
    record_cassette(theirs, [chat("common"), chat("theirs only", stream=True)])
    return ours, theirs


def answers(path: Path) -> list[str]:
    """The prompts of the recordings in the cassette at `path`."""
    texts = []
    for recording in all_recordings(path):
        texts += [
            word for word in ("common", "ours only", "theirs only") if word in recording.request
        ]
    return sorted(texts)


def change_answer(path: Path, old: str, new: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        for row_id, value in conn.execute("SELECT id, body FROM recordings").fetchall():
            if value and old.encode() in value:
                conn.execute(
                    "UPDATE recordings SET body = ? WHERE id = ?",
                    (value.replace(old.encode(), new.encode()), row_id),
                )


def test_merge_writes_the_union_into_ours(sides: tuple[Path, Path]) -> None:
    ours, theirs = sides
    result = CliRunner().invoke(cli, ["cassette", "merge", str(ours), str(theirs)])
    assert result.exit_code == 0, result.output
    assert result.output == "kept 2, added 1 from theirs, dropped 0, conflicts 0\n"
    assert answers(ours) == ["common", "ours only", "theirs only"]
    assert answers(theirs) == ["common", "theirs only"]
    leftovers = sorted(
        p.name for p in ours.parent.iterdir() if p.name.startswith(".") and p.name != ".localaik"
    )  # usage notes
    assert leftovers == []
    verified = CliRunner().invoke(cli, ["cassette", "verify", str(ours)])
    assert verified.exit_code == 0, verified.output


def test_merge_into_another_file(sides: tuple[Path, Path], tmp_path: Path) -> None:
    ours, theirs = sides
    before = ours.read_bytes()
    out = tmp_path / "out" / "merged.db"
    out.parent.mkdir()
    result = CliRunner().invoke(
        cli, ["cassette", "merge", str(ours), str(theirs), "--into", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert ours.read_bytes() == before
    assert answers(out) == ["common", "ours only", "theirs only"]


def test_a_conflict_is_listed_ours_kept_exit_1(sides: tuple[Path, Path]) -> None:
    ours, theirs = sides
    change_answer(theirs, "Echo: common", "Echo: different")
    result = CliRunner().invoke(cli, ["cassette", "merge", str(ours), str(theirs)])
    assert result.exit_code == 1
    conflict, summary = result.output.splitlines()
    assert (
        conflict.startswith("conflict ") and " model gpt-4o-mini: body differs, ours '" in conflict
    )
    assert "Echo: common" in conflict and "Echo: different" in conflict
    assert conflict.endswith("(kept ours)")
    assert summary == "kept 2, added 1 from theirs, dropped 0, conflicts 1"
    assert answers(ours) == ["common", "ours only", "theirs only"]


def test_prefer_theirs_takes_their_answer_exit_0(sides: tuple[Path, Path]) -> None:
    ours, theirs = sides
    change_answer(theirs, "Echo: common", "Echo: different")
    result = CliRunner().invoke(
        cli, ["cassette", "merge", str(ours), str(theirs), "--prefer", "theirs"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("(took theirs)")
    assert any(b"Echo: different" in (r.body or b"") for r in all_recordings(ours))


def test_a_base_decides_what_only_one_side_changed(
    sides: tuple[Path, Path], tmp_path: Path
) -> None:
    ours, theirs = sides
    base = tmp_path / "base.db"
    record_cassette(base, [chat("common")])
    change_answer(theirs, "Echo: common", "Echo: refreshed")
    result = CliRunner().invoke(
        cli, ["cassette", "merge", str(ours), str(theirs), "--base", str(base)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "kept 1, added 2 from theirs, dropped 0, conflicts 0\n"
    assert any(b"Echo: refreshed" in (r.body or b"") for r in all_recordings(ours))


def test_a_failed_merge_leaves_ours_as_it_was(sides: tuple[Path, Path]) -> None:
    ours, theirs = sides
    secret = "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
    with closing(sqlite3.connect(theirs)) as conn, conn:  # only raw SQL can put it there
        conn.execute(
            "UPDATE frames SET data = ? WHERE seq = 1 AND recording_id = (SELECT id "
            "FROM recordings WHERE stream = 1)",
            (b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n' % secret.encode(),),
        )
    before = ours.read_bytes()
    result = CliRunner().invoke(cli, ["cassette", "merge", str(ours), str(theirs)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: not recording into cassette ")
    assert "Google API key" in result.output and secret not in result.output
    assert ours.read_bytes() == before
    assert sorted(p.name for p in ours.parent.iterdir()) == sorted(
        [".localaik", "ours.db", "theirs.db"]
    )


def test_the_write_ahead_log_of_ours_is_read_and_not_reapplied(
    sides: tuple[Path, Path], tmp_path: Path
) -> None:
    """OURS may have a -wal beside it (a server killed before it folded it back). The merge
    reads through it, and removes it: left beside the new file, SQLite would apply the old
    file's pages to it."""
    ours, theirs = sides
    scratch = tmp_path / "scratch.db"
    scratch.write_bytes(ours.read_bytes())
    with closing(sqlite3.connect(scratch)) as conn:
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        with conn:
            conn.execute("DELETE FROM recordings WHERE request LIKE '%ours only%'")
        log = scratch.with_name("scratch.db-wal").read_bytes()
    wal = ours.with_name(ours.name + "-wal")
    wal.write_bytes(log)
    assert answers(ours) == ["common"]  # the log is part of what OURS holds
    wal.write_bytes(log)  # (reading it folded it back: put it there again)
    result = CliRunner().invoke(cli, ["cassette", "merge", str(ours), str(theirs)])
    assert result.exit_code == 0, result.output
    assert result.output == "kept 1, added 1 from theirs, dropped 0, conflicts 0\n"
    assert not wal.exists()
    assert answers(ours) == ["common", "theirs only"]
    assert CliRunner().invoke(cli, ["cassette", "verify", str(ours)]).exit_code == 0


def test_missing_inputs_are_one_line_errors(tmp_path: Path) -> None:
    record_cassette(tmp_path / "ours.db", [chat("x")])
    result = CliRunner().invoke(
        cli, ["cassette", "merge", str(tmp_path / "ours.db"), str(tmp_path / "nope.db")]
    )
    assert result.exit_code == 1
    assert result.output == f"Error: cassette {tmp_path / 'nope.db'} does not exist\n"
