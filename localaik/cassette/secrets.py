"""Refuse to record anything shaped like an API key or token (DESIGN D7).

Cassettes are committed to git, so a key that slips into a recording is a leaked key. Headers
are never recorded, but a key can still arrive inside a prompt, a tool argument, a URL or a
model's answer. Before any write the whole recording is scanned for the token shapes of
`tokens.py`; the scan names the kind of token and where it sits, never the token itself, so the
refusal can be logged and shown to the client safely.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from localaik.cassette.recording import Recording
from localaik.cassette.tokens import KINDS, find_secret, redact, shaped_like
from localaik.errors import SecretRefused
from localaik.wire.sse import parse_frame

__all__ = [
    "KINDS",
    "find_secret",
    "locate_secret",
    "redact",
    "refuse_secrets",
    "scan_recording",
    "shaped_like",
]


_TEXT = (str, bytes, bytearray)  # the fields scanned as text (a tuple: `isinstance` is hot here)


def _latin1(data: bytes | bytearray) -> str:
    # latin-1 maps every byte to one character: never fails, keeps ASCII tokens intact.
    return bytes(data).decode("latin-1")


def locate_secret(recording: Recording) -> tuple[str, str] | None:
    """(kind, field) of the first token found in the recording, e.g. ("JWT", "frames[3]").

    Every field is scanned, so a field added to Recording later is covered too. The text
    fields are scanned as one text first (a scan costs about the same for a short text as for
    a few KB, and a recording has a dozen of them), field by field only when it holds a
    token, to say which field; a NUL between them, which no token shape crosses, keeps each
    one's edges. A list of frames is scanned the same way: as one text, then frame by frame.
    """
    fields = [
        (field.name, getattr(recording, field.name)) for field in dataclasses.fields(recording)
    ]
    texts = [
        value if isinstance(value, str) else _latin1(value)
        for _, value in fields
        if isinstance(value, _TEXT)
    ]
    texts_clean = find_secret("\0".join(texts)) is None
    for name, value in fields:
        if isinstance(value, _TEXT) and texts_clean:
            continue
        if isinstance(value, str):
            kind = find_secret(value)
        elif isinstance(value, bytes | bytearray):
            kind = find_secret(_latin1(value))
        elif isinstance(value, list) and value:  # frames: none in a plain answer
            datas = [
                item.data
                for item in value
                if isinstance(getattr(item, "data", None), bytes | bytearray)
            ]
            kind = find_secret(_latin1(b"\n".join(datas)))
            if kind is not None:
                for index, data in enumerate(datas):
                    if (in_frame := find_secret(_latin1(data))) is not None:
                        return in_frame, f"{name}[{index}]"
            # A model streams its answer a few characters per event: a token in the answer is
            # only whole once the pieces are joined.
            for text in _streamed_texts(datas):
                if (kind := find_secret(text)) is not None:
                    return kind, f"{name} (the streamed text)"
        else:
            continue
        if kind is not None:
            return kind, name
    return None


_ANSWER_FIELDS = ("body", "frames")


def refuse_secrets(recording: Recording, cassette: str) -> None:
    """Raise SecretRefused, naming the field, when `recording` holds something shaped like a
    key or token. Every cassette store calls it before any write (DESIGN D7)."""
    found = locate_secret(recording)
    if found is None:
        return
    kind, where = found
    shaped = shaped_like(kind)
    if where.startswith(_ANSWER_FIELDS):
        # The request was clean: the model wrote it (or repeated one from its context).
        raise SecretRefused(
            f"not recording into cassette {cassette}: the upstream's answer ({where}) holds "
            f"{shaped}. Cassettes are meant to be committed, so localaik never stores keys "
            "or tokens; ask so that the model does not write one (or use "
            "LK_MODE=passthrough for this request)."
        )
    raise SecretRefused(
        f"not recording into cassette {cassette}: the {where} field holds {shaped}. "
        "Cassettes are meant to be committed, so localaik never stores keys or tokens; take "
        "it out of the request (or name it in LK_REDACT) and retry."
    )


_PIECES = ("content", "text", "arguments", "reasoning_content", "refusal")


def _streamed_texts(frames: list[bytes | bytearray]) -> list[str]:
    """The text each stream choice built up, pieces joined: one string per choice index."""
    texts: dict[int, list[str]] = {}
    for chunk in _chunks(frames):
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                index = choice.get("index")
                _collect(choice, texts.setdefault(index if isinstance(index, int) else 0, []))
    return ["".join(pieces) for pieces in texts.values()]


def _chunks(frames: list[bytes | bytearray]) -> list[Any]:
    """The JSON value of every frame whose data is one. Parsed as one array when they all are
    (a parse per frame was half the streamed-text scan); frame by frame otherwise."""
    datas = []
    for raw in frames:
        event = parse_frame(bytes(raw))
        if event is not None and event.data.strip() != "[DONE]":  # OpenAI's last frame
            datas.append(event.data)
    try:
        chunks = json.loads("[" + ",".join(datas) + "]")
    except ValueError:
        chunks = None
    if isinstance(chunks, list) and len(chunks) == len(datas):
        return chunks
    parsed = []
    for data in datas:
        try:
            parsed.append(json.loads(data))
        except ValueError:
            continue
    return parsed


def _collect(value: object, pieces: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _PIECES and isinstance(item, str):
                pieces.append(item)
            else:
                _collect(item, pieces)
    elif isinstance(value, list):
        for item in value:
            _collect(item, pieces)


def scan_recording(recording: Recording) -> str | None:
    """The kind of token found in any text field, the body or any frame of `recording`."""
    found = locate_secret(recording)
    return found[0] if found else None
