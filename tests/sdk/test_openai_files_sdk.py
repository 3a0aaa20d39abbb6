"""OpenAI Files through the official openai SDK against a running localaik: create (multipart),
retrieve, list, content, delete, and `file_id` in chat completion and Responses API parts;
recorded against the fake llama-server, then replayed with no upstream, identical ids and
answers."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.pdfs import Page, make_pdf
from tests.secret_tokens import FAKES
from tests.support import LocalaikProcess, assert_error

AWS_KEY = next(fake.token for fake in FAKES if fake.kind == "AWS access key")
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
NOTES = b"The secret word is pelican.\n"
MODEL = "gpt-4o-mini"


def client_for(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)


def ask_chat(client: openai.OpenAI, file_id: str) -> str | None:
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is the secret word?"},
                    {"type": "file", "file": {"file_id": file_id}},
                ],
            }
        ],
    )
    return answer.choices[0].message.content


def ask_responses(client: openai.OpenAI, file_id: str) -> str:
    answer = client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is the secret word?"},
                    {"type": "input_file", "file_id": file_id},
                ],
            }
        ],
    )
    return answer.output_text


def session(client: openai.OpenAI) -> dict[str, Any]:
    first = client.files.create(file=("notes.txt", NOTES), purpose="user_data")
    again = client.files.create(file=("notes.txt", NOTES), purpose="user_data")
    other = client.files.create(file=("table.csv", b"col\n1\n"), purpose="assistants")
    return {
        "files": [f.model_dump() for f in (first, again, other)],
        "got": client.files.retrieve(first.id).model_dump(),
        "listed": [f.id for f in client.files.list()],
        "paged": [f.id for f in client.files.list(limit=1, order="asc")],
        "purpose": [f.id for f in client.files.list(purpose="assistants")],
        "content": client.files.content(first.id).read(),
        "chat": ask_chat(client, again.id),
        "responses": ask_responses(client, first.id),
        "deleted": client.files.delete(other.id).model_dump(),
        "after": [f.id for f in client.files.list()],
    }


def test_files_record_then_replay_without_upstream_with_the_same_ids(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "files.db"
    env = {"LK_MODE": "record", "LK_UPSTREAM": fake_llama.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        recorded = session(client_for(server.url))
    first, again, other = recorded["files"]
    assert first["id"].startswith("file-") and first["id"] != again["id"]
    assert first["bytes"] == len(NOTES) and first["filename"] == "notes.txt"
    assert first["purpose"] == "user_data" and first["status"] == "processed"
    assert recorded["got"] == first
    assert recorded["listed"] == [other["id"], again["id"], first["id"]]
    assert recorded["paged"] == [first["id"], again["id"], other["id"]]  # the pager's pages
    assert recorded["purpose"] == [other["id"]]
    assert recorded["content"] == NOTES
    expected = "Echo: What is the secret word?\n" + NOTES.decode().strip()
    assert recorded["chat"] == recorded["responses"] == expected
    assert recorded["deleted"] == {"id": other["id"], "object": "file", "deleted": True}
    assert recorded["after"] == [again["id"], first["id"]]
    chats = [r for r in fake_llama.requests() if r["path"] == "/v1/chat/completions"]
    assert len(chats) == 2
    with closing(sqlite3.connect(cassette)) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone() == (2,)

    fake_llama.reset()
    env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        replayed = session(client_for(server.url))
    assert replayed == recorded
    assert fake_llama.requests() == []


def test_a_re_uploaded_file_hits_and_bad_input_is_a_clear_4xx(
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
        client = client_for(server.url)
        live = ask_chat(client, client.files.create(file=("n.txt", NOTES), purpose="user_data").id)
        with pytest.raises(openai.BadRequestError) as secret:
            client.files.create(file=("k.txt", f"aws = {AWS_KEY}".encode()), purpose="user_data")
        with pytest.raises(openai.APIStatusError) as big:
            client.files.create(file=("big.txt", b"x" * 2000), purpose="user_data")
        with pytest.raises(openai.BadRequestError) as purpose:
            client.files.create(file=("n.txt", NOTES), purpose="homework")  # type: ignore[arg-type]
        with pytest.raises(openai.NotFoundError) as missing:
            client.files.retrieve("file-nope")
        with pytest.raises(openai.BadRequestError) as unknown:
            ask_chat(client, "file-nope")
        not_form = httpx.post(server.url + "/v1/files", json={"purpose": "user_data"})
    assert "AWS" in secret.value.message and AWS_KEY not in secret.value.message
    assert big.value.status_code == 413 and "LK_MAX_BODY_SIZE" in big.value.message
    assert "purpose" in purpose.value.message
    assert "file-nope" in missing.value.message
    assert "file-nope" in unknown.value.message and "not uploaded" in unknown.value.message
    assert "multipart/form-data" in assert_error(not_form, 400, "openai")["message"]
    with closing(sqlite3.connect(cassette)) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone() == (1,)

    env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        client = client_for(server.url)
        client.files.create(file=("other.txt", b"other"), purpose="user_data")
        renamed = client.files.create(file=("renamed.txt", NOTES), purpose="user_data")
        assert ask_chat(client, renamed.id) == live  # another name, the same bytes: a hit


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils is not installed (make system-deps)",
)
def test_an_uploaded_pdf_is_sent_as_its_pages(localaik_url: str, fake_llama: FakeLlama) -> None:
    client = client_for(localaik_url)
    pdf = make_pdf(Page(72, 72, "one"), Page(144, 72, "two"))
    file = client.files.create(file=("doc.pdf", pdf), purpose="user_data")
    assert ask_responses(client, file.id) == "Echo: What is the secret word? [2 images]"
