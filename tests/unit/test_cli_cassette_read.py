"""`localaik cassette ls/show/diff/export/import/textconv` on real cassette files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localaik.cassette import export, usage
from localaik.cassette.recording import Frame, Recording
from localaik.cassette.store import store_for
from localaik.cli import cli
from tests.unit.test_export import keyed


def chunks(text: str, *, step: int = 3) -> list[Frame]:
    """An OpenAI stream that answers `text` a few characters per event."""
    frames = [
        Frame(
            10.0 + i,
            b"data: "
            + json.dumps(
                {"choices": [{"index": 0, "delta": {"content": text[i : i + step]}}]}
            ).encode()
            + b"\n\n",
        )
        for i in range(0, len(text), step)
    ]
    return frames + [Frame(99.5, b"data: [DONE]\n\n")]


def answering(prompt: str, answer: str, ordinal: int = 0) -> Recording:
    return keyed(prompt, ordinal=ordinal, frames=chunks(answer))


def cassette_with(path: Path, *recordings: Recording) -> Path:
    cassette = store_for(path)
    cassette.open(create=True)
    for recording in recordings:
        cassette.save(recording)
    cassette.close()
    return path


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["cassette", *args], env=env, input=stdin)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def two(tmp_path: Path) -> tuple[Path, Recording, Recording]:
    hello, bye = answering("hello", "Hi there, friend!"), answering("bye", "See you soon.")
    return cassette_with(tmp_path / "c.db", hello, bye), hello, bye


# -- ls ---------------------------------------------------------------------------------------


def test_ls_lists_one_line_per_recording(two: tuple[Path, Recording, Recording]) -> None:
    path, hello, bye = two
    result = run("ls", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "KEY",
        "FAMILY",
        "OPERATION",
        "MODEL",
        "STREAM",
        "SIZE",
        "RECORDED",
        "LAST",
        "USED",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {hello.key[:12], bye.key[:12]}
    row = rows[hello.key[:12]]
    assert row[1:5] == ["openai", "chat.completions", "gemma-3-4b", "stream"]
    size = sum(len(f.data) for f in hello.frames)
    assert f"{size} B" in " ".join(row)
    assert row[-1] == "never"
    assert "2 recordings in" in result.stderr


def test_ls_shows_when_a_run_last_served_each_recording(
    two: tuple[Path, Recording, Recording],
) -> None:
    path, hello, _ = two
    log = usage.UsageLog()
    log.used(path, hello.key, 0)
    rows = [json.loads(line) for line in run("ls", str(path), "--json").stdout.splitlines()]
    used = {row["key"]: row["last_used"] for row in rows}
    assert used[hello.key] is not None and used[hello.key].startswith("20")
    assert [v for k, v in used.items() if k != hello.key] == [None]


def test_ls_takes_the_configured_cassette(two: tuple[Path, Recording, Recording]) -> None:
    path, hello, _ = two
    result = run("ls", env={"LK_CASSETTE": str(path)})
    assert hello.key[:12] in result.stdout


def test_reading_never_changes_the_file_or_leaves_journal_files(
    two: tuple[Path, Recording, Recording],
) -> None:
    path, hello, _ = two
    before = digest(path)
    for args in (
        ["ls", str(path)],
        ["show", hello.key[:6], "-c", str(path)],
        ["diff", str(path), str(path)],
        ["textconv", str(path)],
        ["export", str(path), "--to", "-"],
    ):
        assert run(*args).exit_code == 0, args
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.db"]


@pytest.mark.parametrize(
    "content, why, code",
    [
        (None, "x.db: no such file or folder", 2),
        (b"not sqlite at all, just some text" * 40, "file is not a database", 1),
    ],
)
def test_a_missing_or_foreign_file_is_one_clear_line(
    tmp_path: Path, content: bytes | None, why: str, code: int
) -> None:
    """A path naming nothing is a usage error (exit 2, as click's); a file that is not a
    cassette cannot be read (exit 1)."""
    path = tmp_path / "x.db"
    if content is not None:
        path.write_bytes(content)
    result = run("ls", str(path))
    assert result.exit_code == code
    assert why in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# -- show -------------------------------------------------------------------------------------


def test_show_prints_request_answer_frames_and_provenance(
    two: tuple[Path, Recording, Recording],
) -> None:
    path, hello, _ = two
    result = run("show", hello.key[:5], "-c", str(path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"recording {hello.key}" in out
    assert '"content": "hello"' in out
    assert "answer: Hi there, friend!" in out
    assert "+10 ms  data: " in out and "+99.5 ms  data: [DONE]" in out
    assert "upstream model gemma-3-4b-it-q4, build b4567-1a2b3c4d" in out
    assert "\x1b[" not in out  # not a terminal: no colour


def test_show_colours_on_request(two: tuple[Path, Recording, Recording]) -> None:
    path, hello, _ = two
    assert "\x1b[" in run("show", hello.key[:5], "-c", str(path), "--color").output


def test_show_json_is_the_export_document(two: tuple[Path, Recording, Recording]) -> None:
    path, hello, _ = two
    document = json.loads(run("show", hello.key, "-c", str(path), "--json").output)
    exported = json.loads(
        run("export", str(path), "--to", "-").stdout.splitlines()[
            sorted([hello.key, two[2].key]).index(hello.key)
        ]
    )
    assert document == exported


def test_show_picks_an_ordinal(tmp_path: Path) -> None:
    path = cassette_with(tmp_path / "c.db", answering("q", "first"), answering("q", "second", 1))
    key = answering("q", "x").key
    assert "answer: first" in run("show", key[:8], "-c", str(path)).output
    assert "answer: second" in run("show", f"{key[:8]}/1", "-c", str(path)).output


def test_show_refuses_ambiguous_missing_and_malformed_keys(tmp_path: Path) -> None:
    recordings = [answering(f"p{i}", "a") for i in range(40)]
    path = cassette_with(tmp_path / "c.db", *recordings)
    first = recordings[0].key[0]
    ambiguous = run("show", first, "-c", str(path))
    assert ambiguous.exit_code == 1 and "give more of the key" in ambiguous.output
    missing = run("show", "0" * 32, "-c", str(path))
    assert missing.exit_code == 1 and "no recording with key" in missing.output
    malformed = run("show", "hello!", "-c", str(path))
    assert malformed.exit_code == 1 and "is not a recording key" in malformed.output


# -- diff -------------------------------------------------------------------------------------


def test_diff_of_equal_cassettes_is_silent_and_exit_0(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, bye = two
    # The same answers recorded later, more slowly: not a difference.
    slower = [
        dataclasses.replace(
            r,
            recorded_at="2030-01-01T00:00:00.000Z",
            frames=[Frame(f.offset_ms * 2, f.data) for f in r.frames],
        )
        for r in (bye, hello)
    ]
    other = cassette_with(tmp_path / "other.db", *slower)
    result = run("diff", str(path), str(other))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    # Timing is listed apart: the same answer is never streamed at the same pace twice.
    timed = run("diff", str(path), str(other), "--timing")
    assert timed.exit_code == 0, timed.output
    assert timed.stdout.count("timing differs:") == 2
    assert timed.stderr.strip().endswith(
        "0 with different answers, 0 differing only in "
        "volatile upstream fields, 2 with different timing"
    )


def test_diff_lists_one_sided_recordings_and_diffs_changed_answers(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, bye = two
    other = cassette_with(
        tmp_path / "other.db",
        answering("hello", "Hello again, pal."),
        answering("new", "brand new"),
    )
    result = run("diff", str(path), str(other))
    assert result.exit_code == 1
    out = result.stdout
    assert f"only in {path}:\n  {bye.key[:12]}" in out
    assert f"only in {other}:\n  {answering('new', 'x').key[:12]}" in out
    assert f"changed: {hello.key[:12]}" in out
    assert "-  answer: Hi there, friend!" in out
    assert "+  answer: Hello again, pal." in out
    assert "1 only in the first, 1 only in the second, 1 with different answers" in result.stderr


def test_diff_of_two_recordings(two: tuple[Path, Recording, Recording]) -> None:
    path, hello, bye = two
    result = run("diff", f"{path}:{hello.key[:8]}", bye.key[:8], "-c", str(path))
    assert result.exit_code == 1
    assert (
        '-            "content": "hello",' in result.output
        or '-        "content": "hello",' in result.output
    )
    assert "+  answer: See you soon." in result.output
    assert run("diff", hello.key[:8], hello.key[:8], "-c", str(path)).exit_code == 0


def test_diff_refuses_a_cassette_against_a_recording(
    two: tuple[Path, Recording, Recording],
) -> None:
    path, hello, _ = two
    result = run("diff", str(path), f"{path}:{hello.key[:8]}")
    assert result.exit_code == 2
    assert "two cassettes or two recordings" in result.output
    nothing = run("diff", str(path), "no/such/file.db")
    assert nothing.exit_code == 1 and "no such cassette file" in nothing.output


# -- export / import --------------------------------------------------------------------------


def test_export_then_import_gives_back_every_byte(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, bye = two
    odd = keyed("odd", body=b"\xff\xfe raw", frames=[], stream=False)
    cassette_with(tmp_path / "more.db")  # an empty cassette imports nothing
    source = cassette_with(tmp_path / "src.db", hello, bye, odd)
    for target in (tmp_path / "out.jsonl", tmp_path / "dir"):
        assert run("export", str(source), "--to", str(target)).exit_code == 0
        into = tmp_path / f"into-{target.name}.db"
        result = run("import", str(target), "--into", str(into))
        assert result.exit_code == 0, result.output
        assert "imported 3 new" in result.output
        again = run("export", str(into), "--to", "-").stdout
        assert again == run("export", str(source), "--to", "-").stdout
    assert len(list((tmp_path / "dir").glob("*.json"))) == 3
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 3
    assert path.exists()


def test_export_directory_mirrors_the_cassette(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, bye = two
    out = tmp_path / "dir"
    run("export", str(path), "--to", str(out))
    smaller = cassette_with(tmp_path / "smaller.db", hello)
    (out / "notes.txt").write_text("mine")
    run("export", str(smaller), "--to", str(out))
    assert sorted(p.name for p in out.iterdir()) == [f"{hello.key}.0.json", "notes.txt"]


def test_import_from_standard_input_skips_what_is_there(
    two: tuple[Path, Recording, Recording],
) -> None:
    path, _, _ = two
    text = run("export", str(path), "--to", "-").stdout
    result = run("import", "-", "--into", str(path), stdin=text)
    assert result.exit_code == 0
    assert "imported 0 new and 0 replaced recordings" in result.output
    assert "2 already there" in result.output


def test_import_of_a_different_answer_changes_nothing_unless_replace(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, _ = two
    changed = cassette_with(
        tmp_path / "changed.db", answering("hello", "Other answer."), answering("fresh", "new")
    )
    text = run("export", str(changed), "--to", "-").stdout
    before = digest(path)
    refused = run("import", "-", "--into", str(path), stdin=text)
    assert refused.exit_code == 1
    assert "answer differently" in refused.output and hello.key[:12] in refused.output
    assert digest(path) == before  # not even the new one was added
    replaced = run("import", "-", "--into", str(path), "--replace", stdin=text)
    assert "imported 1 new and 1 replaced" in replaced.output
    assert "answer: Other answer." in run("show", hello.key[:8], "-c", str(path)).output


def test_import_refuses_a_secret_and_writes_nothing(tmp_path: Path) -> None:
    good = answering("fine", "ok")
    leaky = answering("leak", "your key is AIzaSyA1234567890abcdefghijklmnopqrstuv")
    source = tmp_path / "leaky.jsonl"
    source.write_text("".join(export.jsonl([good, leaky])))
    into = tmp_path / "into.db"
    result = run("import", str(source), "--into", str(into))
    assert result.exit_code == 1
    assert "nothing imported" in result.output and leaky.key[:12] in result.output
    assert "shaped like" in result.output
    assert not into.exists()


def test_export_refuses_a_cassette_holding_a_token_it_did_not_know(tmp_path: Path) -> None:
    """A cassette recorded before localaik knew a kind of token may hold one: export does not
    copy it out (and says which recording, not the token)."""
    aws = "AK" + "IA" + "Q7RZ4W2NB6XKM3PL"
    good, older = answering("fine", "ok"), answering("older", "ok")
    path = cassette_with(tmp_path / "c.db", good, older)
    with sqlite3.connect(path) as db:  # as an older localaik would have stored it
        db.execute(
            "UPDATE recordings SET body = ? WHERE key = ?",
            (f'{{"choices":[{{"message":{{"content":"key {aws}"}}}}]}}'.encode(), older.key),
        )
    db.close()
    out = tmp_path / "out.jsonl"
    result = run("export", str(path), "--to", str(out))
    assert result.exit_code == 1
    assert "nothing exported" in result.output and older.key[:12] in result.output
    assert "an AWS access key" in result.output and aws[4:] not in result.output
    assert not out.exists()
    assert aws not in run("export", str(path), "--to", "-").output


def test_import_names_the_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"format": "localaik-recording/1"}\n')
    result = run("import", str(source), "--into", str(tmp_path / "x.db"))
    assert result.exit_code == 1
    assert "nothing imported" in result.output and "line 1" in result.output
    assert not (tmp_path / "x.db").exists()


# -- textconv ---------------------------------------------------------------------------------


def test_textconv_is_stable_readable_and_has_no_timing(
    two: tuple[Path, Recording, Recording], tmp_path: Path
) -> None:
    path, hello, bye = two
    text = run("textconv", str(path)).output
    assert text.startswith("localaik cassette, 2 recordings\n")
    assert "answer: Hi there, friend!" in text and "answer: See you soon." in text
    assert " ms" not in text
    reordered = cassette_with(tmp_path / "r.db", bye, hello)
    assert run("textconv", str(reordered)).output == text


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"version https://git-lfs..."])
def test_textconv_never_fails_git_diff(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(content)
    result = run("textconv", str(path))
    assert result.exit_code == 0
    assert result.output.startswith("(")
