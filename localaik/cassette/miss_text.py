"""What a replay miss says (D5): its gist, what came closest and why, and how to record it.

The first line is the gist, readable alone: the request that missed and what the nearest
recording differs in (`localaik replay miss: no recording matches this gemini generateContent
gemini-2.5-flash request; the nearest recording (3f2a…) differs in contents[0].parts[0].text`).
Some SDKs show an error's whole body escaped on one line (`families/rendering.py:one_line`), and
the pytest plugin shows the whole text in its own report, so the answer then carries only this
line. The lines after it name the cassette, the key and the mode, then the nearest recordings
(`miss.py`), each with the paths whose values differ and short previews of both values, then
how to record, in the words of the way localaik was started (`Reporting`): a user of the
pytest plugin records with `--localaik-mode record`, one of `localaik serve` with `--mode
record` or `LK_MODE=record`.

A miss message quotes the request, and requests may hold keys: every value it quotes is
redacted whole before it is cut to a preview (`[redacted aws-access-key]`), so neither a token
nor a piece of one reaches the message, the log or the client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from localaik.cassette.key import comparable
from localaik.cassette.miss import MISSING, Difference, recorded_request, same
from localaik.cassette.recording import Summary
from localaik.cassette.tokens import redact

DIFFERENCES_SHOWN = 10  # per recording in a miss message, but the first (all of its)
PATHS_IN_GIST = 2  # paths the first line names
PREVIEW = 48  # characters of a value shown in a miss message


@dataclass(frozen=True)
class Reporting:
    """How a miss reaches the developer, by the way localaik was started.

    `record_with`: how to record the request that missed, in the words of that way.
    `shown_by`: where the whole text is shown when the host shows it itself (the pytest
    plugin's report of the test); the answer and the log then carry only the first line.
    """

    record_with: str
    shown_by: str | None = None

    def answer(self, text: str) -> str:
        """The message a client's SDK gets for a miss whose whole text is `text`."""
        if self.shown_by is None:
            return text
        return f"{gist(text)} (the whole miss: {self.shown_by})"


# Mode `once` replays a cassette that existed when the process first used it.
ONCE_EXISTED = "the cassette existed when localaik first used it, so `once` records nothing in it"


SERVE = Reporting(record_with="set LK_MODE=record (or start `localaik serve --mode record`)")
"""`localaik serve` and any other start that shows misses through its answers and log."""


def gist(text: str) -> str:
    """The first line of a miss message: readable alone."""
    return text.split("\n", 1)[0]


def miss_message(
    *,
    cassette: str,
    key: str,
    mode: str,
    canon: dict[str, Any],
    nearest: list[tuple[Summary, list[Difference]]],
    reporting: Reporting = SERVE,
) -> str:
    """The text of a replay miss: what missed, what came closest and why, how to record it."""
    group = (canon.get("family"), canon.get("operation"))
    related = bool(nearest) and (nearest[0][0].family, nearest[0][0].operation) == group
    lines = [
        f"localaik replay miss: no recording matches this {_describe(canon)} request; "
        + _nearest_in_brief(canon, nearest, related),
        f"  cassette: {cassette}",
        f"  key: {key}",
        f"  mode: {mode}" + (f" ({ONCE_EXISTED})" if mode == "once" else ""),
    ]
    if not nearest:
        lines.append(
            "The cassette holds no recordings (it is empty or missing), so there is "
            "nothing to compare with."
        )
    else:
        if related:
            lines.append(
                "Nearest recordings, with what differs (this request, then the recording):"
            )
        else:
            lines.append(
                f"No recording of {group[0]} {group[1]} in this cassette; the nearest of other "
                "operations, with what differs (this request, then the recording):"
            )
        for number, (summary, diffs) in enumerate(nearest, 1):
            lines.extend(_recording(number, summary, diffs, canon))
    if mode == "once":
        lines.append(
            "To record it: delete the cassette and run again in mode once (it records the "
            f"cassette anew), or, to add this request to it, {reporting.record_with} (VCR's "
            "new_episodes), with a model running; then commit the cassette."
        )
    else:
        lines.append(
            f"To record it: {reporting.record_with}, with a model running, then commit the "
            "cassette."
        )
    if nearest:
        lines.append(
            "If a differing field is volatile (an id, a timestamp), add its path to "
            "LK_IGNORE so that it leaves the key."
        )
    # Values were redacted before they were cut; this catches what is quoted whole (a model
    # name, a path through a key named like a token).
    return redact("\n".join(lines))


def _nearest_in_brief(
    canon: dict[str, Any], nearest: list[tuple[Summary, list[Difference]]], related: bool
) -> str:
    if not nearest:
        return "the cassette holds no recordings"
    if not related:
        return f"the cassette holds none of {canon.get('family')} {canon.get('operation')}"
    summary, diffs = nearest[0]
    if not diffs:
        return f"the nearest recording ({summary.key[:12]}) is the same request under another key"
    paths = [diff.path for diff in diffs[:PATHS_IN_GIST]]
    if len(diffs) > PATHS_IN_GIST:
        paths.append(f"{len(diffs) - PATHS_IN_GIST} more")
    named = paths[0] if len(paths) == 1 else ", ".join(paths[:-1]) + " and " + paths[-1]
    return f"the nearest recording ({summary.key[:12]}) differs in {named}"


def _recording(
    number: int, summary: Summary, diffs: list[Difference], canon: dict[str, Any]
) -> list[str]:
    model = summary.model if summary.model is not None else "(no model)"
    stream = " stream" if summary.stream else ""
    ordinal = f" #{summary.ordinal}" if summary.ordinal else ""
    lines = [
        f"  {number}. {summary.key[:12]}{ordinal}  {summary.family} "
        f"{summary.operation} {model}{stream}, recorded {summary.recorded_at}"
    ]
    if not diffs:
        lines.append(
            "     the same canonical request, under another key (recorded "
            "by another localaik version?)"
        )
    if diffs and same(comparable(canon), comparable(recorded_request(summary))):
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
    return lines


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
