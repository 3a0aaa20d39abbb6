"""A tampered recording is named, never served broken: replay answers a 424 in the caller's
shape naming the cassette, the key and what is wrong, and `cassette verify` reports it (exit 1,
no traceback) while it goes on checking the other recordings.

Cassettes are recorded for real through the app, then changed with plain sqlite3 statements,
as a hand edit or another tool could: a status of 'abc' made verify crash, one of 999 made
replay drop the connection while verify found nothing wrong.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from localaik.cassette.recording import Recording
from localaik.cassette.rows import COLUMNS, EXPECTED, Damage, recording_of, row_of
from localaik.cassette.store import store_for
from localaik.cli import cli
from localaik.errors import CassetteError
from tests.unit.test_store import make_recording
from tests.unit.test_verify import chat, record_cassette

PLAIN = "stream = 0"
STREAMED = "stream = 1"
STREAMED_FRAMES = "recording_id = (SELECT id FROM recordings WHERE stream = 1)"
# Each statement group runs in a connection of its own (a schema edit needs a new one).
NO_NOT_NULL = (
    "PRAGMA writable_schema = ON",
    "UPDATE sqlite_master SET sql = replace(sql, 'content_type TEXT NOT NULL', "
    "'content_type TEXT') WHERE name = 'recordings'",
)

# (which recording, the tampering, what replay and verify say is wrong with it)
TAMPERED = {
    "status-text": (
        PLAIN,
        [(f"UPDATE recordings SET status = 'abc' WHERE {PLAIN}",)],
        "status 'abc' is not an HTTP status",
    ),
    "status-999": (
        STREAMED,
        [(f"UPDATE recordings SET status = 999 WHERE {STREAMED}",)],
        "status 999 is not an HTTP status",
    ),
    "stream-2": (
        PLAIN,
        [
            (
                "PRAGMA ignore_check_constraints = ON",
                f"UPDATE recordings SET stream = 2 WHERE {PLAIN}",
            )
        ],
        "stream 2 is not 0 or 1",
    ),
    "content-type-null": (
        PLAIN,
        [NO_NOT_NULL, (f"UPDATE recordings SET content_type = NULL WHERE {PLAIN}",)],
        "content_type None is not text",
    ),
    "content-type-blob": (
        STREAMED,
        [(f"UPDATE recordings SET content_type = x'00' WHERE {STREAMED}",)],
        "content_type b'\\x00' is not text",
    ),
    "body-text": (
        PLAIN,
        [(f"UPDATE recordings SET body = CAST(body AS TEXT) WHERE {PLAIN}",)],
        "body '{",
    ),
    "duration-text": (
        PLAIN,
        [(f"UPDATE recordings SET duration_ms = 'slow' WHERE {PLAIN}",)],
        "duration_ms 'slow' is not a duration in milliseconds",
    ),
    "frame-text": (
        STREAMED,
        [(f"UPDATE frames SET data = CAST(data AS TEXT) WHERE {STREAMED_FRAMES} AND seq = 0",)],
        "frame 0: data 'data: ",
    ),
    "frame-offset-negative": (
        STREAMED,
        [(f"UPDATE frames SET offset_ms = -5 WHERE {STREAMED_FRAMES} AND seq = 1",)],
        "frame 1: offset_ms -5.0 is not a time",
    ),
    "frame-offset-text": (
        STREAMED,
        [(f"UPDATE frames SET offset_ms = 'soon' WHERE {STREAMED_FRAMES} AND seq = 1",)],
        "frame 1: offset_ms 'soon' is not a time",
    ),
}


def tamper(path: Path, groups: list[tuple[str, ...]]) -> None:
    for statements in groups:
        with closing(sqlite3.connect(path)) as conn, conn:
            for statement in statements:
                conn.execute(statement)


def key_of(path: Path, where: str) -> str:
    with closing(sqlite3.connect(path)) as conn:
        (key,) = conn.execute(f"SELECT key FROM recordings WHERE {where}").fetchone()
    return str(key)


@pytest.fixture()
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    record_cassette(path, [chat("plain"), chat("streamed", stream=True)])
    return path


async def ask(client: Any, which: str) -> openai.APIStatusError:
    """The request of the recording `which` (PLAIN or STREAMED) through the real OpenAI SDK;
    the error it raises."""
    sdk = openai.AsyncOpenAI(
        api_key="test", base_url=f"{client.base_url}/v1", http_client=client, max_retries=0
    )
    stream = which == STREAMED
    text = "streamed" if stream else "plain"
    with pytest.raises(openai.APIStatusError) as failed:
        answer = await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=stream
        )
        if stream:
            async for _ in answer:  # type: ignore[union-attr]
                pass
    return failed.value


@pytest.mark.parametrize("case", list(TAMPERED))
async def test_replay_of_a_tampered_row_is_a_424_naming_it(
    make_localaik: Any, fake: Any, cassette: Path, case: str
) -> None:
    which, groups, says = TAMPERED[case]
    key = key_of(cassette, which)
    tamper(cassette, groups)
    async with make_localaik(mode="replay", cassette=cassette) as client:
        error = await ask(client, which)
        assert error.status_code == 424
        message = error.body["message"]  # type: ignore[index]
        assert message.startswith(f"cassette {cassette}: recording {key} is damaged: {says}")
        assert "LK_MODE=refresh" in message
        # The other recording still replays.
        other = STREAMED if which == PLAIN else PLAIN
        answer = await client.post(
            "/v1/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "user", "content": "streamed" if other == STREAMED else "plain"}
                ],
                "stream": other == STREAMED,
            },
        )
        assert answer.status_code == 200, answer.text
    assert fake.requests == []


async def test_record_mode_does_not_serve_a_tampered_hit_either(
    make_localaik: Any, fake: Any, cassette: Path
) -> None:
    tamper(cassette, [(f"UPDATE recordings SET status = 999 WHERE {STREAMED}",)])
    async with make_localaik(mode="record", cassette=cassette) as client:
        error = await ask(client, STREAMED)
    assert error.status_code == 424 and "status 999 is not an HTTP status" in error.message
    assert fake.requests == []


@pytest.mark.parametrize(
    ("statement", "verify_says"),
    [
        (
            f"UPDATE recordings SET request = replace(request, 'plain', 'edited') WHERE {PLAIN}",
            "its key does not match its request",
        ),
        (f"UPDATE recordings SET request = 'not JSON' WHERE {PLAIN}", "its request is not JSON"),
    ],
    ids=["request-edited", "request-not-json"],
)
async def test_a_request_that_no_longer_hashes_to_its_key_is_not_replayed(
    make_localaik: Any, cassette: Path, statement: str, verify_says: str
) -> None:
    """The key is the hash of the request: after an edit this answer may be another's."""
    key = key_of(cassette, PLAIN)
    tamper(cassette, [(statement,)])
    async with make_localaik(mode="replay", cassette=cassette) as client:
        error = await ask(client, PLAIN)
    assert error.status_code == 424
    assert error.body["message"].startswith(  # type: ignore[index]
        f"cassette {cassette}: recording {key} is damaged: its key does not match its request"
    )
    result = CliRunner().invoke(cli, ["cassette", "verify", str(cassette)])
    assert result.exit_code == 1 and verify_says in result.output, result.output


