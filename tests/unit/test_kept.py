"""The batch engine's kept objects (`families/kept.py`): derived ids and times, bounds, and a
batch's status moved by reads, its members run once, in order, only when it ends."""

from __future__ import annotations

import asyncio

import pytest

from localaik.errors import NotFound
from localaik.families import kept as kept_module
from localaik.families.kept import Batch, Kept, Member, Outcome, made_at


class Runs:
    """A runner that answers each member with its name, and notes what it ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    async def __call__(self, member: Member) -> Outcome:
        self.ran.append(member.name)
        await asyncio.sleep(0)
        return Outcome(200 if member.name != "bad" else 404, {"name": member.name})


def batch(kept: Kept, *names: str) -> Batch:
    digest = kept.new_id("test.batch", list(names))
    made = Batch(digest[:8], made_at(digest), [Member(n, None, None) for n in names], {})
    kept.add("test.batch", made.id, made)
    return made


def test_ids_are_derived_from_content_and_how_many_came_before() -> None:
    first, second = Kept(Runs()), Kept(Runs())
    ids = [first.new_id("k", {"a": 1, "b": [2]}), first.new_id("k", {"b": [2], "a": 1})]
    assert ids[0] != ids[1]  # the same content made twice: the next id
    # Another server (another run, another machine) makes the same ids in the same order.
    assert [second.new_id("k", {"a": 1, "b": [2]}) for _ in range(2)] == ids
    assert first.new_id("other", {"a": 1, "b": [2]}) not in ids
    assert made_at(ids[0]) == made_at(ids[0]) and made_at(ids[0]).year == 2025


def test_objects_are_bounded_the_oldest_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kept_module, "LIMIT", 3)
    kept = Kept(Runs())
    for i in range(5):
        kept.add("k", f"n{i}", i)
    assert kept.all("k") == [2, 3, 4]
    with pytest.raises(NotFound, match="thing 'n0' not found"):
        kept.get("k", "n0", "thing")


async def test_a_batch_ends_after_its_polls_and_runs_its_members_once() -> None:
    runs = Runs()
    kept = Kept(runs, polls=2)
    made = batch(kept, "a", "bad", "c")
    for _ in range(2):
        await kept.read(made)
        assert not made.ended and runs.ran == []
    await kept.read(made)
    await kept.read(made)
    assert made.ended and runs.ran == ["a", "bad", "c"]
    assert made.outcomes is not None
    assert [outcome.ok for outcome in made.outcomes] == [True, False, True]


async def test_concurrent_reads_run_the_members_once() -> None:
    runs = Runs()
    kept = Kept(runs)
    made = batch(kept, "a", "b")
    await asyncio.gather(*(kept.read(made) for _ in range(5)))
    assert runs.ran == ["a", "b"]


async def test_a_canceled_batch_ends_with_no_member_run() -> None:
    runs = Runs()
    kept = Kept(runs, polls=5)
    made = batch(kept, "a")
    made.canceled = True
    await kept.read(made)
    assert made.ended and made.outcomes is None and runs.ran == []


def test_a_member_check_refuses_at_create() -> None:
    def check(member: Member) -> None:
        if member.name == "bad":
            raise ValueError(member.name)

    kept = Kept(Runs(), check=check)
    kept.check(Member("good", None, None))
    with pytest.raises(ValueError):
        kept.check(Member("bad", None, None))
