"""What the APIs keep between requests (batches, cached contents): one cassette's objects, held
in memory by the server, with the ids and times the real APIs would invent made deterministic.

A batch job or a cached content is made by one request and read by the next ones, so unlike
everything else localaik answers it is state. It is not recorded: a batch is recorded as its
member requests (each an ordinary recording of its operation, so a change to one member misses
only that member), and a cached content is expanded into each request that names it before the
request is keyed. What a test needs to see the same in record and in replay is everything the
real API invents: ids and times. Both are derived from the object's content and how many
objects of that content this cassette made before (`Kept.made`), never from a clock or a random
source, so the same test gets the same ids on any machine, whichever tests ran before it.

A batch (`Batch`) moves through its states by reads (D-batch): each `get` of a batch in progress
counts, and after `polls` of them (`LK_BATCH_POLLS`, default 0: the first read after create)
it ends: its members run then, in order, each through the normal pipeline path of its
operation (`Runner`, given by the server: a hit or a typed miss in replay, forwarded and
recorded in record mode). A batch canceled before that ends with every member canceled, and
runs none. So the statuses a client sees are the same in record and in replay.

Bounded: `LIMIT` objects of each kind, the oldest made dropped first.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localaik.errors import BadRequest, NotFound

LIMIT = 1000
# Made-up times start here: a fixed day, plus an offset from the object's id.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPREAD = 365 * 24 * 3600  # seconds the offsets spread over


@dataclass(frozen=True)
class Member:
    """One request of a batch: the caller's name for it, the operation that serves it and the
    request as that operation reads it (`operation.Request`)."""

    name: str
    operation: Any
    request: Any


@dataclass(frozen=True)
class Outcome:
    """A member's answer: its status and its JSON body (the family's error envelope when the
    status is 400 or more, a replay miss's explanation included)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 400


Runner = Callable[[Member], Awaitable[Outcome]]
Check = Callable[[Member], None]  # every check of a member's request: a 4xx when it is bad


def _unchecked(member: Member) -> None:
    return None


@dataclass
class Batch:
    """A batch job: its members, and once ended their outcomes (None: canceled, none ran)."""

    id: str
    created: datetime
    members: list[Member]
    fields: dict[str, Any]  # what the family keeps as the client gave it (display name, model)
    reads: int = 0
    canceled: bool = False
    ended: bool = False
    outcomes: list[Outcome] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def at(self, seconds: int) -> datetime:
        """A time `seconds` after the batch was made (when it ended, was canceled, expires)."""
        return self.created + timedelta(seconds=seconds)


class Kept:
    """One cassette's objects, by kind (`"anthropic.batch"`, `"gemini.cachedContent"`), in the
    order they were made. `run` answers a batch member, `check` refuses a bad one at create
    (the translation's checks, as a replay miss would make them); `polls` is how many reads
    of a batch still find it in progress."""

    def __init__(self, run: Runner, polls: int = 0, check: Check = _unchecked) -> None:
        self.run = run
        self.polls = polls
        self.check = check
        self.objects: dict[str, OrderedDict[str, Any]] = {}
        self.made: dict[tuple[str, str], int] = {}  # (kind, content digest) -> how many
        self.looks = 0  # lookups made: a request answered from kept objects is not memoised

    def new_id(self, kind: str, content: Any) -> str:
        """A hex digest for the next object of `kind` with this content: the same for the n-th
        such object in any run."""
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        count = self.made.get((kind, digest), 0)
        self.made[(kind, digest)] = count + 1
        return hashlib.sha256(f"{kind}\n{digest}\n{count}".encode()).hexdigest()

    def checked(self, member: Member, where: str) -> Member:
        """`member`, checked whole (`check`); a BadRequest names where it is (`requests[1]`)."""
        try:
            self.check(member)
        except BadRequest as exc:
            raise BadRequest(f"{where}: {exc.message}", param=where) from exc
        return member

    def add(self, kind: str, name: str, value: Any) -> None:
        shelf = self.objects.setdefault(kind, OrderedDict())
        shelf[name] = value
        while len(shelf) > LIMIT:
            shelf.popitem(last=False)

    def get(self, kind: str, name: str, what: str) -> Any:
        """The object `name` of `kind`; NotFound naming `what` it is when there is none."""
        found = self.find(kind, name)
        if found is None:
            raise NotFound(f"{what} {name!r} not found (localaik keeps what this server made)")
        return found

    def find(self, kind: str, name: str) -> Any:
        self.looks += 1
        shelf = self.objects.get(kind)
        return None if shelf is None else shelf.get(name)

    def all(self, kind: str) -> list[Any]:
        """The objects of `kind`, oldest first."""
        shelf = self.objects.get(kind)
        return [] if shelf is None else list(shelf.values())

    def remove(self, kind: str, name: str) -> None:
        shelf = self.objects.get(kind)
        if shelf is not None:
            shelf.pop(name, None)

    # -- batches ---------------------------------------------------------------------------

    async def read(self, batch: Batch) -> None:
        """A client's read of `batch`: counted while it is in progress; the read after `polls`
        of them ends it (its members run now)."""
        if batch.ended:
            return
        batch.reads += 1
        if batch.reads > self.polls or batch.canceled:
            await self.finish(batch)

    async def finish(self, batch: Batch) -> None:
        """End `batch`: its members answered in order, or none when it was canceled."""
        async with batch.lock:
            if batch.ended:
                return
            if not batch.canceled:
                batch.outcomes = [await self.run(member) for member in batch.members]
            batch.ended = True


def made_at(digest: str) -> datetime:
    """The made-up creation time of the object whose id digest is `digest`, to the second."""
    return EPOCH + timedelta(seconds=int(digest[:12], 16) % SPREAD)


def rfc3339(when: datetime) -> str:
    """A time as the APIs write it: `2025-03-01T12:00:00Z`."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
