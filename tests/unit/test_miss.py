"""What a replay miss says (D5): differences, nearest recordings and the message text.

No timing asserts here: NearestIndex speed is measured by a benchmark, not asserted in tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.cassette.miss import MISSING, Difference, NearestIndex, differences
from localaik.cassette.miss_text import SERVE, Reporting, gist, miss_message
from localaik.cassette.recording import Summary

MODEL = "gemini-2.5-flash"


def gem(
    texts: list[str],
    *,
    operation: str = "generateContent",
    model: str = MODEL,
    stream: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The canonical form of a Gemini request with one user/model turn per text."""
    contents = [
        {"role": "user" if i % 2 == 0 else "model", "parts": [{"text": text}]}
        for i, text in enumerate(texts)
    ]
    return canonical(
        ClientRequest("gemini", operation, model, stream, {"contents": contents, **extra})
    )


def summary(
    canon: dict[str, Any],
    *,
    id: int,
    recorded_at: str = "2026-11-25T14:03:07.123Z",
    ordinal: int = 0,
    key: str | None = None,
) -> Summary:
    text = canonical_json(canon)
    return Summary(
        id=id,
        key=key or request_key(text),
        ordinal=ordinal,
        family=canon["family"],
        operation=canon["operation"],
        model=canon["model"],
        stream=canon["stream"],
        recorded_at=recorded_at,
        request=text,
    )


def paths(diffs: list[Difference]) -> list[str]:
    return [diff.path for diff in diffs]


# -- differences -------------------------------------------------------------------------------


def test_identical_requests_have_no_differences() -> None:
    assert differences(gem(["hi"]), gem(["hi"])) == []


def test_a_changed_leaf_is_reported_at_its_path() -> None:
    diffs = differences(gem(["hi", "ok", "again"]), gem(["hi", "ok", "once more"]))
    assert diffs == [Difference("contents[2].parts[0].text", "again", "once more")]


def test_generation_config_and_tool_paths() -> None:
    tools = [{"functionDeclarations": [{"name": "get_weather"}]}]
    ours = gem(["hi"], generationConfig={"temperature": 0.2}, tools=tools)
    theirs = gem(
        ["hi"],
        generationConfig={"temperature": 0.7},
        tools=[{"functionDeclarations": [{"name": "get_time"}]}],
    )
    assert differences(ours, theirs) == [
        Difference("generationConfig.temperature", 0.2, 0.7),
        Difference("tools[0].functionDeclarations[0].name", "get_weather", "get_time"),
    ]


def test_extra_and_missing_elements_are_their_own_paths() -> None:
    ours, theirs = gem(["a", "b", "c"]), gem(["a"])
    assert differences(ours, theirs) == [
        Difference("contents[1]", {"role": "model", "parts": [{"text": "b"}]}, MISSING),
        Difference("contents[2]", {"role": "user", "parts": [{"text": "c"}]}, MISSING),
    ]
    assert paths(differences(theirs, ours)) == ["contents[1]", "contents[2]"]
    assert differences(theirs, ours)[0].ours is MISSING


def test_a_field_present_on_one_side_only() -> None:
    """An object missing on one side is shown by its leaves: the path names the field."""
    diffs = differences(gem(["hi"], generationConfig={"seed": 3}), gem(["hi"]))
    assert diffs == [Difference("generationConfig.seed", 3, MISSING)]


def test_an_extra_array_element_is_one_difference() -> None:
    diffs = differences(gem(["hi", "again"]), gem(["hi"]))
    assert [d.path for d in diffs] == ["contents[1]"]


def test_a_type_change_is_one_difference_at_that_path() -> None:
    ours = gem(["hi"], generationConfig={"stopSequences": ["END"]})
    theirs = gem(["hi"], generationConfig={"stopSequences": "END"})
    assert differences(ours, theirs) == [
        Difference("generationConfig.stopSequences", ["END"], "END")
    ]


