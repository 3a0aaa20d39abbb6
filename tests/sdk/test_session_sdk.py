"""`/_localaik/session` over HTTP on a running `localaik serve`, from loopback, with the openai
SDK: the cassette switched over HTTP is the one an SDK call records into, then a replay of the
same call hits it without the upstream, and the session's report names both."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

SESSION = "/_localaik/session"


def ask(url: str, prompt: str) -> str:
    client = openai.OpenAI(base_url=url + "/v1", api_key="test-key", max_retries=0)
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
    )
    return answer.choices[0].message.content or ""


def test_a_cassette_switched_over_http_is_recorded_into_then_replayed(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    env = {
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(tmp_path / "session.db"),
    }
    with LocalaikProcess(env) as server:
        selected = httpx.post(server.url + SESSION, json={"cassette": "test_switched"})
        assert selected.status_code == 200, selected.text
        recorded_text = ask(server.url, "Say hello over the session")
        recorded = httpx.get(server.url + SESSION).json()

        httpx.post(server.url + SESSION, json={"cassette": "test_switched", "mode": "replay"})
        asked_upstream = len(fake_llama.requests())
        replayed_text = ask(server.url, "Say hello over the session")
        replayed = httpx.get(server.url + SESSION).json()

    assert replayed_text == recorded_text
    assert len(fake_llama.requests()) == asked_upstream  # the replay did not reach the upstream
    [made] = recorded["recorded"]
    assert [hit["key"] for hit in replayed["replayed"]] == [made["key"]]
    assert replayed["missed"] == []
    assert len(all_recordings(tmp_path / "test_switched.db")) == 1
    assert not (tmp_path / "session.db").exists()
