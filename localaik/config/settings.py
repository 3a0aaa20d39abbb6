"""The settings object, loading it, and the README's settings table.

`Settings.load` (with `RuntimeOptions.load`) is where localaik reads its environment; so are
`mode_from_ci` (for `localaik doctor`) and `sdk_key_set` (for the pytest plugin).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from localaik.config import values
from localaik.config.choices import Embeddings, Mode, Pooling, Repeats
from localaik.config.runtime import RuntimeOptions
from localaik.config.source import meta, read, settings_of
from localaik.config.values import is_ci, parse_size, redact_url


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "localaik"


@dataclass(frozen=True)
class Settings:
    """Everything localaik runs with, each value in its final type; `runtime` holds the
    bundled llama-server's options. Build it with `Settings.load`."""

    host: str = field(
        default="127.0.0.1", metadata=meta("LK_HOST", help="Address to listen on (`--host`).")
    )
    port: int = field(
        default=8090,
        metadata=meta(
            "LK_PORT",
            "PORT",
            parse=values.port,
            help="Port to listen on (`--port`); `0` picks a free one.",
        ),
    )
    upstream: str | None = field(
        default=None,
        metadata=meta(
            "LK_UPSTREAM",
            parse=values.upstream_url,
            help="OpenAI-compatible upstream base URL, ending in `/v1` (`--upstream`). Unset: "
            "localaik starts its bundled llama-server (not in replay mode).",
        ),
    )
    upstream_auth_header: tuple[str, str] | None = field(
        default=None,
        metadata=meta(
            "LK_UPSTREAM_AUTH_HEADER",
            parse=values.auth_header,
            help="One header line sent to the upstream only, e.g. `Authorization: Bearer …`; "
            "never logged or shown; redirects are not followed while it is set.",
        ),
    )
    upstream_model: str = field(
        default="localaik",
        metadata=meta(
            "LK_UPSTREAM_MODEL",
            help="The `model` sent upstream for translated (Gemini) requests. OpenAI requests keep "
            "the client's model.",
        ),
    )
    upstream_timeout: float = field(
        default=300.0,
        metadata=meta(
            "LK_UPSTREAM_TIMEOUT",
            parse=values.positive_float,
            help="Seconds to wait for upstream data before answering 504.",
        ),
    )
    upstream_max_bytes: int = field(
        default=64 * 1024**2,
        metadata=meta(
            "LK_UPSTREAM_MAX_BYTES",
            parse=values.positive_size,
            shown="64MiB",
            help="Largest upstream answer read: a body, or a whole stream (`64MiB`, "
            "`1048576`); a larger one is a 502, not recorded.",
        ),
    )
    max_body_size: int = field(
        default=32 * 1024**2,
        metadata=meta(
            "LK_MAX_BODY_SIZE",
            parse=parse_size,
            shown="32MiB",
            help="Largest request body accepted (`32MiB`, `1048576`); larger ones get 413.",
        ),
    )
    files_root: Path | None = field(
        default=None,
        metadata=meta(
            "LK_FILES_ROOT",
            parse=lambda text, name: Path(text).resolve() if text else None,
            help="Folder that Gemini `fileData` may read local files from (`file://` or paths). "
            "Unset: local file references are refused.",
        ),
    )
    pdf_max_pages: int = field(
        default=20,
        metadata=meta(
            "LK_PDF_MAX_PAGES",
            parse=values.integer(1),
            help="Most pages of one PDF rendered for the model; more gives 400.",
        ),
    )
    pdf_dpi: int = field(
        default=100,
        metadata=meta(
            "LK_PDF_DPI",
            parse=values.integer(1, 600),
            help="Resolution of rendered PDF pages (at most 600); a page wider or taller than "
            "4096 pixels at it renders at the resolution that fits.",
        ),
    )
    mode: Mode = field(
        default=Mode.RECORD,
        metadata=meta(
            "LK_MODE",
            parse=values.mode,
            shown="record (replay when CI is true)",
            help="`record`, `replay`, `refresh`, `once` or `passthrough` (`--mode`), or VCR.py's "
            "`new_episodes`, `none`, `all` for the first three; default `replay` when `CI` is "
            "true, else `record`.",
        ),
    )
    cassette: Path = field(
        default=Path("cassettes/localaik.db"),
        metadata=meta(
            "LK_CASSETTE",
            parse=lambda text, name: Path(text),
            help="The cassette file (`--cassette`); other cassettes named by the "
            "`X-Localaik-Cassette` header live in the same folder.",
        ),
    )
    replay_speed: float = field(
        default=0.0,
        metadata=meta(
            "LK_REPLAY_SPEED",
            parse=values.speed,
            help="Replay pacing: `0` at once, `1` the recorded timing, `k` k times as fast.",
        ),
    )
    repeats: Repeats = field(
        default=Repeats.FIRST,
        metadata=meta(
            "LK_REPEATS",
            parse=values.choice(Repeats),
            help="`first`: an identical request replays the first recording; `sequence`: the n-th "
            "identical request replays the n-th recording (the last one repeats).",
        ),
    )
    memo: bool = field(
        default=True,
        metadata=meta(
            "LK_MEMO",
            parse=values.on_off,
            help="Answer an identical request replayed from an unchanged cassette with the bytes "
            "sent last time, without parsing and translating it again; `off` does the work "
            "each time.",
        ),
    )
    ignore: str = field(
        default="",
        metadata=meta(
            "LK_IGNORE",
            parse=values.ignore_paths,
            help="Comma-separated JSON paths left out of the request key, e.g. "
            "`metadata.run_id, messages[*].name` (Gemini paths in camelCase).",
        ),
    )
    redact: str = field(
        default="",
        metadata=meta(
            "LK_REDACT",
            parse=values.redact_rules,
            help="Text replaced by `<redacted:N>` in every request before its key, its "
            "recording and the upstream: `/regex/` rules and `$.` JSON paths, comma-separated, "
            "e.g. `/sk-test-[a-z0-9]+/, $.metadata.email` (see [Redaction](#redaction)).",
        ),
    )
    faults: str = field(
        default="",
        metadata=meta(
            "LK_FAULTS",
            parse=values.as_is,
            help="Faults for the whole run (see [Faults](#faults)): the path of a rules file, "
            "one fault a line, or the faults themselves separated by `|`, e.g. "
            "`family=openai; status=429; every=3`.",
        ),
    )
    batch_polls: int = field(
        default=0,
        metadata=meta(
            "LK_BATCH_POLLS",
            parse=values.integer(0, 1000),
            help="Reads of a batch (`get`, `retrieve`) that still find it in progress before it "
            "ends; `0`: the first read after create finds it ended (its requests run then).",
        ),
    )
    model: str | None = field(
        default=None,
        metadata=meta(
            "LK_MODEL",
            help="Bundled runtime: a model name (`smollm2-135m`, the default, or "
            "`gemma3-270m`) or the path of a `.gguf` file.",
        ),
    )
    mmproj: str | None = field(
        default=None,
        metadata=meta(
            "LK_MMPROJ",
            help="Bundled runtime: the path of a vision projector (`.gguf`) for the "
            "model, so that it accepts images.",
        ),
    )
    llama_server: Path | None = field(
        default=None,
        metadata=meta(
            "LK_LLAMA_SERVER",
            parse=values.user_path,
            blank=True,
            help="Bundled runtime: the llama-server binary to run (else `llama-server` on PATH, "
            "else localaik's own build).",
        ),
    )
    cache_dir: Path = field(
        default_factory=_default_cache_dir,
        metadata=meta(
            "LK_CACHE_DIR",
            parse=values.user_path,
            blank=True,
            shown="~/.cache/localaik",
            help="Where `localaik runtime install` keeps llama-server and models.",
        ),
    )
    runtime: RuntimeOptions = field(
        default_factory=RuntimeOptions, metadata={"group": RuntimeOptions}
    )
    embeddings: Embeddings = field(
        default=Embeddings.LAZY,
        metadata=meta(
            "LK_EMBEDDINGS",
            parse=values.choice(Embeddings),
            help="Bundled runtime: the second llama-server that serves embeddings starts at the "
            "first embeddings request (`lazy`), with localaik (`on`), or never (`off`: "
            "embeddings get 501).",
        ),
    )
    embed_model: str | None = field(
        default=None,
        metadata=meta(
            "LK_EMBED_MODEL",
            help="Bundled runtime: the embeddings model, a model name or the path "
            "of a `.gguf` file (default: the chat model, `LK_MODEL`).",
        ),
    )
    embed_pooling: Pooling = field(
        default=Pooling.MEAN,
        metadata=meta(
            "LK_EMBED_POOLING",
            parse=values.choice(Pooling),
            help="Bundled runtime: how token vectors become one embedding: `mean`, `cls`, `last`, "
            "or `model` (the pooling the `.gguf` declares).",
        ),
    )
    control_remote: bool = field(
        default=False,
        metadata=meta(
            "LK_CONTROL_REMOTE",
            parse=values.on_off,
            help="Let clients not on loopback use `/_localaik/session` (switch the cassette, "
            "mode and faults of the requests that follow); `off`: loopback only (403).",
        ),
    )
    log: bool = field(
        default=True,
        metadata=meta(
            "LK_LOG",
            parse=values.on_off,
            help="Access log, one line per request on stderr; `off` silences.",
        ),
    )

    def __post_init__(self) -> None:
        # Code that builds Settings directly may name a choice by its text (`mode="replay"`).
        object.__setattr__(self, "mode", Mode.of(self.mode))
        for name, enum in (
            ("repeats", Repeats),
            ("embeddings", Embeddings),
            ("embed_pooling", Pooling),
        ):
            object.__setattr__(self, name, enum(getattr(self, name)))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Defaults, then the environment (default: this process's), then the flags that are
        not None (named as the fields are). Raises `SettingsError` naming the variable."""
        unknown = set(flags) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"Settings.load: no such setting: {', '.join(sorted(unknown))}")
        environ = os.environ if environ is None else environ
        mode = Mode.REPLAY if is_ci(environ.get("CI")) else Mode.RECORD
        return cls(**{"mode": mode, **read(cls, environ, flags)})

    @property
    def upstream_shown(self) -> str:
        return redact_url(self.upstream) if self.upstream else "bundled llama-server"


def mode_from_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when the mode is `replay` only because `CI` is set (no `LK_MODE`; see `is_ci`)."""
    environ = os.environ if environ is None else environ
    return is_ci(environ.get("CI")) and "LK_MODE" not in environ


def cassette_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether `LK_CASSETTE` is set: the cassette commands then default to that cassette, else
    to every cassette in the default one's folder (`cassette/locate.py`)."""
    environ = os.environ if environ is None else environ
    return "LK_CASSETTE" in environ


def sdk_key_set(*names: str) -> bool:
    """Whether this process has any of these variables set to a non-empty value: the pytest
    plugin asks about the SDKs' own key variables (`OPENAI_API_KEY`, …) to leave a real key
    in place; their values go nowhere."""
    return any(os.environ.get(name) for name in names)


def settings_table() -> list[tuple[str, str, str]]:
    """(variables, default, description) per setting: the README table is checked against it."""
    defaults: dict[str, Any] = {}
    for cls in (Settings, RuntimeOptions):
        instance = cls()
        defaults.update({f.name: getattr(instance, f.name) for f in fields(cls)})
    rows = []
    for f, setting in settings_of(Settings):
        default = defaults[f.name]
        if setting.shown is not None:
            shown = setting.shown
        elif default is None or default in ("", ()):
            shown = "unset"
        elif isinstance(default, bool):
            shown = "on" if default else "off"
        else:
            shown = str(default)
        rows.append((" / ".join(setting.env), shown, setting.help))
    return rows
