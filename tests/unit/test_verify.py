"""`localaik cassette verify`: a recorded cassette passes; each kind of damage is named.

Cassettes are recorded for real, through the app in record mode with the fake llama-server in
process (`record_cassette`, also used by the prune and git tests), then damaged with raw SQL the
way another tool or a hand edit could.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from localaik.cassette.key import canonical_json, request_key
from localaik.cassette.schema import SCHEMA_VERSION
from localaik.cassette.store import store_for
from localaik.cli import cli
from localaik.config import Settings
from localaik.server.app import create_app
from localaik.server.verify import client_request, verify
from tests.fakes.fake_llama import make_app
from tests.support import clean_environ

ROOT = Path(__file__).resolve().parents[2]
OPENAI = {"authorization": "Bearer test"}
GEMINI_BODY = {
    "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
    "generationConfig": {"temperature": 0.0},
}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "user": "u1"}
ANTHROPIC = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
# A final assistant message without content and a tool input of {}: the key drops both, and
# the request rebuilt from the key must still be valid.
ANTHROPIC_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 20,
    "metadata": {"user_id": "u1"},
    "tools": [{"name": "now", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": "time?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": []}],
        },
        {"role": "assistant", "content": []},
    ],
}

# (method, path, JSON body, headers): one request of every kind the routes record.
EVERY_KIND: list[tuple[str, str, Any, dict[str, str]]] = [
    ("POST", "/v1beta/models/gemini-2.0-flash:generateContent", GEMINI_BODY, {}),
    ("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", GEMINI_BODY, {}),
    ("POST", "/v1beta/models/gemini-2.0-flash:countTokens", GEMINI_BODY, {}),
    ("GET", "/v1beta/models", None, {}),
    ("GET", "/v1beta/models/gemini-2.0-flash", None, {}),
    ("POST", "/v1/chat/completions", CHAT, OPENAI),
    (
        "POST",
        "/v1/chat/completions",
        {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
        OPENAI,
    ),
    ("POST", "/v1/completions", {"model": "m", "prompt": "once upon", "stream": True}, OPENAI),
    ("POST", "/v1/completions", {"model": "m", "prompt": "once upon"}, OPENAI),
    (
        "POST",
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "[[error:400]] bad"}]},
        OPENAI,
    ),
    ("GET", "/v1/models", None, OPENAI),
    ("GET", "/v1/models/some-model", None, OPENAI),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "hi", "store": True}, OPENAI),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "hi", "stream": True}, OPENAI),
    ("POST", "/v1/messages", ANTHROPIC_BODY, ANTHROPIC),
    ("POST", "/v1/messages", {**ANTHROPIC_BODY, "stream": True}, ANTHROPIC),
    ("POST", "/v1/messages/count_tokens", ANTHROPIC_BODY, ANTHROPIC),
    ("GET", "/v1/models", None, ANTHROPIC),
    ("GET", "/v1/models/claude-haiku-4-5", None, ANTHROPIC),
]


def chat(text: str, *, stream: bool = False) -> tuple[str, str, Any, dict[str, str]]:
    """An OpenAI chat request asking `text` (the fake answers "Echo: <text>")."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    return ("POST", "/v1/chat/completions", body, OPENAI)


def record_cassette(
    path: Path,
    requests: Sequence[tuple[str, str, Any, dict[str, str]]] = EVERY_KIND,
    **settings: Any,
) -> None:
    """Record `requests` into the cassette at `path` through the real app in record mode,
    the in-process fake llama-server answering. Each call is one run in the usage record."""
    upstream = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app()), base_url="http://fake"
    )
    config = Settings(
        **{
            "mode": "record",
            "upstream": "http://fake/v1",
            "cassette": path,
            "log": False,
            **settings,
        }
    )
    with TestClient(app=create_app(config, client=upstream)) as client:
        for method, url, body, headers in requests:
            response = client.request(method, url, json=body, headers=headers)
            assert response.status_code < 500, response.text


