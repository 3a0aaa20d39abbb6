"""Property-based fuzzing of request bodies (hypothesis): no malformed request gets a 5xx.

The app runs in-process in replay mode on a cassette that holds a recording of each route's
full-featured request (`families.ROUTES`), so every request goes through parsing, validation,
translation checks, the key, the lookup and, on a miss, the nearest-match diagnosis against
recordings that look like it. Nothing reaches an upstream (there is none), so every status is
localaik's own: 200 (a hit), 400, 404 (a miss) or 413, never 5xx, and every error is JSON in
the family's shape.

Bodies come three ways: arbitrary bytes, arbitrary JSON documents, and the templates with a few
of their values replaced, removed or added (the near-valid requests that reach deepest).
"""

from __future__ import annotations

import copy
import json
import os
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from localaik.config import Settings
from localaik.server.app import create_app
from tests.app.conftest import FAKE_UPSTREAM, FakeTransport
from tests.fakes.fake_llama import make_app
from tests.reliability.families import FAMILIES, ROUTES, Route

# Deterministic in CI (a red build is then reproducible), exploring anew on a developer's run.
EXAMPLES = int(os.environ.get("LOCALAIK_TEST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


KNOWN_KEYS = sorted(
    {key for route in ROUTES.values() for key in _keys(route.template)}
    | {"role", "text", "data", "mimeType", "fileData", "fileUri", "prompt"}
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "user",
            "model",
            "assistant",
            "tool",
            "system",
            "robot",
            "image/png",
            "application/pdf",
            "text/plain",
            "ANY",
            "NONE",
            "OBJECT",
            "STRING",
            "data:image/png;base64,!!",
            "file:///x",
            "\u0000",
            "\ud7ff\ue000",
            "sk-" + "a" * 30,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=24,
)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a document: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, item in items:
            found.append((node, key))
            stack.append(item)
    return found


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    """The template with one to four values replaced, deleted, or new keys inserted."""
    body = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(body)
        if not slots:
            break
        node, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "delete", "insert"]))
        if action == "replace":
            node[key] = draw(json_values)
        elif action == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8))] = draw(json_values)
        else:
            node.insert(key, draw(json_values))
    return body


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    cassette = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    fake = make_app()
    for mode in ("record", "replay"):
        upstream = httpx.AsyncClient(transport=FakeTransport(fake), base_url="http://fake")
        app = create_app(
            Settings(log=False, upstream=FAKE_UPSTREAM, mode=mode, cassette=cassette),
            client=upstream,
        )
        with TestClient(app, timeout=30) as test_client:
            if mode == "record":
                for route in ROUTES.values():
                    response = test_client.post(route.path, json=route.template)
                    assert response.status_code == 200, response.text
                continue
            requests_before = len(fake.requests)
            yield test_client
            assert len(fake.requests) == requests_before, "replay mode reached the upstream"


def check(
    client: TestClient[Any], route: Route, content: bytes, headers: dict[str, Any] | None = None
) -> None:
    response = client.post(
        route.path, content=content, headers={"content-type": "application/json", **(headers or {})}
    )
    assert response.status_code in (200, 400, 404, 413), (
        response.status_code,
        response.text,
        content[:300],
    )
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/json"
        FAMILIES[route.family].shape(response.json(), response.status_code)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


ROUTE_NAMES = list(ROUTES)


@pytest.mark.parametrize("name", ROUTE_NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_requests_never_get_a_5xx(
    client: TestClient[Any], name: str, data: st.DataObject
) -> None:
    route = ROUTES[name]
    check(client, route, dumps(data.draw(mutated(route.template))))


@pytest.mark.parametrize("name", ROUTE_NAMES)
@FUZZ
@given(document=json_values)
def test_arbitrary_json_never_gets_a_5xx(client: TestClient[Any], name: str, document: Any) -> None:
    check(client, ROUTES[name], dumps(document))


@pytest.mark.parametrize("name", ["gemini-generate", "openai-chat"])
@FUZZ
@given(
    content=st.binary(max_size=300)
    | st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass"))
)
def test_arbitrary_bytes_never_get_a_5xx(
    client: TestClient[Any], name: str, content: bytes
) -> None:
    check(client, ROUTES[name], content)


@pytest.mark.parametrize("name", ["gemini-generate", "openai-chat"])
@FUZZ
@given(cassette=st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40))
def test_any_cassette_name_never_gets_a_5xx(
    client: TestClient[Any], name: str, cassette: str
) -> None:
    route = ROUTES[name]
    check(
        client,
        route,
        dumps(route.template),
        headers={"x-localaik-cassette": cassette.encode("latin-1")} if cassette.strip() else {},
    )


@FUZZ
@given(
    model=st.text(max_size=30),
    action=st.sampled_from(
        ["generateContent", "streamGenerateContent", "countTokens", "embedContent", ""]
    ),
)
def test_any_model_path_never_gets_a_5xx(client: TestClient[Any], model: str, action: str) -> None:
    path = "/v1beta/models/" + urllib.parse.quote(model, safe="") + ":" + action
    route = Route("gemini", path, ROUTES["gemini-generate"].template)
    check(client, route, dumps(route.template))


def test_the_templates_replay(client: TestClient[Any]) -> None:
    """The fuzzing starts from requests that are valid: each replays its recording."""
    for route in ROUTES.values():
        assert client.post(route.path, json=route.template).status_code == 200
