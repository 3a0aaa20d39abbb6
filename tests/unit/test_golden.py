"""Golden-file tests of the pure Gemini <-> OpenAI translation functions.

Each case is one JSON file under `tests/golden/<kind>/`; adding a case is adding a file.

- `gemini_request/`: a GenerateContentRequest as an SDK sends it -> the OpenAI chat request sent
  upstream (`expected`), or the error it must raise (`expected_error`).
- `gemini_response/`: an upstream chat.completion -> the GenerateContentResponse.
- `gemini_stream/`: upstream chat.completion.chunk objects -> every Gemini chunk, in order.
- `schema/`: a Gemini `Schema` -> JSON Schema.

Expected values are written from the reference docs and the project's decisions, not copied
from the code's output. Besides `==` (which gives pytest's diff), values are compared as
sorted-key JSON text, so `40` and `40.0` differ, and the order of every `properties` object
(which llama.cpp follows when it generates JSON) is compared, since dict equality ignores it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from localaik import errors
from localaik.config import Settings
from localaik.errors import BadRequest
from localaik.families.gemini import request as gemini_request
from localaik.families.gemini import response as gemini_response
from localaik.families.gemini.casing import camelize_request, camelize_schema
from localaik.families.gemini.schema import gemini_schema_to_json_schema
from localaik.families.streaming import UsageFirst
from localaik.media.local import LocalMedia
from localaik.upstream.chunks import stream_usage

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
KINDS = ("gemini_request", "gemini_response", "gemini_stream", "schema")

# Keys each kind of case must have, and keys it may have.
REQUIRED = {
    "gemini_request": {"description", "request"},
    "gemini_response": {"description", "path_model", "upstream"},
    "gemini_stream": {"description", "path_model", "upstream_chunks", "expected"},
    "schema": {"description", "gemini", "expected"},
}
OPTIONAL = {
    "gemini_request": {"stream", "expected", "expected_error"},
    "gemini_response": {"request", "expected", "expected_error"},
    "gemini_stream": {"request"},
    "schema": set(),
}
# Cases with an outcome that is either `expected` or `expected_error`, never both.
ONE_OUTCOME = {"gemini_request", "gemini_response"}

# The same logical request as Python and as JS spell it: they must translate identically.
SPELLING_PAIRS = [
    ("inline_image_python", "inline_image_js"),
    ("generation_config_all_fields_python", "generation_config_all_fields_js"),
    ("function_declarations_json_schema_python", "function_declarations_json_schema_js"),
]

FAKE_PAGES = [b"page1", b"page2"]


class GoldenMedia:
    """`translate.media.Media` for the tests: fixed fake pages for any PDF; local files go
    through localaik's real policy with LK_FILES_ROOT unset, so every read is refused."""

    def __init__(self) -> None:
        self.local = LocalMedia(Settings())

    def pdf_pages(self, data: bytes, where: str) -> list[bytes]:
        if not data.startswith(b"%PDF-"):
            raise BadRequest(f"{where}: the test renderer was given bytes that are not a PDF")
        return list(FAKE_PAGES)

    def read_local(self, uri: str, where: str) -> bytes:
        return self.local.read_local(uri, where)


def _files(kind: str) -> list[Path]:
    return sorted((GOLDEN / kind).glob("*.json"))


def _params(kind: str) -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in _files(kind)]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _property_orders(value: Any, at: str = "$") -> list[tuple[str, list[str]]]:
    """(path, property names in order) for every `properties` object inside `value`."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "properties" and isinstance(item, dict):
                found.append((f"{at}.properties", list(item)))
            found.extend(_property_orders(item, f"{at}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_property_orders(item, f"{at}[{i}]"))
    return found


def _canonical(value: Any) -> str:
    """JSON text with sorted keys: unlike `==`, it tells 40 from 40.0 and true from 1."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _assert_same(actual: Any, expected: Any) -> None:
    assert actual == expected
    assert _canonical(actual) == _canonical(expected), "same values, different JSON types"
    assert _property_orders(actual) == _property_orders(expected), "properties out of order"


def _assert_error(exc: errors.Error, expected: dict[str, Any]) -> None:
    assert exc.status == expected["status"], exc.message
    if "type" in expected:
        assert type(exc).__name__ == expected["type"], exc.message
    assert expected["message_contains"] in exc.message


def _translate_request(case: dict[str, Any]) -> dict[str, Any]:
    return gemini_request.gemini_request_to_openai(
        camelize_request(case["request"]),
        upstream_model="localaik",
        stream=case.get("stream", False),
        media=GoldenMedia(),
    )


def _context(case: dict[str, Any]) -> gemini_response.GeminiContext:
    return gemini_response.context_for(
        camelize_request(case.get("request", {})), case["path_model"]
    )


