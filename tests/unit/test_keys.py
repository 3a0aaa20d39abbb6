"""Golden keys: fixed requests -> fixed canonical text and key, one JSON file per case.

Each file under `tests/golden/keys/` holds a request (`family`, `operation`, `model`, `stream`,
`body`), optional LK_IGNORE text, the expected canonical JSON text, written by hand from the
rules in `localaik/normalize.py`, and the key of that text. Any change to normalisation or to
the hash changes a file here and shows up in review; it also means old cassettes miss.

`wire_*` cases are requests the official SDKs sent (copied from the captured wire samples in
`tests/golden/wire-samples/`, with the path and the SDK's identifying headers kept under
`sample` for provenance), or a captured request rewritten by hand the way the other SDK spells
it (`sample.built_from`).
`SAME_KEY` lists the cases that are one logical request from different SDKs, SDK versions,
sync/async clients or API versions: their headers differ, their keys must not. Headers are
simply not an input: `ClientRequest` has no field for them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from localaik.cassette.key import (
    ClientRequest,
    canonical,
    canonical_json,
    parse_ignore,
    request_key,
)

KEYS = Path(__file__).resolve().parent.parent / "golden" / "keys"
WIRE_SAMPLES = Path(__file__).resolve().parent.parent / "golden" / "wire-samples"
CASES = sorted(path.stem for path in KEYS.glob("*.json"))

REQUIRED = {"description", "request", "canonical", "key"}
OPTIONAL = {"ignore", "sample"}

SAME_KEY = [
    # Python (aiohttp) and JS, captured: "hi"
    ("wire_aio_text", "wire_js_g_envvar", "wire_js_g_text_default_version"),
    # google-genai 3.6.1 and 3.3.0: only the version in user-agent/x-goog-api-client differs
    ("wire_g_text", "wire_g_text_as_3_3_0"),
    # /v1/ and /v1beta/ paths
    ("wire_g_envvar_default_version", "wire_g_envvar_v1beta"),
    # streamGenerateContent?alt=sse, Python and JS, captured
    ("wire_py_g_frame_lf", "wire_js_g_frame_lf"),
    ("wire_g_stream", "wire_g_stream_as_js"),
    ("wire_g_count_tokens", "wire_g_count_tokens_as_js"),
    # snake mime_type / file_uri (Python) and camelCase (JS)
    ("wire_g_image_inline", "wire_g_image_inline_as_js"),
    ("wire_js_g_inline", "wire_js_g_inline_as_python"),
    # topK 40 (JS) and 40.0 (Python)
    ("wire_js_g_text", "wire_js_g_text_as_python"),
    ("wire_g_genconfig", "wire_g_genconfig_as_js"),
    # parameters_json_schema and "generationConfig": {} (Python) and camelCase, absent (JS)
    ("wire_g_tools_json_schema_decl", "wire_g_tools_json_schema_decl_as_js"),
    # user-agent google-genai-sdk/3.6.1 and google-genai-sdk/3.6.1+afc
    ("wire_g_tools_python_callable_afc_off", "wire_g_tools_python_callable_afc_on"),
    # GET models/{m}, Python and JS, captured
    ("wire_g_models_get", "wire_js_g_get"),
    # OpenAI Python: sync, async (AsyncOpenAI/Python user-agent), base URL from the environment
    ("wire_o_chat", "wire_o_async_chat", "wire_o_envvar"),
    # OpenAI JS and Python
    ("wire_js_o_chat", "wire_js_o_chat_as_python"),
    # embeddings: encoding_format base64 (the SDK's default), float, or none (curl)
    ("wire_o_embed_default", "wire_o_embed_default_as_float", "wire_o_embed_default_as_curl"),
    # batchEmbedContents with and without each item's model, camelCase and snake_case
    ("wire_g_embed", "wire_g_embed_as_curl"),
    ("wire_js_g_embed", "wire_js_g_embed_as_python"),
]


def load(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((KEYS / f"{name}.json").read_text(encoding="utf-8"))
    return case


def computed_canonical(case: dict[str, Any]) -> str:
    request = ClientRequest(**case["request"])
    return canonical_json(canonical(request, parse_ignore(case.get("ignore", ""))))


def user_agent(case: dict[str, Any]) -> str:
    headers = {name.lower(): value for name, value in case["sample"]["headers"].items()}
    return str(headers["user-agent"])


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_case_file_shape(name: str) -> None:
    case = load(name)
    assert REQUIRED <= case.keys() <= REQUIRED | OPTIONAL, name
    assert set(case["request"]) == {"family", "operation", "model", "stream", "body"}
    assert case["key"] == case["key"].lower() and len(case["key"]) == 32


@pytest.mark.parametrize("name", CASES)
def test_canonical_text(name: str) -> None:
    case = load(name)
    assert computed_canonical(case) == case["canonical"]


@pytest.mark.parametrize("name", CASES)
def test_key(name: str) -> None:
    case = load(name)
    assert request_key(case["canonical"]) == case["key"]
    assert request_key(computed_canonical(case)) == case["key"]


# -- the same logical request gives the same key -----------------------------------------------


@pytest.mark.parametrize("group", SAME_KEY, ids=lambda group: group[0])
def test_same_logical_request_same_key(group: tuple[str, ...]) -> None:
    cases = [load(name) for name in group]
    assert len({case["key"] for case in cases}) == 1, "the files disagree"
    assert len({request_key(computed_canonical(case)) for case in cases}) == 1


@pytest.mark.parametrize("group", SAME_KEY, ids=lambda group: group[0])
def test_each_group_really_differs_on_the_wire(group: tuple[str, ...]) -> None:
    """Each group differs in headers, path or body bytes somewhere: or it would prove nothing.

    (Some members are byte-identical on the wire: a base URL from the environment or from
    code sends the same request.)
    """
    cases = [load(name) for name in group]
    wire = {
        (
            json.dumps(case["sample"]["headers"], sort_keys=True),
            case["sample"]["path"],
            json.dumps(case["request"]["body"]),
        )
        for case in cases
    }
    assert len(wire) > 1


def test_samples_with_different_user_agents_share_a_key() -> None:
    pairs = 0
    for group in SAME_KEY:
        cases = [load(name) for name in group]
        if len({user_agent(case) for case in cases}) > 1:
            pairs += 1
            assert len({case["key"] for case in cases}) == 1
    assert pairs >= 10


def test_sdk_versions_differ_only_in_headers() -> None:
    new, old = load("wire_g_text"), load("wire_g_text_as_3_3_0")
    assert "3.6.1" in user_agent(new) and "3.3.0" in user_agent(old)
    assert new["request"] == old["request"] and new["key"] == old["key"]


def test_client_request_has_no_header_or_query_field() -> None:
    """Headers and query strings can never enter the key: there is nowhere to put them."""
    fields = {field.name for field in dataclasses.fields(ClientRequest)}
    assert fields == {"family", "operation", "model", "stream", "body"}


def test_different_requests_have_different_keys() -> None:
    """No two cases share a key unless SAME_KEY says they are one request."""
    groups = {name: group for group in SAME_KEY for name in group}
    by_key: dict[str, set[str]] = {}
    for name in CASES:
        by_key.setdefault(load(name)["key"], set()).add(name)
    for names in by_key.values():
        if len(names) > 1:
            first = next(iter(names))
            assert names <= set(groups.get(first, ())), names


# -- where the wire cases come from -----------------------------------------------------------


def route(method: str, path: str, body: Any) -> tuple[str, str, str | None, bool]:
    """(family, operation, model, stream) from the method and path alone, as the routes do."""
    parts = path.strip("/").split("/")
    if parts[1:2] == ["models"] and (method == "GET" or ":" in parts[-1]):
        if method == "GET":
            return (
                ("gemini", "models.get", parts[2], False)
                if len(parts) > 2
                else ("gemini", "models.list", None, False)
            )
        model, _, action = parts[2].rpartition(":")
        if action == "streamGenerateContent":
            return "gemini", "generateContent", model, True
        return "gemini", action, model, False
    operation = {"chat/completions": "chat.completions", "embeddings": "embeddings"}[
        "/".join(parts[1:])
    ]
    return "openai", operation, body.get("model"), body.get("stream") is True


@pytest.mark.parametrize("name", [name for name in CASES if name.startswith("wire_")])
def test_wire_case_fields_follow_from_path_and_body(name: str) -> None:
    case = load(name)
    sample, request = case["sample"], case["request"]
    assert route(sample["method"], sample["path"], request["body"]) == (
        request["family"],
        request["operation"],
        request["model"],
        request["stream"],
    )


@pytest.mark.parametrize("name", [name for name in CASES if name.startswith("wire_")])
def test_wire_case_matches_its_captured_sample(name: str) -> None:
    case = load(name)
    sample = case["sample"]
    source = sample.get("file") or sample["built_from"].split("#")[0]
    captured = json.loads((WIRE_SAMPLES / source).read_text())["requests"][sample.get("index", 0)]
    if "file" in sample:
        assert case["request"]["body"] == captured["body"]
        assert sample["headers"].items() <= captured["headers"].items()
        assert (sample["method"], sample["path"], sample["query"]) == (
            captured["method"],
            captured["path"],
            captured["query"],
        )
    else:
        # Built by hand from the captured request: same route, a rewritten spelling.
        assert (sample["method"], sample["path"]) == (captured["method"], captured["path"])
