"""Files against the real bundled llama-server: a text file uploaded through each Files API is
read by the model; an uploaded PDF reaches the model as its pages, which the small model (no
vision) refuses with the typed 400 naming the settings that give it vision; the recordings
refer to the uploaded file by its content and the cassette keeps it."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.live.conftest import LiveServer
from tests.pdfs import Page, make_pdf
from tests.support import all_recordings, opened

NOTES = b"The secret word is pelican. Remember it.\n"
QUESTION = "What is the secret word in the file? Answer with the word only."


def test_uploaded_files_are_read_by_the_bundled_model(
    record_server: LiveServer, cassette_dir: Path
) -> None:
    gemini = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(base_url=record_server.url, api_version="v1beta"),
    )
    file = gemini.files.upload(file=io.BytesIO(NOTES), config={"mime_type": "text/plain"})
    answer = gemini.models.generate_content(
        model="gemini-2.5-flash",
        contents=[QUESTION, file],
        config=types.GenerateContentConfig(temperature=0, max_output_tokens=16),
    )
    assert "pelican" in (answer.text or "").lower()

    client = openai.OpenAI(api_key="test", base_url=record_server.url + "/v1", max_retries=0)
    uploaded = client.files.create(file=("notes.txt", NOTES), purpose="user_data")
    chat = client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=0,
        max_tokens=16,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": QUESTION},
                    {"type": "file", "file": {"file_id": uploaded.id}},
                ],
            }
        ],
    )
    assert "pelican" in (chat.choices[0].message.content or "").lower()

    if shutil.which("pdftoppm"):
        pdf = gemini.files.upload(
            file=io.BytesIO(make_pdf(Page(text="pelican"))), config={"mime_type": "application/pdf"}
        )
        with pytest.raises(errors.ClientError) as refused:
            gemini.models.generate_content(model="gemini-2.5-flash", contents=[QUESTION, pdf])
        assert refused.value.code == 400 and "LK_MMPROJ" in str(refused.value.message)

    requests = [r.request for r in all_recordings(cassette_dir / "live.db")]
    assert sum("localaik-file:sha256:" in request for request in requests) == 2
    with opened(cassette_dir / "live.db") as cassette:
        assert NOTES in [stored.data for stored in cassette.files()]
    gemini.close()
