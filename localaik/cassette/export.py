"""The text form of a cassette: one JSON document per recording, stable, sorted and versioned.

A cassette is a SQLite file, which git cannot diff or merge and a reviewer cannot read. Its text
form is what `localaik cassette export` writes, `import` reads, the git diff driver shows and
`merge` compares. One recording is one document:

    {"format": "localaik-recording/1",
     "key": "…", "ordinal": 0, "family": "gemini", "operation": "generateContent",
     "model": "gemma-3-4b-it", "stream": true,
     "request": {…the canonical client request…},
     "upstream_request": {"method": "POST", "endpoint": "…", "body": {…}},
     "response": {"status": 200, "content_type": "text/event-stream", "duration_ms": 812.5,
                  "body": null, "frames": [{"offset_ms": 95.1, "data": "data: {…}\\n\\n"}]},
     "provenance": {"recorded_at": "…", "localaik_version": "…", "upstream": "…",
                    "upstream_model": "…", "upstream_build": "…"}}

Bytes round-trip exactly: a body or frame that is UTF-8 is a JSON string (escapes keep `\\r\\n`
and every other character), anything else is `{"base64": "…"}`. The request texts are stored
as parsed JSON for reading and re-serialised on import with the functions that made them, and
the key is checked against the request, so an edited export cannot smuggle in a recording whose
key does not match its request.

Documents are sorted by (key, ordinal) and their members come in one fixed order, so exporting
the same recordings twice gives the same bytes, whatever order they were recorded in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from typing import Any

from localaik.cassette.files import StoredFile
from localaik.cassette.key import canonical_json, request_key
from localaik.cassette.recording import Frame, Recording
from localaik.wire import jsontext

FORMAT = "localaik-recording/1"
FILE_FORMAT = "localaik-file/1"  # an uploaded file: {format, sha256, mime_type, display_name, data}
FORMAT_NAME, _, _VERSION = FORMAT.partition("/")
VERSION = int(_VERSION)


class ExportError(ValueError):
    """A document that is not a valid recording in the text form; the message says why."""


def to_document(recording: Recording) -> dict[str, Any]:
    """The text-form document of one recording."""
    return {
        "format": FORMAT,
        "key": recording.key,
        "ordinal": recording.ordinal,
        "family": recording.family,
        "operation": recording.operation,
        "model": recording.model,
        "stream": recording.stream,
        "request": _parsed(recording.request),
        "upstream_request": _parsed(recording.upstream_request),
        "response": {
            "status": recording.status,
            "content_type": recording.content_type,
            "duration_ms": recording.duration_ms,
            "body": None if recording.body is None else _text_or_base64(recording.body),
            "frames": [
                {"offset_ms": frame.offset_ms, "data": _text_or_base64(frame.data)}
                for frame in recording.frames
            ],
        },
        "provenance": {
            "recorded_at": recording.recorded_at,
            "localaik_version": recording.localaik_version,
            "upstream": recording.upstream,
            "upstream_model": recording.upstream_model,
            "upstream_build": recording.upstream_build,
        },
    }


def from_document(document: Any, *, where: str = "document") -> Recording:
    """The recording a text-form document describes; ExportError naming `where` if invalid."""
    try:
        return _from_document(document)
    except ExportError as exc:
        raise ExportError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ExportError(
            f"{where}: not a localaik recording ({type(exc).__name__}: {exc})"
        ) from None


def _from_document(document: Any) -> Recording:
    if not isinstance(document, dict):
        raise ExportError("not a JSON object")
    fmt = document.get("format")
    if not isinstance(fmt, str) or not fmt.startswith(FORMAT_NAME + "/"):
        raise ExportError(f'no "format": "{FORMAT}" member; not a localaik recording')
    version = fmt.partition("/")[2]
    if not version.isdigit() or int(version) > VERSION:
        raise ExportError(
            f"format {fmt} is newer than this localaik understands ({FORMAT}); "
            "upgrade localaik to import it"
        )
    response, provenance = document["response"], document["provenance"]
    request_text = _serialised(document["request"], canonical=True)
    key = _string(document, "key")
    if request_key(request_text) != key:
        raise ExportError(
            f"key {key} does not match its request (the request hashes to "
            f"{request_key(request_text)}); was the request edited?"
        )
    frames = [
        Frame(_number(frame, "offset_ms"), _bytes(frame["data"])) for frame in response["frames"]
    ]
    return Recording(
        key=key,
        ordinal=_integer(document, "ordinal"),
        family=_string(document, "family"),
        operation=_string(document, "operation"),
        model=_optional_string(document, "model"),
        stream=_boolean(document, "stream"),
        request=request_text,
        upstream_request=_serialised(document["upstream_request"], canonical=False),
        status=_integer(response, "status"),
        content_type=_string(response, "content_type"),
        body=None if response["body"] is None else _bytes(response["body"]),
        frames=frames,
        duration_ms=_number(response, "duration_ms"),
        recorded_at=_string(provenance, "recorded_at"),
        localaik_version=_string(provenance, "localaik_version"),
        upstream=_string(provenance, "upstream"),
        upstream_model=_optional_string(provenance, "upstream_model"),
        upstream_build=_optional_string(provenance, "upstream_build"),
    )


def document_text(document: dict[str, Any], *, indent: int | None = 2) -> str:
    """One document as JSON text, indented (or one line with None).

    Members keep the order `to_document` gives them (a fixed order, identity first, answer
    last), and the requests keep theirs (the canonical request's is sorted, the upstream
    request's is the order it was sent in), so the same recording always gives the same text
    and import gives back the exact stored texts.
    """
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)


def sorted_documents(recordings: Iterable[Recording]) -> list[dict[str, Any]]:
    """Documents for `recordings`, in the one stable order: by key, then ordinal."""
    return [to_document(r) for r in sorted(recordings, key=lambda r: (r.key, r.ordinal))]


def jsonl(recordings: Iterable[Recording]) -> Iterator[str]:
    """The file form: one line per recording, in stable order, each ending in a newline."""
    for document in sorted_documents(recordings):
        yield document_text(document, indent=None) + "\n"


def file_document(file: StoredFile) -> dict[str, Any]:
    """The text-form document of an uploaded file (after the recordings in an export)."""
    return {
        "format": FILE_FORMAT,
        "sha256": file.sha256,
        "mime_type": file.mime_type,
        "display_name": file.display_name,
        "data": _text_or_base64(file.data),
    }


def stored_file_of(document: dict[str, Any], *, where: str = "document") -> StoredFile:
    """The uploaded file a file document describes; ExportError when its bytes do not hash to
    its `sha256` (an edited export) or it is malformed."""
    try:
        file = StoredFile(
            _string(document, "sha256"),
            _string(document, "mime_type"),
            _string(document, "display_name"),
            _bytes(document["data"]),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ExportError(f"{where}: not a localaik file ({type(exc).__name__}: {exc})") from None
    if not file.sound():
        raise ExportError(f"{where}: the file's data does not hash to its sha256")
    return file


def is_file_document(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == FILE_FORMAT


def parse_jsonl_files(text: str, *, source: str = "input") -> list[StoredFile]:
    """The uploaded files of the file form (`parse_jsonl` reads its recordings)."""
    return [
        stored_file_of(document, where=f"{source} line {number}")
        for number, document in _lines(text, source)
        if is_file_document(document)
    ]


def _lines(text: str, source: str) -> Iterator[tuple[int, Any]]:
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other line breaks raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise ExportError(f"{source} line {number}: not JSON ({exc})") from None


def parse_jsonl(text: str, *, source: str = "input") -> list[Recording]:
    """Recordings from the file form; blank lines are skipped; errors name the line."""
    recordings = []
    for number, document in _lines(text, source):
        if not is_file_document(document):
            recordings.append(from_document(document, where=f"{source} line {number}"))
    return recordings


def file_name(recording: Recording) -> str:
    """The directory form's file for a recording: `<key>.<ordinal>.json`."""
    return f"{recording.key}.{recording.ordinal}.json"


def answer(recording: Recording) -> tuple[Any, ...]:
    """What the recording answers, without timing or provenance: equal answers replay equally.

    Two recordings of one request with equal answers are the same recording for `merge` and
    `diff`, even when one was recorded later or streamed more slowly.
    """
    return (
        recording.status,
        recording.content_type,
        recording.body,
        tuple(bytes(frame.data) for frame in recording.frames),
    )


# -- helpers -----------------------------------------------------------------------------------


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed": text}  # never written by localaik; kept readable all the same


def _serialised(value: Any, *, canonical: bool) -> str:
    if (
        isinstance(value, dict)
        and set(value) == {"unparsed"}
        and isinstance(value["unparsed"], str)
    ):
        return value["unparsed"]
    if canonical:
        if not isinstance(value, dict):
            raise ExportError('"request" is not a JSON object')
        return canonical_json(value)
    return jsontext.dumps(value)  # the form UpstreamCall.describe wrote


def _text_or_base64(data: bytes) -> str | dict[str, str]:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        return base64.b64decode(value["base64"], validate=True)
    raise ExportError(f'bytes must be a string or {{"base64": …}}, not {value!r:.60}')


def _string(obj: dict[str, Any], name: str) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise ExportError(f'"{name}" must be a string, not {value!r:.60}')
    return value


def _optional_string(obj: dict[str, Any], name: str) -> str | None:
    return None if obj.get(name) is None else _string(obj, name)


def _integer(obj: dict[str, Any], name: str) -> int:
    value = obj[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExportError(f'"{name}" must be an integer, not {value!r:.60}')
    return value


def _number(obj: dict[str, Any], name: str) -> float:
    value = obj[name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ExportError(f'"{name}" must be a number, not {value!r:.60}')
    return float(value)


def _boolean(obj: dict[str, Any], name: str) -> bool:
    value = obj[name]
    if not isinstance(value, bool):
        raise ExportError(f'"{name}" must be true or false, not {value!r:.60}')
    return value
