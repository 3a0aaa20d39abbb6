"""What a replay miss says (D5): the nearest recordings and the JSON paths that differ.

A miss in CI is only useful if it says *why*: "no recording" alone sends the developer
diffing cassettes by hand. So the miss message names the cassette, the key and the mode, then
the recordings that look most like the request, each with the paths whose values differ
(`contents[1].parts[0].text`, `generationConfig.temperature`) and short previews of both
values, then how to record.

Finding the nearest recordings must stay fast in a cassette of 10,000+ recordings, so
`NearestIndex` turns each recorded canonical request into a set of hashed features once (every
leaf as (path, value), every leaf path alone, and the family, operation, model and stream) and
keeps an inverted index from feature to recordings. A query counts shared features per
recording through the postings of its own features only, and ranks by Jaccard similarity;
recordings of the same family and operation come before any other. Features are taken from the
request in its family's one dialect (`key.comparable`): the size of the difference that matters
to the model, so a recording that differs only in how a tool schema is spelled (Gemini's
`parameters` against `parametersJsonSchema`) ranks first, not behind recordings of other
prompts. The first candidate's differences are all shown: the one that decides may be last.

A miss message quotes the request, and requests may hold keys: every value it quotes is
redacted whole before it is cut to a preview (`[redacted aws-access-key]`), so neither a token
nor a piece of one reaches the message, the log or the client.
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
from localaik.cassette.tokens import redact

DIFFERENCES_SHOWN = 10  # per recording in a miss message, but the first (all of its)
PREVIEW = 48  # characters of a value shown in a miss message
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
        if not _same(a, b):
            out.append(Difference(name, a, b))
    body_ours, body_theirs = ours.get("body", MISSING), theirs.get("body", MISSING)
    if isinstance(body_ours, dict) and isinstance(body_theirs, dict):
        _walk(body_ours, body_theirs, "", out)
    elif not _same(body_ours, body_theirs):
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
            _walk(a.get(name, MISSING), b.get(name, MISSING), _join(path, name), out)
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            _walk(
                a[index] if index < len(a) else MISSING,
                b[index] if index < len(b) else MISSING,
                f"{path}[{index}]",
                out,
            )
    elif not _same(a, b):
        out.append(Difference(path or "body", a, b))


def _same(a: Any, b: Any) -> bool:
    """Equality that tells `1` from `True` and `1` from `1.0`, as the key does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _join(path: str, name: str) -> str:
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
        for summary in summaries:
            self.add(summary)

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, summary: Summary) -> None:
        """Index one recording; a recording for the same (key, ordinal) replaces the old one."""
        features = _features(comparable(_parse(summary)))
        slot = len(self._entries)
        old = self._slots.get((summary.key, summary.ordinal))
        if old is not None:
            self._entries[old].live = False
        self._slots[(summary.key, summary.ordinal)] = slot
        self._entries.append(_Entry(summary, (summary.family, summary.operation), len(features)))
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

        Order: same family and operation first, then higher Jaccard similarity of features,
        then the more recently recorded, then the higher row id (so ties are deterministic).
        """
        if limit <= 0 or not self._slots:
            return []
        features = _features(comparable(canon))
        shared = Counter(
            itertools.chain.from_iterable(self._postings.get(feature, ()) for feature in features)
        )
        group = (canon.get("family"), canon.get("operation"))
        size = len(features)
        entries = self._entries

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

        candidates: Iterable[int] = (slot for slot in shared if entries[slot].live)
        if sum(1 for slot in shared if entries[slot].live) < limit:
            candidates = (slot for slot, entry in enumerate(entries) if entry.live)
        best = heapq.nlargest(limit, candidates, key=rank)
        return [
            (entries[slot].summary, differences(canon, _parse(entries[slot].summary)))
            for slot in best
        ]


def _parse(summary: Summary) -> Any:
    """The recorded canonical request; None if the text is not JSON (a damaged row)."""
    try:
        return json.loads(summary.request)
    except ValueError:
        return None


# -- the message -------------------------------------------------------------------------------

HOW_TO_RECORD = (
    "set LK_MODE=record (or --mode record) with a model running, then commit the cassette"
)
# Mode `once` replays a cassette that existed when the process first used it.
ONCE_EXISTED = "the cassette existed when localaik first used it, so `once` records nothing in it"
HOW_TO_RECORD_ONCE = (
    "delete the cassette and run again in mode once (it records the cassette anew), or run in "
    "mode record (VCR's new_episodes) to add this request to it, with a model running; then "
    "commit the cassette"
)


def miss_message(
    *,
    cassette: str,
    key: str,
    mode: str,
    canon: dict[str, Any],
    nearest: list[tuple[Summary, list[Difference]]],
) -> str:
    """The text of a replay miss: what missed, what came closest and why, how to record it."""
    lines = [
        f"replay miss: no recording matches this {_describe(canon)} request",
        f"  cassette: {cassette}",
        f"  key:      {key}",
        f"  mode:     {mode}" + (f" ({ONCE_EXISTED})" if mode == "once" else ""),
    ]
    if not nearest:
        lines.append(
            "The cassette holds no recordings (it is empty or missing), so there is "
            "nothing to compare with."
        )
    else:
        lines.append("Nearest recordings, with what differs (this request, then the recording):")
        for number, (summary, diffs) in enumerate(nearest, 1):
            model = summary.model if summary.model is not None else "(no model)"
            stream = " stream" if summary.stream else ""
            ordinal = f" #{summary.ordinal}" if summary.ordinal else ""
            lines.append(
                f"  {number}. {summary.key[:12]}{ordinal}  {summary.family} "
                f"{summary.operation} {model}{stream}, recorded {summary.recorded_at}"
            )
            if not diffs:
                lines.append(
                    "     the same canonical request, under another key (recorded "
                    "by another localaik version?)"
                )
            if diffs and _same(comparable(canon), comparable(_parse(summary))):
                lines.append(
                    "     only the spelling differs (a tool or response schema in the other "
                    "dialect): the model gets the same request; record it in this spelling"
                )
            shown = diffs if number == 1 else diffs[:DIFFERENCES_SHOWN]
            for diff in shown:
                ours, theirs = _previews(diff.ours, diff.theirs)
                lines.append(f"     {diff.path}: {ours} here, {theirs} recorded")
            if len(diffs) > len(shown):
                lines.append(f"     … and {len(diffs) - len(shown)} more")
    lines.append(f"To record it: {HOW_TO_RECORD_ONCE if mode == 'once' else HOW_TO_RECORD}.")
    if nearest:
        lines.append(
            "If a differing field is volatile (an id, a timestamp), add its path to "
            "LK_IGNORE so that it leaves the key."
        )
    # Values were redacted before they were cut; this catches what is quoted whole (a model
    # name, a path through a key named like a token).
    return redact("\n".join(lines))


def _describe(canon: dict[str, Any]) -> str:
    parts = [str(canon.get("family")), str(canon.get("operation"))]
    if canon.get("model") is not None:
        parts.append(str(canon["model"]))
    if canon.get("stream"):
        parts.append("stream")
    return " ".join(parts)


def _previews(ours: Any, theirs: Any) -> tuple[str, str]:
    """Short forms of two values; two long strings are shown from where they start to differ."""
    ours, theirs = _redacted(ours), _redacted(theirs)
    if type(ours) is str and type(theirs) is str:  # not _Json
        common = len(_common_prefix(ours, theirs))
        start = max(0, common - PREVIEW // 3) if common > PREVIEW // 2 else 0
        return _preview(ours, start), _preview(theirs, start)
    return _preview(ours), _preview(theirs)


def _redacted(value: Any) -> Any:
    """A value safe to preview: a string redacted whole; an object or array as its JSON text,
    redacted (a token in it would otherwise be cut, and a piece of it shown)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict | list):
        return _Json(redact(_dumps(value)))
    return value


class _Json(str):
    """JSON text a preview shows as it is (not as a quoted string)."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _common_prefix(a: str, b: str) -> str:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return a[:index]
    return a[: min(len(a), len(b))]


def _preview(value: Any, start: int = 0) -> str:
    if value is MISSING:
        return "(absent)"
    if isinstance(value, _Json):
        return value if len(value) <= PREVIEW else value[: PREVIEW - 1] + "…"
    if isinstance(value, str):
        text = json.dumps(value[start : start + PREVIEW], ensure_ascii=False)[1:-1]
        head = "…" if start else ""
        tail = "…" if len(value) > start + PREVIEW else ""
        size = f" ({len(value)} chars)" if head or tail else ""
        return f'"{head}{text}{tail}"{size}'
    text = _dumps(value)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"
