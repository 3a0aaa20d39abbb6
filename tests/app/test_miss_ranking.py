"""A replay miss names the recording that differs only in how a tool schema is spelled first,
with every difference shown, through the real google-genai SDK (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.app.conftest import MakeLocalaik

PROPERTIES = {
    "city": ("string", "The city"),
    "unit": ("string", "celsius or fahrenheit"),
    "days": ("integer", "How many days ahead"),
}


def gemini_dialect() -> types.Schema:
    return types.Schema(
        type=types.Type.OBJECT,
        properties={
            name: types.Schema(type=types.Type(kind.upper()), description=description)
            for name, (kind, description) in PROPERTIES.items()
        },
        required=["city"],
    )


def json_schema_dialect() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {"type": kind, "description": description}
            for name, (kind, description) in PROPERTIES.items()
        },
        "required": ["city"],
    }


async def ask(client: Any, question: str, *, dialect: str, temperature: float = 0) -> Any:
    declaration = types.FunctionDeclaration(name="get_weather", description="The weather")
    if dialect == "gemini":
        declaration.parameters = gemini_dialect()
    else:
        declaration.parameters_json_schema = json_schema_dialect()
    return await client.models.generate_content(
        model="gemini-2.5-flash",
        contents=question,
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[declaration])],
            temperature=temperature,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )


def gemini_client(http: Any) -> Any:
    return genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            base_url="http://localaik", api_version="v1beta", httpx_async_client=http
        ),
    ).aio


async def test_the_other_schema_dialect_is_named_first_with_its_whole_difference(
    make_localaik: MakeLocalaik, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as http:
        client = gemini_client(http)
        await ask(client, "What is the weather in Paris?", dialect="gemini")
        await ask(client, "What is the weather in Rome?", dialect="json")
        await ask(client, "What is the weather in Oslo?", dialect="json", temperature=0.5)
    async with make_localaik(mode="replay", cassette=cassette) as http:
        with pytest.raises(genai_errors.ClientError) as raised:
            await ask(gemini_client(http), "What is the weather in Paris?", dialect="json")
    assert raised.value.code == 404
    message = str(raised.value.message)
    # google-genai shows the whole body: the message's lines come joined by " | ".
    assert "\n" not in message
    first, rest = message.split(" | ", 1)[1].split(" | 2. ")  # after the gist
    # Leaf by leaf the dialect twin differs in every schema path, the others in one or two;
    # it is still the nearest: the model gets the same request from both dialects.
    assert "parametersJsonSchema.properties.unit.description" in first
    assert "contents" not in first and "more" not in first
    assert "only the spelling differs" in first
    assert first.count(" here, ") > 10
    assert '"What is the weather in Rome?" recorded' in rest.split(" | 3. ")[0]
