"""Record/replay through the ASGI app: replay basics, secrets, single flight.

The app runs with `mode="record"` or `mode="replay"` on a real SQLite cassette in tmp_path,
the in-process fake llama-server behind it. "Not stored" is checked on the cassette itself:
through the cassette store, and for secrets on the raw bytes of the file and its
`-wal`/`-shm` siblings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import shutil
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.cassette.store import store_for
from tests.app.conftest import FakeTransport, HeldBack
from tests.pdfs import Page, make_pdf
from tests.support import all_recordings, assert_error

MODEL = "gemini-2.0-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM_SSE = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
STREAM_ARRAY = f"/v1beta/models/{MODEL}:streamGenerateContent"
COUNT = f"/v1beta/models/{MODEL}:countTokens"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"


def gemini_body(text: str = "hello") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


# --------------------------------------------------------------------------------------------
# Replay basics


MISS_CASES = [
    ("post", GENERATE, gemini_body(), "gemini"),
    ("post", STREAM_SSE, gemini_body(), "gemini"),
    ("post", STREAM_ARRAY, gemini_body(), "gemini"),
    ("post", COUNT, gemini_body(), "gemini"),
    ("get", "/v1beta/models", None, "gemini"),
    ("post", CHAT, chat_body(), "openai"),
    ("post", CHAT, chat_body(stream=True), "openai"),
    ("post", COMPLETIONS, {"model": "m", "prompt": "hello"}, "openai"),
    ("get", "/v1/models", None, "openai"),
]


async def send(
    client: Any, method: str, path: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    if method == "get":
        if headers is None and path.startswith("/v1/"):
            headers = {"authorization": "Bearer k"}  # /v1/models: the OpenAI shape
        return await client.get(path, headers=headers)
    return await client.post(path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "family"), MISS_CASES)
async def test_replay_with_missing_cassette_is_a_404_miss(
    make_localaik: Any, fake: Any, tmp_path: Path, method: str, path: str, body: Any, family: str
) -> None:
    cassette = tmp_path / "missing.db"
    async with make_localaik(mode="replay", cassette=cassette) as client:
        response = await send(client, method, path, body)

    error = assert_error(response, 404, family)
    if family == "gemini":
        assert error["status"] == "NOT_FOUND"
    else:
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "replay_miss"
    message = error["message"]
    assert str(cassette) in message
    assert "does not exist" in message or "missing" in message, message
    assert "replay" in message and "LK_MODE=record" in message
    assert fake.requests == []
    assert not cassette.exists(), "replay mode created the cassette"


@pytest.mark.parametrize(("method", "path", "body", "family"), MISS_CASES)
async def test_replay_with_empty_cassette_is_a_404_miss(
    make_localaik: Any, fake: Any, tmp_path: Path, method: str, path: str, body: Any, family: str
) -> None:
    cassette = tmp_path / "empty.db"
    empty = store_for(cassette)
    empty.open(create=True)
    empty.close()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        response = await send(client, method, path, body)

    error = assert_error(response, 404, family)
    assert "empty" in error["message"], error["message"]
    assert str(cassette) in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("path", "body", "family"),
    [
        (GENERATE, gemini_body(), "gemini"),
        (STREAM_SSE, gemini_body(), "gemini"),
        (CHAT, chat_body(stream=True), "openai"),
        (
            "/v1/messages",
            {
                "model": "claude-x",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "hello"}],
            },
            "anthropic",
        ),
    ],
)
async def test_a_file_that_is_not_a_cassette_is_a_424_naming_it(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str, body: Any, family: str
) -> None:
    """The operator's to fix, not a bug (500) or a miss (404): no SDK retries a 424."""
    cassette = tmp_path / "notes.db"
    cassette.write_bytes(b"these are my notes, not a cassette\n" * 100)
    async with make_localaik(mode="replay", cassette=cassette) as client:
        response = await client.post(path, json=body)

    error = assert_error(response, 424, family)
    assert str(cassette) in error["message"] and "not a database" in error["message"]
    if family == "openai":
        assert error["code"] == "cassette_error"
    assert cassette.read_bytes() == b"these are my notes, not a cassette\n" * 100
    assert fake.requests == []


