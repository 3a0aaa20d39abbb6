"""The requests of the live-path benchmark: one route per API family and stream-or-not, the
straight request to the upstream each is measured against, and a wrk run in which every body
is new.

Every body's prompt holds "{unique}": bench/wrk/post.lua replaces it with a salt no other run
of this process uses and the request's count, so in record mode every request is a miss.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import CHAT, GEMINI, GEMINI_SSE, Load, wrk

PROMPT = "Write one line of release notes for live-path request {unique}."
MESSAGES = [{"role": "user", "content": PROMPT}]
ANTHROPIC = "/v1/messages"
ANTHROPIC_HEADERS = {"x-api-key": "bench-live-path", "anthropic-version": "2023-06-01"}


@dataclass(frozen=True)
class Route:
    family: str
    stream: bool
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.family} {'stream' if self.stream else 'plain'}"

    def json(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def _streamed(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "stream": True}


_GEMINI = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
_OPENAI = {"model": "gpt-4o-mini", "messages": MESSAGES}
_ANTHROPIC = {"model": "claude-3-5-haiku-latest", "max_tokens": 256, "messages": MESSAGES}
_STRAIGHT = {"model": "noop", "messages": MESSAGES}
ROUTES = (
    Route("gemini", False, GEMINI, _GEMINI),
    Route("gemini", True, GEMINI_SSE, _GEMINI),
    Route("openai", False, CHAT, _OPENAI),
    Route("openai", True, CHAT, _streamed(_OPENAI)),
    Route("anthropic", False, ANTHROPIC, _ANTHROPIC, ANTHROPIC_HEADERS),
    Route("anthropic", True, ANTHROPIC, _streamed(_ANTHROPIC), ANTHROPIC_HEADERS),
)
# The baseline: the upstream asked directly, plain or streamed as the route is.
STRAIGHT = {
    False: Route("upstream", False, CHAT, _STRAIGHT),
    True: Route("upstream", True, CHAT, _streamed(_STRAIGHT)),
}

_RUN = int(time.time())
_SALTS = itertools.count()


def load(url: str, route: Route, connections: int, seconds: float) -> Load:
    """One wrk run of `route`, every body new (a salt no other run of this process uses)."""
    salt = f"{_RUN}.{next(_SALTS)}"
    return wrk(
        url,
        route.path,
        route.json(),
        connections=connections,
        seconds=seconds,
        headers=route.headers,
        salt=salt,
    )
