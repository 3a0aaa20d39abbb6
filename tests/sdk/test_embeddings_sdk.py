"""Embeddings with the official, unmodified SDKs against `localaik serve`: record in front of a
fake llama-server, then replay twice (no upstream at all; a second fake that must receive
nothing) and get identical results.

openai: `embeddings.create` with the SDK's default (it asks for base64 and decodes it), with
`encoding_format="float"`, `dimensions`, token arrays, and the async client. google-genai:
`embed_content` with one and with several contents, a config (task type, title, output
dimensionality), the multimodal-model spelling (one content of several parts), on `v1` and
`v1beta` (Python sends `batchEmbedContents` on both), sync and async. The JS SDKs
(`tests/js/embeddings.mjs`), two of whose requests are the Python ones: they replay the Python
recordings. Raw HTTP for what no SDK sends here: `embedContent`, and OpenAI without
`encoding_format`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from localaik.server.verify import verify
from tests.fakes.fake_llama import FakeLlama, embed_text
from tests.support import LocalaikProcess, all_recordings

OPENAI_MODEL = "text-embedding-3-small"
GEMINI_MODEL = "gemini-embedding-001"
MULTIMODAL_MODEL = "gemini-embedding-2"
VERSIONS = ("v1", "v1beta")
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
JS_SCRIPT = Path(__file__).resolve().parent.parent / "js" / "embeddings.mjs"
JS_STEPS = ("gemini_batch", "gemini_single", "openai_default", "openai_float")
FOREIGN_ENV_PREFIXES = ("GOOGLE_", "GEMINI_", "OPENAI_")
BATCH_CONFIG = types.EmbedContentConfig(
    task_type="RETRIEVAL_DOCUMENT", title="t", output_dimensionality=4
)


@pytest.fixture(scope="module", autouse=True)
def clean_env() -> Iterator[None]:
    """No GOOGLE_* / GEMINI_* / OPENAI_* variable of the developer's shell may steer an SDK."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(FOREIGN_ENV_PREFIXES):
                patch.delenv(name)
        yield


def scrub(value: Any) -> Any:
    """`value` without the HTTP Date header (the one thing that must change between runs)."""
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: (
            {k: v for k, v in item.items() if k.lower() != "date"}
            if key == "headers" and isinstance(item, dict)
            else scrub(item)
        )
        for key, item in value.items()
    }


def dump(obj: BaseModel) -> Any:
    return scrub(obj.model_dump(mode="json"))


def float32(values: list[float]) -> list[float]:
    return [struct.unpack("<f", struct.pack("<f", x))[0] for x in values]


def gemini_client(url: str, version: str) -> genai.Client:
    return genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version=version)
    )


# ---------------------------------------------------------------------------------------------
# The scenario


def openai_steps(client: OpenAI) -> dict[str, Callable[[], Any]]:
    embed = client.embeddings.create
    return {
        "default": lambda: dump(embed(model=OPENAI_MODEL, input=["hello", "world"])),
        # the same request with floats: the same key, so replayed from the recording above
        "float_list": lambda: dump(
            embed(model=OPENAI_MODEL, input=["hello", "world"], encoding_format="float")
        ),
        "float": lambda: dump(
            embed(model=OPENAI_MODEL, input="one string", encoding_format="float")
        ),
        "dimensions": lambda: dump(embed(model=OPENAI_MODEL, input="short", dimensions=4)),
        "tokens": lambda: dump(embed(model=OPENAI_MODEL, input=[[1, 2, 3], [4, 5]])),
    }


def gemini_steps(client: genai.Client) -> dict[str, Callable[[], Any]]:
    models = client.models
    return {
        "single": lambda: dump(models.embed_content(model=GEMINI_MODEL, contents="hello")),
        "batch": lambda: dump(
            models.embed_content(
                model=GEMINI_MODEL, contents=["hello", "world"], config=BATCH_CONFIG
            )
        ),
        "multimodal": lambda: dump(
            models.embed_content(model=MULTIMODAL_MODEL, contents=["one", "content"])
        ),
    }


