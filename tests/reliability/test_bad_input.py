"""Bad input, against one real `localaik serve` process in record mode (issue: reliability).

Every case is a request no API would accept. Each must get a clear 4xx in the error shape of
the API family it was sent to, with a message that names the problem; and afterwards the server
still answers (a recorded request replays byte for byte), nothing reached the upstream, nothing
was stored, and the log holds no traceback.

The server is one process for the whole module, so a case that breaks it breaks the cases
after it too, as it would break a user's test run. Adding an API family is adding a `FAMILIES`
entry (its error shape and one good request) and its cases; adding a case is adding a line.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.reliability.families import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    FAMILIES,
    GEMINI,
    GEMINI_BATCH_EMBED,
    GEMINI_COUNT,
    GEMINI_EMBED,
    GEMINI_SSE,
    GEMINI_V1,
    MESSAGES,
    MESSAGES_COUNT,
    RESPONSES,
)
from tests.support import LocalaikProcess

MAX_BODY = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    method: str
    path: str
    says: str  # the message names the problem (case-insensitive)
    status: int = 400
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # send the body without Content-Length


def raw(
    id: str,
    family: str,
    path: str,
    content: bytes,
    says: str,
    *,
    status: int = 400,
    content_type: str = "application/json",
    **extra: Any,
) -> Case:
    return Case(
        id,
        family,
        "POST",
        path,
        says,
        status,
        content,
        {"content-type": content_type, **extra.pop("headers", {})},
        **extra,
    )


def body(id: str, family: str, path: str, value: Any, says: str, **extra: Any) -> Case:
    return raw(id, family, path, json.dumps(value).encode(), says, **extra)


def route(id: str, family: str, method: str, path: str, says: str, status: int) -> Case:
    return Case(id, family, method, path, says, status)


def gemini(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **extra}


def config(**fields: Any) -> dict[str, Any]:
    return gemini(generationConfig=fields)


def part(value: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [value]}]}


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **extra}


def message(value: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [value]}


def content(parts: list[Any]) -> dict[str, Any]:
    return message({"role": "user", "content": parts})


def any_body_cases(family: str, path: str, good: dict[str, Any]) -> list[Case]:
    """What is wrong whatever the API: the bytes, the JSON, the transport, the cassette name."""
    good_bytes = json.dumps(good).encode()
    f = family
    return [
        raw(f"{f}-invalid-json", f, path, b"{not json", "invalid JSON"),
        raw(f"{f}-truncated-json", f, path, good_bytes[:-3], "invalid JSON"),
        raw(f"{f}-trailing-comma", f, path, good_bytes[:-1] + b",}", "invalid JSON"),
        raw(f"{f}-single-quotes", f, path, good_bytes.replace(b'"', b"'"), "invalid JSON"),
        raw(f"{f}-nan", f, path, good_bytes[:-1] + b',"temperature":NaN}', "NaN"),
        raw(f"{f}-infinity", f, path, good_bytes[:-1] + b',"temperature":-Infinity}', "Infinity"),
        raw(
            f"{f}-number-out-of-range",
            f,
            path,
            good_bytes[:-1] + b',"temperature":1e999}',
            "out of range",
        ),
        raw(f"{f}-empty", f, path, b"", "empty"),
        raw(f"{f}-blank", f, path, b" \r\n\t", "empty"),
        raw(f"{f}-array", f, path, b"[" + good_bytes + b"]", "JSON object"),
        raw(f"{f}-string", f, path, b'"hello"', "JSON object"),
        raw(f"{f}-null", f, path, b"null", "JSON object"),
        raw(f"{f}-number", f, path, b"42", "JSON object"),
        raw(f"{f}-invalid-utf8", f, path, good_bytes.replace(b"hi", b"h\xff\xfei"), "UTF-8"),
        raw(f"{f}-utf16", f, path, good.__repr__().encode("utf-16"), "UTF-8"),
        raw(f"{f}-utf8-bom", f, path, "\ufeff".encode() + good_bytes, "UTF-8 BOM"),
        raw(f"{f}-lone-surrogate", f, path, good_bytes.replace(b"hi", b"\\ud800hi"), "surrogate"),
        raw(
            f"{f}-deep-101",
            f,
            path,
            good_bytes[:-1] + b',"x":' + b"[" * 101 + b"]" * 101 + b"}",
            "nested too deeply",
        ),
        raw(
            f"{f}-deep-100k",
            f,
            path,
            b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
            "nested too deeply",
        ),
        raw(
            f"{f}-huge",
            f,
            path,
            good_bytes[:-1] + b',"pad":"' + b"x" * (2 * MAX_BODY) + b'"}',
            "LK_MAX_BODY_SIZE",
            status=413,
        ),
        raw(
            f"{f}-huge-chunked",
            f,
            path,
            good_bytes[:-1] + b',"pad":"' + b"x" * (2 * MAX_BODY) + b'"}',
            "LK_MAX_BODY_SIZE",
            status=413,
            chunked=True,
        ),
        raw(
            f"{f}-multipart",
            f,
            path,
            b"--b\r\n\r\n{}\r\n--b--\r\n",
            "multipart/form-data",
            content_type="multipart/form-data; boundary=b",
        ),
        raw(
            f"{f}-octet-stream",
            f,
            path,
            good_bytes,
            "application/octet-stream",
            content_type="application/octet-stream",
        ),
        raw(f"{f}-image-type", f, path, good_bytes, "image/png", content_type="image/png"),
        raw(
            f"{f}-form-not-json",
            f,
            path,
            b"contents=hi",
            "invalid JSON",
            content_type="application/x-www-form-urlencoded",
        ),
        raw(
            f"{f}-cassette-traversal",
            f,
            path,
            good_bytes,
            "X-Localaik-Cassette",
            headers={"x-localaik-cassette": "../outside"},
        ),
        raw(
            f"{f}-cassette-path",
            f,
            path,
            good_bytes,
            "X-Localaik-Cassette",
            headers={"x-localaik-cassette": "a/b.db"},
        ),
        raw(
            f"{f}-cassette-hidden",
            f,
            path,
            good_bytes,
            "X-Localaik-Cassette",
            headers={"x-localaik-cassette": ".hidden"},
        ),
        raw(
            f"{f}-cassette-too-long",
            f,
            path,
            good_bytes,
            "X-Localaik-Cassette",
            headers={"x-localaik-cassette": "c" * 200},
        ),
    ]


GEMINI_CASES = [
    *any_body_cases("gemini", GEMINI, gemini()),
    body("gemini-contents-missing", "gemini", GEMINI, {"generationConfig": {}}, "contents"),
    body("gemini-contents-empty", "gemini", GEMINI, {"contents": []}, "contents"),
    body("gemini-contents-string", "gemini", GEMINI, {"contents": "hi"}, "contents"),
    body("gemini-content-not-object", "gemini", GEMINI, {"contents": [[1]]}, "contents[0]"),
    body("gemini-parts-string", "gemini", GEMINI, {"contents": [{"parts": "hi"}]}, "parts"),
    body("gemini-part-not-object", "gemini", GEMINI, part("hi"), "Part"),
    body("gemini-text-number", "gemini", GEMINI, part({"text": 5}), "text must be a string"),
    body(
        "gemini-role-unknown",
        "gemini",
        GEMINI,
        {"contents": [{"role": "robot", "parts": [{"text": "hi"}]}]},
        "role",
    ),
    body(
        "gemini-role-number",
        "gemini",
        GEMINI,
        {"contents": [{"role": 1, "parts": [{"text": "hi"}]}]},
        "role",
    ),
    body(
        "gemini-bad-base64",
        "gemini",
        GEMINI,
        part({"inlineData": {"mimeType": "image/png", "data": "not base64!"}}),
        "base64",
    ),
    body(
        "gemini-base64-number",
        "gemini",
        GEMINI,
        part({"inlineData": {"mimeType": "image/png", "data": 5}}),
        "base64",
    ),
    body(
        "gemini-inline-without-mime",
        "gemini",
        GEMINI,
        part({"inlineData": {"data": "aGk="}}),
        "mimeType",
    ),
    body(
        "gemini-pdf-not-pdf",
        "gemini",
        GEMINI,
        part({"inlineData": {"mimeType": "application/pdf", "data": "aGk="}}),
        "PDF",
    ),
    body(
        "gemini-local-file",
        "gemini",
        GEMINI,
        part({"fileData": {"fileUri": "file:///etc/passwd", "mimeType": "text/plain"}}),
        "LK_FILES_ROOT",
    ),
    body(
        "gemini-function-args-string",
        "gemini",
        GEMINI,
        part({"functionCall": {"name": "f", "args": "x"}}),
        "args",
    ),
    body(
        "gemini-function-response-string",
        "gemini",
        GEMINI,
        part({"functionResponse": {"name": "f", "response": "x"}}),
        "response",
    ),
    body(
        "gemini-config-string", "gemini", GEMINI, gemini(generationConfig="hot"), "generationConfig"
    ),
    body("gemini-temperature-string", "gemini", GEMINI, config(temperature="hot"), "temperature"),
    body(
        "gemini-max-tokens-fraction",
        "gemini",
        GEMINI,
        config(maxOutputTokens=1.5),
        "maxOutputTokens",
    ),
    body(
        "gemini-max-tokens-negative",
        "gemini",
        GEMINI,
        config(maxOutputTokens=-5),
        "maxOutputTokens",
    ),
    body("gemini-candidates-zero", "gemini", GEMINI, config(candidateCount=0), "candidateCount"),
    body("gemini-stop-string", "gemini", GEMINI, config(stopSequences="x"), "stopSequences"),
    body("gemini-mime-number", "gemini", GEMINI, config(responseMimeType=5), "responseMimeType"),
    body(
        "gemini-modalities-image",
        "gemini",
        GEMINI,
        config(responseModalities=["IMAGE"]),
        "responseModalities",
    ),
    body(
        "gemini-system-number", "gemini", GEMINI, gemini(systemInstruction=5), "systemInstruction"
    ),
    body("gemini-tools-object", "gemini", GEMINI, gemini(tools={}), "tools"),
    body(
        "gemini-function-without-name",
        "gemini",
        GEMINI,
        gemini(tools=[{"functionDeclarations": [{"description": "x"}]}]),
        "name",
    ),
    body(
        "gemini-parameters-string",
        "gemini",
        GEMINI,
        gemini(tools=[{"functionDeclarations": [{"name": "f", "parameters": "x"}]}]),
        "parameters",
    ),
    body(
        "gemini-google-search",
        "gemini",
        GEMINI,
        gemini(tools=[{"googleSearch": {}}]),
        "googleSearch",
    ),
    body("gemini-tool-config-number", "gemini", GEMINI, gemini(toolConfig=5), "toolConfig"),
    body(
        "gemini-tool-mode-unknown",
        "gemini",
        GEMINI,
        gemini(
            tools=[{"functionDeclarations": [{"name": "f"}]}],
            toolConfig={"functionCallingConfig": {"mode": "SOMETIMES"}},
        ),
        "mode",
    ),
    body("gemini-safety-string", "gemini", GEMINI, gemini(safetySettings="none"), "safetySettings"),
    body(
        "gemini-cached-content-unknown",
        "gemini",
        GEMINI,
        gemini(cachedContent="cachedContents/x"),
        "cached content 'cachedContents/x' not found",
        status=404,
    ),
    body(
        "gemini-cached-content-number", "gemini", GEMINI, gemini(cachedContent=5), "cachedContent"
    ),
    body(
        "gemini-v1-bad-role",
        "gemini",
        GEMINI_V1,
        {"contents": [{"role": "robot", "parts": [{"text": "hi"}]}]},
        "role",
    ),
    body("gemini-stream-contents-missing", "gemini", GEMINI_SSE, {}, "contents"),
    raw("gemini-stream-invalid-json", "gemini", GEMINI_SSE, b"{", "invalid JSON"),
    body("gemini-count-contents-number", "gemini", GEMINI_COUNT, {"contents": 5}, "contents"),
    body("gemini-count-text-number", "gemini", GEMINI_COUNT, part({"text": 5}), "text part"),
    route(
        "gemini-unknown-method",
        "gemini",
        "POST",
        "/v1beta/models/gemini-2.0-flash:embedSomething",
        "embedSomething",
        404,
    ),
    route("gemini-unknown-path", "gemini", "GET", "/v1beta/tunedModels", "no route", 404),
    route("gemini-generate-by-get", "gemini", "GET", GEMINI, "POST", 405),
    route("gemini-models-by-delete", "gemini", "DELETE", "/v1beta/models", "DELETE", 405),
    route("gemini-page-size-word", "gemini", "GET", "/v1beta/models?pageSize=ten", "pageSize", 400),
    route(
        "gemini-page-size-superscript",
        "gemini",
        "GET",
        "/v1beta/models?pageSize=%C2%B2",
        "pageSize",
        400,
    ),
    route(
        "gemini-page-token-unknown",
        "gemini",
        "GET",
        "/v1beta/models?pageToken=zzz",
        "pageToken",
        400,
    ),
]

OPENAI_CASES = [
    *any_body_cases("openai", CHAT, chat()),
    body("openai-messages-missing", "openai", CHAT, {"model": "gpt-4o-mini"}, "messages"),
    body("openai-messages-empty", "openai", CHAT, chat(messages=[]), "messages"),
    body("openai-messages-string", "openai", CHAT, chat(messages="hi"), "messages"),
    body("openai-message-not-object", "openai", CHAT, message("hi"), "messages[0]"),
    body("openai-role-missing", "openai", CHAT, message({"content": "hi"}), "role"),
    body(
        "openai-role-unknown", "openai", CHAT, message({"role": "robot", "content": "hi"}), "robot"
    ),
    body(
        "openai-content-missing", "openai", CHAT, message({"role": "user"}), "messages[0].content"
    ),
    body(
        "openai-content-number",
        "openai",
        CHAT,
        message({"role": "user", "content": 5}),
        "messages[0].content",
    ),
    body(
        "openai-part-type-unknown",
        "openai",
        CHAT,
        content([{"type": "video", "url": "x"}]),
        "video",
    ),
    body("openai-part-text-number", "openai", CHAT, content([{"type": "text", "text": 5}]), "text"),
    body(
        "openai-image-bad-base64",
        "openai",
        CHAT,
        content([{"type": "image_url", "image_url": {"url": "data:image/png;base64,not base64!"}}]),
        "base64",
    ),
    body(
        "openai-image-url-string",
        "openai",
        CHAT,
        content([{"type": "image_url", "image_url": "https://example.com/a.png"}]),
        "image_url",
    ),
    body("openai-model-number", "openai", CHAT, chat(model=4), "model"),
    body("openai-stream-string", "openai", CHAT, chat(stream="yes"), "stream"),
    body("openai-temperature-string", "openai", CHAT, chat(temperature="hot"), "temperature"),
    body("openai-max-tokens-fraction", "openai", CHAT, chat(max_tokens=1.5), "max_tokens"),
    body("openai-n-zero", "openai", CHAT, chat(n=0), "'n'"),
    body("openai-stop-number", "openai", CHAT, chat(stop=5), "stop"),
    body("openai-tools-object", "openai", CHAT, chat(tools={}), "tools"),
    body(
        "openai-tool-without-name",
        "openai",
        CHAT,
        chat(tools=[{"type": "function", "function": {"description": "x"}}]),
        "name",
    ),
    body("openai-tool-choice-number", "openai", CHAT, chat(tool_choice=1), "tool_choice"),
    body(
        "openai-response-format-string",
        "openai",
        CHAT,
        chat(response_format="json"),
        "response_format",
    ),
    body(
        "openai-stream-options-string",
        "openai",
        CHAT,
        chat(stream=True, stream_options="usage"),
        "stream_options",
    ),
    body("openai-completions-prompt-missing", "openai", COMPLETIONS, {"model": "m"}, "prompt"),
    body(
        "openai-completions-prompt-object",
        "openai",
        COMPLETIONS,
        {"model": "m", "prompt": {"text": "hi"}},
        "prompt",
    ),
    body(
        "openai-completions-echo-string",
        "openai",
        COMPLETIONS,
        {"model": "m", "prompt": "hi", "echo": "yes"},
        "echo",
    ),
    raw("openai-completions-invalid-json", "openai", COMPLETIONS, b"{", "invalid JSON"),
    route("openai-unknown-path", "openai", "POST", "/v1/chat/nope", "no route", 404),
    route("openai-unknown-version", "openai", "GET", "/v1/nope", "no route", 404),
    route("openai-chat-by-get", "openai", "GET", CHAT, "GET", 405),
    route("openai-models-by-put", "openai", "PUT", "/v1/models", "PUT", 405),
    route("openai-completions-by-delete", "openai", "DELETE", COMPLETIONS, "DELETE", 405),
]


def responses(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "input": "hi", **extra}


def embed(**extra: Any) -> dict[str, Any]:
    return {"model": "text-embedding-3-small", "input": "hi", **extra}


RESPONSES_CASES = [
    raw("responses-invalid-json", "openai", RESPONSES, b"{", "invalid JSON"),
    raw("responses-array", "openai", RESPONSES, b"[]", "JSON object"),
    body("responses-input-missing", "openai", RESPONSES, {"model": "gpt-4o-mini"}, "input"),
    body("responses-input-number", "openai", RESPONSES, responses(input=5), "input"),
    body(
        "responses-item-type-list",
        "openai",
        RESPONSES,
        responses(input=[{"type": [], "role": "user", "content": "hi"}]),
        "type",
    ),
    body(
        "responses-role-unknown",
        "openai",
        RESPONSES,
        responses(input=[{"role": "robot", "content": "hi"}]),
        "role",
    ),
    body(
        "responses-previous-response",
        "openai",
        RESPONSES,
        responses(previous_response_id="resp_1"),
        "previous_response_id",
    ),
    body(
        "responses-web-search",
        "openai",
        RESPONSES,
        responses(tools=[{"type": "web_search"}]),
        "web_search",
    ),
    body(
        "responses-max-tokens-string",
        "openai",
        RESPONSES,
        responses(max_output_tokens="many"),
        "max_output_tokens",
    ),
    body("responses-unknown-field", "openai", RESPONSES, responses(colour="blue"), "colour"),
    body(
        "responses-output-without-call",
        "openai",
        RESPONSES,
        responses(input=[{"type": "function_call_output", "call_id": "nope", "output": "x"}]),
        "call_id",
    ),
    route(
        "responses-retrieve",
        "openai",
        "GET",
        f"{RESPONSES}/resp_1",
        "does not store responses",
        400,
    ),
]

EMBEDDING_CASES = [
    raw("embeddings-invalid-json", "openai", EMBEDDINGS, b"{", "invalid JSON"),
    body("embeddings-input-missing", "openai", EMBEDDINGS, {"model": "m"}, "input"),
    body("embeddings-input-empty", "openai", EMBEDDINGS, embed(input=[]), "input"),
    body("embeddings-input-object", "openai", EMBEDDINGS, embed(input={"text": "hi"}), "input"),
    body(
        "embeddings-encoding-hex",
        "openai",
        EMBEDDINGS,
        embed(encoding_format="hex"),
        "encoding_format",
    ),
    body("embeddings-dimensions-zero", "openai", EMBEDDINGS, embed(dimensions=0), "dimensions"),
    body("embeddings-unknown-field", "openai", EMBEDDINGS, embed(colour="blue"), "colour"),
    route("embeddings-by-get", "openai", "GET", EMBEDDINGS, "GET", 405),
    body("gemini-embed-content-missing", "gemini", GEMINI_EMBED, {}, "content"),
    body(
        "gemini-embed-image",
        "gemini",
        GEMINI_EMBED,
        {"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "aGk="}}]}},
        "inlineData",
    ),
    body(
        "gemini-embed-dimensions-string",
        "gemini",
        GEMINI_EMBED,
        {"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": "four"},
        "outputDimensionality",
    ),
    body(
        "gemini-embed-task-unknown",
        "gemini",
        GEMINI_EMBED,
        {"content": {"parts": [{"text": "hi"}]}, "taskType": "DREAMING"},
        "taskType",
    ),
    body(
        "gemini-batch-requests-object", "gemini", GEMINI_BATCH_EMBED, {"requests": {}}, "requests"
    ),
    body("gemini-batch-requests-empty", "gemini", GEMINI_BATCH_EMBED, {"requests": []}, "requests"),
    route("gemini-embed-by-get", "gemini", "GET", GEMINI_EMBED, "GET", 405),
]


def anthropic(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


def blocks(*content: Any) -> dict[str, Any]:
    return anthropic(messages=[{"role": "user", "content": list(content)}])


ANTHROPIC_CASES = [
    *any_body_cases("anthropic", MESSAGES, anthropic()),
    body(
        "anthropic-max-tokens-missing",
        "anthropic",
        MESSAGES,
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]},
        "max_tokens",
    ),
    body("anthropic-max-tokens-zero", "anthropic", MESSAGES, anthropic(max_tokens=0), "max_tokens"),
    body(
        "anthropic-max-tokens-string",
        "anthropic",
        MESSAGES,
        anthropic(max_tokens="many"),
        "max_tokens",
    ),
    body(
        "anthropic-messages-missing",
        "anthropic",
        MESSAGES,
        {"model": "claude-haiku-4-5", "max_tokens": 16},
        "messages",
    ),
    body("anthropic-messages-empty", "anthropic", MESSAGES, anthropic(messages=[]), "messages"),
    body("anthropic-messages-string", "anthropic", MESSAGES, anthropic(messages="hi"), "messages"),
    body(
        "anthropic-role-unknown",
        "anthropic",
        MESSAGES,
        anthropic(messages=[{"role": "robot", "content": "hi"}]),
        "role",
    ),
    body(
        "anthropic-content-number",
        "anthropic",
        MESSAGES,
        anthropic(messages=[{"role": "user", "content": 5}]),
        "content",
    ),
    body(
        "anthropic-block-type-unknown",
        "anthropic",
        MESSAGES,
        blocks({"type": "hologram", "data": "x"}),
        "hologram",
    ),
    body(
        "anthropic-image-without-media-type",
        "anthropic",
        MESSAGES,
        blocks({"type": "image", "source": {"type": "base64", "data": "aGk="}}),
        "media_type",
    ),
    body(
        "anthropic-image-bad-base64",
        "anthropic",
        MESSAGES,
        blocks(
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "not base64!"},
            }
        ),
        "base64",
    ),
    body(
        "anthropic-remote-pdf",
        "anthropic",
        MESSAGES,
        blocks({"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}),
        "does not fetch",
    ),
    body(
        "anthropic-temperature-high", "anthropic", MESSAGES, anthropic(temperature=2), "temperature"
    ),
    body("anthropic-top-k-negative", "anthropic", MESSAGES, anthropic(top_k=-1), "top_k"),
    body(
        "anthropic-stop-string",
        "anthropic",
        MESSAGES,
        anthropic(stop_sequences="x"),
        "stop_sequences",
    ),
    body("anthropic-system-number", "anthropic", MESSAGES, anthropic(system=5), "system"),
    body(
        "anthropic-tool-result-unasked",
        "anthropic",
        MESSAGES,
        blocks({"type": "tool_result", "tool_use_id": "toolu_x", "content": "x"}),
        "tool_use_id",
    ),
    body(
        "anthropic-tool-without-schema",
        "anthropic",
        MESSAGES,
        anthropic(tools=[{"name": "f"}]),
        "input_schema",
    ),
    body(
        "anthropic-web-search",
        "anthropic",
        MESSAGES,
        anthropic(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        "web_search",
    ),
    body(
        "anthropic-tool-choice-unknown",
        "anthropic",
        MESSAGES,
        anthropic(tool_choice={"type": "sometimes"}),
        "tool_choice",
    ),
    body(
        "anthropic-count-messages-missing",
        "anthropic",
        MESSAGES_COUNT,
        {"model": "claude-haiku-4-5"},
        "messages",
    ),
    raw("anthropic-count-invalid-json", "anthropic", MESSAGES_COUNT, b"{", "invalid"),
    route("anthropic-messages-by-get", "anthropic", "GET", MESSAGES, "GET", 405),
    route("anthropic-unknown-path", "anthropic", "POST", f"{MESSAGES}/nope", "no route", 404),
    body("anthropic-batch-empty", "anthropic", f"{MESSAGES}/batches", {"requests": []}, "requests"),
    route("anthropic-batch-unknown", "anthropic", "GET", f"{MESSAGES}/batches/x", "not found", 404),
]

PLAIN_CASES = [
    route("plain-unknown-path", "plain", "GET", "/nope", "no route", 404),
    route("plain-health-by-post", "plain", "POST", "/health", "POST", 405),
]

CASES = [
    *GEMINI_CASES,
    *OPENAI_CASES,
    *RESPONSES_CASES,
    *EMBEDDING_CASES,
    *ANTHROPIC_CASES,
    *PLAIN_CASES,
]


def test_the_matrix_is_large_and_has_unique_ids() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 60
    for family in FAMILIES:
        assert sum(case.family == family for case in CASES) >= 2, family


# --------------------------------------------------------------------------------------------
# The server


@dataclass
class Server:
    process: LocalaikProcess
    cassette: Path
    http: httpx.Client
    good_answers: dict[str, bytes]

    def stored(self) -> list[tuple[Any, ...]]:
        """Everything in the cassette folder: files, and every recording's identity."""
        files = sorted(
            p.name
            for p in self.cassette.parent.iterdir()
            if p.suffix == ".db" or not p.name.startswith(".")
        )
        db = sqlite3.connect(f"{self.cassette.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT id, key, ordinal, status FROM recordings ORDER BY id")
            return [tuple(files), *rows.fetchall()]
        finally:
            db.close()


