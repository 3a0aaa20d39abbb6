"""Reading the upstream's plain JSON answers that several operations share: its model list
(`GET /v1/models`) and its token count (llama-server's `POST /tokenize`)."""

from __future__ import annotations

from typing import Any

from localaik.errors import UpstreamBadResponse
from localaik.upstream.exchange import UpstreamCall

MODELS = UpstreamCall("models")


def tokenize(text: str) -> UpstreamCall:
    """llama-server's `/tokenize` for `text`, without the model's special tokens."""
    return UpstreamCall("tokenize", {"content": text, "add_special": False})


def token_count(answer: Any) -> int:
    """How many tokens a `/tokenize` answer holds."""
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise UpstreamBadResponse("upstream /tokenize answer has no tokens list")
    return len(tokens)


def upstream_models(listing: Any) -> list[dict[str, Any]]:
    """The model entries of an upstream `/v1/models` answer."""
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        raise UpstreamBadResponse("upstream /models answer has no data list")
    return [m for m in listing["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
