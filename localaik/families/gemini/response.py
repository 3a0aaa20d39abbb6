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
from typing import Any

from localaik.errors import Error, UpstreamBadResponse
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.errors import error_body
from localaik.families.rendering import body_of
from localaik.media.parts import Part
from localaik.upstream.arguments import call_arguments


@dataclass(frozen=True)
class GeminiContext:
    """What the response translation needs to know about the request."""

    model: str
    enum_output: bool = False
    include_thoughts: bool = False


def model_name(path_model: str) -> str:
    """The model as the client named it, without the `models/` prefix."""
    return path_model.removeprefix("models/")


def context_for(request: dict[str, Any], path_model: str) -> GeminiContext:
    config = request.get("generationConfig")
    config = config if isinstance(config, dict) else {}
    mime = config.get("responseMimeType")
    thinking = config.get("thinkingConfig")
    return GeminiContext(
        model=model_name(path_model),
        enum_output=isinstance(mime, str) and mime.lower() == "text/x.enum",
        include_thoughts=isinstance(thinking, dict) and thinking.get("includeThoughts") is True,
    )


# ---------------------------------------------------------------------------------------------
# Response


def response_id(upstream_id: Any) -> str | None:
    if not isinstance(upstream_id, str) or not upstream_id:
        return None
    return upstream_id.removeprefix("chatcmpl-")


def usage_metadata(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    meta: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": total,
    }
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens"):
        meta["cachedContentTokenCount"] = int(details["cached_tokens"])
    return meta


def _text_parts(content: Any, ctx: GeminiContext) -> list[Part]:
    if isinstance(content, str):
        texts = [content] if content else []
    elif isinstance(content, list):
        texts = [
            c.get("text")
            for c in content
            if isinstance(c, dict) and c.get("type") in (None, "text") and c.get("text")
        ]
    else:
        texts = []
    if ctx.enum_output:
        texts = [_unwrap_enum(t) for t in texts]
    return [{"text": t} for t in texts]


def _unwrap_enum(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _thought_parts(message: dict[str, Any], ctx: GeminiContext) -> list[Part]:
    reasoning = message.get("reasoning_content")
    if ctx.include_thoughts and isinstance(reasoning, str) and reasoning:
        return [{"text": reasoning, "thought": True}]
    return []


def function_call_part(name: Any, arguments: Any) -> Part:
    if not isinstance(name, str) or not name:
        raise UpstreamBadResponse("upstream returned a tool call without a function name")
    return {"functionCall": {"name": name, "args": call_arguments(name, arguments)}}


def _envelope(ctx: GeminiContext, upstream_id: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"modelVersion": ctx.model}
    rid = response_id(upstream_id)
    if rid:
        out["responseId"] = rid
    return out


def openai_response_to_gemini(response: Any, ctx: GeminiContext) -> dict[str, Any]:
    """A chat.completion -> a GenerateContentResponse."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    candidates = []
    for position, choice in enumerate(response["choices"]):
        if not isinstance(choice, dict):
            raise UpstreamBadResponse("upstream choice is not an object")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        parts = _thought_parts(message, ctx) + _text_parts(message.get("content"), ctx)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                parts.append(function_call_part(function.get("name"), function.get("arguments")))
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        reason = gemini.finish_reason(choice.get("finish_reason"))
        if reason:
            candidate["finishReason"] = reason
        index = choice.get("index")
        candidate["index"] = index if isinstance(index, int) else position
        candidates.append(candidate)
    out: dict[str, Any] = {"candidates": candidates}
    usage = usage_metadata(response.get("usage"))
    if usage:
        out["usageMetadata"] = usage
    out.update(_envelope(ctx, response.get("id")))
    return out


@dataclass
class _Choice:
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    finish: str | None = None
    held_text: str = ""


class GeminiStream:
    """Turns upstream chat.completion.chunk objects into streamed GenerateContentResponses.

    Text is passed on as it arrives. Tool calls are accumulated by index and sent whole, with the
    finish reason and usage, in one final chunk (also when the upstream never sent a finish
    reason: that chunk then says STOP).
    """

    def __init__(self, ctx: GeminiContext) -> None:
        self.ctx = ctx
        self.upstream_id: Any = None
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, Any] | None = None

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        if self.upstream_id is None:
            self.upstream_id = chunk.get("id")
        usage = usage_metadata(chunk.get("usage"))
        if usage:
            self.usage = usage
        candidates = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index") if isinstance(choice.get("index"), int) else 0
            state = self.choices.setdefault(index, _Choice())
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for call in delta.get("tool_calls") or []:
                self._accumulate(state, call)
            if choice.get("finish_reason"):
                state.finish = choice["finish_reason"]
            parts = _thought_parts(delta, self.ctx)
            if self.ctx.enum_output:
                # An enum answer arrives as a quoted JSON string split over deltas: it is held
                # and sent unquoted with the closing chunk, as the non-stream answer is.
                if isinstance(delta.get("content"), str):
                    state.held_text += delta["content"]
            else:
                parts += _text_parts(delta.get("content"), self.ctx)
            if parts:
                candidates.append({"content": {"role": "model", "parts": parts}, "index": index})
        if not candidates:
            return []
        return [{"candidates": candidates, **_envelope(self.ctx, self.upstream_id)}]

    @staticmethod
    def _accumulate(state: _Choice, call: Any) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index") if isinstance(call.get("index"), int) else len(state.calls)
        entry = state.calls.setdefault(index, {"name": "", "arguments": ""})
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if function.get("name"):
            entry["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            entry["arguments"] += function["arguments"]

    def finish(self) -> list[dict[str, Any]]:
        """The closing chunk: accumulated function calls, finish reasons and usage."""
        candidates = []
        for index, state in sorted(self.choices.items()) or [(0, _Choice())]:
            parts = _text_parts(state.held_text, self.ctx)
            parts += [
                function_call_part(c["name"], c["arguments"])
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
        out: dict[str, Any] = {"candidates": candidates}
        if self.usage:
            out["usageMetadata"] = self.usage
        out.update(_envelope(self.ctx, self.upstream_id))
        return [out]

    def fail(self, error: Error) -> list[dict[str, Any]]:
        """A failure after the stream began: the error object as the last element, which
        google-genai raises as its `APIError`."""
        return [body_of(error, error_body)]
