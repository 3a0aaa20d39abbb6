"""The JavaScript SDKs `@google/genai`, `openai` and `@anthropic-ai/sdk` (npm), unmodified,
against `localaik serve`.

Each script in tests/js/ runs once per module (`node tests/js/<script>`), prints one JSON object
with what the SDK returned, and exits non-zero on any exception. The tests then check those
results, what the fake llama-server received, and localaik's access log (which path was hit).
The SDKs must be installed with `npm ci --prefix tests/js` (`make js-deps`); without them these
tests fail, they are never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

JS_DIR = Path(__file__).resolve().parent.parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
INSTALL_HINT = "the JavaScript SDKs are not installed: run `npm ci --prefix tests/js`"
SCRIPT_TIMEOUT = 60
CLIENT_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
FOREIGN_ENV_PREFIXES = ("GOOGLE_", "GEMINI_", "OPENAI_", "LOCALAIK_")

# variant -> (model in the request, prompt), as written in tests/js/gemini.mjs
GEMINI_VARIANTS = {
    "v1beta": ("gemini-2.5-flash", "Hello from JS v1beta"),
    "env": ("gemini-env-js", "Hello from JS env"),
    "v1": ("gemini-v1-js", "Hello from JS v1"),
}
GEMINI_API_VERSION = {"v1beta": "v1beta", "env": "v1beta", "v1": "v1"}
# variant -> (model, prompt), as written in tests/js/openai.mjs
OPENAI_VARIANTS = {
    "explicit": ("gpt-4o-mini", "Hello from JS openai"),
    "env": ("gpt-4.1-nano", "Hello from JS env"),
}


@dataclass
class ScriptRun:
    results: dict[str, Any]
    upstream_requests: list[dict[str, Any]]
    access_log: list[str]


def require_js_sdks() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then `npm ci --prefix tests/js`")
    for package in ("@google/genai", "openai", "@anthropic-ai/sdk"):
        if not (NODE_MODULES / package / "package.json").is_file():
            pytest.fail(f"{INSTALL_HINT} ({NODE_MODULES / package} is missing)")


def script_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    env.update(
        {
            "LOCALAIK_URL": url,
            "GOOGLE_GEMINI_BASE_URL": url,
            "OPENAI_BASE_URL": url + "/v1",
            "OPENAI_API_KEY": "test-env-key",
        }
    )
    return env


def access_lines(server: LocalaikProcess, start: int) -> list[str]:
    return [line for line in server.log()[start:].splitlines() if "localaik.access" in line]


def run_script(
    script: str, server: LocalaikProcess, fake: FakeLlama, expected_log_lines: int
) -> ScriptRun:
    require_js_sdks()
    fake.reset()
    log_start = len(server.log())
    try:
        done = subprocess.run(
            ["node", str(JS_DIR / script)],
            env=script_env(server.url),
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node {script} did not finish in {SCRIPT_TIMEOUT} s; stderr:\n{exc.stderr}")
    if done.returncode != 0:
        pytest.fail(
            f"node {script} exited {done.returncode}\nstdout:\n{done.stdout}\n"
            f"stderr:\n{done.stderr}"
        )
    try:
        results = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"node {script} did not print one JSON object:\n{done.stdout}")
    # The access-log line is written when a response ends, maybe just after the client saw it.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if len(access_lines(server, log_start)) >= expected_log_lines:
            break
        time.sleep(0.02)
    return ScriptRun(results, fake.requests(), access_lines(server, log_start))


@pytest.fixture(scope="module")
def gemini_run(localaik_server: LocalaikProcess, fake_llama_process: FakeLlama) -> ScriptRun:
    return run_script("gemini.mjs", localaik_server, fake_llama_process, 2 * len(GEMINI_VARIANTS))


@pytest.fixture(scope="module")
def openai_run(localaik_server: LocalaikProcess, fake_llama_process: FakeLlama) -> ScriptRun:
    return run_script("openai.mjs", localaik_server, fake_llama_process, 2 * len(OPENAI_VARIANTS))


def test_js_sdks_are_installed() -> None:
    require_js_sdks()


# --------------------------------------------------------------------------- @google/genai


def test_gemini_js_sdk_version(gemini_run: ScriptRun) -> None:
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["@google/genai"]
    assert gemini_run.results["sdkVersion"] == pinned


@pytest.mark.parametrize("variant", list(GEMINI_VARIANTS))
def test_gemini_js_generate_content(gemini_run: ScriptRun, variant: str) -> None:
    model, prompt = GEMINI_VARIANTS[variant]
    result = gemini_run.results[variant]

    assert result["text"] == f"Echo: {prompt}"
    assert result["finishReason"] == "STOP"
    assert result["candidateIndex"] == 0
    assert result["modelVersion"] == model
    assert result["responseId"] and not result["responseId"].startswith("chatcmpl-")
    assert result["totalTokens"] > 0


@pytest.mark.parametrize("variant", list(GEMINI_VARIANTS))
def test_gemini_js_generate_content_stream(gemini_run: ScriptRun, variant: str) -> None:
    model, prompt = GEMINI_VARIANTS[variant]
    stream = gemini_run.results[variant]["stream"]

    assert stream["chunks"] > 1
    assert stream["text"] == f"Echo: {prompt} (stream)"
    assert stream["finishReason"] == "STOP"
    assert stream["modelVersion"] == model
    assert stream["totalTokens"] > 0


@pytest.mark.parametrize("variant", list(GEMINI_VARIANTS))
def test_gemini_js_hits_its_api_version_path(gemini_run: ScriptRun, variant: str) -> None:
    model, _ = GEMINI_VARIANTS[variant]
    version = GEMINI_API_VERSION[variant]
    hits = [line.split()[1:5] for line in gemini_run.access_log if f"/models/{model}:" in line]

    assert hits == [
        ["gemini", "POST", f"/{version}/models/{model}:generateContent", "200"],
        ["gemini", "POST", f"/{version}/models/{model}:streamGenerateContent", "200"],
    ]


def test_gemini_js_upstream_received_translated_requests(gemini_run: ScriptRun) -> None:
    requests = gemini_run.upstream_requests
    expected_prompts = [p for _, p in GEMINI_VARIANTS.values() for p in (p, p + " (stream)")]

    assert [r["path"] for r in requests] == ["/v1/chat/completions"] * len(expected_prompts)
    assert [r["body"]["messages"] for r in requests] == [
        [{"role": "user", "content": prompt}] for prompt in expected_prompts
    ]
    assert [r["body"].get("stream", False) for r in requests] == [False, True] * 3
    for request in requests:
        assert request["body"]["model"] == "localaik"
        if request["body"].get("stream"):
            assert request["body"]["stream_options"] == {"include_usage": True}
        for header in CLIENT_KEY_HEADERS:
            assert header not in request["headers"]
        assert "key=" not in request["query"]


# --------------------------------------------------------------------------- openai


def test_openai_js_sdk_version(openai_run: ScriptRun) -> None:
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["openai"]
    assert openai_run.results["sdkVersion"] == pinned


@pytest.mark.parametrize("variant", list(OPENAI_VARIANTS))
def test_openai_js_chat_create(openai_run: ScriptRun, variant: str) -> None:
    model, prompt = OPENAI_VARIANTS[variant]
    result = openai_run.results[variant]

    assert result["text"] == f"Echo: {prompt}"
    assert result["role"] == "assistant"
    assert result["finishReason"] == "stop"
    assert result["model"] == model
    assert result["object"] == "chat.completion"
    assert result["totalTokens"] > 0


@pytest.mark.parametrize("variant", list(OPENAI_VARIANTS))
def test_openai_js_chat_stream(openai_run: ScriptRun, variant: str) -> None:
    model, prompt = OPENAI_VARIANTS[variant]
    stream = openai_run.results[variant]["stream"]

    assert stream["chunks"] > 1
    assert stream["text"] == f"Echo: {prompt} (stream)"
    assert stream["finishReason"] == "stop"
    assert stream["models"] == [model]


def test_openai_js_upstream_received_the_body_unchanged(openai_run: ScriptRun) -> None:
    requests = openai_run.upstream_requests
    expected = []
    for model, prompt in OPENAI_VARIANTS.values():
        expected.append({"model": model, "messages": [{"role": "user", "content": prompt}]})
        expected.append(
            {
                "model": model,
                "stream": True,
                "messages": [{"role": "user", "content": prompt + " (stream)"}],
            }
        )

    assert [r["path"] for r in requests] == ["/v1/chat/completions"] * len(expected)
    assert [r["body"] for r in requests] == expected
    for request in requests:
        for header in CLIENT_KEY_HEADERS:
            assert header not in request["headers"]


def test_openai_js_access_log(openai_run: ScriptRun) -> None:
    hits = [line.split()[1:5] for line in openai_run.access_log]

    assert hits == [["openai", "POST", "/v1/chat/completions", "200"]] * 4