def test_ints_bools_and_floats_are_told_apart() -> None:
    diffs = differences(
        gem(["hi"], generationConfig={"a": 1, "b": 1}),
        gem(["hi"], generationConfig={"a": True, "b": 1.5}),
    )
    assert paths(diffs) == ["generationConfig.a", "generationConfig.b"]


def test_top_level_fields_come_first_under_their_own_names() -> None:
    ours = gem(["x"], operation="countTokens", model="gemma", stream=True)
    diffs = differences(ours, gem(["y"]))
    assert diffs == [
        Difference("operation", "countTokens", "generateContent"),
        Difference("model", "gemma", MODEL),
        Difference("stream", True, False),
        Difference("contents[0].parts[0].text", "x", "y"),
    ]


def test_paths_are_in_order_with_numeric_indices() -> None:
    texts = [f"t{i}" for i in range(12)]
    changed = [*texts[:2], "X", *texts[3:10], "Y", "Z"]
    assert paths(differences(gem(texts), gem(changed))) == [
        "contents[2].parts[0].text",
        "contents[10].parts[0].text",
        "contents[11].parts[0].text",
    ]


def test_keys_with_other_characters_are_quoted() -> None:
    ours = gem(
        ["hi"],
        generationConfig={"responseJsonSchema": {"properties": {"first name": {"type": "string"}}}},
    )
    theirs = gem(
        ["hi"],
        generationConfig={
            "responseJsonSchema": {"properties": {"first name": {"type": "integer"}}}
        },
    )
    assert paths(differences(ours, theirs)) == [
        'generationConfig.responseJsonSchema.properties["first name"].type'
    ]


def test_a_get_request_against_a_post_recording() -> None:
    get = canonical(ClientRequest("gemini", "models.get", MODEL, False, None))
    diffs = differences(get, gem(["hi"]))
    assert paths(diffs) == ["operation", "body"]
    assert diffs[1].ours is None


def test_openai_paths() -> None:
    def chat(**body: Any) -> dict[str, Any]:
        return canonical(
            ClientRequest(
                "openai", "chat.completions", body.get("model"), body.get("stream") is True, body
            )
        )

    ours = chat(model="a", messages=[{"role": "user", "content": "hi", "name": "x"}])
    theirs = chat(model="b", stream=True, messages=[{"role": "user", "content": "hi"}])
    assert paths(differences(ours, theirs)) == ["model", "stream", "messages[0].name"]


# -- NearestIndex ------------------------------------------------------------------------------


def test_nearest_is_the_recording_that_differs_in_one_field() -> None:
    query = gem(
        ["Plan a trip to Rome", "Sure, when?", "In May"], generationConfig={"temperature": 0.2}
    )
    recordings = [
        gem(
            ["Plan a trip to Rome", "Sure, when?", "In June"], generationConfig={"temperature": 0.2}
        ),  # one field differs
        gem(["Plan a trip to Rome"], generationConfig={"temperature": 0.2}),
        gem(
            ["Plan a trip to Paris", "Sure, when?", "In May"],
            generationConfig={"temperature": 0.9, "seed": 1},
        ),
        gem(["Something else entirely"]),
        canonical(
            ClientRequest(
                "openai",
                "chat.completions",
                "m",
                False,
                {"messages": [{"role": "user", "content": "In May"}]},
            )
        ),
    ]
    index = NearestIndex(summary(canon, id=i + 1) for i, canon in enumerate(recordings))
    found = index.nearest(query)
    assert len(found) == 3
    best, diffs = found[0]
    assert best.id == 1
    assert diffs == [Difference("contents[2].parts[0].text", "In May", "In June")]


