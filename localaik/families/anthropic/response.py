"""OpenAI chat completions -> Anthropic Messages answers: a Message, or its stream of events.

`openai_response_to_anthropic` turns a chat.completion into a Message; `AnthropicStream`, fed
one upstream chunk at a time, gives the events of `protocol.anthropic` in the order the SDK's
accumulator needs, as (event name, data) pairs. Both give the same content for the same
answer: a thinking block (only when the request enabled thinking and the upstream reasoned),
then a text block, then one tool_use block per call, in the upstream's index order.

Streamed text and reasoning pass on delta by delta. Tool calls arrive in fragments keyed by
their index; they are accumulated and sent whole (start, one input_json_delta, stop) when the
upstream stream ends, so the SDK always parses complete JSON. A fragment that repeats a
finished call in full (some upstreams restate calls in their last chunk) is ignored.

Tool-use ids are the upstream's, or `toolu_<response id>_<n>` when it gave none or gave one
twice, so ids stay unique within a message and, with the response id in them, across a
conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.anthropic import wire as protocol
from localaik.families.anthropic.errors import error_body
from localaik.families.rendering import body_of
from localaik.upstream.arguments import call_arguments

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class AnthropicContext:
    """What the response translation needs to know about the request."""

    model: str
    thinking: bool = False


def context_for(request: dict[str, Any]) -> AnthropicContext:
    thinking = request.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") not in (None, "disabled")
    return AnthropicContext(model=str(request.get("model")), thinking=enabled)


def message_id(upstream_id: Any) -> str:
    if isinstance(upstream_id, str) and upstream_id:
        return "msg_" + upstream_id.removeprefix("chatcmpl-")
    return "msg_localaik"


def anthropic_usage(upstream: Any) -> dict[str, int] | None:
    if not isinstance(upstream, dict):
        return None
    return {
        "input_tokens": int(upstream.get("prompt_tokens") or 0),
        "output_tokens": int(upstream.get("completion_tokens") or 0),
    }


def _tool_blocks(calls: list[dict[str, Any]], upstream_id: Any) -> list[dict[str, Any]]:
    """tool_use blocks for accumulated calls ({"id", "name", "arguments"}), ids made unique."""
    stem = message_id(upstream_id).removeprefix("msg_")
    blocks: list[dict[str, Any]] = []
    used: set[str] = set()
    for n, call in enumerate(calls):
        name = call.get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamBadResponse("upstream returned a tool call without a function name")
        given = call.get("id")
        block_id = (
            given if isinstance(given, str) and given and given not in used else f"toolu_{stem}_{n}"
        )
        while block_id in used:
            block_id += "_"
        used.add(block_id)
        blocks.append(
            {
                "type": "tool_use",
                "id": block_id,
                "name": name,
                "input": call_arguments(name, call.get("arguments")),
            }
        )
    return blocks


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _index(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _thinking_block(text: str) -> dict[str, Any]:
    # The SDK requires a signature; a local model signs nothing.
    return {"type": "thinking", "thinking": text, "signature": ""}


def _first_choice(choices: list[Any]) -> dict[str, Any]:
    found = [c for c in choices if isinstance(c, dict)]
    if not found:
        raise UpstreamBadResponse("upstream answer has no choices")
    return min(found, key=lambda c: _index(c.get("index"), 0))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            c["text"]
            for c in content
            if isinstance(c, dict)
            and c.get("type") in (None, "text")
            and isinstance(c.get("text"), str)
        )
    return ""


def openai_response_to_anthropic(response: Any, ctx: AnthropicContext) -> dict[str, Any]:
    """A chat.completion -> a Message (its first choice: the Messages API has no `n`)."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    choice = _first_choice(response["choices"])
    message = _object(choice.get("message"))
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if ctx.thinking and isinstance(reasoning, str) and reasoning:
        content.append(_thinking_block(reasoning))
    text = _text(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            calls.append(
                {
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    tools = _tool_blocks(calls, response.get("id"))
    content.extend(tools)
    return {
        "id": message_id(response.get("id")),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": protocol.stop_reason(choice.get("finish_reason"), tool_use=bool(tools)),
        "stop_sequence": None,
        "usage": anthropic_usage(response.get("usage")) or {"input_tokens": 0, "output_tokens": 0},
    }


@dataclass
class _Call:
    id: Any = None
    name: str = ""
    arguments: str = ""


@dataclass
class AnthropicStream:
    """Turns upstream chat.completion.chunk objects into Messages stream events."""

    ctx: AnthropicContext
    upstream_id: Any = None
    started: bool = False
    follow: int | None = None  # the choice index this stream follows (the first seen)
    blocks: int = 0  # content blocks opened so far
    open_kind: str | None = None  # the kind of the open block: "text" or "thinking"
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None

    def feed(self, chunk: Any) -> list[Event]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        events = [] if self.started else self._start(chunk)
        found = anthropic_usage(chunk.get("usage"))
        if found:
            self.usage = found
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = _index(choice.get("index"), 0)
            if self.follow is None:
                self.follow = index
            if index != self.follow:
                continue
            delta = _object(choice.get("delta"))
            reasoning = delta.get("reasoning_content")
            if self.ctx.thinking and isinstance(reasoning, str) and reasoning:
                events += self._delta("thinking", {"type": "thinking_delta", "thinking": reasoning})
            text = _text(delta.get("content"))
            if text:
                events += self._delta("text", {"type": "text_delta", "text": text})
            for call in delta.get("tool_calls") or []:
                self._accumulate(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _start(self, chunk: dict[str, Any]) -> list[Event]:
        self.started = True
        self.upstream_id = chunk.get("id")
        input_tokens = (anthropic_usage(chunk.get("usage")) or {}).get("input_tokens", 0)
        return [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id(self.upstream_id),
                        "type": "message",
                        "role": "assistant",
                        "model": self.ctx.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": input_tokens, "output_tokens": 0},
                    },
                },
            )
        ]

    def _delta(self, kind: str, delta: dict[str, Any]) -> list[Event]:
        events = []
        if self.open_kind != kind:
            events += self._close()
            block = _thinking_block("") if kind == "thinking" else {"type": "text", "text": ""}
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": self.blocks, "content_block": block},
                )
            )
            self.open_kind = kind
            self.blocks += 1
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": self.blocks - 1, "delta": delta},
            )
        )
        return events

    def _close(self) -> list[Event]:
        if self.open_kind is None:
            return []
        self.open_kind = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.blocks - 1})]

    def _accumulate(self, call: Any) -> None:
        if not isinstance(call, dict):
            return
        index = _index(call.get("index"), len(self.calls))
        function = _object(call.get("function"))
        arguments = function.get("arguments")
        fragment = arguments if isinstance(arguments, str) else ""
        if self._restated(index, call.get("id"), fragment):
            return
        entry = self.calls.setdefault(index, _Call())
        call_id, name = call.get("id"), function.get("name")
        if isinstance(call_id, str) and call_id and entry.id is None:
            entry.id = call_id
        if isinstance(name, str) and name:
            entry.name = name
        entry.arguments += fragment

    def _restated(self, index: int, call_id: Any, fragment: str) -> bool:
        """A fragment that repeats a whole call already received, at its index or by its id."""
        for at, entry in self.calls.items():
            same = at == index or (isinstance(call_id, str) and call_id == entry.id)
            if same and fragment and fragment == entry.arguments and _complete(fragment):
                return True
        return False

    def finish(self) -> list[Event]:
        """The end of the message: open block closed, tool calls, stop reason and usage."""
        events = [] if self.started else self._start({})
        events += self._close()
        calls = [
            {"id": c.id, "name": c.name, "arguments": c.arguments}
            for _, c in sorted(self.calls.items())
        ]
        tools = _tool_blocks(calls, self.upstream_id)
        for block in tools:
            index = self.blocks
            self.blocks += 1
            events += [
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {**block, "input": {}},
                    },
                ),
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {
                            "type": "input_json_delta",
                            "partial_json": _compact(block["input"]),
                        },
                    },
                ),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
        delta_usage: dict[str, int] = {"output_tokens": 0}
        if self.usage:
            delta_usage = {
                "input_tokens": self.usage["input_tokens"],
                "output_tokens": self.usage["output_tokens"],
            }
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": protocol.stop_reason(
                            self.finish_reason, tool_use=bool(tools)
                        ),
                        "stop_sequence": None,
                    },
                    "usage": delta_usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def fail(self, error: Error) -> list[Event]:
        """A failure after the stream began: an `error` event, which the SDK raises."""
        return [("error", body_of(error, error_body))]


def _complete(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
