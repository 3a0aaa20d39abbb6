"""LK_REDACT under the pytest plugin: the variable in the environment of the test session, or
the ini's `localaik_redact` (which wins), lets a test whose prompt holds a token-shaped fixture
record (the cassette holds only the placeholder) and replay in CI; without it the test fails
on the refusal; a bad rule fails the session's start in one line naming LK_REDACT (or, in the
ini, is a usage error naming `localaik_redact`)."""

from __future__ import annotations

import pytest

from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, inner, run, summary_line

__all__ = ["inner"]  # the fixture, used below by name

FIXTURE = "s" + "k-test-a1b2c3d4e5f6g7h8i9j0k1"
REDACTED_TESTS = """
from openai import OpenAI

FIXTURE = "s" + "k-test-a1b2c3d4e5f6g7h8i9j0k1"


def test_fixture_key(localaik):
    with OpenAI() as client:   # OPENAI_BASE_URL and the key from the plugin
        answer = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"use the key {FIXTURE}"}],
        )
    assert answer.choices[0].message.content == "Echo: use the key <redacted:1>"
"""


def test_redacted_fixture_records_then_replays_under_the_plugin(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_redacted=REDACTED_TESTS)
    cassettes = inner.path / "cassettes"

    refused = run(inner, "--localaik-mode=record")
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines(["*LK_REDACT*"])

    monkeypatch.setenv("LK_REDACT", "/sk-test-[a-z0-9]+/")
    recorded = run(inner, "--localaik-mode=record")
    recorded.assert_outcomes(passed=1)
    files = [path for path in cassettes.rglob("*") if path.is_file()]
    assert any(path.name == "test_fixture_key.db" for path in files)
    for path in files:
        assert FIXTURE.encode() not in path.read_bytes(), path

    # Replayed in CI with the rules kept in the project's ini instead (it wins over the
    # environment, whose rule here would redact nothing and so miss).
    inner.makeini("[pytest]\nlocalaik_redact =\n    /sk-test-[a-z0-9]+/\n    $.user\n")
    monkeypatch.setenv("LK_REDACT", "/unrelated-[0-9]+/")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, "--localaik-fail-unused")
    replayed.assert_outcomes(passed=1)
    assert summary_line(replayed) == (
        "localaik: mode replay, 1 cassette: 1 replayed, 0 recorded, 0 misses, 0 unused"
    )


def test_a_bad_rule_fails_the_session_start_naming_lk_redact(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_redacted=REDACTED_TESTS)
    monkeypatch.setenv("LK_REDACT", "/sk-test-[a-z0-9/")
    result = run(inner, "--localaik-mode=record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*localaik: LK_REDACT: the regular expression*no closing '/'*"])


def test_a_bad_ini_rule_is_a_usage_error_naming_the_ini_key(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_redacted=REDACTED_TESTS)
    inner.makeini("[pytest]\nlocalaik_redact =\n    /ok-[a-z]+/\n    /a*/\n")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*localaik_redact: the rule '/a[*]/' can match empty text*"])
