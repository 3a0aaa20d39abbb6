"""A deterministic fake of llama.cpp's ``llama-server`` HTTP API, for tests.

The fake is a plain ASGI application (no framework, stdlib ``json`` only):

* in-process: ``app = make_app()`` and drive it with
  ``httpx.AsyncClient(transport=httpx.ASGITransport(app=app))``; inspect
  ``app.requests`` and call ``app.reset()`` directly;
* as a real server: ``python tests/fakes/fake_llama.py --host 127.0.0.1
  --port 0 --port-file PATH`` (serves with uvicorn and writes the bound port to
  PATH), or from a test ``with FakeLlama.start() as fake: ... fake.url ...``.

Endpoints (as llama-server): ``GET /health``, ``GET /v1/models`` (``/models``),
``POST /v1/chat/completions`` (``/chat/completions``), ``POST /v1/completions``
(``/completions``), ``POST /tokenize``, ``POST /v1/embeddings``
(``/embeddings``), ``GET /props`` (``modalities.vision``).  Control endpoints
for tests: ``GET /__fake/requests``, ``POST /__fake/reset``, ``POST
/__fake/health`` with ``{"status": 503}``, ``POST /__fake/vision`` with
``{"vision": false}`` (then, as llama-server without a vision projector, a chat
request holding an image gets llama-server's 500 "image input is not
supported").

Chat replies are deterministic.  By default the reply is ``"Echo: " + LAST``
where LAST is the text of the last user message (``"[sys] "`` prefix if there
is a system message, ``" [N images]"`` suffix for image parts); tools produce a
tool call with arguments built from the tool's JSON schema; a trailing tool
message produces ``"Tool said: ..."``; ``response_format`` produces JSON.

Embeddings are 8 values from a hash of each input, scaled to unit length; a
token array is one input; an empty string is a 400 and an input of more than
512 words a 500, as llama-server answers them with its default batch size.

Directives written inside LAST (or inside the prompt of ``/v1/completions``, or
an embeddings input) change the behaviour:

``[[error:CODE]]``  answer HTTP CODE with a llama-server style error body.
``[[garbage]]``     answer 200 with the body ``this is not json``.
``[[hang]]``        sleep for an hour (or until the client disconnects).
``[[slow:MS]]``     streams only: sleep MS milliseconds before each frame.
``[[cut:N]]``       streams only: send N frames, then abort the connection
                    (never sends ``[DONE]``).
``[[stall:N]]``     streams only: send N frames, then nothing more (until the
                    client goes away).
``[[nofinish]]``    streams only: no chunk carries a finish_reason.
``[[finish:R]]``    use R as finish_reason (e.g. ``length``).
``[[notool]]``      never answer with a tool call.
``[[two-tools]]``   answer with two parallel tool calls.
``[[say:HEX]]``     answer with the text HEX decodes to (UTF-8) instead of the echo:
                    an answer holding text the request does not.
``[[retry-after:S]]`` add ``Retry-After: S`` to an ``[[error:CODE]]`` answer
                    (``[[error:429]][[retry-after:2]]``: a rate limit).
``[[redirect]]``    answer 307 with a JSON body and a ``Location`` elsewhere.
``[[cookie]]``      answer 400 with a ``Set-Cookie`` (a client must not send it back).
``[[notchat]]``     answer 200 with a JSON body that is not a chat completion.
``[[endless]]``     answer 200 and never end: a JSON body that goes on, or for a stream,
                    chat chunks without end; until the client goes away.
``[[longline]]``    streams only: one event whose ``data:`` line never ends.
``[[noblank]]``     streams only: the last event (``data: [DONE]``) ends without the
                    blank line after it.

Directives are removed from the echoed text.

``POST /__fake/outage`` with ``{"directives": "[[error:429]][[retry-after:1]]"}`` (or
``app.outage = ...`` in-process) applies directives to every generation request until it is
cleared with ``{"directives": ""}`` (or a reset): the same request then recovers.
``GET /__fake/closed`` lists the ``[[endless]]``/``[[longline]]`` answers whose client went
away: the request's text, the wall-clock ``time.time()`` when the fake saw it go and the bytes
it had sent.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Message = dict[str, Any]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CREATED = 1700000000
DEFAULT_MODEL = "fake-model"
FINGERPRINT = "b0-fake"
HANG_SECONDS = 3600.0
JSON_CONTENT_TYPE = b"application/json; charset=utf-8"
GARBAGE_BODY = b"this is not json"
EMBED_BATCH_TOKENS = 512  # llama-server's default physical batch: longer inputs get a 500
# What llama-server answers a chat request with an image when it has no vision projector.
NO_VISION_MESSAGE = (
    "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj"
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    500: "server_error",
    501: "not_supported_error",
    503: "unavailable_error",
}

MODELS_BODY: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": DEFAULT_MODEL,
            "object": "model",
            "created": CREATED,
            "owned_by": "llamacpp",
            "meta": {
                "n_ctx_train": 8192,
                "n_vocab": 32000,
                "n_params": 135000000,
                "size": 98000000,
            },
        }
    ],
    "models": [
        {
            "name": DEFAULT_MODEL,
            "model": DEFAULT_MODEL,
            "modified_at": "",
            "size": "",
            "digest": "",
            "type": "model",
            "description": "",
            "tags": [""],
            "capabilities": ["completion"],
            "parameters": "",
            "details": {},
        }
    ],
}


class ConnectionCut(Exception):
    """Raised by the app to make the server drop a stream ([[cut:N]])."""


class BadRequest(Exception):
    """A request the fake rejects with HTTP 400."""


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def dumps(obj: Any) -> str:
    """Compact JSON, as llama-server writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def error_body(code: int, message: str) -> dict[str, Any]:
    error_type = ERROR_TYPES.get(code, "server_error")
    return {"error": {"code": code, "message": message, "type": error_type}}