async def async_steps(url: str, results: dict[str, Any]) -> None:
    async with AsyncOpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as client:
        try:
            results["openai.aio"] = dump(
                await client.embeddings.create(model=OPENAI_MODEL, input="async hello")
            )
        except Exception as exc:  # noqa: BLE001 - compared, and reported by the step's test
            results["openai.aio"] = failure(exc)
    for version in VERSIONS:
        client = gemini_client(url, version)
        try:
            results[f"genai.{version}.aio"] = dump(
                await client.aio.models.embed_content(
                    model=GEMINI_MODEL, contents=["async", "batch"]
                )
            )
        except Exception as exc:  # noqa: BLE001
            results[f"genai.{version}.aio"] = failure(exc)
        finally:
            await client.aio.aclose()
            client.close()


def raw_steps(url: str) -> dict[str, Callable[[], Any]]:
    def post(path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        response = httpx.post(url + path, json=body, headers=headers, timeout=20)
        return {
            "status": response.status_code,
            "content_type": response.headers.get("content-type"),
            "body": response.text,
        }

    single = {"content": {"parts": [{"text": "raw single"}]}, "taskType": "RETRIEVAL_QUERY"}
    return {
        "embed_content_v1": lambda: post(
            f"/v1/models/{GEMINI_MODEL}:embedContent", single, {"x-goog-api-key": "test"}
        ),
        "embed_content_v1beta": lambda: post(
            f"/v1beta/models/{GEMINI_MODEL}:embedContent", single, {"x-goog-api-key": "test"}
        ),
        "openai_no_encoding": lambda: post(
            "/v1/embeddings",
            {"model": OPENAI_MODEL, "input": "one string"},
            {"authorization": "Bearer test"},
        ),
    }


def run_js(url: str) -> dict[str, Any]:
    """`node tests/js/embeddings.mjs`: its one JSON line, or the failure."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then `npm ci --prefix tests/js`")
    for package in ("@google/genai", "openai"):
        if not (JS_SCRIPT.parent / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"the JavaScript SDKs are not installed: run `npm ci --prefix tests/js` "
                f"({package} is missing)"
            )
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    done = subprocess.run(
        ["node", str(JS_SCRIPT)],
        env={**env, "LOCALAIK_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return {"raised": "node", "message": f"exit {done.returncode}: {done.stderr[-3000:]}"}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def failure(exc: BaseException) -> dict[str, Any]:
    return {"raised": type(exc).__name__, "message": str(exc)[:3000]}


def is_failure(result: Any) -> bool:
    return isinstance(result, dict) and set(result) == {"raised", "message"}


def run_scenario(url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def run(prefix: str, steps: dict[str, Callable[[], Any]]) -> None:
        for name, step in steps.items():
            try:
                results[f"{prefix}.{name}"] = step()
            except Exception as exc:  # noqa: BLE001
                results[f"{prefix}.{name}"] = failure(exc)

    with OpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as client:
        run("openai", openai_steps(client))
    for version in VERSIONS:
        client = gemini_client(url, version)
        try:
            run(f"genai.{version}", gemini_steps(client))
        finally:
            client.close()
    asyncio.run(async_steps(url, results))
    run("raw", raw_steps(url))
    js = run_js(url)
    for name in JS_STEPS:
        results[f"js.{name}"] = js if is_failure(js) else js.get(name)
    return results


STEPS = sorted(
    [f"openai.{name}" for name in ("default", "float_list", "float", "dimensions", "tokens")]
    + [f"genai.{v}.{name}" for v in VERSIONS for name in ("single", "batch", "multimodal")]
    + ["openai.aio"]
    + [f"genai.{v}.aio" for v in VERSIONS]
    + [f"raw.{name}" for name in ("embed_content_v1", "embed_content_v1beta", "openai_no_encoding")]
    + [f"js.{name}" for name in JS_STEPS]
)


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    upstream_bodies: list[Any]  # what the recording fake received
    replayed_dead: dict[str, Any]
    replayed_witness: dict[str, Any]
    witness_requests: list[Any]
    replay: LocalaikProcess  # still running (replay mode, the witness upstream)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    cassette = tmp_path_factory.mktemp("embeddings") / "c.db"
    recorder = FakeLlama.start()
    try:
        with LocalaikProcess(
            {"LK_MODE": "record", "LK_UPSTREAM": recorder.url + "/v1", "LK_CASSETTE": str(cassette)}
        ) as server:
            recorded = run_scenario(server.url)
        bodies = [r["body"] for r in recorder.requests() if r["path"] == "/v1/embeddings"]
    finally:
        recorder.stop()
    replay_env = {"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess({**replay_env, "LK_UPSTREAM": DEAD_UPSTREAM}) as dead:
        replayed_dead = run_scenario(dead.url)
    witness = FakeLlama.start()
    try:
        with LocalaikProcess({**replay_env, "LK_UPSTREAM": witness.url + "/v1"}) as replay:
            replayed_witness = run_scenario(replay.url)
            yield Runs(
                cassette,
                recorded,
                bodies,
                replayed_dead,
                replayed_witness,
                witness.requests(),
                replay,
            )
    finally:
        witness.stop()


# ---------------------------------------------------------------------------------------------
# Record, then replay: identical


def test_every_step_ran(runs: Runs) -> None:
    assert sorted(runs.recorded) == STEPS


@pytest.mark.parametrize("step", STEPS)
def test_replay_gives_the_recorded_result(runs: Runs, step: str) -> None:
    recorded = runs.recorded[step]
    assert not is_failure(recorded), f"{step} failed while recording: {recorded}"
    assert runs.replayed_dead[step] == recorded, f"{step}: replay (no upstream) differs"
    assert runs.replayed_witness[step] == recorded, f"{step}: replay (witness) differs"


def test_replay_never_reached_an_upstream(runs: Runs) -> None:
    assert runs.witness_requests == []


def test_each_recording_was_one_upstream_call(runs: Runs) -> None:
    recordings = all_recordings(runs.cassette)
    assert len(runs.upstream_bodies) == len(recordings)
    assert all(body["encoding_format"] == "float" for body in runs.upstream_bodies)
    # one recording per request whatever the encoding (default/float_list, float/raw without
    # encoding) or the Gemini API version
    assert sorted((r.family, r.operation) for r in recordings) == sorted(
        [("openai", "embeddings")] * 6
        + [("gemini", "batchEmbedContents")] * 5
        + [("gemini", "embedContent")]
    )


def test_the_cassette_verifies(runs: Runs) -> None:
    report = verify(runs.cassette)
    assert report.problems == [] and report.recordings == 12


# ---------------------------------------------------------------------------------------------
# What the SDKs got


def vectors(result: dict[str, Any], key: str = "data") -> list[list[float]]:
    if key == "data":
        return [item["embedding"] for item in result["data"]]
    return [item["values"] for item in result["embeddings"]]


def test_openai_default_is_base64_decoded_by_the_sdk_to_float32_of_the_floats(runs: Runs) -> None:
    default = runs.recorded["openai.default"]
    floats = runs.recorded["openai.float_list"]
    assert vectors(floats) == [embed_text("hello"), embed_text("world")]
    assert vectors(default) == [float32(v) for v in vectors(floats)]
    assert default["model"] == OPENAI_MODEL and default["object"] == "list"
    assert runs.recorded["raw.openai_no_encoding"]["status"] == 200


def test_openai_float_without_encoding_is_the_same_answer(runs: Runs) -> None:
    raw = httpx.Response(200, text=runs.recorded["raw.openai_no_encoding"]["body"]).json()
    assert vectors(raw) == vectors(runs.recorded["openai.float"]) == [embed_text("one string")]


def test_openai_dimensions_and_tokens(runs: Runs) -> None:
    [short] = vectors(runs.recorded["openai.dimensions"])
    assert len(short) == 4
    assert abs(sum(x * x for x in short) - 1.0) < 1e-6  # shortened, then unit length
    assert len(vectors(runs.recorded["openai.tokens"])) == 2


def test_genai_single_and_batch_on_both_versions(runs: Runs) -> None:
    for version in VERSIONS:
        assert vectors(runs.recorded[f"genai.{version}.single"], "embeddings") == [
            embed_text("hello")
        ]
        assert vectors(runs.recorded[f"genai.{version}.batch"], "embeddings") == [
            embed_text("t\n\nhello")[:4],
            embed_text("t\n\nworld")[:4],
        ]
        assert vectors(runs.recorded[f"genai.{version}.multimodal"], "embeddings") == [
            embed_text("one\ncontent")
        ]
        assert vectors(runs.recorded[f"genai.{version}.aio"], "embeddings") == [
            embed_text("async"),
            embed_text("batch"),
        ]
    raw = runs.recorded["raw.embed_content_v1beta"]
    assert raw == runs.recorded["raw.embed_content_v1"]
    assert httpx.Response(200, text=raw["body"]).json() == {
        "embedding": {"values": embed_text("raw single")}
    }


def test_js_sdks_share_the_python_recordings(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["js.gemini_batch"] == vectors(recorded["genai.v1beta.batch"], "embeddings")
    assert recorded["js.openai_default"] == vectors(recorded["openai.default"])
    assert recorded["js.gemini_single"] == [embed_text("js single")]
    assert recorded["js.openai_float"] == [embed_text("js float")]


# ---------------------------------------------------------------------------------------------
# Misses


def test_openai_miss_is_not_found(runs: Runs) -> None:
    with (
        OpenAI(api_key="test", base_url=runs.replay.url + "/v1") as client,
        pytest.raises(openai.NotFoundError) as caught,
    ):
        client.embeddings.create(model=OPENAI_MODEL, input=["hello", "there"])
    assert caught.value.code == "replay_miss"
    assert "input[1]" in caught.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_genai_miss_is_a_client_error(runs: Runs, version: str) -> None:
    client = gemini_client(runs.replay.url, version)
    try:
        with pytest.raises(errors.ClientError) as caught:
            client.models.embed_content(
                model=GEMINI_MODEL,
                contents="hello",
                config=types.EmbedContentConfig(task_type="CLUSTERING"),
            )
    finally:
        client.close()
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert "taskType" in (caught.value.message or "")


def test_a_bad_request_is_a_400_for_the_sdks(runs: Runs) -> None:
    with (
        OpenAI(api_key="test", base_url=runs.replay.url + "/v1") as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.embeddings.create(model=OPENAI_MODEL, input="x", dimensions=0)
    assert caught.value.param == "dimensions"  # type: ignore[attr-defined]
    client = gemini_client(runs.replay.url, "v1")
    try:
        with pytest.raises(errors.ClientError) as gemini_caught:
            client.models.embed_content(
                model=GEMINI_MODEL, contents="x", config=types.EmbedContentConfig(title="t")
            )
    finally:
        client.close()
    assert gemini_caught.value.code == 400
    assert "title is only used with taskType RETRIEVAL_DOCUMENT" in (
        gemini_caught.value.message or ""
    )


def test_base64_answers_decode_as_float32_little_endian(runs: Runs) -> None:
    """The bytes on the wire, not only what the SDK made of them."""
    response = httpx.post(
        runs.replay.url + "/v1/embeddings",
        json={"model": OPENAI_MODEL, "input": ["hello", "world"], "encoding_format": "base64"},
        timeout=20,
    )
    packed = response.json()["data"][0]["embedding"]
    raw = base64.b64decode(packed)
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == float32(embed_text("hello"))
