"""Gemini cached content (`/v1beta/cachedContents`): create, get, list, update, delete, and a
`cachedContent` named by generateContent, streamGenerateContent or countTokens expanded into
the request.

localaik caches nothing for the model: a cached content is kept (`families/kept.py`) as what it
holds (contents, systemInstruction, tools, toolConfig, its model), and a request naming it gets
its contents put before the request's own and its instruction and tools applied, when it is
parsed: before it is keyed and before it goes upstream. So the key is the expanded request, and
the same content cached under another name (another run, another test) still hits.

Its name and times are derived (`Kept.new_id`, `kept.made_at`); `ttl` and `expireTime` are
kept as asked (`ttl` counted from the made-up creation time), and `update` changes only them,
as the real API does. Nothing expires by the clock. `usageMetadata` is not given: localaik
counts no tokens for a cache (that would need the upstream in replay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localaik.errors import BadRequest
from localaik.families.gemini.casing import camelize_request
from localaik.families.gemini.models import paged, versioned
from localaik.families.kept import Kept, made_at, rfc3339
from localaik.families.operation import (
    Answer,
    ClientRequest,
    Local,
    Parsed,
    Request,
    json_answer,
)

FAMILY = "gemini"
KIND = "gemini.cachedContent"
ROOT = "/cachedContents"
DEFAULT_TTL = 3600.0
TTL = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")
HELD = ("contents", "systemInstruction", "tools", "toolConfig")


@dataclass
class Cached:
    """A cached content: what it holds and its made-up times."""

    name: str
    model: str
    held: dict[str, Any]  # HELD's fields as given (camel-cased)
    display_name: str | None
    created: datetime
    updates: int = 0
    ttl: float | None = DEFAULT_TTL
    expire_time: str | None = None  # as the client gave it, when it gave one

    def shown(self) -> dict[str, Any]:
        """The API's `CachedContent` (without what it holds, as the real API answers)."""
        updated = self.created + timedelta(seconds=self.updates)
        expires = self.expire_time or rfc3339(updated + timedelta(seconds=self.ttl or 0))
        out: dict[str, Any] = {
            "name": self.name,
            "model": self.model,
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(updated),
            "expireTime": expires,
        }
        if self.display_name is not None:
            out["displayName"] = self.display_name
        return out


@dataclass(frozen=True)
class Asked:
    name: str | None  # the cache's id (None for create and list)
    body: Any
    query: dict[str, str]


class _CacheOperation(Local[Asked]):
    family = FAMILY
    takes_body = False

    def parse(self, request: Request) -> Parsed[Asked]:
        body = camelize_request(request.body) if request.body is not None else None
        asked = Asked(request.params.get("cache"), body, dict(request.query))
        return Parsed(ClientRequest(FAMILY, self.name, None, False, body), asked)

    def cached(self, kept: Kept, asked: Asked) -> Cached:
        found: Cached = kept.get(KIND, f"cachedContents/{asked.name}", "cached content")
        return found


class CreateCache(_CacheOperation):
    name = "cachedContents.create"
    routes = versioned("POST", ROOT)
    takes_body = True

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        body = parsed.context.body
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model.removeprefix("models/"):
            raise BadRequest("model: a cached content names its model", param="model")
        held = {field: body[field] for field in HELD if body.get(field) is not None}
        contents = held.get("contents", [])
        if not isinstance(contents, list) or not (contents or "systemInstruction" in held):
            raise BadRequest(
                "contents: a cached content holds a list of contents or a systemInstruction",
                param="contents",
            )
        display = body.get("displayName")
        if display is not None and not isinstance(display, str):
            raise BadRequest("displayName must be a string", param="displayName")
        model = "models/" + model.removeprefix("models/")
        digest = kept.new_id(KIND, {"model": model, **held})
        cached = Cached(f"cachedContents/{digest[:16]}", model, held, display, made_at(digest))
        _set_expiry(cached, body)
        kept.add(KIND, cached.name, cached)
        return json_answer(cached.shown())


