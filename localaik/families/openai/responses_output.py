"""Chat-completions answers -> Responses API answers: the `Response` object, and the stream of
events that `client.responses.stream()` and `create(stream=True)` read (reference/wire.md §4.6).

Ids come from the upstream's completion id, which the cassette keeps with the answer, and are
never drawn at random, so a replayed answer is the recorded one byte for byte: `chatcmpl-X`
gives the response `resp_X`, its message `msg_X`, its function calls `fc_X_0`, `fc_X_1`, ….
A function call keeps the upstream's tool-call id as its `call_id` unless that id is missing or
already taken in the answer, in which case it is `call_X_N`.

The stream follows the lifecycle the SDK's helper checks: `response.created` and
`response.in_progress` when the first upstream chunk arrives; an item's `output_item.added`
(and, for a message, `content_part.added`) before its deltas; every item's `done` events, then
`response.completed` (or `response.incomplete` when the answer hit `max_output_tokens`) once the
upstream's `[DONE]` arrives. A failure ends the stream with an `error` event and
`response.failed`; every event carries its `sequence_number`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.openai import responses_wire as protocol
from localaik.families.openai.responses_request import ResponsesContext

Event = dict[str, Any]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class _Ids:
    """The ids of one answer, all derived from the upstream's completion id."""

    def __init__(self, upstream_id: Any, fallback: str) -> None:
        core = ""
        if isinstance(upstream_id, str):
            core = _UNSAFE.sub("", upstream_id.removeprefix("chatcmpl-"))
        self.core = core or fallback
        self.response = f"resp_{self.core}"
        self._messages = 0
        self._call_ids: set[str] = set()

    def message(self) -> str:
        n, self._messages = self._messages, self._messages + 1
        return f"msg_{self.core}" if n == 0 else f"msg_{self.core}_{n}"

    def function_call(self, index: int) -> str:
        return f"fc_{self.core}_{index}"

    def call_id(self, given: Any, index: int) -> str:
        call_id = given if isinstance(given, str) and given and given not in self._call_ids \
            else f"call_{self.core}_{index}"
        self._call_ids.add(call_id)
        return call_id


