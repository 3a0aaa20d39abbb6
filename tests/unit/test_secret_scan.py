"""localaik.secret_scan: token shapes are found wherever they hide, prose is left alone."""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import sqlite3
from pathlib import Path

import pytest

from localaik.cassette.recording import Frame
from localaik.cassette.secrets import find_secret, locate_secret, scan_recording
from localaik.cassette.threaded import Cassette
from localaik.errors import SecretRefused
from tests.unit.test_store import make_recording

# Built from parts so that this file itself does not look like it leaks keys.
_RNG = random.Random(7)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _random(length: int, alphabet: str = _ALNUM + "_-") -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(length))


GOOGLE = "AI" + "za" + "SyD4" + _random(31)
OPENAI_LEGACY = "s" + "k-" + _random(20, _ALNUM) + "T3BlbkFJ" + _random(20, _ALNUM)
OPENAI_PROJECT = "s" + "k-proj-" + _random(40) + "7" + _random(40)
ANTHROPIC = "s" + "k-ant-api03-" + _random(80) + "-" + _random(10)
BEARER_TOKEN = "ya29." + "a0AfH6SMB" + _random(60)
JWT = (
    "ey"
    + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".ey"
    + "JzdWIiOiIxMjM0NTY3ODkwIn0"
    + "."
    + _random(43)
)

TOKENS = [
    (GOOGLE, "Google API key"),
    (OPENAI_LEGACY, "OpenAI key"),
    (OPENAI_PROJECT, "OpenAI key"),
    (ANTHROPIC, "Anthropic key"),
    ("Bearer " + BEARER_TOKEN, "bearer token"),
    ("bearer " + _random(24, "abcdef0123456789"), "bearer token"),
    (JWT, "JWT"),
]
IDS = ["google", "openai-legacy", "openai-project", "anthropic", "bearer", "bearer-hex", "jwt"]


@pytest.mark.parametrize(("token", "kind"), TOKENS, ids=IDS)
def test_each_shape_alone(token: str, kind: str) -> None:
    assert find_secret(token) == kind


@pytest.mark.parametrize(("token", "kind"), TOKENS, ids=IDS)
@pytest.mark.parametrize(
    "wrap",
    [
        lambda t: f"my key is {t}, please use it",
        lambda t: f'("{t}")',
        lambda t: f"https://example.com/v1beta/models?key={t}&alt=sse",
        lambda t: f"https://example.com/?q=a%3D{t}",
        lambda t: json.dumps({"messages": [{"role": "user", "content": f"key:\n{t}\tok"}]}),
        lambda t: json.dumps({"text": f"\u00e9\n{t}"}, ensure_ascii=True),
        # Tool-call arguments: JSON text inside a JSON string, escaped twice.
        lambda t: json.dumps({"arguments": json.dumps({"note": f"line\n{t}"})}),
    ],
    ids=["prose", "quoted", "url", "url-escaped", "json-escaped", "json-ascii", "json-in-json"],
)
def test_each_shape_in_context(token: str, kind: str, wrap: object) -> None:
    text = wrap(token)  # type: ignore[operator]
    assert find_secret(text) == kind


@pytest.mark.parametrize(("token", "kind"), TOKENS, ids=IDS)
def test_each_shape_inside_sse_frame_bytes(token: str, kind: str) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": f"Sure:\n\n{token}"}}]}
    data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    recording = make_recording(frames=3)
    recording.frames.insert(1, Frame(5.0, data))
    assert scan_recording(recording) == kind
    assert locate_secret(recording) == (kind, "frames[1]")


@pytest.mark.parametrize(
    "text",
    [
        "ask the sk- team",
        "sk-learn-compatible-estimator-interface-for-everyone",
        "the risk-assessment-framework-2024-edition-final-draft",
        "disk-0123456789abcdefghijklmnop",
        "Bearer of bad news",
        "the Bearer responsibilities-of-the-holder are listed below",
        "duties of the Bearer: responsibilities.",
        "the bearer responsibilities.",
        "Authorization: Bearer <token>",
        "eyJ is how base64 JSON starts",
        "AIza is a prefix, AIzaShort",
        "chatcmpl-7QyqpwdfhqwajicIEznoc6Q47XAyW",
        "b4567-1a2b3c4d",
        "sk-123",
        "id: sk-abc-def",
        "550e8400-e29b-41d4-a716-446655440000",
        "data: [DONE]\n\n",
        "",
    ],
    ids=lambda text: text[:24] or "empty",
)
def test_ordinary_text_is_not_flagged(text: str) -> None:
    assert find_secret(text) is None


