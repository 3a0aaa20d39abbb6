"""The marker's `mode=` (or `record_mode=`) and `ignore=`, and mode `once`, per test, through
the real SDKs in inner pytest sessions (the fake llama-server upstream, as in
`test_pytest_plugin.py`).

The marker's mode wins over `--localaik-mode` for its tests (as pytest-recording's marker
`record_mode` wins over `--record-mode`); per keyword, the closest marker that sets it wins.
"""

from __future__ import annotations

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.plugin.test_pytest_plugin import (
    DEAD_UPSTREAM,
    SDK_HELPERS,
    _section,
    inner,
    run,
    summary_line,
)
from tests.support import all_recordings

__all__ = ["inner"]  # the fixture, used below by name

HELPERS = (
    SDK_HELPERS
    + """
import anthropic


def ask_anthropic(text):
    with anthropic.Anthropic() as client:
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=32,
                                         messages=[{"role": "user", "content": text}])
    return message.content[0].text


def ask_seeded(text, seed):
    with OpenAI() as client:
        answer = client.chat.completions.create(
            model="gpt-4o-mini", seed=seed, messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content
"""
)

MODE_TESTS = (
    HELPERS
    + """
pytestmark = pytest.mark.localaik(mode="once")


def test_once(localaik):
    assert localaik.mode == "once"
    assert ask_openai("a") == "Echo: a"
    assert ask_gemini("a2") == "Echo: a2"


@pytest.mark.localaik(record_mode="none")
def test_replay(localaik):
    assert localaik.mode == "replay"
    ask_openai("b")


class TestShared:
    pytestmark = pytest.mark.localaik(mode="new_episodes", cassette="c")

    def test_record(self, localaik):
        assert localaik.mode == "record"
        assert ask_anthropic("c") == "Echo: c"

    @pytest.mark.localaik(mode="ALL")
    def test_refresh(self, localaik):
        assert (localaik.mode, localaik.cassette.name) == ("refresh", "c.db")
        assert ask_openai("d") == "Echo: d"
"""
)


def test_marker_modes_win_over_the_session_mode_and_once_is_per_test(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake_llama_process: FakeLlama
) -> None:
    inner.makepyfile(test_modes=MODE_TESTS)
    cassettes = inner.path / "cassettes"
    once = cassettes / "test_modes" / "test_once.db"

    # The session replays (VCR's `none`); the markers record where they say so.
    first = run(inner, "--localaik-mode=none")
    first.assert_outcomes(passed=3, failed=1)
    assert summary_line(first).startswith("localaik: mode replay, ")
    missed = _section(first.stdout.str(), "test_replay")
    assert "replay miss: no recording matches this openai" in missed
    assert "mode: replay" in missed
    assert [r.family for r in all_recordings(once)] == ["openai", "gemini"]
    assert [r.family for r in all_recordings(cassettes / "c.db")] == ["anthropic", "openai"]
    assert not (cassettes / "test_modes" / "test_replay.db").exists()
    before = once.read_bytes()

    # `once` again: the test's cassette exists, so it replays, with no upstream; a request it
    # does not hold is a miss that says why `once` did not record it.
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, "-k", "test_once", "--localaik-mode=record")
    replayed.assert_outcomes(passed=1)
    inner.makepyfile(test_modes=MODE_TESTS.replace('ask_gemini("a2")', 'ask_gemini("a3")'))
    changed = run(inner, "-k", "test_once", "--localaik-mode=record")
    changed.assert_outcomes(failed=1)
    message = _section(changed.stdout.str(), "test_once")
    assert "mode: once (the cassette existed when localaik first used it" in message
    assert 'contents[0].parts[0].text: "a3" here, "a2" recorded' in message
    assert "delete the cassette and run again in mode once" in message
    assert once.read_bytes() == before

    # Deleted, the cassette is recorded anew.
    once.unlink()
    inner.makepyfile(test_modes=MODE_TESTS)
    monkeypatch.setenv("LK_UPSTREAM", fake_llama_process.url + "/v1")
    run(inner, "-k", "test_once").assert_outcomes(passed=1)
    assert [r.family for r in all_recordings(once)] == ["openai", "gemini"]


