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
line a reviewer reads in `git diff`; for embeddings it counts them. Embedding vectors print as
one line each, `<576 floats: 0.0127, -0.0188, 0.0010, … sha256 1a2b3c4d5e6f>`: hundreds of
numbers per vector would bury the rest, and the hash still changes when any value does.
For diffs (`timing=False`) frame offsets and durations are left out: re-recording the same
answer then changes only the provenance lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import click

from localaik.cassette.recording import Recording
from localaik.wire import sse

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
    yield (
        f"{INDENT}{recording.family} {recording.operation}  model {recording.model or '-'}{stream}"
    )
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
    status = (
        click.style(str(recording.status), fg="green" if recording.status < 400 else "red")
        if color
        else str(recording.status)
    )
    duration = f"  {recording.duration_ms:g} ms" if timing else ""
    yield head("response") + f"  {status} {recording.content_type}{duration}"
    text = answer_text(recording)
    if text is not None:
        yield f"{INDENT}answer: " + (click.style(text, fg="cyan") if color else text)
    if recording.body is not None:
        yield from _block(_summarised(_body(recording.body)))
    for frame in recording.frames:
        data = bytes(frame.data).decode("utf-8", "replace").rstrip("\r\n")
        offset = dim(f"+{frame.offset_ms:g} ms  ") if timing else ""
        for part in data.splitlines() or [""]:
            yield f"{INDENT}{offset}{part}"
    yield head("provenance")
    yield (
        f"{INDENT}recorded {recording.recorded_at} by localaik {recording.localaik_version}"
        f" from {recording.upstream}"
    )
    yield (
        f"{INDENT}upstream model {recording.upstream_model or 'unknown'}, build "
        f"{recording.upstream_build or 'unknown'}"
    )


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
        body = _json(bytes(recording.body).decode("utf-8", "replace"))
        vectors = _vectors(body)
        if vectors:
            size = len(vectors[0])
            return (
                f"{len(vectors)} embedding{'s' if len(vectors) > 1 else ''} of {size} "
                f"value{'s' if size != 1 else ''}"
            )
        _collect(body, pieces)
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


def _vectors(value: Any) -> list[list[Any]]:
    """The embedding vectors of an upstream `/embeddings` answer ([] for any other body)."""
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        return []
    return [
        item["embedding"]
        for item in value["data"]
        if isinstance(item, dict) and _is_vector(item.get("embedding"))
    ]


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    )


def _summarised(value: Any) -> Any:
    """`value` with every `embedding` vector as one line of text (see the module docstring)."""
    if isinstance(value, dict):
        return {
            key: _vector_line(item)
            if key == "embedding" and _is_vector(item)
            else _summarised(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_summarised(item) for item in value]
    return value


def _vector_line(vector: list[Any]) -> str:
    digest = hashlib.sha256(json.dumps(vector).encode()).hexdigest()[:12]
    first = ", ".join(str(x) for x in vector[:3])
    more = ", …" if len(vector) > 3 else ""
    return f"<{len(vector)} floats: {first}{more} sha256 {digest}>"


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
    rendered = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    for line in rendered.splitlines():
        yield INDENT + line
