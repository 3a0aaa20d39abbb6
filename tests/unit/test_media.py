"""localaik.translate.media and localaik.media: inline bytes, data URIs, file references."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from localaik.config import Settings
from localaik.errors import BadRequest
from localaik.media.local import LocalMedia
from localaik.media.parts import (
    blob_to_parts,
    decode_base64,
    decode_data_uri,
    file_uri_to_parts,
)

WHERE = "contents[0].parts[0]"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00fake"


class PdfPages:
    """Media with a fixed PDF rendering (the pdftoppm boundary); local reads refused."""

    def __init__(self) -> None:
        self.rendered: list[bytes] = []

    def pdf_pages(self, data: bytes, where: str) -> list[bytes]:
        self.rendered.append(data)
        return [b"page-1", b"page-2"]

    def read_local(self, uri: str, where: str) -> bytes:
        raise AssertionError("no local reads expected")


# --------------------------------------------------------------------------------------------
# decode_base64


def test_decode_base64_valid() -> None:
    assert decode_base64("aGVsbG8gd29ybGQ=", WHERE) == b"hello world"


def test_decode_base64_ignores_whitespace() -> None:
    assert decode_base64(" aGVsbG8g\nd29y\r\nbGQ= ", WHERE) == b"hello world"


def test_decode_base64_url_safe() -> None:
    data = b"\xfb\xff\xfe\xfd"
    assert base64.b64encode(data) == b"+//+/Q=="
    assert decode_base64(base64.urlsafe_b64encode(data).decode(), WHERE) == data
    assert decode_base64("-__-_Q", WHERE) == data  # without padding too


@pytest.mark.parametrize("text", ["not base64!", "aGVsbG8@", "a", "====", "aGVs bG8=\x00"])
def test_decode_base64_invalid(text: str) -> None:
    with pytest.raises(BadRequest) as raised:
        decode_base64(text, WHERE)
    assert WHERE in raised.value.message


@pytest.mark.parametrize("value", [None, 123, b"aGk=", ["aGk="]])
def test_decode_base64_needs_a_string(value: object) -> None:
    with pytest.raises(BadRequest, match="base64"):
        decode_base64(value, WHERE)


# --------------------------------------------------------------------------------------------
# decode_data_uri


def test_data_uri_base64() -> None:
    assert decode_data_uri("data:image/png;base64,aGVsbG8=", WHERE) == ("image/png", b"hello")


def test_data_uri_with_parameters() -> None:
    assert decode_data_uri("data:Text/Plain;charset=utf-8;base64,aGk=", WHERE) == (
        "text/plain",
        b"hi",
    )


def test_data_uri_percent_encoded() -> None:
    assert decode_data_uri("data:text/plain,hello%20w%C3%B6rld%2C", WHERE) == (
        "text/plain",
        "hello wörld,".encode(),
    )


def test_data_uri_without_mime() -> None:
    assert decode_data_uri("data:,plain", WHERE) == ("", b"plain")


def test_data_uri_missing_comma() -> None:
    with pytest.raises(BadRequest, match="comma"):
        decode_data_uri("data:image/png;base64", WHERE)


def test_data_uri_bad_base64() -> None:
    with pytest.raises(BadRequest):
        decode_data_uri("data:image/png;base64,@@@", WHERE)


# --------------------------------------------------------------------------------------------
# blob_to_parts


@pytest.mark.parametrize("mime", ["image/png", "IMAGE/PNG", "image/png; foo=bar", "image/webp"])
def test_image_blob(mime: str) -> None:
    clean = mime.lower().split(";")[0].strip()
    assert blob_to_parts(mime, PNG, PdfPages(), WHERE) == [
        {
            "type": "image_url",
            "image_url": {"url": f"data:{clean};base64," + base64.b64encode(PNG).decode()},
        }
    ]


@pytest.mark.parametrize(
    "mime",
    [
        "text/plain",
        "text/csv",
        "text/markdown; charset=utf-8",
        "application/json",
        "application/x-ndjson",
        "application/ld+json",
    ],
)
def test_text_blob(mime: str) -> None:
    assert blob_to_parts(mime, "héllo\n".encode(), PdfPages(), WHERE) == [
        {"type": "text", "text": "héllo\n"}
    ]


def test_text_blob_not_utf8() -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        blob_to_parts("text/plain", b"\xff\xfe", PdfPages(), WHERE)


def test_pdf_blob_becomes_one_image_per_page() -> None:
    media = PdfPages()
    parts = blob_to_parts("application/pdf", b"%PDF-1.4 ...", media, WHERE)

    assert media.rendered == [b"%PDF-1.4 ..."]
    assert parts == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"page-1").decode()},
        },
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"page-2").decode()},
        },
    ]


@pytest.mark.parametrize("mime", ["audio/mpeg", "video/mp4", "application/zip", ""])
def test_other_blob_is_a_placeholder_without_the_bytes(mime: str) -> None:
    data = b"SECRET-BYTES" * 10
    [part] = blob_to_parts(mime, data, PdfPages(), WHERE)

    assert part["type"] == "text"
    assert "SECRET" not in part["text"]
    assert str(len(data)) in part["text"]
    assert (mime or "unknown") in part["text"]


def test_local_media_refuses_non_pdf_bytes() -> None:
    with pytest.raises(BadRequest, match="not a PDF"):
        LocalMedia(Settings()).pdf_pages(b"hello", WHERE)


# --------------------------------------------------------------------------------------------
# file_uri_to_parts with LocalMedia


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """tmp_path/root holds notes.txt and sub/data.json; tmp_path/secret.txt is outside it."""
    inside = tmp_path / "root"
    (inside / "sub").mkdir(parents=True)
    (inside / "notes.txt").write_text("inside the root")
    (inside / "sub" / "data.json").write_text('{"a": 1}')
    (inside / "pic.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("outside the root")
    return inside.resolve()


@pytest.fixture()
def media(root: Path) -> LocalMedia:
    return LocalMedia(Settings(files_root=root))


@pytest.mark.parametrize("uri", ["notes.txt", "./notes.txt", "sub/../notes.txt"])
def test_relative_path_inside_root(media: LocalMedia, uri: str) -> None:
    assert file_uri_to_parts(uri, "text/plain", media, WHERE) == [
        {"type": "text", "text": "inside the root"}
    ]


def test_absolute_path_inside_root(media: LocalMedia, root: Path) -> None:
    assert file_uri_to_parts(str(root / "sub" / "data.json"), "application/json", media, WHERE) == [
        {"type": "text", "text": '{"a": 1}'}
    ]


def test_file_uri_inside_root(media: LocalMedia, root: Path) -> None:
    assert file_uri_to_parts((root / "notes.txt").as_uri(), "text/plain", media, WHERE) == [
        {"type": "text", "text": "inside the root"}
    ]
    assert file_uri_to_parts(f"file://localhost{root}/notes.txt", "text/plain", media, WHERE) == [
        {"type": "text", "text": "inside the root"}
    ]


def test_image_file_inside_root(media: LocalMedia) -> None:
    assert file_uri_to_parts("pic.png", "image/png", media, WHERE) == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
        }
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "../secret.txt",
        "sub/../../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        "sub/%2e%2e/%2e%2e/secret.txt",
        "/etc/passwd",
        "file:///etc/passwd",
        "file:///%2e%2e/etc/passwd",
        "FILE_OUTSIDE",  # replaced by an absolute path to secret.txt below
        "FILE_URI_OUTSIDE",
        "file://otherhost/etc/passwd",
    ],
)
def test_escapes_are_refused(media: LocalMedia, root: Path, uri: str) -> None:
    secret = root.parent / "secret.txt"
    uri = {"FILE_OUTSIDE": str(secret), "FILE_URI_OUTSIDE": secret.as_uri()}.get(uri, uri)

    with pytest.raises(BadRequest) as raised:
        file_uri_to_parts(uri, "text/plain", media, WHERE)
    assert WHERE in raised.value.message
    assert "outside the root" not in raised.value.message


def test_symlink_to_outside_is_refused(media: LocalMedia, root: Path) -> None:
    os.symlink(root.parent / "secret.txt", root / "link.txt")
    os.symlink(root.parent, root / "up")

    for uri in ("link.txt", "up/secret.txt", str(root / "link.txt")):
        with pytest.raises(BadRequest, match="outside LK_FILES_ROOT"):
            file_uri_to_parts(uri, "text/plain", media, WHERE)


def test_symlink_inside_root_is_followed(media: LocalMedia, root: Path) -> None:
    os.symlink(root / "notes.txt", root / "sub" / "alias.txt")
    assert file_uri_to_parts("sub/alias.txt", "text/plain", media, WHERE) == [
        {"type": "text", "text": "inside the root"}
    ]


def test_missing_file_is_a_bad_request(media: LocalMedia) -> None:
    with pytest.raises(BadRequest, match="cannot read"):
        file_uri_to_parts("nope.txt", "text/plain", media, WHERE)


def test_directory_is_a_bad_request(media: LocalMedia) -> None:
    with pytest.raises(BadRequest):
        file_uri_to_parts("sub", "text/plain", media, WHERE)


@pytest.mark.parametrize("uri", ["notes.txt", "/etc/hostname", "file:///etc/hostname"])
def test_without_files_root_local_files_are_off(uri: str) -> None:
    with pytest.raises(BadRequest, match="LK_FILES_ROOT"):
        file_uri_to_parts(uri, "text/plain", LocalMedia(Settings()), WHERE)


def test_data_uri_file_reference() -> None:
    parts = file_uri_to_parts("data:text/plain;base64,aGk=", None, PdfPages(), WHERE)
    assert parts == [{"type": "text", "text": "hi"}]


def test_remote_image_goes_upstream_as_url() -> None:
    url = "https://example.com/cat.png"
    assert file_uri_to_parts(url, "image/png", PdfPages(), WHERE) == [
        {"type": "image_url", "image_url": {"url": url}}
    ]


@pytest.mark.parametrize("mime", ["application/pdf", "text/plain"])
def test_remote_documents_are_not_fetched(mime: str) -> None:
    with pytest.raises(BadRequest, match="does not fetch"):
        file_uri_to_parts("https://example.com/doc", mime, PdfPages(), WHERE)


def test_uploaded_file_reference_is_a_placeholder() -> None:
    uri = "https://generativelanguage.googleapis.com/v1beta/files/abc"
    [part] = file_uri_to_parts(uri, "video/mp4", PdfPages(), WHERE)
    assert part["type"] == "text" and uri in part["text"]


@pytest.mark.parametrize(
    ("uri", "mime"), [(None, "text/plain"), ("", "text/plain"), (5, "text/plain"), ("notes.txt", 5)]
)
def test_file_reference_fields_validated(uri: object, mime: object) -> None:
    with pytest.raises(BadRequest):
        file_uri_to_parts(uri, mime, PdfPages(), WHERE)
