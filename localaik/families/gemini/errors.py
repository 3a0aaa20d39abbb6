"""The Gemini error envelope: `{"error": {"code", "message", "status"}}`, with Google's
canonical status names (what google-genai's `APIError` reads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaik.families.fault_shape import CONTEXT_TOO_LONG, FaultShape, Said
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


# The Gemini API sends no `retry-after` (its 429 says when in the body's `RetryInfo`), and
# google-genai's retries ignore one.
FAULTS = FaultShape(
    said={
        CONTEXT_TOO_LONG: Said(
            "The input token count (1048577) exceeds the maximum number of tokens allowed "
            "(1048576)."
        ),
        429: Said("Resource has been exhausted (e.g. check quota)."),
        500: Said(
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        ),
        503: Said("The model is overloaded. Please try again later."),
    },
)
