"""Requests of no API family: `/health`, and paths outside every family's. They get a plain
error envelope, `{"error": {"code", "message"}}`."""

from __future__ import annotations

from collections.abc import Mapping

from localaik.families.descriptor import Descriptor
from localaik.families.rendering import plain_error_body


def claim(path: str, headers: Mapping[str, str]) -> int:
    return 0


DESCRIPTOR = Descriptor(name="-", operations=(), claim=claim, error_body=plain_error_body)
