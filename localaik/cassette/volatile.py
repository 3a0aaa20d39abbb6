"""What changes between two recordings of the same answer: the upstream's volatile fields.

Recording the same questions twice from the same model gives the same answers, yet not the same
bytes: an OpenAI-compatible upstream stamps every answer with a fresh `id` and the time it was
`created`, llama-server adds how long it took (`timings`) and the ids of tool calls are random;
`system_fingerprint` names the build. `steady` gives a recording with each of these set to one
placeholder (`timings` left out), so `cassette diff` can compare two recordings as their
clients see them and name the volatile fields that told them apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from localaik.cassette.recording import Frame, Recording
from localaik.upstream.chunks import is_done
from localaik.wire import jsontext, sse

# Top-level members of a chat completion (or chunk) that say nothing about the answer, and the
# value they all get; None leaves the member out.
PLACEHOLDERS: dict[str, Any] = {
    "id": "chatcmpl-steady",
    "created": 0,
    "system_fingerprint": "steady",
    "timings": None,
}
TOOL_CALL_ID = "tool_calls[].id"


@dataclasses.dataclass
class Steadied:
    """A recording with its volatile fields steadied, and the values they held, by field."""

    recording: Recording
    values: dict[str, list[Any]]


def steady(recording: Recording) -> Steadied:
    """`recording` with every volatile field of its answer (body or stream frames) steadied."""
    values: dict[str, list[Any]] = {}
    calls: dict[str, str] = {}  # a tool call's id, and its placeholder (`call_<n>`)
    body = recording.body
    if body is not None:
        body = _steadied_json(body, values, calls) or body
    frames = [
        Frame(frame.offset_ms, _steadied_frame(frame.data, values, calls))
        for frame in recording.frames
    ]
    return Steadied(dataclasses.replace(recording, body=body, frames=frames), values)


def differing(left: Steadied, right: Steadied) -> list[str]:
    """The volatile fields whose values told two recordings apart, sorted."""
    return sorted(
        name
        for name in left.values.keys() | right.values.keys()
        if left.values.get(name) != right.values.get(name)
    )


def _steadied_frame(data: bytes, values: dict[str, list[Any]], calls: dict[str, str]) -> bytes:
    event = sse.parse_frame(data)
    if event is None or is_done(event.data):
        return data
    steadied = _steadied_json(event.data.encode(), values, calls)
    return data if steadied is None else b"data: " + steadied + b"\n\n"


def _steadied_json(
    text: bytes, values: dict[str, list[Any]], calls: dict[str, str]
) -> bytes | None:
    """The JSON answer (or chunk) with its volatile fields steadied; None if it is no object."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    for name, placeholder in PLACEHOLDERS.items():
        if name in value:
            values.setdefault(name, []).append(value[name])
            if placeholder is None:
                del value[name]
            else:
                value[name] = placeholder
    for call in _tool_calls(value):
        values.setdefault(TOOL_CALL_ID, []).append(call["id"])
        call["id"] = calls.setdefault(json.dumps(call["id"]), f"call_{len(calls)}")
    return jsontext.dumps(value).encode()


def _tool_calls(answer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The tool calls of an answer's or a chunk's choices that carry an id."""
    choices = answer.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        for holder in (choice.get("message"), choice.get("delta")):
            found = holder.get("tool_calls") if isinstance(holder, dict) else None
            for call in found if isinstance(found, list) else []:
                if isinstance(call, dict) and "id" in call:
                    yield call
