"""Request ids: the response header each family's SDKs read one from, and the ids' forms.

The openai SDKs read `x-request-id` (`response._request_id`, an error's `request_id`), the
anthropic SDKs `request-id` (`message._request_id`, an error's `request_id`); google-genai reads
none, and the Gemini API sends none it reads, so Gemini answers get none. Each id has the form
the real API gives (OpenAI `req_` + 32 hex digits, Anthropic `req_011C…` in base 62).

An answer that is, or is being stored as, a recording gets an id derived from the recording's
key and ordinal (D17): record and every replay, on any machine, give the same id, and
different recordings different ones. Other answers (passthrough, errors) get a random one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def openai_form(digest: bytes) -> str:
    return "req_" + digest[:16].hex()


def anthropic_form(digest: bytes) -> str:
    number = int.from_bytes(digest[:16], "big")
    digits = []
    for _ in range(20):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "req_011C" + "".join(digits)


@dataclass(frozen=True)
class RequestIds:
    """A family's request-id header and the form of its ids."""

    header: str
    form: Callable[[bytes], str]

    def make(self, recording: str | None) -> str:
        """The id for an answer from (or stored as) `recording`, or a random one."""
        if recording is None:
            return self.form(secrets.token_bytes(32))
        return self.form(hashlib.sha256(f"localaik request {recording}".encode()).digest())


OPENAI = RequestIds("x-request-id", openai_form)
ANTHROPIC = RequestIds("request-id", anthropic_form)
