"""Merging two cassettes' recordings: the union, with a 3-way decision where answers differ.

Git cannot merge SQLite files, yet two branches that each recorded new requests have only added
rows: their union is the merge. So recordings are matched by (key, ordinal), and two recordings
of one slot are the same when their answers are equal (`export.answer`: status, content type,
body, frame bytes), whatever their timing or provenance, since they replay the same.

Only a slot whose answers differ needs a decision. With the common ancestor (`base`, as git's
merge driver has it) most decide themselves:

    ours      theirs    base      result
    A         A         any       A (ours' copy)
    A         B         A         B: only theirs changed it
    A         B         B         A: only ours changed it
    A         B         C/none    conflict: ours, or the side `prefer` names
    A         -         A         dropped: theirs deleted it, ours did not touch it
    A         -         C         A: ours changed what theirs deleted
    A         -         none      A: ours added it
    -         B         B         dropped: ours deleted it
    -         B         C         B: theirs changed what ours deleted
    -         B         none      B: theirs added it

This module is pure: lists of recordings in, a result out; reading and writing files is the
command's job (`cli_cassette_upkeep`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from localaik.cassette.export import answer
from localaik.cassette.recording import Recording

Side = Literal["ours", "theirs"]
Slot = tuple[str, int]

SNIPPET = 60


@dataclass(frozen=True)
class Conflict:
    """One slot whose two answers differ and that the base (if any) could not decide."""

    key: str
    ordinal: int
    model: str | None
    differs: str  # "status", "content type", "body" or "frames"
    ours: str  # the first differing text, ours
    theirs: str  # … and theirs
    resolved: Side | None  # the side taken by `prefer`; None: ours kept, unresolved

    def describe(self) -> str:
        """One line for people: which recording, what differs and where."""
        where = f"{self.key[:12]}" + (f" ordinal {self.ordinal}" if self.ordinal else "")
        model = f" model {self.model}" if self.model else ""
        outcome = f"took {self.resolved}" if self.resolved else "kept ours"
        return (
            f"conflict {where}{model}: {self.differs} differs, ours {self.ours!r} vs "
            f"theirs {self.theirs!r} ({outcome})"
        )


@dataclass
class MergeResult:
    """The merged recordings (ours' order first, then theirs' additions) and what happened."""

    recordings: list[Recording] = field(default_factory=list)
    kept: int = 0  # from ours
    added: int = 0  # from theirs: new slots, and theirs' changes taken
    dropped: int = 0  # deleted on one side, unchanged on the other
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Conflict]:
        return [c for c in self.conflicts if c.resolved is None]

    def summary(self) -> str:
        return (
            f"kept {self.kept}, added {self.added} from theirs, dropped {self.dropped}, "
            f"conflicts {len(self.conflicts)}"
        )


def merge(
    ours: Iterable[Recording],
    theirs: Iterable[Recording],
    base: Iterable[Recording] | None = None,
    *,
    prefer: Side | None = None,
) -> MergeResult:
    """The merge of `theirs` into `ours`; `base` is the common ancestor when known (None: no
    base, so every differing answer is a conflict unless `prefer` picks a side)."""
    ours_by = _by_slot(ours)
    theirs_by = _by_slot(theirs)
    base_by = _by_slot(base) if base is not None else {}
    result = MergeResult()
    for slot, mine in ours_by.items():
        other = theirs_by.get(slot)
        old = base_by.get(slot)
        if other is None:
            if old is not None and answer(old) == answer(mine):
                result.dropped += 1  # theirs deleted it; ours left it alone
            else:
                _take(result, mine, "ours")  # added by ours, or changed by ours
            continue
        if answer(mine) == answer(other):
            _take(result, mine, "ours")
        elif old is not None and answer(old) == answer(mine):
            _take(result, other, "theirs")  # only theirs changed it
        elif old is not None and answer(old) == answer(other):
            _take(result, mine, "ours")  # only ours changed it
        else:
            conflict = conflict_between(mine, other, resolved=prefer)
            result.conflicts.append(conflict)
            _take(
                result,
                other if prefer == "theirs" else mine,
                "theirs" if prefer == "theirs" else "ours",
            )
    for slot, other in theirs_by.items():
        if slot in ours_by:
            continue
        old = base_by.get(slot)
        if old is not None and answer(old) == answer(other):
            result.dropped += 1  # ours deleted it; theirs left it alone
        else:
            _take(result, other, "theirs")  # added by theirs, or changed by theirs
    return result


def conflict_between(
    ours: Recording, theirs: Recording, *, resolved: Side | None = None
) -> Conflict:
    """What differs between two answers of one slot, and the first text that differs."""
    if ours.status != theirs.status:
        differs, left, right = "status", str(ours.status), str(theirs.status)
    elif ours.content_type != theirs.content_type:
        differs, left, right = "content type", ours.content_type, theirs.content_type
    elif ours.body != theirs.body:
        differs = "body"
        left, right = first_difference(ours.body or b"", theirs.body or b"")
    else:
        differs = "frames"
        left, right = first_difference(
            b"".join(f.data for f in ours.frames), b"".join(f.data for f in theirs.frames)
        )
    return Conflict(
        ours.key, ours.ordinal, ours.model or theirs.model, differs, left, right, resolved
    )


def first_difference(a: bytes, b: bytes, width: int = SNIPPET) -> tuple[str, str]:
    """The two texts from a little before their first differing byte, `width` characters
    long: enough for a person to see which answer is which without reading both whole."""
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, at - width // 4)
    return (_text(a[start : start + width]), _text(b[start : start + width]))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _by_slot(recordings: Iterable[Recording]) -> dict[Slot, Recording]:
    return {(r.key, r.ordinal): r for r in recordings}


def _take(result: MergeResult, recording: Recording, side: Side) -> None:
    result.recordings.append(dataclasses.replace(recording, id=None))
    if side == "ours":
        result.kept += 1
    else:
        result.added += 1
