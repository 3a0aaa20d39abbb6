"""OpenAI request checks: what the SDKs send passes untouched; wrong types name the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from localaik.errors import BadRequest
from localaik.families.openai.checks import check_chat_request, check_completion_request


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **extra}


VALID_CHATS = [
    chat(),
    chat(
        temperature=0,
        top_p=1.0,
        max_tokens=5,
        max_completion_tokens=5,
        n=2,
        seed=1,
        stop=["\n"],
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logprobs=True,
        top_logprobs=2,
        user="u",
        store=False,
        metadata={"a": "b"},
        reasoning_effort="low",
        parallel_tool_calls=True,
        logit_bias={"50256": -100},
        modalities=["text"],
    ),
    chat(stop="END", max_tokens=40.0, stream=True, stream_options={"include_usage": True}),
    chat(temperature=None, max_tokens=None, tools=None, stop=None),
    chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}),
    chat(response_format={}),
    chat(tools=[], tool_choice="auto"),
    chat(
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "f"}},
    ),
    chat(extra_field_for_the_upstream={"anything": [1, 2]}),
    {
        "messages": [
            {
                "role": "user",
                "content": [  # not base64: passed on, not decoded
                    {"type": "image_url", "image_url": {"url": "data:text/plain,hello%20there"}}
                ],
            }
        ]
    },
    {
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}},
                    {"type": "input_audio", "input_audio": {"data": "aGk=", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "f"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "assistant", "content": "", "refusal": None},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
            {"role": "function", "name": "f", "content": "{}"},
        ]
    },
]


@pytest.mark.parametrize("body", VALID_CHATS)
def test_what_the_sdks_send_passes_as_it_is(body: dict[str, Any]) -> None:
    assert check_chat_request(body) is body


@pytest.mark.parametrize("prompt", ["hi", ["a", "b"], [1, 2, 3], [[1, 2], [3]]])
def test_completion_prompts(prompt: Any) -> None:
    body = {
        "model": "m",
        "prompt": prompt,
        "logprobs": 2,
        "echo": True,
        "best_of": 1,
        "suffix": "!",
    }
    assert check_completion_request(body) is body


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        (chat(temperature="hot"), "temperature", "expected a number, but got a string"),
        (chat(max_tokens=1.5), "max_tokens", "expected an integer, but got a decimal"),
        (chat(n=True), "n", "expected an integer, but got a boolean"),
        (chat(n=0), "n", "Expected a value >= 1"),
        (chat(stop=["a", 1]), "stop", "a string or an array of strings"),
        (chat(stream="true"), "stream", "expected a boolean"),
        (chat(tools=[{"function": {"name": "f"}}]), "tools[0].type", "Missing required parameter"),
        (
            chat(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
            "tools[0].function.parameters",
            "expected an object",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
            "messages[0].content[0].type",
            "Missing required parameter",
        ),
        (
            {"messages": [{"role": "assistant", "tool_calls": {}}]},
            "messages[0].tool_calls",
            "expected an array",
        ),
        (
            {"messages": [{"role": "tool", "tool_call_id": 1, "content": "x"}]},
            "messages[0].tool_call_id",
            "expected a string",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "name": 5}]},
            "messages[0].name",
            "expected a string",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64"}}
                        ],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
            "comma",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,a$b"}}
                        ],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
            "base64",
        ),
    ],
)
def test_wrong_types_name_the_parameter(body: dict[str, Any], param: str, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_chat_request(body)
    assert caught.value.param == param
    assert says in caught.value.message


def test_completion_needs_a_prompt() -> None:
    with pytest.raises(BadRequest, match="prompt"):
        check_completion_request({"model": "m", "prompt": None})
