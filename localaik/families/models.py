"""Listing and describing models, the same for every family: any model name is served by the
upstream's model, so a family only says how a model object and a page of them look.

`ListModels` asks the upstream for its models (`GET /models`) and pages them as the family's
API does; `GetModel` answers any name with the upstream model of that id, or its first one.
Both are keyed like other operations (`models.list`, `models.get` with the name), so replay
needs no upstream.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from localaik.errors import NotFound
from localaik.families.operation import (
    Answer,
    Canonical,
    ClientRequest,
    Operation,
    Parsed,
    Rebuilt,
    Request,
    json_answer,
    path_segment,
)
from localaik.media.parts import Media
from localaik.upstream.answers import MODELS, upstream_models
from localaik.upstream.exchange import Exchange, UpstreamCall

Query = Mapping[str, str]


class ListModels(Operation[Query]):
    """`GET …/models`: the upstream's models as a page of the family's model objects."""

    name = "models.list"
    takes_body = False
    headers: dict[str, str] = {}  # what the family's clients send (`cassette verify`)

    def parse(self, request: Request) -> Parsed[Query]:
        self.check_query(request.query)  # a bad page request is refused before the upstream
        return Parsed(ClientRequest(self.family, self.name, None, False, None), dict(request.query))

    def check_query(self, query: Query) -> None:
        """Refuse a malformed paging parameter."""

    def upstream_call(
        self, parsed: Parsed[Query], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return MODELS

    async def respond(self, parsed: Parsed[Query], exchange: Exchange) -> Answer:
        return json_answer(self.page(upstream_models(exchange.json()), parsed.context))

    @abstractmethod
    def page(self, entries: list[dict[str, Any]], query: Query) -> Mapping[str, object]:
        """The family's answer for the upstream's model entries and the client's query."""

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return Rebuilt("GET", self.routes[0].path, None, dict(self.headers))


class GetModel(Operation[str]):
    """`GET …/models/{model}`: the family's model object for any name."""

    name = "models.get"
    takes_body = False
    headers: dict[str, str] = {}

    def parse(self, request: Request) -> Parsed[str]:
        name = self.model_id(request.params["model"])
        return Parsed(ClientRequest(self.family, self.name, name, False, None), name)

    def model_id(self, segment: str) -> str:
        return segment

    def upstream_call(
        self, parsed: Parsed[str], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return MODELS

    async def respond(self, parsed: Parsed[str], exchange: Exchange) -> Answer:
        entries = upstream_models(exchange.json())
        if not entries:
            raise NotFound("the upstream serves no model")
        entry = next((m for m in entries if m["id"] == parsed.context), entries[0])
        return json_answer(self.model_object(parsed.context, entry))

    @abstractmethod
    def model_object(self, model_id: str, entry: dict[str, Any]) -> Mapping[str, object]:
        """The family's object for `model_id`, served by the upstream model `entry`."""

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        path = self.routes[0].path.replace("{model}", path_segment(canonical["model"]))
        return Rebuilt("GET", path, None, dict(self.headers))
