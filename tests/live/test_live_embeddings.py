"""Embeddings from the REAL bundled runtime: `localaik serve` starts its chat llama-server, and
at the first embeddings request a second one with `--embeddings --pooling mean` on the same
model (smollm2-135m, 576 values per vector). Driven by the official SDKs; recorded, then
replayed with no model at all.

What is asserted of the vectors: their size, unit length, that they are not all zero, that
related sentences are closer than unrelated ones, and that the same text gives the same vector
through either API (both reach the same llama-server).
"""

from __future__ import annotations

import math
import os
import signal
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import types

from tests.live.conftest import (
    LiveServer,
    alive,
    cmdline,
    llama_servers,
    start_live_server,
    stop_with_signal,
)
from tests.support import LocalaikProcess

DIMENSION = 576  # SmolLM2-135M's hidden size: mean pooling gives one such vector
OPENAI_MODEL = "text-embedding-3-small"
GEMINI_MODEL = "gemini-embedding-001"
CAT = "The cat sits on the mat."
KITTEN = "A kitten is sitting on a rug."
REVENUE = "Quarterly revenue grew by ten percent."
LONG = " ".join(f"Sentence number {i} of a long document about many things." for i in range(120))

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_", "OPENAI_")):
            monkeypatch.delenv(name)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def float32(values: list[float]) -> list[float]:
    return [struct.unpack("<f", struct.pack("<f", x))[0] for x in values]


