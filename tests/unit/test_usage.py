"""The usage record beside a cassette: what each run served, read back for prune and ls."""

from __future__ import annotations

import gc
import json
import multiprocessing
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localaik.cassette import usage

STARTED = "2026-{:02d}-01T00:00:00.000Z"


def journal_files(cassette: Path) -> list[Path]:
    return sorted(usage.usage_path(cassette).iterdir())


def test_each_run_notes_each_recording_once(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    log = usage.UsageLog()
    assert log.used(cassette, "k1", 0)
    assert not log.used(cassette, "k1", 0)
    assert log.used(cassette, "k1", 1)
    (run,) = usage.read_runs(cassette)
    assert run.id == log.run
    assert set(run.used) == {("k1", 0), ("k1", 1)}
    (file,) = journal_files(cassette)
    assert file.read_text().count("\n") == 2
    assert log.served(cassette) == {("k1", 0), ("k1", 1)}
    assert log.served(tmp_path / "other.db") == set()


def test_runs_come_back_oldest_first_and_last_used_is_the_newest(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    first = usage.UsageLog(started=STARTED.format(1))
    second = usage.UsageLog(started=STARTED.format(2))
    second.used(cassette, "b", 0)
    first.used(cassette, "a", 0)
    first.used(cassette, "b", 0)
    runs = usage.read_runs(cassette)
    assert [r.started for r in runs] == [first.started, second.started]
    latest = usage.last_used(cassette)
    assert set(latest) == {("a", 0), ("b", 0)}


def test_writers_of_one_run_make_one_run(tmp_path: Path) -> None:
    """pytest-xdist workers join the controller's run: each writes its own file."""
    cassette = tmp_path / "c.db"
    one = usage.UsageLog()
    two = usage.UsageLog(run=one.run, started=one.started)
    one.used(cassette, "a", 0)
    two.used(cassette, "b", 0)
    two.used(cassette, "a", 0)
    assert len(journal_files(cassette)) == 2
    (run,) = usage.read_runs(cassette)
    assert set(run.used) == {("a", 0), ("b", 0)}


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    usage.UsageLog().used(cassette, "a", 0)
    (file,) = journal_files(cassette)
    with file.open("a") as out:
        out.write('{"run": "x", "started"\nnot json\n{"run":1}\n')
    (usage.usage_path(cassette) / "stray-file").write_text("not a run file\n")
    assert [set(r.used) for r in usage.read_runs(cassette)] == [{("a", 0)}]


def test_no_usage_record_means_no_runs(tmp_path: Path) -> None:
    assert usage.read_runs(tmp_path / "c.db") == []


def test_old_runs_are_forgotten_whole(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    for month in range(1, 8):
        usage.UsageLog(started=STARTED.format(month)).used(cassette, f"k{month}", 0)
    assert usage.forget_old_runs(cassette, keep=3) == 4
    runs = usage.read_runs(cassette)
    assert [sorted(r.used) for r in runs] == [[("k5", 0)], [("k6", 0)], [("k7", 0)]]


def test_a_run_beginning_beside_a_cassette_forgets_the_runs_beyond_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage, "KEEP_RUNS", 3)
    cassette = tmp_path / "c.db"
    for month in range(1, 6):
        usage.UsageLog(started=STARTED.format(month)).used(cassette, f"k{month}", 0)
    assert [sorted(r.used) for r in usage.read_runs(cassette)] == [
        [("k3", 0)],
        [("k4", 0)],
        [("k5", 0)],
    ]


def legacy_line(run: str, key: str) -> str:
    entry = {"run": run, "started": run[:24], "at": run[:24], "key": key, "ordinal": 0}
    return json.dumps(entry) + "\n"


def test_the_older_single_usage_file_still_counts_until_enough_newer_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage, "KEEP_RUNS", 3)
    cassette = tmp_path / "c.db"
    legacy = usage.legacy_path(cassette)
    legacy.parent.mkdir()
    legacy.write_text(legacy_line("2025-01-01T00:00:00.000Z-1-aaaa", "old"))
    usage.UsageLog(started=STARTED.format(1)).used(cassette, "new", 0)
    old, new = usage.read_runs(cassette)
    assert (set(old.used), set(new.used)) == ({("old", 0)}, {("new", 0)})
    assert legacy.read_text().count("\n") == 1  # read, never written
    for month in (2, 3, 4):
        usage.UsageLog(started=STARTED.format(month)).used(cassette, "new", 0)
    assert not legacy.exists()
    assert len(usage.read_runs(cassette)) == 3


def test_an_unwritable_usage_journal_costs_a_warning_not_a_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = tmp_path / "c.db"
    usage.usage_path(cassette).parent.mkdir(parents=True)
    usage.usage_path(cassette).write_text("")  # a file where the folder goes
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


# -- many writers ------------------------------------------------------------------------------

WRITERS = 4
NOTES = 1000
OLD_RUNS = 30


def _write(cassette: str, index: int, run: str | None, started: str | None) -> None:
    log = usage.UsageLog(run=run, started=started)
    for note in range(NOTES):
        log.used(Path(cassette), f"w{index}-{note:05d}", 0)


def _churn(cassette: str, rounds: int) -> None:
    """Runs older than the writers' begin (each forgetting the runs beyond the newest), and
    forgetting run by hand, while the writers write."""
    for number in range(rounds):
        started = f"2000-01-01T00:00:{number % 60:02d}.{number:03d}Z"
        usage.UsageLog(started=started).used(Path(cassette), f"churn{number}", 0)
        usage.forget_old_runs(Path(cassette))


@pytest.mark.parametrize("shared_run", [False, True], ids=["run-each", "one-run"])
def test_many_processes_write_one_journal_while_old_runs_go_and_lose_no_note(
    tmp_path: Path, shared_run: bool
) -> None:
    cassette = tmp_path / "c.db"
    legacy = usage.legacy_path(cassette)
    legacy.parent.mkdir()
    legacy.write_text(
        "".join(legacy_line(f"1999-01-01T00:00:00.000Z-{i}-old", "old") for i in range(3))
    )
    for month in range(OLD_RUNS):
        usage.UsageLog(started=f"2001-01-01T00:00:{month:02d}.000Z").used(cassette, "old", 0)
    run = usage.UsageLog() if shared_run else None
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(
            target=_write,
            args=(str(cassette), index, run and run.run, run and run.started),
        )
        for index in range(WRITERS)
    ] + [spawn.Process(target=_churn, args=(str(cassette), 200))]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    runs = usage.read_runs(cassette)
    written = {(f"w{i}-{n:05d}", 0) for i in range(WRITERS) for n in range(NOTES)}
    read = {slot for r in runs for slot in r.used if slot[0].startswith("w")}
    print(f"\n{WRITERS} processes x {NOTES} notes: {len(written)} written, {len(read)} read back")
    assert read == written
    assert len(runs) == usage.KEEP_RUNS
    assert not legacy.exists()
    writers = [r for r in runs if any(k.startswith("w") for k, _ in r.used)]
    assert len(writers) == (1 if shared_run else WRITERS)