@pytest.fixture(scope="module")
def server(
    fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("bad-input")
    cassette = folder / "main.db"
    env = {
        "LK_UPSTREAM": fake_llama_process.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(cassette),
        "LK_MAX_BODY_SIZE": str(MAX_BODY),
    }
    with LocalaikProcess(env) as process, httpx.Client(base_url=process.url, timeout=30) as http:
        answers = {}
        for name, family in FAMILIES.items():
            method, path, good = family.good
            response = http.request(method, path, json=good if method == "POST" else None)
            assert response.status_code == 200, response.text
            answers[name] = response.content
        yield Server(process, cassette, http, answers)
        assert "Traceback" not in process.log(), process.log()[-3000:]


def send(http: httpx.Client, case: Case) -> httpx.Response:
    content: Any = case.content
    if case.chunked and content is not None:
        data = content
        content = iter([data[i : i + 65536] for i in range(0, len(data), 65536)])
    return http.request(case.method, case.path, content=content, headers=case.headers)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input(server: Server, fake_llama: FakeLlama, case: Case) -> None:
    before = server.stored()

    response = send(server.http, case)

    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    message = FAMILIES[case.family].shape(response.json(), case.status)
    assert case.says.lower() in message.lower(), message
    assert "Traceback" not in message and len(message) < 2000
    # Still serving: the good request of every family replays byte for byte.
    for name, family in FAMILIES.items():
        method, path, good = family.good
        again = server.http.request(method, path, json=good if method == "POST" else None)
        assert again.status_code == 200, again.text
        if name != "plain":
            assert again.content == server.good_answers[name]
    assert server.process.process.poll() is None
    # Nothing forwarded, nothing stored.
    assert [r for r in fake_llama.requests() if r["path"] != "/health"] == []
    assert server.stored() == before
