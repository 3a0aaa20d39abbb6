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
from localaik.cassette.secrets import KINDS, find_secret, locate_secret, redact, scan_recording
from localaik.cassette.threaded import Cassette
from localaik.errors import SecretRefused
from tests.secret_tokens import FAKES, KINDS_PLANTED, Fake
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
BEARER_TOKEN = "a0AfH6SMB" + _random(60)  # opaque (a ya29. one is a Google OAuth token)
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


# -- every kind of token (issue 14), found, named and redacted ---------------------------------

ALL = [pytest.param(fake, id=fake.name) for fake in FAKES]
WRAPS = [
    lambda t: f"my key is {t}, please use it",
    lambda t: json.dumps({"messages": [{"role": "user", "content": f"key:\n{t}\tok"}]}),
    lambda t: json.dumps({"arguments": json.dumps({"note": f"line\n{t}"})}),
    lambda t: f"https://example.com/v1beta/models/{t}:generateContent",
]


def test_at_least_fifteen_kinds_are_recognised() -> None:
    assert len(KINDS_PLANTED) >= 15
    assert set(KINDS_PLANTED) <= set(KINDS)


@pytest.mark.parametrize("fake", ALL)
@pytest.mark.parametrize("wrap", WRAPS, ids=["prose", "json-escaped", "json-in-json", "url-path"])
def test_every_kind_is_found_and_named(fake: Fake, wrap: object) -> None:
    assert find_secret(wrap(fake.token)) == fake.kind  # type: ignore[operator]


@pytest.mark.parametrize("fake", ALL)
@pytest.mark.parametrize("wrap", WRAPS, ids=["prose", "json-escaped", "json-in-json", "url-path"])
def test_every_kind_is_redacted_whole(fake: Fake, wrap: object) -> None:
    text = redact(wrap(fake.token))  # type: ignore[operator]
    assert f"[redacted {fake.kind.lower().replace(' ', '-')}]" in text
    assert not [piece for piece in fake.pieces(8) if piece in text]
    assert find_secret(text) is None


def test_redact_keeps_the_text_around_and_marks_each_token() -> None:
    aws, github = FAKES[6].token, FAKES[8].token
    assert redact(f"a {aws} b {github} c") == (
        "a [redacted aws-access-key] b [redacted github-token] c"
    )
    assert redact("nothing to see") == "nothing to see"


def test_a_pem_block_is_redacted_to_its_end_line_or_to_the_end() -> None:
    pem = next(fake.token for fake in FAKES if fake.kind == "private key")
    assert redact(f"before\n{pem}\nafter") == "before\n[redacted private-key]\nafter"
    cut = pem.split("\n-----END")[0]
    assert redact(f"key: {cut}") == "key: [redacted private-key]"


def _hex(rng: random.Random, size: int) -> str:
    return rng.randbytes(size).hex()


def test_ids_hashes_and_prose_are_not_flagged() -> None:
    rng = random.Random(3)
    ordinary = [
        f"chatcmpl-{rng.randbytes(15).hex()}",
        "chatcmpl-" + _random(29, _ALNUM),
        "msg_01" + _random(22, _ALNUM),
        "resp_" + _hex(rng, 24),
        "call_" + _random(24, _ALNUM),
        "toolu_01" + _random(22, _ALNUM),
        "fp_" + _hex(rng, 5),
        "fp_" + _random(10, _ALNUM),
        "b0-fake",
        "550e8400-e29b-41d4-a716-446655440000",
        _hex(rng, 32),  # sha256
        _hex(rng, 16),  # xxh3_128
        "sk-learn is a library; the risk-of-loss clause; disk-based caching",
        "the ASIAN markets and the AKIAK river",
        "hf_hub_download(repo_id='gpt2') and hf_transfer",
        "npm_config_cache, gsk_settings, xai-sdk, r8_model, SG.colors",
        "the -----BEGIN PUBLIC KEY----- block is fine",
        "-----BEGIN RSA PRIVATE KEY----- (a header with nothing after it)",
        "ghp_ is a GitHub prefix, github_pat_ too",
        "ya29. alone",
        "xoxb- and xoxp- tokens start so",
    ]
    for text in ordinary:
        assert find_secret(text) is None, text
        assert redact(text) == text


def test_long_english_and_a_realistic_inline_image_are_not_flagged() -> None:
    words = (
        "the model answers a question about the weather in Paris and Berlin before asking "
        "whether the user wants a table of temperatures sorted by day; risk assessment, "
        "bearer bonds, the disk-usage report, Asia-Pacific sales, a hf-like prefix"
    ).split()
    rng = random.Random(5)
    prose = " ".join(rng.choice(words) for _ in range(200_000))
    assert find_secret(prose) is None
    image = base64.b64encode(random.Random(9).randbytes(3_000_000)).decode()
    request = {
        "contents": [
            {
                "parts": [
                    {"text": prose[:2000]},
                    {"inlineData": {"mimeType": "image/jpeg", "data": image}},
                ]
            }
        ]
    }
    assert find_secret(json.dumps(request)) is None
    assert (
        find_secret(base64.urlsafe_b64encode(random.Random(10).randbytes(1_000_000)).decode())
        is None
    )


@pytest.mark.parametrize("field", ["body", "frames[2]"])
async def test_a_token_in_the_answer_is_blamed_on_the_answer(tmp_path: Path, field: str) -> None:
    """The request was clean: the refusal must not tell the client to take it out of it."""
    cassette = Cassette(tmp_path / "c.db")
    await cassette.open(create=True)
    with pytest.raises(SecretRefused) as refused:
        await cassette.save(_plant(field, FAKES[6].token))  # type: ignore[arg-type]
    await cassette.close()
    message = str(refused.value)
    assert "the upstream's answer" in message and "an AWS access key" in message
    assert "out of the request" not in message and FAKES[6].token[4:] not in message


def _streamed(pieces: list[str], *, index: int = 0) -> list[bytes]:
    return [
        b"data: "
        + json.dumps({"choices": [{"index": index, "delta": {"content": piece}}]}).encode()
        + b"\n\n"
        for piece in pieces
    ]


@pytest.mark.parametrize(
    "extra",
    [
        [],
        [b"data: not json\n\n"],  # one frame that is not JSON: the frames are parsed one by one
        [b'data: {"a": 1}, {"b": 2}\n\n'],  # one frame that is two values: the same
        _streamed(["unrelated ", "text"], index=1),  # a second choice, its own text
    ],
    ids=["json-frames", "a-frame-not-json", "a-frame-of-two-values", "two-choices"],
)
def test_a_token_streamed_in_pieces_is_found_however_the_other_frames_read(
    extra: list[bytes],
) -> None:
    pieces = [GOOGLE[i : i + 5] for i in range(0, len(GOOGLE), 5)]
    frames = _streamed(pieces[:3]) + extra + _streamed(pieces[3:]) + [b"data: [DONE]\n\n"]
    assert all(find_secret(frame.decode()) is None for frame in frames)
    recording = dataclasses.replace(
        make_recording(frames=0),
        stream=True,
        body=None,
        frames=[Frame(offset_ms=float(i), data=data) for i, data in enumerate(frames)],
    )
    assert locate_secret(recording) == ("Google API key", "frames (the streamed text)")
