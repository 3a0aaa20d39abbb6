"""What an install says while it works: numbered steps, and a build's progress counted in them.

    [1/5] fetching the llama.cpp sources…
    [3/5] building llama-server: 143/206 (69%)

`Report` numbers the steps an install plans (`steps`; 0: no numbers, as for `serve` fetching a
model into its log). A counted step (`count`) is updated in place on one line on a terminal
(`live`) and written once per tenth otherwise, so a CI log gets about ten lines, not hundreds.
`BuildCounter` reads ninja's `[n/m]` and make's `[ nn%]` lines into those counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")
_MAKE_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


@dataclass(frozen=True)
class Count:
    """How far a build is: `done` of `total` steps (ninja), or only a percentage (make)."""

    percent: int
    done: int | None = None
    total: int | None = None

    def __str__(self) -> str:
        if self.done is None or self.total is None:
            return f"{self.percent}%"
        return f"{self.done}/{self.total} ({self.percent}%)"


def parse_build_line(line: str, total: int | None = None) -> Count | None:
    """The count a ninja or make output line shows, or None for any other line.

    `total`: the steps of the whole build (`ninja -t commands`). A resumed ninja numbers only
    the steps left (`[1/103]`); with the total, the count is the whole build's (`104/206`).
    """
    step = _NINJA_STEP.match(line)
    if step:
        done, left = int(step.group(1)), int(step.group(2))
        if total is not None and total >= left:
            done, left = total - left + done, total
        return Count(100 * done // max(left, 1), done, left)
    made = _MAKE_PERCENT.match(line)
    if made:
        return Count(min(int(made.group(1)), 100))
    return None


class Report:
    """The install's voice: `say` writes one line (no newline in it) to the user."""

    def __init__(
        self,
        say: Callable[[str], None] | None = None,
        *,
        steps: int = 0,
        live: bool = False,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self._say = say or (lambda _line: None)
        self._write = write  # raw output, for updating a line in place (live only)
        self.steps = steps
        self.current = 0
        self._what = ""
        self._live = live and write is not None
        self._open = False  # a live line is shown without its newline yet
        self._tenth = -1

    def step(self, what: str, note: str | None = None, *, about: str = "") -> None:
        """Start the next step: `[k/N] what (about)…`, or `[k/N] what: note` when it has
        nothing to do; its counts read `[k/N] what: 3/10 (30%)`."""
        self.current += 1
        self._what = what
        self._tenth = -1
        about = f" ({about})" if about else ""
        self.line(f"{self._prefix()}{what}: {note}" if note else f"{self._prefix()}{what}{about}…")

    def skip(self, steps: int, why: str) -> None:
        """Steps that turned out to be done already (by another install, say), with why."""
        self.current += steps
        self.line(why)

    def line(self, text: str) -> None:
        """A line of its own (ends a live counter's line first)."""
        self.end()
        self._say(text)

    def end(self) -> None:
        """End a live counter's line, if one is open (before an error is printed, say)."""
        if self._open and self._write is not None:
            self._write("\n")
            self._open = False

    def count(self, count: Count) -> None:
        """The current step's progress: in place on a terminal, else each tenth once."""
        text = f"{self._prefix()}{self._what}: {count}"
        if self._live and self._write is not None:
            self._write(f"\r{text}\x1b[K")
            self._open = True
            return
        tenth = count.percent // 10
        if tenth > self._tenth:
            self._tenth = tenth
            self._say(text)

    def _prefix(self) -> str:
        return f"[{self.current}/{self.steps}] " if self.steps else ""


def reporter(progress: Report | Callable[[str], None] | None) -> Report:
    """A `Report` from what a caller passed: a report, a line callback (`log.info`), or none."""
    return progress if isinstance(progress, Report) else Report(progress)


class BuildCounter:
    """A build's output lines to `Report.count`, for a build of `total` steps (None: unknown)."""

    def __init__(self, report: Report, total: int | None = None) -> None:
        self._report = report
        self._total = total

    def __call__(self, line: str) -> None:
        count = parse_build_line(line, self._total)
        if count is not None:
            self._report.count(count)
