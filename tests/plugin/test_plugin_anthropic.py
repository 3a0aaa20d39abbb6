"""The pytest plugin with the real `anthropic` SDK: the client built with no base URL or key in
code is steered by the plugin's `ANTHROPIC_BASE_URL` and placeholder key, records into the
test's cassette, and replays in CI with no upstream; a miss fails the test that caused it.
"""

from __future__ import annotations

import pytest

from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, inner, run, summary_line
from tests.support import all_recordings

__all__ = ["inner"]  # the fixture, used below by name

ANTHROPIC_TESTS = """
import anthropic


def ask(text, stream=False):
    with anthropic.Anthropic() as client:   # ANTHROPIC_BASE_URL and the key from the plugin
        if stream:
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=32,
                                        messages=[{"role": "user", "content": text}]) as s:
                return s.get_final_text()
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=32,
                                         messages=[{"role": "user", "content": text}])
        return message.content[0].text


def test_create(localaik):
    assert ask("hello") == "Echo: hello"


def test_stream(localaik):
    assert ask("streamed", stream=True) == "Echo: streamed"
"""


def test_anthropic_records_then_replays_in_ci(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_claude=ANTHROPIC_TESTS)
    cassettes = inner.path / "cassettes" / "test_claude"

    recorded = run(inner, "--localaik-mode=record")
    recorded.assert_outcomes(passed=2)
    assert summary_line(recorded) == (
        "localaik: mode record, 2 cassettes: 0 replayed, 2 recorded, 0 misses, 0 unused"
    )
    [create] = all_recordings(cassettes / "test_create.db")
    [stream] = all_recordings(cassettes / "test_stream.db")
    assert (create.family, create.operation, create.stream) == ("anthropic", "messages", False)
    assert (stream.family, stream.operation, stream.stream) == ("anthropic", "messages", True)

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, "--localaik-fail-unused")
    replayed.assert_outcomes(passed=2)
    assert summary_line(replayed) == (
        "localaik: mode replay, 2 cassettes: 2 replayed, 0 recorded, 0 misses, 0 unused"
    )

    inner.makepyfile(test_claude=ANTHROPIC_TESTS.replace('ask("hello")', 'ask("hello there")'))
    missed = run(inner)
    missed.assert_outcomes(passed=1, failed=1)
    output = missed.stdout.str()
    assert "anthropic.NotFoundError" in output or "NotFoundError" in output
    assert 'messages[0].content: "hello there" here, "hello" recorded' in output
