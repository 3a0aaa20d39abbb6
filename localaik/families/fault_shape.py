"""How each API answers the failures a test asks localaik for (D16, `server/faults.py`).

A fault is answered as the real API answers that failure, so that the official SDK's own error
classes and retry logic run: the status, the body's message and code in the family's envelope
(`families/rendering.py` renders it), and the headers the SDKs read, such as `retry-after`
(the OpenAI and Anthropic SDKs wait that long before they retry, when it is 0 < s <= 120) and
the rate-limit headers. Each family's descriptor holds its `FaultShape` (`Descriptor.faults`);
a status a shape does not name gets its family's envelope with a generic message.

`status=400` is the one client error a fault gives: the request's context is too long for the
model, as each API words it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from localaik.errors import Injected

CONTEXT_TOO_LONG = 400
NOTE = " (localaik fault)"


@dataclass(frozen=True)
class Said:
    """What an API says for one failure: its message, and its `code` and `param` where the
    family's envelope has a place for them."""

    message: str
    code: str | None = None
    param: str | None = None


def no_headers(status: int, retry_after: int) -> dict[str, str]:
    return {}


def retry_after_header(status: int, retry_after: int) -> dict[str, str]:
    """`retry-after` on the statuses an API sends it with (429, 503, 529)."""
    return {"retry-after": str(retry_after)} if status in (429, 503, 529) else {}


@dataclass(frozen=True)
class FaultShape:
    """A family's answers to injected failures: what it says per status, and its headers for
    a status and a `retry-after` in seconds."""

    said: Mapping[int, Said] = field(default_factory=dict)
    headers: Callable[[int, int], dict[str, str]] = no_headers

    def error(self, status: int, retry_after: int) -> Injected:
        """The failure `status` as this family's API answers it."""
        said = self.said.get(status) or Said(
            f"The server answered HTTP {status}." if status >= 500 else f"HTTP {status}."
        )
        return Injected(
            status,
            said.message + NOTE,
            code=said.code,
            param=said.param,
            headers=self.headers(status, retry_after),
        )


GENERIC = FaultShape(headers=retry_after_header)
