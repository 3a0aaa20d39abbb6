"""The ASGI apps the benchmarks serve, as factories any ASGI server can import.

- `localaik_app()`: localaik as `localaik serve` builds it, configured by the `LK_*`
  environment (mode, cassette, log).
- `baseline_app()`: a bare Litestar app with the same routes, answering the bytes recorded in
  `BENCH_ANSWERS` (a JSON file `{path: {"body": text, "content_type": ..., "frames": [...]}}`):
  the same ASGI server doing no work but HTTP, routing and sending the same bytes. Streams are
  sent as their frames at once, or at their offsets when `BENCH_SPEED` is 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.response import Stream


def localaik_app() -> Any:
    from localaik.config import Settings
    from localaik.server.app import create_app

    return create_app(Settings.load())


def baseline_app() -> Litestar:
    answers: dict[str, Any] = json.loads(Path(os.environ["BENCH_ANSWERS"]).read_text())
    speed = float(os.environ.get("BENCH_SPEED", "0"))

    async def paced(frames: list[list[Any]]) -> AsyncIterator[bytes]:
        start = time.perf_counter()
        for offset_ms, data in frames:
            if speed > 0:
                wait = start + offset_ms / 1000 / speed - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            yield data.encode()

    @post(["/v1beta/models/{model_action:str}", "/v1/chat/completions"], status_code=200)
    async def answer(request: Request[Any, Any, Any]) -> Response[Any]:
        await request.body()
        key = request.url.path + ("?alt=sse" if request.query_params.get("alt") else "")
        found = answers[key]
        if found.get("frames"):
            return Stream(paced(found["frames"]), media_type=found["content_type"])
        return Response(content=found["body"].encode(), media_type=found["content_type"])

    return Litestar(route_handlers=[answer], openapi_config=None, logging_config=None, debug=False)
