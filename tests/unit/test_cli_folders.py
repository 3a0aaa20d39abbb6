"""The cassette commands and `doctor` over folders and globs, and their default: every cassette
in cassettes/ (serve's `localaik.db` and per-test cassettes), or LK_CASSETTE when it is set.

The cassettes are recorded for real through the app (`record_cassette`: one run each, noted
in the usage journal beside the cassette, as a plugin session notes them).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localaik.cli import cli
from tests.support import all_recordings
from tests.unit.test_verify import chat, record_cassette

SERVE = Path("cassettes/localaik.db")
ONE = Path("cassettes/tests/test_x/test_one.db")
TWO = Path("cassettes/tests/test_x/test_two.db")


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("LK_") or name == "CI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("LK_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """serve's cassette and two per-test cassettes, each recorded by a run of its own."""
    record_cassette(tmp_path / SERVE, [chat("a"), chat("b")])
    record_cassette(tmp_path / ONE, [chat("c")])
    record_cassette(tmp_path / TWO, [chat("d"), chat("e")])
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def prompts(path: Path) -> list[str]:
    return sorted(r.request.split('"content":"')[1].split('"')[0] for r in all_recordings(path))


# -- the default and errors ---------------------------------------------------------------------


def test_ls_with_no_path_lists_every_cassette_grouped(project: Path) -> None:
    result = run("cassette", "ls")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["KEY", "FAMILY", "OPERATION"]
    assert [line for line in lines if not line.startswith(" ")] == [str(SERVE), str(ONE), str(TWO)]
    assert len([line for line in lines if line.startswith("  ") and "openai" in line]) == 5
    assert result.stderr == "5 recordings in 3 cassettes\n"
    rows = [json.loads(line) for line in run("cassette", "ls", "--json").stdout.splitlines()]
    assert [row["cassette"] for row in rows] == [str(SERVE)] * 2 + [str(ONE)] + [str(TWO)] * 2


def test_one_unreadable_cassette_hides_none_of_the_others(project: Path) -> None:
    broken = project / "cassettes/tests/test_x/test_three.db"
    broken.write_text("<<<<<<< HEAD\nnot a cassette\n" * 50)
    result = run("cassette", "ls")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[6].startswith("cassettes/tests/test_x/test_three.db  (cannot be read: ")
    assert len([line for line in lines if line.startswith("  ") and "openai" in line]) == 5
    assert result.stderr == "5 recordings in 4 cassettes, 1 unreadable\n"
    as_json = run("cassette", "ls", "--json")
    assert as_json.exit_code == 1 and len(as_json.stdout.splitlines()) == 5
    assert as_json.stderr.startswith("Error: ")
    key = all_recordings(project / TWO)[0].key
    assert run("cassette", "show", key[:10]).exit_code == 0
    missing = run("cassette", "show", "0" * 12)
    assert missing.output.startswith(
        f"Error: no recording with key {'0' * 12} in any of 4 cassettes (1 could not be read: "
    )


def test_lk_cassette_set_is_the_default(project: Path) -> None:
    result = run("cassette", "ls", env={"LK_CASSETTE": str(ONE)})
    assert result.exit_code == 0, result.output
    assert result.stderr == f"1 recording in {ONE}\n"
    gone = run("cassette", "verify", env={"LK_CASSETTE": "cassettes/gone.db"})
    assert gone.exit_code == 2
    assert gone.output.startswith("Error: LK_CASSETTE=cassettes/gone.db: no such file or folder;")
    assert len(gone.output.splitlines()) == 1


@pytest.mark.parametrize("command", ["ls", "verify", "prune", "export", "show 0123"])
def test_no_cassettes_folder_is_one_line_naming_it_and_exit_2(tmp_path: Path, command: str) -> None:
    result = run("cassette", *command.split(), *(["--to", "-"] if command == "export" else []))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: no cassettes: there is no cassettes/ folder in {tmp_path}, where `localaik "
        "serve` and the pytest plugin write them; run this in the project's root, or give "
        "PATHS (cassettes, folders or quoted globs), or set LK_CASSETTE\n"
    )


