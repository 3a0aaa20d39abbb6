"""Images, PDFs and files through the app: what reaches the upstream, what is refused, and that a
refusal stores nothing. The PDFs are made by the tests and rendered by the real poppler."""

from __future__ import annotations

import base64
import io
import logging
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image

from tests.app.conftest import FakeTransport
from tests.pdfs import Page, corrupt, encrypted, make_pdf
from tests.support import all_recordings, assert_error

GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent"
STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
CHAT = "/v1/chat/completions"
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5270ee20000000049454e44ae426082"
    )
).decode()

poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils is not installed (make system-deps)",
)


def gemini_with(*parts: dict[str, Any], text: str = "What is this?") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}, *parts]}]}


def inline(mime: str, data: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}


def chat_with(*parts: dict[str, Any], text: str = "What is this?") -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}, *parts]}],
    }


def openai_file(data: str, filename: str | None = "doc.pdf") -> dict[str, Any]:
    file: dict[str, Any] = {"file_data": data}
    if filename is not None:
        file["filename"] = filename
    return {"type": "file", "file": file}


def sent_parts(fake: Any) -> list[dict[str, Any]]:
    """The content parts of the one chat request the fake received."""
    [sent] = [r for r in fake.requests if r["path"].endswith("/chat/completions")]
    return sent["body"]["messages"][-1]["content"]  # type: ignore[no-any-return]


def image_sizes(parts: list[dict[str, Any]]) -> list[tuple[int, int]]:
    sizes = []
    for part in parts:
        if part["type"] == "image_url":
            url = part["image_url"]["url"]
            assert url.startswith("data:image/png;base64,")
            sizes.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size)
    return sizes


# -- PDFs -------------------------------------------------------------------------------------


@poppler
@pytest.mark.parametrize("path", [GENERATE, STREAM], ids=["plain", "stream"])
async def test_gemini_pdf_pages_reach_the_upstream_in_order(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str
) -> None:
    pdf = make_pdf(Page(72, 72, "one"), Page(144, 72, "two"), Page(216, 72, "three"))
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(path, json=gemini_with(inline("application/pdf", pdf)))
    assert response.status_code == 200, response.text
    parts = sent_parts(fake)
    assert parts[0] == {"type": "text", "text": "What is this?"}
    assert image_sizes(parts[1:]) == [(100, 100), (200, 100), (300, 100)]
    [recording] = all_recordings(cassette)
    assert base64.b64encode(pdf).decode() in recording.request  # the key holds the PDF's bytes
    assert "image/png" not in recording.request


@poppler
async def test_pdf_dpi_setting(make_localaik: Any, fake: Any) -> None:
    async with make_localaik(pdf_dpi=50) as client:
        response = await client.post(
            GENERATE, json=gemini_with(inline("application/pdf", make_pdf(Page(144, 72))))
        )
    assert response.status_code == 200, response.text
    assert image_sizes(sent_parts(fake)[1:]) == [(100, 50)]


@poppler
@pytest.mark.parametrize(
    ("pdf", "says"),
    [
        (make_pdf(*[Page()] * 3), "the PDF has 3 pages, more than LK_PDF_MAX_PAGES=2"),
        (corrupt(make_pdf()), "the PDF cannot be read: it is damaged or truncated"),
        (encrypted(make_pdf(Page(text="secret"))), "the PDF is encrypted with a password"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj 2 0 obj << /Type /Pages "
            b"/Kids [] /Count 0 >> endobj trailer << /Root 1 0 R >>\n%%EOF",
            "the PDF has no pages",
        ),
    ],
    ids=["over-the-cap", "corrupt", "encrypted", "empty"],
)
@pytest.mark.parametrize("family", ["gemini", "openai"])
async def test_a_pdf_that_cannot_be_rendered_is_a_400_and_nothing_is_stored(
    make_localaik: Any, fake: Any, tmp_path: Path, pdf: bytes, says: str, family: str
) -> None:
    cassette = tmp_path / "c.db"
    data = base64.b64encode(pdf).decode()
    async with make_localaik(mode="record", cassette=cassette, pdf_max_pages=2) as client:
        if family == "gemini":
            response = await client.post(GENERATE, json=gemini_with(inline("application/pdf", pdf)))
        else:
            response = await client.post(
                CHAT, json=chat_with(openai_file(f"data:application/pdf;base64,{data}"))
            )
        healthy = await client.post(GENERATE, json=gemini_with(text="still up?"))
    error = assert_error(response, 400, family)
    assert says in error["message"]
    where = "contents[0].parts[1]" if family == "gemini" else "messages[0].content[1].file"
    assert error["message"].startswith(where)
    assert healthy.status_code == 200
    assert ["still up?" in r.request for r in all_recordings(cassette)] == [True]
    assert [r["path"] for r in fake.requests] == ["/v1/chat/completions"]


