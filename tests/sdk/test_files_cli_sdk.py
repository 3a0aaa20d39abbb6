"""The cassette commands on a cassette holding uploaded files that the real SDKs recorded:
`show --files` lists them, `export` writes them and `import` restores them (a replay of the
imported cassette answers as the live run did), `merge` keeps both sides' files, `verify`
checks each file's hash and that every recording referring to a file has it."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import openai
from google import genai
from google.genai import types

from tests.fakes.fake_llama import FakeLlama
from tests.sdk.test_cassette_cli_sdk import cli
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
NOTES = b"The secret word is pelican.\n"


def conversation(url: str) -> list[str | None]:
    gemini = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )
    client = openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)
    file = gemini.files.upload(
        file=io.BytesIO(NOTES), config={"mime_type": "text/plain", "display_name": "notes"}
    )
    asked = gemini.models.generate_content(model="gemini-2.5-flash", contents=["Read.", file])
    uploaded = client.files.create(file=("table.csv", b"col\n1\n"), purpose="user_data")
    chat = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": [{"type": "file", "file": {"file_id": uploaded.id}}]}
        ],
    )
    return [asked.text, chat.choices[0].message.content]


def test_show_export_import_and_verify_understand_uploaded_files(
    fake_llama: FakeLlama, tmp_path: Path
) -> None:
    cassette = tmp_path / "files.db"
    env = {"LK_MODE": "record", "LK_UPSTREAM": fake_llama.url + "/v1", "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(env) as server:
        live = conversation(server.url)

    shown = cli("show", "--files", "-c", str(cassette), "--json")
    assert shown.returncode == 0, shown.stderr
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    seen = sorted((r["mime_type"], r["size"], r["display_name"], r["recordings"]) for r in rows)
    assert seen == [
        ("text/csv", 6, "table.csv", 1),
        ("text/plain", len(NOTES), "notes", 1),
    ]
    assert cli("verify", str(cassette)).returncode == 0

    for target in (tmp_path / "export.jsonl", tmp_path / "exported"):
        done = cli("export", str(cassette), "--to", str(target))
        assert done.returncode == 0 and "2 uploaded files" in done.stderr, done.stderr
        restored = tmp_path / f"restored-{target.stem}.db"
        done = cli("import", str(target), "--into", str(restored))
        assert done.returncode == 0, done.stderr
        verified = cli("verify", str(restored))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        env = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(restored)}
        with LocalaikProcess(env) as server:
            assert conversation(server.url) == live
    assert len(list((tmp_path / "exported").glob("file.*.json"))) == 2

    # merge: the union of the sides' files (ours lacks one its recording refers to).
    ours = tmp_path / "ours.db"
    shutil.copyfile(cassette, ours)
    with closing(sqlite3.connect(ours)) as db, db:
        db.execute("DELETE FROM files WHERE mime_type = 'text/csv'")
    assert cli("verify", str(ours)).returncode != 0
    merged = cli("merge", str(ours), str(cassette), "--into", str(tmp_path / "merged.db"))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    verified = cli("verify", str(tmp_path / "merged.db"))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    with closing(sqlite3.connect(cassette)) as db, db:
        db.execute("UPDATE files SET data = ? WHERE mime_type = 'text/csv'", (b"col\n2\n",))
        db.execute("DELETE FROM files WHERE mime_type = 'text/plain'")
    verified = cli("verify", str(cassette))
    out = verified.stdout + verified.stderr
    assert verified.returncode != 0
    assert "its bytes do not hash to its name" in out
    assert "refers to uploaded file" in out and "which the cassette does not hold" in out