# ---------------------------------------------------------------------------------------------
# The cases


@pytest.mark.parametrize("path", _params("gemini_request"))
def test_gemini_request(path: Path) -> None:
    case = _load(path)
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            _translate_request(case)
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(_translate_request(case), case["expected"])


@pytest.mark.parametrize("path", _params("gemini_response"))
def test_gemini_response(path: Path) -> None:
    case = _load(path)
    ctx = _context(case)
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            gemini_response.openai_response_to_gemini(case["upstream"], ctx)
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(
            gemini_response.openai_response_to_gemini(case["upstream"], ctx), case["expected"]
        )


@pytest.mark.parametrize("path", _params("gemini_stream"))
def test_gemini_stream(path: Path) -> None:
    case = _load(path)
    live = _gemini_stream(case, ahead=False)
    _assert_same(live, case["expected"])
    # A replay knows the usage before the first chunk; a live stream holds them until it
    # comes: the client gets the same chunks either way.
    assert _gemini_stream(case, ahead=True) == live


def as_frames(chunks: list[Any]) -> list[bytes]:
    """Upstream chunks as the SSE frames a recording holds."""
    return [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]


def _gemini_stream(case: dict[str, Any], *, ahead: bool) -> list[dict[str, Any]]:
    upstream = case["upstream_chunks"]
    usage = stream_usage(as_frames(upstream)) if ahead else None
    stream = UsageFirst(gemini_response.GeminiStream(_context(case)), usage, hold=True)
    chunks: list[dict[str, Any]] = []
    for upstream_chunk in upstream:
        chunks.extend(stream.feed(upstream_chunk))
    chunks.extend(stream.finish())
    return chunks


@pytest.mark.parametrize("path", _params("schema"))
def test_schema(path: Path) -> None:
    case = _load(path)
    _assert_same(gemini_schema_to_json_schema(camelize_schema(case["gemini"])), case["expected"])


# ---------------------------------------------------------------------------------------------
# The case files themselves


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=f"{kind}/{p.stem}") for kind in KINDS for p in _files(kind)]
)
def test_case_file_is_well_formed(path: Path) -> None:
    kind = path.parent.name
    case = _load(path)
    assert isinstance(case, dict)
    keys = set(case)
    assert REQUIRED[kind] <= keys, f"missing keys: {sorted(REQUIRED[kind] - keys)}"
    assert keys <= REQUIRED[kind] | OPTIONAL[kind], (
        f"unknown keys: {sorted(keys - REQUIRED[kind] - OPTIONAL[kind])}"
    )
    assert isinstance(case["description"], str) and case["description"]
    if kind in ONE_OUTCOME:
        assert ("expected" in case) != ("expected_error" in case), (
            "a case needs exactly one of expected and expected_error"
        )
    if "expected_error" in case:
        error = case["expected_error"]
        assert isinstance(error.get("status"), int)
        assert isinstance(error.get("message_contains"), str) and error["message_contains"]
        assert set(error) <= {"status", "type", "message_contains"}
    if kind == "gemini_request":
        assert isinstance(case["request"], dict)
        assert isinstance(case.get("stream", False), bool)
    if kind == "gemini_stream":
        assert isinstance(case["upstream_chunks"], list) and case["upstream_chunks"]
        assert isinstance(case["expected"], list) and case["expected"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_cases(kind: str) -> None:
    assert _files(kind), f"no golden cases in {GOLDEN / kind}"


@pytest.mark.parametrize(
    ("python_case", "js_case"), SPELLING_PAIRS, ids=[f"{a}-vs-{b}" for a, b in SPELLING_PAIRS]
)
def test_python_and_js_spellings_translate_identically(python_case: str, js_case: str) -> None:
    python = _load(GOLDEN / "gemini_request" / f"{python_case}.json")
    js = _load(GOLDEN / "gemini_request" / f"{js_case}.json")
    assert _canonical(python["request"]) != _canonical(js["request"]), (
        "the pair must differ in spelling"
    )
    assert _canonical(python["expected"]) == _canonical(js["expected"])
    assert _canonical(_translate_request(python)) == _canonical(_translate_request(js))


def test_fake_pages_are_the_pdf_case_images() -> None:
    # The inline_pdf case spells the fake pages out as data URIs: keep the two in step.
    case = _load(GOLDEN / "gemini_request" / "inline_pdf.json")
    urls = [
        part["image_url"]["url"]
        for part in case["expected"]["messages"][0]["content"]
        if part["type"] == "image_url"
    ]
    assert urls == [
        "data:image/png;base64," + base64.b64encode(page).decode() for page in FAKE_PAGES
    ]
