"""Images and PDFs against the real bundled llama-server, whose small model has no vision: the
SDKs get a typed 400 that names the settings giving the model vision, and nothing is stored."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.live.conftest import LiveServer
from tests.pdfs import Page, make_pdf
from tests.support import all_recordings

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5270ee20000000049454e44"
    "ae426082"
)


def test_images_and_pdfs_for_the_small_model_are_a_typed_400(
    record_server: LiveServer, cassette_dir: Path
) -> None:
    client = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(base_url=record_server.url, api_version="v1beta"),
    )
    parts = [types.Part.from_bytes(data=PNG, mime_type="image/png")]
    if shutil.which("pdftoppm"):
        parts.append(
            types.Part.from_bytes(data=make_pdf(Page(text="hello")), mime_type="application/pdf")
        )
    for part in parts:
        with pytest.raises(errors.ClientError) as refused:
            client.models.generate_content(
                model="gemini-2.5-flash", contents=["What is in this?", part]
            )
        assert refused.value.code == 400
        assert "the upstream model cannot read images" in str(refused.value.message)
        assert "LK_MMPROJ" in str(refused.value.message)
    with pytest.raises(openai.BadRequestError) as openai_refused:
        openai.OpenAI(
            api_key="test", base_url=record_server.url + "/v1", max_retries=0
        ).chat.completions.create(
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
    assert "LK_MMPROJ" in openai_refused.value.message
    assert all_recordings(cassette_dir / "live.db") == []  # nothing stored
    client.close()