class GetCache(_CacheOperation):
    name = "cachedContents.get"
    routes = versioned("GET", ROOT + "/{cache}")

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        return json_answer(self.cached(kept, parsed.context).shown())


class ListCaches(_CacheOperation):
    name = "cachedContents.list"
    routes = versioned("GET", ROOT)

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        found = [cached.shown() for cached in kept.all(KIND)]
        items, token = paged(found, parsed.context.query)
        page: dict[str, Any] = {"cachedContents": items}
        if token is not None:
            page["nextPageToken"] = token
        return json_answer(page)


class UpdateCache(_CacheOperation):
    name = "cachedContents.update"
    routes = versioned("PATCH", ROOT + "/{cache}")
    takes_body = True

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        cached = self.cached(kept, parsed.context)
        body = parsed.context.body
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        other = sorted(set(body) - {"ttl", "expireTime", "name"})
        if other:
            raise BadRequest(
                f"{other[0]}: an update changes only ttl or expireTime", param=other[0]
            )
        if "ttl" not in body and "expireTime" not in body:
            raise BadRequest("an update sets ttl or expireTime", param="ttl")
        cached.updates += 1
        _set_expiry(cached, body)
        return json_answer(cached.shown())


class DeleteCache(_CacheOperation):
    name = "cachedContents.delete"
    routes = versioned("DELETE", ROOT + "/{cache}")

    async def serve(self, parsed: Parsed[Asked], kept: Kept) -> Answer:
        cached = self.cached(kept, parsed.context)
        kept.remove(KIND, cached.name)
        return json_answer({})


OPERATIONS = (CreateCache(), GetCache(), ListCaches(), UpdateCache(), DeleteCache())


def _set_expiry(cached: Cached, body: dict[str, Any]) -> None:
    ttl, expire = body.get("ttl"), body.get("expireTime")
    if ttl is not None and expire is not None:
        raise BadRequest("give ttl or expireTime, not both", param="ttl")
    if ttl is not None:
        match = TTL.match(ttl) if isinstance(ttl, str) else None
        if match is None:
            raise BadRequest(f"ttl: expected a duration such as '3600s' (got {ttl!r:.40})")
        cached.ttl, cached.expire_time = float(match.group(1)), None
    elif expire is not None:
        if not isinstance(expire, str) or not _is_time(expire):
            raise BadRequest(f"expireTime: expected an RFC 3339 time (got {expire!r:.40})")
        cached.ttl, cached.expire_time = None, expire


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def expand(body: dict[str, Any], kept: Kept | None, model: str) -> dict[str, Any]:
    """A camel-cased GenerateContentRequest with its `cachedContent` put in: the cache's
    contents before its own, its systemInstruction, tools and toolConfig (which the request
    may then not set itself, as the API checks). Unchanged when it names none."""
    name = body.get("cachedContent")
    if name is None:
        return body
    if not isinstance(name, str) or kept is None:
        raise BadRequest("cachedContent must name a cached content", param="cachedContent")
    cached: Cached = kept.get(KIND, name, "cached content")
    if cached.model.removeprefix("models/") != model:
        raise BadRequest(
            f"cachedContent {name!r} was made for {cached.model}, not models/{model}",
            param="cachedContent",
        )
    clash = [field for field in HELD[1:] if body.get(field) is not None]
    if clash:
        raise BadRequest(
            f"{clash[0]}: a request with cachedContent takes it from the cached content",
            param=clash[0],
        )
    own = body.get("contents", [])
    if not isinstance(own, list):
        raise BadRequest("contents must be a list of Content objects", param="contents")
    expanded = {key: value for key, value in body.items() if key != "cachedContent"}
    expanded["contents"] = list(cached.held.get("contents", [])) + own
    for field in HELD[1:]:
        if field in cached.held:
            expanded[field] = cached.held[field]
    return expanded
