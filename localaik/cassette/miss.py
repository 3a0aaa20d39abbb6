"""What a replay miss compares (D5): the nearest recordings and the JSON paths that differ.

A miss in CI is only useful if it says *why*: "no recording" alone sends the developer
diffing cassettes by hand. So the miss message (`miss_text.py`) names the recordings that look
most like the request, each with the paths whose values differ (`contents[1].parts[0].text`,
`generationConfig.temperature`); this module finds them and the differences.

Finding the nearest recordings must stay fast in a cassette of 10,000+ recordings, so
`NearestIndex` turns each recorded canonical request into a set of hashed features once (every
leaf as (path, value), every leaf path alone, and the family, operation, model and stream) and
keeps an inverted index from feature to recordings. A query counts shared features per
recording through the postings of its own features only, and ranks by Jaccard similarity.
Only recordings of the request's family and operation are candidates while the cassette holds
any: one of another API differs in every path, and listing it only hides the recordings that
matter. Features are taken from the request in its family's one dialect (`key.comparable`):
the size of the difference that matters to the model, so a recording that differs only in how
a tool schema is spelled (Gemini's `parameters` against `parametersJsonSchema`) ranks first,
not behind recordings of other prompts.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from localaik.cassette.key import comparable
from localaik.cassette.recording import Summary

_TOP = ("family", "operation", "model", "stream")
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


class _Missing(Enum):
    MISSING = "missing"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing.MISSING
"""The value on the side of a `Difference` where the path does not exist."""


@dataclass(frozen=True)
class Difference:
    """One path whose value differs between the request that missed and a recording."""

    path: str  # "contents[1].parts[0].text", "generationConfig.temperature", "model"
    ours: Any  # the value in the request that missed (MISSING when absent)
    theirs: Any  # the value in the recording (MISSING when absent)


# -- differences -------------------------------------------------------------------------------


def differences(ours: Any, theirs: Any) -> list[Difference]:
    """Every path where two canonical requests differ, in path order.

    Top-level fields (`family`, `operation`, `model`, `stream`) come first, under their own
    names; body paths follow without the `body.` prefix. A changed leaf, a changed type and an
    array element present on one side only are each one difference; objects and arrays are
    walked, so a difference is reported at the deepest path that shows it.
    """
    out: list[Difference] = []
    if not (isinstance(ours, dict) and isinstance(theirs, dict)):
        _walk(ours, theirs, "", out)
        return out
    for name in _TOP:
        a, b = ours.get(name, MISSING), theirs.get(name, MISSING)
        if not same(a, b):
            out.append(Difference(name, a, b))
    body_ours, body_theirs = ours.get("body", MISSING), theirs.get("body", MISSING)
    if isinstance(body_ours, dict) and isinstance(body_theirs, dict):
        _walk(body_ours, body_theirs, "", out)
    elif not same(body_ours, body_theirs):
        out.append(Difference("body", body_ours, body_theirs))
    return out


def _walk(a: Any, b: Any, path: str, out: list[Difference]) -> None:
    # An object member present on one side only is shown leaf by leaf
    # (`generationConfig.temperature: 0.5 vs (absent)`); a whole extra array element stays one
    # line.
    if not path.endswith("]"):
        if a is MISSING and isinstance(b, dict) and b:
            a = {}
        elif b is MISSING and isinstance(a, dict) and a:
            b = {}
    if isinstance(a, dict) and isinstance(b, dict):
        for name in sorted(a.keys() | b.keys()):
            _walk(a.get(name, MISSING), b.get(name, MISSING), join_path(path, name), out)
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            _walk(
                a[index] if index < len(a) else MISSING,
                b[index] if index < len(b) else MISSING,
                f"{path}[{index}]",
                out,
            )
    elif not same(a, b):
        out.append(Difference(path or "body", a, b))


def same(a: Any, b: Any) -> bool:
    """Equality that tells `1` from `True` and `1` from `1.0`, as the key does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def join_path(path: str, name: str) -> str:
    """The path of member `name` below `path`, as a `Difference` names it."""
    if _PLAIN_KEY.match(name):
        return f"{path}.{name}" if path else name
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"


# -- nearest recordings ------------------------------------------------------------------------


