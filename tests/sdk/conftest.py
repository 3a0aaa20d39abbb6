"""Fixtures for driving the official google-genai SDK against a running localaik."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from google import genai
from google.genai import types

API_VERSIONS = ("v1", "v1beta")


@pytest.fixture()
def clean_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GOOGLE_* / GEMINI_* variable of the developer's shell may steer the SDK."""
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_")):
            monkeypatch.delenv(name)


@pytest.fixture()
def make_client(clean_google_env: None, localaik_url: str) -> Iterator[Callable[..., genai.Client]]:
    """Builds clients as users do (base_url + api_version); closes them after the test."""
    clients: list[genai.Client] = []

    def make(api_version: str, base_url: str = localaik_url) -> genai.Client:
        client = genai.Client(
            api_key="test",
            http_options=types.HttpOptions(base_url=base_url, api_version=api_version),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(params=API_VERSIONS)
def api_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def client(make_client: Callable[..., genai.Client], api_version: str) -> genai.Client:
    """A client on `api_version` (the core tests run once per version)."""
    return make_client(api_version)


@pytest.fixture()
async def aclient(client: genai.Client) -> AsyncIterator[genai.client.AsyncClient]:
    """The async side (`client.aio`) of the parametrized client."""
    aio = client.aio
    yield aio
    await aio.aclose()
