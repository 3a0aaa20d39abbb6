"""What the server's upstream transport (`upstream/transport.py`: localaik's own client for a
plain-http upstream, aiohttp through a proxy) sends and keeps, over
real sockets: `localaik serve` in passthrough in front of the fake llama-server, its own process.

- No cookie an upstream sets is sent back on a later request.
- No credential from ~/.netrc is sent (aiohttp's trust_env would send one).
- The upstream gets its JSON body named application/json, from either client.
- The proxy variables are honoured as before (HTTP_PROXY, and NO_PROXY to bypass it).
- A redirect is not followed: the client gets a 502 naming it, and nothing reaches the target.
- A stream cut by the upstream delivers every frame that arrived before the cut, even when the
  frames and the cut come in one packet (aiohttp raises before handing those over).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, assert_error

CHAT = "/v1/chat/completions"


def chat(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def fake() -> Iterator[FakeLlama]:
    with FakeLlama.start() as fake:
        yield fake


def serving(env: dict[str, str]) -> LocalaikProcess:
    return LocalaikProcess({"LK_LOG": "off", "NO_PROXY": "", "no_proxy": "", **env})


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"].endswith("/chat/completions")]


def test_a_cookie_the_upstream_sets_is_never_sent_back(fake: FakeLlama) -> None:
    server = serving({"LK_UPSTREAM": fake.url + "/v1"})
    try:
        first = httpx.post(server.url + CHAT, json=chat("one [[cookie]]"), timeout=30)
        assert first.status_code == 400 and "set-cookie" not in first.headers
        second = httpx.post(server.url + CHAT, json=chat("two"), timeout=30)
        assert second.status_code == 200
    finally:
        server.stop()
    sent = chat_requests(fake)
    assert len(sent) == 2
    assert all("cookie" not in {k.lower() for k in r["headers"]} for r in sent)


def test_no_netrc_credential_is_sent(fake: FakeLlama, tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2hunter2\n")
    netrc.chmod(0o600)
    server = serving({"LK_UPSTREAM": fake.url + "/v1", "HOME": str(tmp_path)})
    try:
        answer = httpx.post(server.url + CHAT, json=chat("hello"), timeout=30)
        assert answer.status_code == 200
    finally:
        server.stop()
    (sent,) = chat_requests(fake)
    assert "authorization" not in {k.lower() for k in sent["headers"]}


@pytest.mark.parametrize("client", ["direct", "aiohttp"])
def test_the_upstream_gets_a_json_body_with_its_content_type(fake: FakeLlama, client: str) -> None:
    """Straight to a plain-http upstream (localaik's own client) and through a proxy (aiohttp):
    the same request, named application/json (servers such as FastAPI's may refuse others)."""
    env = {"LK_UPSTREAM": fake.url + "/v1"}
    if client == "aiohttp":
        env = {"LK_UPSTREAM": f"http://127.0.0.2:{closed_port()}/v1", "HTTP_PROXY": fake.url}
    server = serving(env)
    try:
        answer = httpx.post(server.url + CHAT, json=chat("typed"), timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()
    (sent,) = chat_requests(fake)
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert sent["body"]["messages"][0]["content"] == "typed"  # the fake parsed it as JSON


def test_the_proxy_variables_are_honoured(fake: FakeLlama) -> None:
    """HTTP_PROXY sends the upstream's requests through the proxy (here the fake, which answers
    the absolute-form request itself); NO_PROXY naming the upstream's host bypasses it (and the
    upstream there is not listening: a 502)."""
    upstream = f"http://127.0.0.2:{closed_port()}/v1"
    proxied = serving({"LK_UPSTREAM": upstream, "HTTP_PROXY": fake.url})
    try:
        answer = httpx.post(proxied.url + CHAT, json=chat("via the proxy"), timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        proxied.stop()
    (sent,) = chat_requests(fake)
    assert {k.lower(): v for k, v in sent["headers"].items()}["host"] == upstream.split("/")[2]
    fake.reset()
    bypass = {"NO_PROXY": "127.0.0.2", "no_proxy": "127.0.0.2"}
    bypassed = serving({"LK_UPSTREAM": upstream, "HTTP_PROXY": fake.url, **bypass})
    try:
        answer = httpx.post(bypassed.url + CHAT, json=chat("straight"), timeout=30)
        assert "failed to reach upstream" in assert_error(answer, 502, "openai")["message"]
    finally:
        bypassed.stop()
    assert chat_requests(fake) == []


def test_a_redirect_is_not_followed(fake: FakeLlama) -> None:
    server = serving({"LK_UPSTREAM": fake.url + "/v1"})
    try:
        answer = httpx.post(server.url + CHAT, json=chat("go [[redirect]]"), timeout=30)
    finally:
        server.stop()
    assert "elsewhere.invalid" in assert_error(answer, 502, "openai")["message"]
    assert len(chat_requests(fake)) == 1


FRAMES = [
    f'data: {{"choices": [{{"index": 0, "delta": {{"content": "part{n} "}}}}]}}\n\n'
    for n in range(3)
]


def cutting_upstream(sock: socket.socket) -> None:
    """Answer each chat completion with three SSE frames and cut the connection, all in one
    write, so they reach localaik together; anything else is a 404."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            length = int(
                next(
                    (
                        line.split(b":")[1]
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    b"0",
                )
            )
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += conn.recv(65536)
            if CHAT.encode() not in head.split(b"\r\n", 1)[0]:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                continue
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(f), f.encode()) for f in FRAMES)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + chunks
            )


def test_frames_that_arrive_with_the_cut_are_delivered() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=cutting_upstream, args=(sock,), daemon=True).start()
    server = serving({"LK_UPSTREAM": f"http://127.0.0.1:{sock.getsockname()[1]}/v1"})
    try:
        with httpx.stream(
            "POST", server.url + CHAT, json={**chat("cut"), "stream": True}, timeout=30
        ) as answer:
            events = [line for line in answer.iter_lines() if line.startswith("data:")]
    finally:
        server.stop()
        sock.close()
    texts = [
        json.loads(e[5:])["choices"][0]["delta"].get("content")
        for e in events
        if e.strip() != "data: [DONE]" and "error" not in json.loads(e[5:])
    ]
    assert texts == ["part0 ", "part1 ", "part2 "]
    assert "error" in json.loads(events[-1][5:]), "the cut is reported after the frames"
