"""What a cassette holds: recordings of upstream exchanges (DESIGN D2).

A recording is the upstream exchange for one normalised client request (its key) and an
ordinal (the n-th answer for that key under LK_REPEATS=sequence): status, body or stream
frames with their time offsets, the canonical client request (for miss diagnostics and review)
and provenance. These are plain data, shared by every cassette store, the secret scan, export,
merge and verify; they import nothing of localaik, so any module can use them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Frame:
    offset_ms: float  # from the start of the request to the moment the frame was complete
    data: bytes  # the raw upstream SSE event, exactly as received, incl. its blank line


@dataclass
class Recording:
    key: str
    ordinal: int  # 0, or the n-th answer for this key (LK_REPEATS=sequence)
    family: str
    operation: str
    model: str | None
    stream: bool
    request: str  # canonical JSON text of the client request
    upstream_request: str  # JSON text: {"method","endpoint","body"} as sent upstream
    status: int  # upstream HTTP status
    content_type: str
    body: bytes | None  # the upstream body (non-stream answers, error answers)
    frames: list[Frame]  # the upstream stream (empty for non-stream)
    duration_ms: float  # request start to the last byte
    recorded_at: str  # ISO 8601 UTC, e.g. "2026-11-25T14:03:07.123Z"
    localaik_version: str
    upstream: str  # redacted upstream URL (no credentials)
    upstream_model: str | None  # the model id the upstream reported
    upstream_build: str | None  # llama.cpp build (system_fingerprint) when known
    id: int | None = None


@dataclass(frozen=True)
class Summary:
    """What miss diagnosis needs about a recording: cheap to load for 100k of them."""

    id: int
    key: str
    ordinal: int
    family: str
    operation: str
    model: str | None
    stream: bool
    recorded_at: str
    request: str