@pytest.mark.parametrize(
    ("path", "body", "family"),
    [
        (GENERATE, {"contents": "not a list"}, "gemini"),
        (
            GENERATE,
            {
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"temperature": "hot"},
            },
            "gemini",
        ),
        (
            STREAM_SSE,
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [
                            {
                                "inlineData": {
                                    "mimeType": "application/pdf",
                                    "data": base64.b64encode(b"not a pdf").decode(),
                                }
                            }
                        ],
                    }
                ]
            },
            "gemini",
        ),
        (CHAT, {"model": "gpt-4o-mini"}, "openai"),
        (CHAT, {"model": "gpt-4o-mini", "messages": [{"content": "no role"}]}, "openai"),
        (CHAT, chat_body(stream="yes"), "openai"),
        (COMPLETIONS, {"model": "m"}, "openai"),
    ],
)
@pytest.mark.parametrize("cassette_state", ["missing", "recorded"])
async def test_invalid_request_in_replay_is_a_400_not_a_miss(
    make_localaik: Any,
    fake: Any,
    tmp_path: Path,
    path: str,
    body: Any,
    family: str,
    cassette_state: str,
) -> None:
    cassette = tmp_path / "c.db"
    if cassette_state == "recorded":
        async with make_localaik(mode="record", cassette=cassette) as client:
            assert (await client.post(GENERATE, json=gemini_body())).status_code == 200
            assert (await client.post(CHAT, json=chat_body())).status_code == 200
        fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        response = await client.post(path, json=body)

    error = assert_error(response, 400, family)
    if family == "openai":
        assert error["code"] != "replay_miss"
    assert "replay miss" not in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", GENERATE, gemini_body("round trip")),
        ("post", STREAM_SSE, gemini_body("round trip")),
        ("post", STREAM_ARRAY, gemini_body("round trip")),
        ("post", COUNT, gemini_body("round trip")),
        ("get", "/v1beta/models", None),
        ("get", f"/v1beta/models/{MODEL}", None),
        ("post", CHAT, chat_body("round trip")),
        ("post", CHAT, chat_body("round trip", stream=True)),
        ("post", COMPLETIONS, {"model": "m", "prompt": "round trip"}),
        ("post", COMPLETIONS, {"model": "m", "prompt": "round trip", "stream": True}),
        ("get", "/v1/models", None),
        ("get", "/v1/models/gpt-4o-mini", None),
    ],
)
async def test_replay_answers_as_the_recording_did(
    make_localaik: Any, fake: Any, tmp_path: Path, method: str, path: str, body: Any
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await send(client, method, path, body)
    assert live.status_code == 200, live.text
    assert len(fake.requests) == 1
    assert len(all_recordings(cassette)) == 1
    fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await send(client, method, path, body)

    assert replayed.status_code == 200
    assert replayed.headers["content-type"] == live.headers["content-type"]
    assert replayed.content == live.content
    assert fake.requests == []


def tiny_pdf() -> bytes:
    """A valid one-page PDF (72 × 72 pt, blank)."""
    return make_pdf(Page(72, 72))


def pdf_body(pdf: bytes, text: str = "What is in this document?") -> dict[str, Any]:
    return {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": text},
                    {
                        "inlineData": {
                            "mimeType": "application/pdf",
                            "data": base64.b64encode(pdf).decode(),
                        }
                    },
                ],
            }
        ]
    }


async def test_pdf_request_replays_without_pdftoppm(
    make_localaik: Any, fake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        pytest.skip(
            "poppler-utils (pdftoppm, pdfinfo) is not installed, so the PDF request "
            "cannot be recorded live in the first place"
        )
    cassette = tmp_path / "c.db"
    body = pdf_body(tiny_pdf())
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(GENERATE, json=body)
    assert live.status_code == 200, live.text
    assert live.json()["candidates"][0]["content"]["parts"][0]["text"].endswith("[1 images]")
    fake.reset()

    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert shutil.which("pdftoppm") is None and shutil.which("pdfinfo") is None

    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(GENERATE, json=body)
        # Another PDF misses with a 404 (checked, not rendered), not a 400 about poppler.
        other = await client.post(GENERATE, json=pdf_body(tiny_pdf() + b"%another\n"))

    assert replayed.status_code == 200, replayed.text
    assert replayed.content == live.content
    error = assert_error(other, 404, "gemini")
    assert "inlineData" in error["message"] or "contents[0].parts[1]" in error["message"]
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Single flight with an upstream that holds its answer back


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GENERATE, gemini_body("one answer for all")),
        (CHAT, chat_body("one answer for all")),
        (STREAM_SSE, gemini_body("one answer for all")),
        (CHAT, chat_body("one answer for all", stream=True)),
    ],
    ids=["gemini-plain", "openai-plain", "gemini-stream", "openai-stream"],
)
async def test_16_identical_overlapping_misses_share_one_upstream_call(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str, body: Any
) -> None:
    cassette = tmp_path / "c.db"
    upstream = HeldBack(fake, 0.3)
    async with make_localaik(
        mode="record", cassette=cassette, transport=FakeTransport(upstream), overlap=True
    ) as client:
        responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(16)))

    assert client.peak == 16, "the requests did not overlap inside localaik"
    assert [r.status_code for r in responses] == [200] * 16, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert len(fake.requests) == 1
    assert upstream.peak == 1
    assert len(all_recordings(cassette)) == 1


