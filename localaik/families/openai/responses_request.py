"""OpenAI Responses API request -> OpenAI chat-completions request: the request as a whole.

`responses_request_to_chat` builds the chat request sent upstream; `context_for` keeps what the
answer translation (`responses_output`, `responses_stream`) needs of the request: the model
name, the fields a `Response` object repeats, and an id to fall back on. Both read the request
alone, so a replayed answer is translated exactly as a live one.

How the request maps:

- `instructions`, and every `system` or `developer` message wherever it stands, become one
  leading system message (chat templates such as Gemma's accept a system message only first);
- `input` as a string is one user message; as items: messages (content a string or
  `input_text` / `output_text` / `refusal` / `input_image` / `input_file` parts),
  `function_call` items (assistant `tool_calls`) and `function_call_output` items (tool
  messages, each paired with an earlier call by `call_id`); `reasoning` items are the model's
  own and are not fed back; consecutive turns of one role are one turn;
- function `tools`, `tool_choice` (including `allowed_tools`), `parallel_tool_calls`,
  `text.format` (`json_schema`, `json_object`), `max_output_tokens`, `temperature`, `top_p`.

Whatever needs server-side state (`previous_response_id`, `conversation`, stored prompts,
`item_reference` items, `background`) or OpenAI's own servers (built-in tools, file ids,
remote files) is refused with a 400 that names the field.

The input items and their content are read by `responses_input` and `responses_content`, the
tools and output format by `responses_tools`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar, cast

from localaik.errors import BadRequest, Unsupported
from localaik.families.openai import responses_wire as responses
from localaik.families.openai.responses_content import collapse
from localaik.families.openai.responses_input import input_messages
from localaik.families.openai.responses_tools import chat_tools, response_format, tool_choice
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONObject, JSONValue

T = TypeVar("T")


@dataclass(frozen=True)
class ResponsesContext:
    """What the answer translation needs to know about the request."""

    model: str | None
    echo: responses.ResponseSettings  # the request fields a Response object repeats
    fallback_id: str  # for an answer whose upstream gave no id (never random)


def requested_model(body: Mapping[str, object]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def context_for(body: responses.ResponseCreateParams) -> ResponsesContext:
    """The context of a request that `validate_request` accepted."""
    text: JSONObject = {"format": {"type": "text"}}
    given_text = body.get("text")
    if isinstance(given_text, dict):
        text.update({k: v for k, v in given_text.items() if v is not None})
    no_reasoning: JSONValue = {"effort": None, "summary": None}
    echo: responses.ResponseSettings = {
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "parallel_tool_calls": _given(body.get("parallel_tool_calls"), True),
        "previous_response_id": None,
        "reasoning": _given(body.get("reasoning"), no_reasoning),
        "service_tier": _given(body.get("service_tier"), "default"),
        "store": False,
        "temperature": _given(body.get("temperature"), 1.0),
        "text": text,
        "tool_choice": _given(body.get("tool_choice"), "auto"),
        "tools": _given(body.get("tools"), []),
        "top_p": _given(body.get("top_p"), 1.0),
        "truncation": _given(body.get("truncation"), "disabled"),
        "user": body.get("user"),
        "metadata": _given(body.get("metadata"), {}),
    }
    if body.get("safety_identifier") is not None:
        echo["safety_identifier"] = body["safety_identifier"]
    if body.get("prompt_cache_key") is not None:
        echo["prompt_cache_key"] = body["prompt_cache_key"]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    return ResponsesContext(requested_model(body), echo, digest)


def _given(value: T | None, default: T) -> T:
    """`value`, or `default` when the request left it out or null."""
    return default if value is None else value


# ---------------------------------------------------------------------------------------------
# Checks, and the chat request


def validate_request(body: JSONValue) -> responses.ResponseCreateParams:
    """Field-level checks of a Responses request (items are checked while translating)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    for name, value in body.items():
        if name in responses.STATEFUL:
            if value is not None:
                raise Unsupported(f"{name}: {responses.STATEFUL[name]}", param=name)
        elif name not in responses.TRANSLATED and name not in responses.ACCEPTED:
            raise Unsupported(
                f"{name}: localaik does not support this Responses API field "
                "(see the README's compatibility table)",
                param=name,
            )
    if body.get("background") not in (None, False):
        raise Unsupported(
            "background: localaik answers every request in the foreground; "
            "leave background unset or false",
            param="background",
        )
    if body.get("top_logprobs") not in (None, 0):
        raise Unsupported(
            "top_logprobs: localaik does not return log probabilities", param="top_logprobs"
        )
    _check_include(body.get("include"))
    for name, kind in (
        ("model", str),
        ("instructions", str),
        ("stream", bool),
        ("parallel_tool_calls", bool),
    ):
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise BadRequest(
                f"{name} must be a {'string' if kind is str else 'boolean'}", param=name
            )
    for name in ("temperature", "top_p"):
        _number(body, name)
    limit = body.get("max_output_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BadRequest(
            f"max_output_tokens must be a whole number of at least 1 (got {limit!r})",
            param="max_output_tokens",
        )
    if "input" not in body or body["input"] is None:
        raise BadRequest("input is required: a string or a list of input items", param="input")
    return cast(responses.ResponseCreateParams, body)  # every field it types, checked