class Calls:
    """The SDK calls of this module against one localaik."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.openai = openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)
        self.gemini = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=url))

    def close(self) -> None:
        self.openai.close()
        self.gemini.close()

    def run(self) -> dict[str, Any]:
        embed = self.openai.embeddings.create
        results = {
            "openai_float": embed(
                model=OPENAI_MODEL, input=[CAT, KITTEN, REVENUE], encoding_format="float"
            ),
            "openai_default": embed(model=OPENAI_MODEL, input=[CAT, KITTEN, REVENUE]),
            "openai_dimensions": embed(model=OPENAI_MODEL, input=CAT, dimensions=64),
            "openai_long": embed(model=OPENAI_MODEL, input=LONG, encoding_format="float"),
            "gemini_batch": self.gemini.models.embed_content(
                model=GEMINI_MODEL, contents=[CAT, REVENUE]
            ),
            "gemini_single": self.gemini.models.embed_content(
                model=GEMINI_MODEL,
                contents=KITTEN,
                config=types.EmbedContentConfig(output_dimensionality=128),
            ),
        }
        raw = httpx.post(
            f"{self.url}/v1beta/models/{GEMINI_MODEL}:embedContent",
            json={"content": {"parts": [{"text": CAT}]}},
            headers={"x-goog-api-key": "test"},
            timeout=120,
        )
        results["raw_embed_content"] = raw.json() if raw.status_code == 200 else raw.text
        return {
            name: value
            if isinstance(value, dict | str)
            else value.model_dump(mode="json", exclude={"sdk_http_response"})
            for name, value in results.items()
        }


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-embeddings") / "live.db"


@pytest.fixture(scope="module")
def server(bundled_runtime_installed: str, cassette: Path) -> Iterator[LiveServer]:
    live = start_live_server({"LK_MODE": "record", "LK_CASSETTE": str(cassette)})
    try:
        yield live
    finally:
        if live.process.process.poll() is None:
            stop_with_signal(live, signal.SIGTERM)


@pytest.fixture(scope="module")
def recorded(server: LiveServer) -> dict[str, Any]:
    assert "embeddings_runtime" in httpx.get(server.url + "/health").json()["upstream"]
    before = llama_servers(parent=server.pid)
    assert before == [server.llama_pid]  # lazy: no embeddings server before a request
    calls = Calls(server.url)
    try:
        return calls.run()
    finally:
        calls.close()


def openai_vectors(result: dict[str, Any]) -> list[list[float]]:
    return [item["embedding"] for item in result["data"]]


def gemini_vectors(result: dict[str, Any]) -> list[list[float]]:
    return [item["values"] for item in result["embeddings"]]


# ---------------------------------------------------------------------------------------------


def test_a_second_llama_server_serves_embeddings(
    recorded: dict[str, Any], server: LiveServer
) -> None:
    pids = llama_servers(parent=server.pid)
    assert len(pids) == 2 and server.llama_pid in pids
    [embed_pid] = [pid for pid in pids if pid != server.llama_pid]
    argv = cmdline(embed_pid)
    assert "--embeddings" in argv and argv[argv.index("--pooling") + 1] == "mean"
    assert argv[argv.index("-m") + 1] == server.llama_model  # the chat model's file
    assert "--embeddings" not in cmdline(server.llama_pid)  # the chat server is unchanged
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["upstream"]["embeddings_runtime"] == "ready"


def test_real_vectors_of_the_right_size(recorded: dict[str, Any]) -> None:
    vectors = openai_vectors(recorded["openai_float"])
    assert len(vectors) == 3
    for vector in vectors:
        assert len(vector) == DIMENSION
        assert any(abs(x) > 1e-4 for x in vector)
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-4)
    assert recorded["openai_float"]["usage"]["prompt_tokens"] > 10


def test_related_sentences_are_closer_than_unrelated_ones(recorded: dict[str, Any]) -> None:
    cat, kitten, revenue = openai_vectors(recorded["openai_float"])
    assert cosine(cat, kitten) > cosine(cat, revenue)
    assert cosine(cat, kitten) > cosine(kitten, revenue)


def test_the_default_base64_is_the_same_floats_as_float32(recorded: dict[str, Any]) -> None:
    floats = openai_vectors(recorded["openai_float"])
    assert openai_vectors(recorded["openai_default"]) == [float32(v) for v in floats]


def test_dimensions_shorten_to_unit_length(recorded: dict[str, Any]) -> None:
    [short] = openai_vectors(recorded["openai_dimensions"])
    full = openai_vectors(recorded["openai_float"])[0]
    assert len(short) == 64  # the SDK's default: base64, so float32 values
    assert math.isclose(math.sqrt(sum(x * x for x in short)), 1.0, rel_tol=1e-6)
    assert cosine(short, full[:64]) > 0.999999


def test_a_long_input_fits(recorded: dict[str, Any]) -> None:
    [vector] = openai_vectors(recorded["openai_long"])
    assert recorded["openai_long"]["usage"]["prompt_tokens"] > 1000  # past the default batch
    assert len(vector) == DIMENSION


def test_gemini_gets_the_same_vectors_for_the_same_text(recorded: dict[str, Any]) -> None:
    cat, kitten, revenue = openai_vectors(recorded["openai_float"])
    assert gemini_vectors(recorded["gemini_batch"]) == [cat, revenue]
    [short] = gemini_vectors(recorded["gemini_single"])
    assert short == kitten[:128]  # truncated, not rescaled, like Gemini's
    assert recorded["raw_embed_content"] == {"embedding": {"values": cat}}


def test_replay_gives_the_same_vectors_with_no_model(
    recorded: dict[str, Any], server: LiveServer, cassette: Path
) -> None:
    [embed_pid] = [pid for pid in llama_servers(parent=server.pid) if pid != server.llama_pid]
    shutdown = stop_with_signal(server, signal.SIGTERM)
    assert shutdown.localaik_seconds is not None and not shutdown.leftovers
    assert f"stopping llama-server (pid {embed_pid})" in shutdown.log
    leftover = [embed_pid] if alive(embed_pid) else []
    if leftover:
        os.kill(embed_pid, signal.SIGKILL)  # our own process, by pid
    with LocalaikProcess(
        {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_UPSTREAM": "http://127.0.0.1:9/v1"}
    ) as replay:
        calls = Calls(replay.url)
        try:
            replayed = calls.run()
        finally:
            calls.close()
        assert not llama_servers(parent=replay.process.pid)
    assert replayed == recorded
    assert leftover == [], "the embeddings llama-server outlived localaik"
