"""`localaik cassette prune`: remove what the last run(s) did not use, never everything.

The usage record is the real one: each `record_cassette` call is one run of the app (record or
replay mode), which notes what it served in `.localaik/<cassette>.used.d/`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from localaik.cassette.usage import legacy_path, read_runs, usage_path
from localaik.cli import cli
from tests.support import all_recordings
from tests.unit.test_verify import chat, in_terminal, record_cassette


def prompts(path: Path) -> list[str]:
    found = []
    for recording in all_recordings(path):
        found += [p for p in ("first", "second", "third") if p in recording.request]
    return sorted(found)


@pytest.fixture()
def cassette(tmp_path: Path) -> Path:
    """Recorded with three requests (run 1), then a replay run that used the first (run 2)."""
    path = tmp_path / "cassettes" / "localaik.db"
    record_cassette(path, [chat("first"), chat("second"), chat("third", stream=True)])
    time.sleep(0.002)  # runs are ordered by their start, in milliseconds
    record_cassette(path, [chat("first")], mode="replay")
    assert len(read_runs(path)) == 2
    return path


def prune(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["cassette", "prune", *args])
    return result.exit_code, result.output


def test_prune_keeps_what_the_last_run_used(cassette: Path) -> None:
    code, output = prune(str(cassette))
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 3
    assert all(
        line.split()[1:] == ["openai", "chat.completions", "gpt-4o-mini"] for line in lines[:2]
    )
    assert lines[2] == "removed 2 of 3 recordings (unused by the last run)"
    assert prompts(cassette) == ["first"]


def test_runs_2_keeps_what_either_of_the_last_two_runs_used(cassette: Path) -> None:
    code, output = prune(str(cassette), "--runs", "2")
    assert code == 0, output
    assert output == "nothing to remove: the last 2 runs used all 3 recordings\n"
    assert prompts(cassette) == ["first", "second", "third"]
    record_cassette(cassette, [chat("second")], mode="replay")
    code, output = prune(str(cassette), "--runs", "2")
    assert output.splitlines()[-1] == "removed 1 of 3 recordings (unused by the last 2 runs)"
    assert prompts(cassette) == ["first", "second"]


def test_dry_run_lists_and_removes_nothing(cassette: Path) -> None:
    before = cassette.read_bytes()
    code, output = prune(str(cassette), "--dry-run")
    assert code == 0, output
    assert output.splitlines()[-1] == "would remove 2 of 3 recordings (unused by the last run)"
    assert cassette.read_bytes() == before
    assert prompts(cassette) == ["first", "second", "third"]


def test_no_usage_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    record_cassette(path, [chat("first")])
    shutil.rmtree(usage_path(path))
    code, output = prune(str(path), "--yes")
    assert code == 1
    assert output == (
        f"Error: no usage record for {path} ({usage_path(path)} is missing or "
        "empty): "
        "run your tests against it first; prune never removes everything\n"
    )
    assert prompts(path) == ["first"]


def test_a_missing_cassette_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    legacy_path(path).parent.mkdir()
    legacy_path(path).write_text(  # the single usage file of earlier versions still counts
        '{"run":"r","started":"2026-01-01T00:00:00.000Z","at":"2026-01-01T00:00:00.000Z",'
        '"key":"k","ordinal":0}\n'
    )
    assert prune(str(path)) == (2, f"Error: {path}: no such file or folder\n")


def test_the_default_is_the_configured_cassette(cassette: Path) -> None:
    result = CliRunner().invoke(
        cli, ["cassette", "prune", "--dry-run"], env={"LK_CASSETTE": str(cassette)}
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith("would remove 2 of 3 recordings (unused by the last run)\n")


def test_help_warns_about_partial_runs() -> None:
    result = CliRunner().invoke(cli, ["cassette", "prune", "--help"])
    assert "after a run of only some tests" in " ".join(result.output.split())


@pytest.mark.parametrize(("typed", "removed"), [("n\n", False), ("y\n", True)])
def test_a_terminal_is_asked_first(cassette: Path, typed: str, removed: bool) -> None:
    code, output = in_terminal(["cassette", "prune", str(cassette)], typed)
    assert f"Remove these 2 recordings from {cassette}? [y/N]" in output
    if removed:
        assert code == 0, output
        assert prompts(cassette) == ["first"]
    else:
        assert code == 1 and "Aborted!" in output
        assert prompts(cassette) == ["first", "second", "third"]


def test_yes_skips_the_question(cassette: Path) -> None:
    code, output = in_terminal(["cassette", "prune", "--yes", str(cassette)], "")
    assert code == 0, output
    assert "Remove these" not in output
    assert prompts(cassette) == ["first"]
