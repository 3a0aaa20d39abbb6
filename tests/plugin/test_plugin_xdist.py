"""The plugin under pytest-xdist: each worker runs its own server, the controller reports.

Two test files share one cassette and `--dist loadfile` gives each file to its own worker, so
neither worker alone uses every recording: only the controller, merging what every worker
served, can tell an unused recording from one the other worker used. The workers' usage notes
form one run of the session, so `cassette prune` after it keeps what any worker used.
"""

from __future__ import annotations

import pytest

from localaik.cassette import usage
from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, SDK_HELPERS, inner, run, summary_line

__all__ = ["inner"]  # the fixture, used below by name

FIRST = (
    SDK_HELPERS
    + """
pytestmark = pytest.mark.localaik(cassette="shared")


def test_one():
    assert ask_openai("one") == "Echo: one"


def test_two():
    assert ask_gemini("two") == "Echo: two"
"""
)

SECOND = (
    SDK_HELPERS
    + """
pytestmark = pytest.mark.localaik(cassette="shared")


def test_three():
    assert ask_openai("three") == "Echo: three"


def test_four(localaik):
    assert ask_openai("four") == "Echo: four"
"""
)

XDIST = ("-n", "2", "--dist", "loadfile")


def workers(result: pytest.RunResult) -> set[str]:
    """The workers that ran a test (`-v` names them: `[gw0] PASSED ...`)."""
    return {line.split("]")[0][1:] for line in result.outlines if line.startswith("[gw")}


def test_fail_unused_gathers_every_worker(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_first=FIRST, test_second=SECOND)
    recorded = run(inner, *XDIST, "-v", "--localaik-mode=record")
    recorded.assert_outcomes(passed=4)
    assert workers(recorded) == {"gw0", "gw1"}
    assert summary_line(recorded) == (
        "localaik: mode record, 1 cassette: 0 replayed, 4 recorded, 0 misses, 0 unused"
    )

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, *XDIST, "-v", "--localaik-fail-unused")
    replayed.assert_outcomes(passed=4)
    assert workers(replayed) == {"gw0", "gw1"}
    assert replayed.ret == 0, replayed.stdout.str()
    assert summary_line(replayed) == (
        "localaik: mode replay, 1 cassette: 4 replayed, 0 recorded, 0 misses, 0 unused"
    )
    # Both workers' notes are one run (each worker wrote its own file): prune keeps what
    # either used.
    cassette = inner.path / "cassettes" / "shared.db"
    runs = usage.read_runs(cassette)
    assert len(runs) == 2  # the recording session's, the replaying session's
    assert len(runs[-1].used) == 4
    assert len({p.name for p in usage.usage_path(cassette).iterdir()}) == 4

    # A call removed from the second file: its recording is unused, and the session fails.
    inner.makepyfile(
        test_second=SECOND.replace('"three") == "Echo: three"', '"four") == "Echo: four"')
    )
    unused = run(inner, *XDIST, "--localaik-fail-unused")
    unused.assert_outcomes(passed=4)
    assert unused.ret == pytest.ExitCode.TESTS_FAILED
    assert summary_line(unused).endswith("0 misses, 1 unused")
    unused.stdout.fnmatch_lines(
        [
            "localaik: 1 recording was not used by this session (--localaik-fail-unused):",
            "  cassettes/shared.db: * openai chat.completions *",
        ]
    )
