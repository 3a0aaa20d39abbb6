"""The upstream's `/embeddings` answers (llama-server's): vectors in input order, usage, and
what both families do to them (shortening to a requested size).

localaik always asks the upstream for floats; each family then writes the same numbers in its
own shape (`families/openai/embeddings.py`, `families/gemini/embeddings.py`).
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

from localaik.errors import BadRequest, UpstreamBadResponse, UpstreamStatus
from localaik.upstream.exchange import Exchange

# llama-server's answer when one input does not fit its batch: a fact about the input.
_TOO_LARGE = re.compile(
    r"input \((\d+) tokens\) is too large to process.*?batch size: (\d+)", re.DOTALL
)


def upstream_vectors(answer: Any, count: int) -> tuple[list[list[float]], dict[str, int]]:
    """The `count` vectors of an upstream `/embeddings` answer, in input order, and its usage."""
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise UpstreamBadResponse("upstream /embeddings answer has no data list")
    items = answer["data"]
    if len(items) != count:
        raise UpstreamBadResponse(
            f"upstream /embeddings answered {len(items)} embeddings for {count} inputs"
        )
    slots: list[list[float] | None] = [None] * count
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise UpstreamBadResponse("upstream /embeddings data item is not an object")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count or slots[index] is not None:
            raise UpstreamBadResponse("upstream /embeddings data items have bad indexes")
        slots[index] = _vector(item.get("embedding"))
    vectors = [vector for vector in slots if vector is not None]
    usage: dict[str, Any] = answer["usage"] if isinstance(answer.get("usage"), dict) else {}
    prompt = usage.get("prompt_tokens")
    prompt = prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else 0
    total = usage.get("total_tokens")
    total = total if isinstance(total, int) and not isinstance(total, bool) else prompt
    return vectors, {"prompt_tokens": prompt, "total_tokens": total}


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # an upstream that answered base64 although floats were asked
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise UpstreamBadResponse("upstream embedding is not valid base64") from None
        if not raw or len(raw) % 4:
            raise UpstreamBadResponse("upstream base64 embedding is not float32 values")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    ):
        raise UpstreamBadResponse(
            "upstream embedding is not a list of numbers (is the upstream pooling its embeddings?)"
        )
    return [float(x) if isinstance(x, int) else x for x in value]


def too_large(error: UpstreamStatus) -> BadRequest | None:
    """llama-server's 500 for an input longer than it can embed at once, as the 400 it is."""
    match = _TOO_LARGE.search(error.message)
    if not match:
        return None
    return BadRequest(
        f"an input is {match.group(1)} tokens, more than the embedding model takes "
        f"at once ({match.group(2)}): shorten it (the bundled runtime takes up to "
        "LK_CTX_SIZE tokens)",
        param="input",
    )


def positive_int(value: Any) -> bool:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def shorten(vector: list[float], size: int, at: str) -> list[float]:
    """The first `size` values; a 400 naming `at` when the model gives fewer."""
    size = int(size)
    if size > len(vector):
        raise BadRequest(
            f"{at} is {size}, but the embedding model gives {len(vector)} values",
            param=at if at == "dimensions" else None,
        )
    return vector[:size]


def vectors_of(exchange: Exchange) -> Any:
    """The JSON of an `/embeddings` answer; llama-server's 500 for an input too long to embed
    at once is the client's 400 (`too_large`)."""
    try:
        return exchange.json()
    except UpstreamStatus as exc:
        raise too_large(exc) or exc from None
