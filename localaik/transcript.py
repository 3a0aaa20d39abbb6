"""A recording as text for people: what `cassette show` prints and the git diff driver shows.

    recording 3f2a9c01d4e5  ordinal 0
      gemini generateContent  model gemma-3-4b-it  stream
    request
      {
        "contents": [...]
      }
    upstream request  POST chat
      {...}
    response  200 text/event-stream  812.5 ms
      answer: Hello! How can I help?
      +95.1 ms  data: {"choices":[...]}
    provenance
      recorded 2026-11-25T10:00:01.250Z by localaik 0.1.0 from http://127.0.0.1:8080/v1
      upstream model gemma-3-4b-it, build b4567-1a2b3c4d

The `answer:` line joins the text the model produced (every chunk's content), which is the
line a reviewer reads in `git diff`. For diffs (`timing=False`) frame offsets and durations are
left out: re-recording the same answer then changes only the provenance lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from localaik import sse
from localaik.store import Recording

INDENT = "  "


def short_key(recording: Recording) -> str:
    """The key prefix people see, with the ordinal when it is not the first."""
    return recording.key[:12] + (f"/{recording.ordinal}" if recording.ordinal else "")


def lines(recording: Recording, *, timing: bool = True, color: bool = False) -> Iterator[str]:
    """The recording as lines of text (no newlines), styled when `color`."""

    def head(text: str) -> str:
        return click.style(text, bold=True) if color else text

    def dim(text: str) -> str:
        return click.style(text, dim=True) if color else text

    stream = "  stream" if recording.stream else ""
    yield head(f"recording {recording.key}  ordinal {recording.ordinal}")
    yield (f"{INDENT}{recording.family} {recording.operation}  model {recording.model or '-'}"
           f"{stream}")
    request = _json(recording.request)
    yield head("request")
    yield from _block(request.get("body") if isinstance(request, dict) else request)
    upstream = _json(recording.upstream_request)
    if isinstance(upstream, dict) and "endpoint" in upstream:
        yield head(f"upstream request  {upstream.get('method', 'POST')} {upstream['endpoint']}")
        yield from _block(upstream.get("body"))
    else:
        yield head("upstream request")
        yield from _block(upstream)
    status = click.style(str(recording.status), fg="green" if recording.status < 400 else "red") \
        if color else str(recording.status)
    duration = f"  {recording.duration_ms:g} ms" if timing else ""
    yield head("response") + f"  {status} {recording.content_type}{duration}"
    text = answer_text(recording)
    if text is not None:
        yield f"{INDENT}answer: " + (click.style(text, fg="cyan") if color else text)
    if recording.body is not None:
        yield from _block(_body(recording.body))
    for frame in recording.frames:
        data = bytes(frame.data).decode("utf-8", "replace").rstrip("\r\n")
        offset = dim(f"+{frame.offset_ms:g} ms  ") if timing else ""
        for part in data.splitlines() or [""]:
            yield f"{INDENT}{offset}{part}"
    yield head("provenance")
    yield (f"{INDENT}recorded {recording.recorded_at} by localaik {recording.localaik_version}"
           f" from {recording.upstream}")
    yield (f"{INDENT}upstream model {recording.upstream_model or 'unknown'}, build "
           f"{recording.upstream_build or 'unknown'}")


def text(recording: Recording, *, timing: bool = True) -> str:
    return "\n".join(lines(recording, timing=timing)) + "\n"


def answer_text(recording: Recording) -> str | None:
    """The text the model answered (streamed pieces joined), or None when there is none."""
    pieces: list[str] = []
    if recording.frames:
        for frame in recording.frames:
            event = sse.parse_frame(bytes(frame.data))
            if event is None or event.data.strip() == "[DONE]":
                continue
            _collect(_json(event.data), pieces)
    elif recording.body is not None:
        _collect(_json(bytes(recording.body).decode("utf-8", "replace")), pieces)
    joined = "".join(pieces)
    return joined.replace("\r", "\\r").replace("\n", "\\n") if joined else None


def _collect(value: Any, pieces: list[str]) -> None:
    """Content from OpenAI chat and completion answers and chunks (the upstream's shape)."""
    if not isinstance(value, dict):
        return
    for choice in value.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        for holder in (choice.get("message"), choice.get("delta")):
            if isinstance(holder, dict) and isinstance(holder.get("content"), str):
                pieces.append(holder["content"])
        if isinstance(choice.get("text"), str):
            pieces.append(choice["text"])


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return bytes(body).decode("utf-8", "replace")


def _block(value: Any) -> Iterator[str]:
    if value is None:
        return
    rendered = value if isinstance(value, str) else json.dumps(value, indent=2,
                                                                ensure_ascii=False)
    for line in rendered.splitlines():
        yield INDENT + line
