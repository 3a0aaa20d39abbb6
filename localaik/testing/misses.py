"""Replay misses under pytest: each one's whole text shown once, in the report of its test.

A miss reaches a pytest user three ways: the SDK's exception in the traceback, the plugin's own
report, and the server's log, which pytest captures. The plugin's report is the one that can
show the whole text readably (the SDKs of two families show it escaped on one line, and the
code under test may swallow the exception), so while a test's cassette is active the server
started by the plugin answers a miss with its first line only and logs no more than that, at
INFO (`server.IN_TEST`); the plugin shows the rest, once. A miss outside every test (a
session fixture's request) is in no test's report: its answer and log keep the whole text.

Imports nothing heavy: the plugin imports this module when pytest loads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from localaik.config import Mode

MODE_OPTION = "--localaik-mode"  # the plugin's command-line flag for the mode
SHOWN_BY = "shown in pytest's report of the test"


def record_with() -> str:
    """How a plugin user records a request that missed."""
    return f"run pytest with {MODE_OPTION} {Mode.RECORD.value}"


@dataclass
class Active:
    """A test whose cassette is active: how many of the session's misses were reported."""

    misses: list[str]
    checked: int

    def new_misses(self) -> list[str]:
        new = self.misses[self.checked :]
        self.checked += len(new)
        return new


def miss_text(misses: list[str], when: str) -> str:
    """The failure of a test whose requests missed (`when`: during the test, or its fixtures)."""
    count = f"{len(misses)} request{'s' if len(misses) > 1 else ''} had no recording"
    return (
        f"localaik: {count} {when} (a replay miss fails the test even when the code under "
        "test caught the SDK's error):\n\n" + "\n\n".join(misses)
    )
