"""Cassette names that are SQLite's own files (`main.db-wal`, `-shm`, `-journal`) are refused.

SQLite keeps those files beside `main.db`: a cassette of that name was taken over as the main
cassette's log or journal, so every recording in it was lost and a `-journal` left the main
cassette unreadable. Each way of naming a cassette now refuses them before any file is
touched: the `X-Localaik-Cassette` header (400 in the caller's shape), the store, the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from click.testing import CliRunner

from localaik.cassette.store import store_for
from localaik.cli import cli
from localaik.errors import CassetteError
from tests.support import all_recordings, assert_error

CHAT = "/v1/chat/completions"
GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
MESSAGES = "/v1/messages"
SIDECARS = ["main.db-wal", "main.db-shm", "main.db-journal", "main.DB-WAL", "main.db-mj0a1b2c3d"]


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def sdks(client: Any, name: str) -> tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic]:
    """The real OpenAI and Anthropic SDKs over the in-process app (already started by
    `client`), naming cassette `name`. The Anthropic SDK speaks httpx2."""
    headers = {"X-Localaik-Cassette": name}
    base = str(client.base_url)
    to_app = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=client.app), base_url=base)
    return (
        openai.AsyncOpenAI(
            api_key="test",
            base_url=base + "/v1",
            http_client=client,
            max_retries=0,
            default_headers=headers,
        ),
        anthropic.AsyncAnthropic(
            api_key="test",
            base_url=base,
            http_client=to_app,
            max_retries=0,
            default_headers=headers,
        ),
    )


async def test_sqlite_side_file_names_are_a_400_and_the_main_cassette_keeps_everything(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    main = tmp_path / "main.db"
    async with make_localaik(mode="record", cassette=main) as client:
        for text in ("one", "two", "three"):
            assert (await client.post(CHAT, json=chat_body(text))).status_code == 200
        forwarded = len(fake.requests)
        for name in SIDECARS:
            chat, claude = sdks(client, name)
            with pytest.raises(openai.BadRequestError) as refused:
                await chat.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "lost?"}]
                )
            assert refused.value.status_code == 400
            assert f"X-Localaik-Cassette: {name!r}" in refused.value.message
            assert "SQLite keeps the" in refused.value.message
            with pytest.raises(anthropic.BadRequestError) as refused_too:
                await claude.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=5,
                    messages=[{"role": "user", "content": "lost?"}],
                )
            assert "SQLite keeps the" in refused_too.value.message
            raw = await client.post(
                GENERATE,
                json={"contents": [{"role": "user", "parts": [{"text": "lost?"}]}]},
                headers={"X-Localaik-Cassette": name},
            )
            error = assert_error(raw, 400, "gemini")
            assert error["status"] == "INVALID_ARGUMENT" and name in error["message"]
        assert len(fake.requests) == forwarded  # nothing was forwarded, so nothing recorded
        # The main cassette is still whole and served while the server runs.
        again = await client.post(CHAT, json=chat_body("two"))
        assert again.status_code == 200 and len(fake.requests) == forwarded
    assert sorted(p.name for p in tmp_path.iterdir()) == [".localaik", "main.db"]
    assert len(all_recordings(main)) == 3


async def test_a_name_that_only_looks_like_one_is_a_cassette_of_its_own(
    make_localaik: Any, tmp_path: Path
) -> None:
    """Without a dot the name gets `.db`: `notes-wal` is `notes-wal.db`, no side file."""
    async with make_localaik(mode="record", cassette=tmp_path / "main.db") as client:
        answer = await client.post(
            CHAT, json=chat_body("mine"), headers={"X-Localaik-Cassette": "notes-wal"}
        )
        assert answer.status_code == 200, answer.text
    assert len(all_recordings(tmp_path / "notes-wal.db")) == 1


@pytest.mark.parametrize(
    "name",
    [*SIDECARS, ".localaik/c.db", ".localaik", ".LOCALAIK/c.db"],
)
@pytest.mark.parametrize("readonly", [True, False], ids=["readonly", "readwrite"])
def test_the_store_refuses_them_before_touching_anything(
    tmp_path: Path, name: str, readonly: bool
) -> None:
    path = tmp_path / name
    store = store_for(path, readonly=readonly)
    with pytest.raises(CassetteError, match="cannot be a cassette") as refused:
        store.open(create=True)
    assert str(path) in refused.value.message
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("LK_CASSETTE", "LK_MODE", "CI"):
        monkeypatch.delenv(variable, raising=False)
    # A process with a deadline: a `serve` that accepted the name would serve until killed.
    served = subprocess.run(
        [
            sys.executable,
            "-m",
            "localaik",
            "serve",
            "--port",
            "0",
            "--cassette",
            "c/main.db-journal",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("LK_") and k != "CI"},
    )
    assert served.returncode == 2
    assert "'c/main.db-journal' cannot be a cassette: SQLite keeps the rollback journal" in (
        served.stderr
    )
    runner = CliRunner()
    (tmp_path / "a.db").touch()
    merged = runner.invoke(cli, ["cassette", "merge", "a.db", "a.db", "--into", "main.db-wal"])
    assert merged.exit_code == 1 and "cannot be a cassette" in merged.output, merged.output
    listed = runner.invoke(cli, ["cassette", "ls", "main.db-shm"])
    assert listed.exit_code == 2 and "cannot be a cassette" in listed.output, listed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]
