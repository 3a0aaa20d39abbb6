"""Gemini Files through the official google-genai SDK against a running localaik: the
resumable upload, get, list, delete, and `fileData` naming an uploaded file; recorded against
the fake llama-server, then replayed with no upstream, with identical answers and ids."""

from __future__ import annotations

import asyncio
import io
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.fake_llama import FakeLlama
from tests.pdfs import Page, make_pdf
from tests.secret_tokens import FAKES
from tests.support import LocalaikProcess, assert_error

OPENAI_KEY = next(fake.token for fake in FAKES if fake.kind == "OpenAI key")
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
NOTES = b"The secret word is pelican.\n"
MODEL = "gemini-2.5-flash"


def gemini(url: str) -> genai.Client:
    return genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )


def upload(client: genai.Client, data: bytes = NOTES, name: str = "notes") -> types.File:
    return client.files.upload(
        file=io.BytesIO(data), config={"mime_type": "text/plain", "display_name": name}
    )


async def async_session(client: genai.Client) -> list[Any]:
    """The async client's upload (its own chunk loop), get and list."""
    aio = client.aio
    try:
        file = await aio.files.upload(
            file=io.BytesIO(b"async bytes"), config={"mime_type": "text/plain"}
        )
        assert file.name
        got = await aio.files.get(name=file.name)
        names = [f.name async for f in await aio.files.list()]
        return [file.model_dump(mode="json"), got.model_dump(mode="json"), names]
    finally:
        await aio.aclose()


def session(client: genai.Client) -> dict[str, Any]:
    """Every Files operation and a question about the file, as the test sees them."""
    first = upload(client)
    again = upload(client)  # the same bytes again: a new name, as the real API gives
    other = upload(client, b"col\n1\n", "table")
    assert first.name and again.name and other.name
    got = client.files.get(name=first.name)
    listed = [f.name for f in client.files.list(config={"page_size": 2})]
    asked = client.models.generate_content(
        model=MODEL, contents=["What is the secret word?", again]
    )
    streamed = [
        chunk.text
        for chunk in client.models.generate_content_stream(model=MODEL, contents=["Stream.", first])
    ]
    client.files.delete(name=other.name)
    after = [f.name for f in client.files.list()]
    return {
        "streamed": streamed,
        "async": asyncio.run(async_session(client)),
        "files": [f.model_dump(mode="json") for f in (first, again, other)],
        "got": got.model_dump(mode="json"),
        "listed": listed,
        "answer": asked.text,
        "after": after,
    }


