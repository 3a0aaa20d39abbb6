"""The access log: one line per request, no secrets in it; on the `localaik.access` logger, or
straight to a log handler's stream (`StreamLines`, what `localaik serve` uses), the same lines."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.access_log import Lines, StreamLines, logged
from localaik.server.app import create_app
from tests.fakes.fake_llama import FakeLlamaApp, make_app

GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
LINE = re.compile(
    r"^(?P<family>\S+)\s+(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) "
    r"(?P<ms>\d+(\.\d+)?)ms$"
)


@pytest.fixture()
def fake() -> FakeLlamaApp:
    return make_app()


class Sink:
    """Where a test's access lines go: the logger (read from caplog) or a handler's stream."""

    def __init__(self, kind: str, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.stream = io.StringIO()
        self.lines: Lines = logged
        if kind == "stream":
            handler = logging.StreamHandler(self.stream)
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            self.lines = StreamLines(handler)

    def read(self) -> list[str]:
        if self.lines is logged:
            return [r.getMessage() for r in self.caplog.records if r.name == "localaik.access"]
        written = self.stream.getvalue().splitlines()
        assert all(line.startswith("localaik.access: ") for line in written), written
        return [line.removeprefix("localaik.access: ") for line in written]


@pytest.fixture(params=["logger", "stream"])
def sink(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Sink:
    return Sink(request.param, caplog)


@pytest.fixture()
def localaik(fake: FakeLlamaApp, sink: Sink) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(log: bool) -> AsyncIterator[AsyncTestClient[Any]]:
        upstream = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake), base_url="http://fake"
        )
        app = create_app(
            Settings(log=log, upstream="http://fake/v1", mode="passthrough"),
            client=upstream,
            access_lines=sink.lines,
        )
        async with upstream, AsyncTestClient(app=app) as client:
            yield client

    return start


def gemini_body(text: str = "hi") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


async def test_one_line_per_request(
    localaik: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        await client.post(
            f"{GENERATE}?key=SECRET", json=gemini_body(), headers={"x-goog-api-key": "HEADERKEY"}
        )
        await client.post(
            "/v1/chat/completions?key=SECRET",
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer HEADERKEY"},
        )
        await client.get("/v1/models", headers={"x-goog-api-key": "HEADERKEY"})
        await client.get("/nope?token=SECRET")
        await client.post(GENERATE, content=b"{bad json")

    lines = sink.read()
    assert len(lines) == 5, lines
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["family"], m["method"], m["path"], m["status"]) for m in parsed if m] == [
        ("gemini", "POST", GENERATE, "200"),
        ("openai", "POST", "/v1/chat/completions", "200"),
        ("gemini", "GET", "/v1/models", "200"),
        ("-", "GET", "/nope", "404"),
        ("gemini", "POST", GENERATE, "400"),
    ]
    text = "\n".join(lines)
    assert "SECRET" not in text
    assert "HEADERKEY" not in text
    assert "?" not in text


async def test_health_ok_not_logged_but_failing_health_is(
    localaik: Any, sink: Sink, fake: FakeLlamaApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        ok = await client.get("/health")
        fake.health_status = 503
        failing = await client.get("/health")

    assert (ok.status_code, failing.status_code) == (200, 503)
    lines = sink.read()
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match and (match["method"], match["path"], match["status"]) == ("GET", "/health", "503")


async def test_control_characters_in_path_are_escaped(
    localaik: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        await client.get("/nope%0Afake%20line")

    [line] = sink.read()
    assert "\n" not in line
    assert LINE.match(line), line


async def test_log_off_logs_nothing(
    localaik: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with localaik(log=False) as client:
        assert (await client.post(GENERATE, json=gemini_body())).status_code == 200
        assert (await client.get("/nope")).status_code == 404

    assert sink.read() == []


async def test_a_key_used_as_the_model_name_is_redacted(
    localaik: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    """The model name is part of a Gemini path: a key pasted there must not reach the log."""
    caplog.set_level(logging.INFO, logger="localaik.access")
    key = "AI" + "za" + "SyB" + "x7Q2mN4pL9kR1tV6wZ3cF8hJ0dG5sA2e"
    async with localaik(log=True) as client:
        await client.post(f"/v1beta/models/{key}:generateContent", json=gemini_body())
        await client.get(f"/v1beta/models/{key}")
    lines = sink.read()
    assert len(lines) == 2
    # One field: the marker's space is escaped as any space in a path is.
    assert all("/v1beta/models/[redacted%20google-api-key]" in line for line in lines), lines
    assert not [line for line in lines if key[4:14] in line]


def test_a_stream_that_refuses_the_line_loses_the_line_only() -> None:
    """A closed pipe or stream: the line is dropped (as logging drops a record it cannot
    write), never an error raised into the request's answer."""
    stream = io.StringIO()
    lines = StreamLines(logging.StreamHandler(stream))
    stream.close()
    lines("gemini    POST /v1beta/models/m:generateContent 200 0.4ms")  # no error


