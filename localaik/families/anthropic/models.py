"""Anthropic `GET /v1/models` (paged with limit / after_id / before_id, like the real API) and
`GET /v1/models/{model}`, for clients that send `anthropic-version`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from localaik.errors import BadRequest
from localaik.families import models
from localaik.families.anthropic import wire as anthropic
from localaik.families.operation import Route
from localaik.wire.types import JSONObject

HEADERS = {"x-api-key": "verify", "anthropic-version": "2023-06-01"}
DEFAULT_LIMIT = 20
T = TypeVar("T", bound=Mapping[str, object])


def model_info(model_id: str, entry: JSONObject | None = None) -> anthropic.ModelInfo:
    """An Anthropic `ModelInfo` for a model id, served by an upstream model entry."""
    created = (entry or {}).get("created")
    when = datetime.fromtimestamp(created if isinstance(created, int) else 0, UTC)
    out: anthropic.ModelInfo = {
        "type": "model",
        "id": model_id,
        "display_name": model_id,
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "lifecycle": "active",
    }
    meta = (entry or {}).get("meta")
    if isinstance(meta, dict) and isinstance(context := meta.get("n_ctx_train"), int):
        out["max_input_tokens"] = context
        out["max_tokens"] = context
    return out


def model_list(entries: list[JSONObject], query: models.Query) -> anthropic.ModelListResponse:
    """A page of `ModelInfo`s for the upstream's model entries (each has a string `id`)."""
    found = [model_info(str(m["id"]), m) for m in entries]
    page = paged(found, query)
    return {
        "data": page.items,
        "has_more": page.has_more,
        "first_id": page.first_id,
        "last_id": page.last_id,
    }


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    first_id: str | None
    last_id: str | None


def paged(found: Sequence[T], query: models.Query) -> Page[T]:
    """A page of objects with an `id` as Anthropic's lists give them (`limit`, `after_id`,
    `before_id`); a bad one is a 400 naming it."""
    limit = _limit(query.get("limit"))
    ids = [str(item["id"]) for item in found]
    start, end = 0, len(found)
    after, before = query.get("after_id"), query.get("before_id")
    if after:
        start = _position(ids, after, "after_id") + 1
    if before:
        end = _position(ids, before, "before_id")
    if before and not after:
        first = max(start, end - limit)
        page, has_more = list(found[first:end]), first > start
    else:
        page, has_more = list(found[start : min(end, start + limit)]), start + limit < end
    first_id = str(page[0]["id"]) if page else None
    last_id = str(page[-1]["id"]) if page else None
    return Page(page, has_more, first_id, last_id)


class ListModels(models.ListModels):
    family = "anthropic"
    routes = (Route("GET", "/v1/models"),)
    headers = HEADERS

    def check_query(self, query: models.Query) -> None:
        _limit(query.get("limit"))

    # The shared `models.ListModels` answers a `dict[str, Any]`, which a TypedDict is not: the
    # page is handed over as a plain dict of the same keys.
    def page(self, entries: list[dict[str, Any]], query: models.Query) -> Mapping[str, object]:
        return model_list(entries, query)


class GetModel(models.GetModel):
    family = "anthropic"
    routes = (Route("GET", "/v1/models/{model}"),)
    headers = HEADERS

    def model_object(self, model_id: str, entry: dict[str, Any]) -> Mapping[str, object]:
        return model_info(model_id, entry)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise BadRequest(
            f"limit: must be a whole number from 1 to 1000 (got {text!r})", param="limit"
        )
    return int(text)


def _position(ids: list[str], found_id: str, name: str) -> int:
    if found_id not in ids:
        raise BadRequest(f"{name}: no object with id {found_id!r} in the list", param=name)
    return ids.index(found_id)
