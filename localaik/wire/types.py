"""JSON as Python types: what a parsed body is before a family's checks say more.

A client's body is `JSONValue` until checked; code narrows it with `isinstance` and then reads
the family's TypedDicts (`families/<family>/wire.py`), named after the API's own types. `Any`
stays only where the API itself is open: a JSON Schema, a function's arguments, a tool's
result, the client's extra fields.
"""

from __future__ import annotations

from typing import TypeAlias

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
JSONObject: TypeAlias = "dict[str, JSONValue]"
JSONArray: TypeAlias = "list[JSONValue]"
