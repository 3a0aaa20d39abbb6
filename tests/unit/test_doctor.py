"""`localaik doctor`: each check against the real machine, with the environment steering it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from localaik.cli import cli
from tests.fakes.fake_llama import FakeLlama
from tests.unit.test_verify import chat, record_cassette

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils is not installed (make system-deps)"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("LK_") or name in ("CI", "PORT"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LK_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)


def doctor(**env: str) -> tuple[int, dict[str, tuple[str, str]]]:
    result = CliRunner().invoke(cli, ["doctor", "--json"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    checks = json.loads(result.output)
    return result.exit_code, {c["name"]: (c["status"], c["detail"]) for c in checks}


@pytest.fixture()
def fake_upstream() -> Iterator[str]:
    with FakeLlama.start() as fake:
        yield f"{fake.url}/v1"


def test_the_text_form_has_a_line_per_check() -> None:
    result = CliRunner().invoke(cli, ["doctor"], env={"LK_MODE": "replay"})
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines] == [
        "python",
        "settings",
        "llama-server",
        "model",
        "poppler",
        "files",
        "cassette",
        "cassettes",
    ]
    assert all(line.split()[0] in ("ok", "warn", "fail") for line in lines)


def test_a_bad_setting_fails_and_says_which() -> None:
    code, checks = doctor(LK_PDF_DPI="9000")
    assert code == 1
    assert checks["settings"] == (
        "fail",
        "LK_PDF_DPI='9000': expected a whole number from 1 to 600",
    )
    assert "cassette" not in checks


def test_record_without_llama_server_or_model_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}/no-bin:{os.defpath}")
    code, checks = doctor(LK_MODE="record")
    assert code == 1
    assert checks["llama-server"][0] == "fail"
    assert "localaik runtime install" in checks["llama-server"][1]
    assert checks["model"] == (
        "fail",
        "smollm2-135m is not installed: run `localaik runtime install --model smollm2-135m`",
    )


def test_replay_needs_no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}/no-bin:{os.defpath}")
    code, checks = doctor(CI="true")
    assert code == 0
    assert checks["settings"] == ("ok", "mode replay (CI is set)")
    assert checks["llama-server"][0] == checks["model"][0] == "warn"
    assert checks["model"][1].endswith("(not needed in replay)")
    assert checks["cassette"] == (
        "warn",
        "cassettes/localaik.db does not exist: every request will be a replay miss",
    )


def test_a_model_file_given_by_path(tmp_path: Path) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF")
    _, checks = doctor(LK_MODEL=str(model), LK_MMPROJ=str(model))
    assert checks["model"] == ("ok", f"{model}; vision projector {model}")
    code, checks = doctor(LK_MODEL=str(tmp_path / "gone.gguf"))
    assert code == 1 and checks["model"][0] == "fail"


def test_an_external_upstream_is_asked_for_its_health(fake_upstream: str) -> None:
    code, checks = doctor(LK_UPSTREAM=fake_upstream)
    assert code == 0
    assert checks["upstream"] == ("ok", f"{fake_upstream} answers /health with 200")
    assert "llama-server" not in checks and "model" not in checks


def test_an_upstream_that_does_not_answer() -> None:
    code, checks = doctor(LK_UPSTREAM="http://127.0.0.1:9/v1")
    assert code == 1
    assert checks["upstream"] == ("fail", "http://127.0.0.1:9/v1 does not answer (ConnectError)")
    code, checks = doctor(LK_UPSTREAM="http://127.0.0.1:9/v1", LK_MODE="replay")
    assert code == 0 and checks["upstream"][0] == "warn"


@needs_poppler
def test_poppler_renders_standard_fonts() -> None:
    status, detail = doctor()[1]["poppler"]
    assert status == "ok"
    assert detail.startswith("pdftoppm version ") and detail.endswith("standard PDF fonts render")


@needs_poppler
def test_missing_fonts_are_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?><fontconfig></fontconfig>')
    code, checks = doctor(FONTCONFIG_FILE=str(config))
    assert checks["poppler"] == (
        "warn",
        "text in the standard PDF fonts does not show: install fonts-liberation",
    )


def test_missing_poppler_is_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _, checks = doctor(LK_MODE="replay")
    assert checks["poppler"] == (
        "warn",
        "pdfinfo and pdftoppm not found: PDF input gets a 400; "
        "install poppler-utils and fonts-liberation (replay needs no "
        "poppler)",
    )


def test_files_root(tmp_path: Path) -> None:
    _, checks = doctor()
    assert checks["files root"][0] == "ok" and "refused" in checks["files root"][1]
    _, checks = doctor(LK_FILES_ROOT=str(tmp_path))
    assert checks["files root"] == ("ok", f"{tmp_path}: fileData may read files below it")
    code, checks = doctor(LK_FILES_ROOT=str(tmp_path / "missing"))
    assert code == 1 and checks["files root"][0] == "fail"


def test_cassette_counts_recordings_and_spots_strangers(tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "localaik.db"
    record_cassette(cassette, [chat("one"), chat("two"), chat("three")])
    _, checks = doctor(LK_MODE="replay")
    assert checks["cassette"] == ("ok", "cassettes/localaik.db (3 recordings), opened read-only")
    _, checks = doctor(LK_MODE="record")
    assert checks["cassette"] == ("ok", "cassettes/localaik.db (3 recordings)")
    stranger = tmp_path / "notes.db"
    stranger.write_text("not sqlite at all, " * 100)
    _, checks = doctor(LK_MODE="replay", LK_CASSETTE=str(stranger))
    assert checks["cassette"][1].startswith(f"{stranger} (cannot be read as a cassette: ")


def test_an_embeddings_model_of_its_own_is_checked(tmp_path: Path) -> None:
    chat = tmp_path / "chat.gguf"
    chat.write_bytes(b"GGUF")
    code, checks = doctor(
        LK_MODE="record", LK_MODEL=str(chat), LK_EMBED_MODEL=str(tmp_path / "embed.gguf")
    )
    assert code == 1
    assert checks["embeddings"] == ("fail", f"{tmp_path / 'embed.gguf'}: no such file")
    (tmp_path / "embed.gguf").write_bytes(b"GGUF")
    code, checks = doctor(
        LK_MODE="record", LK_MODEL=str(chat), LK_EMBED_MODEL=str(tmp_path / "embed.gguf")
    )
    assert checks["embeddings"] == ("ok", str(tmp_path / "embed.gguf"))
    _, checks = doctor(LK_MODE="record", LK_MODEL=str(chat), LK_EMBED_MODEL=str(chat))
    assert "embeddings" not in checks  # the chat model: nothing more to check


def test_once_warns_without_a_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`once` serves without a model (it replays the cassettes that exist)."""
    monkeypatch.setenv("PATH", f"{tmp_path}/no-bin:{os.defpath}")
    code, checks = doctor(LK_MODE="once")
    assert code == 0
    assert checks["settings"] == ("ok", "mode once")
    assert checks["llama-server"][0] == checks["model"][0] == "warn"
    assert checks["model"][1].endswith(
        "(once needs it only to record a cassette that does not exist yet)"
    )
