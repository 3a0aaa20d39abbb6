"""The bundled runtime's embeddings llama-server: its command line (`embedding_server_args`),
its settings, and which servers `serve` builds (`runtime.bundled`, through `cli.serve`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from localaik.cli.serve import runtimes
from localaik.config import Pooling, RuntimeConfigError, RuntimeOptions, Settings, SettingsError
from localaik.runtime.args import embedding_server_args
from localaik.runtime.llama import LlamaServer

MODEL = Path("/models/smollm2.gguf")
BASE = [
    "--host",
    "127.0.0.1",
    "--port",
    "8124",
    "-m",
    "/models/smollm2.gguf",
    "--alias",
    "localaik",
    "--offline",
    "--embeddings",
    "-c",
    "4096",
    "-b",
    "4096",
    "-ub",
    "4096",
    "-np",
    "1",
]


def args(env: dict[str, str] | None = None, pooling: str = "mean") -> list[str]:
    return embedding_server_args(
        RuntimeOptions.load(env or {}), model=MODEL, port=8124, pooling=Pooling(pooling)
    )


def test_defaults_mean_pooling_and_one_batch_as_large_as_the_context() -> None:
    assert args() == [*BASE, "--pooling", "mean"]


@pytest.mark.parametrize("pooling", ["cls", "last"])
def test_pooling_choice(pooling: str) -> None:
    assert args(pooling=pooling) == [*BASE, "--pooling", pooling]


def test_model_pooling_leaves_it_to_the_gguf() -> None:
    assert args(pooling="model") == BASE


@pytest.mark.parametrize(("ctx", "size"), [("8192", "8192"), ("0", "4096"), ("512", "512")])
def test_context_size_sets_the_batch_sizes_too(ctx: str, size: str) -> None:
    result = args({"LK_CTX_SIZE": ctx})
    for flag in ("-c", "-b", "-ub"):
        assert result[result.index(flag) + 1] == size


def test_hardware_settings_apply_to_both_servers() -> None:
    env = {
        "LK_THREADS": "2",
        "LK_THREADS_BATCH": "3",
        "LK_GPU_LAYERS": "all",
        "LK_FLASH_ATTN": "1",
        "LK_MLOCK": "1",
    }
    assert args(env)[len(BASE) + 2 :] == [
        "--threads",
        "2",
        "--threads-batch",
        "3",
        "--n-gpu-layers",
        "all",
        "--flash-attn",
        "on",
        "--load-mode",
        "mmap+mlock",
    ]


def test_chat_only_settings_stay_with_the_chat_server() -> None:
    env = {
        "LK_SEED": "7",
        "LK_CACHE_PROMPT": "1",
        "LK_BATCH_SIZE": "64",
        "LK_UBATCH_SIZE": "32",
        "LK_PARALLEL": "4",
        "LK_CONT_BATCHING": "0",
        "LK_LLAMA_ARGS": "--metrics --jinja",
    }
    assert args(env) == args()


def test_bad_values_are_named() -> None:
    with pytest.raises(RuntimeConfigError, match="LK_CTX_SIZE"):
        args({"LK_CTX_SIZE": "big"})
    with pytest.raises(RuntimeConfigError, match="LK_THREADS"):
        args({"LK_THREADS": "0"})


# -- settings ------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = Settings.load({})
    assert (settings.embeddings, settings.embed_model, settings.embed_pooling) == (
        "lazy",
        None,
        "mean",
    )


def test_settings_from_the_environment() -> None:
    settings = Settings.load(
        {"LK_EMBEDDINGS": "ON", "LK_EMBED_MODEL": "/m/e.gguf", "LK_EMBED_POOLING": "model"}
    )
    assert (settings.embeddings, settings.embed_model, settings.embed_pooling) == (
        "on",
        "/m/e.gguf",
        "model",
    )


@pytest.mark.parametrize(
    ("name", "value"), [("LK_EMBEDDINGS", "sometimes"), ("LK_EMBED_POOLING", "none")]
)
def test_bad_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.load({name: value})


# -- which servers serve builds --------------------------------------------------------------------


@pytest.fixture()
def runtime_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A llama-server binary (never run here) and two model files given by path."""
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    (tmp_path / "chat.gguf").write_bytes(b"GGUF chat")
    (tmp_path / "embed.gguf").write_bytes(b"GGUF embed")
    monkeypatch.setenv("LK_LLAMA_SERVER", str(binary))
    monkeypatch.setenv("LK_CACHE_DIR", str(tmp_path / "no-cache"))
    return tmp_path


def build(**settings: str) -> tuple[LlamaServer | None, LlamaServer | None]:
    """`serve`'s servers for these settings, with the fixture's llama-server and cache."""
    environ = {name: os.environ[name] for name in ("LK_LLAMA_SERVER", "LK_CACHE_DIR")}
    return runtimes(
        Settings.load(environ, log=False, **settings), logging.getLogger("localaik.test")
    )


def option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_two_servers_on_two_ports_with_the_chat_model(runtime_files: Path) -> None:
    chat, embed = build(model=str(runtime_files / "chat.gguf"))
    assert chat is not None and embed is not None
    assert chat.port != embed.port
    assert option(embed.args, "-m") == str(runtime_files / "chat.gguf")
    assert "--embeddings" in embed.args and "--embeddings" not in chat.args
    assert embed.state == "stopped"
    assert not (runtime_files / "no-cache").exists()


def test_an_embeddings_model_of_its_own(runtime_files: Path) -> None:
    chat, embed = build(
        model=str(runtime_files / "chat.gguf"),
        embed_model=str(runtime_files / "embed.gguf"),
        embed_pooling="cls",
    )
    assert chat is not None and embed is not None
    assert option(chat.args, "-m") == str(runtime_files / "chat.gguf")
    assert option(embed.args, "-m") == str(runtime_files / "embed.gguf")
    assert option(embed.args, "--pooling") == "cls"


def test_a_missing_embeddings_model_stops_the_start(runtime_files: Path) -> None:
    import click

    with pytest.raises(click.ClickException, match="model file not found"):
        build(
            model=str(runtime_files / "chat.gguf"), embed_model=str(runtime_files / "missing.gguf")
        )


def test_off_builds_the_chat_server_only(runtime_files: Path) -> None:
    chat, embed = build(
        model=str(runtime_files / "chat.gguf"),
        embeddings="off",
        embed_model=str(runtime_files / "missing.gguf"),
    )
    assert chat is not None and embed is None


@pytest.mark.parametrize("settings", [{"mode": "replay"}, {"upstream": "http://127.0.0.1:9/v1"}])
def test_no_bundled_servers_in_replay_or_with_an_upstream(
    runtime_files: Path, settings: dict[str, str]
) -> None:
    assert build(model=str(runtime_files / "chat.gguf"), **settings) == (None, None)
