"""Reading one setting's text into its value: each parser takes (text, name) and raises a
`SettingsError` whose message starts with the name (`LK_PORT='x': expected …`)."""

from __future__ import annotations

import re
import shlex
import urllib.parse
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from localaik.config.choices import MODES_TEXT, FlashAttn, Mode


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the setting."""


class RuntimeConfigError(SettingsError):
    """An `LK_*` variable for llama-server has a value that cannot work; names the variable."""


E = TypeVar("E", bound=StrEnum)
Parse = Callable[[str, str], Any]  # (text, variable or flag name) -> value


# -- reading text --------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_size(text: str, name: str) -> int:
    """`33554432`, `32MiB`, `32m`, `512k` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise SettingsError(f"{name}={text!r}: expected a size such as 32MiB or 1048576")
    unit = (match.group(2) or "").lower()[:1]
    return int(match.group(1)) * _UNITS[unit]


def positive_size(text: str, name: str) -> int:
    """A size as `parse_size` reads it, greater than 0."""
    size = parse_size(text, name)
    if size <= 0:
        raise SettingsError(f"{name}={text!r}: must be greater than 0")
    return size


def is_ci(text: str | None) -> bool:
    """Whether the variable `CI` says this is a CI run, read as common tools read it (std-env,
    ci-info): set to anything but empty, `false` or `0` (`CI=true`, `CI=1`, `CI=woodpecker`)."""
    return (text or "").strip().lower() not in ("", "false", "0")


def on_off(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in (*_FALSE, ""):
        return False
    raise SettingsError(f"{name}={text!r}: expected on/off (or 1/0, true/false)")


def positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={text!r}: must be greater than 0")
    return value


def dry_multiplier(text: str, name: str) -> float:
    """A DRY strength: a finite number from 0 (off); llama.cpp's own suggestion is 0.8."""
    try:
        value = float(text)
    except ValueError:
        raise RuntimeConfigError(f"{name}={text!r}: expected a number (0: off)") from None
    if not 0 <= value < float("inf"):
        raise RuntimeConfigError(f"{name}={text!r}: expected a number from 0 (0: off)")
    return value


def port(text: str, name: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise SettingsError(f"{name}={text!r}: expected a port number from 0 to 65535")
    return int(text)


def integer(
    minimum: int, maximum: int | None = None, *, error: type[SettingsError] = SettingsError
) -> Callable[[str, str], int]:
    """A whole number from `minimum` (to `maximum`), signed, spaces around it ignored."""

    def parse(text: str, name: str) -> int:
        text = text.strip()
        if not _INTEGER.match(text):
            raise error(f"{name}={text!r}: expected a whole number")
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            allowed = (
                f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            )
            raise error(f"{name}={text!r}: expected a whole number {allowed}")
        return value

    return parse


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


def upstream_url(text: str, name: str) -> str:
    url = text.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{name}={redact_url(text)!r}: expected an http(s) URL such as http://127.0.0.1:8080/v1"
        )
    return url


def auth_header(text: str, name: str) -> tuple[str, str] | None:
    if not text.strip():
        return None
    header, sep, value = text.partition(":")
    header, value = header.strip(), value.strip()
    if (
        not sep
        or not header
        or not value
        or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", header)
    ):
        raise SettingsError(f"{name}: expected one header line such as 'Authorization: Bearer …'")
    if any(c in value for c in "\r\n\0"):
        raise SettingsError(f"{name}: the header value must be one line")
    return header, value


def choice(enum: type[E]) -> Callable[[str, str], E]:
    def parse(text: str, name: str) -> E:
        try:
            return enum(text.strip().lower())
        except ValueError:
            raise SettingsError(f"{name}={text!r}: expected one of {', '.join(enum)}") from None

    return parse


def mode(text: str, name: str) -> Mode:
    """A mode by its name or VCR.py's (`none` is `replay`)."""
    try:
        return Mode.of(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected {MODES_TEXT}") from None


def speed(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(
            f"{name}={text!r}: expected 0 (at once), 1 (recorded timing) or a speed factor"
        ) from None
    if value < 0:
        raise SettingsError(f"{name}={text!r}: must be 0 or more")
    return value


def ignore_paths(text: str, name: str) -> str:
    from localaik.wire.jsonpath import parse_ignore

    try:
        parse_ignore(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None
    return text


def redact_rules(text: str, name: str) -> str:
    """LK_REDACT's rules, checked (`wire/redaction.py` parses them again where they apply)."""
    from localaik.wire.redaction import parse_redact

    try:
        parse_redact(text, name)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return text


def as_is(text: str, name: str) -> str:
    return text


def user_path(text: str, name: str) -> Path:
    return Path(text.strip()).expanduser()


# -- the llama-server options (RuntimeConfigError names the variable) ---------------------------

_REFUSED_EXTRA = ("--host", "--port")


def switch(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RuntimeConfigError(f"{name}={text.strip()!r}: expected 1 or 0 (or true/false, on/off)")


def parallel(text: str, name: str) -> int:
    if text.strip() == "-1":
        return -1  # llama-server: -1 = auto
    return integer(1, error=RuntimeConfigError)(text, name)


def gpu_layers(text: str, name: str) -> str:
    text = text.strip()
    if text.lower() in ("auto", "all"):
        return text.lower()
    if not _INTEGER.match(text) or int(text) < 0:
        raise RuntimeConfigError(
            f"{name}={text!r}: expected a number of layers (0 or more), auto or all"
        )
    return str(int(text))


def flash_attn(text: str, name: str) -> FlashAttn:
    lowered = text.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return FlashAttn.ON if lowered in _TRUE else FlashAttn.OFF
    if lowered == "auto":
        return FlashAttn.AUTO
    raise RuntimeConfigError(
        f"{name}={text.strip()!r}: expected on, off or auto (or 1/0, true/false)"
    )


def extra_args(text: str, name: str) -> tuple[str, ...]:
    text = text.strip()
    try:
        args = shlex.split(text)
    except ValueError as exc:
        raise RuntimeConfigError(f"{name}={text!r}: {exc}") from None
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in _REFUSED_EXTRA:
            raise RuntimeConfigError(
                f"{name}: {flag} is set by localaik (llama-server listens on a loopback port "
                "it picks); set LK_HOST/LK_PORT for localaik itself"
            )
    return tuple(args)