def test_an_empty_folder_or_a_glob_matching_nothing_is_an_error(project: Path) -> None:
    (project / "cassettes" / "empty").mkdir()
    for argument, reason in (
        ("cassettes/empty", "no cassettes in this folder (nor below it)"),
        ("cassettes/**/*.sqlite", "no cassette matches this pattern"),
        ("cassettes/tests/test_y.db", "no such file or folder"),
    ):
        for command in ("ls", "verify", "prune"):
            result = run("cassette", command, "cassettes", argument)
            assert (result.exit_code, result.output) == (2, f"Error: {argument}: {reason}\n")


def test_globs_are_expanded_by_localaik(project: Path) -> None:
    result = run("cassette", "ls", "--json", "cassettes/**/test_*.db")
    assert result.exit_code == 0, result.output
    assert {json.loads(line)["cassette"] for line in result.stdout.splitlines()} == {
        str(ONE),
        str(TWO),
    }


# -- commands that read one cassette ----------------------------------------------------------


def test_show_finds_a_key_in_whichever_cassette_holds_it(project: Path) -> None:
    key = all_recordings(project / TWO)[0].key
    result = run("cassette", "show", key[:10])
    assert result.exit_code == 0, result.output
    assert f"recording {key}" in result.output
    record_cassette(project / "cassettes/again.db", [same_request(project / TWO, key)])
    twice = run("cassette", "show", key[:10])
    assert twice.exit_code == 1
    assert twice.output == (
        f"Error: recording {key[:16]} is in 2 cassettes (cassettes/again.db, {TWO}); "
        "choose one with -c CASSETTE\n"
    )
    assert run("cassette", "show", key[:10], "-c", "cassettes/tests").exit_code == 0
    missing = run("cassette", "show", "0" * 12, "-c", "cassettes/tests")
    assert missing.output == f"Error: no recording with key {'0' * 12} in any of 2 cassettes\n"


def same_request(path: Path, key: str) -> tuple[str, str, object, dict[str, str]]:
    """The request recorded under `key` in `path`, to record it again elsewhere."""
    [recording] = [r for r in all_recordings(path) if r.key == key]
    text = recording.request.split('"content":"')[1].split('"')[0]
    return chat(text)


def test_export_and_diff_take_one_cassette(project: Path) -> None:
    several = run("cassette", "export", "--to", "-")
    assert several.exit_code == 2
    assert several.output == (
        f"Error: the default names 3 cassettes ({SERVE}, {ONE}, {TWO}); export takes one: "
        "give its file\n"
    )
    one = run("cassette", "export", "cassettes/**/test_one.db", "--to", "-")
    assert one.exit_code == 0, one.output
    assert len(one.stdout.splitlines()) == 1
    both = run("cassette", "diff", "cassettes/tests", str(SERVE))
    assert both.exit_code == 2
    assert "cassettes/tests names 2 cassettes" in both.output and "diff of cassettes" in both.output
    key = all_recordings(project / ONE)[0].key
    same = run("cassette", "diff", f"cassettes/tests:{key[:8]}", f"{ONE}:{key[:8]}")
    assert same.exit_code == 0, same.output


def test_merge_takes_cassette_files_not_globs(project: Path) -> None:
    result = run("cassette", "merge", "cassettes/*.db", str(ONE))
    assert (result.exit_code, result.output) == (
        2,
        "Error: cassettes/*.db: merge takes one cassette file each, not a glob\n",
    )
    assert "one cassette file each" in " ".join(run("cassette", "merge", "-h").output.split())


# -- verify -----------------------------------------------------------------------------------


def test_verify_with_no_path_verifies_every_cassette(project: Path) -> None:
    result = run("cassette", "verify")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{SERVE}: 2 recordings, ok\n{ONE}: 1 recording, ok\n{TWO}: 2 recordings, ok\n"
        "5 recordings in 3 cassettes, 0 problems\n"
    )
    broken = project / "cassettes/tests/test_x/test_three.db"
    broken.write_text("<<<<<<< HEAD\nnot a cassette\n" * 50)
    result = run("cassette", "verify")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{broken.relative_to(project)}: 0 recordings, 1 problem" in lines
    assert lines[-1] == "5 recordings in 4 cassettes, 1 problem in 1 cassette"
    document = json.loads(run("cassette", "verify", "--json", "cassettes/tests").output)
    assert [c["path"] for c in document["cassettes"]] == [
        str(ONE),
        str(broken.relative_to(project)),
        str(TWO),
    ]


