"""Gemini request bodies in one key spelling (camelCase), user data untouched.

The Python SDK mixes camelCase and snake_case keys in one body (`inlineData.mime_type`,
`parameters_json_schema`, `property_ordering`); the JS SDK sends what the user wrote, normally
camelCase; the real API accepts both. `camelize_request` gives every structural key one spelling
(camelCase) while leaving user data alone: function-call arguments, function responses, JSON
Schemas (`responseJsonSchema`, `parametersJsonSchema`), labels, and the property names inside a
Gemini `Schema`.
"""

from __future__ import annotations

import re

from localaik.wire.types import JSONObject, JSONValue

# Keys whose values are the user's own data: copied as they are.
_OPAQUE = frozenset({"args", "responseJsonSchema", "parametersJsonSchema", "labels"})
# Keys whose values are a Gemini `Schema` (an OpenAPI subset with its own casing rules).
_SCHEMA = frozenset({"responseSchema", "parameters"})
# Inside a Schema: values that are user data.
_SCHEMA_OPAQUE = frozenset({"example", "default", "enum", "propertyOrdering", "required"})

_SNAKE = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    """`mime_type` -> `mimeType`; keys without an inner underscore are unchanged."""
    if "_" not in key.strip("_"):
        return key
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def camelize_request(value: JSONValue, parent: str | None = None) -> JSONValue:
    """One key spelling (camelCase) for a Gemini request body; user data untouched."""
    if isinstance(value, list):
        return [camelize_request(item, parent) for item in value]
    if not isinstance(value, dict):
        return value
    out: JSONObject = {}
    for key, item in value.items():
        name = camel(key)
        if name in _OPAQUE:
            out[name] = item
        elif name == "response":
            # A function declaration's `response` is a Schema; every other `response`
            # (functionResponse, toolResponse) is the tool's own data.
            out[name] = camelize_schema(item) if parent == "functionDeclarations" else item
        elif name in _SCHEMA:
            out[name] = camelize_schema(item)
        else:
            out[name] = camelize_request(item, name)
    return out


def camelize_schema(schema: JSONValue) -> JSONValue:
    """Camel-case the keywords of a Gemini `Schema`, keeping property names as written."""
    if isinstance(schema, list):
        return [camelize_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: JSONObject = {}
    for key, item in schema.items():
        name = camel(key)
        if name in ("properties", "defs") and isinstance(item, dict):
            out[name] = {prop: camelize_schema(sub) for prop, sub in item.items()}
        elif name in _SCHEMA_OPAQUE:
            out[name] = item
        else:
            out[name] = camelize_schema(item)
    return out
