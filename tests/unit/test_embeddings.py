"""The pure embeddings translation (`localaik.translate.embeddings`): golden cases, and the
properties the cases cannot show one by one.

Each file under `tests/golden/embeddings/` is one case: a client request (`family` openai or
gemini, `action`, `path_model` for Gemini), then either the error it must raise before anything
goes upstream (`expected_error` without `upstream`), or the upstream request it gives
(`upstream_request`), an upstream `/embeddings` answer (`upstream`) and what the client gets
(`expected`) or the error the answer must raise (`expected_error`). Expected values come from
the wire reference (wire.md §3.6, §4.4) and the decisions in the module's docstring, worked out
by hand (e.g. [3, 4] shortened to unit length is [0.6, 0.8]), not copied from the code's output.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from localaik import errors
from localaik.families.gemini import embeddings as gemini_embeddings
from localaik.families.gemini.casing import camelize_request
from localaik.families.openai import embeddings as openai_embeddings
from localaik.upstream import embeddings as upstream_embeddings

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "embeddings"
CASES = sorted(GOLDEN.glob("*.json"))
REQUIRED = {"description", "family", "action", "request"}
OPTIONAL = {"path_model", "upstream_request", "upstream", "expected", "expected_error"}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(value: Any) -> str:
    """Sorted-key JSON: tells 1 from 1.0, which `==` does not."""
    return json.dumps(value, sort_keys=True)


def _translate_request(case: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if case["family"] == "openai":
        body = openai_embeddings.validate_openai_request(case["request"])
        return body, openai_embeddings.openai_upstream_body(body)
    items = gemini_embeddings.gemini_items(
        camelize_request(case["request"]), case["action"], case["path_model"]
    )
    return items, gemini_embeddings.gemini_upstream_body(items, "localaik")


def _translate_response(case: dict[str, Any], parsed: Any) -> dict[str, Any]:
    if case["family"] == "openai":
        return openai_embeddings.openai_response(
            case["upstream"], parsed, parsed.get("model") or None
        )
    return gemini_embeddings.gemini_response(case["upstream"], parsed, case["action"])


def _assert_error(exc: errors.Error, expected: dict[str, Any]) -> None:
    assert exc.status == expected["status"], exc.message
    if "type" in expected:
        assert type(exc).__name__ == expected["type"], exc.message
    assert expected["message_contains"] in exc.message


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in CASES])
def test_golden_case(path: Path) -> None:
    case = _load(path)
    if "upstream" not in case:
        with pytest.raises(errors.Error) as caught:
            _translate_request(case)
        _assert_error(caught.value, case["expected_error"])
        return
    parsed, upstream_request = _translate_request(case)
    assert upstream_request == case["upstream_request"]
    assert _text(upstream_request) == _text(case["upstream_request"])
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            _translate_response(case, parsed)
        _assert_error(caught.value, case["expected_error"])
        return
    answer = _translate_response(case, parsed)
    assert answer == case["expected"]
    assert _text(answer) == _text(case["expected"])


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in CASES])
def test_case_file_is_well_formed(path: Path) -> None:
    case = _load(path)
    assert REQUIRED <= set(case) <= REQUIRED | OPTIONAL, sorted(set(case) ^ REQUIRED)
    assert case["family"] in ("openai", "gemini")
    assert ("expected" in case) != ("expected_error" in case)
    assert ("upstream" in case) == ("upstream_request" in case)
    if case["family"] == "gemini":
        assert case["action"] in ("embedContent", "batchEmbedContents") and case["path_model"]
    else:
        assert case["action"] == "embeddings"


def test_there_are_cases_of_every_kind() -> None:
    cases = [_load(path) for path in CASES]
    for family in ("openai", "gemini"):
        mine = [c for c in cases if c["family"] == family]
        assert any("expected" in c for c in mine)
        assert any("expected_error" in c and "upstream" not in c for c in mine)
        assert any("expected_error" in c and "upstream" in c for c in mine)


def test_python_and_snake_case_spellings_translate_identically() -> None:
    python = _load(GOLDEN / "gemini_batch_python.json")
    snake = _load(GOLDEN / "gemini_batch_snake_case.json")
    assert _text(python["request"]) != _text(snake["request"])
    assert _translate_request(python) == _translate_request(snake)


# ---------------------------------------------------------------------------------------------
# Properties


def _openai_answer(vector: list[float], **request: Any) -> dict[str, Any]:
    body = openai_embeddings.validate_openai_request({"input": "x", **request})
    upstream = {"data": [{"embedding": vector, "index": 0}]}
    return openai_embeddings.openai_response(upstream, body, None)


@pytest.mark.parametrize(
    "vector",
    [
        [0.1, 0.2, 0.3],
        [-0.01275787502527237, -0.018819492310285568, 0.0010401918552815914],  # llama-server's
        [1e-30, -3.4e38, 0.0, -0.0, 1.0],
    ],
)
def test_base64_is_the_float_answer_as_little_endian_float32(vector: list[float]) -> None:
    floats = _openai_answer(vector, encoding_format="float")["data"][0]["embedding"]
    packed = _openai_answer(vector, encoding_format="base64")["data"][0]["embedding"]
    raw = base64.b64decode(packed)
    assert len(raw) == 4 * len(vector)
    assert list(struct.unpack(f"<{len(vector)}f", raw)) == [
        struct.unpack("<f", struct.pack("<f", x))[0] for x in floats
    ]


def test_a_value_beyond_float32_is_a_bad_upstream_answer() -> None:
    with pytest.raises(errors.UpstreamBadResponse, match="float32"):
        _openai_answer([1e300], encoding_format="base64")


def test_openai_dimensions_give_unit_vectors() -> None:
    vector = [0.3, -0.1, 0.7, 0.2, -0.5, 0.05]
    for size in range(1, len(vector) + 1):
        short = _openai_answer(vector, dimensions=size)["data"][0]["embedding"]
        assert len(short) == size
        assert math.isclose(math.sqrt(sum(x * x for x in short)), 1.0, rel_tol=1e-12)
        # the direction of the first `size` values is kept
        scale = short[0] / vector[0]
        assert all(
            math.isclose(a, b * scale, rel_tol=1e-12)
            for a, b in zip(short, vector[:size], strict=True)
        )


def test_gemini_output_dimensionality_keeps_the_values_as_they_are() -> None:
    vector = [0.3, -0.1, 0.7, 0.2]
    items = gemini_embeddings.gemini_items(
        {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 2}, "embedContent", "m"
    )
    answer = gemini_embeddings.gemini_response(
        {"data": [{"embedding": vector, "index": 0}]}, items, "embedContent"
    )
    assert answer == {"embedding": {"values": [0.3, -0.1]}}


def test_a_batch_holds_at_most_100_requests() -> None:
    one = {"content": {"parts": [{"text": "x"}]}}
    assert (
        len(gemini_embeddings.gemini_items({"requests": [one] * 100}, "batchEmbedContents", "m"))
        == 100
    )
    with pytest.raises(errors.BadRequest, match="at most 100 requests can be in one batch"):
        gemini_embeddings.gemini_items({"requests": [one] * 101}, "batchEmbedContents", "m")


def test_openai_input_holds_at_most_2048_items() -> None:
    assert openai_embeddings.openai_inputs(["x"] * 2048) == 2048
    with pytest.raises(errors.BadRequest, match="at most 2048"):
        openai_embeddings.openai_inputs(["x"] * 2049)


def test_an_upstream_base64_answer_is_read_as_float32() -> None:
    upstream = {"data": [{"embedding": "zczMPc3MTD6amZk+", "index": 0}]}
    vectors, usage = upstream_embeddings.upstream_vectors(upstream, 1)
    assert vectors == [[struct.unpack("<f", struct.pack("<f", x))[0] for x in (0.1, 0.2, 0.3)]]
    assert usage == {"prompt_tokens": 0, "total_tokens": 0}


@pytest.mark.parametrize(
    "data",
    [
        [{"embedding": [1.0], "index": 0}, {"embedding": [1.0], "index": 0}],  # one index twice
        [{"embedding": [1.0], "index": 0}, {"embedding": [1.0], "index": 5}],  # out of range
        [{"embedding": [], "index": 0}, {"embedding": [1.0], "index": 1}],  # empty vector
        [{"embedding": [True], "index": 0}, {"embedding": [1.0], "index": 1}],  # not numbers
        [{"embedding": "!!", "index": 0}, {"embedding": [1.0], "index": 1}],  # not base64
        ["not an object", {"embedding": [1.0], "index": 1}],
    ],
)
def test_broken_upstream_answers_are_502(data: list[Any]) -> None:
    with pytest.raises(errors.UpstreamBadResponse):
        upstream_embeddings.upstream_vectors({"data": data}, 2)


def test_llama_servers_too_large_error_becomes_a_400() -> None:
    error = errors.UpstreamStatus(
        500,
        "input (2640 tokens) is too large to process. increase "
        "the physical batch size (current batch size: 512)",
    )
    found = upstream_embeddings.too_large(error)
    assert found is not None and found.status == 400
    assert "2640 tokens" in found.message and "(512)" in found.message
    assert upstream_embeddings.too_large(errors.UpstreamStatus(500, "something else")) is None
