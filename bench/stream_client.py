"""The stream benchmark's client, run as its own process: times each event of a stream.

    python -m bench.stream_client URL PATH BODY_FILE REPEATS

Sends the POST `REPEATS` times over one keep-alive connection and prints one JSON line per
stream: the milliseconds from just before the request was sent to the arrival of each event
(an event ends with a blank line), with the frame marker ("f123") the event carries, if any.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import httpx

MARKER = re.compile(rb"f(\d{3}) ")
EVENT_END = re.compile(rb"\r\n\r\n|\n\n")


def one(client: httpx.Client, path: str, body: bytes) -> list[tuple[int | None, float]]:
    events: list[tuple[int | None, float]] = []
    buffer = b""
    started = time.perf_counter()
    with client.stream(
        "POST", path, content=body, headers={"content-type": "application/json"}
    ) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            now = (time.perf_counter() - started) * 1000
            buffer += chunk
            while (end := EVENT_END.search(buffer)) is not None:
                event, buffer = buffer[: end.start()], buffer[end.end() :]
                marker = MARKER.search(event)
                events.append((int(marker.group(1)) if marker else None, round(now, 3)))
    return events


def main() -> None:
    url, path, body_file, repeats = sys.argv[1:5]
    body = Path(body_file).read_bytes()
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(int(repeats)):
            print(json.dumps(one(client, path, body)), flush=True)


if __name__ == "__main__":
    main()