def test_base64_image_data_is_not_flagged() -> None:
    """Inline images are megabytes of base64: a shape test must not fire on them by chance."""
    data = base64.b64encode(random.Random(1).randbytes(3_000_000)).decode()
    assert find_secret(data) is None
    assert find_secret(json.dumps({"inlineData": {"data": data}})) is None


def test_a_url_encoded_authorization_header() -> None:
    assert find_secret(f"?headers=Authorization%3ABearer%20{BEARER_TOKEN}") == "bearer token"


def test_an_anthropic_key_is_named_as_such() -> None:
    assert find_secret(f"{OPENAI_PROJECT} and {ANTHROPIC}") == "Anthropic key"


def test_a_clean_recording_passes() -> None:
    assert scan_recording(make_recording(frames=10)) is None
    assert scan_recording(make_recording(frames=0)) is None


def _plant(field: str, text: str) -> object:
    recording = make_recording(frames=4)
    if field == "request":
        return dataclasses.replace(
            recording,
            request=json.dumps({"body": {"contents": [{"parts": [{"text": f"use {text}"}]}]}}),
        )
    if field == "upstream_request":
        return dataclasses.replace(
            recording,
            upstream_request=json.dumps(
                {
                    "method": "POST",
                    "endpoint": "/v1/chat/completions",
                    "body": {"messages": [{"role": "user", "content": text}]},
                }
            ),
        )
    if field == "body":
        return dataclasses.replace(
            recording,
            frames=[],
            stream=False,
            body=json.dumps({"choices": [{"message": {"content": f"Here:\n{text}"}}]}).encode(),
        )
    if field == "upstream":
        return dataclasses.replace(recording, upstream=f"https://example.com/v1?key={text}")
    recording.frames[2] = Frame(
        30.0, b"data: " + json.dumps({"choices": [{"delta": {"content": text}}]}).encode() + b"\n\n"
    )
    return recording


@pytest.mark.parametrize("field", ["request", "upstream_request", "body", "upstream", "frames[2]"])
@pytest.mark.parametrize(("token", "kind"), TOKENS[::2], ids=IDS[::2])
def test_scan_recording_finds_a_token_in_each_field(field: str, token: str, kind: str) -> None:
    recording = _plant(field, token)
    assert scan_recording(recording) == kind  # type: ignore[arg-type]
    assert locate_secret(recording) == (kind, field)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["request", "upstream_request", "body", "frames[2]"])
async def test_save_refuses_and_writes_nothing(tmp_path: Path, field: str) -> None:
    path = tmp_path / "c.db"
    cassette = Cassette(path)
    await cassette.open(create=True)
    with pytest.raises(SecretRefused) as refused:
        await cassette.save(_plant(field, OPENAI_PROJECT))  # type: ignore[arg-type]
    message = str(refused.value)
    assert "OpenAI key" in message and str(path) in message and field in message
    assert OPENAI_PROJECT not in message and OPENAI_PROJECT[:12] not in message
    assert refused.value.status == 400 and refused.value.code == "secret_refused"
    with pytest.raises(SecretRefused):
        cassette.store.save(_plant(field, JWT), replace=True)  # type: ignore[arg-type]
    assert await cassette.summaries() == []
    await cassette.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM recordings").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM frames").fetchone() == (0,)
    conn.close()


async def test_replace_with_a_secret_keeps_the_old_recording(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.db")
    await cassette.open(create=True)
    recording_id = await cassette.save(make_recording())
    with pytest.raises(SecretRefused):
        await cassette.save(_plant("body", GOOGLE), replace=True)  # type: ignore[arg-type]
    assert await cassette.get(make_recording().key) == dataclasses.replace(
        make_recording(), id=recording_id
    )
    await cassette.close()