def sql(path: Path, statement: str, *args: Any) -> None:
    """Change the cassette with a plain SQLite connection, as another tool would."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(statement, args)


def keys(path: Path, where: str = "1") -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute(f"SELECT key FROM recordings WHERE {where}")]


def problems(path: Path) -> list[str]:
    return [problem.line() for problem in verify(path).problems]


def in_terminal(args: list[str], typed: str) -> tuple[int, str]:
    """Run `localaik` with a pseudo-terminal as stdin and stdout, `typed` already typed."""
    leader, follower = os.openpty()
    env = clean_environ()
    process = subprocess.Popen(
        [sys.executable, "-m", "localaik", *args],
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    os.write(leader, typed.encode())
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(30), output.decode().replace("\r\n", "\n")


@pytest.fixture()
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "cassettes" / "localaik.db"
    record_cassette(path)
    return path


def test_a_recorded_cassette_of_every_kind_passes(recorded: Path) -> None:
    report = verify(recorded)
    assert report.problems == []
    assert report.recordings == len(EVERY_KIND)


def test_verify_changes_nothing(recorded: Path) -> None:
    def files() -> dict[Path, bytes]:  # the cassette and the usage notes beside it
        return {p: p.read_bytes() for p in recorded.parent.rglob("*") if p.is_file()}

    before = files()
    result = CliRunner().invoke(cli, ["cassette", "verify", str(recorded)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{len(EVERY_KIND)} recordings, 0 problems\n"
    assert files() == before


def test_a_key_that_does_not_match_its_request(recorded: Path) -> None:
    key = keys(recorded, "operation = 'countTokens'")[0]
    sql(recorded, "UPDATE recordings SET key = ? WHERE key = ?", "f" * 32, key)
    found = problems(recorded)
    assert found == [
        f"{recorded}: ffffffffffff: its key does not match its request (the "
        f"request hashes to {key[:12]})"
    ]


def test_a_stream_cut_short(recorded: Path) -> None:
    key = keys(recorded, "family = 'gemini' AND stream = 1")[0]
    sql(
        recorded,
        "DELETE FROM frames WHERE recording_id = (SELECT id FROM recordings WHERE "
        "key = ?) AND seq = (SELECT max(seq) FROM frames WHERE recording_id = "
        "(SELECT id FROM recordings WHERE key = ?))",
        key,
        key,
    )
    found = problems(recorded)
    assert (
        f"{recorded}: {key[:12]}: the stream does not end with a [DONE] event (it was cut "
        "short)" in found
    )
    # … and replaying it shows the client what it would get: an error at the end.
    assert any("does not replay: the stream ends in an error" in line for line in found)
    assert all(key[:12] in line for line in found)


def test_a_secret_written_by_raw_sql(recorded: Path) -> None:
    key = keys(recorded, "operation = 'chat.completions' AND stream = 0 AND status = 200")[0]
    secret = "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
    with closing(sqlite3.connect(recorded)) as conn, conn:
        (body,) = conn.execute("SELECT body FROM recordings WHERE key = ?", (key,)).fetchone()
        assert b"Echo: hi" in body
        conn.execute(
            "UPDATE recordings SET body = ? WHERE key = ?",
            (body.replace(b"Echo: hi", f"Echo: {secret}".encode()), key),
        )
    found = problems(recorded)
    assert len(found) == 1
    assert found[0].startswith(
        f"{recorded}: {key[:12]}: its body holds something shaped like a Google API key"
    )
    assert secret not in found[0]


def test_an_answer_that_no_longer_replays(recorded: Path) -> None:
    key = keys(recorded, "operation = 'generateContent' AND stream = 0")[0]
    sql(recorded, "UPDATE recordings SET body = ? WHERE key = ?", b'{"no": "choices"}', key)
    assert problems(recorded) == [
        f"{recorded}: {key[:12]}: it does not replay: answered HTTP 502 where 200 was recorded "
        "(upstream answer has no choices)"
    ]


def test_a_body_that_is_not_json(recorded: Path) -> None:
    key = keys(recorded, "operation = 'completions' AND stream = 0")[0]
    sql(recorded, "UPDATE recordings SET body = ? WHERE key = ?", b"<html>", key)
    found = problems(recorded)
    assert found[0] == f"{recorded}: {key[:12]}: its body (HTTP 200) is not JSON"
    assert "answered HTTP 502 where 200 was recorded" in found[1]


def test_a_request_the_routes_no_longer_key_the_same(tmp_path: Path) -> None:
    """A recording that is self-consistent (key = hash of request) but whose request the
    routes normalise differently today: only the replay check can see that it misses."""
    path = tmp_path / "c.db"
    record_cassette(path, [chat("old")])
    cassette = store_for(path)
    cassette.open()
    [recording] = list(cassette.recordings())
    canon = json.loads(recording.request)
    canon["body"]["response_format"] = {}  # routes drop empty objects from the key
    text = canonical_json(canon)
    cassette.save(dataclasses.replace(recording, key=request_key(text), request=text))
    cassette.close()
    # Its rebuilt request finds the recording it was copied from.
    assert problems(path) == [
        f"{path}: {request_key(text)[:12]}: it does not replay: its "
        "rebuilt request gets another recording (the routes no longer "
        "give this key)"
    ]
    # Without that one, the rebuilt request misses.
    sql(path, "DELETE FROM recordings WHERE key = ?", recording.key)
    assert problems(path) == [
        f"{path}: {request_key(text)[:12]}: it does not replay: its "
        "rebuilt request misses (the routes no longer give this key)"
    ]


def test_columns_that_disagree_with_the_request(recorded: Path) -> None:
    key = keys(recorded, "operation = 'models.list' AND family = 'openai'")[0]
    sql(recorded, "UPDATE recordings SET model = 'other' WHERE key = ?", key)
    assert problems(recorded) == [
        f"{recorded}: {key[:12]}: its request says model None, the model column 'other'"
    ]


def test_a_family_this_localaik_cannot_serve(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    record_cassette(path, [chat("x")])
    cassette = store_for(path)
    cassette.open()
    [recording] = list(cassette.recordings())
    canon = {**json.loads(recording.request), "family": "anthropic", "operation": "complete"}
    text = canonical_json(canon)
    cassette.save(
        dataclasses.replace(
            recording, key=request_key(text), request=text, family="anthropic", operation="complete"
        )
    )
    cassette.close()
    assert problems(path) == [
        f"{path}: {request_key(text)[:12]}: it cannot be replayed: this "
        "localaik serves no anthropic complete request"
    ]


def test_later_ordinals_replay_in_sequence(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    record_cassette(path, [chat("again"), chat("again"), chat("again")], repeats="sequence")
    report = verify(path)
    assert report.recordings == 3 and report.problems == []
    sql(path, "UPDATE recordings SET body = ? WHERE ordinal = 2", b'{"no": "choices"}')
    [problem] = verify(path).problems
    assert problem.ordinal == 2
    assert " ordinal 2: it does not replay: answered HTTP 502" in problem.line()


def test_schema_problems(recorded: Path) -> None:
    sql(recorded, "PRAGMA user_version = 0")
    assert problems(recorded) == [
        f"{recorded}: schema version 0, expected {SCHEMA_VERSION} (open it with "
        "`localaik serve` in record mode to migrate)"
    ]
    sql(recorded, "PRAGMA user_version = 7")
    assert problems(recorded) == [
        f"{recorded}: cassette {recorded} has schema version 7, "
        f"newer than this localaik understands ({SCHEMA_VERSION}); upgrade localaik "
        "to use it"
    ]


def test_sqlite_integrity_problems(recorded: Path) -> None:
    with closing(sqlite3.connect(recorded)) as conn, conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM recordings WHERE operation = 'countTokens'")
        conn.execute(
            "INSERT INTO frames (recording_id, seq, offset_ms, data) VALUES (9999, 0, 1.0, x'00')"
        )
    [problem] = problems(recorded)
    assert re.fullmatch(
        rf"{re.escape(str(recorded))}: SQLite foreign keys: frames row \d+ "
        "points to a missing recordings row",
        problem,
    )


def test_files_that_are_not_cassettes(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not SQLite " * 100)
    result = CliRunner().invoke(cli, ["cassette", "verify", str(text)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{text}: ")
    assert "not a database" in lines[0]
    assert lines[1:] == ["0 recordings, 1 problem"]
    # A path that names nothing verifies nothing: a usage error, not a passing run.
    result = CliRunner().invoke(cli, ["cassette", "verify", str(text), str(tmp_path / "no.db")])
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path / 'no.db'}: no such file or folder\n"


def test_the_command_lists_problems_and_exits_1(recorded: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.db"
    record_cassette(clean, [chat("fine")])
    key = keys(recorded, "operation = 'countTokens'")[0]
    sql(recorded, "UPDATE recordings SET upstream_request = 'nope' WHERE key = ?", key)
    result = CliRunner().invoke(cli, ["cassette", "verify", str(recorded)])
    assert result.exit_code == 1
    assert result.output == (
        f"{recorded}: {key[:12]}: its upstream request is not JSON\n"
        f"{len(EVERY_KIND)} recordings, 1 problem\n"
    )
    # Over several cassettes: a line per cassette, its problems under it, and a total.
    result = CliRunner().invoke(cli, ["cassette", "verify", str(recorded), str(clean)])
    assert result.exit_code == 1
    assert result.output == (
        f"{recorded}: {len(EVERY_KIND)} recordings, 1 problem\n"
        f"  {recorded}: {key[:12]}: its upstream request is not JSON\n"
        f"{clean}: 1 recording, ok\n"
        f"{len(EVERY_KIND) + 1} recordings in 2 cassettes, 1 problem in 1 cassette\n"
    )
    as_json = CliRunner().invoke(cli, ["cassette", "verify", "--json", str(recorded)])
    assert as_json.exit_code == 1
    document = json.loads(as_json.output)
    assert document["problems"] == 1
    assert document["cassettes"][0]["problems"] == [
        {"key": key, "ordinal": 0, "problem": "its upstream request is not JSON"}
    ]


def test_the_default_is_the_configured_cassette(recorded: Path) -> None:
    result = CliRunner().invoke(cli, ["cassette", "verify"], env={"LK_CASSETTE": str(recorded)})
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"{len(EVERY_KIND)} recordings, 0 problems\n")


def test_openai_requests_get_model_and_stream_back(recorded: Path) -> None:
    cassette = store_for(recorded, readonly=True)
    cassette.open()
    streamed = [r for r in cassette.recordings() if r.operation == "chat.completions" and r.stream]
    cassette.close()
    request = client_request(streamed[0])
    assert not isinstance(request, str)
    assert request.path == "/v1/chat/completions"
    body = json.loads(request.body or b"")
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "user" not in body  # volatile: never part of the key


def test_anthropic_requests_get_model_stream_and_headers_back(recorded: Path) -> None:
    cassette = store_for(recorded, readonly=True)
    cassette.open()
    found = {(r.operation, r.stream): r for r in cassette.recordings() if r.family == "anthropic"}
    cassette.close()
    assert set(found) == {
        ("messages", False),
        ("messages", True),
        ("messages.count_tokens", False),
        ("models.list", False),
        ("models.get", False),
    }
    streamed = client_request(found[("messages", True)])
    assert not isinstance(streamed, str)
    assert (streamed.method, streamed.path) == ("POST", "/v1/messages")
    assert streamed.headers["anthropic-version"]  # what makes /v1/models answer Anthropic
    body = json.loads(streamed.body or b"")
    assert body["model"] == "claude-haiku-4-5" and body["stream"] is True
    assert "metadata" not in body  # volatile: never part of the key
    assert body["messages"][3] == {"role": "assistant"}
    count = client_request(found[("messages.count_tokens", False)])
    assert not isinstance(count, str) and count.path == "/v1/messages/count_tokens"
    got = client_request(found[("models.get", False)])
    assert not isinstance(got, str)
    assert (got.method, got.path, got.body) == ("GET", "/v1/models/claude-haiku-4-5", None)


def test_progress_on_a_terminal_for_many_recordings(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    record_cassette(path, [chat(f"question {n}") for n in range(60)])
    code, output = in_terminal(["cassette", "verify", str(path)], "")
    assert code == 0, output
    assert f"verifying {path}" in output and "100%" in output
    assert output.endswith("60 recordings, 0 problems\n")
    few = CliRunner().invoke(cli, ["cassette", "verify", str(path)])  # not a terminal
    assert few.output == "60 recordings, 0 problems\n"
