"""Embeddings through the ASGI app, the in-process fake llama-server behind it: OpenAI
`/v1/embeddings` (float and base64), Gemini `embedContent` and `batchEmbedContents` on `/v1/` and
`/v1beta/`, their errors, and recording then replaying them (one recording answers both
encodings, and both Gemini API versions).
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.cassette import transcript
from localaik.server.verify import verify
from tests.app.conftest import RaisingTransport
from tests.fakes.fake_llama import embed_text
from tests.support import all_recordings, assert_error

OPENAI = "/v1/embeddings"
AUTH = {"authorization": "Bearer test"}
GOOGLE = {"x-goog-api-key": "test"}
MODEL = "gemini-embedding-001"
VERSIONS = ("v1", "v1beta")


def batch_path(version: str = "v1beta", model: str = MODEL) -> str:
    return f"/{version}/models/{model}:batchEmbedContents"


def single_path(version: str = "v1beta", model: str = MODEL) -> str:
    return f"/{version}/models/{model}:embedContent"


def python_batch(*texts: str, **config: Any) -> dict[str, Any]:
    """A batchEmbedContents body as Python google-genai sends it."""
    return {
        "requests": [
            {
                "content": {"parts": [{"text": text}], "role": "user"},
                **config,
                "model": f"models/{MODEL}",
            }
            for text in texts
        ]
    }


def float32(values: list[float]) -> list[float]:
    return [struct.unpack("<f", struct.pack("<f", x))[0] for x in values]


def decode(text: str) -> list[float]:
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def embedding_requests(fake: Any) -> list[dict[str, Any]]:
    return [r["body"] for r in fake.requests if r["path"] == "/v1/embeddings"]


# ---------------------------------------------------------------------------------------------
# OpenAI


async def test_openai_default_base64_is_the_upstream_floats_as_float32(
    localaik: Any, fake: Any
) -> None:
    body = {
        "model": "text-embedding-3-small",
        "input": ["hello", "world"],
        "encoding_format": "base64",
    }
    response = await localaik.post(OPENAI, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "list" and answer["model"] == "text-embedding-3-small"
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert all(item["object"] == "embedding" for item in answer["data"])
    assert decode(answer["data"][0]["embedding"]) == float32(embed_text("hello"))
    assert decode(answer["data"][1]["embedding"]) == float32(embed_text("world"))
    assert answer["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    # upstream: floats asked, the inputs as sent, the client's model
    assert embedding_requests(fake) == [
        {"input": ["hello", "world"], "encoding_format": "float", "model": "text-embedding-3-small"}
    ]


async def test_openai_float_and_a_single_string(localaik: Any) -> None:
    response = await localaik.post(
        OPENAI, json={"model": "m", "input": "hello", "encoding_format": "float"}, headers=AUTH
    )
    assert response.json()["data"] == [
        {"object": "embedding", "index": 0, "embedding": embed_text("hello")}
    ]


async def test_openai_token_arrays_go_upstream_as_they_are(localaik: Any, fake: Any) -> None:
    response = await localaik.post(
        OPENAI, json={"model": "m", "input": [[1, 2], [3]]}, headers=AUTH
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    assert embedding_requests(fake)[0]["input"] == [[1, 2], [3]]


async def test_openai_dimensions_shorten_to_unit_length(localaik: Any) -> None:
    response = await localaik.post(
        OPENAI, json={"model": "m", "input": "hello", "dimensions": 3}, headers=AUTH
    )
    [item] = response.json()["data"]
    full = embed_text("hello")
    norm = sum(x * x for x in full[:3]) ** 0.5
    assert item["embedding"] == pytest.approx([x / norm for x in full[:3]], rel=1e-12)


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"model": "m"}, "input", "input is required"),
        ({"model": "m", "input": ""}, "input", "empty string"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format", "'float'"),
        ({"model": "m", "input": "x", "dimensions": -1}, "dimensions", "at least 1"),
        ({"model": "m", "input": "x", "stream": True}, "stream", "Unrecognized request argument"),
        ({"model": 7, "input": "x"}, "model", "model must be a string"),
    ],
)
async def test_openai_bad_requests_are_400_and_reach_nothing(
    make_localaik: Any, fake: Any, tmp_path: Path, body: dict[str, Any], param: str, message: str
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(OPENAI, json=body, headers=AUTH)
    error = assert_error(response, 400, "openai")
    assert error["param"] == param and message in error["message"]
    assert fake.requests == [] and all_recordings(cassette) == []


async def test_openai_dimensions_beyond_the_model_is_400(localaik: Any) -> None:
    response = await localaik.post(
        OPENAI, json={"model": "m", "input": "x", "dimensions": 9}, headers=AUTH
    )
    error = assert_error(response, 400, "openai")
    assert error["message"] == "dimensions is 9, but the embedding model gives 8 values"
    assert error["param"] == "dimensions"


async def test_an_input_too_long_for_llama_server_is_400_and_not_recorded(
    make_localaik: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        openai = await client.post(OPENAI, json={"model": "m", "input": "w " * 600}, headers=AUTH)
        gemini = await client.post(batch_path(), json=python_batch("w " * 600), headers=GOOGLE)
    assert (
        "an input is 600 tokens, more than the embedding model takes at once (512)"
        in assert_error(openai, 400, "openai")["message"]
    )
    assert assert_error(gemini, 400, "gemini")["status"] == "INVALID_ARGUMENT"
    assert all_recordings(cassette) == []  # llama-server's 500 is a passing fault: not stored


async def test_upstream_errors_keep_their_status(localaik: Any) -> None:
    response = await localaik.post(
        OPENAI, json={"model": "m", "input": "[[error:503]] x"}, headers=AUTH
    )
    assert assert_error(response, 503, "openai")["message"] == "fake error 503"


# ---------------------------------------------------------------------------------------------
# Gemini


@pytest.mark.parametrize("version", VERSIONS)
async def test_gemini_batch_as_python_sends_it(localaik: Any, fake: Any, version: str) -> None:
    body = python_batch(
        "hello", "world", taskType="RETRIEVAL_DOCUMENT", title="t", outputDimensionality=3
    )
    response = await localaik.post(batch_path(version), json=body, headers=GOOGLE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "embeddings": [
            {"values": embed_text("t\n\nhello")[:3]},
            {"values": embed_text("t\n\nworld")[:3]},
        ]
    }
    assert embedding_requests(fake) == [
        {"model": "localaik", "input": ["t\n\nhello", "t\n\nworld"], "encoding_format": "float"}
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_gemini_embed_content(localaik: Any, version: str) -> None:
    body = {"content": {"parts": [{"text": "hello"}]}, "taskType": "RETRIEVAL_QUERY"}
    response = await localaik.post(single_path(version), json=body, headers=GOOGLE)
    assert response.json() == {"embedding": {"values": embed_text("hello")}}


async def test_gemini_upstream_model_setting(make_localaik: Any, fake: Any) -> None:
    async with make_localaik(upstream_model="nomic-embed") as client:
        await client.post(batch_path(), json=python_batch("a"), headers=GOOGLE)
    assert embedding_requests(fake)[0]["model"] == "nomic-embed"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            single_path(),
            {
                "content": {
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]
                }
            },
            "localaik embeds text only, not inlineData",
        ),
        (
            batch_path(),
            python_batch("a", taskType="CLUSTERING", title="t"),
            "requests[0].title is only used with taskType RETRIEVAL_DOCUMENT",
        ),
        (
            batch_path(),
            {"requests": [{"content": {"parts": [{"text": "a"}]}, "model": "models/other"}]},
            "not the model of the request",
        ),
        (batch_path(), {"requests": []}, "non-empty list"),
        (
            single_path(),
            {"content": {"parts": [{"text": "a"}]}, "autoTruncate": True},
            'Unknown name "autoTruncate"',
        ),
        (batch_path(), python_batch("a", outputDimensionality=0), "at least 1"),
    ],
)
async def test_gemini_bad_requests_are_400_and_reach_nothing(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str, body: Any, message: str
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(path, json=body, headers=GOOGLE)
    error = assert_error(response, 400, "gemini")
    assert error["status"] == "INVALID_ARGUMENT" and message in error["message"]
    assert fake.requests == [] and all_recordings(cassette) == []


async def test_gemini_get_on_an_embedding_method_is_405(localaik: Any) -> None:
    response = await localaik.get(single_path(), headers=GOOGLE)
    assert_error(response, 405, "gemini")
    assert response.headers["allow"] == "POST"


# ---------------------------------------------------------------------------------------------
# Record, then replay


async def test_one_recording_answers_base64_float_and_no_encoding(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    sdk = {"model": "text-embedding-3-small", "input": ["hello"], "encoding_format": "base64"}
    async with make_localaik(mode="record", cassette=cassette) as client:
        recorded = await client.post(OPENAI, json=sdk, headers=AUTH)
    assert len(embedding_requests(fake)) == 1 and len(all_recordings(cassette)) == 1

    dead = RaisingTransport(httpx.ConnectError)
    async with make_localaik(mode="replay", cassette=cassette, transport=dead) as client:
        again = await client.post(OPENAI, json=sdk, headers=AUTH)
        floats = await client.post(OPENAI, json={**sdk, "encoding_format": "float"}, headers=AUTH)
        plain = await client.post(
            OPENAI, json={"model": sdk["model"], "input": ["hello"]}, headers=AUTH
        )
    assert dead.requests == []
    assert again.content == recorded.content
    vector = floats.json()["data"][0]["embedding"]
    assert vector == embed_text("hello")  # the recorded upstream numbers, exactly
    assert plain.content == floats.content
    assert decode(recorded.json()["data"][0]["embedding"]) == float32(vector)


async def test_gemini_v1_and_v1beta_share_a_recording_and_replay_it(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    body = python_batch("hello", "world", taskType="SEMANTIC_SIMILARITY")
    single = {"content": {"parts": [{"text": "hello"}]}}
    async with make_localaik(mode="record", cassette=cassette) as client:
        batch_v1 = await client.post(batch_path("v1"), json=body, headers=GOOGLE)
        single_v1 = await client.post(single_path("v1"), json=single, headers=GOOGLE)
        batch_v1beta = await client.post(batch_path("v1beta"), json=body, headers=GOOGLE)
    assert batch_v1.content == batch_v1beta.content
    assert len(embedding_requests(fake)) == 2
    recordings = all_recordings(cassette)
    assert sorted(r.operation for r in recordings) == ["batchEmbedContents", "embedContent"]

    dead = RaisingTransport(httpx.ConnectError)
    async with make_localaik(mode="replay", cassette=cassette, transport=dead) as client:
        # the items' model is not part of the key: a body without it hits the same recording
        bare = {
            "requests": [
                {key: value for key, value in item.items() if key != "model"}
                for item in body["requests"]
            ]
        }
        replayed = await client.post(batch_path("v1beta"), json=bare, headers=GOOGLE)
        replayed_single = await client.post(single_path("v1beta"), json=single, headers=GOOGLE)
    assert dead.requests == []
    assert replayed.content == batch_v1.content
    assert replayed_single.content == single_v1.content


async def test_a_replay_miss_is_a_404_in_each_shape(make_localaik: Any, tmp_path: Path) -> None:
    async with make_localaik(mode="replay", cassette=tmp_path / "none.db") as client:
        openai = await client.post(OPENAI, json={"model": "m", "input": "x"}, headers=AUTH)
        gemini = await client.post(batch_path(), json=python_batch("x"), headers=GOOGLE)
    assert assert_error(openai, 404, "openai")["code"] == "replay_miss"
    assert assert_error(gemini, 404, "gemini")["status"] == "NOT_FOUND"


async def test_verify_replays_embedding_recordings(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        for response in [
            await client.post(
                OPENAI,
                json={
                    "model": "m",
                    "input": ["a", "b"],
                    "encoding_format": "base64",
                    "dimensions": 4,
                },
                headers=AUTH,
            ),
            await client.post(OPENAI, json={"model": "m", "input": [[1, 2, 3]]}, headers=AUTH),
            await client.post(
                batch_path("v1"), json=python_batch("a", outputDimensionality=2), headers=GOOGLE
            ),
            await client.post(
                single_path(), json={"content": {"parts": [{"text": "a"}]}}, headers=GOOGLE
            ),
        ]:
            assert response.status_code == 200, response.text
    report = verify(cassette)
    assert report.recordings == 4
    assert report.problems == []


async def test_cassette_show_summarises_vectors(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        await client.post(OPENAI, json={"model": "m", "input": ["alpha", "beta"]}, headers=AUTH)
    [recording] = all_recordings(cassette)
    text = transcript.text(recording)
    assert "answer: 2 embeddings of 8 values" in text
    first = embed_text("alpha")
    assert f'"embedding": "<8 floats: {first[0]}, {first[1]}, {first[2]}, … sha256 ' in text
    assert str(first[5]) not in text  # the vector itself is not printed
    numbers = [
        line
        for line in text.splitlines()
        if line.strip().rstrip(",").lstrip("-").replace(".", "", 1).isdigit()
    ]
    assert numbers == [], "one line per value"
    # another vector, another line: a re-recorded embedding shows in a diff
    second = [line for line in text.splitlines() if "floats:" in line]
    assert len(second) == 2 and second[0] != second[1]