@given(
    run=st.text(min_size=1, max_size=12),
    key=st.text(max_size=40),
    ordinal=st.integers(min_value=0, max_value=10**6),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_note_is_the_json_line_it_always_was(
    tmp_path: Path, run: str, key: str, ordinal: int
) -> None:
    """The line is built from text made once; it reads as the object `json.dumps` writes."""
    cassette = tmp_path / f"{uuid.uuid4().hex}.db"
    log = usage.UsageLog(run=run, started=STARTED.format(3))
    log.used(cassette, key, ordinal)
    (file,) = journal_files(cassette)
    line = file.read_text(encoding="utf-8")
    entry = json.loads(line)
    expected = {"run": log.run, "started": STARTED.format(3), "at": entry["at"], "key": key}
    assert line == json.dumps({**expected, "ordinal": ordinal}, separators=(",", ":")) + "\n"


def _collector_walk(root: object) -> int:
    """How many references the garbage collector follows from `root`: it walks the objects it
    tracks, and an untracked container (a dict holding only texts) is not walked."""
    seen: set[int] = set()
    stack = [root]
    visits = 0
    while stack:
        value = stack.pop()
        if id(value) in seen or not gc.is_tracked(value):
            continue
        seen.add(id(value))
        referents = gc.get_referents(value)
        visits += len(referents)
        stack.extend(referents)
    return visits


def test_a_long_sessions_notes_add_nothing_to_a_full_collection(tmp_path: Path) -> None:
    """Every full collection walks what the collector tracks: notes kept as (key, ordinal)
    tuples in a set made it walk one entry per recording served, ~4.5 ms at 100,000."""
    log = usage.UsageLog()
    cassette = tmp_path / "c.db"
    log.used(cassette, "k", 0)
    before = _collector_walk(log)
    for number in range(5000):
        log.used(cassette, f"{number:032x}", number % 3)
    assert _collector_walk(log) - before < 50
    assert len(log.served(cassette)) == 5001
    assert (f"{4999:032x}", 4999 % 3) in log.served(cassette)
