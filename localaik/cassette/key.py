"""The canonical form of a client request, and its key (D1).

The key must be the same for the same logical request whoever sends it: Python google-genai
mixes camelCase and snake_case and sends `topK` as `40.0`, JS sends camelCase and `40`; Python
chat sessions send `"generationConfig": {}` where a plain call sends nothing; OpenAI's
`.parse()` adds `"stream": false`. So the key hashes the parsed JSON body after a fixed set of
rewrites, never the bytes, and never the headers or the query string (user-agents change with
every SDK release, `+afc`, `+chat`, retry counts; `alt=sse` only decides the framing).

    canonical(request)   {"family", "operation", "model", "stream", "body": <normalised body>}
    canonical_json(...)  sorted keys, compact separators, UTF-8 text
    request_key(...)     xxh3_128 hex of that text

The body rewrites, in order:

1. Gemini: one key casing (`protocol.gemini.camelize_request`; user data untouched).
2. Every family: integral floats become ints (`40.0` -> `40`; bools stay bools); empty objects
   and empty arrays are dropped as object members, children first, so
   `{"generationConfig": {}}` becomes `{}`. Array elements are never dropped (array order and
   length carry meaning), and Gemini tool switches that are empty objects by design
   (`{"googleSearch": {}}`, `{"codeExecution": {}}`) are kept, or two different tools would
   share a key.
3. Fields that are not part of the question: OpenAI and Anthropic `model` and `stream`
   (separate canonical fields); the volatile OpenAI `user`, `safety_identifier`,
   `prompt_cache_key`, `metadata`, `store`; Anthropic `metadata` (its `user_id`); Gemini
   `labels`. Per operation: OpenAI embeddings' `encoding_format` (the same floats answer both
   encodings); the `model` inside Gemini embedding requests (it must repeat the path's model,
   the canonical `model` field).
4. The user's LK_IGNORE paths (`parse_ignore`), applied to the normalised body (so Gemini
   paths are camelCase); whatever they leave empty is dropped as in step 2.

Changing any of this changes keys, so old cassettes miss: `tests/golden/keys/` pins the
canonical text and the key of fixed requests so that such a change shows up in review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import xxhash

from localaik.families.gemini.wire import camelize_request

# Top-level body fields that never enter the key, per family.
_VOLATILE = {
    "openai": frozenset({"model", "stream", "user", "safety_identifier", "prompt_cache_key",
                         "metadata", "store"}),
    "gemini": frozenset({"labels"}),
    "anthropic": frozenset({"model", "stream", "metadata"}),
}


@dataclass(frozen=True)
class ClientRequest:
    """What a client asked, as the key sees it. Headers and query strings have no field here."""

    family: str          # "gemini" | "openai" | "anthropic"
    operation: str       # "generateContent", "countTokens", "chat.completions", "models.list", …
    model: str | None    # Gemini: the path's model without "models/"; OpenAI, Anthropic: body
    stream: bool         # Gemini: streamGenerateContent; OpenAI, Anthropic: body["stream"]
    body: Any            # the parsed JSON body as received (None for GET)


# -- LK_IGNORE paths ---------------------------------------------------------------------------


class Wild(Enum):
    """The two wildcard steps of an ignore path."""

    KEY = "*"        # every key of an object
    INDEX = "[*]"    # every element of an array


Step = str | int | Wild


@dataclass(frozen=True)
class IgnoreRule:
    """One LK_IGNORE path, parsed: `messages[*].name` -> ("messages", Wild.INDEX, "name")."""

    text: str
    steps: tuple[Step, ...]


_NAME = re.compile(r"[^.\[\]*\s,\"]+")
_INDEX = re.compile(r"\[(\d+|\*)\]")
_QUOTED = re.compile(r'\[("(?:[^"\\]|\\.)*")\]')
_SYNTAX = ('dot-separated keys, [N] for an index, [*] for every element, * for every key, '
           '["key"] for a key with other characters, optional leading "$."')


def parse_ignore(text: str) -> list[IgnoreRule]:
    """Parse LK_IGNORE: comma-separated paths such as `a.b, messages[*].name, *.id`.

    Raises ValueError naming the bad path, the position and the accepted syntax, so a typo is
    found at start-up rather than by a key that never matches.
    """
    rules = []
    for part in (text or "").split(","):
        path = part.strip()
        if path:
            rules.append(IgnoreRule(path, _parse_path(path)))
    return rules


def _parse_path(path: str) -> tuple[Step, ...]:
    def fail(pos: int, why: str) -> ValueError:
        return ValueError(f"LK_IGNORE path {path!r} is not valid at character {pos + 1}: {why} "
                          f"(paths use {_SYNTAX})")

    pos = 0
    if path.startswith("$."):
        pos = 2
    elif path.startswith("$["):
        pos = 1
    elif path == "$":
        raise fail(0, "it names the whole body; name a field inside it")
    steps: list[Step] = []
    expect_name = pos != 1   # right after "$" or a ".", a key (or "*") must follow
    while pos < len(path):
        char = path[pos]
        if expect_name:
            if char == "*":
                steps.append(Wild.KEY)
                pos += 1
            else:
                match = _NAME.match(path, pos)
                if not match:
                    raise fail(pos, f"expected a key, found {char!r}")
                steps.append(match.group())
                pos = match.end()
            expect_name = False
        elif char == ".":
            pos += 1
            if pos == len(path):
                raise fail(pos - 1, "a path cannot end with '.'")
            expect_name = True
        elif char == "[":
            match = _INDEX.match(path, pos)
            quoted = None if match else _QUOTED.match(path, pos)
            if match:
                steps.append(Wild.INDEX if match.group(1) == "*" else int(match.group(1)))
                pos = match.end()
            elif quoted:
                steps.append(json.loads(quoted.group(1)))
                pos = quoted.end()
            else:
                raise fail(pos, 'expected [N], [*] or ["key"]')
        else:
            raise fail(pos, f"expected '.' or '[' after a key, found {char!r}")
    if expect_name:
        raise fail(len(path) - 1, "the path is empty")
    return tuple(steps)


def _remove(node: Any, steps: tuple[Step, ...]) -> None:
    """Delete, in place, every value `steps` names under `node`; absent paths are no error."""
    step, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        if step is Wild.KEY:
            names = list(node)
        elif isinstance(step, str):
            names = [step] if step in node else []
        else:
            return
        for name in names:
            if rest:
                _remove(node[name], rest)
            else:
                del node[name]
    elif isinstance(node, list):
        if step is Wild.INDEX:
            if rest:
                for item in node:
                    _remove(item, rest)
            else:
                node.clear()
        elif isinstance(step, int) and step < len(node):
            if rest:
                _remove(node[step], rest)
            else:
                del node[step]


# -- normalisation -----------------------------------------------------------------------------

# Body fields that never enter the key, per (family, operation), as ignore paths.
_OPERATION_VOLATILE = {
    ("openai", "embeddings"): parse_ignore("encoding_format"),
    ("gemini", "embedContent"): parse_ignore("model"),
    ("gemini", "batchEmbedContents"): parse_ignore("requests[*].model"),
}


def canonical(request: ClientRequest, ignore: Sequence[IgnoreRule] = ()) -> dict[str, Any]:
    """The canonical form of a request: what the key hashes and what a miss is compared on."""
    body = request.body
    if body is not None:
        if request.family == "gemini":
            body = camelize_request(body)
        body = _normal(body, gemini_tools=request.family == "gemini")
        if isinstance(body, dict):
            for name in _VOLATILE.get(request.family, ()):
                body.pop(name, None)
            for rule in _OPERATION_VOLATILE.get((request.family, request.operation), ()):
                _remove(body, rule.steps)
        if ignore:
            for rule in ignore:
                _remove(body, rule.steps)
            body = _normal(body, gemini_tools=request.family == "gemini")
    return {"family": request.family, "operation": request.operation, "model": request.model,
            "stream": bool(request.stream), "body": body}


def _normal(value: Any, *, gemini_tools: bool, keep_empty: bool = False) -> Any:
    """A normalised copy of a JSON value (see the module docstring, step 2)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            item = _normal(item, gemini_tools=gemini_tools,
                           keep_empty=gemini_tools and name == "tools")
            if item or not isinstance(item, dict | list) or (keep_empty and item == {}):
                out[name] = item
        return out
    if isinstance(value, list):
        # Elements of Gemini `tools` are objects whose empty members are switches.
        return [_normal(item, gemini_tools=gemini_tools, keep_empty=keep_empty)
                for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical_json(canon: dict[str, Any]) -> str:
    """The one text form of a canonical request: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(canon_json: str) -> str:
    """xxh3_128 of the canonical text, as 32 hex characters.

    `surrogatepass` because JSON may carry a lone surrogate (`"\\ud800"`), which strict UTF-8
    cannot encode; such a request still gets a stable key.
    """
    return xxhash.xxh3_128_hexdigest(canon_json.encode("utf-8", "surrogatepass"))
