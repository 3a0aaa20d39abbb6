"""The bundled runtime's embeddings llama-server, run as the fake executable
(`tests/fakes/fake_llama_server_bin.py`): started at the first embeddings request (lazy, the
default) or with localaik (`on`), never with `off`; embeddings go to it and chat does not; it
stops with localaik, also when `localaik serve` is signalled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.config import RuntimeOptions, Settings
from localaik.runtime.args import embedding_server_args, llama_server_args
from localaik.runtime.llama import LlamaServer, free_port
from localaik.server.app import create_app
from tests.app.conftest import Overlapping, lifespan
from tests.support import LocalaikProcess, assert_error

AUTH = {"authorization": "Bearer test"}
GOOGLE = {"x-goog-api-key": "test"}
EMBED = {"model": "text-embedding-3-small", "input": ["hello", "world"]}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
BATCH = "/v1beta/models/gemini-embedding-001:batchEmbedContents"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def paths_seen(server: LlamaServer) -> list[str]:
    """The paths of the requests a running fake llama-server received."""
    log = httpx.get(f"http://127.0.0.1:{server.port}/__fake/requests", timeout=5).json()
    return [entry["path"] for entry in log]


def starts(argv_file: Path) -> list[list[str]]:
    if not argv_file.exists():
        return []
    return [json.loads(line) for line in argv_file.read_text().splitlines()]


Servers = tuple[LlamaServer, LlamaServer]
MakeApp = Callable[..., AbstractAsyncContextManager[tuple[AsyncTestClient[Any], Servers]]]


@pytest.fixture()
def make_app(fake_bin: Path) -> MakeApp:
    """`make_app(embeddings=..., embed_binary=...)`: localaik with a chat and an embeddings
    llama-server (both the fake executable), its own upstream client, in record-less mode."""

    @asynccontextmanager
    async def factory(
        embeddings: str = "lazy", embed_binary: Path | None = None, overlap: bool = False
    ) -> AsyncIterator[tuple[Any, Servers]]:
        settings = Settings(log=False, mode="passthrough", embeddings=embeddings)
        log = logging.getLogger("localaik.test.runtime")
        port, embed_port = free_port(), free_port()
        chat = LlamaServer(
            fake_bin,
            llama_server_args(
                RuntimeOptions(),
                model=Path("chat.gguf"),
                chat_template=None,
                mmproj=None,
                port=port,
            ),
            port,
            log=log,
            ready_timeout=15,
        )
        embed = LlamaServer(
            embed_binary or fake_bin,
            embedding_server_args(RuntimeOptions(), model=Path("chat.gguf"), port=embed_port),
            embed_port,
            log=log,
            ready_timeout=15,
        )
        app = create_app(
            settings, runtime=chat, embed_runtime=None if embeddings == "off" else embed
        )
        # The app's lifespan starts and stops both (on the app's own event loop).
        if overlap:  # requests gathered by the test overlap in the app (conftest.Overlapping)
            async with lifespan(app), Overlapping(app) as overlapping:
                overlapping.timeout = httpx.Timeout(30)
                yield overlapping, (chat, embed)
            return
        async with AsyncTestClient(app=app, timeout=30) as client:
            yield client, (chat, embed)

    return factory


async def test_lazy_starts_the_embeddings_server_at_the_first_embeddings_request(
    make_app: MakeApp, argv_file: Path
) -> None:
    async with make_app(overlap=True) as (client, (chat, embed)):
        chatted = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert chatted.status_code == 200, chatted.text
        health = (await client.get("/health")).json()
        assert embed.state == "stopped" and health["upstream"]["embeddings_runtime"] == "stopped"
        assert len(starts(argv_file)) == 1  # the chat server only

        first, second = await asyncio.gather(
            client.post("/v1/embeddings", json=EMBED, headers=AUTH),
            client.post(
                BATCH, json={"requests": [{"content": {"parts": [{"text": "a"}]}}]}, headers=GOOGLE
            ),
        )
        assert client.peak == 2, "the two requests did not overlap inside localaik"
        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text
        assert embed.state == "ready"
        assert (await client.get("/health")).json()["upstream"]["embeddings_runtime"] == "ready"
        [chat_argv, embed_argv] = starts(argv_file)  # two concurrent requests, one start
        assert "--embeddings" in embed_argv and "--embeddings" not in chat_argv
        assert embed_argv[embed_argv.index("--pooling") + 1] == "mean"

        again = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert again.status_code == 200
        assert paths_seen(embed) == ["/v1/embeddings", "/v1/embeddings"]
        assert paths_seen(chat) == ["/v1/chat/completions", "/v1/chat/completions"]
        pids = (chat.pid, embed.pid)
    assert all(pid is not None and wait_gone(pid) for pid in pids)
    assert (chat.state, embed.state) == ("stopped", "stopped")


async def test_on_starts_it_with_localaik(make_app: MakeApp, argv_file: Path) -> None:
    async with make_app(embeddings="on") as (client, (_, embed)):
        assert embed.state in ("starting", "loading", "ready")  # before any request
        response = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
        assert response.status_code == 200
        assert len(starts(argv_file)) == 2
        assert paths_seen(embed) == ["/v1/embeddings"]


async def test_off_answers_501_in_each_shape_and_starts_nothing(
    make_app: MakeApp, argv_file: Path
) -> None:
    async with make_app(embeddings="off") as (client, (chat, embed)):
        openai = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
        gemini = await client.post(
            BATCH, json={"requests": [{"content": {"parts": [{"text": "a"}]}}]}, headers=GOOGLE
        )
        assert "LK_EMBEDDINGS=off" in assert_error(openai, 501, "openai")["message"]
        assert assert_error(gemini, 501, "gemini")["status"] == "UNIMPLEMENTED"
        deadline = time.monotonic() + 15
        while chat.state != "ready":
            assert time.monotonic() < deadline, chat.state
            await asyncio.sleep(0.02)
        assert embed.state == "stopped" and len(starts(argv_file)) == 1
        assert paths_seen(chat) == []


async def test_an_embeddings_server_that_cannot_start_is_503_and_chat_goes_on(
    make_app: MakeApp, tmp_path: Path
) -> None:
    async with make_app(embed_binary=tmp_path / "no-such-llama-server") as (client, _):
        failed = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
        assert "cannot start" in assert_error(failed, 503, "openai")["message"]
        chatted = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert chatted.status_code == 200


def fake_servers_on(port: str) -> list[int]:
    """Live fake llama-server processes listening on `port` (found through /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if (
            any(arg.endswith("fake_llama_server_bin.py") for arg in argv)
            and any(a == "--port" and b == port for a, b in zip(argv, argv[1:], strict=False))
            and alive(int(entry.name))
        ):
            found.append(int(entry.name))
    return found


def test_serve_runs_the_embeddings_server_and_stops_it_on_sigterm(
    fake_bin: Path, argv_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "model.gguf").write_bytes(b"GGUF fake")
    env = {
        "LK_MODE": "record",
        "LK_CASSETTE": str(tmp_path / "c.db"),
        "LK_LLAMA_SERVER": str(fake_bin),
        "LK_MODEL": str(tmp_path / "model.gguf"),
        "LK_CACHE_DIR": str(tmp_path / "no-cache"),
        "LK_CTX_SIZE": "2048",
    }
    with LocalaikProcess(env) as server:
        deadline = time.monotonic() + 20
        while server.get("/health").status_code != 200:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        response = httpx.post(server.url + "/v1/embeddings", json=EMBED, headers=AUTH, timeout=30)
        assert response.status_code == 200, server.log()
        [chat_argv, embed_argv] = starts(argv_file)
        assert embed_argv[embed_argv.index("-m") + 1] == str(tmp_path / "model.gguf")
        for flag in ("-c", "-b", "-ub"):
            assert embed_argv[embed_argv.index(flag) + 1] == "2048"
        ports = [argv[argv.index("--port") + 1] for argv in (chat_argv, embed_argv)]
        pids = [pid for port in ports for pid in fake_servers_on(port)]
        assert len(pids) == 2, pids
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(15)
    assert all(wait_gone(pid) for pid in pids), "a llama-server outlived localaik"
    assert "starting the embeddings llama-server for the first embeddings request" in server.log()
    assert "Traceback" not in server.log()
