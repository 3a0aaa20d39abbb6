"""Faults on demand (D16) through the JavaScript SDKs `openai` and `@google/genai` (npm),
unmodified: tests/js/faults.mjs runs each fault once against `localaik serve` in passthrough
and prints what the SDK raised (its class, status, message) or returned; the SDKs must be
installed (`npm ci --prefix tests/js`), as for tests/sdk/test_js_sdks.py.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.sdk.test_js_sdks import JS_DIR, SCRIPT_TIMEOUT, require_js_sdks, script_env
from tests.support import LocalaikProcess


@pytest.fixture(scope="module")
def results(localaik_server: LocalaikProcess) -> dict[str, Any]:
    require_js_sdks()
    done = subprocess.run(
        ["node", str(JS_DIR / "faults.mjs")],
        env=script_env(localaik_server.url),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_openai_js_retries_a_429_honouring_retry_after(results: dict[str, Any]) -> None:
    assert results["openaiRetried"] == {"ok": "Echo: retried"}
    assert 1.9 <= results["openaiRetriedSeconds"] < 6  # two waits of `retry-after: 1`
    limited = results["openaiRateLimited"]
    assert (limited["error"], limited["status"]) == ("RateLimitError", 429)


def test_openai_js_stream_faults(results: dict[str, Any]) -> None:
    cut = results["openaiCut"]
    # undici's lost connection, raised as is mid-stream.
    assert (cut["error"], cut["message"]) == ("TypeError", "terminated")
    assert cut["text"] and "Echo: one two three four five six".startswith(cut["text"])
    event = results["openaiErrorEvent"]
    assert (event["error"], event["status"]) == ("APIError", None)
    assert "overloaded" in event["message"]


def test_openai_js_timeout_and_reset(results: dict[str, Any]) -> None:
    assert results["openaiTimeout"]["error"] == "APIConnectionTimeoutError"
    assert results["openaiTimeoutSeconds"] < 1.4
    assert results["openaiReset"]["error"] == "APIConnectionError"


def test_genai_js_status_faults_and_retry_options(results: dict[str, Any]) -> None:
    limited = results["geminiRateLimited"]
    assert (limited["error"], limited["status"]) == ("ApiError", 429)
    assert '"status":"RESOURCE_EXHAUSTED"' in limited["message"]
    assert results["geminiUnavailable"]["status"] == 503
    assert results["geminiRetried"] == {"ok": "Echo: retried"}
    bad = results["geminiBadFault"]
    assert bad["status"] == 400 and "is not a whole number" in bad["message"]


def test_genai_js_stream_faults_and_timeout(results: dict[str, Any]) -> None:
    cut = results["geminiCut"]
    assert (cut["error"], cut["message"]) == ("TypeError", "terminated")
    assert cut["text"]
    event = results["geminiErrorEvent"]
    assert (event["error"], event["status"]) == ("ApiError", 503)
    assert event["message"].startswith("got status: UNAVAILABLE.")
    assert results["geminiTimeout"]["error"] == "DOMException"  # the AbortSignal's abort
