"""The API families of the reliability tests: their routes, error shapes and a good request.

Adding a family to the bad-input matrix and the fuzzing is adding its entry here (`FAMILIES`
and `ROUTES`) and its cases beside the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GEMINI = "/v1beta/models/gemini-2.0-flash:generateContent"
GEMINI_V1 = "/v1/models/gemini-2.0-flash:generateContent"
GEMINI_SSE = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
GEMINI_COUNT = "/v1beta/models/gemini-2.0-flash:countTokens"
GEMINI_EMBED = "/v1beta/models/gemini-embedding-001:embedContent"
GEMINI_BATCH_EMBED = "/v1/models/gemini-embedding-001:batchEmbedContents"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
MESSAGES = "/v1/messages"
MESSAGES_COUNT = "/v1/messages/count_tokens"


def gemini_shape(body: Any, status: int) -> str:
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "status"}, error
    assert error["code"] == status
    assert isinstance(error["status"], str) and error["status"].isupper()
    if status == 400:
        assert error["status"] == "INVALID_ARGUMENT"
    return str(error["message"])


def openai_shape(body: Any, status: int) -> str:
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None or isinstance(error["param"], str)
    assert isinstance(error["code"], str) and error["code"]
    return str(error["message"])


def anthropic_shape(body: Any, status: int) -> str:
    assert set(body) == {"type", "error"} and body["type"] == "error", body
    error = body["error"]
    assert set(error) == {"type", "message"}, error
    if status == 400:
        assert error["type"] == "invalid_request_error"
    return str(error["message"])


def plain_shape(body: Any, status: int) -> str:
    assert body == {"error": {"code": status, "message": body["error"]["message"]}}, body
    return str(body["error"]["message"])


@dataclass(frozen=True)
class Family:
    shape: Callable[[Any, int], str]
    good: tuple[str, str, dict[str, Any]]  # method, path, JSON body: recorded, then replayed


FAMILIES: dict[str, Family] = {
    "gemini": Family(
        gemini_shape,
        ("POST", GEMINI, {"contents": [{"role": "user", "parts": [{"text": "the good request"}]}]}),
    ),
    "openai": Family(
        openai_shape,
        (
            "POST",
            CHAT,
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "the good request"}]},
        ),
    ),
    "anthropic": Family(
        anthropic_shape,
        (
            "POST",
            MESSAGES,
            {
                "model": "claude-haiku-4-5",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "the good request"}],
            },
        ),
    ),
    "plain": Family(plain_shape, ("GET", "/health", {})),
}


# Valid requests with most features of each route: fuzzing mutates them, and their recordings
# are the near misses that miss diagnosis compares a mutated request with.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJ"
    "RU5ErkJggg=="
)

GEMINI_FULL: dict[str, Any] = {
    "contents": [
        {
            "role": "user",
            "parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}],
        },
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": 1}}}]},
    ],
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "generationConfig": {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 10,
        "candidateCount": 1,
        "stopSequences": ["x"],
        "seed": 7,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
    },
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "f",
                    "description": "a function",
                    "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}},
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
}

CHAT_FULL: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ],
    "temperature": 0.5,
    "top_p": 0.9,
    "max_tokens": 10,
    "n": 1,
    "seed": 7,
    "stop": ["x"],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
            },
        }
    ],
    "tool_choice": "auto",
    "response_format": {"type": "json_object"},
    "stream": False,
}


ANTHROPIC_FULL: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 10,
    "system": [{"type": "text", "text": "be brief"}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}],
        },
    ],
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 5,
    "stop_sequences": ["x"],
    "tools": [
        {
            "name": "f",
            "description": "a function",
            "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
        }
    ],
    "tool_choice": {"type": "auto"},
    "metadata": {"user_id": "u1"},
}

RESPONSES_FULL: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "instructions": "be brief",
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "hi"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
            ],
        },
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ],
    "tools": [
        {
            "type": "function",
            "name": "f",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
        }
    ],
    "tool_choice": "auto",
    "temperature": 0.5,
    "top_p": 0.9,
    "max_output_tokens": 16,
    "text": {
        "format": {
            "type": "json_schema",
            "name": "out",
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
        }
    },
}


@dataclass(frozen=True)
class Route:
    family: str
    path: str
    template: dict[str, Any]


ROUTES: dict[str, Route] = {
    "gemini-generate": Route("gemini", GEMINI, GEMINI_FULL),
    "gemini-stream": Route("gemini", GEMINI_SSE, GEMINI_FULL),
    "gemini-count": Route("gemini", GEMINI_COUNT, {"contents": GEMINI_FULL["contents"]}),
    "openai-chat": Route("openai", CHAT, CHAT_FULL),
    "openai-chat-stream": Route(
        "openai", CHAT, {**CHAT_FULL, "stream": True, "stream_options": {"include_usage": True}}
    ),
    "openai-completions": Route(
        "openai", COMPLETIONS, {"model": "m", "prompt": "hi", "max_tokens": 5, "echo": False}
    ),
    "openai-responses": Route("openai", RESPONSES, RESPONSES_FULL),
    "openai-responses-stream": Route("openai", RESPONSES, {**RESPONSES_FULL, "stream": True}),
    "openai-embeddings": Route(
        "openai",
        EMBEDDINGS,
        {
            "model": "text-embedding-3-small",
            "input": ["hi", "there"],
            "encoding_format": "float",
            "dimensions": 4,
        },
    ),
    "gemini-embed": Route(
        "gemini",
        GEMINI_EMBED,
        {
            "content": {"parts": [{"text": "hi"}]},
            "taskType": "RETRIEVAL_DOCUMENT",
            "title": "t",
            "outputDimensionality": 4,
        },
    ),
    "gemini-batch-embed": Route(
        "gemini",
        GEMINI_BATCH_EMBED,
        {
            "requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hi"}]}},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "there"}]}},
            ]
        },
    ),
    "anthropic-messages": Route("anthropic", MESSAGES, ANTHROPIC_FULL),
    "anthropic-stream": Route("anthropic", MESSAGES, {**ANTHROPIC_FULL, "stream": True}),
    "anthropic-count": Route(
        "anthropic",
        MESSAGES_COUNT,
        {key: value for key, value in ANTHROPIC_FULL.items() if key != "max_tokens"},
    ),
}
