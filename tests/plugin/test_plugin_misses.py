"""A replay miss under pytest is shown once: its whole text in the report of the test that
missed, the SDK's error carrying its first line, the log no copy, and the hint naming the
plugin's flag (issue 15)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from localaik.config import Mode
from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, inner, run

__all__ = ["inner"]  # the fixture, used below by name

TESTS = """
import anthropic
import openai
from google import genai


def test_gemini(localaik):
    client = genai.Client()
    try:
        assert client.models.generate_content(model="gemini-2.5-flash", contents="WORD").text
    finally:
        client.close()


def test_openai(localaik):
    with openai.OpenAI() as client:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "WORD"}])


def test_anthropic(localaik):
    with anthropic.Anthropic() as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=16,
                               messages=[{"role": "user", "content": "WORD"}])
"""


def test_a_miss_is_shown_once(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    inner.makepyfile(test_llm=TESTS.replace("WORD", "one"))
    run(inner, "--localaik-mode=record").assert_outcomes(passed=3)

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    inner.makepyfile(test_llm=TESTS.replace("WORD", "uno"))
    missed = run(inner)
    missed.assert_outcomes(failed=3)
    output = missed.stdout.str()
    # The whole text once per test: in the plugin's section, not in the SDK's error nor a log.
    assert output.count('"uno" here, "one" recorded') == 3, output
    assert output.count("To record it: run pytest with --localaik-mode record, with a model") == 3
    assert output.count("Captured localaik misses call") == 3
    assert "LK_MODE=record" not in output and "Captured log" not in output
    # The SDK's error: the gist, on one readable line, pointing at the section.
    raised = [line for line in missed.outlines if line.startswith("E ") and "404" in line]
    assert len(raised) == 3, output
    for line in raised:
        assert "localaik replay miss: no recording matches this " in line
        assert "(the whole miss: shown in pytest's report of the test)" in line
        assert "\\n" not in line


def test_outside_a_test_the_answer_keeps_the_whole_text(tmp_path: Path) -> None:
    """A session fixture's request misses in no test's report: its answer keeps every line."""
    from localaik.testing.server import IN_TEST, OUTSIDE_TESTS, LocalaikServer

    server = LocalaikServer.start(Mode.REPLAY, tmp_path)
    try:
        assert server.replayer.reporting is OUTSIDE_TESTS
        server.use(tmp_path / "a_test.db")
        assert server.replayer.reporting is IN_TEST
        server.use(server.session_cassette)
        assert server.replayer.reporting is OUTSIDE_TESTS
        answer = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
    finally:
        server.stop()
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert message.startswith("localaik replay miss: ") and "(the whole miss" not in message
    assert "To record it: run pytest with --localaik-mode record, with a model" in message
