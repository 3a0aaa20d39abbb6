"""The text form of recordings: exact round trips, stable output, and clear refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest

from localaik.cassette import export
from localaik.cassette.key import canonical_json, request_key
from localaik.cassette.recording import Frame, Recording
from tests.unit.test_store import make_recording


def keyed(prompt: str = "hello", ordinal: int = 0, **changes: object) -> Recording:
    """A recording whose key really is the hash of its canonical request."""
    request = canonical_json(
        {
            "family": "openai",
            "operation": "chat.completions",
            "model": "m",
            "stream": True,
            "body": {"messages": [{"content": prompt, "role": "user"}], "temperature": 0.1},
        }
    )
    recording = make_recording(
        key=request_key(request),
        ordinal=ordinal,
        request=request,
        upstream_request='{"method":"POST","endpoint":"chat","body":{"model":"m","z":1,"a":[1.5]}}',
    )
    return dataclasses.replace(recording, **changes)  # type: ignore[arg-type]


def fields(recording: Recording) -> dict[str, object]:
    values = dataclasses.asdict(recording)
    values.pop("id")
    return values


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"frames": [], "body": b"\xff\x00 not utf-8", "stream": False},
        {"frames": [Frame(1.5, b'data: {"t": "a\\u2028b \xe2\x80\xa8 \r\n"}\r\n\r\n')]},
        {"frames": [Frame(0.0, b"\x80\x81 binary frame\n\n")]},
        {"body": b"", "frames": [], "stream": False},
        {"model": None, "upstream_model": None, "upstream_build": None},
    ],
)
def test_a_recording_survives_the_file_form_byte_for_byte(changes: dict[str, object]) -> None:
    recording = keyed(prompt="caf\u00e9 \u2028 line", **changes)
    text = "".join(export.jsonl([recording]))
    assert text.count("\n") == 1  # one line per recording, whatever the content
    (back,) = export.parse_jsonl(text)
    assert fields(back) == fields(recording)


def test_the_indented_form_round_trips_too() -> None:
    recording = keyed()
    document = json.loads(export.document_text(export.to_document(recording)))
    assert fields(export.from_document(document)) == fields(recording)


def test_output_is_sorted_and_the_same_whatever_the_recording_order() -> None:
    recordings = [keyed("b"), keyed("a"), keyed("a", ordinal=1), keyed("c")]
    forward = "".join(export.jsonl(recordings))
    backward = "".join(export.jsonl(reversed(recordings)))
    assert forward == backward
    keys = [(json.loads(line)["key"], json.loads(line)["ordinal"]) for line in forward.splitlines()]
    assert keys == sorted(keys)


def test_every_document_names_its_format_version() -> None:
    document = export.to_document(keyed())
    assert document["format"] == export.FORMAT == "localaik-recording/1"
    assert list(document)[:3] == ["format", "key", "ordinal"]


def test_an_edited_request_no_longer_matches_its_key() -> None:
    document = export.to_document(keyed("hello"))
    document["request"]["body"]["messages"][0]["content"] = "edited"
    with pytest.raises(export.ExportError, match="does not match its request"):
        export.from_document(document, where="x.json")


def test_a_newer_format_is_refused_with_advice() -> None:
    document = export.to_document(keyed())
    document["format"] = "localaik-recording/2"
    with pytest.raises(export.ExportError, match="newer than this localaik.*upgrade"):
        export.from_document(document)


@pytest.mark.parametrize(
    "mangle, why",
    [
        (lambda d: d.pop("format"), "not a localaik recording"),
        (lambda d: d.update(ordinal="0"), '"ordinal" must be an integer'),
        (lambda d: d.update(stream="yes"), '"stream" must be true or false'),
        (lambda d: d["response"].update(status=None), '"status" must be an integer'),
        (lambda d: d["response"].update(body=12), "bytes must be a string"),
        (lambda d: d["response"].update(body={"base64": "!!"}), "not a localaik recording"),
        (lambda d: d.pop("response"), "not a localaik recording"),
    ],
)
def test_malformed_documents_say_what_is_wrong(mangle, why: str) -> None:  # type: ignore[no-untyped-def]
    document = export.to_document(keyed("x", frames=[], stream=False, body=b"{}"))
    mangle(document)
    with pytest.raises(export.ExportError, match=why):
        export.from_document(document, where="in.jsonl line 3")


def test_parse_errors_name_the_line() -> None:
    good = "".join(export.jsonl([keyed()]))
    with pytest.raises(export.ExportError, match=r"in\.jsonl line 3: not JSON"):
        export.parse_jsonl(good + "\n{broken\n", source="in.jsonl")


def test_answer_ignores_timing_and_provenance_but_not_content() -> None:
    first = keyed()
    later = dataclasses.replace(
        first,
        recorded_at="2030-01-01T00:00:00.000Z",
        duration_ms=999.0,
        frames=[Frame(f.offset_ms * 3, f.data) for f in first.frames],
    )
    assert export.answer(first) == export.answer(later)
    other = dataclasses.replace(first, frames=first.frames[:-1])
    assert export.answer(first) != export.answer(other)
