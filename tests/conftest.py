"""Shared fixtures: the fake llama-server process and a running localaik in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess


@pytest.fixture(scope="session")
def fake_llama_process() -> Iterator[FakeLlama]:
    with FakeLlama.start() as fake:
        yield fake


@pytest.fixture()
def fake_llama(fake_llama_process: FakeLlama) -> FakeLlama:
    """The fake llama-server, its request log emptied for this test."""
    fake_llama_process.reset()
    return fake_llama_process


@pytest.fixture(scope="session")
def localaik_server(fake_llama_process: FakeLlama) -> Iterator[LocalaikProcess]:
    """`localaik serve` as a live proxy (passthrough: every request reaches the fake)."""
    with LocalaikProcess(
        {"LK_UPSTREAM": fake_llama_process.url + "/v1", "LK_MODE": "passthrough"}
    ) as server:
        yield server


@pytest.fixture()
def localaik_url(localaik_server: LocalaikProcess, fake_llama: FakeLlama) -> str:
    """Base URL of the running localaik (the fake's log is fresh for each test)."""
    return localaik_server.url
