"""OpenAI chat completions -> Gemini answers: a GenerateContentResponse, or its stream.

`openai_response_to_gemini` translates a chat.completion; `GeminiStream`, fed one upstream
chunk at a time, gives the streamed GenerateContentResponses. Both need a little of the request
(`GeminiContext`): the model the client asked for, whether the answer is an enum to unwrap and
whether thoughts were asked for. It is derived from the request alone, so a replayed answer is
translated exactly as a live one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.errors import error_response
from localaik.upstream.arguments import call_arguments
from localaik.upstream.wire import Usage
from localaik.wire.types import JSONObject, JSONValue

StreamEvent = gemini.GenerateContentResponse | gemini.ErrorResponse
"""What a Gemini stream sends: answers, and at most one error as its last element."""


@dataclass(frozen=True)
class GeminiContext:
    """What the response translation needs to know about the request."""

    model: str
    enum_output: bool = False
    include_thoughts: bool = False


def model_name(path_model: str) -> str:
    """The model as the client named it, without the `models/` prefix."""
    return path_model.removeprefix("models/")


def context_for(request: gemini.GenerateContentRequest, path_model: str) -> GeminiContext:
    config = request.get("generationConfig")
    if not isinstance(config, dict):
        config = {}
    mime = config.get("responseMimeType")
    thinking = config.get("thinkingConfig")
    return GeminiContext(
        model=model_name(path_model),
        enum_output=isinstance(mime, str) and mime.lower() == "text/x.enum",
        include_thoughts=isinstance(thinking, dict) and thinking.get("includeThoughts") is True,
    )


# ---------------------------------------------------------------------------------------------
# Response
#
# The upstream's answers are read defensively: a field of the wrong JSON type is read as absent,
# except where the answer cannot be translated at all (UpstreamBadResponse, a 502).


def response_id(upstream_id: JSONValue) -> str | None:
    if not isinstance(upstream_id, str) or not upstream_id:
        return None
    return upstream_id.removeprefix("chatcmpl-")


def usage_metadata(value: JSONValue, *, prompt_only: bool = False) -> gemini.UsageMetadata | None:
    """The upstream's usage as Gemini's: the whole, or (`prompt_only`) what a stream's chunks
    say before its last one, the prompt's count. The upstream does not count by modality, so
    `promptTokensDetails` says TEXT for the whole prompt."""
    if not isinstance(value, dict):
        return None
    usage = cast(Usage, value)
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    meta: gemini.UsageMetadata = {"promptTokenCount": prompt, "totalTokenCount": prompt}
    if not prompt_only:
        meta = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion,
            "totalTokenCount": int(usage.get("total_tokens") or prompt + completion),
        }
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens"):
        meta["cachedContentTokenCount"] = int(details["cached_tokens"])
    meta["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    return meta


def _text_parts(content: JSONValue, ctx: GeminiContext) -> list[gemini.Part]:
    texts: list[str] = []
    if isinstance(content, str):
        texts = [content] if content else []
    elif isinstance(content, list):
        for c in content:
            if isinstance(c, dict) and c.get("type") in (None, "text"):
                text = c.get("text")
                if isinstance(text, str) and text:
                    texts.append(text)
    if ctx.enum_output:
        texts = [_unwrap_enum(t) for t in texts]
    return [{"text": t} for t in texts]


def _unwrap_enum(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _thought_parts(message: JSONObject, ctx: GeminiContext) -> list[gemini.Part]:
    reasoning = message.get("reasoning_content")
    if ctx.include_thoughts and isinstance(reasoning, str) and reasoning:
        return [{"text": reasoning, "thought": True}]
    return []


def function_call_part(name: JSONValue, arguments: JSONValue, call_id: JSONValue) -> gemini.Part:
    """A `functionCall` part, with the upstream's call id when it gave one: a client sends it
    back in its `functionResponse.id`, which pairs the response with the call upstream."""
    if not isinstance(name, str) or not name:
        raise UpstreamBadResponse("upstream returned a tool call without a function name")
    call: gemini.FunctionCall = {"name": name, "args": call_arguments(name, arguments)}
    if isinstance(call_id, str) and call_id:
        call["id"] = call_id
    return {"functionCall": call}


def _finish_reason(choice: JSONObject) -> str | None:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) else None


def _object(value: JSONValue) -> JSONObject:
    """An object of the upstream's answer, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _list(value: JSONValue) -> list[JSONValue]:
    """A list of the upstream's answer, or an empty one for anything else."""
    return value if isinstance(value, list) else []


def _add_envelope(
    out: gemini.GenerateContentResponse, ctx: GeminiContext, upstream_id: JSONValue
) -> gemini.GenerateContentResponse:
    out["modelVersion"] = ctx.model
    rid = response_id(upstream_id)
    if rid:
        out["responseId"] = rid
    return out


