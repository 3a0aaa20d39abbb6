"""Settings: built once from CLI flags and `LK_*` environment variables, validated at start.

This is the only module that reads the environment. Flags win over the environment, the
environment over the defaults. Every field is listed in the README's settings table.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the setting."""


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str, name: str) -> int:
    """`33554432`, `32MiB`, `32m`, `512k` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise SettingsError(f"{name}={text!r}: expected a size such as 32MiB or 1048576")
    unit = (match.group(2) or "").lower()[:1]
    return int(match.group(1)) * _UNITS[unit]


def _bool(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}={text!r}: expected on/off (or 1/0, true/false)")


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={text!r}: must be greater than 0")
    return value


def _port(text: str, name: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise SettingsError(f"{name}={text!r}: expected a port number from 0 to 65535")
    return int(text)


def redact_url(url: str) -> str:
    """Scheme, host and path only: no credentials, query or fragment (safe to log and show)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "invalid"
    if not parts.scheme or not host:
        return "invalid"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _upstream(text: str, name: str) -> str:
    url = text.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={redact_url(text)!r}: expected an http(s) URL such as "
                            "http://127.0.0.1:8080/v1")
    return url


def _auth_header(text: str, name: str) -> tuple[str, str] | None:
    if not text.strip():
        return None
    header, sep, value = text.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+",
                                                              header):
        raise SettingsError(f"{name}: expected one header line such as 'Authorization: Bearer …'")
    if any(c in value for c in "\r\n\0"):
        raise SettingsError(f"{name}: the header value must be one line")
    return header, value


MODES = ("record", "replay", "refresh", "passthrough")
REPEATS = ("first", "sequence")
EMBEDDINGS = ("lazy", "on", "off")
POOLINGS = ("mean", "cls", "last", "model")


