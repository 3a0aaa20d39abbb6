"""A replay miss as each Python SDK shows it: `str(exc)` is readable text, with no literal `\\n`
where the SDK shows the whole body (google-genai, anthropic), the message's own lines where it
shows the message (openai); each SDK still raises its typed not-found error with the parsed body
(issue 15). The JavaScript SDKs: tests/sdk/test_js_sdks.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from tests.app.conftest import MakeLocalaik
from tests.app.sdk_clients import Clients as SdkClients

RECORDED = "Name three colours"
ASKED = "Name four colours"


class Clients(SdkClients):
    """The three SDKs, each asking its API one question."""

    async def ask(self, family: str, text: str) -> Any:
        if family == "openai":
            return await self.openai.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
            )
        if family == "anthropic":
            return await self.anthropic.messages.create(
                model="claude-haiku-4-5",
                max_tokens=16,
                messages=[{"role": "user", "content": text}],
            )
        return await self.gemini.models.generate_content(model="gemini-2.5-flash", contents=text)


FAMILIES = ("gemini", "openai", "anthropic")
ERRORS: dict[str, type[Exception]] = {
    "gemini": genai_errors.ClientError,
    "openai": openai.NotFoundError,
    "anthropic": anthropic.NotFoundError,
}


@pytest.fixture()
async def cassette(make_localaik: MakeLocalaik, tmp_path: Path) -> Path:
    """One recording of each family, all in one cassette."""
    path = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=path) as http:
        clients = Clients(http)
        for family in FAMILIES:
            await clients.ask(family, RECORDED)
        await clients.http2.aclose()
    return path


@pytest.mark.parametrize("family", FAMILIES)
async def test_the_sdk_error_reads_as_the_miss(
    make_localaik: MakeLocalaik, cassette: Path, family: str
) -> None:
    async with make_localaik(mode="replay", cassette=cassette) as http:
        clients = Clients(http)
        with pytest.raises(ERRORS[family]) as raised:
            await clients.ask(family, ASKED)
        await clients.http2.aclose()
    error: Any = raised.value
    text = str(error)
    assert (error.code if family == "gemini" else error.status_code) == 404
    assert "localaik replay miss: no recording matches this " in text
    assert "the nearest recording (" in text and "To record it: set LK_MODE=record" in text
    assert f'"{ASKED}" here, "{RECORDED}" recorded' in text
    assert "\\n" not in text  # no escaped line break: the text reads as it is
    # The nearest recordings are of this family and operation only.
    others = set(FAMILIES) - {family}
    assert not any(f"  {other} " in text or f"| {other} " in text for other in others), text
    if family == "openai":
        assert text.count("\n") >= 6  # the message's own lines
        assert error.body["code"] == "replay_miss"
    else:
        assert "\n" not in text
        body = error.details if family == "gemini" else error.body
        assert body["error"]["message"].startswith("localaik replay miss: ")