# --------------------------------------------------------------------------------------------
# Secrets (DESIGN D7)


class Secrets:
    """Random, well-formed tokens of each kind; every one is distinct."""

    ALNUM = string.ascii_letters + string.digits
    B64URL = ALNUM + "-_"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.made: list[str] = []

    def _chars(self, n: int, alphabet: str = ALNUM) -> str:
        text = "".join(self.rng.choice(alphabet) for _ in range(n - 2))
        return text + self.rng.choice(string.digits) + self.rng.choice(string.ascii_uppercase)

    def _keep(self, token: str) -> str:
        assert token not in self.made
        self.made.append(token)
        return token

    def google(self) -> str:
        return self._keep("AIza" + self._chars(35, self.B64URL))

    def openai(self) -> str:
        return self._keep("sk-" + self._chars(48))

    def openai_project(self) -> str:
        return self._keep("sk-proj-" + self._chars(56, self.B64URL))

    def anthropic(self) -> str:
        return self._keep("sk-ant-api03-" + self._chars(86, self.B64URL) + "AA")

    def bearer(self) -> str:
        """The token alone; callers write `Bearer ` before it."""
        return self._keep(self._chars(40, self.ALNUM + "._-"))

    def jwt(self) -> str:
        return self._keep(
            "eyJ"
            + self._chars(33, self.B64URL)
            + ".eyJ"
            + self._chars(61, self.B64URL)
            + "."
            + self._chars(43, self.B64URL)
        )


def split(token: str, at: int = 4) -> str:
    """The token with a no-op fake directive inside: not a token shape in the request, but
    the fake strips directives, so its answer holds the token whole."""
    return token[:at] + "[[x]]" + token[at:]


@dataclass
class Case:
    """One request carrying secrets. kind: header (recorded, 200), body (refused with 400
    before the upstream), echo (the token is formed only in the upstream's answer)."""

    kind: str
    family: str
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    stream: bool = False


