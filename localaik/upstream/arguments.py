"""A tool call's arguments as the object Gemini (`functionCall.args`) and Anthropic
(`tool_use.input`) want: the upstream sends them as JSON text (or nothing)."""

from __future__ import annotations

import json
from typing import Any

from localaik.errors import UpstreamBadResponse


def call_arguments(name: str, arguments: Any) -> dict[str, Any]:
    """`{}` for none, the object for JSON text of an object; anything else is the upstream's
    fault (502)."""
    if arguments in (None, ""):
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        raise UpstreamBadResponse(
            f"upstream returned arguments for {name} that are not JSON: {arguments!r:.200}"
        ) from None
    if not isinstance(value, dict):
        raise UpstreamBadResponse(
            f"upstream returned arguments for {name} that are not a JSON object"
        )
    return value
