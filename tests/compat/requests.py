"""The requests of the compatibility cassette: every family and operation localaik serves, plain
and streamed, as the SDKs send them.

`record.py` records them into `previous.db` with the fake llama-server (run it with the code of
the commit whose cassettes must keep replaying) and writes the answers localaik gave then into
`answers.json`; `test_previous_cassette.py` replays them with today's code and compares bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

GEMINI = {"x-goog-api-key": "placeholder-key", "x-goog-api-client": "google-genai-sdk/1.0"}
OPENAI = {"authorization": "Bearer placeholder-key"}
ANTHROPIC = {"x-api-key": "placeholder-key", "anthropic-version": "2023-06-01"}

# 1x1 transparent PNG
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def gemini(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


CALLS = [
    # -- Gemini ----------------------------------------------------------------------------------
    Call(
        "gemini-generate",
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI,
        {
            **gemini("Name three colours"),
            "systemInstruction": {"parts": [{"text": "Be brief"}]},
            "generationConfig": {"temperature": 0.5, "topK": 40.0, "maxOutputTokens": 64},
        },
    ),
    Call(
        "gemini-generate-v1-snake",
        "POST",
        "/v1/models/gemini-2.5-flash:generateContent",
        GEMINI,
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "What is in this picture?"},
                        {"inline_data": {"mime_type": "image/png", "data": PNG}},
                    ],
                }
            ]
        },
    ),
    Call(
        "gemini-stream-sse",
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        GEMINI,
        gemini("Count to five"),
    ),
    Call(
        "gemini-stream-array",
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        GEMINI,
        gemini("Count to six"),
    ),
    Call(
        "gemini-tools",
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI,
        {
            **gemini("Weather in Paris?"),
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "description": "Weather",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {"city": {"type": "STRING"}},
                                "required": ["city"],
                            },
                        }
                    ]
                }
            ],
        },
    ),
    Call(
        "gemini-tools-stream",
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        GEMINI,
        {
            **gemini("Weather in Rome?"),
            "tools": [
                {
                    "functionDeclarations": [
                        {"name": "get_weather", "parametersJsonSchema": WEATHER_SCHEMA}
                    ]
                }
            ],
        },
    ),
    Call(
        "gemini-function-response",
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI,
        {
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
                {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "name": "get_weather",
                                "response": {"temperature": 3},
                            }
                        }
                    ],
                },
            ]
        },
    ),
    Call(
        "gemini-json",
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI,
        {
            **gemini("A colour as JSON"),
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}}},
            },
        },
    ),
    Call(
        "gemini-count-tokens",
        "POST",
        "/v1beta/models/gemini-2.5-flash:countTokens",
        GEMINI,
        gemini("How many tokens is this?"),
    ),
    Call(
        "gemini-embed",
        "POST",
        "/v1beta/models/text-embedding-004:embedContent",
        GEMINI,
        {"content": {"parts": [{"text": "a cat"}]}, "taskType": "SEMANTIC_SIMILARITY"},
    ),
    Call(
        "gemini-batch-embed",
        "POST",
        "/v1beta/models/text-embedding-004:batchEmbedContents",
        GEMINI,
        {
            "requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "one"}]}},
                {
                    "model": "models/text-embedding-004",
                    "content": {"parts": [{"text": "two"}]},
                    "outputDimensionality": 4,
                },
            ]
        },
    ),
    Call("gemini-models-list", "GET", "/v1beta/models?pageSize=5", GEMINI),
    Call("gemini-models-get", "GET", "/v1beta/models/gemini-2.5-flash", GEMINI),
    Call("gemini-v1-models-list", "GET", "/v1/models", GEMINI),
    Call(
        "gemini-upstream-400",
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI,
        gemini("fail please [[error:400]]"),
    ),
    # -- OpenAI ----------------------------------------------------------------------------------
    Call(
        "openai-chat",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "Say hi"},
            ],
            "temperature": 0.2,
            "user": "someone",
        },
    ),
    Call(
        "openai-chat-stream",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Stream hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    Call(
        "openai-chat-tools-stream",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Weather?"}],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA},
                }
            ],
            "stream": True,
        },
    ),
    Call(
        "openai-chat-image",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    ],
                }
            ],
        },
    ),
    Call(
        "openai-completions",
        "POST",
        "/v1/completions",
        OPENAI,
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon", "max_tokens": 8},
    ),
    Call(
        "openai-completions-stream",
        "POST",
        "/v1/completions",
        OPENAI,
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Twice upon", "stream": True},
    ),
    Call(
        "openai-embeddings",
        "POST",
        "/v1/embeddings",
        OPENAI,
        {"model": "text-embedding-3-small", "input": ["a cat", "a dog"]},
    ),
    Call(
        "openai-embeddings-base64",
        "POST",
        "/v1/embeddings",
        OPENAI,
        {
            "model": "text-embedding-3-small",
            "input": ["a cat", "a dog"],
            "encoding_format": "base64",
        },
    ),
    Call(
        "openai-embeddings-dimensions",
        "POST",
        "/v1/embeddings",
        OPENAI,
        {"model": "text-embedding-3-small", "input": "a fish", "dimensions": 4},
    ),
    Call(
        "openai-responses",
        "POST",
        "/v1/responses",
        OPENAI,
        {"model": "gpt-4o-mini", "input": "Say hello", "instructions": "Be brief"},
    ),
    Call(
        "openai-responses-stream",
        "POST",
        "/v1/responses",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "input": [{"role": "user", "content": "Stream hello"}],
            "stream": True,
        },
    ),
    Call(
        "openai-responses-tools",
        "POST",
        "/v1/responses",
        OPENAI,
        {
            "model": "gpt-4o-mini",
            "input": "Weather in Lima?",
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}],
        },
    ),
    Call("openai-models-list", "GET", "/v1/models", OPENAI),
    Call("openai-models-get", "GET", "/v1/models/gpt-4o-mini", OPENAI),
    Call(
        "openai-upstream-400",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "no [[error:400]]"}]},
    ),
    # -- Anthropic -------------------------------------------------------------------------------
    Call(
        "anthropic-messages",
        "POST",
        "/v1/messages",
        ANTHROPIC,
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "system": "Be brief",
            "messages": [{"role": "user", "content": "Say hi"}],
        },
    ),
    Call(
        "anthropic-messages-stream",
        "POST",
        "/v1/messages",
        ANTHROPIC,
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Stream hi"}]}],
        },
    ),
    Call(
        "anthropic-tools-stream",
        "POST",
        "/v1/messages",
        ANTHROPIC,
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "stream": True,
            "tools": [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}],
            "messages": [{"role": "user", "content": "Weather in Bern?"}],
        },
    ),
    Call(
        "anthropic-tool-result",
        "POST",
        "/v1/messages",
        ANTHROPIC,
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "tools": [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}],
            "messages": [
                {"role": "user", "content": "Weather in Bern?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "get_weather",
                            "input": {"city": "Bern"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4 degrees"}
                    ],
                },
            ],
        },
    ),
    Call(
        "anthropic-count-tokens",
        "POST",
        "/v1/messages/count_tokens",
        ANTHROPIC,
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Count me"}]},
    ),
    Call("anthropic-models-list", "GET", "/v1/models?limit=1", ANTHROPIC),
    Call("anthropic-models-get", "GET", "/v1/models/claude-sonnet-4-5", ANTHROPIC),
    # -- another cassette by header --------------------------------------------------------------
    Call(
        "openai-chat-other-cassette",
        "POST",
        "/v1/chat/completions",
        OPENAI,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Elsewhere"}]},
        extra_headers={"x-localaik-cassette": "other"},
    ),
]