def _features(canon: Any) -> set[int]:
    """Hashed features of a canonical request: leaves with their values, and leaf paths alone.

    Path-only features make a recording that differs in one value rank above one with a
    different shape. Values are tagged with their type, so `1`, `1.0` and `True` differ. Paths
    are hashed step by step (an explicit stack, no recursion): this runs once per recording
    when a cassette's index is built, so it is the build time.
    """
    out: set[int] = set()
    if not isinstance(canon, dict):
        return out
    for name in _TOP:
        value = canon.get(name)
        out.add(hash(("$" + name, type(value).__name__, value)))
    stack: list[tuple[Any, int]] = [(canon.get("body"), 0)]
    while stack:
        value, path = stack.pop()
        kind = type(value)
        if kind is dict and value:
            stack.extend([(item, hash((path, name))) for name, item in value.items()])
        elif kind is list and value:
            stack.extend([(item, hash((path, index))) for index, item in enumerate(value)])
        else:
            if kind is dict or kind is list:
                value = "{}" if kind is dict else "[]"
            out.add(path)
            out.add(hash((path, kind.__name__, value)))
    return out


@dataclass
class _Entry:
    summary: Summary
    group: tuple[str, str]
    size: int  # number of features
    live: bool = True  # False once a later recording replaced the same (key, ordinal)


class NearestIndex:
    """Finds the recordings closest to a request; fast with 10,000+ recordings."""

    def __init__(self, summaries: Iterable[Summary]) -> None:
        self._entries: list[_Entry] = []
        self._postings: dict[int, list[int]] = {}
        self._slots: dict[tuple[str, int], int] = {}
        self._groups: Counter[tuple[str, str]] = Counter()  # live recordings per group
        for summary in summaries:
            self.add(summary)

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, summary: Summary) -> None:
        """Index one recording; a recording for the same (key, ordinal) replaces the old one."""
        features = _features(comparable(recorded_request(summary)))
        slot = len(self._entries)
        old = self._slots.get((summary.key, summary.ordinal))
        if old is not None:
            self._entries[old].live = False
            self._groups[self._entries[old].group] -= 1
        self._slots[(summary.key, summary.ordinal)] = slot
        group = (summary.family, summary.operation)
        self._groups[group] += 1
        self._entries.append(_Entry(summary, group, len(features)))
        postings = self._postings
        for feature in features:
            posting = postings.get(feature)
            if posting is None:
                postings[feature] = [slot]
            else:
                posting.append(slot)

    def nearest(
        self, canon: dict[str, Any], limit: int = 3
    ) -> list[tuple[Summary, list[Difference]]]:
        """The `limit` closest recordings, each with its differences from `canon`.

        Recordings of the request's family and operation only, while there are any; else the
        others. Order: higher Jaccard similarity of features, then the more recently recorded,
        then the higher row id (so ties are deterministic).
        """
        if limit <= 0 or not self._slots:
            return []
        features = _features(comparable(canon))
        shared = Counter(
            itertools.chain.from_iterable(self._postings.get(feature, ()) for feature in features)
        )
        group = (str(canon.get("family")), str(canon.get("operation")))
        size = len(features)
        entries = self._entries
        only = group if self._groups[group] else None

        def eligible(slot: int) -> bool:
            entry = entries[slot]
            return entry.live and (only is None or entry.group == only)

        def rank(slot: int) -> tuple[bool, float, str, int]:
            entry = entries[slot]
            common = shared.get(slot, 0)
            union = size + entry.size - common
            return (
                entry.group == group,
                common / union if union else 1.0,
                entry.summary.recorded_at,
                -1 if entry.summary.id is None else entry.summary.id,
            )

        candidates = [slot for slot in shared if eligible(slot)]
        if len(candidates) < limit:
            candidates = [slot for slot in range(len(entries)) if eligible(slot)]
        best = heapq.nlargest(limit, candidates, key=rank)
        return [
            (entries[slot].summary, differences(canon, recorded_request(entries[slot].summary)))
            for slot in best
        ]


def recorded_request(summary: Summary) -> Any:
    """The recorded canonical request; None if the text is not JSON (a damaged row)."""
    try:
        return json.loads(summary.request)
    except ValueError:
        return None
