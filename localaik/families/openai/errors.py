"""The OpenAI error envelope: `{"error": {"message", "type", "param", "code"}}` (what the
openai SDKs' `APIError` reads; `type` follows the status)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaik.families.fault_shape import CONTEXT_TOO_LONG, FaultShape, Said, retry_after_header
from localaik.families.openai import wire

TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_type(status: int) -> str:
    return TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    details: dict[str, Any] | None = None,
) -> Mapping[str, object]:
    error: wire.ErrorObject = {
        "message": message,
        "type": openai_type(status),
        "param": param,
        "code": code,
    }
    return {"error": error}


def rate_limit_headers(status: int, retry_after: int) -> dict[str, str]:
    """OpenAI's headers for an injected failure: `retry-after` where it sends one and, on a
    429, its `x-ratelimit-*` headers (the request budget spent)."""
    headers = retry_after_header(status, retry_after)
    if status == 429:
        reset = f"{retry_after}s"
        headers.update(
            {
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": reset,
                "x-ratelimit-limit-tokens": "200000",
                "x-ratelimit-remaining-tokens": "199000",
                "x-ratelimit-reset-tokens": "1ms",
            }
        )
    return headers


FAULTS = FaultShape(
    said={
        CONTEXT_TOO_LONG: Said(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 128001 tokens. Please reduce the length of the messages.",
            code="context_length_exceeded",
            param="messages",
        ),
        429: Said(
            "Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. "
            "Please try again in 1s.",
            code="rate_limit_exceeded",
        ),
        500: Said("The server had an error while processing your request. Sorry about that!"),
        503: Said("The engine is currently overloaded, please try again later."),
    },
    headers=rate_limit_headers,
)
