"""LK_REDACT's rules (`localaik/wire/redaction.py`): what they replace, the placeholders'
numbers, idempotence, and the rules refused at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner

from localaik.cassette.key import ClientRequest, canonical, canonical_json, request_key
from localaik.cassette.tokens import find_secret
from localaik.cli import cli
from localaik.config import Settings, SettingsError
from localaik.wire.redaction import Redaction, parse_redact

# Token-shaped test data, built from parts so this file does not look like a leaked key.
OPENAI_FIXTURE = "s" + "k-test-a1b2c3d4e5f6g7h8i9j0k1"
OTHER_FIXTURE = "s" + "k-test-zz99yy88xx77ww66vv55"
AWS_FIXTURE = "AK" + "IA" + "TESTFIXTURE23456"
RULES = "/sk-test-[a-z0-9]+/, /AKIA[A-Z2-7]{16,}/"


def redact(body: Any, rules: str = RULES) -> Any:
    return parse_redact(rules).apply(body)


def chat(*contents: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text} for text in contents], **extra}


# -- what is replaced --------------------------------------------------------------------------


def test_regex_replaces_every_match_in_every_string_value() -> None:
    body = chat(
        f"my key is {OPENAI_FIXTURE}, the AWS one {AWS_FIXTURE}",
        tools=[{"function": {"arguments": json.dumps({"key": OPENAI_FIXTURE})}}],
    )
    out = redact(body)
    assert out["messages"][0]["content"] == "my key is <redacted:1>, the AWS one <redacted:2>"
    assert out["tools"][0]["function"]["arguments"] == '{"key": "<redacted:1>"}'
    assert find_secret(json.dumps(out)) is None
    assert find_secret(json.dumps(body)) == "OpenAI key"  # the input is not changed
    assert body["messages"][0]["content"].startswith("my key is s")


def test_keys_numbers_and_other_values_are_left_alone() -> None:
    body = {OPENAI_FIXTURE: 1, "n": 12345, "ok": True, "none": None, "empty": ""}
    assert redact(body, "/[0-9]+/, /sk-test-[a-z0-9]+/") == body


def test_distinct_texts_get_distinct_numbers_and_a_repeat_its_own() -> None:
    out = redact(chat(OPENAI_FIXTURE, OTHER_FIXTURE, f"{OPENAI_FIXTURE} again"))
    assert [m["content"] for m in out["messages"]] == [
        "<redacted:1>",
        "<redacted:2>",
        "<redacted:1> again",
    ]


def test_numbers_follow_sorted_keys_not_the_order_a_client_sent() -> None:
    one = {"system": OTHER_FIXTURE, "messages": [{"content": OPENAI_FIXTURE}]}
    other = {"messages": [{"content": OPENAI_FIXTURE}], "system": OTHER_FIXTURE}
    assert redact(one) == redact(other)
    assert redact(one)["messages"][0]["content"] == "<redacted:1>"  # "messages" < "system"
    assert list(redact(one)) == ["system", "messages"]  # the body keeps its own order


def test_a_short_secret_leaves_no_trace_in_its_placeholder() -> None:
    """Numbers, not hashes: two PINs give the same redacted body, so it cannot tell them."""
    rules = "/PIN [0-9]{4}/"
    assert redact(chat("PIN 1234"), rules) == redact(chat("PIN 9876"), rules)


def test_path_replaces_the_whole_string_it_names() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hello", "name": "Ada"},
            {"role": "user", "content": [{"type": "text", "text": "part"}]},
        ],
        "metadata": {"email": "ada@example.com", "n": 3},
    }
    out = redact(body, "$.messages[*].content, $.metadata.*, $.messages[1].content[*].text")
    assert out["messages"][0] == {"role": "user", "content": "<redacted:1>", "name": "Ada"}
    # A path to an array redacts nothing: the strings inside it are named by their own path.
    assert out["messages"][1]["content"] == [{"type": "text", "text": "<redacted:2>"}]
    assert out["metadata"] == {"email": "<redacted:3>", "n": 3}


def test_a_path_to_nothing_is_no_error() -> None:
    body = chat("hello")
    assert redact(body, '$.nowhere[3].deeper, $["odd key"]') == body


def test_path_and_regex_share_the_numbers() -> None:
    body = {"a": OPENAI_FIXTURE, "b": f"see {OPENAI_FIXTURE}"}
    assert redact(body, f"$.a, {RULES}") == {"a": "<redacted:1>", "b": "see <redacted:1>"}


@pytest.mark.parametrize(
    "rules", [RULES, "/[0-9]+/", "/redacted/", "/<[^>]+>/", "$.messages[*].content, /:/"]
)
def test_redacting_twice_changes_nothing(rules: str) -> None:
    """`cassette verify` rebuilds a request from its redacted recording: it must keep its key."""
    body = chat(f"a {OPENAI_FIXTURE} b 42", f"{AWS_FIXTURE}: <x> redacted 7")
    once = redact(body, rules)
    assert once != body
    assert redact(once, rules) == once


def test_no_rules_is_falsy_and_gives_the_body_itself() -> None:
    body = chat("hello")
    assert not parse_redact("")
    assert not parse_redact(" , \n")
    assert Redaction().apply(body) is body


# -- the key ------------------------------------------------------------------------------------


def key_of(body: dict[str, Any], rules: str = RULES) -> str:
    request = ClientRequest("openai", "chat.completions", "gpt-4o-mini", False, redact(body, rules))
    return request_key(canonical_json(canonical(request)))


def test_the_same_request_has_the_same_key_and_another_text_another() -> None:
    assert key_of(chat(OPENAI_FIXTURE)) == key_of(chat(OPENAI_FIXTURE))
    # Another fixture in the same place: the same key (the placeholder is all the key sees).
    assert key_of(chat(OPENAI_FIXTURE)) == key_of(chat(OTHER_FIXTURE))
    assert key_of(chat(OPENAI_FIXTURE, OPENAI_FIXTURE)) != key_of(
        chat(OPENAI_FIXTURE, OTHER_FIXTURE)
    )


def test_the_key_is_the_same_in_another_process() -> None:
    """No hash seed, set order or machine state enters the placeholders."""
    code = (
        "import json, sys\n"
        "from tests.unit.test_redaction import key_of, chat, OPENAI_FIXTURE, OTHER_FIXTURE\n"
        "print(key_of(chat(OTHER_FIXTURE, OPENAI_FIXTURE, OTHER_FIXTURE)))\n"
    )
    keys = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        keys.add(done.stdout.strip())
    assert keys == {key_of(chat(OTHER_FIXTURE, OPENAI_FIXTURE, OTHER_FIXTURE))}


# -- the rules' syntax ---------------------------------------------------------------------------


def test_regex_syntax_commas_slashes_classes_flags_and_lines() -> None:
    redaction = parse_redact("/a{2,}/, /x\\/y/\n/[^/]z/ ,/secret-[a-z]+/i,\n$.path.to[0]")
    assert [p.pattern for p in redaction.patterns] == ["a{2,}", "x\\/y", "[^/]z", "secret-[a-z]+"]
    assert redaction.paths == (("path", "to", 0),)
    assert redaction.apply({"t": "aaa x/y yz /z SECRET-Abc"}) == {
        "t": "<redacted:1> <redacted:2> <redacted:3> /z <redacted:4>"
    }


def test_dotall_and_multiline_flags() -> None:
    assert redact({"t": "BEGIN\nx\nEND"}, "/BEGIN.*END/s") == {"t": "<redacted:1>"}
    assert redact({"t": "a\nkey: 1\n"}, "/^key: .+$/m") == {"t": "a\n<redacted:1>\n"}


@pytest.mark.parametrize(
    ("rules", "says"),
    [
        ("/[a-/", "no closing '/'"),
        ("/(a/", "not a valid regular expression"),
        ("/sk-test", "no closing '/'"),
        ("/a*/", "can match empty text"),
        ("//", "can match empty text"),
        ("/x?/", "can match empty text"),
        ("/\\b/", "can match empty text"),
        ("/^/", "can match empty text"),
        ("/(?=a)/", "can match empty text"),
        ("/a|/", "can match empty text"),
        ("/abc/q", "the flag 'q'"),
        ("/abc/#x", "expected ','"),
        ("sk-test-\\w+", "neither a regular expression"),
        ("messages[*].content", "neither a regular expression"),
        ("$.messages[", "is not valid at character"),
        ("$", "names the whole body"),
        ("$.a.", "cannot end with '.'"),
    ],
)
def test_bad_rules_fail_at_start_naming_lk_redact(rules: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load({"LK_REDACT": f"/ok-[a-z]+/, {rules}"})
    message = str(caught.value)
    assert message.startswith("LK_REDACT")
    assert says in message
    assert "\n" not in message


def test_good_rules_load() -> None:
    assert Settings.load({"LK_REDACT": RULES}).redact == RULES
    assert Settings.load({}).redact == ""


def test_serve_with_a_bad_rule_exits_2_with_one_line_naming_it() -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"LK_REDACT": "/(unclosed/"})
    assert result.exit_code == 2
    [line] = [line for line in result.output.splitlines() if "LK_REDACT" in line]
    assert line.startswith("Error: LK_REDACT: the rule '/(unclosed/' is not a valid regular")
    assert "Traceback" not in result.output