def secret_cases() -> list[Case]:
    s = Secrets(20261125)
    cases: list[Case] = []

    def add(
        kind: str,
        family: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        secrets: list[str],
        stream: bool = False,
    ) -> None:
        cases.append(Case(kind, family, method, path, body, headers or {}, secrets, stream))

    # -- headers and query strings: never stored, the request records normally (15) ---------
    g1 = s.google()
    add(
        "header",
        "gemini",
        "post",
        GENERATE,
        gemini_body("secret case h1"),
        headers={"x-goog-api-key": g1},
        secrets=[g1],
    )
    g2, j3 = s.google(), s.jwt()
    add(
        "header",
        "gemini",
        "post",
        STREAM_SSE,
        gemini_body("secret case h2"),
        headers={"x-goog-api-key": g2, "x-trace-token": j3},
        secrets=[g2, j3],
        stream=True,
    )
    g4 = s.google()
    add(
        "header", "gemini", "post", f"{COUNT}?key={g4}", gemini_body("secret case h3"), secrets=[g4]
    )
    g5, b6 = s.google(), s.bearer()
    add(
        "header",
        "gemini",
        "post",
        f"{GENERATE}?key={g5}",
        gemini_body("secret case h4"),
        headers={"authorization": f"Bearer {b6}"},
        secrets=[g5, b6],
    )
    p7 = s.openai_project()
    add(
        "header",
        "openai",
        "post",
        CHAT,
        chat_body("secret case h5"),
        headers={"authorization": f"Bearer {p7}"},
        secrets=[p7],
    )
    o8, a9 = s.openai(), s.anthropic()
    add(
        "header",
        "openai",
        "post",
        CHAT,
        chat_body("secret case h6", stream=True),
        headers={"authorization": f"Bearer {o8}", "x-api-key": a9},
        secrets=[o8, a9],
        stream=True,
    )
    j10 = s.jwt()
    add(
        "header",
        "openai",
        "get",
        "/v1/models",
        headers={"authorization": f"Bearer {j10}"},
        secrets=[j10],
    )
    a11, g12, o13 = s.anthropic(), s.google(), s.openai()
    add(
        "header",
        "openai",
        "post",
        f"{COMPLETIONS}?key={o13}",
        {"model": "m", "prompt": "secret case h8"},
        headers={"x-api-key": a11, "x-upstream-key": g12},
        secrets=[a11, g12, o13],
    )
    g14 = s.google()
    add("header", "gemini", "get", f"/v1beta/models?key={g14}", secrets=[g14])
    b15 = s.bearer()
    add(
        "header",
        "openai",
        "post",
        CHAT,
        chat_body("secret case h10"),
        headers={"authorization": "Bearer k", "x-session": f"Bearer {b15}"},
        secrets=[b15],
    )

    # -- request bodies: refused with 400, never forwarded (26) ------------------------------
    g16 = s.google()
    add("body", "gemini", "post", GENERATE, gemini_body(f"my key is {g16} ok"), secrets=[g16])
    p17 = s.openai_project()
    add("body", "gemini", "post", GENERATE, gemini_body(f"use {p17}"), secrets=[p17])
    a18 = s.anthropic()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {**gemini_body("hi"), "systemInstruction": {"parts": [{"text": f"key: {a18}"}]}},
        secrets=[a18],
    )
    j19 = s.jwt()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {
            "contents": [
                {"role": "user", "parts": [{"text": "log in"}]},
                {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "login", "args": {"token": j19}}}],
                },
                {
                    "role": "user",
                    "parts": [{"functionResponse": {"name": "login", "response": {"ok": True}}}],
                },
            ]
        },
        secrets=[j19],
    )
    b20 = s.bearer()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {
            "contents": [
                {"role": "user", "parts": [{"text": "call it"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "auth", "args": {}}}]},
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "name": "auth",
                                "response": {"header": f"Bearer {b20}"},
                            }
                        }
                    ],
                },
            ]
        },
        secrets=[b20],
    )
    o21 = s.openai()
    add(
        "body",
        "gemini",
        "post",
        STREAM_SSE,
        gemini_body(f"stream {o21}"),
        secrets=[o21],
        stream=True,
    )
    g22 = s.google()
    add("body", "gemini", "post", COUNT, gemini_body(f"count {g22}"), secrets=[g22])
    o23 = s.openai()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {
            **gemini_body("weather?"),
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "weather",
                            "description": f"uses key {o23}",
                            "parameters": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                            },
                        }
                    ]
                }
            ],
        },
        secrets=[o23],
    )
    p24 = s.openai_project()
    add("body", "openai", "post", CHAT, chat_body(f"here: {p24}"), secrets=[p24])
    j25 = s.jwt()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": f"session {j25}"},
                {"role": "user", "content": "hi"},
            ],
        },
        secrets=[j25],
    )
    g26 = s.google()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "look it up"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": json.dumps({"key": g26})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "done"},
            ],
        },
        secrets=[g26],
    )
    b27 = s.bearer()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "look it up"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": f"Bearer {b27}"},
            ],
        },
        secrets=[b27],
    )
    o28 = s.openai()
    add("body", "openai", "post", CHAT, chat_body("hi", metadata={"api_key": o28}), secrets=[o28])
    a29 = s.anthropic()
    add("body", "openai", "post", CHAT, chat_body("hi", user=a29), secrets=[a29])
    g30 = s.google()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        chat_body(
            "weather?",
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "description": "weather",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {"type": "string", "description": f"api key {g30}"}
                            },
                        },
                    },
                }
            ],
        ),
        secrets=[g30],
    )
    j31 = s.jwt()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        chat_body(f"token {j31}", stream=True),
        secrets=[j31],
        stream=True,
    )
    p32 = s.openai_project()
    add(
        "body", "openai", "post", COMPLETIONS, {"model": "m", "prompt": f"key {p32}"}, secrets=[p32]
    )
    b33 = s.bearer()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "header:"},
                        {"type": "text", "text": f"Authorization: Bearer {b33}"},
                    ],
                }
            ],
        },
        secrets=[b33],
    )
    o34 = s.openai()
    add("body", "openai", "post", CHAT, chat_body("hi", stop=[o34]), secrets=[o34])
    a35 = s.anthropic()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {
            "contents": [
                {"role": "user", "parts": [{"text": "what key?"}]},
                {"role": "model", "parts": [{"text": f"the key is {a35}"}]},
                {"role": "user", "parts": [{"text": "thanks"}]},
            ]
        },
        secrets=[a35],
    )
    g36 = s.google()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        chat_body(
            "json please",
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "schema": {
                        "type": "object",
                        "description": f"key {g36}",
                        "properties": {"a": {"type": "string"}},
                    },
                },
            },
        ),
        secrets=[g36],
    )
    g37 = s.google()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        gemini_body(f"fetch https://example.com/v1/data?key={g37}&x=1"),
        secrets=[g37],
    )
    p38 = s.openai_project()
    add("body", "openai", "post", CHAT, chat_body(f"line one\n{p38}\nline three"), secrets=[p38])
    j39 = s.jwt()
    add(
        "body",
        "gemini",
        "post",
        STREAM_ARRAY,
        gemini_body(f"jwt:{j39}"),
        secrets=[j39],
        stream=True,
    )
    p40 = s.openai_project()
    add(
        "body",
        "openai",
        "post",
        CHAT,
        chat_body(
            "pick",
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "pick",
                        "parameters": {
                            "type": "object",
                            "properties": {"key": {"type": "string", "enum": [p40]}},
                        },
                    },
                }
            ],
        ),
        secrets=[p40],
    )
    g41 = s.google()
    add(
        "body",
        "gemini",
        "post",
        GENERATE,
        {
            **gemini_body("pick"),
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "pick",
                            "parameters": {
                                "type": "object",
                                "properties": {"key": {"type": "string", "enum": [g41]}},
                            },
                        }
                    ]
                }
            ],
        },
        secrets=[g41],
    )

    # -- formed only in the upstream's answer (the fake echoes the prompt) (9) ---------------
    g42 = s.google()
    add("echo", "gemini", "post", GENERATE, gemini_body(f"say {split(g42)}"), secrets=[g42])
    g43 = s.google()
    add(
        "echo",
        "gemini",
        "post",
        STREAM_SSE,
        gemini_body(f"say {split(g43)}"),
        secrets=[g43],
        stream=True,
    )
    p44 = s.openai_project()
    add(
        "echo",
        "openai",
        "post",
        CHAT,
        chat_body(f"say {split(p44, 3)}", stream=True),
        secrets=[p44],
        stream=True,
    )
    a45 = s.anthropic()
    add("echo", "openai", "post", CHAT, chat_body(f"say {split(a45, 3)}"), secrets=[a45])
    j46 = s.jwt()
    add(
        "echo",
        "openai",
        "post",
        CHAT,
        chat_body(f"say {split(j46, 3)}", response_format={"type": "json_object"}),
        secrets=[j46],
    )
    b47 = s.bearer()
    add(
        "echo",
        "openai",
        "post",
        COMPLETIONS,
        {"model": "m", "prompt": f"say Bearer {split(b47, 8)}", "stream": True},
        secrets=[b47],
        stream=True,
    )
    b48 = s.bearer()
    add(
        "echo",
        "gemini",
        "post",
        STREAM_SSE,
        gemini_body(f"say Bearer {split(b48, 8)}"),
        secrets=[b48],
        stream=True,
    )
    o49 = s.openai()
    add(
        "echo",
        "openai",
        "post",
        CHAT,
        chat_body(f"say {split(o49, 3)}", stream=True),
        secrets=[o49],
        stream=True,
    )
    a50 = s.anthropic()
    add(
        "echo",
        "gemini",
        "post",
        STREAM_ARRAY,
        gemini_body(f"say {split(a50, 3)}"),
        secrets=[a50],
        stream=True,
    )

    assert len(s.made) == 50
    return cases


