"""OpenAI `GET /v1/models` and `GET /v1/models/{model}` (the paths Gemini v1 and Anthropic
clients share: the router gives each request to the family that claims it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localaik.families import models
from localaik.families.openai import wire
from localaik.families.operation import Route

HEADERS = {"authorization": "Bearer verify"}


def model_object(model_id: str, upstream: dict[str, Any] | None = None) -> wire.Model:
    created = upstream.get("created") if upstream else None
    return {
        "id": model_id,
        "object": "model",
        "created": created if isinstance(created, int) else 0,
        "owned_by": (upstream or {}).get("owned_by") or "localaik",
    }


class ListModels(models.ListModels):
    family = "openai"
    routes = (Route("GET", "/v1/models"),)
    headers = HEADERS

    def page(self, entries: list[dict[str, Any]], query: models.Query) -> Mapping[str, object]:
        return {"object": "list", "data": [model_object(m["id"], m) for m in entries]}


class GetModel(models.GetModel):
    family = "openai"
    routes = (Route("GET", "/v1/models/{model}"),)
    headers = HEADERS

    def model_object(self, model_id: str, entry: dict[str, Any]) -> Mapping[str, object]:
        # The base class answers a dict; a TypedDict is not one, so the model is copied.
        return model_object(model_id, entry)