def test_only_the_same_family_and_operation_even_when_another_looks_closer() -> None:
    """A recording of another operation or API differs in every path: listed after one of the
    same operation, it only hid the recordings that matter (issue 15)."""
    query = gem(["Count these words please"])
    other_operation = gem(["Count these words please"], operation="countTokens")
    same_operation = gem(["Something different"], generationConfig={"seed": 9})
    openai = canonical(
        ClientRequest(
            "openai",
            "chat.completions",
            "m",
            False,
            {"messages": [{"role": "user", "content": "x"}]},
        )
    )
    index = NearestIndex(
        [summary(other_operation, id=1), summary(same_operation, id=2), summary(openai, id=3)]
    )
    assert [s.id for s, _ in index.nearest(query)] == [2]
    # With none of its own operation, the others are what there is to compare with.
    found = index.nearest(gem(["Count these words please"], operation="embedContent"))
    assert [s.id for s, _ in found] == [1, 2, 3]
    assert paths(found[0][1]) == ["operation"]


def test_a_replaced_recording_leaves_its_operation_when_it_changed_operation() -> None:
    """The count of live recordings per operation follows replacements of a (key, ordinal)."""
    old = summary(gem(["hi"]), id=1, key="k" * 32)
    new = summary(gem(["hi"], operation="countTokens"), id=2, key="k" * 32)
    index = NearestIndex([old])
    index.add(new)
    assert [s.id for s, _ in index.nearest(gem(["hi!"]))] == [2]


def test_ties_are_broken_by_newest_recording_then_highest_id() -> None:
    query = gem(["hello"])
    a = summary(gem(["hello"], model="m1"), id=1, recorded_at="2026-01-01T00:00:00.000Z")
    b = summary(gem(["hello"], model="m2"), id=2, recorded_at="2026-03-01T00:00:00.000Z")
    c = summary(gem(["hello"], model="m3"), id=3, recorded_at="2026-03-01T00:00:00.000Z")
    for order in ([a, b, c], [c, b, a], [b, a, c]):
        found = NearestIndex(order).nearest(query)
        assert [s.id for s, _ in found] == [3, 2, 1]


def test_limit_and_an_empty_index() -> None:
    assert NearestIndex([]).nearest(gem(["hi"])) == []
    index = NearestIndex(summary(gem([f"text {i}"]), id=i + 1) for i in range(10))
    assert len(index) == 10
    assert len(index.nearest(gem(["hi"]), limit=5)) == 5
    assert index.nearest(gem(["hi"]), limit=0) == []


def test_added_recordings_are_found() -> None:
    index = NearestIndex([summary(gem(["far away"], generationConfig={"seed": 1}), id=1)])
    index.add(summary(gem(["close", "by"]), id=2))
    best, diffs = index.nearest(gem(["close", "by!"]))[0]
    assert best.id == 2 and paths(diffs) == ["contents[1].parts[0].text"]


def test_a_replaced_recording_appears_once() -> None:
    old = summary(gem(["hi"]), id=1, key="k" * 32, recorded_at="2026-01-01T00:00:00.000Z")
    new = summary(gem(["hi"]), id=7, key="k" * 32, recorded_at="2026-02-01T00:00:00.000Z")
    index = NearestIndex([old])
    index.add(new)
    assert len(index) == 1
    assert [s.id for s, _ in index.nearest(gem(["hi"]))] == [7]


def test_recordings_sharing_nothing_with_the_request_are_still_listed() -> None:
    anthropic = canonical(
        ClientRequest(
            "anthropic",
            "messages",
            "claude",
            False,
            {"messages": [{"role": "user", "content": "hi"}]},
        )
    )
    index = NearestIndex([summary(anthropic, id=1)])
    found = index.nearest(gem(["hi"]))
    assert [s.id for s, _ in found] == [1]
    assert paths(found[0][1])[:3] == ["family", "operation", "model"]


def test_an_unreadable_recorded_request_does_not_break_the_index() -> None:
    broken = Summary(
        id=1,
        key="b" * 32,
        ordinal=0,
        family="gemini",
        operation="generateContent",
        model=MODEL,
        stream=False,
        recorded_at="2026-01-01T00:00:00.000Z",
        request="{not json",
    )
    index = NearestIndex([broken, summary(gem(["hi"]), id=2)])
    found = index.nearest(gem(["hi!"]))
    assert [s.id for s, _ in found] == [2, 1]
    assert paths(found[1][1]) == ["body"]


