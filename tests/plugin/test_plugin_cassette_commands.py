"""The cassette commands after real plugin sessions: with no argument, from the project's root,
they read every per-test cassette the plugin wrote (`cassettes/…`), not `cassettes/localaik.db`.

Inner pytest sessions (`pytester`, the fake llama-server upstream, as in test_pytest_plugin.py),
then the real `localaik` command in a subprocess, in the inner project's folder.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.plugin import test_pytest_plugin
from tests.plugin.test_pytest_plugin import (
    DEAD_UPSTREAM,
    LLM_TESTS,
    MODULE_MARKED,
    TIMEOUT,
    run,
    summary_line,
)

inner = test_pytest_plugin.inner  # the fixture: a pytester with no LK_* or SDK variables


def localaik(inner: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    """`localaik ARGS` in the inner project, with no LK_* setting (the plugin's defaults)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LK_")}
    return subprocess.run(
        [sys.executable, "-m", "localaik", *args],
        cwd=inner.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_prune_and_verify_with_no_argument_cover_the_sessions_cassettes(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_llm=LLM_TESTS, test_marked=MODULE_MARKED)
    run(inner, "--localaik-mode=record").assert_outcomes(passed=10)

    # One call removed from test_gemini, then the whole suite replayed: that call's recording
    # is the only one the session did not use.
    inner.makepyfile(
        test_llm=LLM_TESTS.replace('    assert ask_gemini("two") == "Echo: two"\n', "")
    )
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, "--localaik-fail-unused")
    replayed.assert_outcomes(passed=10)
    assert summary_line(replayed).endswith(
        "7 cassettes: 9 replayed, 0 recorded, 0 misses, 1 unused"
    )
    assert replayed.ret == pytest.ExitCode.TESTS_FAILED
    replayed.stdout.fnmatch_lines(  # the command it suggests is the one run below
        [f"Remove them with `localaik cassette prune cassettes` in {inner.path} (it drops *"]
    )

    listed = localaik(inner, "cassette", "ls")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == "10 recordings in 7 cassettes\n"
    assert "cassettes/test_llm/test_gemini.db" in listed.stdout.splitlines()

    pruned = localaik(inner, "cassette", "prune", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    lines = pruned.stdout.splitlines()
    assert lines[0] == "cassettes/test_llm/test_gemini.db:"
    assert lines[1].split()[1:] == ["gemini", "generateContent", "gemini-2.5-flash"]
    assert lines[2:] == [
        "removed 1 of 10 recordings in 1 of 7 cassettes (unused by each cassette's last run)"
    ]
    assert pruned.stderr == ""  # every cassette was used by that session

    # Exactly the unused one went: the same session now uses every recording.
    again = run(inner, "--localaik-fail-unused")
    assert again.ret == 0, again.stdout.str()
    assert summary_line(again).endswith("9 replayed, 0 recorded, 0 misses, 0 unused")

    verified = localaik(inner, "cassette", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = verified.stdout.splitlines()
    assert lines[-1] == "9 recordings in 7 cassettes, 0 problems"
    assert "cassettes/test_llm/test_gemini.db: 1 recording, ok" in lines
    assert "cassettes/module.db: 2 recordings, ok" in lines
    assert len(lines) == 8