IGNORE_TESTS = (
    HELPERS
    + """
import random

SEED = int(os.environ["SEED"])


@pytest.mark.localaik(cassette="seeds", ignore=["$.seed"])
def test_seed_ignored(localaik):
    assert ask_seeded("same", SEED) == "Echo: same"


@pytest.mark.localaik(cassette="seeds")
def test_seed_kept(localaik):
    assert ask_seeded("same", SEED) == "Echo: same"
"""
)


def test_marker_ignore_applies_to_its_test_only(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_ignore=IGNORE_TESTS)
    seeds = inner.path / "cassettes" / "seeds.db"
    monkeypatch.setenv("SEED", "1")
    run(inner, "--localaik-mode=record").assert_outcomes(passed=2)
    assert len(all_recordings(seeds)) == 2  # one key without the seed, one with it
    assert sum('"seed"' in r.request for r in all_recordings(seeds)) == 1

    # Another seed, in replay: the test that ignores it replays (its key has no seed); the one
    # that does not misses, although it sends the very bytes just replayed (the replay memo
    # keys on the test's rules too).
    monkeypatch.setenv("SEED", "2")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner)
    replayed.assert_outcomes(passed=1, failed=1)
    assert "seed: 2 here, 1 recorded" in _section(replayed.stdout.str(), "test_seed_kept")


BAD_MARKERS = """
import pytest


@pytest.mark.localaik(mode="sometimes")
def test_bad_mode(localaik):
    pass


@pytest.mark.localaik(record_mode=1)
def test_bad_record_mode():
    pass


@pytest.mark.localaik(ignore=["messages[", "$.seed"])
def test_bad_path():
    pass


@pytest.mark.localaik(ignore=7)
def test_bad_ignore():
    pass


@pytest.mark.localaik(mode="replay", record_mode="none")
def test_both():
    pass
"""


def test_bad_marker_values_are_errors_naming_the_test_and_the_value(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(test_bad=BAD_MARKERS)
    result = run(inner, "--localaik-mode=replay")
    result.assert_outcomes(errors=5)
    output = result.stdout.str()
    expected = {
        "test_bad_mode": "test_bad.py::test_bad_mode: @pytest.mark.localaik(mode='sometimes'): "
        "expected record, replay, refresh, once or passthrough",
        "test_bad_record_mode": "@pytest.mark.localaik(record_mode=1): expected record",
        "test_bad_path": "@pytest.mark.localaik(ignore=['messages[', '$.seed']): LK_IGNORE path "
        "'messages[' is not valid",
        "test_bad_ignore": "@pytest.mark.localaik(ignore=7): expected a list of JSON paths",
        "test_both": "@pytest.mark.localaik takes cassette=NAME (or NAME), mode= (or record_mode=)",
    }
    for test, text in expected.items():
        section = _section(output, test)
        assert f"test_bad.py::{test}: " in section, section
        assert text in section, section


RECORD_IN_REPLAY = """
import openai
import pytest
from openai import OpenAI


@pytest.mark.localaik(mode="record")
def test_record(localaik):
    with OpenAI(max_retries=0) as client, pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 503
    assert "localaik started in replay mode without LK_UPSTREAM" in str(raised.value)
"""


def test_a_marker_that_records_in_a_replay_session_without_upstream_is_told_why(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI replays with no model: a test whose marker records cannot, and says so (the
    default upstream URL is never asked)."""
    monkeypatch.delenv("LK_UPSTREAM")
    monkeypatch.setenv("CI", "true")
    inner.makepyfile(test_record=RECORD_IN_REPLAY)
    run(inner).assert_outcomes(passed=1)