async def test_no_line_is_formatted_for_a_logger_that_drops_info(
    localaik: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    """In a test process whose logging is at its default level (WARNING), the logger's lines
    are not wanted: nothing reaches it. The stream's are always written."""
    caplog.set_level(logging.WARNING, logger="localaik.access")
    async with localaik(log=True) as client:
        assert (await client.post(GENERATE, json=gemini_body())).status_code == 200
    assert len(sink.read()) == (0 if sink.lines is logged else 1)


def test_serve_writes_one_line_per_request_to_stderr(tmp_path: Any) -> None:
    """`localaik serve` as users run it: each request's line on stderr, in the format of its
    other log lines (`localaik.access: …`), in the order the requests were answered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LK_")}
    env["LK_CASSETTE"] = str(tmp_path / "c.db")
    command = [sys.executable, "-m", "localaik", "serve", "--port", "0", "--mode", "passthrough"]
    process = subprocess.Popen(
        [*command, "--upstream", "http://127.0.0.1:9/v1"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        for line in process.stderr:
            if "listening on http://" in line:
                url = line.split("listening on ")[1].strip()
                break
        else:
            raise AssertionError(f"the server exited with {process.wait()}")
        assert httpx.get(url + "/nope?key=SECRET", timeout=5).status_code == 404
        bad = httpx.post(url + GENERATE, content=b"{bad", timeout=5)
        assert bad.status_code == 400
    finally:
        process.terminate()
        rest = process.communicate(timeout=15)[1]
    written = [line for line in rest.splitlines() if line.startswith("localaik.access: ")]
    parsed = [LINE.match(line.removeprefix("localaik.access: ")) for line in written]
    assert all(parsed), written
    assert [(m["family"], m["method"], m["path"], m["status"]) for m in parsed if m] == [
        ("-", "GET", "/nope", "404"),
        ("gemini", "POST", GENERATE, "400"),
    ]
    assert "SECRET" not in rest


class CountingStream(io.StringIO):
    """A stream that counts its writes."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_the_lines_of_one_turn_are_one_write_and_records_keep_their_place() -> None:
    """On a loop the lines of one turn go out together when it ends, and a record the same
    handler shows meanwhile comes after the lines written before it, as it did line by line."""
    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    lines = StreamLines(handler)
    other = logging.getLogger("test.access.order")
    other.addHandler(handler)
    other.propagate = False
    try:
        lines("one")
        lines("two")
        assert stream.getvalue() == ""  # not yet: the turn is not over
        other.warning("a record")  # shown after the two lines it follows
        lines("three")
        await asyncio.sleep(0)  # the turn ends
        lines("four")
        lines("five")
        await asyncio.sleep(0)
    finally:
        other.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "localaik.access: one",
        "localaik.access: two",
        "test.access.order: a record",
        "localaik.access: three",
        "localaik.access: four",
        "localaik.access: five",
    ]
    assert stream.writes == 4  # one, two | the record | three | four, five


def test_off_a_loop_each_line_is_written_at_once() -> None:
    stream = io.StringIO()
    lines = StreamLines(logging.StreamHandler(stream))
    lines("one")
    assert stream.getvalue() == "localaik.access: one\n"
