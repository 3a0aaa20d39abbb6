"""LK_* variables in the shell never break the tests (`make test` with LK_CACHE_DIR set used
to fail 41 tests): the servers the tests start drop every LK_* setting of the shell but the
ones that say where the machine keeps things, so they find the runtime `make test` installed.

Here the runtime is only where LK_CACHE_DIR says (HOME points at an empty folder, so the
default `~/.cache/localaik` holds nothing), and the shell also sets LK_* variables that would
change how a server behaves.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from localaik.runtime.cache import cache_dir
from tests.live.conftest import start_live_server


def test_a_server_the_tests_start_finds_the_runtime_in_lk_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundled_runtime_installed: str
) -> None:
    real = cache_dir()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for part in ("runtime", "models"):
        (moved / part).symlink_to(real / part, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LK_CACHE_DIR", str(moved))
    # Settings of the shell that must not reach the tests' servers.
    monkeypatch.setenv("LK_MODE", "replay")
    monkeypatch.setenv("LK_CASSETTE", str(tmp_path / "nowhere" / "shell.db"))
    monkeypatch.setenv("LK_PORT", "1")

    server = start_live_server({})
    try:
        answer = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]},
            timeout=120,
        )
    finally:
        server.process.stop()
    assert answer.status_code == 200, answer.text  # passthrough, as the tests' default
    assert str(moved) in server.log() or server.llama_model.startswith(str(moved)), server.log()
