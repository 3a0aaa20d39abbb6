"""Secret scan speed: milliseconds per MiB of `find_secret` on realistic mixed text, beside
the scanner before issue 14 (five shapes, kept below as the baseline) in the same run.

    .venv/bin/python -m bench.secret_scan [--mib 4] [--rounds 7]

The text is what a cassette's recordings hold, in the proportions a suite's do: chat requests
in JSON (prose, a system instruction, tool schemas, tool-call arguments escaped twice), SSE
answer frames with response ids, `call_…`, `fp_…`, UUIDs and hashes, and a realistic inline
image (base64 of random bytes: as incompressible as a JPEG's). None of it holds a token, so
every scan reads the whole text, as the scan of a clean recording does. Three texts: the mix,
the base64 alone, and the JSON alone (which takes the decoded-escapes passes). Best of
`--rounds` per text. Also timed: `redact` (what log lines and miss messages go through) on the
mix. Target: the mix at most 1.5× the baseline (a ratio: the machine's load moves both alike).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import time
import uuid
from collections.abc import Callable

from bench.report import Report
from localaik.cassette.secrets import KINDS, find_secret, redact

# -- the scanner before: its five shapes, as they were ----------------------------------------

_START = r"(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))"
_BEFORE = (
    (("AIza",), 0, re.compile(_START + r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    (("sk-ant-",), 0, re.compile(_START + r"sk-ant-[A-Za-z0-9_-]{20,}")),
    (("sk-",), 0, re.compile(_START + r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}")),
    (
        ("eyJ",),
        0,
        re.compile(_START + r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    ),
    (
        ("earer", "EARER"),
        1,
        re.compile(
            r"(?:(?<![A-Za-z])|(?<=%[0-9A-Fa-f]{2}))(?i:bearer)(?:[ \t]+|%20|\+)"
            r"(?=.[A-Za-z0-9._~+/=-]*(?:[0-9A-Z_~+/]|\.[A-Za-z0-9]))[A-Za-z0-9._~+/=-]{16,}"
        ),
    ),
)
_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|([nrtbf])|(["\\/]))')


def _before_raw(text: str) -> bool:
    for needles, lead, pattern in _BEFORE:
        for needle in needles:
            at = text.find(needle)
            while at >= 0:
                if at >= lead and pattern.match(text, at - lead):
                    return True
                at = text.find(needle, at + 1)
    return False


def _before_unescape(match: re.Match[str]) -> str:
    if match.group(1):
        return chr(int(match.group(1), 16))
    return " " if match.group(2) else match.group(3)


def find_before(text: str) -> bool:
    found = _before_raw(text)
    for _ in range(3):
        if found or "\\" not in text:
            break
        unescaped = _ESCAPE.sub(_before_unescape, text)
        if unescaped == text:
            break
        text = unescaped
        found = _before_raw(text)
    return found


# -- the text --------------------------------------------------------------------------------

WORDS = (
    "the model answers a question about the weather in Paris and Berlin before asking "
    "whether the user wants a table of temperatures sorted by day risk assessment "
    "bearer of news schedule the meeting summary notes translate into French"
).split()


def _prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _request(rng: random.Random) -> str:
    arguments = json.dumps({"city": "Paris", "note": _prose(rng, 12) + "\n" + _prose(rng, 8)})
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": _prose(rng, 40)},
            {"role": "user", "content": _prose(rng, 120)},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": f"call_{rng.randbytes(12).hex()}",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": _prose(rng, 30)},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "description": "City"}},
                        "required": ["city"],
                        "additionalProperties": False,
                    },
                },
            }
        ],
    }
    return json.dumps(body)


def _frames(rng: random.Random) -> str:
    ident = f"chatcmpl-{rng.randbytes(15).hex()}"
    frames = []
    for word in _prose(rng, 60).split():
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "system_fingerprint": f"fp_{rng.randbytes(5).hex()}",
            "choices": [{"index": 0, "delta": {"content": word + " "}}],
            "request": str(uuid.UUID(bytes=rng.randbytes(16))),
            "sha256": rng.randbytes(32).hex(),
        }
        frames.append("data: " + json.dumps(chunk) + "\n\n")
    return "".join(frames) + "data: [DONE]\n\n"


def texts(mib: float, seed: int = 14) -> dict[str, str]:
    rng = random.Random(seed)
    size = int(mib * 1024 * 1024)
    json_parts: list[str] = []
    while sum(map(len, json_parts)) < size // 2:
        json_parts += [_request(rng), _frames(rng)]
    image = base64.b64encode(rng.randbytes(size // 2 * 3 // 4)).decode()
    inline = json.dumps({"inlineData": {"mimeType": "image/jpeg", "data": image}})
    joined = "\n".join(json_parts)
    return {"mixed": joined + "\n" + inline, "json": joined, "base64": image}


def best_ms_per_mib(scan: Callable[[str], object], text: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        scan(text)
        best = min(best, time.perf_counter() - started)
    return round(best * 1000 / (len(text) / 1024 / 1024), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    report = Report("secret_scan")
    for name, text in texts(args.mib).items():
        assert find_secret(text) is None and not find_before(text), f"{name}: a false positive"
        now = best_ms_per_mib(find_secret, text, args.rounds)
        before = best_ms_per_mib(find_before, text, args.rounds)
        target = "≤ 1.5× baseline" if name == "mixed" else None
        passed = now <= 1.5 * before if name == "mixed" else None
        report.add(f"find_secret, {name}", now, before, "ms/MiB", target or "", passed)
    mixed = texts(args.mib)["mixed"]
    report.add(
        "redact, mixed", best_ms_per_mib(redact, mixed, args.rounds), None, "ms/MiB", "", None
    )
    report.details["kinds"] = list(KINDS)
    report.details["mib"] = args.mib
    raise SystemExit(0 if report.finish() else 1)


if __name__ == "__main__":
    main()
