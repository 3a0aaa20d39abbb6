"""The OpenAI error envelope: `{"error": {"message", "type", "param", "code"}}` (what the
openai SDKs' `APIError` reads; `type` follows the status)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
