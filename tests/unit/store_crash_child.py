"""Child process for the store's crash test: saves big recordings until it is killed.

Usage: store_crash_child.py CASSETTE ROUND

Prints "ready" once the cassette is open, then saves recordings with long frame lists in a
loop, forever. Each recording's body says how many frames it was meant to have, and each frame
names its key and sequence number, so the parent can tell a whole recording from a torn one
after it SIGKILLs this process at a random moment.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from localaik.cassette.recording import Frame, Recording
from localaik.cassette.store import store_for


def frame_data(key: str, seq: int, pad: int) -> bytes:
    """One SSE event as the parent expects it: its JSON names the key and the seq."""
    return b"data: " + json.dumps({"key": key, "seq": seq, "pad": "x" * pad}).encode() + b"\n\n"


def recording(key: str, frames: int, rng: random.Random) -> Recording:
    return Recording(
        key=key,
        ordinal=0,
        family="openai",
        operation="chat.completions",
        model="crash",
        stream=True,
        request=json.dumps({"key": key}),
        upstream_request="{}",
        status=200,
        content_type="text/event-stream",
        body=json.dumps({"frames": frames}).encode(),
        frames=[
            Frame(seq * 0.5, frame_data(key, seq, rng.randrange(100, 1000)))
            for seq in range(frames)
        ],
        duration_ms=frames * 0.5,
        recorded_at="2026-01-01T00:00:00.000Z",
        localaik_version="test",
        upstream="http://127.0.0.1:1/v1",
        upstream_model=None,
        upstream_build=None,
    )


def main() -> None:
    path, round_ = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(round_)
    cassette = store_for(path)
    cassette.open(create=True)
    print("ready", flush=True)
    index = 0
    while True:
        key = f"{round_:08x}{index:024x}"
        cassette.save(recording(key, rng.randrange(200, 2000), rng))
        index += 1


if __name__ == "__main__":
    main()
