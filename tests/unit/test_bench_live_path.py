"""The live-path benchmark's own parts: wrk's per-request bodies (every one new, so record mode
misses every time) and the no-op upstream (built by the system's cc, answering as llama-server
does, in streams localaik's reader accepts). Skipped without wrk or cc."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import noop
from bench.common import wrk
from localaik.upstream.chunks import chunk_usage, is_done, upstream_chunk
from localaik.wire.sse import EventParser

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")


class _Bodies(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    seen: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A server that keeps every (path, body) it is sent."""
    seen: list[tuple[str, bytes]] = []
    handler = type("Handler", (_Bodies,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@needs_wrk
def test_salted_bodies_are_all_different(recorder: tuple[str, list[tuple[str, bytes]]]) -> None:
    url, seen = recorder
    run = wrk(url, "/p", b'{"q":"note {unique}"}', connections=2, seconds=1, salt="77.3")
    assert run.errors == 0
    bodies = [body for _, body in seen]
    assert len(bodies) >= 20
    assert len(set(bodies)) == len(bodies)
    assert all(re.fullmatch(rb'\{"q":"note 77\.3-\d+"\}', body) for body in bodies)


@needs_wrk
def test_a_mix_cycles_through_its_routes(recorder: tuple[str, list[tuple[str, bytes]]]) -> None:
    url, seen = recorder
    mix = [("/a", b'{"a":"{unique}"}'), ("/b", b'{"b":1}')]
    wrk(url, "/unused", b"", connections=1, seconds=1, mix=mix, salt="5")
    assert len(seen) >= 20
    assert {path for path, _ in seen} == {"/a", "/b"}
    for (path, body), (following, _) in zip(seen, seen[1:], strict=False):
        assert following != path  # one connection: strictly in turn
        assert body == b'{"b":1}' if path == "/b" else re.fullmatch(rb'\{"a":"5-\d+"\}', body)


@needs_cc
def test_the_upstream_is_built_once_per_source(tmp_path: Path) -> None:
    source = tmp_path / "noop_upstream.c"
    source.write_bytes(noop.SOURCE.read_bytes())
    built = noop.build(source, tmp_path)
    assert built.parent == tmp_path / "bench" and built.stat().st_mode & 0o100
    stamp = built.stat().st_mtime_ns
    assert noop.build(source, tmp_path) == built and built.stat().st_mtime_ns == stamp
    source.write_bytes(source.read_bytes() + b"\n/* changed */\n")
    rebuilt = noop.build(source, tmp_path)
    assert rebuilt != built and rebuilt.is_file() and not built.exists()


def test_no_compiler_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(noop.BuildError, match=r"needs a C compiler.*build-essential") as failed:
        noop.build(noop.SOURCE, tmp_path)
    assert "\n" not in str(failed.value)


@needs_cc
def test_the_upstream_answers_as_llama_server(tmp_path: Path) -> None:
    with noop.upstream(6, 0, noop.build(noop.SOURCE, tmp_path)) as upstream:
        url = upstream.url + "/v1/chat/completions"
        plain = httpx.post(url, json={"model": "noop", "messages": []})
        assert plain.status_code == 200
        answer = plain.json()
        assert answer["choices"][0]["message"]["content"].startswith("localaik noop")
        assert 1900 < len(plain.content) < 2100
        streamed = httpx.post(url, content=b'{"model":"noop","stream":true,"messages":[]}')
        assert streamed.headers["content-type"] == "text/event-stream"
    events = EventParser().feed(streamed.content)
    assert is_done(events[-1].data)
    chunks = [upstream_chunk(event.data) for event in events[:-1]]
    texts = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert texts == ["f000 ", "f001 ", "f002 ", None]
    assert chunks[2]["choices"][0]["delta"] == {"content": "f002 "}
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunk_usage(chunks[-1]) == {
        "prompt_tokens": 9,
        "completion_tokens": 3,
        "total_tokens": 12,
    }
    assert json.loads(events[0].data)["choices"][0]["delta"]["role"] == "assistant"


@needs_cc
def test_the_upstream_reads_chunked_bodies_on_a_kept_connection(tmp_path: Path) -> None:
    """Go's net/http forwards a body it has not read yet chunked (the original Go localaik's
    OpenAI route does): the upstream must see the whole body, and the next request on the same
    connection must not read its chunks as a request."""
    stream = b'{"model":"noop","stream":true,"messages":[]}'

    def pieces() -> Iterator[bytes]:
        yield stream[:7]  # httpx sends a generator's body chunked, one chunk per piece
        yield stream[7:]

    with noop.upstream(6, 0, noop.build(noop.SOURCE, tmp_path)) as upstream:
        url = upstream.url + "/v1/chat/completions"
        with httpx.Client() as client:
            first = client.post(url, content=pieces())
            second = client.post(url, content=b'{"model":"noop","messages":[]}')
            third = client.post(url, content=pieces())
    assert first.request.headers["transfer-encoding"] == "chunked"
    for streamed in (first, third):
        assert streamed.status_code == 200
        assert streamed.headers["content-type"] == "text/event-stream"
        assert is_done(EventParser().feed(streamed.content)[-1].data)
    assert second.status_code == 200 and second.json()["object"] == "chat.completion"
