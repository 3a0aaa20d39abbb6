"""Gemini `Schema` (an OpenAPI 3.0 subset) -> JSON Schema, as llama-server's grammar wants it.

The Gemini dialect differs from JSON Schema in a few ways, each handled here:
upper-case types (`STRING`), `nullable: true`, `propertyOrdering` (the order of the generated
object's keys: llama.cpp follows the order of `properties`, so properties are reordered),
int64 values encoded as strings (`"maxItems": "3"`), and `defs`/`ref` instead of `$defs`/`$ref`.

`json_schema_dialect` gives a whole request body its schemas in JSON Schema, as the upstream
gets them, for comparing requests by what the model sees (a replay miss's nearest recordings).
"""

from __future__ import annotations

from localaik.wire.types import JSONObject, JSONValue

_INT_KEYWORDS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
_DROP = frozenset({"propertyOrdering", "nullable"})


def _json_type(value: JSONValue) -> JSONValue:
    if isinstance(value, str):
        lowered = value.lower()
        return None if lowered == "type_unspecified" else lowered
    if isinstance(value, list):
        return [_json_type(item) for item in value]
    return value


def gemini_schema_to_json_schema(schema: JSONValue) -> JSONValue:
    """Convert one camel-cased Gemini `Schema` into JSON Schema (anything but an object or a
    list is kept as it is)."""
    if isinstance(schema, list):
        return [gemini_schema_to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return object_schema(schema)


def object_schema(schema: JSONObject) -> JSONObject:
    """Convert one camel-cased Gemini `Schema` object into a JSON Schema object."""
    out: JSONObject = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "type":
            converted = _json_type(value)
            if converted is not None:
                out["type"] = converted
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {
                name: gemini_schema_to_json_schema(sub)
                for name, sub in _ordered(value, schema.get("propertyOrdering"))
            }
        elif key == "defs" and isinstance(value, dict):
            out["$defs"] = {name: gemini_schema_to_json_schema(sub) for name, sub in value.items()}
        elif key == "ref" and isinstance(value, str):
            out["$ref"] = value.replace("#/defs/", "#/$defs/")
        elif key in ("items", "anyOf", "additionalProperties"):
            out[key] = gemini_schema_to_json_schema(value)
        elif key in _INT_KEYWORDS and isinstance(value, str) and value.lstrip("-").isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    if schema.get("nullable") is True:
        _make_nullable(out)
    return out


def _ordered(properties: JSONObject, ordering: JSONValue) -> list[tuple[str, JSONValue]]:
    if not isinstance(ordering, list):
        return list(properties.items())
    first = [
        (name, properties[name])
        for name in ordering
        if isinstance(name, str) and name in properties
    ]
    named = {name for name, _ in first}
    return first + [(name, sub) for name, sub in properties.items() if name not in named]


def _make_nullable(out: JSONObject) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            out["type"] = [*kind, "null"]
    elif "anyOf" in out and isinstance(out["anyOf"], list):
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    if "enum" in out and isinstance(out["enum"], list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


def json_schema_dialect(body: JSONValue) -> JSONValue:
    """A camel-cased request body whose Gemini-dialect schemas (`functionDeclarations[].
    parameters`, `generationConfig.responseSchema`) are converted and moved to their JSON
    Schema spelling (`parametersJsonSchema`, `responseJsonSchema`), as the upstream gets them.
    Where both spellings are given the JSON Schema one wins, as in the translation. The body
    is not changed: what changes is copied."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    config = body.get("generationConfig")
    if isinstance(config, dict):
        out["generationConfig"] = _moved(config, "responseSchema", "responseJsonSchema")
    tools = body.get("tools")
    if isinstance(tools, list):
        out["tools"] = [_tool_dialect(tool) for tool in tools]
    return out


def _tool_dialect(tool: JSONValue) -> JSONValue:
    declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or not isinstance(declarations, list):
        return tool
    moved = [
        _moved(d, "parameters", "parametersJsonSchema") if isinstance(d, dict) else d
        for d in declarations
    ]
    return {**tool, "functionDeclarations": moved}


def _moved(obj: JSONObject, gemini: str, json_schema: str) -> JSONObject:
    if gemini not in obj:
        return obj
    out = {name: value for name, value in obj.items() if name != gemini}
    if json_schema not in out:
        out[json_schema] = gemini_schema_to_json_schema(obj[gemini])
    return out