# -- the message -------------------------------------------------------------------------------


def message_for(query: dict[str, Any], recordings: list[Summary], **kwargs: Any) -> str:
    found = NearestIndex(recordings).nearest(query)
    args = {
        "cassette": "cassettes/localaik.db",
        "key": request_key(canonical_json(query)),
        "mode": "replay",
        **kwargs,
    }
    return miss_message(canon=query, nearest=found, **args)


def test_message_names_cassette_key_mode_paths_and_how_to_record() -> None:
    query = gem(
        ["Describe the image", "It is a cat", "What colour?"], generationConfig={"temperature": 0.2}
    )
    recorded = gem(
        ["Describe the image", "It is a cat", "What size?"], generationConfig={"temperature": 0.7}
    )
    text = message_for(query, [summary(recorded, id=1)], cassette="tests/cassettes/vision.db")
    key = request_key(canonical_json(query))
    assert "tests/cassettes/vision.db" in text
    assert key in text
    assert "replay" in text
    assert 'contents[2].parts[0].text: "What colour?" here, "What size?" recorded' in text
    assert "generationConfig.temperature: 0.2 here, 0.7 recorded" in text
    assert request_key(canonical_json(recorded))[:12] in text
    assert (
        "To record it: set LK_MODE=record (or start `localaik serve --mode record`), with a "
        "model running, then commit the cassette." in text
    )
    assert text.count("\n") >= 6


def test_the_first_line_is_the_gist() -> None:
    """Readable alone: the SDKs of two families and the pytest plugin's answers show only it."""
    query = gem(["Name three colours"], generationConfig={"temperature": 0.2, "seed": 1})
    recorded = gem(["Name four colours"], generationConfig={"temperature": 0.7})
    text = message_for(query, [summary(recorded, id=1)])
    key = request_key(canonical_json(recorded))[:12]
    assert gist(text) == (
        "localaik replay miss: no recording matches this gemini generateContent "
        f"gemini-2.5-flash request; the nearest recording ({key}) differs in "
        "contents[0].parts[0].text, generationConfig.seed and 1 more"
    )
    assert gist(message_for(query, [])).endswith("; the cassette holds no recordings")
    other = summary(gem(["Name three colours"], operation="countTokens"), id=2)
    assert gist(message_for(query, [other])).endswith(
        "; the cassette holds none of gemini generateContent"
    )
    assert "No recording of gemini generateContent in this cassette; the nearest of other" in (
        message_for(query, [other])
    )


def test_the_hint_and_the_answer_follow_the_way_localaik_was_started() -> None:
    plugin = Reporting("run pytest with --localaik-mode record", shown_by="in the report")
    text = message_for(gem(["hi"]), [summary(gem(["ho"]), id=1)], reporting=plugin)
    assert "To record it: run pytest with --localaik-mode record, with a model running" in text
    assert "LK_MODE=record" not in text and "--mode record" not in text.replace("-mode", "")
    assert plugin.answer(text) == gist(text) + " (the whole miss: in the report)"
    assert SERVE.answer(text) == text


def test_message_cuts_long_values_with_an_ellipsis() -> None:
    long_prompt = "Summarise this report on coastal erosion in northern Europe. " * 5
    query = gem([long_prompt + "Be brief."])
    recorded = gem([long_prompt + "Be thorough."])
    text = message_for(query, [summary(recorded, id=1)])
    line = next(line for line in text.splitlines() if "contents[0].parts[0].text:" in line)
    assert "…" in line and len(line) < 200
    # Two long strings are shown from where they start to differ.
    assert "Be brief." in line and "Be thorough." in line
    assert "(314 chars)" in line

    big = gem(["hi"], generationConfig={"stopSequences": [f"stop-{i}" for i in range(40)]})
    text = message_for(big, [summary(gem(["hi"]), id=1)])
    line = next(line for line in text.splitlines() if "generationConfig.stopSequences:" in line)
    assert "…" in line and "(absent) recorded" in line and len(line) < 140


