"""Errors through the ASGI app: shapes per family, statuses, stream failures, health, secrets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.app.conftest import RaisingTransport
from tests.support import assert_error

GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
STREAM_SSE = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
STREAM_ARRAY = "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
CHAT = "/v1/chat/completions"


def gemini_body(text: str = "hi") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


def gemini_sse_chunks(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\r\n\r\n")
    return [json.loads(event.removeprefix(b"data: ")) for event in body[:-4].split(b"\r\n\r\n")]


def openai_frames(body: bytes) -> list[bytes]:
    assert body.endswith(b"\n\n")
    return [frame.removeprefix(b"data: ") for frame in body[:-2].split(b"\n\n")]


# --------------------------------------------------------------------------------------------
# Routing


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1beta/nope", "gemini"),
        ("/v1beta/models/gemini-2.0-flash:embedSomething", "gemini"),
        ("/v1/nope", "openai"),
        ("/nope", "plain"),
    ],
)
async def test_unknown_route(localaik: Any, path: str, family: str) -> None:
    get = await localaik.get(path)
    post = await localaik.post(path, json={})

    error = assert_error(get, 404, family)
    assert_error(post, 404, family)
    if family == "gemini":
        assert error["status"] == "NOT_FOUND"
    if family == "openai":
        assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("method", "path", "family", "allowed"),
    [
        ("GET", CHAT, "openai", "POST"),
        ("GET", "/v1/completions", "openai", "POST"),
        ("DELETE", "/v1/models", "openai", "GET"),
        ("POST", "/v1beta/models", "gemini", "GET"),
        ("PUT", "/v1beta/models/gemini-2.0-flash", "gemini", "GET"),
        ("GET", GENERATE, "gemini", "POST"),
        ("GET", "/v1/models/gemini-2.0-flash:streamGenerateContent", "gemini", "POST"),
        ("POST", "/health", "plain", "GET"),
    ],
)
async def test_wrong_method(
    localaik: Any, fake: Any, method: str, path: str, family: str, allowed: str
) -> None:
    response = await localaik.request(method, path)

    assert_error(response, 405, family)
    assert allowed in [m.strip() for m in response.headers["allow"].split(",")]
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Bad request bodies


BAD_BODIES = [
    pytest.param(b"{not json", "application/json", id="invalid-json"),
    pytest.param(b"", "application/json", id="empty"),
    pytest.param(b"   \n", "application/json", id="blank"),
    pytest.param(b'{"contents": "\xff\xfe"}', "application/json", id="invalid-utf8"),
    pytest.param(b'[{"role": "user"}]', "application/json", id="array"),
    pytest.param(b'"text"', "application/json", id="string"),
    pytest.param(b"null", "application/json", id="null"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", id="deep-lists"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json", id="deep-objects"),
]


@pytest.mark.parametrize(("content", "content_type"), BAD_BODIES)
@pytest.mark.parametrize(
    ("path", "family"),
    [(GENERATE, "gemini"), (STREAM_SSE, "gemini"), (CHAT, "openai"), ("/v1/completions", "openai")],
)
async def test_bad_body(
    localaik: Any, fake: Any, path: str, family: str, content: bytes, content_type: str
) -> None:
    response = await localaik.post(path, content=content, headers={"content-type": content_type})

    error = assert_error(response, 400, family)
    if family == "gemini":
        assert error["status"] == "INVALID_ARGUMENT"
    else:
        assert error["type"] == "invalid_request_error"
    assert fake.requests == []


@pytest.mark.parametrize(("path", "family"), [(GENERATE, "gemini"), (CHAT, "openai")])
async def test_multipart_refused(localaik: Any, fake: Any, path: str, family: str) -> None:
    response = await localaik.post(path, files={"file": ("a.json", b"{}", "application/json")})

    error = assert_error(response, 400, family)
    assert "multipart/form-data" in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("path", "family", "body"),
    [
        (GENERATE, "gemini", gemini_body("x" * 5000)),
        (STREAM_SSE, "gemini", gemini_body("x" * 5000)),
        (CHAT, "openai", chat_body("x" * 5000)),
    ],
)
async def test_body_over_max_size(
    make_localaik: Any, fake: Any, path: str, family: str, body: dict[str, Any]
) -> None:
    async with make_localaik(max_body_size=4096) as client:
        response = await client.post(path, json=body)
        small = await client.post(path, json=json.loads(json.dumps(body).replace("x" * 5000, "x")))

    error = assert_error(response, 413, family)
    assert "LK_MAX_BODY_SIZE" in error["message"]
    assert small.status_code == 200
    assert len(fake.requests) == 1


async def test_body_over_max_size_without_content_length(make_localaik: Any, fake: Any) -> None:
    """No Content-Length to go by: the limit still holds while reading."""
    async with make_localaik(max_body_size=4096) as client:
        request = client.build_request("POST", GENERATE, json=gemini_body("x" * 10_000))
        del request.headers["content-length"]
        response = await client.send(request)

    assert_error(response, 413, "gemini")
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# Upstream failures


@pytest.mark.parametrize("status", [400, 404, 500, 503])
@pytest.mark.parametrize(
    ("path", "family", "make_body"),
    [
        (GENERATE, "gemini", gemini_body),
        (STREAM_SSE, "gemini", gemini_body),
        (STREAM_ARRAY, "gemini", gemini_body),
        (CHAT, "openai", chat_body),
        (CHAT, "openai", lambda text: chat_body(text, stream=True)),
    ],
)
async def test_upstream_error_status_kept(
    localaik: Any, status: int, path: str, family: str, make_body: Any
) -> None:
    response = await localaik.post(path, json=make_body(f"please fail [[error:{status}]]"))

    error = assert_error(response, status, family)
    assert error["message"] == f"fake error {status}"
    if family == "gemini":
        expected = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 500: "INTERNAL", 503: "UNAVAILABLE"}[
            status
        ]
        assert error["status"] == expected


@pytest.mark.parametrize(
    ("path", "family", "body"),
    [
        (GENERATE, "gemini", gemini_body("x [[garbage]]")),
        (STREAM_SSE, "gemini", gemini_body("x [[garbage]]")),
        (CHAT, "openai", chat_body("x [[garbage]]")),
        (CHAT, "openai", chat_body("x [[garbage]]", stream=True)),
        ("/v1/completions", "openai", {"model": "m", "prompt": "x [[garbage]]"}),
    ],
)
async def test_upstream_garbage_is_502(
    localaik: Any, path: str, family: str, body: dict[str, Any]
) -> None:
    assert_error(await localaik.post(path, json=body), 502, family)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (httpx.ConnectError, 502),
        (httpx.RemoteProtocolError, 502),
        (httpx.ReadTimeout, 504),
    ],
)
@pytest.mark.parametrize(
    ("path", "family", "body"),
    [
        (GENERATE, "gemini", gemini_body()),
        (STREAM_SSE, "gemini", gemini_body()),
        ("/v1beta/models/m:countTokens", "gemini", gemini_body()),
        (CHAT, "openai", chat_body()),
        (CHAT, "openai", chat_body(stream=True)),
    ],
)
async def test_upstream_unreachable_or_slow(
    make_localaik: Any, error: Any, status: int, path: str, family: str, body: dict[str, Any]
) -> None:
    transport = RaisingTransport(error)
    async with make_localaik(transport=transport) as client:
        response = await client.post(path, json=body)

    found = assert_error(response, status, family)
    assert transport.requests, "localaik did not try the upstream"
    assert "http://fake/v1" in found["message"]
    if family == "gemini" and status == 504:
        assert found["status"] == "DEADLINE_EXCEEDED"
    if family == "openai":
        assert found["type"] == "server_error"


async def test_upstream_unreachable_models_list(make_localaik: Any) -> None:
    async with make_localaik(transport=RaisingTransport(httpx.ConnectError)) as client:
        gemini = await client.get("/v1beta/models")
        openai = await client.get("/v1/models", headers={"authorization": "Bearer k"})

    assert_error(gemini, 502, "gemini")
    assert_error(openai, 502, "openai")


# --------------------------------------------------------------------------------------------
# Streams that fail or end oddly


async def test_gemini_stream_without_finish_reason_still_finishes(localaik: Any) -> None:
    response = await localaik.post(STREAM_SSE, json=gemini_body("hello [[nofinish]]"))

    assert response.status_code == 200
    chunks = gemini_sse_chunks(response.content)
    assert "error" not in chunks[-1]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]
    assert (
        "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"])
        == "Echo: hello"
    )


async def test_gemini_stream_finish_reason_translated(localaik: Any) -> None:
    response = await localaik.post(STREAM_SSE, json=gemini_body("hello [[finish:length]]"))

    chunks = gemini_sse_chunks(response.content)
    assert chunks[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"


async def test_gemini_sse_cut_ends_with_error_event(localaik: Any) -> None:
    response = await localaik.post(STREAM_SSE, json=gemini_body("hello world [[cut:3]]"))

    assert response.status_code == 200
    chunks = gemini_sse_chunks(response.content)
    *arrived, last = chunks
    # The fake sent a role chunk and two 3-character deltas before the cut.
    assert (
        "".join(p["text"] for c in arrived for p in c["candidates"][0]["content"]["parts"])
        == "Echo: "
    )
    assert all("finishReason" not in c["candidates"][0] for c in arrived)
    assert set(last) == {"error"}
    assert set(last["error"]) == {"code", "message", "status"}
    assert last["error"]["code"] == 502
    assert isinstance(last["error"]["status"], str) and last["error"]["status"]


async def test_gemini_array_stream_cut_ends_with_error_element(localaik: Any) -> None:
    response = await localaik.post(STREAM_ARRAY, json=gemini_body("hello world [[cut:2]]"))

    assert response.status_code == 200
    elements = json.loads(response.content)
    assert "candidates" in elements[0]
    assert set(elements[-1]) == {"error"}
    assert set(elements[-1]["error"]) == {"code", "message", "status"}


async def test_openai_stream_cut_ends_with_error_event(localaik: Any) -> None:
    response = await localaik.post(CHAT, json=chat_body("hello world [[cut:2]]", stream=True))

    assert response.status_code == 200
    frames = openai_frames(response.content)
    assert b"[DONE]" not in frames
    *arrived, last = frames
    assert len(arrived) == 2
    assert all(json.loads(f)["object"] == "chat.completion.chunk" for f in arrived)
    error = json.loads(last)
    assert set(error) == {"error"}
    assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["type"] == "server_error"


@pytest.mark.parametrize(
    ("path", "body", "is_gemini"),
    [
        (STREAM_SSE, gemini_body("hello [[cut:2]]"), True),
        (CHAT, chat_body("hello [[cut:2]]", stream=True), False),
    ],
)
async def test_stream_closed_without_done_ends_with_error(
    make_localaik: Any, fake: Any, path: str, body: dict[str, Any], is_gemini: bool
) -> None:
    """The upstream closes the stream cleanly but never sends `[DONE]`."""
    transport = httpx.ASGITransport(app=fake, raise_app_exceptions=False)
    async with make_localaik(transport=transport) as client:
        response = await client.post(path, json=body)

    assert response.status_code == 200
    if is_gemini:
        last = gemini_sse_chunks(response.content)[-1]
        assert set(last) == {"error"} and set(last["error"]) == {"code", "message", "status"}
    else:
        frames = openai_frames(response.content)
        assert b"[DONE]" not in frames
        assert set(json.loads(frames[-1])) == {"error"}


# --------------------------------------------------------------------------------------------
# Health


async def test_health_ok(localaik: Any) -> None:
    response = await localaik.get("/health")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["upstream"] == {"url": "http://fake/v1", "ok": True}


async def test_health_503_when_upstream_unhealthy(localaik: Any, fake: Any) -> None:
    fake.health_status = 503

    response = await localaik.get("/health")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] != "ok"
    assert body["upstream"] == {"url": "http://fake/v1", "ok": False}


async def test_health_503_when_upstream_unreachable(make_localaik: Any) -> None:
    async with make_localaik(transport=RaisingTransport(httpx.ConnectError)) as client:
        response = await client.get("/health")

    assert response.status_code == 503
    assert response.json()["upstream"]["ok"] is False


# --------------------------------------------------------------------------------------------
# Secrets


@pytest.mark.parametrize("health_status", [200, 503])
async def test_upstream_credentials_never_shown(
    make_localaik: Any, fake: Any, health_status: int
) -> None:
    fake.health_status = health_status
    async with make_localaik(upstream="http://user:secret@fake/v1") as client:
        health = await client.get("/health")
        failed = await client.post(GENERATE, json=gemini_body("x [[error:500]]"))
        garbage = await client.post(CHAT, json=chat_body("x [[garbage]]"))
    async with make_localaik(
        upstream="http://user:secret@fake/v1", transport=RaisingTransport(httpx.ConnectError)
    ) as client:
        unreachable = await client.post(GENERATE, json=gemini_body())

    assert health.status_code == health_status
    assert health.json()["upstream"]["url"] == "http://fake/v1"
    for response in (health, failed, garbage, unreachable):
        assert b"secret" not in response.content
        assert b"user:" not in response.content


CLIENT_KEYS = {
    "x-goog-api-key": "AIzaCLIENTKEY1",
    "authorization": "Bearer sk-CLIENTKEY2",
    "x-api-key": "CLIENTKEY3",
}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GENERATE, gemini_body()),
        (STREAM_SSE, gemini_body()),
        ("/v1beta/models/m:countTokens", gemini_body()),
        (CHAT, chat_body()),
        (CHAT, chat_body(stream=True)),
        ("/v1/completions", {"model": "m", "prompt": "hi"}),
    ],
)
async def test_client_keys_never_forwarded(
    localaik: Any, fake: Any, path: str, body: dict[str, Any]
) -> None:
    separator = "&" if "?" in path else "?"
    response = await localaik.post(
        f"{path}{separator}key=AIzaQUERYKEY", json=body, headers=CLIENT_KEYS
    )
    models = await localaik.get("/v1beta/models?key=AIzaQUERYKEY", headers=CLIENT_KEYS)

    assert response.status_code == 200
    assert models.status_code == 200
    assert len(fake.requests) == 2
    logged = json.dumps(fake.requests)
    for secret in (*CLIENT_KEYS.values(), "AIzaQUERYKEY", "CLIENTKEY"):
        assert secret not in logged
    for request in fake.requests:
        assert not {"x-goog-api-key", "authorization", "x-api-key"} & set(request["headers"])


async def test_upstream_auth_header_reaches_upstream(make_localaik: Any, fake: Any) -> None:
    async with make_localaik(
        upstream_auth_header=("Authorization", "Bearer operator-token")
    ) as client:
        gemini = await client.post(GENERATE, json=gemini_body(), headers=CLIENT_KEYS)
        openai = await client.post(CHAT, json=chat_body(stream=True), headers=CLIENT_KEYS)

    assert gemini.status_code == 200
    assert openai.status_code == 200
    assert [r["headers"].get("authorization") for r in fake.requests] == [
        "Bearer operator-token",
        "Bearer operator-token",
    ]


async def test_success_status_is_exactly_200(localaik: Any) -> None:
    responses = [
        await localaik.post(GENERATE, json=gemini_body()),
        await localaik.post(STREAM_SSE, json=gemini_body()),
        await localaik.post("/v1beta/models/m:countTokens", json=gemini_body()),
        await localaik.post(CHAT, json=chat_body()),
        await localaik.post(CHAT, json=chat_body(stream=True)),
        await localaik.post("/v1/completions", json={"model": "m", "prompt": "hi"}),
        await localaik.get("/v1beta/models"),
        await localaik.get("/v1/models"),
        await localaik.get("/health"),
    ]
    assert [r.status_code for r in responses] == [200] * len(responses)
