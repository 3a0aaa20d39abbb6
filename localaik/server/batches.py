"""The batch engine's server side: each cassette's kept objects (`families.kept.Kept`), and a
batch member run through the normal pipeline path of its operation.

Batches and cached contents live in memory, per cassette (the `X-Localaik-Cassette` header's,
else the server's default, which the pytest plugin switches per test), so two tests on two
cassettes never see each other's. A member of a batch is answered as if its client had sent it
alone, without HTTP: parsed by its operation, then replayed or recorded by the policy (the
cassette's, single flight, secrets refused as for any recording), then rendered; any error in
its family's envelope, so a replay miss's explanation is that member's result. The families
read batches and make their own shapes; nothing here names one.

Bounded: `CASSETTES` cassettes' objects, the least recently used dropped first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from localaik.families.kept import Check, Kept, Member, Outcome

CASSETTES = 64

MemberRun = Callable[[Member, str | None], Awaitable[tuple[int, bytes]]]


class Shelves:
    """Every cassette's kept objects; `run` answers one member on a cassette (status, body),
    `check` refuses a bad one when its batch is made."""

    def __init__(self, run: MemberRun, check: Check, polls: int) -> None:
        self._run = run
        self._check = check
        self.polls = polls
        self.kept: OrderedDict[Path, Kept] = OrderedDict()

    def of(self, path: Path, cassette: str | None) -> Kept:
        """The kept objects of the cassette file at `path`, which a request names by
        `cassette` (its header; None: the server's default)."""
        found = self.kept.get(path)
        if found is None:
            found = self.kept[path] = Kept(self._runner(cassette), self.polls, self._check)
            while len(self.kept) > CASSETTES:
                self.kept.popitem(last=False)
        else:
            self.kept.move_to_end(path)
        return found

    def _runner(self, cassette: str | None) -> Callable[[Member], Awaitable[Outcome]]:
        async def run(member: Member) -> Outcome:
            status, body = await self._run(member, cassette)
            return Outcome(status, json.loads(body) if body else None)

        return run
