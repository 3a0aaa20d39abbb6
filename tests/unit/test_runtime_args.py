"""llama-server's command line from the `LK_*` variables (`RuntimeOptions.load`, then
`runtime.args.llama_server_args`)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from localaik.config import RuntimeConfigError, RuntimeOptions, SettingsError
from localaik.runtime.args import llama_server_args
from localaik.runtime.llama import free_port

MODEL = Path("/models/smollm2.gguf")
BASE = [
    "--host",
    "127.0.0.1",
    "--port",
    "8123",
    "-m",
    "/models/smollm2.gguf",
    "--jinja",
    "--alias",
    "localaik",
    "--offline",
    "--seed",
    "42",
    "-c",
    "4096",
    "-n",
    "256",
    "--dry-multiplier",
    "0.8",
    "-np",
    "1",
    "--no-cache-prompt",
]


def args(env: dict[str, str] | None = None, **kwargs: object) -> list[str]:
    options: dict[str, object] = {
        "model": MODEL,
        "chat_template": None,
        "mmproj": None,
        "port": 8123,
    }
    options.update(kwargs)
    return llama_server_args(RuntimeOptions.load(env or {}), **options)  # type: ignore[arg-type]


def extra(env: dict[str, str]) -> list[str]:
    """What the variables add after the fixed part (which they must leave alone)."""
    result = args(env)
    assert result[: len(BASE)] == BASE
    return result[len(BASE) :]


def test_defaults() -> None:
    assert args() == BASE


def test_answers_that_finish_are_the_default_and_can_be_changed() -> None:
    # A request that sets no limit gets 256 tokens, with the repetition guard on (issue 15).
    result = args({"LK_MAX_OUTPUT_TOKENS": "-1", "LK_DRY_MULTIPLIER": "0"})
    assert result[result.index("-n") + 1] == "-1"  # llama.cpp: until the model stops
    assert result[result.index("--dry-multiplier") + 1] == "0"
    assert args({"LK_DRY_MULTIPLIER": "1.25"})[BASE.index("--dry-multiplier") + 1] == "1.25"
    assert args({"LK_MAX_OUTPUT_TOKENS": " "}) == BASE  # blank: the default


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LK_MAX_OUTPUT_TOKENS", "-2"),
        ("LK_MAX_OUTPUT_TOKENS", "lots"),
        ("LK_DRY_MULTIPLIER", "-0.1"),
        ("LK_DRY_MULTIPLIER", "inf"),
        ("LK_DRY_MULTIPLIER", "nan"),
        ("LK_DRY_MULTIPLIER", "strong"),
    ],
)
def test_bad_output_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(RuntimeConfigError, match=name):
        RuntimeOptions.load({name: value})


def test_template_mmproj_and_alias() -> None:
    result = args(
        chat_template=Path("/t/gemma3.jinja"), mmproj=Path("/m/mmproj.gguf"), alias="gemma3-270m"
    )
    assert result[result.index("--alias") + 1] == "gemma3-270m"
    assert result[len(BASE) :] == [
        "--chat-template-file",
        "/t/gemma3.jinja",
        "--mmproj",
        "/m/mmproj.gguf",
    ]


@pytest.mark.parametrize(
    ("env", "added"),
    [
        ({"LK_THREADS": "4"}, ["--threads", "4"]),
        ({"LK_THREADS_BATCH": "8"}, ["--threads-batch", "8"]),
        ({"LK_BATCH_SIZE": "2048"}, ["--batch-size", "2048"]),
        ({"LK_UBATCH_SIZE": "512"}, ["--ubatch-size", "512"]),
        ({"LK_GPU_LAYERS": "0"}, ["--n-gpu-layers", "0"]),
        ({"LK_GPU_LAYERS": "99"}, ["--n-gpu-layers", "99"]),
        ({"LK_GPU_LAYERS": "all"}, ["--n-gpu-layers", "all"]),
        ({"LK_GPU_LAYERS": "Auto"}, ["--n-gpu-layers", "auto"]),
        ({"LK_CONT_BATCHING": "1"}, ["--cont-batching"]),
        ({"LK_CONT_BATCHING": "true"}, ["--cont-batching"]),
        ({"LK_CONT_BATCHING": "0"}, ["--no-cont-batching"]),
        ({"LK_CONT_BATCHING": "off"}, ["--no-cont-batching"]),
        ({"LK_MLOCK": "1"}, ["--load-mode", "mmap+mlock"]),
        ({"LK_MLOCK": "0"}, []),
        ({"LK_LLAMA_ARGS": "--metrics"}, ["--metrics"]),
        ({"LK_LLAMA_ARGS": "--embeddings --pooling mean"}, ["--embeddings", "--pooling", "mean"]),
        (
            {"LK_LLAMA_ARGS": "--system-prompt-file '/my dir/p.txt'"},
            ["--system-prompt-file", "/my dir/p.txt"],
        ),
        ({"LK_LLAMA_ARGS": '--api-key "a b" x\\ y'}, ["--api-key", "a b", "x y"]),
        (
            {"LK_LLAMA_ARGS": "--reasoning-format none; rm -rf /"},
            ["--reasoning-format", "none;", "rm", "-rf", "/"],
        ),  # one argv, never a shell
        ({"LK_THREADS": " 2 ", "LK_BATCH_SIZE": ""}, ["--threads", "2"]),  # empty = unset
    ],
)
def test_tuning_variables(env: dict[str, str], added: list[str]) -> None:
    assert extra(env) == added


@pytest.mark.parametrize(
    ("value", "flag_value"),
    [
        ("on", "on"),
        ("off", "off"),
        ("auto", "auto"),
        ("AUTO", "auto"),
        # The original passed a bare --flash-attn for 1, which llama-server rejects since 2025.
        ("1", "on"),
        ("true", "on"),
        ("yes", "on"),
        ("0", "off"),
        ("false", "off"),
        ("no", "off"),
    ],
)
def test_flash_attn_always_gets_a_value(value: str, flag_value: str) -> None:
    assert extra({"LK_FLASH_ATTN": value}) == ["--flash-attn", flag_value]


def test_seed_and_context_size() -> None:
    result = args({"LK_SEED": "7", "LK_CTX_SIZE": "2048"})
    assert result[result.index("--seed") + 1] == "7"
    assert result[result.index("-c") + 1] == "2048"
    assert args({"LK_SEED": "-1"})[BASE.index("--seed") + 1] == "-1"  # llama.cpp: random
    assert args({"LK_CTX_SIZE": "0"})[BASE.index("-c") + 1] == "0"  # the model's own


def test_parallel_replaces_the_single_slot_but_keeps_the_cache_off() -> None:
    result = args({"LK_PARALLEL": "4"})
    assert "-np" not in result
    assert result[result.index("--parallel") + 1] == "4"
    assert "--no-cache-prompt" in result
    assert args({"LK_PARALLEL": "-1"})[result.index("--parallel") + 1] == "-1"


@pytest.mark.parametrize(
    ("value", "has_no_cache"), [("1", False), ("on", False), ("0", True), ("", True)]
)
def test_cache_prompt(value: str, has_no_cache: bool) -> None:
    assert ("--no-cache-prompt" in args({"LK_CACHE_PROMPT": value})) is has_no_cache


def test_extra_args_come_last_so_they_win() -> None:
    result = args({"LK_THREADS": "2", "LK_LLAMA_ARGS": "--threads 8 -c 512"})
    assert result[-6:] == ["--threads", "2", "--threads", "8", "-c", "512"]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LK_SEED": "abc"}, "LK_SEED"),
        ({"LK_SEED": "4294967296"}, "LK_SEED"),
        ({"LK_CTX_SIZE": "4k"}, "LK_CTX_SIZE"),
        ({"LK_CTX_SIZE": "-5"}, "LK_CTX_SIZE"),
        ({"LK_THREADS": "two"}, "LK_THREADS"),
        ({"LK_THREADS": "0"}, "LK_THREADS"),
        ({"LK_THREADS_BATCH": "1.5"}, "LK_THREADS_BATCH"),
        ({"LK_BATCH_SIZE": "1_000"}, "LK_BATCH_SIZE"),
        ({"LK_UBATCH_SIZE": "0x10"}, "LK_UBATCH_SIZE"),
        ({"LK_GPU_LAYERS": "-3"}, "LK_GPU_LAYERS"),
        ({"LK_GPU_LAYERS": "most"}, "LK_GPU_LAYERS"),
        ({"LK_PARALLEL": "0"}, "LK_PARALLEL"),
        ({"LK_PARALLEL": "many"}, "LK_PARALLEL"),
        ({"LK_FLASH_ATTN": "enabled-ish"}, "LK_FLASH_ATTN"),
        ({"LK_FLASH_ATTN": "2"}, "LK_FLASH_ATTN"),
        ({"LK_CONT_BATCHING": "maybe"}, "LK_CONT_BATCHING"),
        ({"LK_MLOCK": "2"}, "LK_MLOCK"),
        ({"LK_CACHE_PROMPT": "sometimes"}, "LK_CACHE_PROMPT"),
        ({"LK_LLAMA_ARGS": "--system-prompt 'unclosed"}, "LK_LLAMA_ARGS"),
        ({"LK_LLAMA_ARGS": "--port 9000"}, "LK_LLAMA_ARGS"),
        ({"LK_LLAMA_ARGS": "--host=0.0.0.0"}, "LK_LLAMA_ARGS"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(RuntimeConfigError) as caught:
        args(env)
    assert str(caught.value).startswith(variable)
    assert isinstance(caught.value, SettingsError)  # the CLI turns these into usage errors


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
