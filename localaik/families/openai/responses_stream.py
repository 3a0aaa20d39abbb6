"""Chat-completions streams -> Responses API streams: the events that
`client.responses.stream()` and `create(stream=True)` read (reference/wire.md §4.6).

The stream follows the lifecycle the SDK's helper checks: `response.created` and
`response.in_progress` when the first upstream chunk arrives; an item's `output_item.added`
(and, for a message, `content_part.added`) before its deltas; every item's `done` events, then
`response.completed` (or `response.incomplete` when the answer hit `max_output_tokens`) once the
upstream's `[DONE]` arrives. A failure ends the stream with an `error` event and
`response.failed`; every event carries its `sequence_number`. Ids and the `Response` object are
the single answer's (`responses_output`), so a stream ends as that answer does.
"""

from __future__ import annotations

from dataclasses import dataclass

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.openai import responses_wire as responses
from localaik.families.openai.responses_output import (
    Ids,
    function_call_item,
    json_list,
    json_object,
    message_item,
    outcome,
    output_text,
    response,
    text_of,
    usage_of,
)
from localaik.families.openai.responses_request import ResponsesContext
from localaik.wire import sse
from localaik.wire.types import JSONObject, JSONValue

Event = responses.ResponseStreamEvent


@dataclass
class _Item:
    """One output item being streamed: a message, or a function call (once it has a name)."""

    output_index: int
    item: responses.ResponseOutputItem
    text: str = ""

    @property
    def id(self) -> str:
        return self.item["id"]


@dataclass
class _Call:
    """A streamed tool call, accumulated by its upstream index until it can be announced."""

    upstream_id: JSONValue = None
    name: str = ""
    arguments: str = ""
    item: _Item | None = None


