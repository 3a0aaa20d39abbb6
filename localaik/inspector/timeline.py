"""A recorded stream as a timeline: each frame at its recorded offset, with the text it carries.

The frames are the upstream's (an OpenAI-compatible chat-completions stream, whatever family
the client spoke), so one reading serves every recording: a frame's text is its deltas' content,
reasoning and tool-call arguments. The plot is inline SVG (no script): one mark per frame along
a time axis, its text in the mark's tooltip, and every frame listed beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from localaik.cassette.recording import Frame
from localaik.inspector.markup import Html, join, table, tag
from localaik.wire import sse

WIDTH, HEIGHT, LEFT, RIGHT, TOP, AXIS = 900, 136, 40, 20, 40, 106
LABELS = 80  # frames up to which each mark is labelled with its text (beyond: tooltips only)
LABEL_CHARS = 14


def frame_text(data: bytes) -> str:
    """The text one upstream frame carries ("" for none: a role, a finish, `[DONE]`)."""
    event = sse.parse_frame(data)
    if event is None or not event.data or event.data.strip() == "[DONE]":
        return ""
    try:
        value = json.loads(event.data)
    except ValueError:
        return ""
    return "".join(_deltas(value))


def _deltas(value: Any) -> list[str]:
    out: list[str] = []
    choices = value.get("choices") if isinstance(value, dict) else None
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        for field in ("reasoning_content", "content"):
            if isinstance(delta.get(field), str):
                out.append(delta[field])
        for call in delta.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                out.append(str(function.get("name") or "") + str(function.get("arguments") or ""))
    return out


def timeline(frames: Sequence[Frame]) -> Html:
    """The SVG plot of `frames` over time, then the list of frames with their text."""
    if not frames:
        return tag("p", "No frames.")
    end = max(frame.offset_ms for frame in frames) or 1.0
    span = WIDTH - LEFT - RIGHT
    marks = []
    for index, frame in enumerate(frames):
        x = LEFT + frame.offset_ms / end * span
        said = frame_text(frame.data)
        marks.append(
            tag(
                "rect",
                tag("title", f"#{index} at {frame.offset_ms:.1f} ms: {said!r}"),
                x=f"{x:.1f}",
                y=str(TOP + (AXIS - TOP) // 2 if not said else TOP),
                width="2",
                height=str((AXIS - TOP) // 2 if not said else AXIS - TOP),
                class_="frame" if said else "frame empty",
                data_offset=f"{frame.offset_ms:.1f}",
            )
        )
        if said and len(frames) <= LABELS:
            short = said if len(said) <= LABEL_CHARS else said[: LABEL_CHARS - 1] + "…"
            marks.append(
                tag("text", short, x=f"{x:.1f}", y=str(14 + 13 * (index % 2)), class_="said")
            )
    ticks = []
    for step in range(5):
        ms = end * step / 4
        x = LEFT + span * step / 4
        ticks.append(tag("line", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=str(AXIS), y2=str(AXIS + 5)))
        ticks.append(tag("text", f"{ms:.0f} ms", x=f"{x:.1f}", y=str(AXIS + 20)))
    axis = tag("line", x1=str(LEFT), x2=str(WIDTH - RIGHT), y1=str(AXIS), y2=str(AXIS))
    svg = tag(
        "svg",
        tag("title", f"{len(frames)} frames over {end:.0f} ms"),
        axis,
        join(ticks),
        join(marks),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        class_="timeline",
        role="img",
    )
    rows = [
        (index, f"{frame.offset_ms:.1f}", tag("code", frame_text(frame.data)))
        for index, frame in enumerate(frames)
    ]
    listing = table(("frame", "ms", "text"), rows, class_="frames")
    return join([svg, tag("details", tag("summary", f"{len(frames)} frames"), listing)])
