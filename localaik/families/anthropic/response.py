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
from typing import Any, Literal

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.anthropic import wire as anthropic
from localaik.families.anthropic.errors import error_response
from localaik.families.anthropic.usage import NO_USAGE, Usage, anthropic_usage, delta_usage
from localaik.upstream.arguments import call_arguments
from localaik.wire.types import JSONObject, JSONValue

# An event of the stream: its name (the SSE `event:` line) and its data.
Event = tuple[str, anthropic.MessageStreamEvent | anthropic.ErrorResponse]


@dataclass(frozen=True)
class AnthropicContext:
    """What the response translation needs to know about the request."""

    model: str
    thinking: bool = False


def context_for(request: JSONObject) -> AnthropicContext:
    thinking = request.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") not in (None, "disabled")
    return AnthropicContext(model=str(request.get("model")), thinking=enabled)


def message_id(upstream_id: JSONValue) -> str:
    if isinstance(upstream_id, str) and upstream_id:
        return "msg_" + upstream_id.removeprefix("chatcmpl-")
    return "msg_localaik"


@dataclass
class _Call:
    """A tool call as the upstream gave it: whole, or its stream fragments joined."""

    id: JSONValue
    name: JSONValue
    arguments: JSONValue


def _tool_blocks(calls: list[_Call], upstream_id: JSONValue) -> list[anthropic.ToolUseBlock]:
    """tool_use blocks for the upstream's calls, ids made unique."""
    stem = message_id(upstream_id).removeprefix("msg_")
    blocks: list[anthropic.ToolUseBlock] = []
    used: set[str] = set()
    for n, call in enumerate(calls):
        name = call.name
        if not isinstance(name, str) or not name:
            raise UpstreamBadResponse("upstream returned a tool call without a function name")
        given = call.id
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
                "input": call_arguments(name, call.arguments),
            }
        )
    return blocks


def _object(value: JSONValue) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _items(value: JSONValue) -> list[JSONValue]:
    return value if isinstance(value, list) else []


def _index(value: JSONValue, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _finish_reason(choice: JSONObject) -> str | None:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) and reason else None


def _thinking_block(text: str) -> anthropic.ThinkingBlock:
    # The SDK requires a signature; a local model signs nothing.
    return {"type": "thinking", "thinking": text, "signature": ""}


def _first_choice(choices: list[JSONValue]) -> JSONObject:
    found = [c for c in choices if isinstance(c, dict)]
    if not found:
        raise UpstreamBadResponse("upstream answer has no choices")
    return min(found, key=lambda c: _index(c.get("index"), 0))


def _text(content: JSONValue) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            text
            for c in content
            if isinstance(c, dict)
            and c.get("type") in (None, "text")
            and isinstance(text := c.get("text"), str)
        )
    return ""


def openai_response_to_anthropic(response: JSONValue, ctx: AnthropicContext) -> anthropic.Message:
    """A chat.completion -> a Message (its first choice: the Messages API has no `n`)."""
    if not isinstance(response, dict) or not isinstance(choices := response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    choice = _first_choice(choices)
    message = _object(choice.get("message"))
    content: list[anthropic.ContentBlock] = []
    reasoning = message.get("reasoning_content")
    if ctx.thinking and isinstance(reasoning, str) and reasoning:
        content.append(_thinking_block(reasoning))
    text = _text(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    calls = []
    for call in _items(message.get("tool_calls")):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(call, dict) and isinstance(function, dict):
            calls.append(_Call(call.get("id"), function.get("name"), function.get("arguments")))
    tools = _tool_blocks(calls, response.get("id"))
    content.extend(tools)
    return {
        "id": message_id(response.get("id")),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": anthropic.stop_reason(_finish_reason(choice), tool_use=bool(tools)),
        "stop_sequence": None,
        "usage": anthropic_usage(response.get("usage")) or NO_USAGE,
    }


@dataclass
class _Fragments:
    """A streamed tool call so far: its id and name once given, its arguments' text joined."""

    id: str | None = None
    name: str = ""
    arguments: str = ""


@dataclass
class AnthropicStream:
    """Turns upstream chat.completion.chunk objects into Messages stream events.

    Told the usage first (`know_usage`, through `streaming.UsageFirst`), `message_start`
    states the prompt's token count, as the API's does; `message_delta` states them all.
    """

    ctx: AnthropicContext
    upstream_id: JSONValue = None
    started: bool = False
    follow: int | None = None  # the choice index this stream follows (the first seen)
    blocks: int = 0  # content blocks opened so far
    open_kind: Literal["text", "thinking"] | None = None  # the kind of the open block
    calls: dict[int, _Fragments] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None

    def know_usage(self, usage: dict[str, Any]) -> None:
        self.usage = anthropic_usage(usage)

    def feed(self, chunk: JSONValue) -> list[Event]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        events = [] if self.started else self._start(chunk)
        found = anthropic_usage(chunk.get("usage"))
        if found:
            self.usage = found
        for choice in _items(chunk.get("choices")):
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
            for call in _items(delta.get("tool_calls")):
                self._accumulate(call)
            finish_reason = _finish_reason(choice)
            if finish_reason:
                self.finish_reason = finish_reason
        return events

    def _start(self, chunk: JSONObject) -> list[Event]:
        self.started = True
        self.upstream_id = chunk.get("id")
        usage = anthropic_usage(chunk.get("usage")) or self.usage or NO_USAGE
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
                        "usage": {**usage, "output_tokens": 0},
                    },
                },
            )
        ]

    def _delta(
        self, kind: Literal["text", "thinking"], delta: anthropic.ContentBlockDelta
    ) -> list[Event]:
        events: list[Event] = []
        if self.open_kind != kind:
            events += self._close()
            block: anthropic.ContentBlock = (
                _thinking_block("") if kind == "thinking" else {"type": "text", "text": ""}
            )
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

    def _accumulate(self, call: JSONValue) -> None:
        if not isinstance(call, dict):
            return
        index = _index(call.get("index"), len(self.calls))
        function = _object(call.get("function"))
        arguments = function.get("arguments")
        fragment = arguments if isinstance(arguments, str) else ""
        if self._restated(index, call.get("id"), fragment):
            return
        entry = self.calls.setdefault(index, _Fragments())
        call_id, name = call.get("id"), function.get("name")
        if isinstance(call_id, str) and call_id and entry.id is None:
            entry.id = call_id
        if isinstance(name, str) and name:
            entry.name = name
        entry.arguments += fragment

    def _restated(self, index: int, call_id: JSONValue, fragment: str) -> bool:
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
        calls = [_Call(c.id, c.name, c.arguments) for _, c in sorted(self.calls.items())]
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
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": anthropic.stop_reason(
                            self.finish_reason, tool_use=bool(tools)
                        ),
                        "stop_sequence": None,
                    },
                    "usage": delta_usage(self.usage),
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def fail(self, error: Error) -> list[Event]:
        """A failure after the stream began: an `error` event, which the SDK raises."""
        return [("error", error_response(error.status, error.message, error.details))]


def _complete(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _compact(value: JSONValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
