"""Record the compatibility cassette: `python -m tests.compat.record`.

Runs localaik in record mode in-process, with the fake llama-server behind it, sends every
request of `requests.CALLS`, and writes `previous.db` (and `other.db`, the header-named
cassette) and `answers.json`: what localaik answered each request then (status, content type,
body bytes). Run it only with the code whose cassettes must keep replaying; the files are
committed.

`python -m tests.compat.record --answers` leaves the cassettes alone and rewrites only
`answers.json` with what this code answers when it replays them: for a deliberate change of
what clients get (a translation fix applies to old cassettes, D2), whose commit says what
changed on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.app import create_app
from tests.app.conftest import FakeTransport
from tests.compat.requests import CALLS
from tests.fakes.fake_llama import make_app

HERE = Path(__file__).resolve().parent


async def record(folder: Path, mode: str = "record") -> list[dict[str, Any]]:
    settings = Settings(
        log=False, upstream="http://fake/v1", mode=mode, cassette=folder / "previous.db"
    )
    upstream = httpx.AsyncClient(transport=FakeTransport(make_app()), base_url="http://fake")
    answers = []
    try:
        async with AsyncTestClient(app=create_app(settings, client=upstream)) as client:
            for call in CALLS:
                body = None if call.body is None else json.dumps(call.body).encode()
                response = await client.request(
                    call.method,
                    call.path,
                    content=body,
                    headers={
                        **call.headers,
                        **call.extra_headers,
                        **({"content-type": "application/json"} if body else {}),
                    },
                )
                answers.append(
                    {
                        "name": call.name,
                        "status": response.status_code,
                        "content_type": response.headers.get("content-type"),
                        "body": base64.b64encode(response.content).decode(),
                    }
                )
    finally:
        await upstream.aclose()
    return answers


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        if "--answers" in sys.argv[1:]:
            for name in ("previous.db", "other.db"):
                shutil.copyfile(HERE / name, Path(folder) / name)
            answers = asyncio.run(record(Path(folder), mode="replay"))
        else:
            answers = asyncio.run(record(Path(folder)))
            for name in ("previous.db", "other.db"):
                shutil.copyfile(Path(folder) / name, HERE / name)
    (HERE / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")
    print(f"recorded {len(answers)} answers")


if __name__ == "__main__":
    main()
