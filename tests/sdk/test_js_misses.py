"""A replay miss as the JavaScript SDKs show it (`tests/js/miss.mjs`): `String(err)` and
`err.message` read as the miss, with no escaped line break where the SDK shows the whole body
(`@google/genai`, `@anthropic-ai/sdk`: `JSON.stringify`), and with the message's own lines where
it shows the message (`openai`); each still throws its typed not-found error (issue 15).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.sdk.test_js_sdks import JS_DIR, SCRIPT_TIMEOUT, require_js_sdks, script_env
from tests.support import LocalaikProcess

RECORDED = "Name three colours"
ASKED = "Name four colours"


def ask_all(server: LocalaikProcess, prompt: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(JS_DIR / "miss.mjs")],
        env={**script_env(server.url), "PROMPT": prompt},
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout)
    return results


@pytest.fixture(scope="module")
def misses(fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_js_sdks()
    cassette = tmp_path_factory.mktemp("js-misses") / "c.db"
    env = {"LK_UPSTREAM": fake_llama_process.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess({**env, "LK_MODE": "record"}) as server:
        recorded = ask_all(server, RECORDED)
    assert all(result["answered"] for result in recorded.values()), recorded
    with LocalaikProcess({**env, "LK_MODE": "replay"}) as server:
        return ask_all(server, ASKED)


@pytest.mark.parametrize("family", ["gemini", "openai", "anthropic"])
def test_the_js_sdk_error_reads_as_the_miss(misses: dict[str, Any], family: str) -> None:
    miss = misses[family]
    assert not miss["answered"]
    assert miss["status"] == 404
    assert miss["name"] == {"gemini": "ApiError"}.get(family, "NotFoundError")
    difference = f'"{ASKED}" here, "{RECORDED}" recorded'
    if family != "openai":  # JSON.stringify escapes the quotes; a line break is not there
        difference = difference.replace('"', '\\"')
    for text in (miss["string"], miss["message"]):
        assert "localaik replay miss: no recording matches this " in text
        assert difference in text
        assert "To record it: set LK_MODE=record" in text
        assert "\\n" not in text  # no escaped line break
        assert ("\n" in text) is (family == "openai")  # openai shows the message's own lines
