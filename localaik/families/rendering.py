"""Errors in the caller's shape: the one place an `Error` becomes a status and a body.

Each family's descriptor knows its envelope (`ErrorShape`: Gemini's `status` names, OpenAI's
`type`/`param`/`code`, Anthropic's `details`); this module is what turns any error of the
tree in `localaik.errors` into it, for answers and for in-stream error events alike.

Some SDKs show an error's whole body, not its message: Python google-genai as
`404 NOT_FOUND. {'error': {...}}` and the Python Anthropic SDK as `Error code: 404 - {...}`
(the parsed body's `repr`), their JS counterparts as `JSON.stringify(body)`. A line break in the
message is then a literal `\\n` in the middle of one line, so the envelopes of those families
carry a message of several lines as one (`one_line`); the OpenAI SDKs show the message itself,
line breaks and all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from localaik.errors import Error


def one_line(message: str) -> str:
    """A message of several lines as one: lines trimmed, joined by ` | ` (by a space after a
    line that ends with a colon, which introduces the next)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text += (" " if text.endswith(":") else " | ") + line
    return text


class ErrorShape(Protocol):
    """A family's error envelope for one error (`render` below calls it)."""

    def __call__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Mapping[str, object]: ...


class HasErrorShape(Protocol):
    @property
    def error_body(self) -> ErrorShape: ...


def body_of(error: Error, shape: ErrorShape) -> Mapping[str, object]:
    """`error` in the envelope `shape`."""
    return shape(
        error.status, error.message, code=error.code, param=error.param, details=error.details
    )


def render(error: Error, family: HasErrorShape) -> tuple[int, Mapping[str, object]]:
    """Status and body for `error` in the shape of `family` (a `Family` or a descriptor)."""
    return error.status, body_of(error, family.error_body)


def error_body(
    family: HasErrorShape,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> Mapping[str, object]:
    """The envelope of `family` for a status and message."""
    return family.error_body(status, message, code=code, param=param, details=details)


def plain_error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """For requests of no API family (`/health`, unknown paths outside every family)."""
    return {"error": {"code": status, "message": message}}
