"""Faults through the pytest plugin: the marker's `fault=`, the `localaik_fault` fixture, and
`LK_FAULTS` for the session, in inner pytest sessions with the real SDKs (the fake
llama-server upstream, as in `test_pytest_plugin.py`). A test's faults hold for its requests
only, and each test counts its own attempts.
"""

from __future__ import annotations

import pytest

from tests.plugin.test_pytest_plugin import SDK_HELPERS, _section, inner, run

__all__ = ["inner"]  # the fixture, used below by name

FAULT_TESTS = (
    SDK_HELPERS
    + """
from google.genai import errors


@pytest.mark.localaik(fault="status=429; times=1; retry-after=0")
def test_marker_fault_then_the_sdk_retry(localaik):
    with OpenAI(max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "m"}])
    assert ask_openai("m") == "Echo: m"  # attempt 2: the answer


@pytest.mark.localaik(fault="status=429; times=1; retry-after=0")
def test_each_test_counts_its_own_attempts(localaik):
    with OpenAI(max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "m"}])


def test_no_fault_after_a_marked_test(localaik):
    assert ask_openai("m") == "Echo: m"


def test_the_fixture_sets_and_clears_faults(localaik, localaik_fault):
    assert ask_gemini("g") == "Echo: g"
    localaik_fault("status=503; family=gemini")
    with pytest.raises(errors.ServerError):
        ask_gemini("g")
    assert ask_openai("o") == "Echo: o"  # matched by family: openai is not faulted
    localaik_fault()
    assert ask_gemini("g") == "Echo: g"


@pytest.mark.localaik(fault="status=4x9")
def test_a_bad_marker_fault(localaik):
    pass
"""
)

RUN_TESTS = (
    SDK_HELPERS
    + """
def test_session_faults(localaik):
    assert ask_openai("s") == "Echo: s"
    with pytest.raises(openai.InternalServerError):
        with OpenAI(max_retries=0) as client:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "s"}])
"""
)


def test_marker_and_fixture_faults(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_faults=FAULT_TESTS)
    result = run(inner, "--localaik-mode=record")
    result.assert_outcomes(passed=4, errors=1)
    bad = _section(result.stdout.str(), "test_a_bad_marker_fault")
    assert "status='4x9' is not a whole number" in bad


def test_lk_faults_for_the_session(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_FAULTS", "status=500; every=2; family=openai")
    inner.makepyfile(test_run=RUN_TESTS)
    run(inner, "--localaik-mode=record").assert_outcomes(passed=1)
