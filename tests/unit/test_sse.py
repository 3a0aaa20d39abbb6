"""localaik.sse: the upstream event parser and the client frames."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localaik.wire import jsontext, sse
from localaik.wire.sse import Event, EventParser, parse_frame


def parse_all(*chunks: bytes) -> list[Event]:
    parser = EventParser()
    events = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_line_ends(end: bytes) -> None:
    stream = b"data: one" + end + end + b"data: two" + end + end
    assert parse_all(stream) == [Event("one"), Event("two")]


def test_lf_events_come_out_of_feed() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\n\ndata: b\n\n") == [Event("a"), Event("b")]
    assert parser.close() == []


def test_crlf_events_come_out_of_feed() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r\n\r\n") == [Event("a")]


def test_cr_at_the_end_of_a_feed_waits_for_more() -> None:
    """A CR at the end may be the first half of a CRLF, so the event is held until it is known."""
    parser = EventParser()
    assert parser.feed(b"data: a\r\rdata: b\r\r") == [Event("a")]
    assert parser.close() == [Event("b")]


def test_crlf_split_across_feeds_is_one_line_end() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    # If the CR alone ended the line, the LF would be a blank line and dispatch "a" alone.
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r\n") == [Event("a\nb")]


def test_every_byte_fed_alone() -> None:
    stream = "data: héllo\r\ndata: wörld\r\n\r\nevent: x\ndata: 3\n\n".encode()
    assert parse_all(*(stream[i : i + 1] for i in range(len(stream)))) == [
        Event("héllo\nwörld"),
        Event("3", "x"),
    ]


def test_multi_line_data_joined_with_newline() -> None:
    assert parse_all(b"data: a\ndata: b\ndata: c\n\n") == [Event("a\nb\nc")]


def test_one_leading_space_removed() -> None:
    assert parse_all(b"data:x\n\ndata:  two spaces\n\n") == [Event("x"), Event(" two spaces")]


def test_data_containing_colons() -> None:
    assert parse_all(b'data: {"a":"b:c"}\n\n') == [Event('{"a":"b:c"}')]


def test_comments_and_other_fields_are_skipped() -> None:
    stream = b": keep-alive\n\nid: 7\nretry: 1000\n: comment inside\ndata: a\n\nunknown: field\n\n"
    assert parse_all(stream) == [Event("a")]


def test_event_name_belongs_to_one_event() -> None:
    stream = b"event: message_start\ndata: 1\n\ndata: 2\n\nevent: ping\n\ndata: 3\n\n"
    # A name with no data dispatches nothing and does not leak into the next event.
    assert parse_all(stream) == [Event("1", "message_start"), Event("2"), Event("3")]


def test_last_event_without_blank_line_is_flushed_by_close() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\n\ndata: last") == [Event("a")]
    assert parser.close() == [Event("last")]


def test_last_event_with_only_its_line_end_is_flushed_by_close() -> None:
    parser = EventParser()
    assert parser.feed(b"data: last\n") == []
    assert parser.close() == [Event("last")]


def test_close_with_nothing_pending() -> None:
    parser = EventParser()
    parser.feed(b"data: a\n\n")
    assert parser.close() == []
    assert EventParser().close() == []


@pytest.mark.parametrize("split", [1, 2, 3])
def test_utf8_split_across_feeds(split: int) -> None:
    encoded = "data: 👋 héllo\n\n".encode()
    cut = encoded.index("👋".encode()) + split  # inside the 4-byte character
    assert parse_all(encoded[:cut], encoded[cut:]) == [Event("👋 héllo")]


def test_invalid_utf8_does_not_raise() -> None:
    [event] = parse_all(b"data: \xff\xfeok\n\n")
    assert event.data.endswith("ok")


async def test_parse_async_iterator() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"data: a\r"
        yield b"\n\r\ndata: b"

    assert [event async for event in sse.parse(chunks())] == [Event("a"), Event("b")]


def test_gemini_frame() -> None:
    assert (
        sse.gemini_frame({"text": "é ✓", "n": [1, 2]})
        == 'data: {"text":"é ✓","n":[1,2]}\r\n\r\n'.encode()
    )


def test_gemini_frame_is_one_line_even_with_newlines_in_text() -> None:
    frame = sse.gemini_frame({"text": "a\nb\r\nc"})
    assert frame == b'data: {"text":"a\\nb\\r\\nc"}\r\n\r\n'
    assert frame.count(b"\n") == 2


def test_openai_frame_and_done() -> None:
    assert sse.openai_frame({"a": None, "b": "ü"}) == 'data: {"a":null,"b":"ü"}\n\n'.encode()
    assert sse.OPENAI_DONE == b"data: [DONE]\n\n"


def test_frames_round_trip_through_the_parser() -> None:
    value = {"candidates": [{"content": {"parts": [{"text": "x\ny"}]}}]}
    events = parse_all(sse.gemini_frame(value) + sse.openai_frame(value) + sse.OPENAI_DONE)
    assert [e.data for e in events] == [jsontext.dumps(value), jsontext.dumps(value), "[DONE]"]


# -- FrameSplitter: raw frames, byte for byte -------------------------------------------------


def split_all(*chunks: bytes) -> list[bytes]:
    splitter = sse.FrameSplitter()
    frames = [frame for chunk in chunks for frame in splitter.feed(chunk)]
    tail = splitter.close()
    return frames + ([tail] if tail is not None else [])


STREAM = b'data: {"a":1}\n\n: comment\n\ndata: {"b":2}\r\n\r\n\ndata: [DONE]\n\n'


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(STREAM)])
def test_frames_join_into_the_stream_whatever_the_chunks(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    frames = split_all(*chunks)
    assert b"".join(frames) == STREAM
    assert [sse.parse_frame(f) for f in frames] == [
        Event('{"a":1}'),
        None,
        Event('{"b":2}'),
        Event("[DONE]"),
    ]


@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_a_last_event_without_its_blank_line_is_kept(end: bytes, size: int) -> None:
    """An upstream that ends without the blank line after `[DONE]` loses no event."""
    stream = b'data: {"a":1}\n\ndata: [DONE]' + end
    frames = split_all(*[stream[i : i + size] for i in range(0, len(stream), size)])
    assert frames == [b'data: {"a":1}\n\n', b"data: [DONE]" + end]
    assert sse.parse_frame(frames[-1]) == Event("[DONE]")


def test_a_crlf_split_across_chunks_is_one_line_end() -> None:
    assert split_all(b"data: a\r", b"\n\r", b"\ndata: b\n\n") == [
        b"data: a\r\n\r\n",
        b"data: b\n\n",
    ]


def test_a_line_that_never_ends_costs_linear_time() -> None:
    """32 MiB of one line in 16 KiB chunks: searched once, not once per chunk (that took
    minutes: every chunk copied and searched the whole line again)."""
    splitter = sse.FrameSplitter()
    chunk = b"x" * 16384
    started = time.perf_counter()
    assert splitter.feed(b"data: ") == []
    for _ in range(2048):
        assert splitter.feed(chunk) == []
    assert splitter.feed(b"\n\n") == [b"data: " + chunk * 2048 + b"\n\n"]
    assert time.perf_counter() - started < 5


def _incremental(raw: bytes) -> Event | None:
    parser = EventParser()
    events = parser.feed(raw) + parser.close()
    return events[0] if events else None


@given(
    st.lists(
        st.sampled_from(
            ["data: x", "data:y", "data", "event: e", "event:", ": c", "id: 1", "", "dätä: ü"]
        ),
        max_size=8,
    ),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.binary(max_size=3),
)
def test_parse_frame_reads_a_frame_as_the_incremental_parser_does(
    lines: list[str], end: str, junk: bytes
) -> None:
    raw = end.join(lines).encode() + junk
    assert parse_frame(raw) == _incremental(raw)
    assert parse_frame(raw) == _incremental(raw)  # the second time from the kept frames


def test_a_large_frame_is_parsed_and_not_kept() -> None:
    raw = b"data: " + b"x" * (70 * 1024) + b"\n\n"
    before = sse._parse_kept.cache_info()
    event = parse_frame(raw)
    assert event is not None and len(event.data) == 70 * 1024
    after = sse._parse_kept.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # never looked up, not kept
    small = b"data: y\n\n"
    parse_frame(small), parse_frame(small)
    assert sse._parse_kept.cache_info().hits >= after.hits + 1  # a small one is kept


def test_a_cr_held_as_half_a_crlf_ends_its_line_at_close_before_a_cut_character() -> None:
    # Found by the property test above: the stream ends with a CR, then half a UTF-8 character.
    parser = EventParser()
    assert parser.feed(b"data: x\r\xc3") == []
    assert parser.close() == [Event("x")]
    assert parse_frame(b"data: x\r\xc3") == Event("x")
