"""The canonical form and key of a client request (D1): what makes two requests the same.

Each rule is shown as a pair of requests that must share a key, or must not. The exact
canonical text of fixed requests is pinned separately, in `tests/golden/keys/` (test_keys.py).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.wire.jsonpath import IgnoreRule, Wild, parse_ignore

GEMINI_MODEL = "gemini-2.5-flash"


def gemini(
    body: Any,
    *,
    operation: str = "generateContent",
    model: str = GEMINI_MODEL,
    stream: bool = False,
) -> ClientRequest:
    return ClientRequest("gemini", operation, model, stream, body)


def chat(body: dict[str, Any], *, stream: bool | None = None) -> ClientRequest:
    """An OpenAI chat request built the way the route builds it: model and stream from the body."""
    return ClientRequest(
        "openai",
        "chat.completions",
        body.get("model"),
        body.get("stream") is True if stream is None else stream,
        body,
    )


def key(request: ClientRequest, ignore: str = "") -> str:
    return request_key(canonical_json(canonical(request, parse_ignore(ignore))))


def body_of(request: ClientRequest, ignore: str = "") -> Any:
    return canonical(request, parse_ignore(ignore))["body"]


def hi(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **extra}


# -- the canonical form ------------------------------------------------------------------------


def test_canonical_has_the_five_fields() -> None:
    canon = canonical(gemini(hi(), stream=True))
    assert canon == {
        "family": "gemini",
        "operation": "generateContent",
        "model": GEMINI_MODEL,
        "stream": True,
        "body": hi(),
    }


def test_canonical_json_is_sorted_compact_and_keeps_utf8() -> None:
    text = canonical_json({"b": 1, "a": {"z": "Grüß 👋", "y": [2, 1]}})
    assert text == '{"a":{"y":[2,1],"z":"Grüß 👋"},"b":1}'


def test_key_is_32_hex_characters_and_stable() -> None:
    first = key(gemini(hi()))
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert key(gemini(hi())) == first


def test_a_lone_surrogate_in_the_body_still_gets_a_key() -> None:
    body = json.loads('{"contents":[{"parts":[{"text":"\\ud800"}]}]}')
    assert re.fullmatch(r"[0-9a-f]{32}", key(gemini(body)))
    assert key(gemini(body)) != key(gemini(hi()))


def test_canonical_does_not_change_the_request_body() -> None:
    body = {
        "model": "m",
        "stream": False,
        "user": "u",
        "generation_config": {},
        "temperature": 1.0,
        "messages": [{"role": "user", "content": "hi", "name": "n"}],
    }
    before = copy.deepcopy(body)
    canonical(chat(body), parse_ignore("messages[*].name"))
    canonical(gemini(body), parse_ignore("messages[*].name"))
    assert body == before


def test_key_order_does_not_matter() -> None:
    a = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0.2, "topP": 0.9},
    }
    b = {
        "generationConfig": {"topP": 0.9, "temperature": 0.2},
        "contents": [{"parts": [{"text": "hi"}], "role": "user"}],
    }
    assert key(gemini(a)) == key(gemini(b))


def test_array_order_matters() -> None:
    a = {"contents": [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]}
    b = {"contents": [{"role": "user", "parts": [{"text": "b"}, {"text": "a"}]}]}
    assert key(gemini(a)) != key(gemini(b))


# -- one spelling for Gemini -------------------------------------------------------------------


def test_gemini_snake_and_camel_spellings_give_one_key() -> None:
    python = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"data": "iVBORw0KGgo=", "mime_type": "image/png"}},
                    {
                        "fileData": {
                            "file_uri": "https://x/files/abc",
                            "mime_type": "application/pdf",
                        }
                    },
                ],
            }
        ],
        "generationConfig": {"thinkingConfig": {"include_thoughts": True, "thinking_budget": 128}},
    }
    js = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"fileUri": "https://x/files/abc", "mimeType": "application/pdf"}},
                ],
            }
        ],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 128}},
    }
    assert key(gemini(python)) == key(gemini(js))


def test_parameters_json_schema_spellings_give_one_key_and_keep_user_property_names() -> None:
    schema = {"type": "object", "properties": {"city_name": {"type": "string"}}}
    python = hi(tools=[{"functionDeclarations": [{"name": "f", "parameters_json_schema": schema}]}])
    js = hi(tools=[{"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}])
    assert key(gemini(python)) == key(gemini(js))
    declaration = body_of(gemini(python))["tools"][0]["functionDeclarations"][0]
    assert declaration["parametersJsonSchema"]["properties"] == {"city_name": {"type": "string"}}


def test_gemini_user_data_keeps_its_snake_keys() -> None:
    body = {
        "contents": [
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "f", "args": {"city_name": "Paris"}}}],
            }
        ]
    }
    part = body_of(gemini(body))["contents"][0]["parts"][0]
    assert part == {"functionCall": {"name": "f", "args": {"city_name": "Paris"}}}
    camel = {
        "contents": [
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "f", "args": {"cityName": "Paris"}}}],
            }
        ]
    }
    assert key(gemini(body)) != key(gemini(camel))


def test_openai_keys_are_not_camelised() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    assert body_of(chat(body)) == {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


# -- numbers and empty values ------------------------------------------------------------------


def test_integral_floats_equal_ints() -> None:
    assert key(gemini(hi(generationConfig={"topK": 40.0}))) == key(
        gemini(hi(generationConfig={"topK": 40}))
    )
    assert body_of(gemini(hi(generationConfig={"topK": 40.0})))["generationConfig"] == {"topK": 40}


def test_fractional_floats_and_bools_stay_what_they_are() -> None:
    config = body_of(
        gemini(hi(generationConfig={"temperature": 0.5, "responseLogprobs": True, "logprobs": 1}))
    )["generationConfig"]
    assert config == {"temperature": 0.5, "responseLogprobs": True, "logprobs": 1}
    assert type(config["responseLogprobs"]) is bool
    assert key(gemini(hi(generationConfig={"responseLogprobs": True}))) != key(
        gemini(hi(generationConfig={"responseLogprobs": 1}))
    )


def test_empty_generation_config_equals_absent() -> None:
    assert key(gemini(hi(generationConfig={}))) == key(gemini(hi()))


def test_empty_objects_and_arrays_are_dropped_children_first() -> None:
    body = hi(generationConfig={"thinkingConfig": {}, "stopSequences": []}, safetySettings=[])
    assert body_of(gemini(body)) == hi()


def test_an_emptied_body_stays_an_empty_body() -> None:
    assert body_of(gemini({"generationConfig": {}}, operation="countTokens")) == {}


def test_array_elements_are_never_dropped() -> None:
    body = {"contents": [{"role": "user", "parts": [{}, {"text": "hi"}]}]}
    assert body_of(gemini(body))["contents"][0]["parts"] == [{}, {"text": "hi"}]
    assert key(gemini(body)) != key(gemini(hi()))


def test_gemini_tool_switches_that_are_empty_objects_are_kept() -> None:
    search = key(gemini(hi(tools=[{"googleSearch": {}}])))
    code = key(gemini(hi(tools=[{"code_execution": {}}])))
    assert search != code != key(gemini(hi()))
    assert body_of(gemini(hi(tools=[{"code_execution": {}}])))["tools"] == [{"codeExecution": {}}]


def test_body_none_for_get_requests() -> None:
    canon = canonical(ClientRequest("openai", "models.list", None, False, None))
    assert canon == {
        "family": "openai",
        "operation": "models.list",
        "model": None,
        "stream": False,
        "body": None,
    }


# -- fields that decide the key, and fields that do not -------------------------------------


def test_stream_flag_changes_the_key() -> None:
    assert key(gemini(hi(), stream=True)) != key(gemini(hi(), stream=False))
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert key(chat({**base, "stream": True})) != key(chat(base))


def test_model_operation_and_family_change_the_key() -> None:
    assert key(gemini(hi(), model="gemini-2.5-pro")) != key(gemini(hi()))
    assert key(gemini(hi(), operation="countTokens")) != key(gemini(hi()))
    assert key(ClientRequest("anthropic", "generateContent", GEMINI_MODEL, False, hi())) != key(
        gemini(hi())
    )
    base = {"messages": [{"role": "user", "content": "hi"}]}
    assert key(chat({"model": "a", **base})) != key(chat({"model": "b", **base}))


def test_openai_model_and_stream_are_canonical_fields_not_body() -> None:
    canon = canonical(
        chat(
            {
                "model": "m",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
    )
    assert canon["model"] == "m" and canon["stream"] is True
    assert canon["body"] == {
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_openai_parse_stream_false_equals_absent() -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert key(chat({**base, "stream": False})) == key(chat(base))


def test_openai_stream_options_are_part_of_the_key() -> None:
    base = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    assert key(chat({**base, "stream_options": {"include_usage": True}})) != key(chat(base))


@pytest.mark.parametrize(
    "field, value",
    [
        ("user", "u-1"),
        ("metadata", {"run": "42"}),
        ("store", True),
        ("safety_identifier", "abc"),
        ("prompt_cache_key", "k"),
    ],
)
def test_openai_volatile_fields_do_not_change_the_key(field: str, value: Any) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert key(chat({**base, field: value})) == key(chat(base))


def test_volatile_fields_are_only_dropped_at_the_top_level() -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    nested = {"model": "m", "messages": [{"role": "user", "content": "hi", "metadata": {"a": 1}}]}
    assert key(chat(nested)) != key(chat(base))


def test_gemini_labels_do_not_change_the_key() -> None:
    assert key(gemini(hi(labels={"run": "ci-7"}))) == key(gemini(hi()))


# -- LK_IGNORE ---------------------------------------------------------------------------------


def test_parse_ignore_reads_comma_separated_paths() -> None:
    rules = parse_ignore(" a.b, messages[*].name ,*.id, $.contents[0].parts[0].text, ")
    assert [rule.steps for rule in rules] == [
        ("a", "b"),
        ("messages", Wild.INDEX, "name"),
        (Wild.KEY, "id"),
        ("contents", 0, "parts", 0, "text"),
    ]
    assert rules[0] == IgnoreRule("a.b", ("a", "b"))
    assert parse_ignore("") == [] and parse_ignore(" , ") == []


def test_parse_ignore_reads_quoted_keys() -> None:
    assert parse_ignore('$["first name"].x, a["b.c"]')[1].steps == ("a", "b.c")
    assert parse_ignore('$["first name"].x')[0].steps == ("first name", "x")


@pytest.mark.parametrize(
    "path, where",
    [
        ("a..b", "character 3"),
        ("a.", "character 2"),
        ("$", "whole body"),
        ("a[x]", "[N]"),
        ("a[-1]", "[N]"),
        ("[0]", "expected a key"),
        ("*id", "character 2"),
        ("a b", "character 2"),
        ("a[0", "[N]"),
        (".a", "character 1"),
        ("$.", "empty"),
    ],
)
def test_invalid_ignore_paths_raise_a_clear_value_error(path: str, where: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_ignore(f"ok.path, {path}")
    message = str(caught.value)
    assert f"LK_IGNORE path {path!r}" in message
    assert where in message
    assert "[*] for every element" in message


def test_ignore_messages_name() -> None:
    a = {
        "model": "m",
        "messages": [
            {"role": "user", "name": "alice", "content": "hi"},
            {"role": "user", "name": "bob", "content": "yo"},
        ],
    }
    b = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "user", "name": "carol", "content": "yo"},
        ],
    }
    assert key(chat(a)) != key(chat(b))
    assert key(chat(a), "messages[*].name") == key(chat(b), "messages[*].name")


def test_ignore_generation_config_seed_drops_an_emptied_config() -> None:
    assert key(gemini(hi(generationConfig={"seed": 7})), "generationConfig.seed") == key(
        gemini(hi()), "generationConfig.seed"
    )
    assert body_of(
        gemini(hi(generationConfig={"seed": 7, "topK": 3})), "generationConfig.seed"
    ) == hi(generationConfig={"topK": 3})


def test_ignore_paths_use_the_camel_case_spelling() -> None:
    python = hi(generation_config={"seed": 7})
    assert body_of(gemini(python), "generationConfig.seed") == hi()
    assert body_of(gemini(python), "generation_config.seed") == hi(generationConfig={"seed": 7})


def test_ignore_star_key_removes_under_every_key_of_an_object() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object", "id": "rf-1"},
        "tool_choice": {"type": "auto", "id": "tc-9"},
        "id": "top",
    }
    assert body_of(chat(body), "*.id") == {
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"},
        "tool_choice": {"type": "auto"},
        "id": "top",
    }


def test_ignore_star_key_does_not_walk_arrays() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi", "id": "x"}]}
    assert body_of(chat(body), "*.id") == {
        "messages": [{"role": "user", "content": "hi", "id": "x"}]
    }
    assert body_of(chat(body), "*[*].id") == {"messages": [{"role": "user", "content": "hi"}]}


def test_ignore_an_exact_index_path_with_dollar_prefix() -> None:
    a = {
        "contents": [
            {"role": "user", "parts": [{"text": "Today is Monday"}]},
            {"role": "user", "parts": [{"text": "same"}]},
        ]
    }
    b = {
        "contents": [
            {"role": "user", "parts": [{"text": "Today is Tuesday"}]},
            {"role": "user", "parts": [{"text": "same"}]},
        ]
    }
    rule = "$.contents[0].parts[0].text"
    assert key(gemini(a), rule) == key(gemini(b), rule)
    c = {"contents": [a["contents"][0], {"role": "user", "parts": [{"text": "other"}]}]}
    assert key(gemini(a), rule) != key(gemini(c), rule)


def test_ignore_a_whole_array_element_or_array() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}],
    }
    assert body_of(chat(body), "messages[0]") == {"messages": [{"role": "user", "content": "hi"}]}
    assert body_of(chat(body), "messages[*]") == {}


def test_ignore_paths_that_are_absent_or_of_another_shape_are_no_error() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    expected = body_of(chat(body))
    for rule in (
        "nope.deeper",
        "messages[5].content",
        "messages.content",
        "messages[*].x.y",
        "messages[0][1]",
        "*[3]",
    ):
        assert body_of(chat(body), rule) == expected, rule


def test_ignore_never_touches_model_or_stream() -> None:
    canon = canonical(
        chat({"model": "m", "stream": True, "messages": []}), parse_ignore("model, stream")
    )
    assert canon["model"] == "m" and canon["stream"] is True
