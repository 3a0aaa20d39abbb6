"""Chat-completions answers -> Responses API answers: the `Response` object and its parts, which
the stream (`responses_stream`) builds too (reference/wire.md §4.6).

Ids come from the upstream's completion id, which the cassette keeps with the answer, and are
never drawn at random, so a replayed answer is the recorded one byte for byte: `chatcmpl-X`
gives the response `resp_X`, its message `msg_X`, its function calls `fc_X_0`, `fc_X_1`, ….
A function call keeps the upstream's tool-call id as its `call_id` unless that id is missing or
already taken in the answer, in which case it is `call_X_N`.

The upstream's answer is read defensively: every field is checked where it is used.
"""

from __future__ import annotations

import json
import re

from localaik.errors import UpstreamBadResponse
from localaik.families.openai import responses_wire as responses
from localaik.families.openai.responses_request import ResponsesContext
from localaik.wire.types import JSONObject, JSONValue

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class Ids:
    """The ids of one answer, all derived from the upstream's completion id."""

    def __init__(self, upstream_id: JSONValue, fallback: str) -> None:
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

    def call_id(self, given: JSONValue, index: int) -> str:
        call_id = (
            given
            if isinstance(given, str) and given and given not in self._call_ids
            else f"call_{self.core}_{index}"
        )
        self._call_ids.add(call_id)
        return call_id


def json_object(value: JSONValue) -> JSONObject:
    """`value` when it is a JSON object, else an empty one (upstream fields may be absent)."""
    return value if isinstance(value, dict) else {}


def json_list(value: JSONValue) -> list[JSONValue]:
    """`value` when it is a JSON array, else an empty one (upstream fields may be absent)."""
    return value if isinstance(value, list) else []


def outcome(
    finish_reason: JSONValue,
) -> tuple[responses.Finished, responses.IncompleteDetails | None]:
    """The status of an answer that stopped for `finish_reason`, and why it is incomplete."""
    if isinstance(finish_reason, str) and finish_reason in responses.FINISH:
        finished, reason = responses.FINISH[finish_reason]
        return finished, {"reason": reason}
    return responses.STATUS_COMPLETED, None


def response(
    ctx: ResponsesContext,
    ids: Ids,
    created: JSONValue,
    model: JSONValue,
    status: responses.ResponseStatus,
    output: list[responses.ResponseOutputItem],
    usage: responses.ResponseUsage | None,
    *,
    incomplete: responses.IncompleteDetails | None = None,
    error: responses.ResponseError | None = None,
) -> responses.Response:
    """The `Response` object: its own fields, then the request's settings it repeats."""
    echo = ctx.echo
    return {
        "id": ids.response,
        "object": "response",
        "created_at": created if isinstance(created, int) and not isinstance(created, bool) else 0,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": echo["instructions"],
        "max_output_tokens": echo["max_output_tokens"],
        "model": ctx.model or (model if isinstance(model, str) else "localaik"),
        "output": output,
        **echo,  # after the fields above, in its own order; the two above keep their place
        "usage": usage,
    }


def output_text(text: str) -> responses.ResponseOutputText:
    """An `output_text` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(
    item_id: str, status: responses.ItemStatus, content: list[responses.ResponseOutputText]
) -> responses.ResponseOutputMessage:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: responses.ItemStatus
) -> responses.ResponseFunctionToolCall:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def usage_of(upstream: JSONValue) -> responses.ResponseUsage | None:
    """Chat-completions usage -> Responses usage (None when the upstream gave none)."""
    if not isinstance(upstream, dict):
        return None
    prompt = _count(upstream.get("prompt_tokens"))
    completion = _count(upstream.get("completion_tokens"))
    details = upstream.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": _count(cached)},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": _count(upstream.get("total_tokens") or prompt + completion),
    }


def _count(value: JSONValue) -> int:
    """A token count of the upstream's usage (absent or null is 0)."""
    if isinstance(value, list | dict):
        if value:
            raise UpstreamBadResponse("upstream usage holds a token count that is not a number")
        return 0
    return int(value or 0)


def text_of(content: JSONValue) -> str:
    """The text of a chat message's content: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    return "".join(
        text
        for part in json_list(content)
        if isinstance(part, dict)
        and part.get("type") in (None, "text")
        and isinstance(text := part.get("text"), str)
    )


def arguments(name: str, value: JSONValue) -> str:
    """A tool call's arguments as JSON text (an upstream may send them as an object)."""
    if value in (None, ""):
        return "{}"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(value, str):
        raise UpstreamBadResponse(f"upstream returned arguments for {name} that are not a string")
    return value


# ---------------------------------------------------------------------------------------------
# One answer


def chat_response_to_responses(answer: JSONValue, ctx: ResponsesContext) -> responses.Response:
    """A chat.completion -> a Response object."""
    if not isinstance(answer, dict):
        raise UpstreamBadResponse("upstream answer has no choices")
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamBadResponse("upstream answer has no choices")
    choice = choices[0]
    message = json_object(choice.get("message"))
    ids = Ids(answer.get("id"), ctx.fallback_id)
    finished, incomplete = outcome(choice.get("finish_reason"))
    text = text_of(message.get("content"))
    calls = [c for c in json_list(message.get("tool_calls")) if isinstance(c, dict)]
    output: list[responses.ResponseOutputItem] = []
    if text or not calls:
        output.append(message_item(ids.message(), finished, [output_text(text)]))
    for index, call in enumerate(calls):
        function = json_object(call.get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamBadResponse("upstream returned a tool call without a function name")
        output.append(
            function_call_item(
                ids.function_call(index),
                ids.call_id(call.get("id"), index),
                name,
                arguments(name, function.get("arguments")),
                responses.STATUS_COMPLETED,
            )
        )
    return response(
        ctx,
        ids,
        answer.get("created"),
        answer.get("model"),
        finished,
        output,
        usage_of(answer.get("usage")),
        incomplete=incomplete,
    )
