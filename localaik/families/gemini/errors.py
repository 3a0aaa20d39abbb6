"""The Gemini error envelope: `{"error": {"code", "message", "status"}}`, with Google's
canonical status names (what google-genai's `APIError` reads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaik.families.gemini import wire as gemini
from localaik.families.rendering import one_line

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def gemini_status(status: int) -> str:
    if status in STATUS:
        return STATUS[status]
    return "INTERNAL" if status >= 500 else "UNKNOWN" if status < 400 else "FAILED_PRECONDITION"


def error_response(status: int, message: str) -> gemini.ErrorResponse:
    # Both google-genai SDKs show the whole body on one line: the message must be one line.
    text = one_line(message)
    return {"error": {"code": status, "message": text, "status": gemini_status(status)}}


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> Mapping[str, object]:
    """The family's `ErrorShape` (Google's envelope has no place for code, param or details)."""
    return error_response(status, message)
