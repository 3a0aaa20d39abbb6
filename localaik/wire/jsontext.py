"""JSON text as localaik reads and writes it.

What clients send is read strictly (RFC 8259: UTF-8, no NaN or Infinity, no unpaired
surrogates, a depth limit), so a bad body is a 400 that names why and never a 500 deeper in.
What localaik writes is compact, on one line, UTF-8 kept as is: the form every SDK accepts,
and one fixed form, so a replayed answer is the same bytes every time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from json.encoder import c_encode_basestring as _c_encode_basestring  # type: ignore[attr-defined]
from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
from typing import Any

from localaik.errors import BadRequest

# Deeper documents are refused: the real APIs refuse them too (protobuf's JSON parser stops at
# 100 levels), and localaik's own recursive walks (normalising, miss diagnosis) stay far from
# Python's recursion limit.
MAX_DEPTH = 100
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def compact_encoder(*, sort_keys: bool = False, allow_nan: bool = True) -> Callable[[Any], str]:
    """`json.dumps(value, separators=(",", ":"), ensure_ascii=False, ...)` with its encoder made
    once. `json.dumps` makes one per call: 2 µs of the 8 a 2 KB answer takes, and most of a
    small request key's. Same text, same errors (TypeError; ValueError for NaN when
    `allow_nan` is off), but no check for a value that contains itself: what is encoded here is
    parsed JSON and what localaik builds from it, never circular."""
    encoder = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys, allow_nan=allow_nan
    )
    if _c_make_encoder is None or _c_encode_basestring is None:  # no C accelerator
        return encoder.encode
    made = _c_make_encoder(
        None, encoder.default, _c_encode_basestring, None, ":", ",", sort_keys, False, allow_nan
    )

    def encode(value: Any) -> str:
        return "".join(made(value, 0))

    return encode


_compact = compact_encoder()


def dumps(value: Any) -> str:
    """Compact JSON on one line, UTF-8 kept as is (the form every SDK accepts)."""
    return _compact(value)


def dumps_ascii(value: Any) -> str:
    """JSON with every non-ASCII character escaped: lone surrogates survive as sent."""
    return json.dumps(value, ensure_ascii=True)


def is_json(body: bytes | str | None) -> bool:
    if body is None:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def parse_body(raw: bytes) -> Any:
    """A request body as strict JSON (RFC 8259): UTF-8, no NaN or Infinity, no unpaired
    surrogates, at most MAX_DEPTH levels deep. Anything else is a BadRequest naming why."""
    if not raw.strip():
        raise BadRequest("the request body is empty: a JSON object is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        if text.startswith("\ufeff"):  # as `json.loads` says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _STRICT.decode(text)
    except RecursionError:
        raise BadRequest(
            f"the request body is nested too deeply (more than {MAX_DEPTH} levels)"
        ) from None
    except ValueError as exc:
        raise BadRequest(f"invalid JSON in the request body: {exc}") from None
    # Nesting needs an opening bracket per level: most bodies cannot be deep, and skip the walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth_over(value, MAX_DEPTH):
        raise BadRequest(f"the request body is nested too deeply (more than {MAX_DEPTH} levels)")
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest(
                "invalid JSON in the request body: a string holds an unpaired "
                f"UTF-16 surrogate ({exc.object[exc.start]!r}), which is not "
                "Unicode text"
            ) from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


# Made once: `json.loads` with hooks builds a decoder per call.
_STRICT = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and arrays more than `limit` deep (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        )
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
