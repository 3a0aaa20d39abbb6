"""`chunks.stream_usage`: a recorded stream's usage, found without reading every frame."""

from __future__ import annotations

from localaik.upstream.chunks import chunk_usage, stream_usage

USAGE = b'{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}'


def frame(data: bytes) -> bytes:
    return b"data: " + data + b"\n\n"


def test_the_usage_chunk_at_the_end_is_found() -> None:
    frames = [
        frame(b'{"choices":[{"delta":{"content":"hi"}}],"usage":null}'),
        frame(b'{"choices":[],"usage": ' + USAGE + b"}"),  # a space after the colon, too
        frame(b"[DONE]"),
    ]
    assert stream_usage(frames) == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_no_usage_object_is_none() -> None:
    assert stream_usage([frame(b'{"choices":[],"usage":null}'), frame(b"[DONE]")]) is None
    assert stream_usage([frame(b'{"text":"\\"usage\\": {"}'), frame(b"not json")]) is None
    assert stream_usage([]) is None


def test_chunk_usage_reads_only_an_object() -> None:
    assert chunk_usage({"usage": {"prompt_tokens": 1}}) == {"prompt_tokens": 1}
    assert chunk_usage({"usage": None}) is None
    assert chunk_usage(["usage"]) is None
