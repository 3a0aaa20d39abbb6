"""Uploaded files, as the families' file operations see them (Gemini Files, OpenAI Files).

A file operation is not keyed and never goes upstream: localaik answers it itself, from the
bytes it was given, so an upload in replay needs nothing in the cassette. Its ids are derived
from the content, never from the clock or a random source (`uploads.py`).

The operations reach the uploads of the request's cassette through `FileSession`
(`server/files.py` holds them in memory, bounded, and keeps their bytes in the cassette when
recording). Requests that refer to an uploaded file by id are rewritten, when parsed, to refer
to it by hash (`media.parts.stored_uri`): the key holds the content, so a re-upload still hits.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from localaik.errors import Internal
from localaik.families.operation import Answer, Parsed, Request, SelfAnswered
from localaik.families.uploads import FileSession


@dataclass(frozen=True)
class FileRequest:
    """A file operation's HTTP request: the raw body (an upload's bytes are not JSON)."""

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    limit: int  # LK_MAX_BODY_SIZE: the most an uploaded file may hold


class FileOperation(SelfAnswered[None]):
    """An operation localaik answers itself from the cassette's uploads (`serve`), given the
    raw body: the pipeline's keyed steps (`parse`, `upstream_call`, `respond`) are never
    called on it."""

    takes_body = False  # the pipeline reads the raw body for `serve`
    error_headers: dict[str, str] = {}  # what its error answers carry besides the body

    @abstractmethod
    async def serve(self, request: FileRequest, files: FileSession) -> Answer:
        """The answer, in the family's shape; a 4xx `Error` on bad input."""

    def parse(self, request: Request) -> Parsed[None]:
        raise Internal(f"{self.name} is served, not parsed")
