"""A tests/js script run against localaik twice: recording against the fake llama-server, then
replaying with no upstream (the JS tests of files, batches and caches compare the two).

`node_json` runs one script and returns the one JSON object it prints (the test fails with the
script's stderr otherwise); `recorded_then_replayed` runs it under a recording server and then
a replaying one on the same cassette.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.sdk.test_js_sdks import JS_DIR, SCRIPT_TIMEOUT, require_js_sdks, script_env
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"


def node_json(script: str, url: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`node tests/js/<script>` against localaik at `url`: the JSON object it prints."""
    done = subprocess.run(
        ["node", str(JS_DIR / script)],
        env={**script_env(url), **(env or {})},
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"node {script} exited {done.returncode}\nstderr:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]


def recorded_then_replayed(folder: Path, script: str, env: Mapping[str, str] | None = None) -> Runs:
    """`script` recorded into `folder/c.db` against the fake upstream, then replayed from it
    with a dead upstream."""
    require_js_sdks()
    cassette = folder / "c.db"
    with FakeLlama.start() as fake:
        record = {
            "LK_MODE": "record",
            "LK_UPSTREAM": f"{fake.url}/v1",
            "LK_CASSETTE": str(cassette),
        }
        with LocalaikProcess(record) as server:
            recorded = node_json(script, server.url, env)
    replay = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(replay) as server:
        replayed = node_json(script, server.url, env)
    return Runs(cassette, recorded, replayed)