class ResponsesStream:
    """Turns upstream chat.completion.chunk objects into Responses API stream events."""

    def __init__(self, ctx: ResponsesContext) -> None:
        self.ctx = ctx
        self.ids: Ids | None = None
        self.created: JSONValue = 0
        self.model: JSONValue = None
        self.sequence = 0
        self.items: list[_Item] = []
        self.message: _Item | None = None
        self.calls: dict[int, _Call] = {}
        self.finish_reason: JSONValue = None
        self.usage: responses.ResponseUsage | None = None

    def _number(self) -> int:
        """The next event's `sequence_number`."""
        number, self.sequence = self.sequence, self.sequence + 1
        return number

    def _snapshot(
        self,
        status: responses.ResponseStatus,
        *,
        incomplete: responses.IncompleteDetails | None = None,
        error: responses.ResponseError | None = None,
    ) -> responses.Response:
        assert self.ids is not None
        output = [item.item for item in self.items] if status != "in_progress" else []
        return response(
            self.ctx,
            self.ids,
            self.created,
            self.model,
            status,
            output,
            self.usage if status != "in_progress" else None,
            incomplete=incomplete,
            error=error,
        )

    def _start(self, chunk: JSONObject) -> list[Event]:
        self.ids = Ids(chunk.get("id"), self.ctx.fallback_id)
        self.created, self.model = chunk.get("created"), chunk.get("model")
        return [
            {
                "type": "response.created",
                "response": self._snapshot("in_progress"),
                "sequence_number": self._number(),
            },
            {
                "type": "response.in_progress",
                "response": self._snapshot("in_progress"),
                "sequence_number": self._number(),
            },
        ]

    def feed(self, chunk: JSONValue) -> list[Event]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        events = self._start(chunk) if self.ids is None else []
        usage = usage_of(chunk.get("usage"))
        if usage:
            self.usage = usage
        for choice in json_list(chunk.get("choices")):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = json_object(choice.get("delta"))
            content = text_of(delta.get("content"))
            if content:
                events += self._text_delta(content)
            for call in json_list(delta.get("tool_calls")):
                if isinstance(call, dict):
                    events += self._call_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _add(self, item: responses.ResponseOutputItem) -> tuple[_Item, Event]:
        entry = _Item(len(self.items), item)
        self.items.append(entry)
        added: responses.ResponseOutputItem = (
            {**item, "content": []} if item["type"] == "message" else {**item}
        )
        return entry, {
            "type": "response.output_item.added",
            "output_index": entry.output_index,
            "item": added,
            "sequence_number": self._number(),
        }

    def _open_message(self) -> list[Event]:
        assert self.ids is not None
        self.message, added = self._add(message_item(self.ids.message(), "in_progress", []))
        return [
            added,
            {
                "type": "response.content_part.added",
                "item_id": self.message.id,
                "output_index": self.message.output_index,
                "content_index": 0,
                "part": output_text(""),
                "sequence_number": self._number(),
            },
        ]

    def _text_delta(self, text: str) -> list[Event]:
        events = self._open_message() if self.message is None else []
        assert self.message is not None
        self.message.text += text
        return [
            *events,
            {
                "type": "response.output_text.delta",
                "item_id": self.message.id,
                "output_index": self.message.output_index,
                "content_index": 0,
                "delta": text,
                "logprobs": [],
                "sequence_number": self._number(),
            },
        ]

    def _call_delta(self, delta: JSONObject) -> list[Event]:
        given = delta.get("index")
        index = given if isinstance(given, int) else len(self.calls)
        call = self.calls.setdefault(index, _Call())
        function = json_object(delta.get("function"))
        if delta.get("id") and call.upstream_id is None:
            call.upstream_id = delta["id"]
        name = function.get("name")
        if isinstance(name, str) and name and call.item is None:
            call.name += name
        given_piece = function.get("arguments")
        piece = given_piece if isinstance(given_piece, str) else ""
        events: list[Event] = []
        if call.item is None:
            call.arguments += piece
            if not call.name:
                return []  # announced once its name is known
            assert self.ids is not None
            call.item, added = self._add(
                function_call_item(
                    self.ids.function_call(index),
                    self.ids.call_id(call.upstream_id, index),
                    call.name,
                    "",
                    "in_progress",
                )
            )
            events.append(added)
            piece = call.arguments
            call.arguments = ""
        if piece:
            call.arguments += piece
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": call.item.id,
                    "output_index": call.item.output_index,
                    "delta": piece,
                    "sequence_number": self._number(),
                }
            )
        return events

    def finish(self) -> list[Event]:
        """The closing events, once the upstream stream ended whole."""
        for index, call in sorted(self.calls.items()):
            if call.item is None:
                raise UpstreamBadResponse(
                    f"upstream streamed tool call {index} without a function name"
                )
        events = self._start({}) if self.ids is None else []
        if not self.items:
            events += self._open_message()
        finished, incomplete = outcome(self.finish_reason)
        for entry in self.items:
            if entry.item["type"] == "message":
                events += self._close_message(entry, finished)
            else:
                events += self._close_call(entry)
        snapshot = self._snapshot(finished, incomplete=incomplete)
        if finished == responses.STATUS_COMPLETED:
            events.append(
                {
                    "type": "response.completed",
                    "response": snapshot,
                    "sequence_number": self._number(),
                }
            )
        else:
            events.append(
                {
                    "type": "response.incomplete",
                    "response": snapshot,
                    "sequence_number": self._number(),
                }
            )
        return events

    def _close_message(self, entry: _Item, status: responses.ItemStatus) -> list[Event]:
        part = output_text(entry.text)
        entry.item = message_item(entry.id, status, [part])
        return [
            {
                "type": "response.output_text.done",
                "item_id": entry.id,
                "output_index": entry.output_index,
                "content_index": 0,
                "text": entry.text,
                "logprobs": [],
                "sequence_number": self._number(),
            },
            {
                "type": "response.content_part.done",
                "item_id": entry.id,
                "output_index": entry.output_index,
                "content_index": 0,
                "part": part,
                "sequence_number": self._number(),
            },
            {
                "type": "response.output_item.done",
                "output_index": entry.output_index,
                "item": entry.item,
                "sequence_number": self._number(),
            },
        ]

    def _close_call(self, entry: _Item) -> list[Event]:
        call = self._call_of(entry)
        arguments = call.arguments or "{}"
        entry.item = self._call_item(entry, arguments, responses.STATUS_COMPLETED)
        return [
            {
                "type": "response.function_call_arguments.done",
                "item_id": entry.id,
                "output_index": entry.output_index,
                "arguments": arguments,
                "sequence_number": self._number(),
            },
            {
                "type": "response.output_item.done",
                "output_index": entry.output_index,
                "item": entry.item,
                "sequence_number": self._number(),
            },
        ]

    def _call_of(self, entry: _Item) -> _Call:
        return next(c for c in self.calls.values() if c.item is entry)

    @staticmethod
    def _call_item(
        entry: _Item, arguments: str, status: responses.ItemStatus
    ) -> responses.ResponseFunctionToolCall:
        """The function call item of `entry` with its final arguments and status."""
        item = entry.item
        assert item["type"] == "function_call"
        return {**item, "arguments": arguments, "status": status}

    def fail(self, error: Error) -> list[Event]:
        """The events that end a stream that broke: an `error` event, then `response.failed`
        with what was produced so far."""
        events = self._start({}) if self.ids is None else []
        for entry in self.items:
            if entry.item["type"] == "message":
                entry.item = message_item(
                    entry.id, responses.STATUS_INCOMPLETE, [output_text(entry.text)]
                )
            else:
                arguments = self._call_of(entry).arguments
                entry.item = self._call_item(entry, arguments, responses.STATUS_INCOMPLETE)
        events.append(
            {
                "type": "error",
                "code": error.code,
                "message": error.message,
                "param": None,
                "sequence_number": self._number(),
            }
        )
        failed = self._snapshot("failed", error={"code": "server_error", "message": error.message})
        events.append(
            {"type": "response.failed", "response": failed, "sequence_number": self._number()}
        )
        return events


def responses_frame(event: Event) -> bytes:
    """An event on the wire (`sse.responses_frame` takes a plain dict: the event is copied)."""
    return sse.responses_frame(dict(event))
