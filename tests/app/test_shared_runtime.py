"""The llama-server a pytest-xdist controller shares with its workers
(`localaik.testing.runtime_host`), without pytest-xdist: the controller's `RuntimeHost` in this
process, and apps built as a worker builds its own, with the fake llama-server executable
(`tests/fakes/fake_llama_server_bin.py`). The sessions themselves are in
tests/plugin/test_plugin_xdist.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.runtime.cache import InstallError
from localaik.server.app import create_app
from localaik.testing.runtime_host import Offer, RuntimeHost
from tests.app.conftest import Overlapping, lifespan
from tests.support import assert_error

AUTH = {"authorization": "Bearer test"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
EMBED = {"model": "text-embedding-3-small", "input": ["hello", "world"]}


def starts(argv_file: Path) -> list[list[str]]:
    if not argv_file.exists():
        return []
    return [json.loads(line) for line in argv_file.read_text().splitlines()]


def settings_for(tmp_path: Path, binary: Path, **more: Any) -> Settings:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF fake")
    return Settings(
        log=False,
        mode="record",
        cassette=tmp_path / "c.db",
        llama_server=binary,
        model=str(model),
        cache_dir=tmp_path / "cache",
        **more,
    )


@pytest.fixture()
def host(fake_bin: Path, tmp_path: Path, argv_file: Path) -> Iterator[RuntimeHost]:
    running = RuntimeHost(settings_for(tmp_path, fake_bin))
    yield running
    running.close()


@asynccontextmanager
async def worker_app(
    host: RuntimeHost, *, overlap: bool = False
) -> AsyncIterator[AsyncTestClient[Any] | Overlapping]:
    """An app as a worker's server is built: the controller's runtimes, started lazily."""
    offer = Offer.from_wire(json.loads(json.dumps(host.offer.to_wire())))  # as xdist sends it
    runtime, embed_runtime = offer.runtimes()
    app = create_app(host.settings, runtime=runtime, embed_runtime=embed_runtime, lazy_runtime=True)
    if overlap:
        async with lifespan(app), Overlapping(app) as overlapping:
            yield overlapping
        return
    async with AsyncTestClient(app=app, timeout=30) as client:
        yield client


async def test_two_workers_share_one_llama_server_started_by_the_first_request(
    host: RuntimeHost, argv_file: Path
) -> None:
    async with worker_app(host, overlap=True) as first, worker_app(host, overlap=True) as second:
        health = (await first.get("/health")).json()
        assert health["status"] == "ok" and health["upstream"]["runtime"] == "stopped"
        assert starts(argv_file) == []  # two servers up, no model yet

        answers = await asyncio.gather(
            first.post("/v1/chat/completions", json=CHAT, headers=AUTH),
            second.post("/v1/chat/completions", json=CHAT, headers=AUTH),
            second.post("/v1/chat/completions", json={**CHAT, "seed": 2}, headers=AUTH),
        )
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        [argv] = starts(argv_file)  # one llama-server for both, on the port offered
        assert host.offer.urls["chat"] == f"http://127.0.0.1:{argv[argv.index('--port') + 1]}/v1"
        assert (await second.get("/health")).json()["upstream"]["runtime"] == "ready"
    assert host.runtimes is not None
    chat = host.runtimes["chat"]
    assert chat.state == "ready", "a worker's server stopping stopped the shared llama-server"
    pid = chat.pid
    assert pid is not None
    host.close()
    assert chat.state == "stopped" and chat.pid is None


async def test_the_embeddings_server_is_shared_too(host: RuntimeHost, argv_file: Path) -> None:
    async with worker_app(host, overlap=True) as first, worker_app(host, overlap=True) as second:
        answers = await asyncio.gather(
            first.post("/v1/embeddings", json=EMBED, headers=AUTH),
            second.post("/v1/embeddings", json=EMBED, headers=AUTH),
        )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        [argv] = starts(argv_file)  # the embeddings server only: no chat was asked for
        assert "--embeddings" in argv
        assert host.offer.urls["embeddings"].endswith(f":{argv[argv.index('--port') + 1]}/v1")


async def test_no_llama_server_is_an_install_error_at_the_start(
    tmp_path: Path, argv_file: Path
) -> None:
    host = RuntimeHost(settings_for(tmp_path, tmp_path / "no-such-llama-server"))
    try:
        with pytest.raises(InstallError, match="no-such-llama-server"):
            host.offer.runtimes()
    finally:
        host.close()
    assert starts(argv_file) == []


async def test_a_llama_server_that_cannot_start_is_a_503_with_its_output_logged(
    host: RuntimeHost,
    argv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_FAIL", "error: failed to load model 'model.gguf'")
    caplog.set_level(logging.ERROR, logger="localaik")
    async with worker_app(host) as client:
        failed = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert "llama-server" in assert_error(failed, 503, "openai")["message"]
        again = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert again.status_code == 503
    assert len(starts(argv_file)) == 1  # tried once for the session, not once per request
    assert "failed to load model 'model.gguf'" in caplog.text  # in the worker's log
