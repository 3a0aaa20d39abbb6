"""Inline bytes and file references -> OpenAI content parts (shared by Gemini and Anthropic).

Dispatch on the MIME type: images become `image_url` data URIs, PDFs become one image per page,
`text/*` and JSON become text, anything else a short placeholder (never the raw bytes). Reading
local files and rendering PDFs are I/O, so they come in through the `Media` protocol.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import urllib.parse
from typing import Any, Protocol

from localaik.errors import BadRequest
from localaik.upstream.wire import ContentPart, ImagePart, TextPart

Part = ContentPart

# How a request refers to an uploaded file once its id is resolved (Gemini `fileData.fileUri`,
# OpenAI `file_id`): by the hash of its bytes, so the key holds the content, not the id.
STORED = "localaik-file:sha256:"


def stored_uri(sha256: str, mime: str = "") -> str:
    """An uploaded file by its content; with its type where the API's reference has no field
    for one (OpenAI's `file_id`), so the file's name at upload is not part of the key."""
    return STORED + sha256 + (f";type={mime}" if mime else "")


def stored_parts(uri: str) -> tuple[str, str]:
    """The (sha256, type) a `stored_uri` names ("" when it names no type)."""
    sha256, _, mime = uri[len(STORED) :].partition(";type=")
    return sha256, mime


class Media(Protocol):
    """The I/O that media translation needs, injected so that translation stays pure."""

    def pdf_pages(self, data: bytes, where: str) -> list[bytes]:
        """PNG bytes of each page, in order; BadRequest when the PDF cannot be rendered."""
        ...

    def read_local(self, uri: str, where: str) -> bytes:
        """Bytes of a local file reference; BadRequest unless the policy allows it."""
        ...

    def read_stored(self, uri: str, where: str) -> bytes:
        """Bytes of an uploaded file (`stored_uri`); BadRequest when this server has none."""
        ...


def decode_base64(text: Any, where: str) -> bytes:
    """Strict standard base64 (URL-safe accepted too), as the real APIs do."""
    if not isinstance(text, str):
        raise BadRequest(f"{where}: expected a base64 string")
    cleaned = "".join(text.split())
    if "-" in cleaned or "_" in cleaned:
        cleaned = cleaned.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{where}: invalid base64 data ({exc})") from None


def image_part(url: str) -> ImagePart:
    return {"type": "image_url", "image_url": {"url": url}}


def text_part(text: str) -> TextPart:
    return {"type": "text", "text": text}


def _is_text(mime: str) -> bool:
    return (
        mime.startswith("text/")
        or mime in ("application/json", "application/x-ndjson")
        or mime.endswith("+json")
    )


def blob_to_parts(mime: str, data: bytes, media: Media, where: str) -> list[Part]:
    """Bytes of a given MIME type -> content parts."""
    mime = mime.lower().split(";")[0].strip()
    if mime == "application/pdf":
        pages = media.pdf_pages(data, where)
        return [
            image_part("data:image/png;base64," + base64.b64encode(page).decode()) for page in pages
        ]
    if mime.startswith("image/"):
        return [image_part(f"data:{mime};base64," + base64.b64encode(data).decode())]
    if _is_text(mime):
        try:
            return [text_part(data.decode("utf-8"))]
        except UnicodeDecodeError:
            raise BadRequest(f"{where}: {mime} data is not valid UTF-8") from None
    return [text_part(f"Embedded file ({mime or 'unknown type'}, {len(data)} bytes)")]


_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def guess_mime(filename: str, data: bytes, given: str = "") -> str:
    """A file's type: `given` when specific, else by its name, else by its first bytes."""
    given = given.split(";")[0].strip().lower()
    if given and given != "application/octet-stream":
        return given
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    sniffed = next((mime for magic, mime in _IMAGES if data.startswith(magic)), None)
    if sniffed is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        sniffed = "image/webp"
    return sniffed or given or "application/octet-stream"


def image_mime(data: bytes, where: str) -> str:
    """The type of an image's bytes (PNG, JPEG, GIF, WebP); BadRequest for anything else."""
    mime = guess_mime("", data)
    if not mime.startswith("image/"):
        raise BadRequest(f"{where}: the file is not an image (PNG, JPEG, GIF or WebP)")
    return mime


def decode_data_uri(uri: str, where: str) -> tuple[str, bytes]:
    """`data:[mime][;base64],payload` -> (mime, bytes); percent-encoding when not base64."""
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise BadRequest(f"{where}: malformed data: URI (no comma)")
    params = header.split(";")
    mime = params[0].strip().lower()
    if "base64" in (p.strip().lower() for p in params[1:]):
        return mime, decode_base64(urllib.parse.unquote(payload), where)
    return mime, urllib.parse.unquote_to_bytes(payload)


def is_remote(uri: str) -> bool:
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    return len(scheme) > 1 and scheme not in ("file", "data")


def file_uri_to_parts(uri: Any, mime: Any, media: Media, where: str) -> list[Part]:
    """A file reference (Gemini `fileData`) -> content parts.

    `data:` URIs are decoded; remote images go to the upstream as URLs (localaik itself never
    fetches); remote documents are refused; local paths go through the media policy.
    """
    if not isinstance(uri, str) or not uri:
        raise BadRequest(f"{where}.fileUri: required string")
    if mime is not None and not isinstance(mime, str):
        raise BadRequest(f"{where}.mimeType: expected a string")
    mime = (mime or "").lower()
    if uri.startswith(STORED):
        return blob_to_parts(mime, media.read_stored(uri, where), media, where)
    if uri.startswith("data:"):
        data_mime, data = decode_data_uri(uri, where)
        return blob_to_parts(mime or data_mime, data, media, where)
    if is_remote(uri):
        if mime.startswith("image/"):
            return [image_part(uri)]
        if mime == "application/pdf" or _is_text(mime):
            raise BadRequest(
                f"{where}: localaik does not fetch remote files ({mime} at a remote URI); "
                "send the bytes inline (inlineData) or as a data: URI"
            )
        return [text_part(f"Attached file: {uri} ({mime or 'unknown type'})")]
    if not (mime.startswith("image/") or mime == "application/pdf" or _is_text(mime)):
        return [text_part(f"Attached file: {uri} ({mime or 'unknown type'})")]
    return blob_to_parts(mime, media.read_local(uri, where), media, where)
