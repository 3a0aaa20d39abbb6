"""This run's requests as the inspector's "This run" page lists them: a bounded ring of events.

The pipeline publishes one `RunEvent` per request it answers (`Pipeline.handle`): how it was
answered (`Outcome`), its family, operation and model, and, for a replay miss, the canonical
request and the cassette it missed in, so the inspector can set it beside its nearest
recordings. The ring keeps the newest `KEEP` events (a long run costs a fixed amount of
memory); each event has a sequence number, so a reader asks for what came after the last one it
saw. A `deque.append` from the event loop's thread: no lock is needed, and publishing costs a
request about a microsecond.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class Outcome(StrEnum):
    """How a request was answered."""

    HIT = "hit"  # replayed from a recording
    MISS = "miss"  # replay mode, no recording: the 404 naming the nearest ones
    RECORDED = "recorded"  # forwarded upstream, its answer to be stored
    FORWARDED = "forwarded"  # forwarded upstream, nothing stored (passthrough, a 5xx)
    FAULT = "fault"  # a fault asked for by the test (D16)
    ERROR = "error"  # refused before any answer (a bad request)


@dataclass(slots=True)
class RunEvent:
    """One request of this run (not frozen: a frozen dataclass costs its publisher twice the
    time to make)."""

    seq: int
    at: float  # seconds since the epoch (shown as UTC by the page: publishing stays cheap)
    method: str
    path: str
    outcome: Outcome
    status: int
    family: str | None = None
    operation: str | None = None
    model: str | None = None
    stream: bool = False
    cassette: Path | None = None
    recording: str | None = None  # "key/ordinal" of the recording that answered or was made
    canon: dict[str, Any] | None = None  # a miss's canonical request

    @property
    def when(self) -> str:
        """The time of day it was answered (UTC), to the millisecond."""
        moment = datetime.fromtimestamp(self.at, UTC)
        return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class RunEvents:
    """The newest `KEEP` events of this run, oldest first."""

    KEEP = 500

    def __init__(self, keep: int = KEEP) -> None:
        self._events: deque[RunEvent] = deque(maxlen=keep)
        self._seq = itertools.count(1)

    def publish(self, method: str, path: str, outcome: Outcome, status: int, **fields: Any) -> None:
        """Add one event (`fields`: `RunEvent`'s optional ones)."""
        self._events.append(
            RunEvent(next(self._seq), time.time(), method, path, outcome, status, **fields)
        )

    def after(self, seq: int = 0) -> list[RunEvent]:
        """The events kept whose sequence number is above `seq`, oldest first."""
        return [event for event in list(self._events) if event.seq > seq]

    def get(self, seq: int) -> RunEvent | None:
        """The event numbered `seq`, while it is kept."""
        return next((event for event in list(self._events) if event.seq == seq), None)
