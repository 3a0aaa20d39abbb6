"""Refuse to record anything shaped like an API key or token (DESIGN D7).

Cassettes are committed to git, so a key that slips into a recording is a leaked key. Headers
are never recorded, but a key can still arrive inside a prompt, a tool argument, a URL or a
model's answer. Before any write the whole recording is scanned for the token shapes below;
the scan names the kind of token and where it sits, never the token itself, so the refusal can
be logged and shown to the client safely.

Each shape is anchored so that ordinary text does not trip it: a token must start at a word
boundary, OpenAI keys must contain a digit (so hyphenated prose such as `sk-learn-compatible`
passes) and a bearer token must look random (a digit, punctuation or an inner capital), so
"Bearer of bad news" passes. Recordings are mostly JSON, where a token may sit right after an
escape (`\\nsk-...`), so text holding backslashes is scanned once more with JSON escapes decoded.
"""

from __future__ import annotations

import dataclasses
import json
import re

from localaik.cassette.recording import Recording
from localaik.errors import SecretRefused
from localaik.wire.sse import parse_frame

# A token starts where no token character precedes it, or right after a %XX escape in a URL.
_START = r"(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))"
_WORD_START = r"(?:(?<![A-Za-z])|(?<=%[0-9A-Fa-f]{2}))"


@dataclasses.dataclass(frozen=True)
class _Shape:
    kind: str
    needles: tuple[str, ...]  # literals every match starts with (bearer: after its first letter)
    lead: int  # characters of the match before the needle
    pattern: re.Pattern[str]

    def search(self, text: str) -> bool:
        """Try the pattern only where a needle occurs. A regex that opens with a lookbehind
        gets no literal-prefix speed-up: searched whole, it takes ~200 ms over a 4 MB base64
        image; from needle to needle it takes ~1 ms."""
        for needle in self.needles:
            at = text.find(needle)
            while at >= 0:
                if at >= self.lead and self.pattern.match(text, at - self.lead):
                    return True
                at = text.find(needle, at + 1)
        return False


# Order matters: an Anthropic key also has the shape of an OpenAI key.
_SHAPES = (
    _Shape(
        "Google API key",
        ("AIza",),
        0,
        re.compile(_START + r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    ),
    _Shape("Anthropic key", ("sk-ant-",), 0, re.compile(_START + r"sk-ant-[A-Za-z0-9_-]{20,}")),
    _Shape(
        "OpenAI key",
        ("sk-",),
        0,
        re.compile(_START + r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"),
    ),
    _Shape(
        "JWT",
        ("eyJ",),
        0,
        re.compile(_START + r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    ),
    # A digit, a capital after the first character, or token punctuation (not a sentence's
    # full stop): random, not prose.
    _Shape(
        "bearer token",
        ("earer", "EARER"),
        1,
        re.compile(
            _WORD_START + r"(?i:bearer)(?:[ \t]+|%20|\+)"
            r"(?=.[A-Za-z0-9._~+/=-]*(?:[0-9A-Z_~+/]|\.[A-Za-z0-9]))"
            r"[A-Za-z0-9._~+/=-]{16,}"
        ),
    ),
)

_JSON_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|([nrtbf])|(["\\/]))')


def _unescape(text: str) -> str:
    """Decode one level of JSON string escapes; control escapes become a space (a boundary)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        if match.group(2):
            return " "
        return match.group(3)

    return _JSON_ESCAPE.sub(one, text)


def _find_raw(text: str) -> str | None:
    for shape in _SHAPES:
        if shape.search(text):
            return shape.kind
    return None


def find_secret(text: str) -> str | None:
    """The kind of token `text` holds ("OpenAI key", "JWT", ...), or None. Never the token."""
    kind = _find_raw(text)
    # Nested JSON (tool arguments inside a chunk) escapes twice; three levels is plenty.
    for _ in range(3):
        if kind is not None or "\\" not in text:
            break
        unescaped = _unescape(text)
        if unescaped == text:
            break
        text = unescaped
        kind = _find_raw(text)
    return kind


def _latin1(data: bytes | bytearray) -> str:
    # latin-1 maps every byte to one character: never fails, keeps ASCII tokens intact.
    return bytes(data).decode("latin-1")


def locate_secret(recording: Recording) -> tuple[str, str] | None:
    """(kind, field) of the first token found in the recording, e.g. ("JWT", "frames[3]").

    Every field is scanned, so a field added to Recording later is covered too. A list of
    frames is scanned as one text (hundreds of frames, one pass) and searched frame by frame
    only when it holds a token, to say which frame.
    """
    for field in dataclasses.fields(recording):
        value = getattr(recording, field.name)
        if isinstance(value, str):
            kind = find_secret(value)
        elif isinstance(value, bytes | bytearray):
            kind = find_secret(_latin1(value))
        elif isinstance(value, list):
            datas = [
                item.data
                for item in value
                if isinstance(getattr(item, "data", None), bytes | bytearray)
            ]
            kind = find_secret(_latin1(b"\n".join(datas)))
            if kind is not None:
                for index, data in enumerate(datas):
                    if (in_frame := find_secret(_latin1(data))) is not None:
                        return in_frame, f"{field.name}[{index}]"
            # A model streams its answer a few characters per event: a token in the answer is
            # only whole once the pieces are joined.
            for text in _streamed_texts(datas):
                if (kind := find_secret(text)) is not None:
                    return kind, f"{field.name} (the streamed text)"
        else:
            continue
        if kind is not None:
            return kind, field.name
    return None


def refuse_secrets(recording: Recording, cassette: str) -> None:
    """Raise SecretRefused, naming the field, when `recording` holds something shaped like a
    key or token. Every cassette store calls it before any write (DESIGN D7)."""
    found = locate_secret(recording)
    if found is not None:
        kind, where = found
        article = "an" if kind[0] in "AEIOU" else "a"
        raise SecretRefused(
            f"not recording into cassette {cassette}: the {where} field holds something "
            f"shaped like {article} {kind}. Cassettes are meant to be committed, so "
            f"localaik never stores keys or tokens; take it out of the request and retry."
        )


_PIECES = ("content", "text", "arguments", "reasoning_content", "refusal")


def _streamed_texts(frames: list[bytes | bytearray]) -> list[str]:
    """The text each stream choice built up, pieces joined: one string per choice index."""
    texts: dict[int, list[str]] = {}
    for raw in frames:
        event = parse_frame(bytes(raw))
        if event is None:
            continue
        try:
            chunk = json.loads(event.data)
        except ValueError:
            continue
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                index = choice.get("index")
                _collect(choice, texts.setdefault(index if isinstance(index, int) else 0, []))
    return ["".join(pieces) for pieces in texts.values()]


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
