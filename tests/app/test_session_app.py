"""`/_localaik/session` through the app: a POST switches the default cassette, the mode, the
ignored paths and the faults of the requests that follow; a GET reports what was replayed,
recorded and missed since (keys, miss texts); what cannot be honoured is a JSON 400 naming it,
with nothing switched; clients off loopback get 403 unless `LK_CONTROL_REMOTE` allows them.

The test client's address is `testclient` (not loopback): tests that use the endpoint allow
remote clients; the loopback case is the SDK test's (`tests/sdk/test_session_sdk.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import all_recordings

SESSION = "/_localaik/session"
CHAT = "/v1/chat/completions"


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    message: str = body["error"]["message"]
    return message


async def test_a_selected_cassette_records_then_replays_and_the_report_names_the_keys(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    default = tmp_path / "default.db"
    async with make_localaik(mode="record", cassette=default, control_remote=True) as client:
        selected = await client.post(SESSION, json={"cassette": "test_one"})
        assert selected.status_code == 200, selected.text
        assert selected.json()["path"] == str(tmp_path / "test_one.db")
        assert selected.json()["recorded"] == selected.json()["missed"] == []
        assert (await client.post(CHAT, json=chat_body("hello"))).status_code == 200
        recorded = (await client.get(SESSION)).json()

        await client.post(SESSION, json={"cassette": "test_one", "mode": "replay"})
        assert (await client.post(CHAT, json=chat_body("hello"))).status_code == 200
        replayed = (await client.get(SESSION)).json()

    assert recorded["cassette"] == "test_one" and recorded["mode"] == "record"
    [made] = recorded["recorded"]
    assert made["path"] == CHAT and made["cassette"] == "test_one.db" and made["ordinal"] == 0
    assert recorded["replayed"] == []
    # The second selection reports only what followed it: the replay of that recording.
    assert replayed["mode"] == "replay" and replayed["recorded"] == []
    assert [hit["key"] for hit in replayed["replayed"]] == [made["key"]]
    assert len(fake.requests) == 1
    assert len(all_recordings(tmp_path / "test_one.db")) == 1
    assert not default.exists()  # the server's own cassette was not used


async def test_a_miss_is_reported_with_its_key_and_text(make_localaik: Any, tmp_path: Path) -> None:
    async with make_localaik(mode="record", cassette=tmp_path / "d.db", control_remote=True) as c:
        await c.post(SESSION, json={"cassette": "t", "mode": "record"})
        await c.post(CHAT, json=chat_body("recorded prompt"))
        await c.post(SESSION, json={"cassette": "t", "mode": "replay"})
        missed = await c.post(CHAT, json=chat_body("changed prompt"))
        report = (await c.get(SESSION)).json()

    assert missed.status_code == 404
    [miss] = report["missed"]
    assert miss["cassette"] == "t.db" and len(miss["key"]) == 32
    assert "replay miss" in miss["miss"] and miss["key"] in miss["miss"]
    assert "changed prompt" in miss["miss"]  # what differs from the nearest recording
    assert report["replayed"] == report["recorded"] == [] and report["requests"] == 1


async def test_an_empty_selection_goes_back_to_the_servers_cassette_and_mode(
    make_localaik: Any, tmp_path: Path
) -> None:
    default = tmp_path / "d.db"
    async with make_localaik(mode="record", cassette=default, control_remote=True) as client:
        await client.post(SESSION, json={"cassette": "other", "mode": "replay"})
        back = await client.post(SESSION, json={})
        assert (await client.post(CHAT, json=chat_body("x"))).status_code == 200
        health = (await client.get("/health")).json()

    assert back.json()["cassette"] is None and back.json()["path"] == str(default)
    assert back.json()["mode"] == health["mode"] == "record"
    assert len(all_recordings(default)) == 1


async def test_ignored_paths_and_faults_hold_for_the_requests_that_follow(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    async with make_localaik(mode="record", cassette=tmp_path / "d.db", control_remote=True) as c:
        await c.post(SESSION, json={"cassette": "t", "ignore": ["temperature"]})
        await c.post(CHAT, json={**chat_body("same"), "temperature": 0.1})
        again = await c.post(CHAT, json={**chat_body("same"), "temperature": 0.9})
        faulted = await c.post(SESSION, json={"cassette": "t", "fault": "status=503"})
        failing = await c.post(CHAT, json=chat_body("same"))
        report = (await c.get(SESSION)).json()

    assert again.status_code == 200 and len(fake.requests) == 1  # replayed: temperature ignored
    assert faulted.json()["fault"] == ["status=503"] and faulted.json()["ignore"] == []
    assert failing.status_code == 503
    assert report["requests"] == 1 and report["replayed"] == []


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"cassette": "../escape"}, "cassette: '../escape' is not a valid cassette name"),
        ({"cassette": 3}, "cassette: expected a string"),
        ({"mode": "sometimes"}, "mode: 'sometimes' is not a mode"),
        ({"ignore": ["messages[[0]"]}, "ignore:"),
        ({"ignore": "a", "fault": "status=99"}, "status"),
        ({"fault": ["nonsense=1"]}, "nonsense"),
        ({"casette": "x"}, "unknown field 'casette'"),
        (["cassette"], "must be a JSON object"),
    ],
)
async def test_a_selection_that_cannot_be_read_is_a_400_naming_it_and_switches_nothing(
    make_localaik: Any, tmp_path: Path, body: Any, names: str
) -> None:
    async with make_localaik(mode="record", cassette=tmp_path / "d.db", control_remote=True) as c:
        before = (await c.post(SESSION, json={"cassette": "kept", "mode": "replay"})).json()
        refused = await c.post(SESSION, json=body)
        after = (await c.get(SESSION)).json()

    assert names in error_of(refused, 400)
    assert after["cassette"] == "kept" and after["mode"] == before["mode"] == "replay"


async def test_a_body_that_is_not_json_is_a_400(make_localaik: Any, tmp_path: Path) -> None:
    async with make_localaik(cassette=tmp_path / "d.db", control_remote=True) as client:
        refused = await client.post(SESSION, content=b"{cassette")
    assert "invalid JSON" in error_of(refused, 400)


@pytest.mark.parametrize("mode", ["record", "refresh", "passthrough", "new_episodes"])
async def test_a_mode_that_needs_a_model_is_a_400_on_a_server_without_one(
    make_localaik: Any, tmp_path: Path, mode: str
) -> None:
    async with make_localaik(
        mode="replay", upstream=None, cassette=tmp_path / "d.db", control_remote=True
    ) as client:
        refused = await client.post(SESSION, json={"cassette": "t", "mode": mode})
        once = await client.post(SESSION, json={"mode": "once"})  # replays what exists

    message = error_of(refused, 400)
    assert "needs a model" in message and "LK_UPSTREAM" in message
    assert once.status_code == 200 and once.json()["mode"] == "once"


async def test_clients_off_loopback_are_refused_unless_allowed(
    make_localaik: Any, tmp_path: Path
) -> None:
    async with make_localaik(cassette=tmp_path / "d.db") as client:
        read = await client.get(SESSION)
        switched = await client.post(SESSION, json={"cassette": "x"})
        health = (await client.get("/health")).json()

    assert "LK_CONTROL_REMOTE" in error_of(read, 403)
    assert "loopback" in error_of(switched, 403)
    assert health["cassette"] == str(tmp_path / "d.db")


async def test_other_methods_on_the_session_are_405(make_localaik: Any, tmp_path: Path) -> None:
    async with make_localaik(cassette=tmp_path / "d.db", control_remote=True) as client:
        response = await client.delete(SESSION)
    assert response.status_code == 405


async def test_a_report_can_keep_one_cassettes_requests_after_an_event(
    make_localaik: Any, tmp_path: Path
) -> None:
    """Parallel tests on one server name their cassettes by header and check their own."""
    async with make_localaik(mode="record", cassette=tmp_path / "d.db", control_remote=True) as c:
        start = (await c.get(SESSION)).json()["last"]
        await c.post(CHAT, json=chat_body("a"), headers={"X-Localaik-Cassette": "TestA"})
        await c.post(CHAT, json=chat_body("b"), headers={"X-Localaik-Cassette": "TestB"})
        mine = (await c.get(SESSION, params={"cassette": "TestA", "after": start})).json()
        middle = mine["last"]
        await c.post(CHAT, json=chat_body("a"), headers={"X-Localaik-Cassette": "TestA"})
        later = (await c.get(SESSION, params={"cassette": "TestA", "after": middle})).json()
        bad = await c.get(SESSION, params={"after": "x"})
        escape = await c.get(SESSION, params={"cassette": "../x"})

    assert [made["cassette"] for made in mine["recorded"]] == ["TestA.db"]
    assert mine["requests"] == 1 and mine["last"] == start + 2
    assert later["recorded"] == [] and [hit["cassette"] for hit in later["replayed"]] == [
        "TestA.db"
    ]
    assert "after:" in error_of(bad, 400)
    assert "cassette:" in error_of(escape, 400)