def test_message_lists_every_difference_of_the_first_and_ten_of_the_others() -> None:
    """The difference that decides may be the last one: the nearest recording shows them all;
    the others, which only help to orient, stop at ten."""
    query = gem([f"q{i}" for i in range(14)])
    first = gem([f"r{i}" for i in range(14)])
    second = gem([f"s{i}" for i in range(14)], generationConfig={"temperature": 0.5})
    text = message_for(query, [summary(first, id=2), summary(second, id=1)])
    first_part, second_part = text.split("\n", 1)[1].split("\n  2. ")  # after the gist
    assert first_part.count(" here, ") == 14 and "more" not in first_part
    assert second_part.count(" here, ") == 10
    assert "… and 5 more" in second_part


def test_message_for_an_empty_or_missing_cassette() -> None:
    text = miss_message(
        cassette="cassettes/ci.db (does not exist)",
        key="0" * 32,
        mode="replay",
        canon=gem(["hi"]),
        nearest=[],
    )
    assert "cassettes/ci.db (does not exist)" in text
    assert "empty or missing" in text
    assert "LK_MODE=record" in text


def test_message_shows_up_to_three_recordings_with_their_metadata() -> None:
    recordings = [
        summary(gem([f"hello {i}"], model=f"m{i}"), id=i, recorded_at=f"2026-11-2{i}T10:00:00.000Z")
        for i in range(1, 6)
    ]
    text = message_for(gem(["hello"]), recordings)
    assert [
        line[:5] for line in text.splitlines() if line[:5] in ("  1. ", "  2. ", "  3. ", "  4. ")
    ] == ["  1. ", "  2. ", "  3. "]
    assert "gemini generateContent m5, recorded 2026-11-25T10:00:00.000Z" in text


@pytest.mark.parametrize("stream", [False, True])
def test_message_says_what_the_request_was(stream: bool) -> None:
    text = message_for(gem(["hi"], stream=stream), [])
    first = text.splitlines()[0]
    assert "gemini generateContent gemini-2.5-flash" in first
    assert ("stream" in first) is stream


def test_full_message_snapshot(snapshot: Any) -> None:
    """Pins the wording of a whole message; update with `pytest --snapshot-update`."""
    query = gem(
        ["You are a travel agent.", "Hello!", "Plan three days in Lisbon in May"],
        stream=True,
        generationConfig={"temperature": 0.2, "seed": 7},
    )
    recordings = [
        summary(
            gem(
                ["You are a travel agent.", "Hello!", "Plan three days in Porto in May"],
                stream=True,
                generationConfig={"temperature": 0.2, "seed": 7},
            ),
            id=1,
            recorded_at="2026-11-20T09:15:00.000Z",
        ),
        summary(
            gem(
                ["You are a travel agent.", "Hello!"],
                stream=True,
                generationConfig={"temperature": 0.9},
            ),
            id=2,
            recorded_at="2026-11-21T09:15:00.000Z",
            ordinal=1,
        ),
        summary(
            gem(
                ["You are a travel agent.", "Hello!", "Plan three days in Lisbon in May"],
                operation="countTokens",
            ),
            id=3,
            recorded_at="2026-11-22T09:15:00.000Z",
        ),
    ]
    text = message_for(query, recordings)
    assert json.dumps(text)  # one plain string, JSON-safe for the 404 body
    assert text == snapshot


# -- the difference that matters: one tool-schema dialect against the other ----------------------

WEATHER_JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1},
    },
    "required": ["city"],
}
WEATHER_GEMINI_SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "city": {"type": "STRING", "description": "The city"},
        "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "INTEGER", "minimum": 1},
    },
    "required": ["city"],
}


