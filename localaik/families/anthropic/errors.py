"""The Anthropic error envelope: `{"type": "error", "error": {"type", "message"}}`, with
`details` when the error has them (the SDK's tool runner acts on `details.error_code`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from localaik.families.anthropic import wire as anthropic
from localaik.families.fault_shape import CONTEXT_TOO_LONG, FaultShape, Said, retry_after_header
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


def rate_limit_headers(status: int, retry_after: int) -> dict[str, str]:
    """Anthropic's headers for an injected failure: `retry-after` where it sends one and, on
    a 429, its `anthropic-ratelimit-*` headers (limits, what remains, when they reset)."""
    headers = retry_after_header(status, retry_after)
    if status == 429:
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + retry_after))
        for name, limit, remaining in (
            ("requests", "50", "0"),
            ("tokens", "80000", "79000"),
            ("input-tokens", "40000", "39000"),
            ("output-tokens", "40000", "40000"),
        ):
            headers[f"anthropic-ratelimit-{name}-limit"] = limit
            headers[f"anthropic-ratelimit-{name}-remaining"] = remaining
            headers[f"anthropic-ratelimit-{name}-reset"] = reset
    return headers


FAULTS = FaultShape(
    said={
        CONTEXT_TOO_LONG: Said("prompt is too long: 200001 tokens > 200000 maximum"),
        429: Said(
            "This request would exceed the rate limit for your organization of 50 requests "
            "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        ),
        500: Said("Internal server error"),
        503: Said("Service unavailable"),
        529: Said("Overloaded"),
    },
    headers=rate_limit_headers,
)