def _object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (upstream fields may be absent)."""
    return value if isinstance(value, dict) else {}


def _status(finish_reason: Any) -> tuple[str, dict[str, Any] | None]:
    if isinstance(finish_reason, str) and finish_reason in protocol.FINISH:
        status, reason = protocol.FINISH[finish_reason]
        return status, {"reason": reason}
    return protocol.STATUS_COMPLETED, None


def _response(ctx: ResponsesContext, ids: _Ids, created: Any, model: Any, status: str,
              output: list[dict[str, Any]], usage: dict[str, Any] | None, *,
              incomplete: dict[str, Any] | None = None,
              error: dict[str, Any] | None = None) -> dict[str, Any]:
    echo = ctx.echo
    out: dict[str, Any] = {
        "id": ids.response, "object": "response",
        "created_at": created if isinstance(created, int) and not isinstance(created, bool)
        else 0,
        "status": status, "background": False, "error": error,
        "incomplete_details": incomplete, "instructions": echo["instructions"],
        "max_output_tokens": echo["max_output_tokens"],
        "model": ctx.model or (model if isinstance(model, str) else "localaik"),
        "output": output,
    }
    out.update({k: v for k, v in echo.items() if k not in out})
    out["usage"] = usage
    return out


def _arguments(name: str, value: Any) -> str:
    if value in (None, ""):
        return "{}"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(value, str):
        raise UpstreamBadResponse(f"upstream returned arguments for {name} that are not a "
                                  "string")
    return value


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c["text"] for c in content if isinstance(c, dict)
                       and c.get("type") in (None, "text") and isinstance(c.get("text"), str))
    return ""


# ---------------------------------------------------------------------------------------------
# One answer


def chat_response_to_responses(response: Any, ctx: ResponsesContext) -> dict[str, Any]:
    """A chat.completion -> a Response object."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list) \
            or not response["choices"] or not isinstance(response["choices"][0], dict):
        raise UpstreamBadResponse("upstream answer has no choices")
    choice: dict[str, Any] = response["choices"][0]
    message = _object(choice.get("message"))
    ids = _Ids(response.get("id"), ctx.fallback_id)
    status, incomplete = _status(choice.get("finish_reason"))
    text = _text(message.get("content"))
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    output: list[dict[str, Any]] = []
    if text or not calls:
        output.append(protocol.message_item(ids.message(), status, [protocol.output_text(text)]))
    for index, call in enumerate(calls):
        function = _object(call.get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamBadResponse("upstream returned a tool call without a function name")
        output.append(protocol.function_call_item(
            ids.function_call(index), ids.call_id(call.get("id"), index), name,
            _arguments(name, function.get("arguments")), protocol.STATUS_COMPLETED))
    return _response(ctx, ids, response.get("created"), response.get("model"), status, output,
                     protocol.usage(response.get("usage")), incomplete=incomplete)


# ---------------------------------------------------------------------------------------------
# A stream


@dataclass
class _Item:
    """One output item being streamed: a message, or a function call (once it has a name)."""

    output_index: int
    item: dict[str, Any]
    text: str = ""

    @property
    def id(self) -> str:
        return str(self.item["id"])


@dataclass
class _Call:
    """A streamed tool call, accumulated by its upstream index until it can be announced."""

    upstream_id: Any = None
    name: str = ""
    arguments: str = ""
    item: _Item | None = None


class ResponsesStream:
    """Turns upstream chat.completion.chunk objects into Responses API stream events."""

    def __init__(self, ctx: ResponsesContext) -> None:
        self.ctx = ctx
        self.ids: _Ids | None = None
        self.created: Any = 0
        self.model: Any = None
        self.sequence = 0
        self.items: list[_Item] = []
        self.message: _Item | None = None
        self.calls: dict[int, _Call] = {}
        self.finish_reason: Any = None
        self.usage: dict[str, Any] | None = None

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return event

    def _snapshot(self, status: str, **extra: Any) -> dict[str, Any]:
        assert self.ids is not None
        output = [item.item for item in self.items] if status != "in_progress" else []
        return _response(self.ctx, self.ids, self.created, self.model, status, output,
                         self.usage if status != "in_progress" else None, **extra)

    def _start(self, chunk: dict[str, Any]) -> list[Event]:
        self.ids = _Ids(chunk.get("id"), self.ctx.fallback_id)
        self.created, self.model = chunk.get("created"), chunk.get("model")
        return [self._event("response.created", response=self._snapshot("in_progress")),
                self._event("response.in_progress", response=self._snapshot("in_progress"))]

    def feed(self, chunk: Any) -> list[Event]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        events = self._start(chunk) if self.ids is None else []
        usage = protocol.usage(chunk.get("usage"))
        if usage:
            self.usage = usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = _object(choice.get("delta"))
            content = _text(delta.get("content"))
            if content:
                events += self._text_delta(content)
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict):
                    events += self._call_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _add(self, item: dict[str, Any]) -> tuple[_Item, Event]:
        entry = _Item(len(self.items), item)
        self.items.append(entry)
        added = dict(item, content=[]) if item["type"] == "message" else dict(item)
        return entry, self._event("response.output_item.added", output_index=entry.output_index,
                                  item=added)

    def _open_message(self) -> list[Event]:
        assert self.ids is not None
        self.message, added = self._add(protocol.message_item(self.ids.message(), "in_progress",
                                                              []))
        return [added, self._event("response.content_part.added", item_id=self.message.id,
                                   output_index=self.message.output_index, content_index=0,
                                   part=protocol.output_text(""))]

    def _text_delta(self, text: str) -> list[Event]:
        events = self._open_message() if self.message is None else []
        assert self.message is not None
        self.message.text += text
        return events + [self._event("response.output_text.delta", item_id=self.message.id,
                                     output_index=self.message.output_index, content_index=0,
                                     delta=text, logprobs=[])]

    def _call_delta(self, delta: dict[str, Any]) -> list[Event]:
        given = delta.get("index")
        index = given if isinstance(given, int) else len(self.calls)
        call = self.calls.setdefault(index, _Call())
        function = _object(delta.get("function"))
        if delta.get("id") and call.upstream_id is None:
            call.upstream_id = delta["id"]
        if isinstance(function.get("name"), str) and function["name"] and call.item is None:
            call.name += function["name"]
        piece = function.get("arguments")
        piece = piece if isinstance(piece, str) else ""
        events: list[Event] = []
        if call.item is None:
            call.arguments += piece
            if not call.name:
                return []     # announced once its name is known
            assert self.ids is not None
            call.item, added = self._add(protocol.function_call_item(
                self.ids.function_call(index), self.ids.call_id(call.upstream_id, index),
                call.name, "", "in_progress"))
            events.append(added)
            piece = call.arguments
            call.arguments = ""
        if piece:
            call.arguments += piece
            events.append(self._event("response.function_call_arguments.delta",
                                      item_id=call.item.id, output_index=call.item.output_index,
                                      delta=piece))
        return events

    def finish(self) -> list[Event]:
        """The closing events, once the upstream stream ended whole."""
        for index, call in sorted(self.calls.items()):
            if call.item is None:
                raise UpstreamBadResponse(f"upstream streamed tool call {index} without a "
                                          "function name")
        events = self._start({}) if self.ids is None else []
        if not self.items:
            events += self._open_message()
        status, incomplete = _status(self.finish_reason)
        for entry in self.items:
            if entry.item["type"] == "message":
                events += self._close_message(entry, status)
            else:
                events += self._close_call(entry)
        final = "response.completed" if status == protocol.STATUS_COMPLETED \
            else "response.incomplete"
        events.append(self._event(final, response=self._snapshot(status,
                                                                 incomplete=incomplete)))
        return events

    def _close_message(self, entry: _Item, status: str) -> list[Event]:
        where = {"item_id": entry.id, "output_index": entry.output_index, "content_index": 0}
        part = protocol.output_text(entry.text)
        entry.item = protocol.message_item(entry.id, status, [part])
        return [self._event("response.output_text.done", **where, text=entry.text, logprobs=[]),
                self._event("response.content_part.done", **where, part=part),
                self._event("response.output_item.done", output_index=entry.output_index,
                            item=entry.item)]

    def _close_call(self, entry: _Item) -> list[Event]:
        call = next(c for c in self.calls.values() if c.item is entry)
        arguments = call.arguments or "{}"
        entry.item = dict(entry.item, arguments=arguments, status=protocol.STATUS_COMPLETED)
        return [self._event("response.function_call_arguments.done", item_id=entry.id,
                            output_index=entry.output_index, arguments=arguments),
                self._event("response.output_item.done", output_index=entry.output_index,
                            item=entry.item)]

    def fail(self, error: Error) -> list[Event]:
        """The events that end a stream that broke: an `error` event, then `response.failed`
        with what was produced so far."""
        events = self._start({}) if self.ids is None else []
        for entry in self.items:
            if entry.item["type"] == "message":
                entry.item = protocol.message_item(entry.id, protocol.STATUS_INCOMPLETE,
                                                   [protocol.output_text(entry.text)])
            else:
                call = next(c for c in self.calls.values() if c.item is entry)
                entry.item = dict(entry.item, arguments=call.arguments,
                                  status=protocol.STATUS_INCOMPLETE)
        events.append(self._event("error", code=error.code, message=error.message, param=None))
        events.append(self._event("response.failed", response=self._snapshot(
            "failed", error={"code": "server_error", "message": error.message})))
        return events
