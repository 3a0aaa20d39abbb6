"""Bounded upstreams, over real sockets: `localaik serve` in front of the fake llama-server
(its own process), whose `[[endless]]` answers never end (a JSON body, or chat chunks) and whose
`[[longline]]` stream is one event whose line never ends.

- With a small LK_UPSTREAM_MAX_BYTES the client gets a 502 in its API's shape soon (an error
  event when the stream had begun), and nothing is recorded.
- A client that leaves early makes localaik close the upstream connection: the fake sees it
  go within seconds (it was never, before: a body was read on until the upstream stopped).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings, assert_error

CHAT = "/v1/chat/completions"
KINDS = {
    "body": ("[[endless]]", False),
    "stream": ("[[endless]]", True),
    "stream-line": ("[[longline]]", True),
}


def chat(kind: str, text: str = "") -> dict[str, object]:
    directive, stream = KINDS[kind]
    content = f"{directive} {text}"
    return {"model": "m", "messages": [{"role": "user", "content": content}], "stream": stream}


@pytest.fixture(scope="module")
def servers(
    fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[LocalaikProcess, Path]]]:
    """A localaik capped at 1 MiB, and one with the default cap (64 MiB), both recording."""
    folder = tmp_path_factory.mktemp("bounds")
    started: dict[str, tuple[LocalaikProcess, Path]] = {}
    try:
        for name, cap in (("capped", {"LK_UPSTREAM_MAX_BYTES": "1MiB"}), ("default", {})):
            cassette = folder / f"{name}.db"
            env = {
                "LK_UPSTREAM": fake_llama_process.url + "/v1",
                "LK_MODE": "record",
                "LK_CASSETTE": str(cassette),
                **cap,
            }
            started[name] = (LocalaikProcess(env), cassette)
        yield started
    finally:
        for server, _ in started.values():
            server.stop()


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_endless_answer_is_cut_at_the_cap_with_a_502(
    servers: dict[str, tuple[LocalaikProcess, Path]], fake_llama: FakeLlama, kind: str
) -> None:
    server, cassette = servers["capped"]
    started = time.monotonic()
    response = httpx.post(server.url + CHAT, json=chat(kind), timeout=60)
    took = time.monotonic() - started

    if KINDS[kind][1]:  # the stream had begun: it ends with the error event
        assert response.status_code == 200
        last = response.content.removesuffix(b"\n\n").rsplit(b"\n\n", 1)[-1]
        error = json.loads(last.removeprefix(b"data: "))["error"]
    else:
        error = assert_error(response, 502, "openai")
    assert error["code"] == "upstream_bad_response"
    assert "LK_UPSTREAM_MAX_BYTES (1048576 bytes)" in error["message"]
    assert took < 30, f"{took:.1f} s to answer"
    assert all_recordings(cassette) == []


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_client_that_leaves_closes_the_upstream_connection(
    servers: dict[str, tuple[LocalaikProcess, Path]], fake_llama: FakeLlama, kind: str
) -> None:
    server, cassette = servers["default"]
    label = f"leaving early, {kind}"  # tells this answer from any other the fake is sending
    try:  # the client gives up after 0.5 s without a byte, or after its first bytes
        with httpx.stream("POST", server.url + CHAT, json=chat(kind, label), timeout=0.5) as got:
            next(got.iter_bytes())
    except httpx.ReadTimeout:
        pass
    left = time.time()

    def closed() -> list[dict[str, float]]:
        return [c for c in fake_llama.closed() if label in c["text"]]

    deadline = time.monotonic() + 10
    while not closed() and time.monotonic() < deadline:
        time.sleep(0.02)
    [closed_one] = closed() or [{"time": float("inf")}]
    closed_at = closed_one["time"]
    assert closed_at - left < 5, f"the upstream connection was open {closed_at - left:.2f} s on"
    assert all_recordings(cassette) == []
