"""The pytest plugin, through inner pytest sessions (`pytester`, each in its own process).

The inner tests call the real google-genai and openai SDKs with no base URL or key in code:
the plugin's environment variables must steer them. The upstream is the fake llama-server
(its answer echoes the prompt), given to the inner session as `LK_UPSTREAM`; replay runs get
an upstream where nothing listens, so a request that reached it would fail.

The record/replay scenario is one test with several sessions over the same folder, in order:
record, replay by the CI default, replay after a call was removed (unused recordings), replay
after a prompt changed (misses).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import all_recordings

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
PLACEHOLDER = "localaik-placeholder-key"
FOREIGN_ENV = ("LK_", "GOOGLE_", "GEMINI_", "OPENAI_", "ANTHROPIC_", "PYTEST_ADDOPTS")
TIMEOUT = 120

SDK_HELPERS = """
import os
from pathlib import Path

import openai
import pytest
from google import genai
from openai import OpenAI


def ask_gemini(text):
    client = genai.Client()   # GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY from the plugin
    try:
        return client.models.generate_content(model="gemini-2.5-flash", contents=text).text
    finally:
        client.close()


def ask_openai(text):
    with OpenAI() as client:   # OPENAI_BASE_URL and OPENAI_API_KEY from the plugin
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content
"""

LLM_TESTS = (
    SDK_HELPERS
    + """

def test_gemini(localaik):
    assert ask_gemini("one") == "Echo: one"
    assert ask_gemini("two") == "Echo: two"


def test_openai(localaik):
    assert ask_openai("three") == "Echo: three"


@pytest.mark.parametrize("word", ["a b", "c"])
def test_param(localaik, word):
    assert ask_openai(word) == "Echo: " + word


class TestGroup:
    def test_method(self, localaik):
        assert ask_gemini("four") == "Echo: four"


@pytest.mark.localaik(cassette="shared")
def test_shared_marker_only():
    assert ask_openai("five") == "Echo: five"


@pytest.mark.localaik("shared")
def test_shared(localaik):
    assert localaik.cassette.name == "shared.db"
    assert ask_openai("six") == "Echo: six"