# -- OpenAI image and file parts --------------------------------------------------------------


@poppler
async def test_openai_file_part_pdf_becomes_page_images(make_localaik: Any, fake: Any) -> None:
    pdf = base64.b64encode(make_pdf(Page(72, 72), Page(144, 72))).decode()
    async with make_localaik() as client:
        response = await client.post(
            CHAT, json=chat_with(openai_file(f"data:application/pdf;base64,{pdf}"))
        )
        bare = await client.post(CHAT, json=chat_with(openai_file(pdf, filename="report.pdf")))
    assert response.status_code == 200, response.text
    assert bare.status_code == 200, bare.text
    requests = [r["body"]["messages"][0]["content"] for r in fake.requests]
    assert image_sizes(requests[0]) == image_sizes(requests[1]) == [(100, 100), (200, 100)]
    assert response.json()["choices"][0]["message"]["content"].endswith("[2 images]")


async def test_openai_text_file_and_other_files(make_localaik: Any, fake: Any) -> None:
    text = base64.b64encode(b"line one\nline two").decode()
    blob = base64.b64encode(b"\x00\x01secret-bytes").decode()
    async with make_localaik() as client:
        assert (
            await client.post(
                CHAT,
                json=chat_with(
                    openai_file(f"data:text/plain;base64,{text}", "notes.txt"),
                    openai_file(blob, "archive.zip"),
                ),
            )
        ).status_code == 200
    parts = sent_parts(fake)
    assert parts[1] == {"type": "text", "text": "line one\nline two"}
    assert parts[2] == {"type": "text", "text": "Embedded file (application/zip, 14 bytes)"}
    assert "secret-bytes" not in str(fake.requests)


async def test_openai_image_parts_go_up_as_sent(make_localaik: Any, fake: Any) -> None:
    image = {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"},
    }
    remote = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    body = chat_with(image, remote)
    async with make_localaik() as client:
        response = await client.post(CHAT, json=body)
    assert response.status_code == 200, response.text
    [sent] = fake.requests
    assert sent["body"] == body  # nothing rewritten, and nothing fetched


IMAGE = "messages[0].content[1].image_url.url"
FILE = "messages[0].content[1].file"


@pytest.mark.parametrize(
    ("part", "says", "param"),
    [
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}},
            f"{IMAGE}: invalid base64 data",
            IMAGE,
        ),
        (
            {"type": "image_url", "image_url": {}},
            f"Invalid type for '{IMAGE}': expected a string",
            IMAGE,
        ),
        (
            {"type": "file", "file": {"file_id": "file-abc123"}},
            f"{FILE}.file_id: 'file-abc123' was not uploaded to this server",
            f"{FILE}.file_id",
        ),
        (
            {"type": "file", "file": {"file_data": "%%%"}},
            f"{FILE}.file_data: invalid base64 data",
            f"{FILE}.file_data",
        ),
        ({"type": "file", "file": "doc.pdf"}, f"{FILE}: expected an object", FILE),
    ],
    ids=["bad-base64-image", "image-without-url", "file-id", "bad-base64-file", "file-string"],
)
async def test_bad_openai_media_is_a_400_in_every_mode(
    make_localaik: Any, fake: Any, tmp_path: Path, part: dict[str, Any], says: str, param: str
) -> None:
    for mode in ("record", "replay"):
        async with make_localaik(mode=mode, cassette=tmp_path / "c.db") as client:
            error = assert_error(await client.post(CHAT, json=chat_with(part)), 400, "openai")
        assert error["message"].startswith(says), error["message"]
        assert error["param"] == param
    assert fake.requests == []
    assert not (tmp_path / "c.db").exists()