def openai_response_to_gemini(
    response: JSONValue, ctx: GeminiContext
) -> gemini.GenerateContentResponse:
    """A chat.completion -> a GenerateContentResponse."""
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(response, dict) or not isinstance(choices, list):
        raise UpstreamBadResponse("upstream answer has no choices")
    candidates: list[gemini.Candidate] = []
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise UpstreamBadResponse("upstream choice is not an object")
        message = _object(choice.get("message"))
        parts = _thought_parts(message, ctx) + _text_parts(message.get("content"), ctx)
        for call in _list(message.get("tool_calls")):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(call, dict) and isinstance(function, dict):
                parts.append(
                    function_call_part(
                        function.get("name"), function.get("arguments"), call.get("id")
                    )
                )
        candidate: gemini.Candidate = {"content": {"role": "model", "parts": parts}}
        reason = gemini.finish_reason(_finish_reason(choice))
        if reason:
            candidate["finishReason"] = reason
        index = choice.get("index")
        candidate["index"] = index if isinstance(index, int) else position
        candidates.append(candidate)
    out: gemini.GenerateContentResponse = {"candidates": candidates}
    usage = usage_metadata(response.get("usage"))
    if usage:
        out["usageMetadata"] = usage
    return _add_envelope(out, ctx, response.get("id"))


@dataclass
class _Choice:
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    finish: str | None = None
    held_text: str = ""


class GeminiStream:
    """Turns upstream chat.completion.chunk objects into streamed GenerateContentResponses.

    Text is passed on as it arrives. Tool calls are accumulated by index and sent whole, with the
    finish reason and usage, in one final chunk (also when the upstream never sent a finish
    reason: that chunk then says STOP). Told the usage first (`know_usage`, through
    `streaming.UsageFirst`), every chunk states the prompt's token count, as Gemini's do.
    """

    def __init__(self, ctx: GeminiContext) -> None:
        self.ctx = ctx
        self.upstream_id: JSONValue = None
        self.choices: dict[int, _Choice] = {}
        self.usage: gemini.UsageMetadata | None = None
        self.prompt_usage: gemini.UsageMetadata | None = None

    def know_usage(self, usage: dict[str, Any]) -> None:
        self.usage = usage_metadata(usage)
        self.prompt_usage = usage_metadata(usage, prompt_only=True)

    def feed(self, chunk: JSONValue) -> list[StreamEvent]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        if self.upstream_id is None:
            self.upstream_id = chunk.get("id")
        usage = usage_metadata(chunk.get("usage"))
        if usage:
            self.usage = usage
        candidates: list[gemini.Candidate] = []
        for choice in _list(chunk.get("choices")):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index")
            if not isinstance(index, int):
                index = 0
            state = self.choices.setdefault(index, _Choice())
            delta = _object(choice.get("delta"))
            for call in _list(delta.get("tool_calls")):
                self._accumulate(state, call)
            finish = _finish_reason(choice)
            if finish:
                state.finish = finish
            parts = _thought_parts(delta, self.ctx)
            if self.ctx.enum_output:
                # An enum answer arrives as a quoted JSON string split over deltas: it is held
                # and sent unquoted with the closing chunk, as the non-stream answer is.
                content = delta.get("content")
                if isinstance(content, str):
                    state.held_text += content
            else:
                parts += _text_parts(delta.get("content"), self.ctx)
            if parts:
                candidates.append({"content": {"role": "model", "parts": parts}, "index": index})
        if not candidates:
            return []
        out: gemini.GenerateContentResponse = {"candidates": candidates}
        if self.prompt_usage:
            out["usageMetadata"] = self.prompt_usage
        return [_add_envelope(out, self.ctx, self.upstream_id)]

    @staticmethod
    def _accumulate(state: _Choice, call: JSONValue) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index")
        if not isinstance(index, int):
            index = len(state.calls)
        entry = state.calls.setdefault(index, {"name": "", "arguments": "", "id": ""})
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id and not entry["id"]:
            entry["id"] = call_id
        function = _object(call.get("function"))
        name = function.get("name")
        if isinstance(name, str) and name:
            entry["name"] = name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            entry["arguments"] += arguments

    def finish(self) -> list[StreamEvent]:
        """The closing chunk: accumulated function calls, finish reasons and usage."""
        candidates: list[gemini.Candidate] = []
        for index, state in sorted(self.choices.items()) or [(0, _Choice())]:
            parts = _text_parts(state.held_text, self.ctx)
            parts += [
                function_call_part(c["name"], c["arguments"], c["id"])
                for _, c in sorted(state.calls.items())
            ]
            # An SDK chat drops a streamed turn whose chunk has no parts: say "" instead.
            parts = parts or [{"text": ""}]
            candidates.append(
                {
                    "content": {"role": "model", "parts": parts},
                    "finishReason": gemini.finish_reason(state.finish) or "STOP",
                    "index": index,
                }
            )
        out: gemini.GenerateContentResponse = {"candidates": candidates}
        if self.usage:
            out["usageMetadata"] = self.usage
        return [_add_envelope(out, self.ctx, self.upstream_id)]

    def fail(self, error: Error) -> list[StreamEvent]:
        """A failure after the stream began: the error object as the last element, which
        google-genai raises as its `APIError`."""
        return [error_response(error.status, error.message)]