def test_handle(localaik):
    assert localaik.url.startswith("http://127.0.0.1:")
    assert os.environ["GOOGLE_GEMINI_BASE_URL"] == localaik.gemini_base_url == localaik.url
    assert os.environ["OPENAI_BASE_URL"] == localaik.openai_base_url == localaik.url + "/v1"
    assert os.environ["ANTHROPIC_BASE_URL"] == localaik.anthropic_base_url == localaik.url
    for name in ("GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert os.environ[name] == "localaik-placeholder-key"
    assert localaik.cassette == Path.cwd() / "cassettes" / "test_llm" / "test_handle.db"
"""
)

MODULE_MARKED = (
    SDK_HELPERS
    + """
pytestmark = pytest.mark.localaik(cassette="module")


def test_seven():
    assert ask_openai("seven") == "Echo: seven"


def test_eight():
    assert ask_gemini("eight") == "Echo: eight"
"""
)

MISS_TESTS = (
    SDK_HELPERS
    + """

@pytest.mark.localaik(cassette="shared")
def test_swallowed():
    try:
        ask_openai("never recorded")
    except openai.NotFoundError:
        pass   # the code under test hides the error: the plugin must not


@pytest.fixture()
def warm_up(localaik):
    try:
        ask_openai("warm up")
    except openai.NotFoundError:
        pass


def test_miss_in_fixture(warm_up):
    pass


@pytest.mark.localaik(cassette="../outside")
def test_bad_marker():
    pass
"""
)


@pytest.fixture()
def inner(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake_llama_process: FakeLlama
) -> pytest.Pytester:
    """A pytester whose sessions see no key, base URL or LK_* setting of ours, and no CI."""
    for name in list(os.environ):
        if name.startswith(FOREIGN_ENV) or name == "CI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("LK_UPSTREAM", fake_llama_process.url + "/v1")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", *args, timeout=TIMEOUT
    )


def summary_line(result: pytest.RunResult) -> str:
    lines = [line for line in result.outlines if line.startswith("localaik: mode")]
    assert len(lines) == 1, result.stdout.str()
    return lines[0]


def test_record_then_replay_in_ci(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    inner.makepyfile(test_llm=LLM_TESTS, test_marked=MODULE_MARKED)
    cassettes = inner.path / "cassettes"

    recorded = run(inner, "--localaik-mode=record")
    recorded.assert_outcomes(passed=10)
    assert summary_line(recorded) == (
        "localaik: mode record, 7 cassettes: 0 replayed, 10 recorded, 0 misses, 0 unused"
    )
    expected = {
        "test_llm/test_gemini.db": ["one", "two"],
        "test_llm/test_openai.db": ["three"],
        "test_llm/test_param-a_b-" + _digest("a b") + ".db": ["a b"],
        "test_llm/test_param-c.db": ["c"],
        "test_llm/TestGroup.test_method.db": ["four"],
        "shared.db": ["five", "six"],
        "module.db": ["seven", "eight"],
    }
    found = {str(p.relative_to(cassettes)) for p in cassettes.rglob("*.db")}
    assert found == set(expected), found
    for name, prompts in expected.items():
        assert [_prompt(r.request) for r in all_recordings(cassettes / name)] == prompts, name
    # test_handle made no request: no cassette; nothing went to the session cassette.
    assert not (cassettes / "localaik.db").exists()
    before = {p: p.read_bytes() for p in cassettes.rglob("*.db")}

    # CI=true and no LK_MODE: replay, with no upstream, every recording used.
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, "--localaik-fail-unused")
    replayed.assert_outcomes(passed=10)
    assert replayed.ret == 0
    assert summary_line(replayed) == (
        "localaik: mode replay, 7 cassettes: 10 replayed, 0 recorded, 0 misses, 0 unused"
    )
    assert {p: p.read_bytes() for p in cassettes.rglob("*.db")} == before

    # A call removed from test_gemini: its recording is unused; the ini key fails the session.
    inner.makeini("[pytest]\nlocalaik_fail_unused = true\n")
    inner.makepyfile(
        test_llm=LLM_TESTS.replace('    assert ask_gemini("two") == "Echo: two"\n', "")
    )
    unused = run(inner)
    unused.assert_outcomes(passed=10)
    assert unused.ret == pytest.ExitCode.TESTS_FAILED
    assert summary_line(unused).endswith("0 misses, 1 unused")
    unused.stdout.fnmatch_lines(
        [
            "localaik: 1 recording was not used by this session (--localaik-fail-unused):",
            "  cassettes/test_llm/test_gemini.db: * gemini generateContent gemini-2.5-flash, "
            "recorded *",
        ]
    )
    assert run(inner, "-o", "localaik_fail_unused=false").ret == 0

    # A prompt changed, and misses the code under test swallowed.
    inner.makepyfile(
        test_llm=LLM_TESTS.replace(
            'ask_gemini("one") == "Echo: one"', 'ask_gemini("uno") == "Echo: uno"'
        ),
        test_misses=MISS_TESTS,
    )
    missed = run(inner, "-k", "gemini or misses", "-o", "localaik_fail_unused=false")
    missed.assert_outcomes(failed=3, errors=1)
    output = missed.stdout.str()
    changed = _section(output, "test_gemini")
    assert "replay miss: no recording matches this gemini generateContent" in changed
    assert 'contents[0].parts[0].text: "uno" here, "one" recorded' in changed
    assert "cassettes/test_llm/test_gemini.db" in changed
    swallowed = _section(output, "test_swallowed")
    assert "localaik: 1 request had no recording during the test or its setup" in swallowed
    assert "cassettes/shared.db" in swallowed
    assert 'messages[0].content: "never recorded" here' in swallowed
    assert "localaik: 1 request had no recording" in _section(output, "test_miss_in_fixture")
    assert "@pytest.mark.localaik(cassette='../outside'): a cassette name is letters" in _section(
        output, "test_bad_marker"
    )
    assert summary_line(missed).endswith("3 misses, 4 unused")


def test_the_readme_example_records_then_replays_in_ci(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's path: its example test, `pytest` records, `CI=true pytest` replays."""
    example = _readme_example()
    claimed = re.search(r"# this test's cassette: (\S+)", example)
    assert claimed, example
    (inner.path / "tests").mkdir()
    (inner.path / "tests" / "test_chat.py").write_text(example)

    run(inner).assert_outcomes(passed=1)
    assert len(all_recordings(inner.path / claimed.group(1))) == 1

    # `git add cassettes && git commit`, then CI's fresh checkout: only committed files.
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=inner.path,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"},
        ).stdout

    git("init", "-q")
    git("add", "tests", "cassettes")
    git("commit", "-qm", "record")
    git("clean", "-qfdx")

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner)
    replayed.assert_outcomes(passed=1)
    assert summary_line(replayed).startswith("localaik: mode replay, 1 cassette: 1 replayed")
    assert git("status", "--porcelain", "--untracked-files=no") == ""  # replay changed nothing