# -- A model without vision -------------------------------------------------------------------


class NoProps(httpx.AsyncBaseTransport):
    """An upstream that is llama-server without `/props` (an older build, another server)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.asked_props = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/props":
            self.asked_props += 1
            return httpx.Response(404, json={"error": {"message": "File Not Found"}})
        return await self.inner.handle_async_request(request)


IMAGE_REQUESTS = [
    (GENERATE, gemini_with(inline("image/png", base64.b64decode(PNG))), "gemini"),
    (STREAM, gemini_with(inline("image/png", base64.b64decode(PNG))), "gemini"),
    (
        CHAT,
        chat_with({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}),
        "openai",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "family"), IMAGE_REQUESTS, ids=["gemini", "gemini-stream", "openai"]
)
@pytest.mark.parametrize("upstream", ["says-in-props", "answers-500"])
async def test_images_for_a_model_without_vision_get_a_400_that_names_the_setting(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str, body: Any, family: str, upstream: str
) -> None:
    fake.vision = False
    transport = NoProps(FakeTransport(fake)) if upstream == "answers-500" else None
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette, transport=transport) as client:
        response = await client.post(path, json=body)
        again = await client.post(path, json=body)
        text_only = await client.post(GENERATE, json=gemini_with(text="no image"))
    for answer in (response, again):
        error = assert_error(answer, 400, family)
        assert "the upstream model cannot read images" in error["message"]
        assert "LK_MMPROJ" in error["message"] and "LK_UPSTREAM" in error["message"]
    assert text_only.status_code == 200
    assert len(all_recordings(cassette)) == 1  # the text-only request, nothing else
    chats = [r for r in fake.requests if r["path"].endswith("/chat/completions")]
    if upstream == "says-in-props":
        assert len(chats) == 1  # refused before forwarding: only the text request went up
    else:
        assert len(chats) == 3 and transport.asked_props == 1  # asked once, then remembered


async def test_a_recorded_image_answer_replays_whatever_the_upstream(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    path, body, _ = IMAGE_REQUESTS[0]
    async with make_localaik(mode="record", cassette=cassette) as client:
        recorded = await client.post(path, json=body)
    assert recorded.status_code == 200
    fake.vision = False
    async with make_localaik(mode="record", cassette=cassette) as client:
        replayed = await client.post(path, json=body)
    assert replayed.content == recorded.content


# -- Gemini files -----------------------------------------------------------------------------


async def test_gemini_inline_text_json_and_other_types(make_localaik: Any, fake: Any) -> None:
    async with make_localaik() as client:
        response = await client.post(
            GENERATE,
            json=gemini_with(
                inline("text/csv", b"a,b\n1,2"),
                inline("application/json", b'{"k": 1}'),
                inline("audio/wav", b"RIFF\x00\x00secret-audio"),
            ),
        )
    assert response.status_code == 200, response.text
    assert sent_parts(fake)[1:] == [
        {"type": "text", "text": "a,b\n1,2"},
        {"type": "text", "text": '{"k": 1}'},
        {"type": "text", "text": "Embedded file (audio/wav, 18 bytes)"},
    ]
    assert "secret-audio" not in str(fake.requests)


@pytest.fixture()
def files_root(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "note.txt").write_text("inside the root")
    (tmp_path / "secret.txt").write_text("outside the root")
    (root / "docs" / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return root


def file_data(uri: str, mime: str = "text/plain") -> dict[str, Any]:
    return {"fileData": {"fileUri": uri, "mimeType": mime}}


async def test_local_files_are_read_below_the_root(
    make_localaik: Any, fake: Any, files_root: Path
) -> None:
    async with make_localaik(files_root=files_root) as client:
        for uri in (
            "docs/note.txt",
            f"file://{files_root}/docs/note.txt",
            "docs/./note.txt",
            "docs/%6Eote.txt",
        ):
            response = await client.post(GENERATE, json=gemini_with(file_data(uri)))
            assert response.status_code == 200, (uri, response.text)
    assert [r["body"]["messages"][0]["content"][1] for r in fake.requests] == [
        {"type": "text", "text": "inside the root"}
    ] * 4


@pytest.mark.parametrize(
    "uri",
    [
        "../secret.txt",
        "docs/../../secret.txt",
        "docs/escape.txt",
        "file:///etc/passwd",
        "/etc/passwd",
        "..%2Fsecret.txt",
        "docs%2F..%2F..%2Fsecret.txt",
        "file:///etc%2Fpasswd",
        "file://localhost/etc/passwd",
    ],
)
async def test_paths_out_of_the_root_are_refused(
    make_localaik: Any, fake: Any, files_root: Path, tmp_path: Path, uri: str
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(files_root=files_root, mode="record", cassette=cassette) as client:
        response = await client.post(GENERATE, json=gemini_with(file_data(uri)))
    error = assert_error(response, 400, "gemini")
    assert "outside LK_FILES_ROOT" in error["message"]
    assert "outside the root" not in str(fake.requests) and fake.requests == []
    assert not cassette.exists()


@pytest.mark.parametrize(
    "uri",
    ["docs/note.txt\x00.png", "docs/note%00.txt", "file:///docs/%00note.txt", "\x00"],
    ids=["raw", "escaped", "file-uri", "alone"],
)
async def test_a_nul_in_a_file_path_is_a_400_through_the_sdk(
    make_localaik: Any,
    fake: Any,
    files_root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    uri: str,
) -> None:
    """The OS calls raise ValueError ("embedded null byte") on such a path: it was a 500
    with a traceback in the log; it is the client's mistake, said in its API's shape."""
    caplog.set_level(logging.DEBUG)
    cassette = tmp_path / "c.db"
    async with make_localaik(files_root=files_root, mode="record", cassette=cassette) as client:
        gemini = genai.Client(
            api_key="test",
            http_options=types.HttpOptions(
                base_url="http://localaik", api_version="v1beta", httpx_async_client=client
            ),
        ).aio
        with pytest.raises(genai_errors.ClientError) as raised:
            await gemini.models.generate_content(
                model="gemini-2.5-flash",
                contents=[
                    types.Part.from_text(text="Summarise the file."),
                    types.Part.from_uri(file_uri=uri, mime_type="text/plain"),
                ],
            )
    assert raised.value.code == 400 and raised.value.status == "INVALID_ARGUMENT"
    assert "NUL" in str(raised.value.message)
    assert fake.requests == [] and not cassette.exists()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "null byte" not in caplog.text and "Traceback" not in caplog.text


async def test_local_files_are_off_without_a_root(make_localaik: Any, fake: Any) -> None:
    async with make_localaik() as client:
        response = await client.post(GENERATE, json=gemini_with(file_data("/etc/hostname")))
    assert "set LK_FILES_ROOT" in assert_error(response, 400, "gemini")["message"]
    assert fake.requests == []


async def test_remote_files_are_never_fetched(make_localaik: Any, fake: Any) -> None:
    async with make_localaik() as client:
        image = await client.post(
            GENERATE,
            json=gemini_with(
                file_data("gs://bucket/cat.png", "image/png"),
                file_data("https://example.com/dog.jpg", "image/jpeg"),
            ),
        )
        pdf = await client.post(
            GENERATE,
            json=gemini_with(file_data("https://example.com/paper.pdf", "application/pdf")),
        )
    assert image.status_code == 200
    assert sent_parts(fake)[1:] == [
        {"type": "image_url", "image_url": {"url": "gs://bucket/cat.png"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}},
    ]
    assert "localaik does not fetch remote files" in assert_error(pdf, 400, "gemini")["message"]