def weather(text: str, schema_key: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    declaration = {"name": "get_weather", "description": "Weather", schema_key: schema}
    return gem([text], tools=[{"functionDeclarations": [declaration]}], **extra)


def test_a_recording_that_differs_only_in_the_schema_dialect_ranks_first() -> None:
    """Leaf by leaf, the other dialect differs in every schema path (13 differences), while a
    recording of another prompt differs in one; but the model gets the same request from both
    dialects, so the dialect twin is the nearest recording, and every difference is shown."""
    query = weather("What is the weather in Paris?", "parametersJsonSchema", WEATHER_JSON_SCHEMA)
    twin = weather("What is the weather in Paris?", "parameters", WEATHER_GEMINI_SCHEMA)
    other_city = weather(
        "What is the weather in Rome?", "parametersJsonSchema", WEATHER_JSON_SCHEMA
    )
    other_city_warm = weather(
        "What is the weather in Oslo?",
        "parametersJsonSchema",
        WEATHER_JSON_SCHEMA,
        generationConfig={"temperature": 0.2},
    )
    recordings = [
        summary(twin, id=1, recorded_at="2026-11-20T10:00:00.000Z"),
        summary(other_city, id=2, recorded_at="2026-11-21T10:00:00.000Z"),
        summary(other_city_warm, id=3, recorded_at="2026-11-22T10:00:00.000Z"),
    ]
    found = NearestIndex(recordings).nearest(query)
    assert [s.id for s, _ in found] == [1, 2, 3]
    assert len(found[0][1]) > 10  # more than a recording's share of the message
    text = message_for(query, recordings)
    first = text.split("\n", 1)[1].split("\n  2. ")[0]  # after the gist
    assert "more" not in first
    assert first.count(" here, ") == len(found[0][1])
    assert "parametersJsonSchema.properties.unit.enum" in first


def test_a_damaged_or_foreign_request_still_compares() -> None:
    """`comparable` leaves what it cannot read alone (no family rules, no body)."""
    odd = {"family": "nope", "operation": "x", "model": None, "stream": False, "body": None}
    assert NearestIndex([summary(odd, id=1)]).nearest(gem(["hi"]))[0][0].id == 1


# -- no secret in a miss message -----------------------------------------------------------------

AWS = "AK" + "IA" + "Q7RZ4W2NB6XKM3PL"  # built in parts: this file must not look like a leak


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (f"my key is {AWS}", "my key is (none)"),
        # Past the preview's start: cut there, a piece of the key would show.
        ("x" * 40 + f" key {AWS} " + "y" * 40, "x" * 40 + " key NONE " + "y" * 40),
        ("a" * 36 + " " + AWS, "a" * 36),
        (json.dumps({"note": f"line\n{AWS}"}), json.dumps({"note": "line"})),
    ],
    ids=["whole", "long", "cut-at-the-preview-end", "json-in-a-string"],
)
def test_the_message_quotes_no_secret_nor_a_piece_of_one(ours: str, theirs: str) -> None:
    query = gem([ours], model="gemini-2.5-flash")
    recorded = gem([theirs], model="gemini-2.5-flash")
    text = message_for(query, [summary(recorded, id=1)])
    assert "[redacted aws-access-key]" in text
    for size in range(8, len(AWS) + 1):
        for start in range(len(AWS) - size + 1):
            assert AWS[start : start + size] not in text, AWS[start : start + size]


def test_a_secret_in_a_structured_value_or_the_model_is_redacted() -> None:
    query = gem(["hi"], model=AWS, generationConfig={"stopSequences": [AWS] * 4})
    recorded = gem(["hi"], model="gemini-2.5-flash")
    text = message_for(query, [summary(recorded, id=1)])
    assert AWS[4:12] not in text and AWS[-8:] not in text
    assert "[redacted aws-access-key]" in text