@pytest.mark.parametrize("case", [*TAMPERED, "ordinal-negative"])
def test_verify_reports_a_tampered_row_and_checks_the_others(cassette: Path, case: str) -> None:
    if case == "ordinal-negative":
        which, groups, says = (
            PLAIN,
            [(f"UPDATE recordings SET ordinal = -1 WHERE {PLAIN}",)],
            "ordinal -1 is not a count from 0",
        )
    else:
        which, groups, says = TAMPERED[case]
    key = key_of(cassette, which)
    tamper(cassette, groups)
    result = CliRunner().invoke(cli, ["cassette", "verify", str(cassette)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    damaged = [line for line in lines if "it is damaged" in line]
    assert len(damaged) == 1, result.output
    assert damaged[0].startswith(f"{cassette}: {key[:12]}")
    assert f"it is damaged: {says}" in damaged[0]
    assert lines[-1].startswith("2 recordings, ")


def test_the_store_names_the_damage(cassette: Path) -> None:
    key = key_of(cassette, PLAIN)
    tamper(cassette, [(f"UPDATE recordings SET status = 'abc' WHERE {PLAIN}",)])
    store = store_for(cassette, readonly=True)
    assert store.open()
    try:
        with pytest.raises(CassetteError) as damaged:
            store.get(key)
        assert damaged.value.message.startswith(
            f"cassette {cassette}: recording {key} is damaged: status 'abc' is not an HTTP status"
        )
        with pytest.raises(CassetteError, match="is damaged"):
            list(store.recordings())
        found: list[Any] = []
        assert [r.stream for r in store.recordings(on_damaged=found.append)] == [True]
        assert [(d.key, d.ordinal, d.reason) for d in found] == [
            (key, 0, "status 'abc' is not an HTTP status")
        ]
    finally:
        store.close()


# Values no column of that kind may hold, whatever tool wrote them.
BAD = {
    "text": [None, 1, 1.5, b"x"],
    "text or NULL": [1, b"x"],
    "a count from 0": [-1, "0", 1.5, None],
    "0 or 1": [2, -1, "1", 1.0, None],
    "an HTTP status": [99, 600, 999, "200", 200.0, None],
    "bytes (a BLOB) or NULL": ["text", 1],
    "a duration in milliseconds": [-1.0, "1", None, float("nan"), float("inf")],
}


def test_every_column_is_checked_and_named() -> None:
    """The sound row passes; each bad value of each column is a damage naming that column
    (the fast check of a sound row and the search for what is wrong agree)."""
    sound = [7, *row_of(make_recording(frames=2))]
    assert isinstance(recording_of(sound, [(1.5, b"data: 1\n\n")]), Recording)
    for index, column in enumerate(COLUMNS, start=1):
        kind = EXPECTED[column]
        for value in BAD[kind]:
            row = [*sound]
            row[index] = value
            found = recording_of(row, [])
            assert isinstance(found, Damage), (column, value)
            assert found.reason == f"{column} {value!r} is not {kind}", found
    for offset, data, says in [
        (-1.0, b"x", "frame 1: offset_ms -1.0 is not a time"),
        ("1", b"x", "frame 1: offset_ms '1' is not a time"),
        (None, b"x", "frame 1: offset_ms None is not a time"),
        (1.0, "x", "frame 1: data 'x' is not bytes (a BLOB)"),
        (1.0, None, "frame 1: data None is not bytes (a BLOB)"),
    ]:
        found = recording_of(sound, [(0.0, b"ok"), (offset, data)])
        assert isinstance(found, Damage) and found.reason == says, found


NULL_SUMMARY_COLUMNS = (
    "PRAGMA writable_schema = ON",
    "UPDATE sqlite_master SET sql = replace(replace(sql, 'request TEXT NOT NULL,', "
    "'request TEXT,'), 'recorded_at TEXT NOT NULL', 'recorded_at TEXT') "
    "WHERE name = 'recordings'",
)


async def test_a_listing_and_a_miss_leave_a_damaged_row_out(
    make_localaik: Any, fake: Any, cassette: Path
) -> None:
    """`cassette ls` and a replay miss's nearest recordings read every row's summary: a NULL
    request or recorded_at was a traceback in `ls` and a 500 for the miss."""
    tamper(
        cassette,
        [
            NULL_SUMMARY_COLUMNS,
            (
                f"UPDATE recordings SET request = NULL WHERE {PLAIN}",
                f"UPDATE recordings SET recorded_at = NULL WHERE {STREAMED}",
            ),
        ],
    )
    listed = CliRunner().invoke(cli, ["cassette", "ls", str(cassette)])
    assert listed.exception is None or isinstance(listed.exception, SystemExit), listed.output
    assert "Traceback" not in listed.output
    async with make_localaik(mode="replay", cassette=cassette) as client:
        sdk = openai.AsyncOpenAI(
            api_key="test", base_url=f"{client.base_url}/v1", http_client=client, max_retries=0
        )
        with pytest.raises(openai.NotFoundError) as missed:
            await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "neither"}]
            )
        assert "replay miss" in missed.value.body["message"]  # type: ignore[index]
    assert fake.requests == []
