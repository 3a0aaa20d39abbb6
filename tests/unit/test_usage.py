"""The usage record beside a cassette: what each run served, read back for prune and ls."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.cassette import usage


def test_each_run_notes_each_recording_once(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    log = usage.UsageLog()
    assert log.used(cassette, "k1", 0)
    assert not log.used(cassette, "k1", 0)
    assert log.used(cassette, "k1", 1)
    (run,) = usage.read_runs(cassette)
    assert run.id == log.run
    assert set(run.used) == {("k1", 0), ("k1", 1)}
    assert usage.usage_path(cassette).read_text().count("\n") == 2
    assert log.served(cassette) == {("k1", 0), ("k1", 1)}
    assert log.served(tmp_path / "other.db") == set()


def test_runs_come_back_oldest_first_and_last_used_is_the_newest(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    first, second = usage.UsageLog(), usage.UsageLog()
    first.started, second.started = "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"
    second.used(cassette, "b", 0)
    first.used(cassette, "a", 0)
    first.used(cassette, "b", 0)
    runs = usage.read_runs(cassette)
    assert [r.started for r in runs] == [first.started, second.started]
    latest = usage.last_used(cassette)
    assert set(latest) == {("a", 0), ("b", 0)}


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    usage.UsageLog().used(cassette, "a", 0)
    with usage.usage_path(cassette).open("a") as out:
        out.write('{"run": "x", "started"\nnot json\n{"run":1}\n')
    assert [set(r.used) for r in usage.read_runs(cassette)] == [{("a", 0)}]


def test_no_usage_file_means_no_runs(tmp_path: Path) -> None:
    assert usage.read_runs(tmp_path / "c.db") == []


def test_compaction_keeps_the_newest_runs(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    for month in range(1, 8):
        log = usage.UsageLog()
        log.started = f"2026-{month:02d}-01T00:00:00.000Z"
        log.used(cassette, f"k{month}", 0)
    usage.compact(usage.usage_path(cassette), keep=3)
    runs = usage.read_runs(cassette)
    assert [sorted(r.used) for r in runs] == [[("k5", 0)], [("k6", 0)], [("k7", 0)]]


def test_an_unwritable_usage_file_costs_a_warning_not_a_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = tmp_path / "c.db"
    usage.usage_path(cassette).mkdir(parents=True)  # unwritable even for root
    log = usage.UsageLog()
    assert log.used(cassette, "a", 0)
    assert log.used(cassette, "b", 0)
    assert sum("cannot note recording use" in r.message for r in caplog.records) == 1


def test_the_usage_folder_keeps_itself_out_of_git(tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "c.db"
    usage.UsageLog().used(cassette, "a", 0)
    folder = usage.usage_path(cassette).parent
    assert folder == tmp_path / "cassettes" / ".localaik"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