def test_files_record_then_replay_without_upstream_with_the_same_ids(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "files.db"
    env = {"LK_MODE": "record", "LK_UPSTREAM": fake_llama.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        recorded = session(gemini(server.url))
    first, again, other = recorded["files"]
    assert first["name"] != again["name"] and first["name"].startswith("files/")
    assert first["uri"] == "https://generativelanguage.googleapis.com/v1beta/" + first["name"]
    assert first["mime_type"] == "text/plain" and first["size_bytes"] == len(NOTES)
    assert first["state"] == "ACTIVE" and first["display_name"] == "notes"
    assert recorded["got"] == first
    assert recorded["listed"] == [first["name"], again["name"], other["name"]]
    assert recorded["answer"] == "Echo: What is the secret word?\n" + NOTES.decode().strip()
    assert recorded["after"] == [first["name"], again["name"]]
    assert "".join(recorded["streamed"]) == "Echo: Stream.\n" + NOTES.decode().strip()
    uploaded, got, names = recorded["async"]
    assert uploaded == got and uploaded["size_bytes"] == len(b"async bytes")
    assert names == [first["name"], again["name"], uploaded["name"]]
    chat, _ = [r for r in fake_llama.requests() if r["path"] == "/v1/chat/completions"]
    assert chat["body"]["messages"][0]["content"][1] == {"type": "text", "text": NOTES.decode()}
    with closing(sqlite3.connect(cassette)) as db:
        rows = db.execute(
            "SELECT mime_type, display_name, size FROM files ORDER BY size"
        ).fetchall()
    assert rows == [
        ("text/plain", "table", 6),
        ("text/plain", "", len(b"async bytes")),
        ("text/plain", "notes", len(NOTES)),
    ]

    fake_llama.reset()
    env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        replayed = session(gemini(server.url))
    assert replayed == recorded
    assert fake_llama.requests() == []


def test_a_request_naming_a_re_uploaded_file_hits_and_an_unknown_one_is_a_400(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "files.db"
    env = {"LK_MODE": "record", "LK_UPSTREAM": fake_llama.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        client = gemini(server.url)
        file = upload(client)
        live = client.models.generate_content(model=MODEL, contents=["Read it.", file])
        count = client.models.count_tokens(model=MODEL, contents=["Read it.", file])
    env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        client = gemini(server.url)
        upload(client, b"something else", "other")  # a different order of uploads: new ids
        reuploaded = upload(client)
        assert reuploaded.name == file.name  # the first upload of these bytes in this run
        replayed = client.models.generate_content(model=MODEL, contents=["Read it.", reuploaded])
        counted = client.models.count_tokens(model=MODEL, contents=["Read it.", reuploaded])
        second = upload(client)  # a second upload: another name, the same content
        assert second.name != file.name
        by_second = client.models.generate_content(model=MODEL, contents=["Read it.", second])
        with pytest.raises(errors.ClientError) as unknown:
            client.models.generate_content(
                model=MODEL,
                contents=[
                    "Read it.",
                    types.Part.from_uri(
                        file_uri="https://generativelanguage.googleapis.com/v1beta/files/nope",
                        mime_type="text/plain",
                    ),
                ],
            )
        with pytest.raises(errors.ClientError) as missing:
            client.files.get(name="files/nope")
    assert replayed.text == by_second.text == live.text
    assert counted.total_tokens == count.total_tokens
    assert unknown.value.code == 400 and "files/nope was not uploaded" in str(unknown.value)
    assert missing.value.code == 404 and "files/nope" in str(missing.value)


def test_bad_uploads_are_clear_4xx_in_gemini_shape_and_store_nothing(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "files.db"
    env = {
        "LK_MODE": "record",
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_CASSETTE": str(cassette),
        "LK_MAX_BODY_SIZE": "1000",
    }
    with LocalaikProcess(env) as server:
        client = gemini(server.url)
        with pytest.raises(errors.ClientError) as secret:
            upload(client, f"key = {OPENAI_KEY}\n".encode())
        with pytest.raises(errors.ClientError) as big:
            upload(client, b"x" * 2000)
        plain = httpx.post(
            server.url + "/upload/v1beta/files",
            headers={"X-Goog-Upload-Protocol": "multipart", "X-Goog-Upload-Command": "start"},
            content=b"{}",
        )
        unknown = httpx.post(
            server.url + "/upload/v1beta/files?upload_id=nope",
            headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
            content=b"abc",
        )
        listed = list(client.files.list())
    assert secret.value.code == 400 and "OpenAI" in str(secret.value)
    assert OPENAI_KEY not in str(secret.value)
    assert big.value.code == 413 and "LK_MAX_BODY_SIZE" in str(big.value)
    assert "resumable" in assert_error(plain, 400, "gemini")["message"]
    assert "upload_id" in assert_error(unknown, 404, "gemini")["message"]
    assert listed == []
    if cassette.exists():
        with closing(sqlite3.connect(cassette)) as db:
            assert db.execute("SELECT count(*) FROM files").fetchone() == (0,)


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils is not installed (make system-deps)",
)
def test_an_uploaded_pdf_is_sent_as_its_pages(localaik_url: str, fake_llama: FakeLlama) -> None:
    client = gemini(localaik_url)
    pdf = make_pdf(Page(72, 72, "one"), Page(144, 72, "two"))
    file = client.files.upload(file=io.BytesIO(pdf), config={"mime_type": "application/pdf"})
    answer = client.models.generate_content(model=MODEL, contents=["Summarise.", file])
    assert answer.text == "Echo: Summarise. [2 images]"
    [chat] = fake_llama.requests()
    parts = chat["body"]["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url", "image_url"]


def test_an_upload_to_a_named_cassette_is_kept_there(fake_llama: FakeLlama, tmp_path: Path) -> None:
    env = {
        "LK_MODE": "record",
        "LK_UPSTREAM": fake_llama.url + "/v1",
        "LK_CASSETTE": str(tmp_path / "default.db"),
    }
    with LocalaikProcess(env) as server:
        client = genai.Client(
            api_key="test",
            http_options=types.HttpOptions(
                base_url=server.url, api_version="v1beta", headers={"X-Localaik-Cassette": "named"}
            ),
        )
        file = upload(client)
        client.models.generate_content(model=MODEL, contents=["Read it.", file])
        assert [f.name for f in client.files.list()] == [file.name]
        assert list(gemini(server.url).files.list()) == []  # the default cassette's: none
    with closing(sqlite3.connect(tmp_path / "named.db")) as db:
        assert db.execute("SELECT size FROM files").fetchall() == [(len(NOTES),)]
        assert db.execute("SELECT count(*) FROM recordings").fetchone() == (1,)
    assert not (tmp_path / "default.db").exists()


def test_a_v1_client_has_files_too_beside_openai_s(
    localaik_url: str, fake_llama: FakeLlama
) -> None:
    client = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=localaik_url, api_version="v1")
    )
    file = upload(client)
    assert file.name and client.files.get(name=file.name).name == file.name
    answer = client.models.generate_content(model=MODEL, contents=["Read it.", file])
    assert answer.text == "Echo: Read it.\n" + NOTES.decode().strip()
    # The session's server is shared: other tests' uploads may be listed beside this one.
    assert file.name in [f.name for f in client.files.list()]
    client.files.delete(name=file.name)
    assert file.name not in [f.name for f in client.files.list()]
    # The same paths without google-genai's headers are OpenAI's.
    listed = httpx.get(localaik_url + "/v1/files").json()
    assert listed["object"] == "list"
