"""PDFs, images and files sent by the official SDKs, unmodified, through a running localaik:
what reaches the (fake) upstream, that replay needs no poppler, and the refusal of images for a
model without vision. The PDFs are made by the tests and rendered by the real poppler."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.fakes.fake_llama import FakeLlama
from tests.pdfs import Page, make_pdf
from tests.sdk.test_record_replay import dump
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5270ee20000000049454e44"
    "ae426082"
)

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils is not installed (make system-deps)",
)


def gemini(url: str, version: str = "v1beta") -> genai.Client:
    return genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version=version)
    )


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)


def page_sizes(fake: FakeLlama) -> list[list[tuple[int, int]]]:
    """Per chat request the fake received, the pixel sizes of its image parts."""
    out = []
    for request in fake.requests():
        if request["path"] != "/v1/chat/completions":
            continue
        sizes = []
        for message in request["body"]["messages"]:
            for part in message["content"] if isinstance(message["content"], list) else []:
                if part["type"] == "image_url":
                    data = part["image_url"]["url"].split(",", 1)[1]
                    sizes.append(Image.open(io.BytesIO(base64.b64decode(data))).size)
        out.append(sizes)
    return out


PDF = make_pdf(Page(72, 72, "one"), Page(144, 72, "two"))


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_google_genai_pdf_from_bytes_records_then_replays_without_poppler(
    fake_llama: FakeLlama, tmp_path: Path, version: str
) -> None:
    cassette = tmp_path / "c.db"
    contents: list[Any] = [
        "Summarise this document.",
        types.Part.from_bytes(data=PDF, mime_type="application/pdf"),
    ]
    with LocalaikProcess(
        {"LK_MODE": "record", "LK_UPSTREAM": fake_llama.url + "/v1", "LK_CASSETTE": str(cassette)}
    ) as server:
        client = gemini(server.url, version)
        live = client.models.generate_content(model="gemini-2.5-flash", contents=contents)
    assert live.text == "Echo: Summarise this document. [2 images]"
    assert page_sizes(fake_llama) == [[(100, 100), (200, 100)]]

    no_poppler = tmp_path / "bin"
    no_poppler.mkdir()
    with LocalaikProcess(
        {
            "LK_MODE": "replay",
            "LK_UPSTREAM": DEAD_UPSTREAM,
            "LK_CASSETTE": str(cassette),
            "PATH": str(no_poppler),
        }
    ) as server:
        client = gemini(server.url, version)
        replayed = client.models.generate_content(model="gemini-2.5-flash", contents=contents)
        # Another PDF: a miss, not a poppler error.
        with pytest.raises(errors.ClientError) as missed:
            client.models.generate_content(
                model="gemini-2.5-flash",
                contents=[
                    "Summarise this document.",
                    types.Part.from_bytes(
                        data=make_pdf(Page(72, 72, "other")), mime_type="application/pdf"
                    ),
                ],
            )
    assert dump(replayed) == dump(live)  # headers too, but for Date
    assert missed.value.code == 404 and "replay miss" in str(missed.value.message)


def test_google_genai_text_and_image_parts(localaik_url: str, fake_llama: FakeLlama) -> None:
    client = gemini(localaik_url)
    answer = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=[
            "Read these.",
            types.Part.from_bytes(data=b"col\n1", mime_type="text/csv"),
            types.Part.from_bytes(data=PNG, mime_type="image/png"),
        ],
    )
    assert answer.text == "Echo: Read these.\ncol\n1 [1 images]"
    [request] = fake_llama.requests()
    assert request["body"]["messages"][0]["content"][2] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }


def test_openai_image_url_and_pdf_file(localaik_url: str, fake_llama: FakeLlama) -> None:
    image_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client = openai_client(localaik_url)
    with_image = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": image_url}},
                ],
            }
        ],
    )
    with_pdf = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise."},
                    {
                        "type": "file",
                        "file": {
                            "filename": "doc.pdf",
                            "file_data": "data:application/pdf;base64,"
                            + base64.b64encode(PDF).decode(),
                        },
                    },
                ],
            }
        ],
    )
    assert with_image.choices[0].message.content == "Echo: What is this? [1 images]"
    assert with_pdf.choices[0].message.content == "Echo: Summarise. [2 images]"
    sent = fake_llama.requests()[0]["body"]["messages"][0]["content"][1]
    assert sent == {"type": "image_url", "image_url": {"url": image_url}}
    assert page_sizes(fake_llama) == [[(1, 1)], [(100, 100), (200, 100)]]


def test_a_model_without_vision_is_a_typed_400_naming_the_setting(
    localaik_url: str, fake_llama: FakeLlama
) -> None:
    fake_llama.set_vision(False)
    client = gemini(localaik_url)
    with pytest.raises(errors.ClientError) as gemini_error:
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=["What is this?", types.Part.from_bytes(data=PNG, mime_type="image/png")],
        )
    with pytest.raises(openai.BadRequestError) as openai_error:
        openai_client(localaik_url).chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/png;base64," + base64.b64encode(PNG).decode()
                            },
                        }
                    ],
                }
            ],
        )
    assert gemini_error.value.code == 400
    for message in (str(gemini_error.value.message), openai_error.value.message):
        assert "the upstream model cannot read images" in message
        assert "LK_MMPROJ" in message


def test_anthropic_document_and_image_blocks(localaik_url: str, fake_llama: FakeLlama) -> None:
    with anthropic.Anthropic(api_key="test", base_url=localaik_url, max_retries=0) as client:
        answer = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": base64.b64encode(PDF).decode(),
                            },
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "text",
                                "media_type": "text/plain",
                                "data": "plain words",
                            },
                        },
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": base64.b64encode(PNG).decode(),
                            },
                        },
                        {"type": "text", "text": "Compare them."},
                    ],
                }
            ],
        )
        with pytest.raises(anthropic.BadRequestError) as remote_pdf:
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=64,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "source": {"type": "url", "url": "https://example.com/paper.pdf"},
                            },
                            {"type": "text", "text": "Read it."},
                        ],
                    }
                ],
            )
    assert answer.content[0].text.endswith("[3 images]")
    assert page_sizes(fake_llama) == [[(100, 100), (200, 100), (1, 1)]]
    sent = fake_llama.requests()[0]["body"]["messages"][-1]["content"]
    assert {"type": "text", "text": "plain words"} in sent
    assert "localaik does not fetch remote documents" in remote_pdf.value.message
    assert len(fake_llama.requests()) == 1  # the remote PDF was neither fetched nor forwarded


def test_anthropic_image_for_a_model_without_vision(
    localaik_url: str, fake_llama: FakeLlama
) -> None:
    fake_llama.set_vision(False)
    with anthropic.Anthropic(api_key="test", base_url=localaik_url, max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=64,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": base64.b64encode(PNG).decode(),
                                },
                            }
                        ],
                    }
                ],
            )
    assert "the upstream model cannot read images" in refused.value.message
    assert "LK_MMPROJ" in refused.value.message
