"""Tool calls through each official SDK, for the live tests: ten tool prompts, one declared
function each, and a round trip (the call, the function's result, the model's answer).

Each `Api` asks one prompt with one declared function and returns what the SDK parsed: the
calls the model made (name and arguments), or none. A call is well formed when it names the
declared function and its arguments are a JSON object holding every required parameter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

GEMINI_MODEL = "gemini-2.5-flash"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 128  # a call is about 20-40 tokens, after any words the model writes first


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    parameters: dict[str, str]  # name -> JSON type, all required

    @property
    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {name: {"type": kind} for name, kind in self.parameters.items()},
            "required": list(self.parameters),
        }


PROMPTS: list[tuple[Function, str]] = [
    (Function("get_weather", "Get the current weather for a city", {"city": "string"}),
     "What is the weather in Paris?"),
    (Function("add", "Add two integers", {"a": "integer", "b": "integer"}), "Add 17 and 25."),
    (Function("get_time", "Get the current time in a timezone", {"timezone": "string"}),
     "What time is it in Tokyo?"),
    (Function("search_books", "Search a library catalogue for books", {"query": "string"}),
     "Find me books about gardening."),
    (Function("convert_currency", "Convert an amount between currencies",
              {"amount": "number", "from": "string", "to": "string"}),
     "Convert 100 dollars to euros."),
    (Function("send_email", "Send an email", {"to": "string", "subject": "string"}),
     "Email bob@example.com with subject Lunch."),
    (Function("get_stock_price", "Get a stock's latest price", {"symbol": "string"}),
     "What is Apple's stock price?"),
    (Function("translate", "Translate text into a language",
              {"text": "string", "language": "string"}),
     "Translate hello into Spanish."),
    (Function("set_alarm", "Set an alarm", {"time": "string"}), "Set an alarm for 7am."),
    (Function("lookup_word", "Look up a word in the dictionary", {"word": "string"}),
     "What does ephemeral mean?"),
]  # fmt: skip

RESULT = {"temperature_c": 18, "sky": "cloudy"}  # what every function "returns"


@dataclass(frozen=True)
class Call:
    name: str
    arguments: Any  # parsed; a well-formed call has a dict


def well_formed(calls: list[Call], function: Function) -> bool:
    return bool(calls) and all(
        call.name == function.name
        and isinstance(call.arguments, dict)
        and set(function.parameters) <= set(call.arguments)
        for call in calls
    )


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class RoundTrip:
    calls: list[Call]
    answer: str  # the model's text once it had the function's result
    raw: list[Any]  # the SDK objects, to compare a replay with the recording


class Api:
    """One SDK against one localaik."""

    name = ""

    def tally(self, function: Function, prompt: str) -> str:
        """How one prompt went: `call` (well formed), `other` (an answer without a well-formed
        call), or the error the SDK raised (a call cut at the token limit is a 502)."""
        try:
            calls, _ = self.ask(function, prompt)
        except (openai.APIError, anthropic.APIError, genai_errors.APIError) as exc:
            return f"error {type(exc).__name__}"
        return "call" if well_formed(calls, function) else "other"

    def ask(self, function: Function, prompt: str) -> tuple[list[Call], Any]:
        raise NotImplementedError

    def round_trip(self, function: Function, prompt: str) -> RoundTrip:
        raise NotImplementedError


class Gemini(Api):
    name = "google-genai"

    def __init__(self, url: str) -> None:
        self.client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=url))

    def _config(self, function: Function) -> types.GenerateContentConfig:
        declaration = types.FunctionDeclaration(
            name=function.name,
            description=function.description,
            parameters_json_schema=function.schema,
        )
        return types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[declaration])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            max_output_tokens=MAX_TOKENS,
        )

    def ask(self, function: Function, prompt: str) -> tuple[list[Call], Any]:
        response = self.client.models.generate_content(
            model=GEMINI_MODEL, contents=prompt, config=self._config(function)
        )
        calls = [Call(c.name or "", c.args) for c in response.function_calls or []]
        return calls, response

    def round_trip(self, function: Function, prompt: str) -> RoundTrip:
        calls, first = self.ask(function, prompt)
        asked = types.Content(role="user", parts=[types.Part.from_text(text=prompt)])
        results = types.Content(
            role="user",
            parts=[types.Part.from_function_response(name=function.name, response=RESULT)],
        )
        second = self.client.models.generate_content(
            model=GEMINI_MODEL,
            contents=[asked, first.candidates[0].content, results],
            config=self._config(function),
        )
        return RoundTrip(calls, second.text or "", [first, second])


class _OpenAI(Api):
    def __init__(self, url: str) -> None:
        self.client = openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)


class OpenAIChat(_OpenAI):
    name = "openai chat"

    @staticmethod
    def _tools(function: Function) -> Any:
        return [
            {
                "type": "function",
                "function": {
                    "name": function.name,
                    "description": function.description,
                    "parameters": function.schema,
                },
            }
        ]

    def ask(self, function: Function, prompt: str) -> tuple[list[Call], Any]:
        completion = self.client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "user", "content": prompt}],
            tools=self._tools(function),
            max_tokens=MAX_TOKENS,
        )
        calls = [
            Call(c.function.name, _parsed(c.function.arguments))
            for c in completion.choices[0].message.tool_calls or []
            if c.type == "function"
        ]
        return calls, completion

    def round_trip(self, function: Function, prompt: str) -> RoundTrip:
        calls, first = self.ask(function, prompt)
        message = first.choices[0].message
        second = self.client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[
                {"role": "user", "content": prompt},
                message.model_dump(exclude_none=True),
                *(
                    {"role": "tool", "tool_call_id": c.id, "content": json.dumps(RESULT)}
                    for c in message.tool_calls or []
                ),
            ],
            tools=self._tools(function),
            max_tokens=MAX_TOKENS,
        )
        return RoundTrip(calls, second.choices[0].message.content or "", [first, second])


class OpenAIResponses(_OpenAI):
    name = "openai responses"

    @staticmethod
    def _tools(function: Function) -> Any:
        return [
            {
                "type": "function",
                "name": function.name,
                "description": function.description,
                "parameters": function.schema,
                "strict": False,
            }
        ]

    def ask(self, function: Function, prompt: str) -> tuple[list[Call], Any]:
        response = self.client.responses.create(
            model=OPENAI_MODEL,
            input=prompt,
            tools=self._tools(function),
            max_output_tokens=MAX_TOKENS,
        )
        calls = [
            Call(item.name, _parsed(item.arguments))
            for item in response.output
            if item.type == "function_call"
        ]
        return calls, response

    def round_trip(self, function: Function, prompt: str) -> RoundTrip:
        calls, first = self.ask(function, prompt)
        items: list[Any] = [{"role": "user", "content": prompt}]
        for item in first.output:
            if item.type == "function_call":
                items.append(item.model_dump(exclude_none=True))
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": item.call_id,
                        "output": json.dumps(RESULT),
                    }
                )
        second = self.client.responses.create(
            model=OPENAI_MODEL,
            input=items,
            tools=self._tools(function),
            max_output_tokens=MAX_TOKENS,
        )
        return RoundTrip(calls, second.output_text, [first, second])


class Anthropic(Api):
    name = "anthropic"

    def __init__(self, url: str) -> None:
        self.client = anthropic.Anthropic(api_key="test", base_url=url, max_retries=0)

    @staticmethod
    def _tools(function: Function) -> Any:
        return [
            {
                "name": function.name,
                "description": function.description,
                "input_schema": function.schema,
            }
        ]

    def ask(self, function: Function, prompt: str) -> tuple[list[Call], Any]:
        message = self.client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=[{"role": "user", "content": prompt}],
            tools=self._tools(function),
        )
        calls = [Call(b.name, b.input) for b in message.content if b.type == "tool_use"]
        return calls, message

    def round_trip(self, function: Function, prompt: str) -> RoundTrip:
        calls, first = self.ask(function, prompt)
        results = [
            {"type": "tool_result", "tool_use_id": b.id, "content": json.dumps(RESULT)}
            for b in first.content
            if b.type == "tool_use"
        ]
        second = self.client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=MAX_TOKENS,
            messages=[
                {"role": "user", "content": prompt},
                {
                    "role": "assistant",
                    "content": [b.model_dump(exclude_none=True) for b in first.content],
                },
                {"role": "user", "content": results},
            ],
            tools=self._tools(function),
        )
        text = "".join(b.text for b in second.content if b.type == "text")
        return RoundTrip(calls, text, [first, second])


APIS = (Gemini, OpenAIChat, OpenAIResponses, Anthropic)
