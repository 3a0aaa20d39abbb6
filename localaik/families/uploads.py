"""Uploads, as the families and the server share them: the uploads of a cassette
(`FileSession`, which `server/files.py` implements), one upload, and how its ids are derived.

Ids, names, URIs and timestamps of an upload are derived from the content's sha256 and from how
many times the same bytes were uploaded before in the cassette (`Upload.ordinal`), never from
the clock or a random source, so record and replay give the same ids on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Protocol

from localaik.wire.rebuild import Failed

# The time every uploaded file says it was created: fixed, so that answers never differ
# between record and replay; as seconds since the epoch (OpenAI) and RFC 3339 (Gemini).
CREATED = 1767225600  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Upload:
    """One upload: the id its API gave it and what it holds."""

    family: str
    id: str
    sha256: str
    mime_type: str
    display_name: str
    size: int
    ordinal: int  # uploads of the same bytes by the same family in this cassette before it
    purpose: str = ""


@dataclass
class Draft:
    """A Gemini resumable upload between its `start` and its `finalize`."""

    session: FileSession  # the uploads of the cassette its `start` named: it is kept there
    mime_type: str
    display_name: str
    declared: int | None  # the size announced at `start`
    data: bytearray = field(default_factory=bytearray)


class FileSession(Protocol):
    """The uploads of one cassette, for one request."""

    drafts: MutableMapping[str, Draft]  # resumable uploads in progress, by upload id

    async def upload(
        self,
        family: str,
        data: bytes,
        mime_type: str,
        display_name: str,
        make_id: Callable[[str, int], str],
        purpose: str = "",
    ) -> Upload:
        """Keep the bytes (scanned for keys first: SecretRefused, nothing kept) and return the
        upload, its id from `make_id(sha256, ordinal)`."""
        ...

    def find(self, family: str, file_id: str) -> Upload | None: ...

    def uploads(self, family: str) -> list[Upload]:
        """The family's uploads not deleted, in the order they were made."""
        ...

    def delete(self, family: str, file_id: str) -> bool: ...

    def data(self, uri: str) -> bytes | None:
        """The bytes of an uploaded file by its `stored_uri`, while this server holds them."""
        ...


def uploaded(
    files: FileSession | None, family: str, file_id: str, error: Callable[[str], Exception]
) -> Upload:
    """The upload a request names, for the walk over its body (`wire/rebuild.py`); when this
    session has none, `error(where)` with where the name sits in the request."""
    upload = files.find(family, file_id) if files is not None else None
    if upload is None:
        raise Failed(error)
    return upload


def derived_id(sha256: str, ordinal: int, length: int) -> str:
    """`length` hex digits naming the `ordinal`-th upload of the bytes hashing to `sha256`."""
    return hashlib.sha256(f"{sha256}:{ordinal}".encode()).hexdigest()[:length]
