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

The body rewrites, in order (the pipeline has already replaced what `LK_REDACT` names with
placeholders, `wire/redaction.py`, so the key never sees that text):

1. The family's one key casing (`KeyRules.casing`: Gemini's camelCase; user data untouched).
2. Every family: integral floats become ints (`40.0` -> `40`; bools stay bools); empty objects
   and empty arrays are dropped as object members, children first, so
   `{"generationConfig": {}}` becomes `{}`. Array elements are never dropped (array order and
   length carry meaning), and Gemini tool switches that are empty objects by design
   (`{"googleSearch": {}}`, `{"codeExecution": {}}`) are kept, or two different tools would
   share a key.
3. Fields that are not part of the question, as each family's descriptor says
   (`KeyRules.volatile`: OpenAI and Anthropic `model` and `stream`, which are separate
   canonical fields; the volatile OpenAI `user`, `safety_identifier`, `prompt_cache_key`,
   `metadata`, `store`; Anthropic `metadata` (its `user_id`); Gemini `labels`) and each
   operation (`Operation.volatile`: OpenAI embeddings' `encoding_format`, since the same floats
   answer both encodings; the `model` inside Gemini embedding requests, which must repeat the
   path's model, the canonical `model` field).
4. The user's LK_IGNORE paths (`parse_ignore`), applied to the normalised body (so Gemini
   paths are camelCase); whatever they leave empty is dropped as in step 2.

Changing any of this changes keys, so old cassettes miss: `tests/golden/keys/` pins the
canonical text and the key of fixed requests so that such a change shows up in review.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import xxhash

from localaik.families import Family
from localaik.families.descriptor import KeyRules
from localaik.families.operation import ClientRequest as ClientRequest
from localaik.wire.jsonpath import IgnoreRule as IgnoreRule
from localaik.wire.jsonpath import parse_ignore as parse_ignore
from localaik.wire.jsonpath import remove
from localaik.wire.jsontext import compact_encoder

# -- normalisation -----------------------------------------------------------------------------

NO_RULES = KeyRules()


@functools.cache
def _rules(family: str, operation: str) -> tuple[KeyRules, tuple[IgnoreRule, ...]]:
    """The family's key rules and the operation's volatile paths (parsed once)."""
    found = Family.named(family)
    if found is None:
        return NO_RULES, ()
    op = found.descriptor.operation(operation)
    volatile = parse_ignore(", ".join(op.volatile)) if op is not None else []
    return found.key_rules, tuple(volatile)


def canonical(
    request: ClientRequest, ignore: Sequence[IgnoreRule] = (), *, cased: bool = False
) -> dict[str, Any]:
    """The canonical form of a request: what the key hashes and what a miss is compared on.

    `cased`: the body is already in the family's one key spelling (the pipeline's parsed
    requests are), so step 1 is skipped.
    """
    rules, volatile = _rules(request.family, request.operation)
    body = request.body
    if body is not None:
        if rules.casing is not None and not cased:
            body = rules.casing(body)
        body = _normal(body, rules.keep_empty_in)
        if isinstance(body, dict):
            for name in rules.volatile:
                body.pop(name, None)
            for rule in volatile:
                remove(body, rule.steps)
        if ignore:
            for rule in ignore:
                remove(body, rule.steps)
            body = _normal(body, rules.keep_empty_in)
    return {
        "family": request.family,
        "operation": request.operation,
        "model": request.model,
        "stream": bool(request.stream),
        "body": body,
    }


def comparable(canon: Any) -> Any:
    """A canonical request with its body in the family's one dialect (`KeyRules.dialect`):
    what a replay miss ranks its nearest recordings by, so that a recording that differs only
    in a spelling the model cannot tell apart comes first. Never part of the key."""
    if not isinstance(canon, dict):
        return canon
    rules, _ = _rules(str(canon.get("family")), str(canon.get("operation")))
    if rules.dialect is None or canon.get("body") is None:
        return canon
    return {**canon, "body": rules.dialect(canon["body"])}


def _normal(value: Any, keep_empty_in: frozenset[str], keep_empty: bool = False) -> Any:
    """A normalised copy of a JSON value (see the module docstring, step 2)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            item = _normal(item, keep_empty_in, name in keep_empty_in)
            if item or not isinstance(item, dict | list) or (keep_empty and item == {}):
                out[name] = item
        return out
    if isinstance(value, list):
        # Elements of Gemini `tools` are objects whose empty members are switches.
        return [_normal(item, keep_empty_in, keep_empty) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_sorted_compact = compact_encoder(sort_keys=True)


def canonical_json(canon: dict[str, Any]) -> str:
    """The one text form of a canonical request: sorted keys, no spaces, UTF-8 kept as is."""
    return _sorted_compact(canon)


def request_key(canon_json: str) -> str:
    """xxh3_128 of the canonical text, as 32 hex characters.

    `surrogatepass` because JSON may carry a lone surrogate (`"\\ud800"`), which strict UTF-8
    cannot encode; such a request still gets a stable key.
    """
    return xxhash.xxh3_128_hexdigest(canon_json.encode("utf-8", "surrogatepass"))