def _check_include(include: JSONValue) -> None:
    if include is None:
        return
    if not isinstance(include, list) or not all(isinstance(v, str) for v in include):
        raise BadRequest("include must be a list of strings", param="include")
    for value in include:
        if value in responses.REFUSED_INCLUDES:
            raise Unsupported(
                f"include: {value!r} is not supported by localaik (no "
                f"{responses.REFUSED_INCLUDES[value]})",
                param="include",
            )


def _number(body: JSONObject, name: str) -> None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BadRequest(f"{name} must be a number (got {value!r})", param=name)


def responses_request_to_chat(
    body: JSONValue, *, upstream_model: str, stream: bool, media: Media
) -> upstream.ChatCompletionRequest:
    """A Responses API request (checked here) -> an OpenAI chat-completions request."""
    request = validate_request(body)
    system: list[Part] = []
    instructions = request.get("instructions")
    if instructions:
        system.append(media_parts.text_part(instructions))
    messages = input_messages(request["input"], media, system)
    if not messages:
        raise BadRequest("input must hold at least one non-empty message", param="input")
    if system:
        messages.insert(0, {"role": "system", "content": collapse(system)})

    chat: upstream.ChatCompletionRequest = {
        "model": requested_model(request) or upstream_model,
        "messages": messages,
    }
    temperature, top_p = request.get("temperature"), request.get("top_p")
    if temperature is not None:
        chat["temperature"] = _plain(temperature)
    if top_p is not None:
        chat["top_p"] = _plain(top_p)
    limit = request.get("max_output_tokens")
    if limit is not None:
        chat["max_tokens"] = limit
    tools = chat_tools(request.get("tools"))
    if tools:
        chat["tools"] = tools
        choice = tool_choice(request.get("tool_choice"), [t["function"]["name"] for t in tools])
        if isinstance(choice, tuple):
            allowed, choice = choice
            chat["tools"] = [t for t in tools if t["function"]["name"] in allowed]
        if choice is not None:
            chat["tool_choice"] = choice
        parallel = request.get("parallel_tool_calls")
        if parallel is not None:
            chat["parallel_tool_calls"] = parallel
    elif request.get("tool_choice") not in (None, "auto", "none"):
        raise BadRequest(
            "tool_choice: there are no function tools to choose from", param="tool_choice"
        )
    output_format = response_format(request.get("text"))
    if output_format is not None:
        chat["response_format"] = output_format
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _plain(value: float) -> float:
    """A whole number as an int (`1.0` -> `1`), as the chat request has always carried it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