def cassette_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))}


def leaks(files: dict[str, bytes], secrets: list[str]) -> list[tuple[str, str]]:
    """(file, secret prefix) for every secret found in any of the files' raw bytes."""
    return [
        (name, secret[:10] + "…")
        for name, data in files.items()
        for secret in secrets
        if secret.encode() in data
    ]


async def run_secret_cases(client: Any, cases: list[Case]) -> list[httpx.Response]:
    responses = []
    for case in cases:
        if case.method == "get":
            responses.append(await client.get(case.path, headers=case.headers))
        else:
            responses.append(await client.post(case.path, json=case.body, headers=case.headers))
    return responses


async def test_fifty_secrets_never_reach_the_cassette(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cases = secret_cases()
    everything = [secret for case in cases for secret in case.secrets]
    cassette = tmp_path / "c.db"

    async with make_localaik(mode="record", cassette=cassette) as client:
        responses = await run_secret_cases(client, cases)
        while_open = cassette_bytes(cassette)

    assert {"c.db", "c.db-wal", "c.db-shm"} <= set(while_open), sorted(while_open)
    assert leaks(while_open, everything) == []
    after_close = cassette_bytes(cassette)
    assert after_close, "nothing was recorded at all"
    assert leaks(after_close, everything) == []

    recorded = all_recordings(cassette)
    for case, response in zip(cases, responses, strict=True):
        where = f"{case.kind} {case.method} {case.path[:60]}"
        if case.kind == "header":
            assert response.status_code == 200, (where, response.text)
        elif case.kind == "body" or (case.kind == "echo" and not case.stream):
            error = assert_error(response, 400, case.family)
            if case.family == "openai":
                assert error["code"] == "secret_refused", (where, error)
            else:
                assert error["status"] == "INVALID_ARGUMENT", (where, error)
            for secret in case.secrets:
                assert secret not in error["message"]
        else:
            # A stream already started (200) when its answer turns out to hold a token.
            assert response.status_code == 200, (where, response.text)

    # Each header/query case was recorded, and nothing else beyond the streamed echoes.
    texts = [r.request for r in recorded]
    for number in (1, 2, 3, 4, 5, 6, 8, 10):
        assert sum(f'"secret case h{number}"' in t for t in texts) == 1, number
    operations = [(r.family, r.operation) for r in recorded]
    assert ("gemini", "models.list") in operations and ("openai", "models.list") in operations
    streamed_echoes = sum(1 for c in cases if c.kind == "echo" and c.stream)
    assert len(recorded) <= 10 + streamed_echoes

    # The upstream never saw a body secret (refused first), nor any client header or query.
    forwarded = json.dumps(fake.requests)
    body_secrets = [s for c in cases if c.kind == "body" for s in c.secrets]
    assert [s[:10] for s in body_secrets if s in forwarded] == []
    header_secrets = [s for c in cases if c.kind == "header" for s in c.secrets]
    assert [s[:10] for s in header_secrets if s in forwarded] == []
    assert len(fake.requests) == 10 + sum(1 for c in cases if c.kind == "echo")


async def test_a_token_streamed_in_pieces_is_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    """A model's streamed answer arrives token by token, so a key in it is split over many
    frames. The cassette must not hold it in any form a reader can put back together: the
    stream's text, joined from its deltas, holds no token either."""
    cases = [c for c in secret_cases() if c.kind == "echo" and c.stream]
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        responses = await run_secret_cases(client, cases)
    assert [r.status_code for r in responses] == [200] * len(cases)

    joined = []
    for recording in all_recordings(cassette):
        text = ""
        for frame in recording.frames:
            data = frame.data.removeprefix(b"data: ").strip()
            if data == b"[DONE]":
                continue
            choice = json.loads(data)["choices"]
            if choice:
                text += choice[0].get("delta", {}).get("content") or choice[0].get("text") or ""
        joined.append(text)
    found = [
        (case.path[:40], secret[:10] + "…")
        for case in cases
        for secret in case.secrets
        if any(secret in text for text in joined)
    ]
    assert found == [], (
        f"{len(found)} of {len(cases)} streamed tokens can be read back from "
        f"the cassette by joining the recorded deltas: {found}"
    )
