"""A recording as its client sees it: the answer localaik sends for it, translated now.

`cassette diff` compares recordings this way. Its client request is rebuilt as `verify`
rebuilds it (`checks.client_request`) and sent through the request pipeline with the recording
as the upstream's answer: the same translation a replay runs, without a cassette, an upstream
or HTTP. What the translation drops (llama-server's `timings`, for every family but OpenAI
chat) is then no difference, and what it keeps is one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from localaik.cassette.checks import client_request
from localaik.cassette.recording import Recording
from localaik.config import Mode, Settings
from localaik.server.cassettes import Cassettes
from localaik.server.pipeline import Incoming, Pipeline
from localaik.server.policy import Replayer, replayed_exchange
from localaik.wire import sse


@dataclass(frozen=True)
class ClientView:
    """What a client gets for a recording: status, media type, and every byte of the body."""

    status: int
    media_type: str
    body: bytes

    def lines(self) -> list[str]:
        """As text to diff: the status line, then the body (JSON indented; a stream's events
        one per line)."""
        text = self.body.decode("utf-8", "replace")
        head = f"{self.status} {self.media_type}"
        try:
            value = json.loads(text)
        except ValueError:
            parser = sse.EventParser()
            events = parser.feed(self.body) + parser.close()
            return [head] + [e.data if not e.event else f"{e.event}: {e.data}" for e in events]
        return [head, *json.dumps(value, indent=2, ensure_ascii=False).splitlines()]


def client_views(recordings: Sequence[Recording]) -> list[ClientView | None]:
    """The client's view of each recording (None for one no operation can rebuild)."""
    if not recordings:
        return []
    # A loop of its own, in a thread of its own: the caller may be async code.
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, _views(recordings)).result()


async def _views(recordings: Sequence[Recording]) -> list[ClientView | None]:
    settings = Settings(mode=Mode.REPLAY, log=False, max_body_size=2**31)
    # Answers come from the recordings themselves: the pipeline never opens this cassette.
    replayer = Replayer(settings, None, Cassettes(Path("unused.db"), readonly=True))
    pipeline = Pipeline(settings, None, replayer)
    return [await _view(pipeline, recording) for recording in recordings]


async def _view(pipeline: Pipeline, recording: Recording) -> ClientView | None:
    request = client_request(recording)
    if isinstance(request, str):
        return None
    parts = urlsplit(request.path)
    body = request.body or b""

    async def read_body() -> bytes:
        return body

    incoming = Incoming(
        request.method, parts.path, dict(parse_qsl(parts.query)), request.headers, read_body
    )
    answer = await pipeline.handle(incoming, replayed_exchange(recording))
    content = answer.body
    if answer.frames is not None:
        content = b"".join([frame async for frame in answer.frames])
    return ClientView(answer.status, answer.media_type, content)
