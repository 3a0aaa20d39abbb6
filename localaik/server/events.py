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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from localaik.cassette.key import canonical
from localaik.errors import ReplayMiss
from localaik.families.operation import Parsed
from localaik.upstream.exchange import Exchange
from localaik.wire.jsonpath import IgnoreRule


class Outcome(StrEnum):
    """How a request was answered."""

    HIT = "hit"  # replayed from a recording
    MISS = "miss"  # replay mode, no recording: the 404 naming the nearest ones
    RECORDED = "recorded"  # forwarded upstream, its answer to be stored
    FORWARDED = "forwarded"  # forwarded upstream, nothing stored (passthrough, a 5xx)
    FAULT = "fault"  # a fault asked for by the test (D16)
    LOCAL = "local"  # answered by localaik itself: files, batches, cached contents
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
    miss: str | None = None  # a miss's text, as its client got it

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

    def told(
        self,
        method: str,
        path: str,
        status: int,
        cassette: Callable[[], Path],
        *,
        parsed: Parsed[Any] | None,
        fault: bool,
        exchange: Exchange | None,
        miss: ReplayMiss | None,
        failed: bool,
        ignore: Sequence[IgnoreRule],
    ) -> None:
        """Add the event of a request the pipeline answered: how (`Outcome`), from what it
        parsed, the exchange it made and the error it met (`cassette`: the path its cassette
        header names, asked only when the event shows it)."""
        fields: dict[str, Any] = {}
        if parsed is not None:
            client = parsed.client
            fields.update(family=client.family, operation=client.operation, model=client.model)
            fields["stream"] = client.stream
        if fault:
            outcome = Outcome.FAULT
        elif miss is not None and parsed is not None:
            outcome = Outcome.MISS
            fields["canon"] = canonical(parsed.client, ignore, cased=True)
            fields["miss"] = miss.message
            fields["cassette"] = cassette()
        elif exchange is None:  # refused, or answered by localaik (`Local` operations)
            outcome = Outcome.ERROR if failed else Outcome.LOCAL
        elif exchange.hit is not None:
            outcome = Outcome.HIT
            fields["cassette"] = exchange.hit.cassette
        else:
            outcome = Outcome.RECORDED if exchange.recording else Outcome.FORWARDED
        if exchange is not None and exchange.recording:
            fields["recording"] = exchange.recording
        if outcome is Outcome.RECORDED:
            fields["cassette"] = cassette()
        self.publish(method, path, outcome, status, **fields)

    @property
    def last(self) -> int:
        """The sequence number of the newest event (0 before any)."""
        return self._events[-1].seq if self._events else 0

    def after(self, seq: int = 0) -> list[RunEvent]:
        """The events kept whose sequence number is above `seq`, oldest first."""
        return [event for event in list(self._events) if event.seq > seq]

    def get(self, seq: int) -> RunEvent | None:
        """The event numbered `seq`, while it is kept."""
        return next((event for event in list(self._events) if event.seq == seq), None)
