"""The inspector mounted in front of `localaik serve`'s app: `/_localaik/` goes to the inspector
(but `/_localaik/session`, the API app's own control endpoint, `server/session.py`).

An ASGI layer, so the API app is not touched (its routing, its fast path for API requests, its
lifespan): HTTP requests under the prefix go to the inspector's own app, everything else (the
APIs, `/health`, the lifespan) to the API app. The inspector reads the served app's services
once they are started: which recordings this run used, this run's events. It lists the
cassettes the server can serve: those in its default cassette's folder (not below it, which may
be a whole project when `LK_CASSETTE` names a file in its root).
"""

from __future__ import annotations

import functools
from typing import Any

from litestar import Litestar

from localaik.cassette.locate import beside
from localaik.config import Settings
from localaik.inspector.app import Inspected, routes
from localaik.inspector.catalog import Catalog
from localaik.inspector.markup import PREFIX
from localaik.server.app import services_of
from localaik.server.session import PATH as SESSION


class WithInspector:
    """`api`, with the inspector answering under `/_localaik/`."""

    def __init__(self, api: Any, settings: Settings) -> None:
        self.api = api
        self.inspector = Litestar(route_handlers=routes(), openapi_config=None, logging_config=None)
        self.inspector.state.inspector = self._inspected
        self._root = settings.cassette.parent
        self._made: Inspected | None = None

    def _inspected(self) -> Inspected:
        """The inspector's view of the served app (made at its first page, once started)."""
        if self._made is None:
            services = services_of(self.api)
            catalog = Catalog(
                self._root,
                functools.partial(beside, self._root),
                served=services.replayer.usage.served,
            )
            self._made = Inspected(catalog, services.pipeline.events)
        return self._made

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != SESSION and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.inspector(scope, receive, send)
        else:
            await self.api(scope, receive, send)
