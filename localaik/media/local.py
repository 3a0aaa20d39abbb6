"""The media policy: PDF rendering with caps, and local file reads confined to LK_FILES_ROOT.

Two instances serve a request. The checking one (`render=False`) runs with the translation
that checks a request: it applies every rule that needs no file contents and no poppler (the
`%PDF-` header, the files root, symlinks out of it) and counts what it would have rendered or
read (`pending`). Only when that count is not zero and the request goes upstream does the
pipeline translate again, off the event loop, with the rendering one.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path

from localaik.config import Settings
from localaik.errors import BadRequest
from localaik.media import pdf

# What the checking policy gives for a local file it did not read: text, and a PDF header, so
# that every check of the contents passes on it until the file is really read.
UNREAD = b"%PDF- (a local file, not read while checking the request)"


class LocalMedia:
    """`media.parts.Media` for this process's settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        render: bool = True,
        files: Callable[[str], bytes | None] | None = None,
    ) -> None:
        self.settings = settings
        self.render = render
        self.pending = 0  # renders and reads a checking instance left for the rendering one
        self.files = files  # an uploaded file's bytes by its `parts.stored_uri`

    def read_stored(self, uri: str, where: str) -> bytes:
        data = self.files(uri) if self.files is not None else None
        if data is None:
            raise BadRequest(
                f"{where}: the uploaded file {uri} is not held by this server; upload it "
                "in this session (files are kept in memory per cassette) and refer to its id"
            )
        return data

    def pdf_pages(self, data: bytes, where: str) -> list[bytes]:
        if not self.render:
            # Checking a request: the pages are not needed yet, poppler may be absent (replay).
            if not data.startswith(b"%PDF-"):
                raise BadRequest(f"{where}: the data is not a PDF (no %PDF- header)")
            self.pending += 1
            return []
        return pdf.render(
            data, max_pages=self.settings.pdf_max_pages, dpi=self.settings.pdf_dpi, where=where
        )

    def read_local(self, uri: str, where: str) -> bytes:
        root = self.settings.files_root
        if root is None:
            raise BadRequest(
                f"{where}: local file references are off; set LK_FILES_ROOT to a "
                "folder to allow reading files below it"
            )
        path = _path_of(uri, where)
        target = (root / path).resolve() if not path.is_absolute() else path.resolve()
        if not target.is_relative_to(root):
            raise BadRequest(f"{where}: the file is outside LK_FILES_ROOT")
        if not self.render:
            self.pending += 1
            return UNREAD
        try:
            return target.read_bytes()
        except OSError as exc:
            raise BadRequest(
                f"{where}: cannot read the file below LK_FILES_ROOT "
                f"({exc.strerror or type(exc).__name__})"
            ) from None


def _path_of(uri: str, where: str) -> Path:
    if uri.startswith("file:"):
        parts = urllib.parse.urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise BadRequest(f"{where}: file:// URIs must name a local path")
        path = urllib.parse.unquote(parts.path)
    else:
        path = urllib.parse.unquote(uri)
    if "\x00" in path:  # no file has one in its name; the OS calls would raise ValueError
        raise BadRequest(f"{where}: the path holds a NUL character")
    return Path(path)