def _choice(options: tuple[str, ...]) -> Any:
    def parse(text: str, name: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise SettingsError(f"{name}={text!r}: expected one of {', '.join(options)}")
        return value

    return parse


def _speed(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected 0 (at once), 1 (recorded timing) or a "
                            "speed factor") from None
    if value < 0:
        raise SettingsError(f"{name}={text!r}: must be 0 or more")
    return value


def _ignore(text: str, name: str) -> str:
    from localaik.wire.jsonpath import parse_ignore

    try:
        parse_ignore(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None
    return text


def is_true(text: str | None) -> bool:
    """How CI systems say yes (`CI=true`, `CI=1`)."""
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Setting:
    """Where one field comes from and how its text is read."""

    env: tuple[str, ...]
    parse: Any
    help: str


def _text(text: str, name: str) -> str:
    return text


def _meta(*env: str, parse: Any = _text, help: str) -> dict[str, Any]:
    return {"setting": Setting(env, parse, help)}


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_meta(
        "LK_HOST", help="Address to listen on (`--host`)."))
    port: int = field(default=8090, metadata=_meta(
        "LK_PORT", "PORT", parse=_port, help="Port to listen on (`--port`); `0` picks a free one."))
    upstream: str | None = field(default=None, metadata=_meta(
        "LK_UPSTREAM", parse=_upstream,
        help="OpenAI-compatible upstream base URL, ending in `/v1` (`--upstream`). Unset: "
             "localaik starts its bundled llama-server (not in replay mode)."))
    upstream_auth_header: tuple[str, str] | None = field(default=None, metadata=_meta(
        "LK_UPSTREAM_AUTH_HEADER", parse=_auth_header,
        help="One header line sent to the upstream only, e.g. `Authorization: Bearer …`; "
             "never logged or shown; redirects are not followed while it is set."))
    upstream_model: str = field(default="localaik", metadata=_meta(
        "LK_UPSTREAM_MODEL",
        help="The `model` sent upstream for translated (Gemini) requests. OpenAI requests keep "
             "the client's model."))
    upstream_timeout: float = field(default=300.0, metadata=_meta(
        "LK_UPSTREAM_TIMEOUT", parse=_positive_float,
        help="Seconds to wait for upstream data before answering 504."))
    max_body_size: int = field(default=32 * 1024**2, metadata=_meta(
        "LK_MAX_BODY_SIZE", parse=parse_size,
        help="Largest request body accepted (`32MiB`, `1048576`); larger ones get 413."))
    files_root: Path | None = field(default=None, metadata=_meta(
        "LK_FILES_ROOT", parse=lambda text, name: Path(text).resolve() if text else None,
        help="Folder that Gemini `fileData` may read local files from (`file://` or paths). "
             "Unset: local file references are refused."))
    pdf_max_pages: int = field(default=20, metadata=_meta(
        "LK_PDF_MAX_PAGES", parse=lambda text, name: _positive_int(text, name),
        help="Most pages of one PDF rendered for the model; more gives 400."))
    pdf_dpi: int = field(default=100, metadata=_meta(
        "LK_PDF_DPI", parse=lambda text, name: _bounded_int(text, name, 1, 600),
        help="Resolution of rendered PDF pages (at most 600); a page wider or taller than "
             "4096 pixels at it renders at the resolution that fits."))
    mode: str = field(default="record", metadata=_meta(
        "LK_MODE", parse=_choice(MODES),
        help="`record`, `replay`, `refresh` or `passthrough` (`--mode`); default `replay` when "
             "`CI` is true, else `record`."))
    cassette: Path = field(default=Path("cassettes/localaik.db"), metadata=_meta(
        "LK_CASSETTE", parse=lambda text, name: Path(text),
        help="The cassette file (`--cassette`); other cassettes named by the "
             "`X-Localaik-Cassette` header live in the same folder."))
    replay_speed: float = field(default=0.0, metadata=_meta(
        "LK_REPLAY_SPEED", parse=_speed,
        help="Replay pacing: `0` at once, `1` the recorded timing, `k` k times as fast."))
    repeats: str = field(default="first", metadata=_meta(
        "LK_REPEATS", parse=_choice(REPEATS),
        help="`first`: an identical request replays the first recording; `sequence`: the n-th "
             "identical request replays the n-th recording (the last one repeats)."))
    memo: bool = field(default=True, metadata=_meta(
        "LK_MEMO", parse=_bool,
        help="Answer an identical request replayed from an unchanged cassette with the bytes "
             "sent last time, without parsing and translating it again; `off` does the work "
             "each time."))
    ignore: str = field(default="", metadata=_meta(
        "LK_IGNORE", parse=_ignore,
        help="Comma-separated JSON paths left out of the request key, e.g. "
             "`metadata.run_id, messages[*].name` (Gemini paths in camelCase)."))
    model: str | None = field(default=None, metadata=_meta(
        "LK_MODEL", help="Bundled runtime: a model name (`smollm2-135m`, the default, or "
                         "`gemma3-270m`) or the path of a `.gguf` file."))
    mmproj: str | None = field(default=None, metadata=_meta(
        "LK_MMPROJ", help="Bundled runtime: the path of a vision projector (`.gguf`) for the "
                          "model, so that it accepts images."))
    llama_server: str | None = field(default=None, metadata=_meta(
        "LK_LLAMA_SERVER", help="Bundled runtime: the llama-server binary to run (else "
                                "`llama-server` on PATH, else localaik's own build)."))
    cache_dir: str | None = field(default=None, metadata=_meta(
        "LK_CACHE_DIR", help="Where `localaik runtime install` keeps llama-server and models "
                             "(default `~/.cache/localaik`)."))
    ctx_size: str | None = field(default=None, metadata=_meta(
        "LK_CTX_SIZE", help="llama-server context size in tokens (`-c`; default 4096)."))
    threads: str | None = field(default=None, metadata=_meta(
        "LK_THREADS", help="llama-server CPU threads for generation (`--threads`)."))
    threads_batch: str | None = field(default=None, metadata=_meta(
        "LK_THREADS_BATCH", help="llama-server CPU threads for prompt processing."))
    batch_size: str | None = field(default=None, metadata=_meta(
        "LK_BATCH_SIZE", help="llama-server prompt batch size (`--batch-size`)."))
    ubatch_size: str | None = field(default=None, metadata=_meta(
        "LK_UBATCH_SIZE", help="llama-server micro-batch size (`--ubatch-size`)."))
    gpu_layers: str | None = field(default=None, metadata=_meta(
        "LK_GPU_LAYERS", help="Layers offloaded to a GPU (`--n-gpu-layers`; `all`)."))
    parallel: str | None = field(default=None, metadata=_meta(
        "LK_PARALLEL", help="llama-server slots (`--parallel`; default 1: one slot keeps "
                            "answers identical under concurrent requests)."))
    flash_attn: str | None = field(default=None, metadata=_meta(
        "LK_FLASH_ATTN", help="Flash attention: `on`, `off` or `auto` (`1`/`0` accepted)."))
    cont_batching: str | None = field(default=None, metadata=_meta(
        "LK_CONT_BATCHING", help="Continuous batching on (`1`) or off (`0`)."))
    mlock: str | None = field(default=None, metadata=_meta(
        "LK_MLOCK", help="`1` locks the model in RAM."))
    seed: str | None = field(default=None, metadata=_meta(
        "LK_SEED", help="llama-server's default sampling seed (default 42, fixed so that "
                        "recordings repeat)."))
    cache_prompt: str | None = field(default=None, metadata=_meta(
        "LK_CACHE_PROMPT", help="`1` lets llama-server reuse its prompt cache (faster, but "
                                "later answers may differ); off by default."))
    llama_args: str | None = field(default=None, metadata=_meta(
        "LK_LLAMA_ARGS", help="More llama-server arguments, shell-quoted, added last."))
    embeddings: str = field(default="lazy", metadata=_meta(
        "LK_EMBEDDINGS", parse=_choice(EMBEDDINGS),
        help="Bundled runtime: the second llama-server that serves embeddings starts at the "
             "first embeddings request (`lazy`), with localaik (`on`), or never (`off`: "
             "embeddings get 501)."))
    embed_model: str | None = field(default=None, metadata=_meta(
        "LK_EMBED_MODEL", help="Bundled runtime: the embeddings model, a model name or the path "
                               "of a `.gguf` file (default: the chat model, `LK_MODEL`)."))
    embed_pooling: str = field(default="mean", metadata=_meta(
        "LK_EMBED_POOLING", parse=_choice(POOLINGS),
        help="Bundled runtime: how token vectors become one embedding: `mean`, `cls`, `last`, "
             "or `model` (the pooling the `.gguf` declares)."))
    log: bool = field(default=True, metadata=_meta(
        "LK_LOG", parse=_bool, help="Access log, one line per request on stderr; `off` silences."))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Defaults, then the environment, then flags (those that are not None)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"mode": "replay" if is_true(environ.get("CI")) else "record"}
        for f in fields(cls):
            setting: Setting = f.metadata["setting"]
            for name in setting.env:
                if name in environ:
                    values[f.name] = setting.parse(environ[name], name)
                    break
            flag = flags.get(f.name)
            if flag is not None:
                values[f.name] = setting.parse(str(flag), f"--{f.name.replace('_', '-')}")
        settings = cls(**values)
        settings.check_runtime()
        return settings

    def runtime_env(self) -> dict[str, str]:
        """The `LK_*` variables that shape the bundled llama-server, as set."""
        out = {}
        for f in fields(self):
            names = f.metadata["setting"].env
            if f.name in RUNTIME_FIELDS and getattr(self, f.name) is not None:
                out[names[0]] = str(getattr(self, f.name))
        return out

    def check_runtime(self) -> None:
        """Validate the llama-server settings now, so a bad one stops the start, named."""
        from localaik.runtime.llama import llama_server_args

        llama_server_args(self.runtime_env(), model=Path("model.gguf"), chat_template=None,
                          mmproj=None, port=1)

    @property
    def upstream_shown(self) -> str:
        return redact_url(self.upstream) if self.upstream else "bundled llama-server"


RUNTIME_FIELDS = ("ctx_size", "threads", "threads_batch", "batch_size", "ubatch_size",
                  "gpu_layers", "parallel", "flash_attn", "cont_batching", "mlock", "seed",
                  "cache_prompt", "llama_args")


def _positive_int(text: str, name: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise SettingsError(f"{name}={text!r}: expected a whole number of at least 1")
    return int(text)


def _bounded_int(text: str, name: str, low: int, high: int) -> int:
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise SettingsError(f"{name}={text!r}: expected a whole number from {low} to {high}")
    return int(text)


def settings_table() -> list[tuple[str, str, str]]:
    """(variables, default, description) per setting: the README table is checked against it."""
    rows = []
    for f in fields(Settings):
        setting: Setting = f.metadata["setting"]
        default = f.default
        shown = "unset" if default is None else str(default)
        if f.name == "max_body_size":
            shown = "32MiB"
        if f.name == "log":
            shown = "on"
        if f.name == "mode":
            shown = "record (replay when CI is true)"
        if f.name == "ignore":
            shown = "unset"
        rows.append((" / ".join(setting.env), shown, setting.help))
    return rows
