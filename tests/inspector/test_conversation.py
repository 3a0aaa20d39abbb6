"""A canonical request as a conversation, for each family's shape: roles in order, text escaped,
tool calls and results named, images as thumbnails, what no rule knows shown as JSON."""

from __future__ import annotations

import base64
import re
from typing import Any

from localaik.inspector.conversation import conversation
from tests.inspector.conftest import PNG

IMAGE = base64.b64encode(PNG).decode()


def roles(html: str) -> list[str]:
    return re.findall(r'<span class="role">([^<]*)</span>', html)


def canon(family: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"family": family, "operation": "x", "model": "m", "stream": False, "body": body}


def test_gemini_turns_tool_calls_and_results() -> None:
    html = conversation(
        canon(
            "gemini",
            {
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "contents": [
                    {
                        "role": "user",
                        "parts": [
                            {"text": "a < b"},
                            {"inlineData": {"mimeType": "image/png", "data": IMAGE}},
                        ],
                    },
                    {
                        "role": "model",
                        "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}],
                    },
                    {
                        "role": "user",
                        "parts": [{"functionResponse": {"name": "weather", "response": {"t": 21}}}],
                    },
                ],
            },
        )
    )
    assert roles(html) == ["system", "user", "model", "user"]
    assert "a &lt; b" in html and f'src="data:image/png;base64,{IMAGE}"' in html
    assert "tool call: weather" in html and "tool result: weather" in html


def test_openai_messages_with_tool_calls_images_and_unknown_parts() -> None:
    html = conversation(
        canon(
            "openai",
            {
                "messages": [
                    {"role": "system", "content": "sys"},
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": f"data:image/png;base64,{IMAGE}"},
                            },
                            {"type": "input_audio", "input_audio": {"format": "wav"}},
                        ],
                    },
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "w", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "21 degrees"},
                ]
            },
        )
    )
    assert roles(html) == ["system", "user", "assistant", "tool"]
    assert 'class="thumb"' in html and "input_audio" in html  # unknown part kept as JSON
    assert "tool call: w" in html and "21 degrees" in html


def test_anthropic_blocks_and_a_body_without_turns() -> None:
    html = conversation(
        canon(
            "anthropic",
            {
                "system": [{"type": "text", "text": "sys"}],
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": IMAGE,
                                },
                            }
                        ],
                    },
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "w", "input": {}}],
                    },
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "t", "content": "<b>21</b>"}
                        ],
                    },
                ],
            },
        )
    )
    assert roles(html) == ["system", "user", "assistant", "user"]
    assert "tool call: w" in html and "&lt;b&gt;21&lt;/b&gt;" in html and "<b>" not in html
    plain = conversation(canon("openai", {"input": ["one", "two"], "model": "e"}))
    assert plain.startswith('<pre class="json">') and "two" in plain
