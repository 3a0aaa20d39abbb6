"""The Anthropic error envelope: `{"type": "error", "error": {"type", "message"}}`, with
`details` when the error has them (the SDK's tool runner acts on `details.error_code`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaik.families.anthropic import wire as anthropic
from localaik.families.rendering import one_line

TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_type(status: int) -> str:
    return TYPE.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_response(
    status: int, message: str, details: dict[str, Any] | None = None
) -> anthropic.ErrorResponse:
    """The envelope: an error answer's body, or the data of a stream's `error` event."""
    # Both Anthropic SDKs show the whole body on one line: the message must be one line.
    error: anthropic.ErrorObject = {"type": anthropic_type(status), "message": one_line(message)}
    if details:
        error["details"] = details
    return {"type": "error", "error": error}


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> Mapping[str, object]:
    """The family's `ErrorShape` (the envelope has no place for code or param)."""
    return error_response(status, message, details)