def count_words(text: str) -> int:
    return len(text.split())


def split_every(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stable_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def word_token(word: str) -> int:
    return int.from_bytes(stable_hash(word)[:4], "big") % 32000


def embed_text(text: str) -> list[float]:
    """8 values from the text's hash, scaled to unit length (as llama-server normalises)."""
    raw = [byte / 255.0 * 2.0 - 1.0 for byte in stable_hash(text)[:8]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def embedding_input(item: Any) -> str:
    """The text of one embeddings input; a token array stands for its ids."""
    if isinstance(item, list) and item and all(is_token(token) for token in item):
        return "tokens: " + " ".join(str(token) for token in item)
    if not isinstance(item, str):
        raise BadRequest("each input must be a string or a list of token ids")
    if not item:
        raise BadRequest("Input content cannot be empty")
    return item


def content_text(content: Any) -> tuple[str, int]:
    """Text of a message content (string or list of parts) and its image count."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts: list[str] = []
    images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            images += 1
    return "\n".join(texts), images


def last_user_content(messages: list[Any]) -> tuple[str, int]:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return "", 0


def truncate_words(text: str, limit: Any) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` words; returns (text, was_truncated)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return text, False
    words = text.split()
    if limit >= len(words):
        return text, False
    return " ".join(words[:limit]), True


# --------------------------------------------------------------------------
# Directives
# --------------------------------------------------------------------------

DIRECTIVE_RE = re.compile(r"\[\[([a-z][a-z-]*)(?::([^\]]*))?\]\]")


@dataclass
class Directives:
    error: int | None = None
    garbage: bool = False
    hang: bool = False
    slow_ms: int = 0
    cut: int | None = None
    stall: int | None = None
    nofinish: bool = False
    finish: str | None = None
    notool: bool = False
    two_tools: bool = False
    say: str | None = None
    retry_after: str | None = None
    redirect: bool = False
    cookie: bool = False
    notchat: bool = False
    endless: bool = False
    longline: bool = False
    noblank: bool = False
    text: str = ""  # the text they were read from

    @classmethod
    def parse(cls, text: str) -> Directives:
        found = cls(text=text)
        for match in DIRECTIVE_RE.finditer(text):
            name, arg = match.group(1), (match.group(2) or "").strip()
            found._apply(name, arg)
        return found

    def _apply(self, name: str, arg: str) -> None:
        if name == "error" and arg.isdigit():
            self.error = int(arg)
        elif name == "garbage":
            self.garbage = True
        elif name == "hang":
            self.hang = True
        elif name == "slow" and arg.isdigit():
            self.slow_ms = int(arg)
        elif name == "cut" and arg.isdigit():
            self.cut = int(arg)
        elif name == "stall" and arg.isdigit():
            self.stall = int(arg)
        elif name == "nofinish":
            self.nofinish = True
        elif name == "finish" and arg:
            self.finish = arg
        elif name == "notool":
            self.notool = True
        elif name == "two-tools":
            self.two_tools = True
        elif name == "say":
            self.say = bytes.fromhex(arg).decode("utf-8")
        elif name == "retry-after" and arg:
            self.retry_after = arg
        elif name in ("redirect", "cookie", "notchat", "endless", "longline", "noblank"):
            setattr(self, name, True)


def strip_directives(text: str) -> str:
    return DIRECTIVE_RE.sub("", text).strip()


# --------------------------------------------------------------------------
# Example values from JSON schemas
# --------------------------------------------------------------------------

MAX_SCHEMA_DEPTH = 32


def resolve_ref(root: Any, ref: str) -> Any:
    """Resolve a local ``#/...`` JSON pointer (e.g. ``#/$defs/Item``)."""
    if not ref.startswith("#"):
        return {}
    node = root
    for raw in ref.lstrip("#").strip("/").split("/"):
        if not raw:
            continue
        key = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return {}
        node = node[key]
    return node


def schema_type(schema: dict[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if t != "null"]
        declared = non_null[0] if non_null else ("null" if declared else None)
    if declared is None and "properties" in schema:
        return "object"
    return declared if isinstance(declared, str) else None


def example_from_schema(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A deterministic example value matching ``schema`` (see module rules)."""
    if root is None:
        root = schema
    if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH:
        return "text"
    if isinstance(schema.get("$ref"), str):
        return example_from_schema(resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return example_from_schema(options[0], root, depth + 1)
    return example_for_type(schema, schema_type(schema), root, depth)


def example_for_type(schema: dict[str, Any], kind: str | None, root: Any, depth: int) -> Any:
    if kind == "string":
        return "2026-01-01" if schema.get("format") == "date" else "text"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        return [example_from_schema(schema.get("items", {}), root, depth + 1)]
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {name: example_from_schema(sub, root, depth + 1) for name, sub in properties.items()}
    return "text"


# --------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any = None

    def log_entry(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": self.body,
        }


@dataclass
class Choice:
    """One generated choice: either text or tool calls."""

    text: str | None
    finish_reason: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    completion_tokens: int = 0


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, obj: Any) -> None:
    await send_bytes(send, status, dumps(obj).encode("utf-8"), JSON_CONTENT_TYPE)


async def send_error(
    send: Send, code: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(
        send, code, dumps(error_body(code, message)).encode(), JSON_CONTENT_TYPE, headers
    )


async def send_stream(
    send: Send, frames: list[bytes], directives: Directives, receive: Receive | None = None
) -> None:
    """Send SSE frames one body chunk at a time, honouring slow/cut."""
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    limit = len(frames)
    if directives.cut is not None:
        limit = min(directives.cut, len(frames) - 1)  # never includes [DONE]
    if directives.noblank:
        frames = [*frames[:-1], frames[-1].rstrip(b"\n")]
    for index, frame in enumerate(frames):
        if index >= limit:
            raise ConnectionCut(f"fake stream cut after {limit} frames")
        if index == directives.stall and receive is not None and await hang(receive):
            return  # the client went away while the stream stalled
        if directives.slow_ms:
            await asyncio.sleep(directives.slow_ms / 1000.0)
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_endless(
    send: Send, receive: Receive, content_type: bytes, first: bytes, piece: bytes
) -> tuple[float, int]:
    """Send `first`, then `piece` again and again until the client goes away; returns when
    (wall clock) the fake saw it go, and the bytes sent."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]}
    )
    watcher = asyncio.ensure_future(wait_for_disconnect(receive))
    sent = 0
    try:
        body = first
        while not watcher.done():
            await send({"type": "http.response.body", "body": body, "more_body": True})
            sent += len(body)
            body = piece
            await asyncio.sleep(0.001)
    finally:
        watcher.cancel()
    return time.time(), sent


def sse_frames(chunks: list[dict[str, Any]]) -> list[bytes]:
    frames = [f"data: {dumps(chunk)}\n\n".encode() for chunk in chunks]
    frames.append(b"data: [DONE]\n\n")
    return frames


async def wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def hang(receive: Receive) -> bool:
    """Sleep for an hour; returns True if the client disconnected first."""
    sleeper = asyncio.ensure_future(asyncio.sleep(HANG_SECONDS))
    watcher = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        watcher.cancel()
    return watcher.done() and not watcher.cancelled()


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "completion_tokens": completion_tokens,
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def timings_body(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_n": prompt_tokens,
        "prompt_ms": 1.0,
        "predicted_n": completion_tokens,
        "predicted_ms": 1.0,
    }


def finish_stream_chunks(
    chunks: list[dict[str, Any]],
    body: dict[str, Any],
    usage: dict[str, int],
    timings: dict[str, Any],
) -> list[dict[str, Any]]:
    """Add the optional usage chunk and the final timings to stream chunks."""
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        for chunk in chunks:
            chunk["usage"] = None
        final = {key: value for key, value in chunks[0].items() if key not in ("choices", "usage")}
        chunks.append({**final, "choices": [], "usage": usage})
    if chunks:
        chunks[-1]["timings"] = timings
    return chunks


# --------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------

Handler = Callable[[Request, Receive, Send], Awaitable[None]]


class FakeLlamaApp:
    """ASGI callable mimicking llama-server; keeps a log of received requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.health_status = 200
        self.completion_counter = 0
        self.call_counter = 0
        self.vision = True
        self.outage = ""  # directives applied to every generation request (POST /__fake/outage)
        self.closed: list[dict[str, Any]] = []  # endless answers whose client went away
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/health"): self.handle_health,
            ("GET", "/v1/health"): self.handle_health,
            ("GET", "/v1/models"): self.handle_models,
            ("GET", "/models"): self.handle_models,
            ("POST", "/v1/chat/completions"): self.handle_chat,
            ("POST", "/chat/completions"): self.handle_chat,
            ("POST", "/v1/completions"): self.handle_completion,
            ("POST", "/completions"): self.handle_completion,
            ("POST", "/tokenize"): self.handle_tokenize,
            ("GET", "/props"): self.handle_props,
            ("POST", "/v1/embeddings"): self.handle_embeddings,
            ("POST", "/embeddings"): self.handle_embeddings,
            ("GET", "/__fake/requests"): self.handle_fake_requests,
            ("POST", "/__fake/reset"): self.handle_fake_reset,
            ("POST", "/__fake/health"): self.handle_fake_health,
            ("POST", "/__fake/vision"): self.handle_fake_vision,
            ("POST", "/__fake/outage"): self.handle_fake_outage,
            ("GET", "/__fake/closed"): self.handle_fake_closed,
        }

    def reset(self) -> None:
        """Clear the request log, restore health 200 and vision, and reset id counters."""
        self.requests.clear()
        self.health_status = 200
        self.vision = True
        self.completion_counter = 0
        self.call_counter = 0
        self.outage = ""
        self.closed.clear()

    def directives(self, text: str) -> Directives:
        """The directives of a request's text, and those of the outage, if any."""
        return Directives.parse(f"{self.outage} {text}")

    # -- ASGI entry points ---------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(
            method=scope["method"].upper(),
            # A client going through a proxy (the fake can be one) names the whole URL.
            path=urlsplit(scope["path"]).path or "/",
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=parse_headers(scope.get("headers", [])),
            raw_body=await read_body(receive),
        )
        request.body = self.parse_json(request.raw_body)
        if self.should_log(request):
            self.requests.append(request.log_entry())

        handler = self.routes.get((request.method, request.path))
        if handler is None:
            await send_error(send, 404, "File Not Found")
            return
        if request.method == "POST" and request.raw_body.strip() and request.body is None:
            await send_error(send, 400, "Failed to parse JSON body")
            return
        try:
            await handler(request, receive, send)
        except BadRequest as exc:
            await send_error(send, 400, str(exc))

    @staticmethod
    def parse_json(raw: bytes) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None

    @staticmethod
    def should_log(request: Request) -> bool:
        if request.path.startswith("/__fake/"):
            return False
        return not (request.method == "GET" and request.path in ("/health", "/v1/health", "/props"))

    # -- simple endpoints ----------------------------------------------------

    async def handle_health(self, request: Request, receive: Receive, send: Send) -> None:
        if self.health_status == 200:
            await send_json(send, 200, {"status": "ok"})
        elif self.health_status == 503:
            await send_error(send, 503, "Loading model")
        else:
            await send_error(send, self.health_status, f"fake health {self.health_status}")

    async def handle_props(self, request: Request, receive: Receive, send: Send) -> None:
        await send_json(
            send,
            200,
            {
                "total_slots": 1,
                "model_path": DEFAULT_MODEL,
                "build_info": FINGERPRINT,
                "modalities": {"vision": self.vision, "video": False, "audio": False},
            },
        )

    async def handle_models(self, request: Request, receive: Receive, send: Send) -> None:
        await send_json(send, 200, MODELS_BODY)

    async def handle_tokenize(self, request: Request, receive: Receive, send: Send) -> None:
        body = require_object(request.body)
        content = body.get("content", "")
        tokens = [word_token(word) for word in str(content).split()]
        if body.get("add_special"):
            tokens.insert(0, 1)
        await send_json(send, 200, {"tokens": tokens})

    async def handle_embeddings(self, request: Request, receive: Receive, send: Send) -> None:
        body = require_object(request.body)
        inputs = body.get("input", body.get("content"))
        if isinstance(inputs, str) or (
            isinstance(inputs, list) and inputs and all(is_token(item) for item in inputs)
        ):
            inputs = [inputs]  # one text, or one token array
        if not isinstance(inputs, list) or not inputs:
            raise BadRequest("'input' must be a string or a non-empty list")
        texts = [embedding_input(item) for item in inputs]
        directives = self.directives(" ".join(texts))
        if await self.apply_early_directives(directives, receive, send):
            return
        for text in texts:
            if count_words(text) > EMBED_BATCH_TOKENS:  # as llama-server with its default -ub
                await send_error(
                    send,
                    500,
                    f"input ({count_words(text)} tokens) is too large to process. increase the "
                    f"physical batch size (current batch size: {EMBED_BATCH_TOKENS})",
                )
                return
        data = [
            {"object": "embedding", "index": index, "embedding": embed_text(text)}
            for index, text in enumerate(texts)
        ]
        tokens = max(1, sum(count_words(text) for text in texts))
        await send_json(
            send,
            200,
            {
                "object": "list",
                "model": body.get("model") or DEFAULT_MODEL,
                "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- control endpoints ---------------------------------------------------

    async def handle_fake_requests(self, request: Request, receive: Receive, send: Send) -> None:
        await send_json(send, 200, self.requests)

    async def handle_fake_reset(self, request: Request, receive: Receive, send: Send) -> None:
        self.reset()
        await send_json(send, 200, {"ok": True})

    async def handle_fake_health(self, request: Request, receive: Receive, send: Send) -> None:
        status = require_object(request.body).get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise BadRequest("'status' must be an HTTP status code")
        self.health_status = status
        await send_json(send, 200, {"status": status})

    async def handle_fake_vision(self, request: Request, receive: Receive, send: Send) -> None:
        vision = require_object(request.body).get("vision")
        if not isinstance(vision, bool):
            raise BadRequest("'vision' must be true or false")
        self.vision = vision
        await send_json(send, 200, {"vision": vision})

    async def handle_fake_outage(self, request: Request, receive: Receive, send: Send) -> None:
        directives = require_object(request.body).get("directives")
        if not isinstance(directives, str):
            raise BadRequest("'directives' must be a string")
        self.outage = directives
        await send_json(send, 200, {"directives": directives})

    async def handle_fake_closed(self, request: Request, receive: Receive, send: Send) -> None:
        await send_json(send, 200, self.closed)

    # -- shared directive handling -------------------------------------------

    async def apply_early_directives(
        self, directives: Directives, receive: Receive, send: Send, *, stream: bool = False
    ) -> bool:
        """Handle hang/error/garbage/redirect/notchat/endless; returns True if the response
        is done."""
        if directives.hang and await hang(receive):
            return True  # the client went away: nobody to answer
        if directives.error is not None:
            after = directives.retry_after
            extra = [(b"retry-after", after.encode())] if after else None
            await send_error(send, directives.error, f"fake error {directives.error}", extra)
            return True
        if directives.garbage:
            await send_bytes(send, 200, GARBAGE_BODY, b"application/json")
            return True
        if directives.redirect:
            body = dumps({"message": "moved", "location": "http://elsewhere.invalid/v1"}).encode()
            location = [(b"location", b"http://elsewhere.invalid/v1/chat/completions")]
            await send_bytes(send, 307, body, JSON_CONTENT_TYPE, location)
            return True
        if directives.cookie:
            cookie = [(b"set-cookie", b"fake_session=kept-by-nobody; Path=/")]
            await send_error(send, 400, "fake error with a cookie", cookie)
            return True
        if directives.notchat:
            await send_json(send, 200, {"object": "list", "data": [], "note": "not a completion"})
            return True
        if directives.endless or (directives.longline and stream):
            await self.send_endless(send, receive, directives, stream)
            return True
        return False

    async def send_endless(
        self, send: Send, receive: Receive, directives: Directives, stream: bool
    ) -> None:
        if directives.longline:
            answer = (b"text/event-stream", b'data: {"padding":"', b"x" * 4096)
        elif stream:
            frame = sse_frames([{"object": "chat.completion.chunk", "choices": []}])[0]
            answer = (b"text/event-stream", frame, frame * 16)
        else:
            answer = (JSON_CONTENT_TYPE, b'{"padding":"', b"x" * 4096)
        closed_at, sent = await send_endless(send, receive, *answer)
        self.closed.append({"time": closed_at, "sent": sent, "text": directives.text})

    def next_completion_number(self) -> int:
        self.completion_counter += 1
        return self.completion_counter

    def next_call_id(self) -> str:
        self.call_counter += 1
        return f"call_fake_{self.call_counter}"

    # -- chat completions ----------------------------------------------------

    async def handle_chat(self, request: Request, receive: Receive, send: Send) -> None:
        body = require_object(request.body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' is required and must be a non-empty list")
        if not self.vision and any(
            content_text(m.get("content"))[1] for m in messages if isinstance(m, dict)
        ):
            await send_error(send, 500, NO_VISION_MESSAGE)
            return
        last_text, images = last_user_content(messages)
        directives = self.directives(last_text)
        if await self.apply_early_directives(
            directives, receive, send, stream=bool(body.get("stream"))
        ):
            return

        choices = self.chat_choices(body, messages, last_text, images, directives)
        prompt_tokens = chat_prompt_tokens(messages)
        completion_tokens = sum(choice.completion_tokens for choice in choices)
        usage = usage_body(prompt_tokens, completion_tokens)
        timings = timings_body(prompt_tokens, completion_tokens)
        base = {
            "id": f"chatcmpl-fake{self.next_completion_number()}",
            "created": CREATED,
            "model": body.get("model") or DEFAULT_MODEL,
            "system_fingerprint": FINGERPRINT,
        }
        if body.get("stream"):
            chunks = chat_stream_chunks(base, choices, directives.nofinish)
            chunks = finish_stream_chunks(chunks, body, usage, timings)
            await send_stream(send, sse_frames(chunks), directives, receive)
            return
        await send_json(
            send,
            200,
            {
                "id": base["id"],
                "object": "chat.completion",
                "created": CREATED,
                "model": base["model"],
                "system_fingerprint": FINGERPRINT,
                "choices": [
                    chat_choice_body(index, choice) for index, choice in enumerate(choices)
                ],
                "usage": usage,
                "timings": timings,
            },
        )

    def chat_choices(
        self,
        body: dict[str, Any],
        messages: list[Any],
        last_text: str,
        images: int,
        directives: Directives,
    ) -> list[Choice]:
        choices: list[Choice] = []
        for index in range(choice_count(body)):
            if wants_tool_call(body, messages, directives):
                calls = self.tool_calls(body, directives.two_tools)
                choice = Choice(None, "tool_calls", calls, completion_tokens=5 * len(calls))
            else:
                text = chat_reply_text(body, messages, last_text, images)
                choice = text_choice(text, index, max_tokens_of(body))
            if directives.finish:
                choice.finish_reason = directives.finish
            choices.append(choice)
        return choices

    def tool_calls(self, body: dict[str, Any], two: bool) -> list[dict[str, Any]]:
        tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict)]
        named = forced_tool_name(body.get("tool_choice"))
        if named is not None:
            picked = [find_tool(tools, named)] * (2 if two else 1)
        elif two:
            picked = tools[:2] if len(tools) >= 2 else tools[:1] * 2
        else:
            picked = tools[:1]
        return [self.tool_call(function_of(tool, named)) for tool in picked]

    def tool_call(self, function: dict[str, Any]) -> dict[str, Any]:
        arguments = example_from_schema(function.get("parameters") or {})
        if not isinstance(arguments, dict):
            arguments = {}
        return {
            "id": self.next_call_id(),
            "type": "function",
            "function": {"name": function.get("name", ""), "arguments": dumps(arguments)},
        }

    # -- legacy text completions ---------------------------------------------

    async def handle_completion(self, request: Request, receive: Receive, send: Send) -> None:
        body = require_object(request.body)
        prompt = body.get("prompt", "")
        if isinstance(prompt, list):
            prompt = prompt[0] if prompt else ""
        prompt = str(prompt)
        directives = self.directives(prompt)
        if await self.apply_early_directives(
            directives, receive, send, stream=bool(body.get("stream"))
        ):
            return

        choices = []
        for index in range(choice_count(body)):
            choice = text_choice("Echo: " + strip_directives(prompt), index, max_tokens_of(body))
            if directives.finish:
                choice.finish_reason = directives.finish
            choices.append(choice)
        prompt_tokens = max(1, count_words(prompt))
        completion_tokens = sum(choice.completion_tokens for choice in choices)
        usage = usage_body(prompt_tokens, completion_tokens)
        timings = timings_body(prompt_tokens, completion_tokens)
        base = {
            "id": f"cmpl-fake{self.next_completion_number()}",
            "object": "text_completion",
            "created": CREATED,
            "model": body.get("model") or DEFAULT_MODEL,
            "system_fingerprint": FINGERPRINT,
        }
        if body.get("stream"):
            chunks = completion_stream_chunks(base, choices, directives.nofinish)
            chunks = finish_stream_chunks(chunks, body, usage, timings)
            await send_stream(send, sse_frames(chunks), directives, receive)
            return
        response = dict(base)
        response["choices"] = [
            {
                "text": choice.text,
                "index": index,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
            for index, choice in enumerate(choices)
        ]
        response["usage"] = usage
        response["timings"] = timings
        await send_json(send, 200, response)


# --------------------------------------------------------------------------
# Chat helpers (pure functions)
# --------------------------------------------------------------------------


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def choice_count(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


def max_tokens_of(body: dict[str, Any]) -> Any:
    limit = body.get("max_tokens")
    return body.get("max_completion_tokens") if limit is None else limit


def text_choice(text: str, index: int, max_tokens: Any) -> Choice:
    if index >= 1:
        text = f"{text} #{index}"
    text, truncated = truncate_words(text, max_tokens)
    return Choice(text, "length" if truncated else "stop", completion_tokens=count_words(text))


def chat_prompt_tokens(messages: list[Any]) -> int:
    words = 0
    for message in messages:
        if isinstance(message, dict):
            words += count_words(content_text(message.get("content"))[0])
    return max(1, words)


def last_role(messages: list[Any]) -> str | None:
    last = messages[-1]
    return last.get("role") if isinstance(last, dict) else None


def wants_tool_call(body: dict[str, Any], messages: list[Any], directives: Directives) -> bool:
    return (
        bool(body.get("tools"))
        and body.get("tool_choice") != "none"
        and not directives.notool
        and (last_role(messages) != "tool")
    )


def forced_tool_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return function["name"]
    return None


def find_tool(tools: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for tool in tools:
        if function_of(tool, None).get("name") == name:
            return tool
    return {"type": "function", "function": {"name": name, "parameters": {}}}


def function_of(tool: dict[str, Any], fallback_name: str | None) -> dict[str, Any]:
    function = tool.get("function")
    if isinstance(function, dict):
        return function
    return {"name": fallback_name or "", "parameters": {}}


def chat_reply_text(body: dict[str, Any], messages: list[Any], last_text: str, images: int) -> str:
    if last_role(messages) == "tool":
        return "Tool said: " + content_text(messages[-1].get("content"))[0]
    said = Directives.parse(last_text).say
    if said is not None:
        return said
    clean = strip_directives(last_text)
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema") or {}
            return dumps(example_from_schema(spec.get("schema") or {}))
        if response_format.get("type") == "json_object":
            return dumps({"answer": "Echo: " + clean})
    text = "Echo: " + clean
    if images:
        text += f" [{images} images]"
    if any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        text = "[sys] " + text
    return text


def chat_choice_body(index: int, choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.text}
    if choice.tool_calls:
        message["tool_calls"] = choice.tool_calls
    return {"index": index, "message": message, "finish_reason": choice.finish_reason}


def chat_stream_chunks(
    base: dict[str, Any], choices: list[Choice], nofinish: bool
) -> list[dict[str, Any]]:
    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": base["id"],
            "object": "chat.completion.chunk",
            "created": base["created"],
            "model": base["model"],
            "system_fingerprint": base["system_fingerprint"],
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }

    chunks: list[dict[str, Any]] = []
    for index, choice in enumerate(choices):
        chunks.append(chunk(index, {"role": "assistant", "content": None}))
        for piece in split_every(choice.text or "", 3):
            chunks.append(chunk(index, {"content": piece}))
        for call_index, call in enumerate(choice.tool_calls):
            for delta in tool_call_deltas(call_index, call):
                chunks.append(chunk(index, {"tool_calls": [delta]}))
        if not nofinish:
            chunks.append(chunk(index, {}, choice.finish_reason))
    return chunks


def tool_call_deltas(call_index: int, call: dict[str, Any]) -> list[dict[str, Any]]:
    function = call["function"]
    deltas: list[dict[str, Any]] = [
        {
            "index": call_index,
            "id": call["id"],
            "type": "function",
            "function": {"name": function["name"], "arguments": ""},
        }
    ]
    for fragment in split_every(function["arguments"], 4):
        deltas.append({"index": call_index, "function": {"arguments": fragment}})
    return deltas


def completion_stream_chunks(
    base: dict[str, Any], choices: list[Choice], nofinish: bool
) -> list[dict[str, Any]]:
    def chunk(index: int, text: str, finish: str | None = None) -> dict[str, Any]:
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    chunks: list[dict[str, Any]] = []
    for index, choice in enumerate(choices):
        for piece in split_every(choice.text or "", 3):
            chunks.append(chunk(index, piece))
        if not nofinish:
            chunks.append(chunk(index, "", choice.finish_reason))
    if not chunks:
        chunks.append(chunk(0, ""))
    return chunks


def make_app() -> FakeLlamaApp:
    return FakeLlamaApp()


app = make_app()


# --------------------------------------------------------------------------
# Running as a real server
# --------------------------------------------------------------------------

SCRIPT_PATH = Path(__file__).resolve()


async def write_port_when_started(server: Any, port_file: str) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    tmp_path = f"{port_file}.tmp"
    Path(tmp_path).write_text(str(port))
    os.replace(tmp_path, port_file)


async def serve(host: str, port: int, port_file: str | None, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config(
        make_app(),
        host=host,
        port=port,
        lifespan="on",
        http="h11",
        loop="asyncio",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    writer = (
        asyncio.ensure_future(write_port_when_started(server, port_file)) if port_file else None
    )
    try:
        await server.serve()
    finally:
        if writer is not None:
            writer.cancel()


def exit_on_signal(signum: int, frame: Any) -> None:
    # Active outside uvicorn's own handlers: before the server starts, and
    # when uvicorn re-raises the signal it handled after a graceful shutdown.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake llama-server for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port number here once listening")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGINT, exit_on_signal)
    try:
        asyncio.run(serve(args.host, args.port, args.port_file, args.log_level))
    except SystemExit:
        pass
    return 0


# --------------------------------------------------------------------------
# Test helper: the fake as a subprocess
# --------------------------------------------------------------------------

NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeLlama:
    """A fake llama-server running in a subprocess on a free local port."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, workdir: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.final_output: str | None = None

    @classmethod
    def start(cls, timeout: float = 15.0) -> FakeLlama:
        workdir = Path(tempfile.mkdtemp(prefix="fake-llama-"))
        port_file = workdir / "port"
        with open(workdir / "output.log", "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(SCRIPT_PATH),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--port-file",
                    str(port_file),
                    "--log-level",
                    "info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        fake = cls(process, 0, workdir)
        atexit.register(fake.stop)
        try:
            fake.wait_until_healthy(port_file, timeout)
        except BaseException:
            fake.stop()
            raise
        return fake

    def wait_until_healthy(self, port_file: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"exited with code {self.process.returncode}")
            if not self.port and port_file.exists():
                self.port = int(port_file.read_text())
                self.url = f"http://127.0.0.1:{self.port}"
            if self.port and self.health_ok():
                return
            time.sleep(0.05)
        self.fail(f"did not answer /health within {timeout:g} s")

    def health_ok(self) -> bool:
        try:
            with NO_PROXY_OPENER.open(self.url + "/health", timeout=1) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def fail(self, reason: str) -> None:
        self.stop()
        raise RuntimeError(f"fake llama-server {reason}; output:\n{self.output()}")

    def output(self) -> str:
        """Everything the subprocess wrote to stdout/stderr so far."""
        if self.final_output is not None:
            return self.final_output
        path = self.workdir / "output.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        with NO_PROXY_OPENER.open(request, timeout=10) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        return self.call("GET", "/__fake/requests")

    def reset(self) -> None:
        self.call("POST", "/__fake/reset", {})

    def set_health(self, status_code: int) -> None:
        self.call("POST", "/__fake/health", {"status": status_code})

    def set_vision(self, vision: bool) -> None:
        self.call("POST", "/__fake/vision", {"vision": vision})

    def set_outage(self, directives: str) -> None:
        """Directives for every generation request until `set_outage("")`."""
        self.call("POST", "/__fake/outage", {"directives": directives})

    def closed(self) -> list[dict[str, Any]]:
        """The endless answers whose client went away: `time` (wall clock) and `sent`."""
        return self.call("GET", "/__fake/closed")  # type: ignore[no-any-return]

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, SIGKILL if needed; reaps the process, removes temp files."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        if self.final_output is None:
            self.final_output = self.output()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> FakeLlama:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
