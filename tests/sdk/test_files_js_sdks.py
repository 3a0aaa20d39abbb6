"""Files through the JavaScript SDKs (`@google/genai`, `openai`; tests/js/files.mjs): recorded
against the fake llama-server, then replayed with no upstream, with identical results and ids.
The SDKs must be installed with `npm ci --prefix tests/js`; without them these tests fail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.sdk.test_js_sdks import JS_DIR, SCRIPT_TIMEOUT, require_js_sdks, script_env
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
NOTES = "The secret word is pelican.\n"


def run(server: LocalaikProcess, which: str) -> dict[str, Any]:
    require_js_sdks()
    done = subprocess.run(
        ["node", str(JS_DIR / "files.mjs"), which],
        env=script_env(server.url),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def record_then_replay(fake: FakeLlama, cassette: Path, which: str) -> dict[str, Any]:
    env = {"LK_MODE": "record", "LK_UPSTREAM": fake.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        recorded = run(server, which)
    fake.reset()
    env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        replayed = run(server, which)
    assert replayed == recorded
    assert fake.requests() == []
    return recorded


def test_google_genai_js_files_record_then_replay(fake_llama: FakeLlama, tmp_path: Path) -> None:
    result = record_then_replay(fake_llama, tmp_path / "files.db", "gemini")
    first, again, other = result["files"]
    assert first["name"].startswith("files/") and first["name"] != again["name"]
    assert first["uri"] == "https://generativelanguage.googleapis.com/v1beta/" + first["name"]
    assert first["sizeBytes"] == str(len(NOTES)) and first["mimeType"] == "text/plain"
    assert first["displayName"] == "notes" and first["state"] == "ACTIVE"
    assert result["got"] == first
    assert result["listed"] == [first["name"], again["name"], other["name"]]
    assert result["answer"] == "Echo: What is the secret word?\n" + NOTES.strip()
    assert result["after"] == [first["name"], again["name"]]


@pytest.mark.parametrize("which", ["openai"])
def test_openai_js_files_record_then_replay(
    fake_llama: FakeLlama, tmp_path: Path, which: str
) -> None:
    result = record_then_replay(fake_llama, tmp_path / "files.db", which)
    first, again, other = result["files"]
    assert first["id"].startswith("file-") and first["id"] != again["id"]
    assert first["bytes"] == len(NOTES) and first["filename"] == "notes.txt"
    assert first["purpose"] == "user_data" and first["object"] == "file"
    assert result["got"] == first
    assert result["listed"] == [other["id"], again["id"], first["id"]]  # newest first
    assert result["content"] == NOTES
    assert (
        result["chat"] == result["response"] == "Echo: What is the secret word?\n" + NOTES.strip()
    )
    assert result["deleted"] == {"id": other["id"], "object": "file", "deleted": True}
    assert result["after"] == [again["id"], first["id"]]
