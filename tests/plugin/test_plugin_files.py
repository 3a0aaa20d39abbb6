"""Files under the pytest plugin: each test's uploads live in its own cassette, recorded in
one session and replayed in the next with no upstream, with the same ids (the fake
llama-server upstream, as in `test_pytest_plugin.py`)."""

from __future__ import annotations

import pytest

from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, SDK_HELPERS, inner, run

__all__ = ["inner"]  # the fixture, used below by name

FILE_TESTS = (
    SDK_HELPERS
    + """
import io


def ask_about(data):
    client = genai.Client()
    try:
        file = client.files.upload(file=io.BytesIO(data), config={"mime_type": "text/plain"})
        answer = client.models.generate_content(model="gemini-2.5-flash", contents=["Read.", file])
        return file.name, answer.text
    finally:
        client.close()


def test_one(localaik):
    name, text = ask_about(b"first file")
    Path(os.environ["NAMES"]).open("a").write(f"one {name}\\n")
    assert text == "Echo: Read.\\nfirst file"


def test_two(localaik):
    name, text = ask_about(b"first file")  # its own cassette: the same first name
    Path(os.environ["NAMES"]).open("a").write(f"two {name}\\n")
    with OpenAI() as client:
        uploaded = client.files.create(file=("t.txt", b"second file"), purpose="user_data")
        chat = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": [
                {"type": "file", "file": {"file_id": uploaded.id}}]}])
    assert chat.choices[0].message.content == "Echo: second file"
"""
)


def test_uploads_are_per_test_and_replay_with_the_same_names(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_files=FILE_TESTS)
    names = inner.path / "names.txt"
    monkeypatch.setenv("NAMES", str(names))
    run(inner, "--localaik-mode=record").assert_outcomes(passed=2)
    recorded = names.read_text().splitlines()
    names.unlink()
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    run(inner, "--localaik-mode=replay").assert_outcomes(passed=2)
    replayed = names.read_text().splitlines()
    assert replayed == recorded
    assert recorded[0].split()[1] == recorded[1].split()[1]