def test_inert_without_fixture_or_marker(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_plain="""
import os, sys, threading

def test_nothing_started():
    assert "localaik.pytest_plugin" in sys.modules   # loaded through the entry point
    for name in ("GOOGLE_GEMINI_BASE_URL", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
                 "GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert name not in os.environ
    assert "localaik.server.app" not in sys.modules and "uvicorn" not in sys.modules
    assert not [t for t in threading.enumerate() if t.name == "localaik-server"]
"""
    )
    result = run(inner, "--localaik-fail-unused", "--localaik-mode=replay")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert "localaik:" not in result.stdout.str()
    assert not (inner.path / "cassettes").exists()


WHERE = """
def test_where(localaik):
    print(f"MODE={localaik.mode} CASSETTE={localaik.cassette}")
"""


@pytest.mark.parametrize(
    ("ini", "args", "env", "mode", "folder"),
    [
        # the ini key beats LK_MODE and CI; the ini folder is relative to the rootdir
        (
            "localaik_mode = passthrough\nlocalaik_cassette_dir = recorded/llm\n",
            [],
            {"LK_MODE": "record", "CI": "true"},
            "passthrough",
            "recorded/llm",
        ),
        # the options beat the ini keys; the option's folder is relative to the current directory
        (
            "localaik_mode = passthrough\nlocalaik_cassette_dir = recorded\n",
            ["--localaik-mode=refresh", "--localaik-cassette-dir=sub/../elsewhere"],
            {},
            "refresh",
            "elsewhere",
        ),
        # neither: LK_MODE beats the CI default
        ("", [], {"LK_MODE": "record", "CI": "true"}, "record", "cassettes"),
        # VCR.py's names, as the ini key and LK_MODE take them
        ("localaik_mode = ALL\n", [], {"LK_MODE": "none"}, "refresh", "cassettes"),
        ("", [], {"LK_MODE": "new_episodes", "CI": "true"}, "record", "cassettes"),
    ],
    ids=["ini", "options", "env", "ini-vcr", "env-vcr"],
)
def test_mode_and_folder_precedence(
    inner: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: str,
    args: list[str],
    env: dict[str, str],
    mode: str,
    folder: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    inner.makeini("[pytest]\n" + ini)
    inner.makepyfile(test_where=WHERE)
    result = run(inner, "-s", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"*MODE={mode} CASSETTE={inner.path / folder / 'test_where' / 'test_where.db'}*"]
    )


def test_bad_ini_mode_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nlocalaik_mode = sometimes\n")
    inner.makepyfile(test_where=WHERE)
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "localaik_mode = 'sometimes': expected record, replay, refresh, once or passthrough "
        "(VCR.py's new_episodes, none and all are record, replay and refresh)"
        in result.stderr.str()
    )


def test_the_state_folder_is_no_cassette_folder(inner: pytest.Pytester) -> None:
    """`.localaik` holds usage notes and ignores everything in it: cassettes there would never
    be committed."""
    inner.makeini("[pytest]\nlocalaik_cassette_dir = cassettes/.localaik\n")
    inner.makepyfile(test_where=WHERE)
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "localaik_cassette_dir = 'cassettes/.localaik': .localaik is localaik's own folder" in (
        result.stderr.str()
    )
    assert not (inner.path / "cassettes").exists()


def test_a_server_that_cannot_start_errors_each_test_in_one_line(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LK_REPLAY_SPEED", "fast")
    inner.makepyfile(test_where=WHERE)
    result = run(inner, "--localaik-mode=replay")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*localaik: LK_REPLAY_SPEED='fast': expected 0*"])


# -- helpers -----------------------------------------------------------------------------------


def _digest(params: str) -> str:
    return hashlib.sha256(params.encode()).hexdigest()[:8]


def _prompt(canonical_request: str) -> str:
    body = json.loads(canonical_request)["body"]
    if "messages" in body:
        return str(body["messages"][0]["content"])
    return str(body["contents"][0]["parts"][0]["text"])


def _readme_example() -> str:
    """The Python example of the README's pytest plugin section."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## pytest plugin\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no Python example in the README's pytest plugin section"
    return match.group(1)


def _section(output: str, test: str) -> str:
    """The failure (or error) section of one inner test in pytest's output."""
    match = re.search(
        rf"^_+ (?:ERROR at \w+ of )?{test}(?:\[[^\]]*\])? _+$(.*?)(?=^_{{3,}} |^=+ )",
        output,
        re.MULTILINE | re.DOTALL,
    )
    assert match, f"no section for {test} in:\n{output}"
    return match.group(1)
