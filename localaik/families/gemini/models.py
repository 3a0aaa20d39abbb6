"""Gemini `models.list` (paged with pageSize/pageToken, like the real API) and `models.get`,
under both `/v1beta/` and `/v1/`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from localaik.errors import BadRequest
from localaik.families import models
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.response import model_name
from localaik.families.operation import Route

VERSIONS = ("/v1beta", "/v1")
HEADERS = {"x-goog-api-key": "verify"}
DEFAULT_PAGE = 50
T = TypeVar("T")


def versioned(method: str, path: str) -> tuple[Route, ...]:
    """`path` under `/v1beta/` and `/v1/` (google-genai 3 defaults to `v1`, @google/genai to
    `v1beta`); where OpenAI has the same path (`/v1/files`, `/v1/batches`), a request with
    google-genai's headers is Gemini's (`__init__.claim`)."""
    return tuple(Route(method, version + path) for version in VERSIONS)


def gemini_model(model_id: str, upstream: Mapping[str, object] | None = None) -> gemini.Model:
    """A Gemini `Model` object for a model name, served by an upstream model entry."""
    served = upstream.get("id") if upstream else None
    out: gemini.Model = {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": model_id,
        "description": f"Served by localaik from the local model {served or model_id}",
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    }
    meta = upstream.get("meta") if upstream else None
    context = meta.get("n_ctx_train") if isinstance(meta, dict) else None
    if isinstance(context, int):
        out["inputTokenLimit"] = context
        out["outputTokenLimit"] = context
    return out


class ListModels(models.ListModels):
    family = "gemini"
    routes = tuple(Route("GET", f"{version}/models") for version in VERSIONS)
    headers = HEADERS

    def check_query(self, query: models.Query) -> None:
        _page_size(query.get("pageSize"))
        _page_token(query.get("pageToken"), None)

    def page(self, entries: list[dict[str, Any]], query: models.Query) -> Mapping[str, object]:
        found = [gemini_model(m["id"], m) for m in entries]
        items, token = paged(found, query)
        page: gemini.ListModelsResponse = {"models": items}
        if token is not None:
            page["nextPageToken"] = token
        return page


class GetModel(models.GetModel):
    family = "gemini"
    routes = tuple(Route("GET", f"{version}/models/{{model}}") for version in VERSIONS)
    headers = HEADERS

    def model_id(self, segment: str) -> str:
        return model_name(segment)

    def model_object(self, model_id: str, entry: dict[str, Any]) -> Mapping[str, object]:
        return gemini_model(model_id, entry)


def paged(found: Sequence[T], query: models.Query) -> tuple[list[T], str | None]:
    """A page of a list as Google's APIs give them (`pageSize`, `pageToken`), and the next
    page's token (None: the last page); a bad one is a 400."""
    size = _page_size(query.get("pageSize"))
    start = _page_token(query.get("pageToken"), len(found))
    token = str(start + size) if start + size < len(found) else None
    return list(found[start : start + size]), token


def _page_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"pageSize must be a whole number (got {text!r})")
    return max(1, min(int(text), 1000))


def _page_token(text: str | None, total: int | None) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()) or (total is not None and int(text) > total):
        raise BadRequest("pageToken is not one this server gave out")
    return int(text)
