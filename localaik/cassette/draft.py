"""A recording in the making: what the replay policy knows when the upstream answers, and
what it adds once the answer is whole (duration, time, the model and build the upstream
reported)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from localaik import __version__
from localaik.cassette.recording import Recording
from localaik.families.operation import ClientRequest
from localaik.upstream.exchange import Exchange
from localaik.wire import sse


def draft_of(
    key: str,
    ordinal: int,
    request: ClientRequest,
    canon_text: str,
    upstream_text: str,
    live: Exchange,
    upstream_shown: str,
) -> Recording:
    """The recording of `live`, still without its body or frames."""
    return Recording(
        key=key,
        ordinal=ordinal,
        family=request.family,
        operation=request.operation,
        model=request.model,
        stream=request.stream,
        request=canon_text,
        upstream_request=upstream_text,
        status=live.status,
        content_type=live.content_type,
        body=None,
        frames=[],
        duration_ms=0.0,
        recorded_at="",
        localaik_version=__version__,
        upstream=upstream_shown,
        upstream_model=None,
        upstream_build=None,
    )


def finish(draft: Recording, duration_ms: float) -> None:
    """Stamp a whole answer: its duration, when, and its provenance."""
    draft.duration_ms = duration_ms
    draft.recorded_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    draft.upstream_model, draft.upstream_build = provenance(draft)


def provenance(recording: Recording) -> tuple[str | None, str | None]:
    """The model id and llama.cpp build the upstream reported in its answer."""
    candidates: list[bytes] = [recording.body] if recording.body else []
    candidates += [f.data for f in recording.frames[:3]]
    for raw in candidates:
        text = raw
        if recording.frames:
            event = sse.parse_frame(raw)
            text = event.data.encode() if event else b""
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and ("model" in data or "system_fingerprint" in data):
            model = data.get("model")
            build = data.get("system_fingerprint")
            return (
                model if isinstance(model, str) else None,
                build if isinstance(build, str) else None,
            )
    return None, None
