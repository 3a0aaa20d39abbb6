"""Settings: built once from CLI flags and `LK_*` environment variables, validated at start.

This package is the only part of localaik that reads the environment: `Settings.load` (and
`RuntimeOptions.load`, its llama-server part), `mode_from_ci` for `localaik doctor`,
`cassette_configured` for the cassette commands' default, and `sdk_key_set` for the pytest
plugin. Flags win over the environment, the environment over the defaults. Everything else
takes a `Settings`, or the values it holds.

Every value is parsed once, into its final type, and a bad one is a `SettingsError` that names
the variable (`LK_CTX_SIZE='4k': expected a whole number`):

    choices.py   Mode, Repeats, Embeddings, Pooling, FlashAttn: StrEnums (`Mode.REPLAY`)
    values.py    one parser per kind of text (sizes, ports, URLs, switches, llama-server args)
    source.py    where a field comes from (`Setting`) and reading an environment and flags
    runtime.py   RuntimeOptions: the llama-server options `localaik.runtime.args` turns into
                 argv as they are
    settings.py  Settings, `settings_table`, `mode_from_ci`, `cassette_configured`,
                 `sdk_key_set`

Every field is a row of the README's settings table (`settings_table`, checked by a test).
"""

from localaik.config.choices import MODES, MODES_TEXT, Embeddings, FlashAttn, Mode, Pooling, Repeats
from localaik.config.runtime import RuntimeOptions
from localaik.config.settings import (
    Settings,
    cassette_configured,
    mode_from_ci,
    sdk_key_set,
    settings_table,
)
from localaik.config.source import Setting
from localaik.config.values import (
    RuntimeConfigError,
    SettingsError,
    is_ci,
    parse_size,
    redact_url,
)

__all__ = [
    "MODES",
    "MODES_TEXT",
    "Embeddings",
    "FlashAttn",
    "Mode",
    "Pooling",
    "Repeats",
    "RuntimeConfigError",
    "RuntimeOptions",
    "Setting",
    "Settings",
    "SettingsError",
    "cassette_configured",
    "is_ci",
    "mode_from_ci",
    "parse_size",
    "redact_url",
    "sdk_key_set",
    "settings_table",
]