# -- prune ------------------------------------------------------------------------------------


def test_prune_judges_each_cassette_by_its_own_runs(project: Path) -> None:
    time.sleep(0.002)  # runs are ordered by their start, in milliseconds
    record_cassette(project / TWO, [chat("d")], mode="replay")  # the newest run used only d
    dry = run("cassette", "prune", "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0] == f"{TWO}:"
    assert lines[1].split()[1:] == ["openai", "chat.completions", "gpt-4o-mini"]
    assert lines[2:] == [
        "would remove 1 of 5 recordings in 1 of 3 cassettes (unused by each cassette's last run)"
    ]
    # The others are judged by their own last run (the test that did not run keeps its
    # recordings), and named: a cassette whose test is gone is one of them.
    assert "2 cassettes not used by the newest run" in dry.stderr
    assert f"  {SERVE}\n  {ONE}\n" in dry.stderr
    done = run("cassette", "prune", "--yes")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1] == (
        "removed 1 of 5 recordings in 1 of 3 cassettes (unused by each cassette's last run)"
    )
    assert prompts(project / TWO) == ["d"]
    assert prompts(project / ONE) == ["c"] and prompts(project / SERVE) == ["a", "b"]
    again = run("cassette", "prune", "--yes")
    assert again.stdout == "nothing to remove: each cassette's last run used all 4 recordings\n"


def test_prune_keeps_cassettes_without_usage_and_refuses_when_none_has_any(
    project: Path,
) -> None:
    shutil.rmtree(project / "cassettes/tests/test_x/.localaik")  # as in a fresh clone
    result = run("cassette", "prune", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == "nothing to remove: each cassette's last run used all 2 recordings\n"
    assert result.stderr.startswith(
        f"kept as they are: 2 cassettes no run on record used ({ONE}, {TWO})"
    )
    refused = run("cassette", "prune", "cassettes/tests")
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: no usage record for any of the 2 cassettes (in .localaik/ beside each): run "
        "your tests against them first; prune never removes everything\n"
    )


# -- doctor -----------------------------------------------------------------------------------


def doctor(*args: str) -> tuple[int, dict[str, tuple[str, str]]]:
    result = run("doctor", "--json", *args, env={"LK_MODE": "replay"})
    checks = json.loads(result.output)
    return result.exit_code, {c["name"]: (c["status"], c["detail"]) for c in checks}


def test_doctor_checks_every_cassette_found(project: Path) -> None:
    code, checks = doctor()
    assert code == 0
    assert checks["cassettes"] == ("ok", "cassettes/: 3 cassettes, 5 recordings")
    assert doctor("cassettes/tests")[1]["cassettes"] == ("ok", "2 cassettes, 3 recordings")
    broken = project / "cassettes/tests/test_x/test_three.db"
    broken.write_text("not a cassette at all\n" * 50)
    code, checks = doctor()
    assert code == 1
    status, detail = checks["cassettes"]
    assert status == "fail"
    assert detail.startswith(
        f"cassettes/: 4 cassettes, 5 recordings; 1 cannot be read as cassettes: "
        f"{broken.relative_to(project)} ("
    )
    nothing = run("doctor", "cassettes/none.db")
    assert (nothing.exit_code, nothing.output) == (
        2,
        "Error: cassettes/none.db: no such file or folder\n",
    )


def test_doctor_without_a_cassettes_folder_says_so(tmp_path: Path) -> None:
    code, checks = doctor()
    assert code == 0
    assert checks["cassettes"] == (
        "ok",
        "cassettes/ does not exist yet: serve and the pytest plugin make it at their first "
        "recording",
    )
