"""Where each settings field comes from: its variables, its parser, its help, and reading
them from an environment and flags (`read`), nested groups included."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, fields
from typing import Any

from localaik.config import values
from localaik.config.values import Parse


@dataclass(frozen=True)
class Setting:
    """Where one field comes from and how its text is read.

    `blank` True: a variable set to blank text (`LK_THREADS=` in a shell) counts as unset.
    `shown`: the default as the settings table shows it, when `str(default)` would not do.
    """

    env: tuple[str, ...]
    parse: Parse
    help: str
    blank: bool = False
    shown: str | None = None


def meta(
    *env: str, parse: Parse = values.as_is, help: str, blank: bool = False, shown: str | None = None
) -> dict[str, Any]:
    return {"setting": Setting(env, parse, help, blank, shown)}


def settings_of(cls: type) -> Iterator[tuple[Field[Any], Setting]]:
    """Each field of a settings class with its `Setting`, nested groups in their place."""
    for f in fields(cls):
        group = f.metadata.get("group")
        if group is not None:
            yield from settings_of(group)
        else:
            yield f, f.metadata["setting"]


def read(cls: type, environ: Mapping[str, str], flags: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `cls` that the environment or a flag (not None) sets, parsed."""
    found: dict[str, Any] = {}
    for f in fields(cls):
        group = f.metadata.get("group")
        if group is not None:
            found[f.name] = group(**read(group, environ, {}))
            continue
        setting: Setting = f.metadata["setting"]
        for name in setting.env:
            if name in environ:
                if not (setting.blank and not environ[name].strip()):
                    found[f.name] = setting.parse(environ[name], name)
                break
        flag = flags.get(f.name)
        if flag is not None:
            found[f.name] = setting.parse(str(flag), f"--{f.name.replace('_', '-')}")
    return found
