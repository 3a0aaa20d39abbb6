"""The cassette commands on cassettes the real SDKs recorded: what export gives, import restores.

google-genai and openai record through `localaik serve` (record mode, the fake llama-server
behind it). The cassette then goes through `localaik cassette export` and `import` into a new
file, and a replay server on that new file must answer both SDKs exactly as the live run did:
the text form loses nothing that replay needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types
from openai import OpenAI

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localaik", "cassette", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def conversation(url: str) -> list[Any]:
    """What a user's test sees from both SDKs: a Gemini stream and an OpenAI stream."""
    gemini = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )
    openai = OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)
    try:
        seen: list[Any] = [
            chunk.model_dump(mode="json", exclude={"sdk_http_response"})
            for chunk in gemini.models.generate_content_stream(
                model="gemini-2.5-flash",
                contents="Name three colours",
                config=types.GenerateContentConfig(max_output_tokens=32),
            )
        ]
        seen += [
            chunk.model_dump(mode="json")
            for chunk in openai.chat.completions.create(
                model="gpt-4o-mini",
                stream=True,
                messages=[{"role": "user", "content": "Say hello"}],
            )
        ]
        return seen
    finally:
        gemini.close()
        openai.close()


def test_export_import_keeps_everything_replay_needs(tmp_path: Path) -> None:
    recorded_cassette = tmp_path / "recorded.db"
    with (
        FakeLlama.start() as fake,
        LocalaikProcess(
            {
                "LK_UPSTREAM": fake.url + "/v1",
                "LK_MODE": "record",
                "LK_CASSETTE": str(recorded_cassette),
            }
        ) as server,
    ):
        live = conversation(server.url)

    listing = cli("ls", str(recorded_cassette), "--json")
    assert listing.returncode == 0, listing.stderr
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert sorted((r["family"], r["stream"]) for r in rows) == [("gemini", True), ("openai", True)]
    gemini_key = next(r["key"] for r in rows if r["family"] == "gemini")
    shown = cli("show", gemini_key[:10], "-c", str(recorded_cassette))
    assert "Name three colours" in shown.stdout and "[DONE]" in shown.stdout

    exported = tmp_path / "export"
    assert cli("export", str(recorded_cassette), "--to", str(exported)).returncode == 0
    imported_cassette = tmp_path / "imported.db"
    result = cli("import", str(exported), "--into", str(imported_cassette))
    assert result.returncode == 0, result.stderr
    assert cli("diff", str(recorded_cassette), str(imported_cassette), "--timing").returncode == 0

    with LocalaikProcess(
        {"LK_UPSTREAM": DEAD_UPSTREAM, "LK_MODE": "replay", "LK_CASSETTE": str(imported_cassette)}
    ) as server:
        replayed = conversation(server.url)
    assert replayed == live
