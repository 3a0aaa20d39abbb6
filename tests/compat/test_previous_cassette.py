"""A cassette recorded by an earlier localaik replays byte for byte with this one.

`previous.db` and `other.db` were recorded by `record.py` with the code of the commit before
the architecture change (0.1.0, schema 1), and `answers.json` holds what that code answered,
updated since only by deliberate changes of what clients get (`record.py --answers`, each
commit saying what changed on the wire).
Both are committed and never re-recorded by the tests: they stand for the cassettes users have
committed. Each request is replayed twice (the second time the replay memo may answer), with the
memo on and off, from a read-only copy, and every answer must equal the old one byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.app import create_app
from tests.compat.requests import CALLS

HERE = Path(__file__).resolve().parent
ANSWERS = {a["name"]: a for a in json.loads((HERE / "answers.json").read_text())}


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.mark.parametrize("memo", [True, False], ids=["memo", "no-memo"])
async def test_previous_cassette_replays_byte_for_byte(tmp_path: Path, memo: bool) -> None:
    for name in ("previous.db", "other.db"):
        shutil.copyfile(HERE / name, tmp_path / name)
    before = _digests(tmp_path)
    settings = Settings(log=False, mode="replay", cassette=tmp_path / "previous.db", memo=memo)
    unused = httpx.AsyncClient(transport=httpx.MockTransport(_no_upstream))
    try:
        async with AsyncTestClient(app=create_app(settings, client=unused)) as client:
            for _ in range(2):
                for call in CALLS:
                    await _check(client, call)
    finally:
        await unused.aclose()
    assert _digests(tmp_path) == before, "replay changed a committed cassette"


async def _check(client: Any, call: Any) -> None:
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
    expected = ANSWERS[call.name]
    assert response.status_code == expected["status"], (call.name, response.text)
    assert response.headers.get("content-type") == expected["content_type"], call.name
    assert response.content == base64.b64decode(expected["body"]), call.name


def _no_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"replay contacted the upstream: {request.url}")
